"""Snapshot bundles: what a live scan read, written to disk and read back for offline scans.

``seldon-doctor snapshot -o PATH`` writes a bundle with :func:`write_bundle`; ``scan --snapshot
PATH`` reads it with :func:`read_bundle` and gives the same findings as the live scan, byte for
byte. A bundle is a directory, or the same tree as a gzip tarball when PATH ends in ``.tar.gz``
or ``.tgz`` (deterministic: the same snapshot gives the same bytes). Layout (paths are POSIX,
``<cluster>`` is a cluster name made safe for a path; the manifest maps it back)::

    manifest.json                               format, format_version, tool, created, live,
                                                clusters (context, server version, served
                                                Seldon CRD versions, kinds read with counts),
                                                the file lists below, gaps, warnings, logs
    objects/<cluster>/<Kind>.json               a kubectl ``List`` of the objects of one kind,
                                                sorted by namespace/name, plus ``origins``
                                                (cluster, file, line, read order) item by item
    envoy/<cluster>/<namespace>/<pod>.config_dump.json   an Envoy /config_dump as read
    envoy/<cluster>/<namespace>/<pod>.meta.json          namespace, pod, /ready, counters, origin
    schedulers/<cluster>/<namespace>/<n>.json   a scheduler's state (``SchedulerState.to_dict()``)
    xds/<cluster>/<namespace>/<n>.json          what its xDS served (``XdsSnapshot.to_dict()``)
    probes.json                                 inference probe observations
    logs/<cluster>/<namespace>/<pod>/<container>.log     log lines, one per line

Secrets are redacted before anything is written (a bundle gets attached to tickets), by the one
redactor, :mod:`seldon_doctor.redact`: objects go through :func:`~seldon_doctor.redact.
redact_object` (Secrets keep only ``apiVersion``, ``kind``, ``type`` and metadata; the
``kubectl.kubernetes.io/last-applied-configuration`` annotation is dropped; annotations and
specs lose credentials), Envoy dumps through :func:`~seldon_doctor.redact.redact_value` (header
values, URLs), log files through :func:`~seldon_doctor.redact.redact_lines` (what log evidence
prints, so findings read the same, plus multi-line PEM keys). Scheduler and xDS observations
are written as read. ``docs/snapshot-format.md`` documents the format for people.

Modules: :mod:`.meta` (format names, :class:`BundleMeta`), :mod:`.write`, :mod:`.read`, and
:mod:`.tar` (the self-parsed tarball reader, with the size limits).
"""

from seldon_doctor.bundle.meta import (
    FORMAT,
    FORMAT_VERSION,
    LAST_APPLIED,
    MANIFEST,
    TARBALL_SUFFIXES,
    BundleMeta,
    ClusterMeta,
    is_tarball,
    meta_from_live,
)
from seldon_doctor.bundle.read import (
    MAX_OBJECTS,
    MAX_SECTIONS,
    read_bundle,
    read_bundle_clusters,
    read_bundle_with_meta,
)
from seldon_doctor.bundle.tar import MAX_MEMBER_BYTES, MAX_MEMBERS, MAX_TOTAL_BYTES
from seldon_doctor.bundle.write import bundle_files, write_bundle
from seldon_doctor.redact import redact_object

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "LAST_APPLIED",
    "MANIFEST",
    "MAX_MEMBERS",
    "MAX_MEMBER_BYTES",
    "MAX_OBJECTS",
    "MAX_SECTIONS",
    "MAX_TOTAL_BYTES",
    "TARBALL_SUFFIXES",
    "BundleMeta",
    "ClusterMeta",
    "bundle_files",
    "is_tarball",
    "meta_from_live",
    "read_bundle",
    "read_bundle_clusters",
    "read_bundle_with_meta",
    "redact_object",
    "write_bundle",
]
