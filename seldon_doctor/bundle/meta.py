"""The bundle format's names and limits, and what a bundle records besides snapshots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seldon_doctor import __version__

FORMAT = "seldon-doctor-snapshot"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
TARBALL_SUFFIXES = (".tar.gz", ".tgz")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

JSONDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ClusterMeta:
    """What a live scan learnt about one cluster besides its objects (all optional)."""

    context: str | None = None
    server_version: str | None = None  # e.g. "v1.30.2"
    # Served versions per Seldon API group or CRD name: mlops.seldon.io -> ["v1alpha1"].
    crd_versions: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # Kinds the scan listed (counts in the manifest include kinds that had no objects).
    kinds_read: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class BundleMeta:
    """What goes into ``manifest.json`` besides the snapshot itself."""

    tool_version: str = __version__
    created: str | None = None  # ISO 8601, given by the caller (bundles stay reproducible)
    clusters: Mapping[str, ClusterMeta] = field(default_factory=dict)


def meta_from_live(clusters: Mapping[str, Any], *, created: str | None = None) -> BundleMeta:
    """BundleMeta from a live scan's ``LiveScan.clusters`` (``sources.live.ClusterInfo``:
    ``version``, ``served`` group -> versions, ``counts`` kind -> objects read)."""
    return BundleMeta(
        created=created,
        clusters={
            name: ClusterMeta(
                context=name,
                server_version=getattr(info, "version", None),
                crd_versions={k: list(v) for k, v in (getattr(info, "served", None) or {}).items()},
                kinds_read=tuple(sorted(getattr(info, "counts", None) or ())),
            )
            for name, info in clusters.items()
        },
    )


# ---------------------------------------------------------------------------- writing


def is_tarball(path: str | Path) -> bool:
    """Whether ``path`` names a tarball bundle (``.tar.gz`` / ``.tgz``) rather than a folder."""
    return str(path).lower().endswith(TARBALL_SUFFIXES)
