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
anything?": each schema is compiled once per validator into small closures that answer
valid/invalid without paths, messages or spelling hints (most objects are valid, and building
their error-free walk cost more than all other checks together). It answers ``None`` wherever
it does not model something (odd keyword values, Python types JSON does not produce), so a
caller runs the full walk then; it never answers ``True`` where the full walk reports an error.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from seldon_doctor.domain.regex import re2_search
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
        # (id(schema), structural) -> (schema, table): kept with the schema itself so that an
        # id is never reused while its entry lives; one validator's life is one check run.
        self._tables: dict[tuple[int, bool], tuple[Mapping[str, Any], _Table]] = {}

    def verdict(self, value: Any, schema: Mapping[str, Any]) -> bool | None:
        """``True`` when :meth:`validate` would return no error, ``False`` when it would return
        some, ``None`` when the compiled form cannot tell (then ask :meth:`validate`)."""
        try:
            return self._compile(schema, True)[type(value)](value)
        except RecursionError:  # a $ref cycle that consumes no value: the walk fails its way
            return None

    def _compile(self, schema: Mapping[str, Any], structural: bool) -> _Table:
        key = (id(schema), structural)
        hit = self._tables.get(key)
        if hit is not None and hit[0] is schema:
            return hit[1]
        resolved = self._resolve(schema)
        if resolved is not schema and not isinstance(resolved.get("$ref"), str):
            # Every $ref to one definition shares its table (the Kubernetes ones nest deeply).
            table = self._compile(resolved, structural)
            self._tables[key] = (schema, table)
            return table
        # Built on its first lookup: a CRD schema has thousands of sub-schemas (whole pod
        # specs), and the objects of a scan visit few of them. Registered before it is built,
        # so a recursive $ref finds this same table.
        table = _Table(lambda: self._build(resolved, structural))
        self._tables[key] = (schema, table)
        return table

    def _build(self, schema: Mapping[str, Any], structural: bool) -> Mapping[type, _Step]:
        """One step per JSON type, doing what :meth:`_walk` does for a value of that type."""
        if not schema:
            return _ANYTHING
        types = schema.get("type")
        if isinstance(types, str):
            types = [types]
        elif types is not None and not isinstance(types, (list, tuple)):
            raise _Unmodelled
        names = [t for t in types or () if t != "null"]
        table: dict[type, _Step] = {type(None): _valid}
        value_steps = self._value_steps(schema)
        if schema.get("x-kubernetes-int-or-string"):
            table.update(dict.fromkeys((bool, float, dict, list), _invalid))
            table[int] = _chain(value_steps[int])
            table[str] = _chain(value_steps[str])
            return table
        combined = self._combinator_steps(schema)
        accepts = _accepted(names)
        for kind in _JSON_TYPES[1:]:
            gate = accepts[kind]
            if gate is _invalid:
                table[kind] = _invalid
                continue
            steps = [*value_steps[kind], *combined]
            if kind is dict:
                steps.append(self._object_step(schema, structural))
            elif kind is list:
                steps.append(self._array_step(schema, structural))
            table[kind] = _chain(steps if gate is _valid else [gate, *steps])
        return table

    def _value_steps(self, schema: Mapping[str, Any]) -> dict[type, list[_Step]]:
        """:meth:`_value_checks` split by the Python type it applies to."""
        out: dict[type, list[_Step]] = {kind: [] for kind in _JSON_TYPES}
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            allowed = list(enum)
            for kind in _JSON_TYPES[1:]:
                out[kind].append(allowed.__contains__)
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            out[str].append(lambda v: re2_search(pattern, v) is not False)
        out[str].extend(_size_steps(schema.get("minLength"), schema.get("maxLength")))
        out[list].extend(_size_steps(schema.get("minItems"), schema.get("maxItems")))
        low, high = schema.get("minimum"), schema.get("maximum")
        low = low if isinstance(low, (int, float)) else None
        high = high if isinstance(high, (int, float)) else None
        if low is not None or high is not None:
            step = _range_step(low, high)
            out[int].append(step)
            out[float].append(step)
        return out

    def _combinator_steps(self, schema: Mapping[str, Any]) -> list[_Step]:
        steps: list[_Step] = [
            _one_step(self._compile(branch, False)) for branch in _branches(schema, "allOf")
        ]
        for key in ("anyOf", "oneOf"):
            tables = [self._compile(branch, False) for branch in _branches(schema, key)]
            if tables:
                steps.append(_any_step(tables))
        return steps

    def _object_step(self, schema: Mapping[str, Any], structural: bool) -> _Step:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        required = schema.get("required") or ()
        if not isinstance(required, (list, tuple)) or not all(
            isinstance(name, str) for name in required
        ):
            raise _Unmodelled
        props: dict[Any, _Table] = {
            name: self._compile(sub, structural) if isinstance(sub, Mapping) else _ANYTHING
            for name, sub in properties.items()
        }
        additional = schema.get("additionalProperties")
        extra = self._compile(additional, structural) if isinstance(additional, Mapping) else None
        unknown_ok = (
            additional is True
            or bool(schema.get("x-kubernetes-preserve-unknown-fields"))
            or not structural
        )
        embedded = (
            frozenset(("apiVersion", "kind", "metadata"))
            if schema.get("x-kubernetes-embedded-resource")
            else frozenset()
        )
        names = tuple(required)
        if not names and not props and extra is None and unknown_ok:
            return _valid
        valid = _valid

        def object_step(value: Any) -> bool | None:
            for name in names:
                if value.get(name) is None:
                    return False
            for key, child in value.items():
                if type(key) is not str:
                    key = str(key)
                table = props.get(key)
                if table is None:
                    if extra is not None:
                        table = extra
                    elif unknown_ok or key in embedded:
                        continue
                    else:
                        return False
                step = table[type(child)]
                if step is not valid:
                    answer = step(child)
                    if answer is not True:
                        return answer
            return True

        return object_step

    def _array_step(self, schema: Mapping[str, Any], structural: bool) -> _Step:
        items = schema.get("items")
        steps: list[_Step] = []
        if isinstance(items, Mapping):
            steps.append(_each_step(self._compile(items, structural)))
        list_type = schema.get("x-kubernetes-list-type")
        if list_type == "set":
            steps.append(_no_duplicates)
        elif list_type == "map":
            keys = schema.get("x-kubernetes-list-map-keys") or ()
            if not isinstance(keys, (list, tuple)):
                raise _Unmodelled
            if keys:
                steps.append(_map_keys_step(tuple(str(k) for k in keys)))
        return _chain(steps)

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


# ------------------------------------------------------------------ the compiled verdict
# A compiled schema is a table: Python type -> step answering True/False/None for a value of
# exactly that type. The types are those JSON decoding produces; any other (a YAML date, a
# subclass) is missing and answers None, so it gets the full walk with json_type's rules.

_Step = Callable[[Any], bool | None]
_JSON_TYPES: tuple[type, ...] = (type(None), bool, int, float, str, dict, list)


class _Unmodelled(Exception):
    """A keyword value the compiled form does not model (e.g. ``required: "a"``)."""


def _valid(value: Any) -> bool | None:
    return True


def _invalid(value: Any) -> bool | None:
    return False


def _unsure(value: Any) -> bool | None:
    return None


class _Table(dict[type, _Step]):
    """One compiled schema: ``table[type(value)](value)`` is the verdict. Filled by ``build``
    on the first lookup; a type it has no step for (or every type, when the schema has
    something unmodelled) answers None."""

    __slots__ = ("build",)

    def __init__(self, build: Callable[[], Mapping[type, _Step]] | None = None) -> None:
        super().__init__()
        self.build = build

    def __missing__(self, kind: type) -> _Step:
        build, self.build = self.build, None  # a recursive $ref meets it empty, not again
        if build is not None:
            with contextlib.suppress(_Unmodelled):  # left empty: every type answers None
                self.update(build())
            if kind in self:
                return self[kind]
        return _unsure


_ANYTHING = _Table()
_ANYTHING.update(dict.fromkeys(_JSON_TYPES, _valid))


def _integral(value: float) -> bool | None:
    # JSON has one number type: 3.0 is an integer to the API server's validator.
    return value.is_integer()


def _accepted(names: list[Any]) -> dict[type, _Step]:
    """``_type_matches`` per JSON type: _valid, _invalid, or _integral for floats that must be
    integers. No names: any type."""
    if not names:
        return dict.fromkeys(_JSON_TYPES, _valid)

    def has(name: str) -> _Step:
        return _valid if any(n == name for n in names) else _invalid

    number, integer = has("number"), has("integer")
    return {
        type(None): _valid,
        bool: has("boolean"),
        int: _valid if _valid in (number, integer) else _invalid,
        float: number if number is _valid else (_integral if integer is _valid else _invalid),
        str: has("string"),
        dict: has("object"),
        list: has("array"),
    }


def _chain(steps: list[_Step]) -> _Step:
    """Steps that must all pass; the first that does not answers."""
    if not steps:
        return _valid
    if len(steps) == 1:
        return steps[0]
    frozen = tuple(steps)

    def chain(value: Any) -> bool | None:
        for step in frozen:
            answer = step(value)
            if answer is not True:
                return answer
        return True

    return chain


def _size_steps(least: Any, most: Any) -> list[_Step]:
    # isinstance(True, int) holds, as it does in _value_checks.
    low = least if isinstance(least, int) else None
    high = most if isinstance(most, int) else None
    if low is None and high is None:
        return []

    def size(value: Any) -> bool | None:
        n = len(value)
        return not ((high is not None and n > high) or (low is not None and n < low))

    return [size]


def _range_step(low: float | None, high: float | None) -> _Step:
    def in_range(value: Any) -> bool | None:
        return not ((low is not None and value < low) or (high is not None and value > high))

    return in_range


def _branches(schema: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    found = schema.get(key)
    if found is None:
        return []
    if not isinstance(found, (list, tuple)):
        raise _Unmodelled
    return [branch for branch in found if isinstance(branch, Mapping)]


def _one_step(table: _Table) -> _Step:
    def one(value: Any) -> bool | None:
        return table[type(value)](value)

    return one


def _any_step(tables: list[_Table]) -> _Step:
    """anyOf/oneOf as _combinators has them: valid when one branch is."""

    def any_of(value: Any) -> bool | None:
        answer: bool | None = False
        for table in tables:
            got = table[type(value)](value)
            if got is True:
                return True
            if got is None:
                answer = None
        return answer

    return any_of


def _each_step(table: _Table) -> _Step:
    valid = _valid

    def each(value: list[Any]) -> bool | None:
        for item in value:
            step = table[type(item)]
            if step is not valid:
                answer = step(item)
                if answer is not True:
                    return answer
        return True

    return each


def _no_duplicates(value: list[Any]) -> bool | None:
    # A set finds what _array's `item in seen` finds: for the types JSON decodes to, equal
    # values hash equal (1 == 1.0 == True included). Unhashable items take the list route.
    try:
        return len(set(value)) == len(value)
    except TypeError:
        seen: list[Any] = []
        for item in value:
            if item in seen:
                return False
            seen.append(item)
        return True


def _map_keys_step(keys: tuple[str, ...]) -> _Step:
    def unique_keys(value: list[Any]) -> bool | None:
        found: set[tuple[str, ...]] = set()
        for item in value:
            if not isinstance(item, Mapping):
                continue
            key = tuple(repr(item.get(k)) for k in keys)
            if key in found:
                return False
            found.add(key)
        return True

    return unique_keys
