"""Custom resources a live scan may trust as typed: those whose CRD, read in the same scan, has
a schema that already guarantees the shape the graph walks (graph/shape.py:
schema_guarantees). The API server validated them against it on every create and update, so,
as for built-in kinds, the walk of their fields (11,000 objects of a 1,000-namespace scan with
the upstream CRDs) would find nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from seldon_doctor.snapshot import KubeObject, Origin


def mark_typed(
    objects: list[KubeObject],
    custom: Sequence[tuple[str, str, int, int]],
    crds: Sequence[KubeObject],
    cluster: str,
) -> None:
    """Give a typed origin to each slice ``objects[first:end]`` of ``custom`` (kind,
    apiVersion, first, end) whose CRD schema among ``crds`` guarantees the kind's shape."""
    from seldon_doctor.graph.shape import schema_guarantees

    schemas: dict[tuple[str, str], Any] = {}  # (apiVersion, kind) -> openAPIV3Schema
    for crd in crds:
        spec = crd.spec
        names, versions = spec.get("names"), spec.get("versions")
        group = spec.get("group")
        if not isinstance(names, dict) or not isinstance(versions, list):
            continue
        for version in versions:
            holder = version.get("schema") if isinstance(version, dict) else None
            if isinstance(holder, dict):
                key = (f"{group}/{version.get('name')}", str(names.get("kind")))
                schemas[key] = holder.get("openAPIV3Schema")
    typed = Origin(cluster=cluster, typed=True)
    for kind, api_version, first, end in custom:
        if schema_guarantees(kind, schemas.get((api_version, kind))):
            for index in range(first, end):
                objects[index].origin = typed
