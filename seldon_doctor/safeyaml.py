"""The one bounded YAML loader: every YAML the tool reads goes through here.

Manifests (``-f``, stdin, ``--crds``), ``.seldon-doctor.yaml``, kubeconfigs (before the
``kubernetes`` client sees them) and the re-reads of :mod:`seldon_doctor.sources.locate`.
Two things make YAML hostile and both are bounded here:

* **Nesting**: libyaml's composer recurses in C per nesting level and crashes the interpreter
  at ~100k levels; :func:`check_nesting` refuses more than :data:`MAX_NESTING` levels before
  libyaml sees the text.
* **Alias expansion** (billion laughs): aliases are shared objects after loading, so loading is
  cheap, but anything that walks the result (``str()``, JSON output, checks) expands them.
  :func:`check_expansion` computes each document's expanded size in its real size and refuses
  more than :data:`MAX_EXPANDED_NODES`. It runs whenever the text holds an ``&`` at all (not
  only where a regex thinks an anchor starts: libyaml skips a BOM before an anchor).

Integers longer than Python's int conversion limit (4300 digits) and every YAML error are one
:class:`~seldon_doctor.errors.InputError` line.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterator
from typing import Any

import yaml

from seldon_doctor.errors import InputError

# libyaml recurses per nesting level in C; at ~100k levels it segfaults. Real manifests nest
# about 20 levels deep, so 512 is generous and safely far from the crash.
MAX_NESTING = 512
# Bound on nodes reachable through aliases: expansion bombs blow past it, real files never do.
MAX_EXPANDED_NODES = 2_000_000

_FLOW_BRACKETS = re.compile(r"[\[\]{}]")
_DEEP_INDENT = re.compile(rf"^[ \t]{{{MAX_NESTING * 2},}}\S", re.MULTILINE)
_COMPACT_NESTING = re.compile(rf"(?:[-?][ \t]+){{{MAX_NESTING},}}")


def iter_documents(text: str, name: str) -> Iterator[tuple[yaml.Node, Any]]:
    """(node, constructed document) for each YAML document of ``text``, every bound applied.

    Raises:
        InputError: invalid YAML, nested too deeply, an alias bomb, an integer too long.
    """
    check_nesting(text, name)
    has_anchors = "&" in text
    loader = FastSafeLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            document = loader.construct_document(node)
            if has_anchors:
                check_expansion(document, name, node.start_mark.line + 1)
            yield node, document
    except yaml.YAMLError as exc:
        raise InputError(f"{name}: {describe_yaml_error(exc)}") from None
    except RecursionError:
        raise InputError(f"{name}: YAML nested too deeply") from None
    except ValueError as exc:  # int("5000 digits"): Python's int conversion limit
        raise InputError(f"{name}: {_value_problem(exc)}") from None
    finally:
        loader.dispose()


def load_one(text: str, name: str) -> Any:
    """The single document of ``text`` (``None`` when empty), like ``yaml.safe_load``, bounded."""
    documents = [document for _, document in iter_documents(text, name)]
    if len(documents) > 1:
        raise InputError(f"{name}: expected one YAML document, found {len(documents)}")
    return documents[0] if documents else None


def compose_all(text: str, name: str) -> Iterator[yaml.Node]:
    """Composed nodes (marks, no construction) of each document, nesting bounded: for callers
    that need positions only. Nodes share aliased children, nothing is expanded."""
    check_nesting(text, name)
    loader = yaml.CSafeLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                yield node
    except yaml.YAMLError as exc:
        raise InputError(f"{name}: {describe_yaml_error(exc)}") from None
    except RecursionError:
        raise InputError(f"{name}: YAML nested too deeply") from None
    finally:
        loader.dispose()


def _value_problem(exc: ValueError) -> str:
    text = str(exc)
    if "integer string conversion" in text:
        return "invalid YAML: an integer has more than 4300 digits"
    return "invalid YAML: " + " ".join(text.split())[:200]


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_SPECIAL_KEYS = frozenset({"tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"})
# Plain scalar -> tag; the safe resolver's answer depends on the value alone (no path resolvers).
_PLAIN_TAGS: dict[str, str] = {}
_PLAIN_TAGS_MAX = 200_000
# (tag, text) -> value for tags whose values are immutable and depend on the text alone, so a
# memoised value is indistinguishable from a fresh one (ports, replicas, booleans recur a lot).
_MEMO_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("int", "bool", "null", "float", "timestamp")
)
_SCALAR_VALUES: dict[tuple[str, str], Any] = {}
_SCALAR_VALUES_MAX = 100_000
_Scalar = yaml.ScalarNode
_Sequence = yaml.SequenceNode
_Mapping = yaml.MappingNode


class FastSafeLoader(yaml.CSafeLoader):
    """``CSafeLoader`` with the same results, about twice as fast on Kubernetes YAML.

    The stock safe loader spends most of its time in Python: resolving every plain scalar's tag
    with regexes, and constructing objects through generic per-node machinery. Here plain
    scalars' tags are memoised by value (manifests repeat the same keys and values
    everywhere), strings, mappings and sequences are built directly (string scalars inline,
    without a call per node), and immutable scalars (ints, booleans, nulls, floats,
    timestamps) are memoised by text; every other tag (``!!binary``, merge keys, sets, unknown
    tags) goes through the stock constructors, so values and errors are unchanged. Aliased
    nodes stay shared objects, as with the stock constructor, so the alias-expansion bound
    still applies.
    """

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is _Scalar and implicit[0]:
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
                if len(_PLAIN_TAGS) >= _PLAIN_TAGS_MAX:
                    _PLAIN_TAGS.clear()
                _PLAIN_TAGS[value] = tag
            return tag
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]

    # The C composer calls these around every node; only path resolvers use them and the safe
    # loader has none. C callables that ignore their arguments spare two Python calls per node.
    descend_resolver = staticmethod(operator.is_)  # type: ignore[assignment]  # (parent, index)
    ascend_resolver = staticmethod(tuple)  # type: ignore[assignment]  # ()

    def construct_document(self, node: yaml.Node) -> Any:
        self._built: dict[int, Any] = {}
        self._building: set[int] = set()
        try:
            return self._build(node)
        finally:
            self._built = {}
            self._building = set()
            self.constructed_objects = {}
            self.recursive_objects = {}

    def _scalar(self, node: yaml.Node) -> Any:
        tag = node.tag
        if tag not in _MEMO_TAGS:
            return self.construct_object(node, deep=True)
        memo = (tag, node.value)
        value = _SCALAR_VALUES.get(memo, _SCALAR_VALUES)
        if value is _SCALAR_VALUES:
            value = self.construct_object(node, deep=True)
            if len(_SCALAR_VALUES) >= _SCALAR_VALUES_MAX:
                _SCALAR_VALUES.clear()
            _SCALAR_VALUES[memo] = value
        return value

    def _build(self, node: yaml.Node) -> Any:
        # One frame per nesting level (no comprehensions): nesting is bounded by
        # check_nesting, so this stays far from the recursion limit.
        cls = node.__class__
        if cls is _Scalar:
            return node.value if node.tag == _STR else self._scalar(node)
        key = id(node)
        done = self._built.get(key)
        if done is not None:
            return done
        if key in self._building:
            raise yaml.constructor.ConstructorError(
                None, None, "found a recursive alias", node.start_mark
            )
        if cls is _Sequence and node.tag == _SEQ:
            self._building.add(key)
            items: list[Any] = []
            for child in node.value:
                if child.__class__ is _Scalar and child.tag == _STR:
                    items.append(child.value)
                else:
                    items.append(self._build(child))
            self._building.discard(key)
            self._built[key] = items
            return items
        if cls is _Mapping and node.tag == _MAP:
            return self._mapping(node, key)
        return self.construct_object(node, deep=True)

    def _mapping(self, node: yaml.Node, key: int) -> Any:
        self._building.add(key)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key_tag = key_node.tag
            if key_tag == _STR and key_node.__class__ is _Scalar:
                item_key = key_node.value
            elif key_tag in _SPECIAL_KEYS:
                self._building.discard(key)
                return self.construct_object(node, deep=True)  # merge keys: stock path
            else:
                item_key = self._build(key_node)
            if value_node.__class__ is _Scalar and value_node.tag == _STR:
                value = value_node.value
            else:
                value = self._build(value_node)
            try:
                mapping[item_key] = value
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "found unhashable key",
                    key_node.start_mark,
                ) from None
        self._building.discard(key)
        self._built[key] = mapping
        return mapping


def describe_yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    detail = f"{context}; {problem}" if context else str(problem)
    return f"invalid YAML at {where}{detail}"


def check_nesting(text: str, name: str) -> None:
    depth = deepest = 0
    for match in _FLOW_BRACKETS.finditer(text):
        if match.group() in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_NESTING:
                    raise InputError(f"{name}: nested more than {MAX_NESTING} levels deep, refused")
        elif depth:
            depth -= 1
    # Both patterns need one line of at least 2 * MAX_NESTING characters: search only those
    # (running them over a whole large file cost more than parsing it).
    for line in text.split("\n"):
        if len(line) >= 2 * MAX_NESTING and (
            _DEEP_INDENT.search(line) or _COMPACT_NESTING.search(line)
        ):
            raise InputError(f"{name}: nested more than {MAX_NESTING} levels deep, refused")


def check_expansion(document: Any, name: str, line: int) -> None:
    """Refuse documents whose alias expansion is huge or cyclic (billion laughs).

    Aliased nodes are the same Python object, so each container's expanded size and depth are
    computed once (post-order, memoised by identity): the check costs the document's real size,
    not its expansion, and a bomb is refused in milliseconds.
    """
    if not isinstance(document, (dict, list, tuple)):
        return
    sizes: dict[int, tuple[int, int]] = {}  # id -> (expanded nodes, depth)
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(document, False)]

    def refuse() -> InputError:
        return InputError(
            f"{name}:{line}: YAML aliases expand beyond {MAX_EXPANDED_NODES} nodes "
            "(an alias bomb or a recursive alias), refused"
        )

    while stack:
        value, done = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        key = id(value)
        if done:
            size, depth = 1, 0
            for child in children:
                if isinstance(child, (dict, list, tuple)):
                    child_size, child_depth = sizes[id(child)]
                    size += child_size
                    depth = max(depth, child_depth + 1)
                else:
                    size += 1
            on_path.discard(key)
            if size > MAX_EXPANDED_NODES or depth > MAX_NESTING:
                raise refuse()
            sizes[key] = (size, depth)
            continue
        if key in sizes:
            continue
        if key in on_path:  # reached again below itself: a recursive alias
            raise refuse()
        on_path.add(key)
        stack.append((value, True))
        stack.extend(
            (child, False)
            for child in children
            if isinstance(child, (dict, list, tuple)) and id(child) not in sizes
        )
