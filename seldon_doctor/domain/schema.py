"""A small validator for Kubernetes structural OpenAPI v3 schemas (what a CRD declares).

It answers what the API server would do with a manifest, field by field: unknown fields (which
the API server *prunes silently* for custom resources), wrong types, missing required fields,
enum and pattern violations, duplicate keys in ``x-kubernetes-list-type: map|set`` lists.
Supported: ``type``, ``properties``, ``required``, ``items``, ``enum``, ``pattern``,
``additionalProperties``, ``x-kubernetes-preserve-unknown-fields``,
``x-kubernetes-int-or-string``, ``x-kubernetes-embedded-resource``, ``nullable``, ``anyOf``,
``allOf``, ``oneOf``, ``$ref`` into ``$defs``, the length/size/range bounds, and ``type`` lists
with ``"null"`` (the JSON-schema rendering of the built-in kinds). Not evaluated: CEL rules
(``x-kubernetes-validations``) and ``format``.

Nulls follow the API server: a ``null`` in a field that is not ``nullable`` is pruned, so it
only matters when the field is required.

:meth:`Validator.verdict` is the cheap question "would :meth:`Validator.validate` find
anything?", answered by :mod:`seldon_doctor.domain.schema_verdict`.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from seldon_doctor.domain.regex import re2_search
from seldon_doctor.domain.schema_verdict import CompiledSchemas
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
    problem: str  # unknown-field | type | required | enum | pattern | duplicate | bounds
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


class Validator:
    """Validate values against one schema tree (``defs`` resolves ``$ref: #/$defs/...``)."""

    def __init__(self, defs: Mapping[str, Any] | None = None) -> None:
        self.defs = defs or {}
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
        for error in self._walk(value, schema, path, structural=True):
            out.append(error)
            if len(out) >= MAX_ERRORS:
                break
        return out

    def _walk(
        self,
        value: Any,
        schema: Mapping[str, Any],
        path: tuple[PathSegment, ...],
        *,
        structural: bool,
    ) -> Iterator[SchemaError]:
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
            if isinstance(low, (int, float)) and value < low:
                yield SchemaError(path, "bounds", f"{where} is {value}, below {low}", value)
            if isinstance(high, (int, float)) and value > high:
                yield SchemaError(path, "bounds", f"{where} is {value}, above {high}", value)

    def _combinators(
        self, value: Any, schema: Mapping[str, Any], path: tuple[PathSegment, ...]
    ) -> Iterator[SchemaError]:
        # In a structural schema these only add value validation: the fields that exist are
        # the ones the main schema declares, so unknown fields are not re-checked here.
        for branch in schema.get("allOf") or ():
            if isinstance(branch, Mapping):
                yield from self._walk(value, branch, path, structural=False)
        for key in ("anyOf", "oneOf"):
            branches = [b for b in schema.get(key) or () if isinstance(b, Mapping)]
            if not branches:
                continue
            failures = [list(self._walk(value, b, path, structural=False)) for b in branches]
            if all(failures):
                first = min(failures, key=len)
                yield from first

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
