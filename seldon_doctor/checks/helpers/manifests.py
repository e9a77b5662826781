"""What several input checks (SD003, SD004) share.

Manifest checks: would the API server (and Seldon's controllers) accept what was written?

SD003 validates custom resources against the OpenAPI v3 schema of their CRD, as the API
server does on create/update; SD004 checks names against the rules of the objects they end up
naming (DNS labels for Services and pod hostnames, the scheduler's Pipeline name rules).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seldon_doctor.domain.schema import PathSegment
from seldon_doctor.findings import Location
from seldon_doctor.graph.model import Node


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def field_location(node: Node, path: tuple[PathSegment, ...]) -> Location | None:
    """The file and line of ``path`` in the node's manifest (the object's line as a fallback:
    live reads and bundles keep no field lines)."""
    origin = node.origin
    if origin is None or not origin.file:
        return None
    line = origin.field_line(path)
    return Location(origin.file, line if line is not None else origin.line)
