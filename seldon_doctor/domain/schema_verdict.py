"""The compiled verdict of :class:`seldon_doctor.domain.schema.Validator`: valid, yes or no.

``Validator.validate`` walks a value carrying paths, building messages and spelling hints; most
objects are valid, and that error-free walk cost SD003 more than all other checks together.
Here each schema is compiled once (per validator, cached by identity) into a table: Python
type -> small closure answering ``True``/``False`` for a value of exactly that type, without
allocating paths or errors. It answers ``None`` wherever it does not model something (odd
keyword values such as ``required: "a"``; types JSON decoding does not produce, such as a YAML
date, which are missing from every table), so the caller runs the full walk then. It never
answers ``True`` where the walk reports an error, and wherever it decides it says what the
walk says: tests/test_schema_verdict.py holds it to that.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from seldon_doctor.domain.regex import re2_search

_Step = Callable[[Any], bool | None]
_JSON_TYPES: tuple[type, ...] = (type(None), bool, int, float, str, dict, list)


class CompiledSchemas:
    """The compiled tables of one validator's schemas (``resolve`` follows its ``$ref``s)."""

    def __init__(self, resolve: Callable[[Mapping[str, Any]], Mapping[str, Any]]) -> None:
        self._resolve = resolve
        # (id(schema), structural) -> (schema, table): kept with the schema itself so that an
        # id is never reused while its entry lives; one validator's life is one check run.
        self._tables: dict[tuple[int, bool], tuple[Mapping[str, Any], _Table]] = {}

    def verdict(self, value: Any, schema: Mapping[str, Any]) -> bool | None:
        try:
            return self._compile(schema, True)[type(value)](value)
        except _CycleMet:
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
        """One step per JSON type, doing what ``Validator._walk`` does for a value of that type."""
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
        if self._in_cycle(schema):
            # Where the walk would meet the cycle it stops with an error; the verdict leaves
            # the whole value to the walk as soon as it reaches this schema.
            table.update(dict.fromkeys(_JSON_TYPES[1:], _cyclic))
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

    def _in_cycle(self, schema: Mapping[str, Any]) -> bool:
        """Whether allOf/anyOf/oneOf/not, followed through ``$ref``s, lead from ``schema`` into
        a cycle: a walk that meets one never descends into the value (``_combinators``)."""
        on_path: set[int] = set()
        done: set[int] = set()

        def visit(node: Mapping[str, Any]) -> bool:
            node = self._resolve(node)
            if id(node) in on_path:
                return True
            if id(node) in done:
                return False
            on_path.add(id(node))
            branches = [node.get("not")]
            for key in ("allOf", "anyOf", "oneOf"):
                found = node.get(key)
                if isinstance(found, (list, tuple)):
                    branches.extend(found)
            if any(visit(b) for b in branches if isinstance(b, Mapping)):
                return True
            on_path.discard(id(node))
            done.add(id(node))
            return False

        return visit(schema)

    def _value_steps(self, schema: Mapping[str, Any]) -> dict[type, list[_Step]]:
        """``Validator._value_checks`` split by the Python type it applies to."""
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
            step = _range_step(
                low,
                high,
                schema.get("exclusiveMinimum") is True,
                schema.get("exclusiveMaximum") is True,
            )
            out[int].append(step)
            out[float].append(step)
        least, most = schema.get("minProperties"), schema.get("maxProperties")
        if isinstance(least, int) or isinstance(most, int):
            out[dict].append(_count_step(schema, least, most))
        return out

    def _combinator_steps(self, schema: Mapping[str, Any]) -> list[_Step]:
        steps: list[_Step] = [
            _one_step(self._compile(branch, False)) for branch in _branches(schema, "allOf")
        ]
        tables = [self._compile(branch, False) for branch in _branches(schema, "anyOf")]
        if tables:
            steps.append(_any_step(tables))
        tables = [self._compile(branch, False) for branch in _branches(schema, "oneOf")]
        if tables:
            steps.append(_one_of_step(tables))
        negated = schema.get("not")
        if isinstance(negated, Mapping):
            steps.append(_not_step(self._compile(negated, False)))
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


class _Unmodelled(Exception):
    """A keyword value the compiled form does not model (e.g. ``required: "a"``)."""


class _CycleMet(Exception):
    """A value reached a schema whose combinators lead into a $ref cycle (see ``_in_cycle``)."""


def _cyclic(value: Any) -> bool | None:
    raise _CycleMet


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


def _range_step(low: float | None, high: float | None, low_open: bool, high_open: bool) -> _Step:
    """``minimum``/``maximum``; ``exclusiveMinimum``/``exclusiveMaximum`` are the booleans of
    OpenAPI 3.0 (what a CRD's JSONSchemaProps declares) that make the bound itself invalid."""

    def in_range(value: Any) -> bool | None:
        if low is not None and (value <= low if low_open else value < low):
            return False
        return not (high is not None and (value >= high if high_open else value > high))

    return in_range


def property_count(value: Mapping[Any, Any], schema: Mapping[str, Any]) -> int:
    """The properties ``minProperties``/``maxProperties`` count: the API server prunes a null
    in a field that is not ``nullable`` before it validates, so that one is not counted."""
    count = 0
    properties = schema.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    additional = schema.get("additionalProperties")
    for key, child in value.items():
        if child is None:
            sub = properties.get(str(key), additional)
            if not (isinstance(sub, Mapping) and sub.get("nullable") is True):
                continue
        count += 1
    return count


def _count_step(schema: Mapping[str, Any], least: Any, most: Any) -> _Step:
    # isinstance(True, int) holds, as it does in _value_checks.
    low = least if isinstance(least, int) else None
    high = most if isinstance(most, int) else None

    def count(value: Any) -> bool | None:
        n = property_count(value, schema)
        return not ((high is not None and n > high) or (low is not None and n < low))

    return count


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
    """anyOf as _combinators has it: valid when one branch is."""

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


def _one_of_step(tables: list[_Table]) -> _Step:
    """oneOf as the API server has it: valid when exactly one branch is."""

    def one_of(value: Any) -> bool | None:
        matched, unsure = 0, False
        for table in tables:
            got = table[type(value)](value)
            if got is True:
                matched += 1
                if matched > 1:
                    return False
            elif got is None:
                unsure = True
        return None if unsure else matched == 1

    return one_of


def _not_step(table: _Table) -> _Step:
    def negated(value: Any) -> bool | None:
        got = table[type(value)](value)
        return None if got is None else not got

    return negated


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
