"""Read Kubernetes objects from YAML/JSON files, directories or stdin, keeping file and line.

Reads what ``kubectl get -o yaml``, ``helm template`` and ``kustomize build`` print:
multi-document YAML, JSON, ``kind: List`` wrappers, ``# Source:`` comments. Hostile input is
refused before it can hurt: libyaml's composer recurses in C and crashes the interpreter on
deeply nested input, and alias expansion can turn a few lines into billions of nodes, so both
are bounded here, before and after parsing.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from seldon_doctor.errors import InputError
from seldon_doctor.kinds import KINDS
from seldon_doctor.snapshot import Completeness, KubeObject, Origin
from seldon_doctor.sources.locate import FieldLines, SourceText

MAX_FILE_BYTES = 256 * 1024 * 1024
# libyaml recurses per nesting level in C; at ~100k levels it segfaults. Real manifests nest
# about 20 levels deep, so 512 is generous and safely far from the crash.
MAX_NESTING = 512
# Bound on nodes reachable through aliases: expansion bombs blow past it, real files never do.
MAX_EXPANDED_NODES = 2_000_000
YAML_SUFFIXES = (".yaml", ".yml", ".json")

CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "StorageClass",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PriorityClass",
        "IngressClass",
        "APIService",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    }
) | frozenset(info.kind for info in KINDS.values() if not info.namespaced)

_FLOW_BRACKETS = re.compile(r"[\[\]{}]")
_DEEP_INDENT = re.compile(rf"^[ \t]{{{MAX_NESTING * 2},}}\S", re.MULTILINE)
_COMPACT_NESTING = re.compile(rf"(?:[-?][ \t]+){{{MAX_NESTING},}}")
_ANCHOR = re.compile(r"(?:^|[\s\[{,:-])&[^\s\[\]{},]+")
_HELM_SOURCE = re.compile(r"^# Source: (\S.*)$", re.MULTILINE)


# (first line, parsed document, helm "# Source:" path, line of each List item)
_Document = tuple[int | None, Any, str | None, list[int] | None]


@dataclass(slots=True)
class LoadResult:
    """Objects found in one input, and notes about what was skipped."""

    objects: list[KubeObject]
    skipped: list[str]
    # (kind, namespace) pairs a captured List holds in full (docs/completeness.md).
    complete: Completeness = field(default_factory=Completeness)


def iter_input_files(path: Path) -> Iterator[Path]:
    """Yield YAML/JSON files under ``path`` (recursively, sorted, hidden entries skipped)."""
    if path.is_file():
        yield path
        return
    if not path.is_dir():
        raise InputError(f"{path}: no such file or directory")
    for child in sorted(path.rglob("*")):
        rel = child.relative_to(path)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if child.is_file() and child.suffix.lower() in YAML_SUFFIXES:
            yield child


def load_paths(
    paths: Iterable[str], *, default_namespace: str = "default", stdin: Any = None
) -> LoadResult:
    """Load every object from ``paths`` (files, directories, or ``-`` for stdin).

    Raises:
        InputError: a named input is unreadable or malformed, or holds no Kubernetes object.
    """
    objects: list[KubeObject] = []
    skipped: list[str] = []
    complete = Completeness()
    for raw in paths:
        if raw == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            data = stream.read()
            found = load_bytes(
                data, "<stdin>", default_namespace=default_namespace, complete=complete
            )
            if not found:
                raise InputError(
                    "<stdin>: no Kubernetes objects (documents need apiVersion and kind)"
                )
            objects.extend(found)
            continue
        path = Path(raw)
        if not path.exists():
            raise InputError(f"{raw}: no such file or directory")
        explicit_file = path.is_file()
        files = list(iter_input_files(path))
        for file in files:
            found = load_bytes(
                _read(file), str(file), default_namespace=default_namespace, complete=complete
            )
            if not found:
                if explicit_file:
                    raise InputError(
                        f"{file}: no Kubernetes objects (documents need apiVersion and kind)"
                    )
                skipped.append(f"{file}: no Kubernetes objects, skipped")
            objects.extend(found)
        if not files and path.is_dir():
            raise InputError(f"{raw}: directory holds no .yaml, .yml or .json files")
    if not objects:
        raise InputError(
            "no Kubernetes objects found in the input (documents need apiVersion and kind)"
        )
    return LoadResult(objects=objects, skipped=skipped, complete=complete)


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(f"{path}: {size} bytes is larger than the {MAX_FILE_BYTES} limit")
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def load_bytes(
    data: bytes,
    name: str,
    *,
    default_namespace: str = "default",
    complete: Completeness | None = None,
) -> list[KubeObject]:
    """Parse one input's bytes into Kubernetes objects with origins.

    ``complete`` collects where the input is complete: a ``kind: List`` (or ``<Kind>List``)
    document holding items is what ``kubectl get`` prints, so every kind among its items is
    complete in every namespace among its items (see :func:`list_completeness`).

    Raises:
        InputError: the bytes are not UTF-8 text, not YAML/JSON, or hostile.
    """
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"{name}: {len(data)} bytes is larger than the {MAX_FILE_BYTES} limit")
    if b"\x00" in data:
        raise InputError(f"{name}: binary data (NUL bytes), not YAML or JSON")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text (invalid byte at offset {exc.start})") from None
    documents = _parse_json(text, name) if name.endswith(".json") else None
    if documents is None:
        documents = _parse_yaml(text, name)
    # The text stays with the objects so checks find a field's line without re-reading the file
    # (stdin keeps no text: its objects name a Helm template path or no file at all).
    text_kept = None if name.startswith("<") else SourceText(text)
    objects: list[KubeObject] = []
    for line, document, source, item_lines in documents:
        found = list(
            _objects_from_document(
                document, name, line, source, default_namespace, item_lines, text_kept
            )
        )
        if complete is not None and _is_list(document):
            complete.pairs.update(list_completeness(found))
        objects.extend(found)
    return objects


def list_completeness(items: Iterable[KubeObject]) -> set[tuple[str, str]]:
    """(kind, namespace) pairs one captured List holds in full.

    ``kubectl get KINDS [-n NS | -A] -o yaml`` returns every object of each kind asked for in
    each namespace asked for. The List does not say which kinds and namespaces were asked for,
    so this takes the kinds among its items, crossed with the namespaces among its items
    (cluster-scoped kinds: namespace ``""``). A kind with no object in the List, or a namespace
    where none of its kinds had one, stays partial (``scan --complete`` says more).
    """
    items = list(items)
    kinds = {obj.kind for obj in items if obj.kind}
    namespaces = {obj.namespace for obj in items if obj.namespace}
    pairs: set[tuple[str, str]] = set()
    for kind in kinds:
        if kind in CLUSTER_SCOPED_KINDS:
            pairs.add((kind, ""))
        else:
            pairs.update((kind, ns) for ns in namespaces)
    return pairs


def _parse_json(text: str, name: str) -> list[_Document] | None:
    stripped = text.lstrip()
    if not stripped.startswith(("{", "[")):
        return None
    _check_nesting(text, name)
    try:
        return [(1, json.loads(text), None, None)]
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{name}: JSON nested too deeply") from None


def _parse_yaml(text: str, name: str) -> list[_Document]:
    _check_nesting(text, name)
    has_anchors = "&" in text and _ANCHOR.search(text) is not None
    sources = (
        [(m.start(), m.group(1).strip()) for m in _HELM_SOURCE.finditer(text)]
        if "# Source: " in text
        else []
    )
    line_starts: list[int] | None = None
    previous_end = 0  # a "# Source:" comment names the document it precedes, not later ones
    out: list[_Document] = []
    loader = _FastSafeLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            document = loader.construct_document(node)
            if has_anchors:
                _check_expansion(document, name, node.start_mark.line + 1)
            line = node.start_mark.line + 1
            source = None
            if sources:
                if line_starts is None:
                    line_starts = _line_offsets(text)
                start = line_starts[node.start_mark.line]
                source = _helm_source_before(sources, start, previous_end)
                previous_end = line_starts[min(node.end_mark.line, len(line_starts) - 1)]
            item_lines = _list_item_lines(node) if _is_list(document) else None
            out.append((line, document, source, item_lines))
    except yaml.YAMLError as exc:
        raise InputError(f"{name}: {_describe_yaml_error(exc)}") from None
    except RecursionError:
        raise InputError(f"{name}: YAML nested too deeply") from None
    finally:
        loader.dispose()
    return out


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_SPECIAL_KEYS = frozenset({"tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"})
# Plain scalar -> tag; the safe resolver's answer depends on the value alone (no path resolvers).
_PLAIN_TAGS: dict[str, str] = {}
_PLAIN_TAGS_MAX = 200_000


class _FastSafeLoader(yaml.CSafeLoader):
    """``CSafeLoader`` with the same results, about twice as fast on Kubernetes YAML.

    The stock safe loader spends most of its time in Python: resolving every plain scalar's tag
    with regexes, and constructing objects through generic per-node machinery. Here plain
    scalars' tags are memoised by value (manifests repeat the same keys and values
    everywhere), and strings, mappings and sequences are built directly; every other tag
    (ints, bools, timestamps, ``!!binary``, merge keys, unknown tags) goes through the stock
    constructors, so values and errors are unchanged. Aliased nodes stay shared objects, as
    with the stock constructor, so the alias-expansion bound still applies.
    """

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
                if len(_PLAIN_TAGS) >= _PLAIN_TAGS_MAX:
                    _PLAIN_TAGS.clear()
                _PLAIN_TAGS[value] = tag
            return tag
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None  # only path resolvers use it; the safe loader has none

    def ascend_resolver(self) -> None:
        return None

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

    def _build(self, node: yaml.Node) -> Any:
        # One frame per nesting level (no comprehensions): nesting is bounded by
        # _check_nesting, so this stays far from the recursion limit.
        cls = node.__class__
        if cls is yaml.ScalarNode:
            if node.tag == _STR:
                return node.value
            return self.construct_object(node, deep=True)
        key = id(node)
        done = self._built.get(key)
        if done is not None:
            return done
        if key in self._building:
            raise yaml.constructor.ConstructorError(
                None, None, "found a recursive alias", node.start_mark
            )
        if cls is yaml.SequenceNode and node.tag == _SEQ:
            self._building.add(key)
            items: list[Any] = []
            for child in node.value:
                items.append(self._build(child))
            self._building.discard(key)
            self._built[key] = items
            return items
        if cls is yaml.MappingNode and node.tag == _MAP:
            self._building.add(key)
            mapping: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag in _SPECIAL_KEYS:
                    self._building.discard(key)
                    return self.construct_object(node, deep=True)  # merge keys: stock path
                item_key = self._build(key_node)
                try:
                    mapping[item_key] = self._build(value_node)
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
        return self.construct_object(node, deep=True)


def _describe_yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    detail = f"{context}; {problem}" if context else str(problem)
    return f"invalid YAML at {where}{detail}"


def _check_nesting(text: str, name: str) -> None:
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


def _check_expansion(document: Any, name: str, line: int) -> None:
    """Refuse documents whose alias expansion is huge or cyclic (billion laughs).

    Aliased nodes are the same Python object, so each container's expanded size and depth are
    computed once (post-order, memoised by identity): the check costs the document's real size,
    not its expansion, and a bomb is refused in milliseconds.
    """
    if not isinstance(document, (dict, list)):
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
                if isinstance(child, (dict, list)):
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
            if isinstance(child, (dict, list)) and id(child) not in sizes
        )


def _line_offsets(text: str) -> list[int]:
    offsets = [0]
    offsets.extend(m.end() for m in re.finditer("\n", text))
    return offsets


def _helm_source_before(sources: list[tuple[int, str]], offset: int, lower: int = 0) -> str | None:
    chosen = None
    for start, path in sources:
        if start > offset:
            break
        if start >= lower:
            chosen = path
    return chosen


def _is_list(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and isinstance(document.get("kind"), str)
        and document["kind"].endswith("List")
        and isinstance(document.get("items"), list)
    )


def _list_item_lines(node: yaml.Node) -> list[int] | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key, value in node.value:
        if (
            isinstance(key, yaml.ScalarNode)
            and key.value == "items"
            and isinstance(value, yaml.SequenceNode)
        ):
            return [item.start_mark.line + 1 for item in value.value]
    return None


def _objects_from_document(
    document: Any,
    name: str,
    line: int | None,
    source: str | None,
    default_namespace: str,
    item_lines: list[int] | None = None,
    text: SourceText | None = None,
) -> Iterator[KubeObject]:
    if document is None:
        return
    if _is_list(document):
        for index, item in enumerate(document["items"]):
            item_line = item_lines[index] if item_lines and index < len(item_lines) else line
            yield from _objects_from_document(
                item, name, item_line, source, default_namespace, text=text
            )
        return
    if isinstance(document, list) and name.endswith(".json"):
        for item in document:
            yield from _objects_from_document(
                item, name, line, source, default_namespace, text=text
            )
        return
    if not _is_kube_object(document):
        return
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
        document["metadata"] = metadata
    if not metadata.get("namespace") and document["kind"] not in CLUSTER_SCOPED_KINDS:
        metadata["namespace"] = default_namespace
    file = source if source and name == "<stdin>" else name
    fields = None
    if text is not None and line:
        fields = FieldLines(text, line, str(document["kind"]), str(metadata.get("name") or ""))
    yield KubeObject(body=document, origin=Origin(file=file, line=line, fields=fields))


def _is_kube_object(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and isinstance(document.get("apiVersion"), str)
        and isinstance(document.get("kind"), str)
        and bool(document["kind"])
    )
