"""Find the line of a field inside a manifest that was already read (for field-level findings).

The file source keeps the line where each object starts and, with each object's origin, a
``FieldLines`` over the text it read (``Origin.fields``). When a check needs the line of one
field (``spec.candidate``), that text is composed (``yaml.CSafeLoader`` compose: nodes with
marks, no construction), once per input and only on demand, and the path is walked from the
object's node. The file is never opened again, so findings depend on the snapshot, not on
what the disk holds by the time a check runs.

Anything that does not line up (an object that is not at the recorded line, a different kind
or name) answers ``None``: callers then fall back to the object's own line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import yaml

from seldon_doctor.domain.schema import PathSegment


class SourceText:
    """The text of one input, shared by the ``FieldLines`` of every object read from it."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


# Composed documents per input: {start line: node}; bounded, composed only when asked.
_CACHE: dict[SourceText, dict[int, yaml.Node] | None] = {}
_CACHE_LIMIT = 256


def _starts(source: SourceText) -> dict[int, yaml.Node] | None:
    if source in _CACHE:
        return _CACHE[source]
    starts: dict[int, yaml.Node] | None = {}
    try:
        loader = yaml.CSafeLoader(source.text)
        try:
            while loader.check_node():
                node = loader.get_node()
                if node is None:
                    continue
                assert starts is not None
                starts[node.start_mark.line + 1] = node
                items = _child(node, "items")
                if isinstance(items, yaml.SequenceNode):  # kind: List
                    for item in items.value:
                        starts.setdefault(item.start_mark.line + 1, item)
        finally:
            loader.dispose()
    except (yaml.YAMLError, RecursionError):
        starts = None
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[source] = starts
    return starts


def _child(node: yaml.Node, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node if isinstance(value_node, yaml.Node) else None
    return None


def _scalar(node: yaml.Node | None) -> str | None:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def locate(
    source: SourceText | None,
    start_line: int | None,
    path: Sequence[PathSegment],
    *,
    kind: str | None = None,
    name: str | None = None,
) -> int | None:
    """Line (1-based) of ``path`` in the object that starts at ``start_line`` of ``source``.

    Walks as deep as the path exists: a missing field answers the line of its nearest present
    parent. ``kind``/``name``, when given, must match the object found, so an unrelated
    document never yields a wrong line. Returns ``None`` when the object cannot be found.
    """
    if source is None or not start_line:
        return None
    starts = _starts(source)
    if not starts:
        return None
    node = starts.get(start_line)
    if node is None:
        return None
    if kind is not None and _scalar(_child(node, "kind")) != kind:
        return None
    if name is not None:
        metadata = _child(node, "metadata")
        if metadata is None or _scalar(_child(metadata, "name")) != name:
            return None
    line = node.start_mark.line + 1
    for segment in path:
        if isinstance(segment, int):
            if not isinstance(node, yaml.SequenceNode) or not 0 <= segment < len(node.value):
                break
            node = node.value[segment]
            line = node.start_mark.line + 1
            continue
        if not isinstance(node, yaml.MappingNode):
            break
        found = None
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == segment:
                found = (key_node, value_node)
                break
        if found is None:
            break
        line = found[0].start_mark.line + 1
        node = found[1]
    return line


@dataclass(frozen=True, slots=True)
class FieldLines:
    """``Origin.fields`` of one object read from a file: field path -> line, on demand."""

    source: SourceText
    line: int
    kind: str
    name: str

    def __call__(self, path: Sequence[PathSegment]) -> int | None:
        return locate(self.source, self.line, path, kind=self.kind, name=self.name)


def clear_cache() -> None:
    """Forget composed inputs."""
    _CACHE.clear()
