"""A small validator for Kubernetes structural OpenAPI v3 schemas (what a CRD declares).

It answers what the API server would do with a manifest, field by field: unknown fields (which
the API server *prunes silently* for custom resources), wrong types, missing required fields,
enum and pattern violations, duplicate keys in ``x-kubernetes-list-type: map|set`` lists.
Supported: ``type``, ``properties``, ``required``, ``items``, ``enum``, ``pattern``,
``additionalProperties``, ``x-kubernetes-preserve-unknown-fields``,
``x-kubernetes-int-or-string``, ``x-kubernetes-embedded-resource``, ``nullable``, ``anyOf``,
``allOf``, ``oneOf`` (exactly one), ``not``, ``$ref`` into ``$defs``, the length/size/range
bounds (``exclusiveMinimum``/``exclusiveMaximum`` as the OpenAPI 3.0 booleans a CRD declares;
the built-in kinds' rendering has no range bounds at all), ``minProperties``/``maxProperties``,
and ``type`` lists with ``"null"`` (the JSON-schema rendering of the built-in kinds). Not
evaluated: CEL rules (``x-kubernetes-validations``) and ``format``. A ``$ref`` cycle through
the combinators, which never descends into the value, is one ``schema`` error, not a crash.

Nulls follow the API server: a ``null`` in a field that is not ``nullable`` is pruned, so it
only matters when the field is required.

:meth:`Validator.verdict` is the cheap question "would :meth:`Validator.validate` find
anything?", answered by :mod:`seldon_doctor.domain.schema_verdict`.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from seldon_doctor.domain.regex import re2_search
from seldon_doctor.domain.schema_verdict import CompiledSchemas, property_count
from seldon_doctor.domain.spelling import did_you_mean

MAX_ERRORS = 50
PathSegment = str | int


def format_path(path: Sequence[PathSegment]) -> str:
    """``("spec", "candidates", 0, "weight")`` -> ``spec.candidates[0].weight``."""
    out = ""
    for segment in path:
        if isinstance(segment, int):
            out += f"[{segment}]"
        else:
            out += f".{segment}" if out else segment
    return out


@dataclass(frozen=True, slots=True)
class SchemaError:
    """One way a value breaks its schema, at one path."""

    path: tuple[PathSegment, ...]
    # unknown-field | type | required | enum | pattern | duplicate | bounds | one-of | not
    # | schema (a $ref cycle: the schema cannot be evaluated)
    problem: str
    message: str
    value: Any = None
    suggestion: str | None = None

    @property
    def field(self) -> str:
        return format_path(self.path)


def json_type(value: Any) -> str:
    """The JSON type a YAML-loaded value has once kubectl sends it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, (str, datetime.date)):  # YAML timestamps travel as strings
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _type_matches(value: Any, expected: str) -> bool:
    actual = json_type(value)
    if actual == expected:
        return True
    if expected == "number" and actual == "integer":
        return True
    # JSON has one number type: 3.0 is an integer to the API server's validator.
    return expected == "integer" and isinstance(value, float) and value.is_integer()


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 60 else text[:57] + "..."


class _SchemaCycle(Exception):
    """A $ref cycle through allOf/anyOf/oneOf/not met at ``path`` (see _combinators)."""

    def __init__(self, path: tuple[PathSegment, ...]) -> None:
        super().__init__(path)
        self.path = path


def _cycle_error(path: tuple[PathSegment, ...]) -> SchemaError:
    # What lies past the cycle is unknowable: one error says why, and the walk stops there.
    return SchemaError(
        path,
        "schema",
        f"the schema of {format_path(path) or 'the object'} refers back to itself through a "
        "$ref without descending into the value, so it cannot be evaluated",
    )


class Validator:
    """Validate values against one schema tree (``defs`` resolves ``$ref: #/$defs/...``)."""

    def __init__(self, defs: Mapping[str, Any] | None = None) -> None:
        self.defs = defs or {}
        # (id(schema), id(value)) of the combinators being walked: see _combinators.
        self._active: set[tuple[int, int]] = set()
        self._compiled = CompiledSchemas(self._resolve)

    def verdict(self, value: Any, schema: Mapping[str, Any]) -> bool | None:
        """``True`` when :meth:`validate` would return no error, ``False`` when it would return
        some, ``None`` when the compiled form cannot tell (then ask :meth:`validate`)."""
        return self._compiled.verdict(value, schema)

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        seen = 0
        while isinstance(schema.get("$ref"), str) and seen < 32:
            name = schema["$ref"].rsplit("/", 1)[-1]
            target = self.defs.get(name)
            if not isinstance(target, Mapping):
                return {}
            schema = target
            seen += 1
        return schema

    def validate(
        self, value: Any, schema: Mapping[str, Any], path: tuple[PathSegment, ...] = ()
    ) -> list[SchemaError]:
        out: list[SchemaError] = []
        # Closed when cut short, so that every walk leaves _active as it found it.
        with contextlib.closing(self._walk(value, schema, path, structural=True)) as walk:
            try:
                for error in walk:
                    out.append(error)
                    if len(out) >= MAX_ERRORS:
                        break
            except _SchemaCycle as cycle:
                out.append(_cycle_error(cycle.path))
        return out

    def _walk(
        self,
        value: Any,
        schema: Mapping[str, Any],
        path: tuple[PathSegment, ...],
        *,
        structural: bool,
    ) -> Generator[SchemaError, None, None]:
        schema = self._resolve(schema)
        if not schema:
            return
        types = schema.get("type")
        type_list = [types] if isinstance(types, str) else list(types or [])
        type_list = [t for t in type_list if t != "null"]
        if value is None:
            # Accepted when nullable; otherwise the API server prunes it, which only matters
            # for a required field (checked by the parent).
            return
        if schema.get("x-kubernetes-int-or-string"):
            if json_type(value) not in ("integer", "string"):
                yield SchemaError(
                    path,
                    "type",
                    f"{format_path(path)} must be an integer or a string, not "
                    f"{json_type(value)} ({_show(value)})",
                    value,
                )
                return
            yield from self._value_checks(value, schema, path)
            return
        if type_list and not any(_type_matches(value, t) for t in type_list):
            wanted = " or ".join(type_list)
            yield SchemaError(
                path,
                "type",
                f"{format_path(path)} must be of type {wanted}, not {json_type(value)} "
                f"({_show(value)})",
                value,
            )
            return
        yield from self._value_checks(value, schema, path)
        yield from self._combinators(value, schema, path)
        if isinstance(value, Mapping):
            yield from self._object(value, schema, path, structural=structural)
        elif isinstance(value, list):
            yield from self._array(value, schema, path, structural=structural)

    def _value_checks(
        self, value: Any, schema: Mapping[str, Any], path: tuple[PathSegment, ...]
    ) -> Iterator[SchemaError]:
        where = format_path(path)
        enum = schema.get("enum")
        if isinstance(enum, list) and enum and value not in enum:
            allowed = ", ".join(str(v) for v in enum if v is not None)
            hint = did_you_mean(value, [str(v) for v in enum]) if isinstance(value, str) else None
            yield SchemaError(
                path,
                "enum",
                f"{where} is {_show(value)}, not one of the allowed values: {allowed}",
                value,
                hint,
            )
        if isinstance(value, str):
            pattern = schema.get("pattern")
            # The API server matches with RE2: a pattern RE2 refuses (None) is not judged.
            matched = re2_search(pattern, value) if isinstance(pattern, str) else None
            if matched is False:
                yield SchemaError(
                    path,
                    "pattern",
                    f"{where} is {_show(value)}, which does not match the pattern {pattern}",
                    value,
                )
            longest, shortest = schema.get("maxLength"), schema.get("minLength")
            if isinstance(longest, int) and len(value) > longest:
                yield SchemaError(
                    path, "bounds", f"{where} must be at most {longest} characters long", value
                )
            if isinstance(shortest, int) and len(value) < shortest:
                yield SchemaError(
                    path, "bounds", f"{where} must be at least {shortest} characters long", value
                )
        if isinstance(value, list):
            most, least = schema.get("maxItems"), schema.get("minItems")
            if isinstance(most, int) and len(value) > most:
                yield SchemaError(path, "bounds", f"{where} must have at most {most} items")
            if isinstance(least, int) and len(value) < least:
                yield SchemaError(path, "bounds", f"{where} must have at least {least} items")
        if json_type(value) in ("integer", "number") and not isinstance(value, bool):
            low, high = schema.get("minimum"), schema.get("maximum")
            # The exclusive flags are OpenAPI 3.0 booleans (a CRD's JSONSchemaProps has them
            # so); the bound itself is then out of range.
            if schema.get("exclusiveMinimum") is True:
                if isinstance(low, (int, float)) and value <= low:
                    yield SchemaError(path, "bounds", f"{where} is {value}, not above {low}", value)
            elif isinstance(low, (int, float)) and value < low:
                yield SchemaError(path, "bounds", f"{where} is {value}, below {low}", value)
            if schema.get("exclusiveMaximum") is True:
                if isinstance(high, (int, float)) and value >= high:
                    yield SchemaError(
                        path, "bounds", f"{where} is {value}, not below {high}", value
                    )
            elif isinstance(high, (int, float)) and value > high:
                yield SchemaError(path, "bounds", f"{where} is {value}, above {high}", value)
        if isinstance(value, Mapping):
            most, least = schema.get("maxProperties"), schema.get("minProperties")
            if isinstance(most, int) or isinstance(least, int):
                count = property_count(value, schema)
                if isinstance(most, int) and count > most:
                    yield SchemaError(path, "bounds", f"{where} must have at most {most} fields")
                if isinstance(least, int) and count < least:
                    yield SchemaError(path, "bounds", f"{where} must have at least {least} fields")

    def _combinators(
        self, value: Any, schema: Mapping[str, Any], path: tuple[PathSegment, ...]
    ) -> Iterator[SchemaError]:
        # Only here does the walk recurse without descending into the value: meeting the same
        # (schema, value) again is a $ref cycle (A: {allOf: [$ref A]}) that would never end.
        key = (id(schema), id(value))
        if key in self._active:
            raise _SchemaCycle(path)
        self._active.add(key)
        try:
            yield from self._branches(value, schema, path)
        finally:
            self._active.discard(key)

    def _branches(
        self, value: Any, schema: Mapping[str, Any], path: tuple[PathSegment, ...]
    ) -> Iterator[SchemaError]:
        # In a structural schema these only add value validation: the fields that exist are
        # the ones the main schema declares, so unknown fields are not re-checked here.
        for branch in schema.get("allOf") or ():
            if isinstance(branch, Mapping):
                yield from self._walk(value, branch, path, structural=False)
        for key in ("anyOf", "oneOf"):
            branches = [b for b in schema.get(key) or () if isinstance(b, Mapping)]
            failures: list[list[SchemaError]] = []
            matched = 0
            # In order, stopping where the answer is known (as the verdict does): a branch
            # past that point is not walked, so a $ref cycle there is not met.
            for branch in branches:
                try:
                    errors = list(self._walk(value, branch, path, structural=False))
                except _SchemaCycle as cycle:
                    errors = [_cycle_error(cycle.path)]  # that branch cannot hold
                if errors:
                    failures.append(errors)
                    continue
                matched += 1
                if key == "anyOf" or matched > 1:
                    break
            if failures and not matched:
                yield from min(failures, key=len)
            elif matched > 1:
                # The API server's oneOf holds when exactly one alternative does.
                yield SchemaError(
                    path,
                    "one-of",
                    f"{format_path(path)} matches more than one of the {len(branches)} oneOf "
                    "alternatives; it must match exactly one",
                    value,
                )
        negated = schema.get("not")
        if isinstance(negated, Mapping):
            with contextlib.closing(self._walk(value, negated, path, structural=False)) as walk:
                passes = next(walk, None) is None
            if passes:
                yield SchemaError(
                    path,
                    "not",
                    f"{format_path(path)} matches the schema under not, which it must not",
                    value,
                )

    def _object(
        self,
        value: Mapping[str, Any],
        schema: Mapping[str, Any],
        path: tuple[PathSegment, ...],
        *,
        structural: bool,
    ) -> Iterator[SchemaError]:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        additional = schema.get("additionalProperties")
        preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        embedded = bool(schema.get("x-kubernetes-embedded-resource"))
        for name in schema.get("required") or ():
            if value.get(name) is None:
                yield SchemaError(
                    (*path, name),
                    "required",
                    f"{format_path((*path, name))} is required"
                    + (" (it is null, and a null is dropped)" if name in value else ""),
                )
        for key, child in value.items():
            key_text = str(key)
            child_path = (*path, key_text)
            if key_text in properties:
                sub = properties[key_text]
                if isinstance(sub, Mapping):
                    yield from self._walk(child, sub, child_path, structural=structural)
            elif isinstance(additional, Mapping):
                yield from self._walk(child, additional, child_path, structural=structural)
            elif (
                additional is True
                or preserve
                or not structural
                or (embedded and key_text in ("apiVersion", "kind", "metadata"))
            ):
                continue
            else:
                hint = did_you_mean(key_text, sorted(properties))
                known = ", ".join(sorted(properties)) or "none"
                yield SchemaError(
                    child_path,
                    "unknown-field",
                    f"{format_path(child_path)} is not a known field"
                    + (f" (did you mean {hint}?)" if hint else f"; known fields: {known}"),
                    suggestion=hint,
                )

    def _array(
        self,
        value: list[Any],
        schema: Mapping[str, Any],
        path: tuple[PathSegment, ...],
        *,
        structural: bool,
    ) -> Iterator[SchemaError]:
        items = schema.get("items")
        if isinstance(items, Mapping):
            for index, item in enumerate(value):
                yield from self._walk(item, items, (*path, index), structural=structural)
        list_type = schema.get("x-kubernetes-list-type")
        if list_type == "set":
            seen: list[Any] = []
            for index, item in enumerate(value):
                if item in seen:
                    yield SchemaError(
                        (*path, index),
                        "duplicate",
                        f"{format_path((*path, index))} duplicates {_show(item)} in a set",
                        item,
                    )
                else:
                    seen.append(item)
        elif list_type == "map":
            keys = [str(k) for k in schema.get("x-kubernetes-list-map-keys") or ()]
            found: dict[tuple[Any, ...], int] = {}
            for index, item in enumerate(value):
                if not isinstance(item, Mapping) or not keys:
                    continue
                key = tuple(repr(item.get(k)) for k in keys)
                if key in found:
                    shown = ", ".join(f"{k}={_show(item.get(k))}" for k in keys)
                    yield SchemaError(
                        (*path, index),
                        "duplicate",
                        f"{format_path((*path, index))} duplicates the entry with {shown} "
                        f"({format_path((*path, found[key]))})",
                    )
                else:
                    found[key] = index
