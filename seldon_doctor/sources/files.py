"""Read Kubernetes objects from YAML/JSON files, directories or stdin, keeping file and line.

Reads what ``kubectl get -o yaml``, ``helm template`` and ``kustomize build`` print:
multi-document YAML, JSON, ``kind: List`` wrappers, ``# Source:`` comments. Hostile input is
refused before it can hurt: YAML goes through :mod:`seldon_doctor.safeyaml` (nesting and alias
expansion bounded, the one loader for every YAML the tool reads) and every read through
:func:`seldon_doctor.safeio.read_bounded`.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from seldon_doctor.errors import InputError
from seldon_doctor.kinds import KINDS
from seldon_doctor.safeio import (
    MAX_MANIFEST_BYTES,
    json_loads,
    json_problem,
    read_bounded,
    too_large,
)
from seldon_doctor.safeyaml import (  # noqa: F401  (re-exported: tests and callers use them)
    MAX_EXPANDED_NODES,
    MAX_NESTING,
    check_nesting,
    iter_documents,
)
from seldon_doctor.snapshot import Completeness, KubeObject, Origin
from seldon_doctor.sources.locate import FieldLines, SourceText

MAX_FILE_BYTES = MAX_MANIFEST_BYTES
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
    paths: Iterable[str],
    *,
    default_namespace: str = "default",
    stdin: Any = None,
    exclude: Collection[Path] = (),
) -> LoadResult:
    """Load every object from ``paths`` (files, directories, or ``-`` for stdin).

    Files in ``exclude`` (resolved paths: the Envoy dumps given with --envoy-config-dump) are
    passed over silently: they were given as what they are, not as manifests.

    Raises:
        InputError: a named input is unreadable or malformed, or holds no Kubernetes object.
    """
    objects: list[KubeObject] = []
    skipped: list[str] = []
    complete = Completeness()
    for raw in paths:
        if raw == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            data = read_bounded(stream, MAX_FILE_BYTES, "<stdin>")
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
            if exclude and file.resolve() in exclude:
                continue
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
    data = read_bounded(path, MAX_FILE_BYTES, str(path))
    _READ_FILES.add(str(path))
    return data


# Paths this source read as input (what -f/--crds named). Only these may be opened again
# (sources.locate finds a field's line); a path that came from input data never is.
_READ_FILES: set[str] = set()


def was_read(path: str) -> bool:
    """Whether ``path`` is a file the user named that this source read (see ``_READ_FILES``)."""
    return path in _READ_FILES


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
        raise too_large(name, MAX_FILE_BYTES)
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
    check_nesting(text, name)
    try:
        return [(1, json_loads(text), None, None)]
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:  # 5000-digit integers, Infinity
        raise InputError(f"{name}: {json_problem(exc)}") from None


def _parse_yaml(text: str, name: str) -> list[_Document]:
    sources = (
        [(m.start(), m.group(1).strip()) for m in _HELM_SOURCE.finditer(text)]
        if "# Source: " in text
        else []
    )
    line_starts: list[int] | None = None
    previous_end = 0  # a "# Source:" comment names the document it precedes, not later ones
    out: list[_Document] = []
    for node, document in iter_documents(text, name):
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
    return out


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
