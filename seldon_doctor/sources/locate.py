"""Find the line of a field inside a manifest that was already read (for field-level findings).

The file source keeps only the line where each object starts. When a check needs the line of
one field (``spec.candidate``), the file is composed again (``yaml.CSafeLoader`` compose: nodes
with marks, no construction), once per file, and the path is walked from the object's node.

Only files the source already accepted are re-read, so the hostile-input bounds of
``files.py`` have been applied to them. Anything that does not line up (the file changed, the
origin is a Helm ``# Source:`` template path, stdin) answers ``None``: callers then fall back
to the object's own line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from stat import S_ISREG

import yaml

from seldon_doctor.errors import InputError
from seldon_doctor.safeio import MAX_MANIFEST_BYTES, read_text_bounded
from seldon_doctor.safeyaml import compose_all
from seldon_doctor.sources.files import was_read

PathSegment = str | int

# Composed documents per file: (path, mtime_ns, size) -> {start line: node}
_CACHE: dict[tuple[str, int, int], dict[int, yaml.Node] | None] = {}
_CACHE_LIMIT = 256


def format_path(path: Sequence[PathSegment]) -> str:
    """``("spec", "candidates", 0, "weight")`` -> ``spec.candidates[0].weight``."""
    out = ""
    for segment in path:
        if isinstance(segment, int):
            out += f"[{segment}]"
        else:
            out += f".{segment}" if out else segment
    return out


def _starts(file: str) -> dict[int, yaml.Node] | None:
    # A path that came from input (a bundle's recorded origin, a Helm "# Source:" comment) is
    # never opened: only files the file source itself read, and only regular files (not a
    # FIFO or a device that would block or never end).
    if not was_read(file):
        return None
    try:
        stat = os.stat(file)
    except OSError:
        return None
    if not S_ISREG(stat.st_mode):
        return None
    key = (file, stat.st_mtime_ns, stat.st_size)
    if key in _CACHE:
        return _CACHE[key]
    starts: dict[int, yaml.Node] | None = {}
    try:
        # Bounded like the first read; nesting bounded by the one YAML loader.
        text = read_text_bounded(file, MAX_MANIFEST_BYTES, file)
        for node in compose_all(text, file):
            assert starts is not None
            starts[node.start_mark.line + 1] = node
            items = _child(node, "items")
            if isinstance(items, yaml.SequenceNode):  # kind: List
                for item in items.value:
                    starts.setdefault(item.start_mark.line + 1, item)
    except InputError:
        starts = None
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[key] = starts
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
    file: str | None,
    start_line: int | None,
    path: Sequence[PathSegment],
    *,
    kind: str | None = None,
    name: str | None = None,
) -> int | None:
    """Line (1-based) of ``path`` in the object that starts at ``start_line`` of ``file``.

    Walks as deep as the path exists: a missing field answers the line of its nearest present
    parent. ``kind``/``name``, when given, must match the object found, so a stale or unrelated
    file never yields a wrong line. Returns ``None`` when the object cannot be found.
    """
    if not file or not start_line or file.startswith("<"):
        return None
    starts = _starts(file)
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


def clear_cache() -> None:
    """Forget composed files (tests that rewrite a file in place within one mtime tick)."""
    _CACHE.clear()
