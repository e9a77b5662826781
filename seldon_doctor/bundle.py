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
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import re
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from seldon_doctor import __version__
from seldon_doctor.atomic import atomic_writer
from seldon_doctor.errors import InputError
from seldon_doctor.redact import REDACTED, redact_lines, redact_object, redact_value
from seldon_doctor.safeio import json_loads, json_problem, read_bounded
from seldon_doctor.snapshot import (
    EnvoyObservation,
    Gap,
    KubeObject,
    Origin,
    ProbeObservation,
    SchedulerObservation,
    Snapshot,
    XdsObservation,
)

FORMAT = "seldon-doctor-snapshot"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
TARBALL_SUFFIXES = (".tar.gz", ".tgz")
# Bounds on what a bundle may hold when read: a hostile tarball must not fill memory.
MAX_TOTAL_BYTES = 2 * 1024**3
MAX_MEMBER_BYTES = 512 * 1024**2
MAX_MEMBERS = 100_000
# Bounds on what a bundle's manifest may make the reader build (a 23 KB manifest named 2,000
# clusters; one member named 10,000 times was parsed 10,000 times).
MAX_SECTIONS = 256
MAX_OBJECTS = 500_000
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_NO_CLUSTER = "_local"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

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


def write_bundle(snapshot: Snapshots, path: str | Path, *, meta: BundleMeta) -> Path:
    """Write ``snapshot`` (redacted) as a bundle at ``path``; return the path written.

    ``snapshot`` is one Snapshot, or one per cluster name for a scan of several contexts
    (``LiveScan.snapshots``; read them back with :func:`read_bundle_clusters`).
    A path ending in ``.tar.gz``/``.tgz`` gets a deterministic gzip tarball (an existing file is
    replaced); anything else a directory, which must not exist yet or be empty.
    """
    target = Path(path)
    files = bundle_files(snapshot, meta)
    if is_tarball(target):
        if target.is_dir():
            raise InputError(f"{target}: is a directory; a tarball bundle needs a file path")
        _write_tarball(files, target)
    else:
        _write_directory(files, target)
    return target


Snapshots = Snapshot | Mapping[str, Snapshot]


def bundle_files(snapshots: Snapshots, meta: BundleMeta) -> dict[str, bytes]:
    """Every file of the bundle: POSIX relative path -> bytes (redacted, deterministic).

    ``snapshots`` is one Snapshot or, for a scan of several contexts, one per cluster name.
    """
    files: dict[str, bytes] = {}
    names = _Names()
    sections = _sections(snapshots)
    clusters = _cluster_names(sections, meta)
    dirs = _cluster_dirs(clusters)
    written = [_write_section(snapshot, name, files, names, dirs) for name, snapshot in sections]
    cluster_info: JSONDict = {}
    for name in clusters:
        info = meta.clusters.get(name) if name is not None else None
        kinds = dict.fromkeys(info.kinds_read if info else (), 0)
        for section in written:
            for entry in section["objects"]:
                if entry["cluster"] == name:
                    kinds[entry["kind"]] = kinds.get(entry["kind"], 0) + entry["count"]
        cluster_info[name if name is not None else ""] = {
            "dir": dirs[name],
            "context": info.context if info else None,
            "server_version": info.server_version if info else None,
            "crd_versions": ({k: list(v) for k, v in info.crd_versions.items()} if info else {}),
            "kinds": kinds,
        }
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tool": {"name": "seldon-doctor", "version": meta.tool_version},
        "created": meta.created,
        "clusters": cluster_info,
        "snapshots": written,
        "redaction": (
            "Secret data, last-applied-configuration annotations, credential-like env values, "
            "args and log text replaced by " + REDACTED
        ),
    }
    files[MANIFEST] = _dump(manifest, pretty=True)
    return files


def _sections(snapshots: Snapshots) -> list[tuple[str | None, Snapshot]]:
    """(cluster name, snapshot) pairs; one Snapshot is named after its objects' one cluster."""
    if isinstance(snapshots, Snapshot):
        named = {o.origin.cluster for o in snapshots.objects}
        name = next(iter(named)) if len(named) == 1 else None
        return [(name, snapshots)]
    return sorted(snapshots.items())


def _write_section(
    snapshot: Snapshot,
    section: str | None,
    files: dict[str, bytes],
    names: _Names,
    dirs: dict[str | None, str],
) -> JSONDict:
    """Write one snapshot's files; return its manifest entry."""
    home = dirs[section]

    def dir_of(cluster: str | None) -> str:
        # Live Envoy/scheduler origins name a pod, not a cluster: they go with the snapshot's.
        return dirs[cluster] if cluster is not None and cluster in dirs else home

    # objects/<cluster>/<Kind>.json
    grouped: dict[tuple[str | None, str], list[tuple[int, KubeObject]]] = {}
    for order, obj in enumerate(snapshot.objects):
        grouped.setdefault((obj.origin.cluster, obj.kind), []).append((order, obj))
    object_entries = []
    for (cluster, kind), items in sorted(grouped.items(), key=lambda kv: _none_first(kv[0])):
        items.sort(key=lambda it: (it[1].namespace, it[1].name, it[0]))
        rel = names.unique(f"objects/{dir_of(cluster)}/{_safe(kind or 'Unknown')}", ".json")
        rel += ".json"
        files[rel] = _dump_list(
            [redact_object(obj.body) for _, obj in items],
            [{"order": order, **_origin_dict(obj.origin)} for order, obj in items],
        )
        object_entries.append({"path": rel, "cluster": cluster, "kind": kind, "count": len(items)})

    # envoy/<cluster>/<namespace>/<pod>.config_dump.json + .meta.json
    envoy_entries = []
    for i, envoy in enumerate(snapshot.envoys):
        stem = names.unique(
            f"envoy/{dir_of(envoy.origin.cluster)}/{_safe(envoy.namespace)}/"
            f"{_safe(envoy.pod) if envoy.pod else str(i)}",
            ".config_dump.json",
        )
        dump_rel, meta_rel = f"{stem}.config_dump.json", f"{stem}.meta.json"
        files[dump_rel] = _dump(redact_value(envoy.raw))
        files[meta_rel] = _dump(
            {
                "namespace": envoy.namespace,
                "pod": envoy.pod,
                "ready": envoy.ready,
                "counters": envoy.counters,
                "origin": _origin_dict(envoy.origin),
            },
            pretty=True,
        )
        envoy_entries.append({"config_dump": dump_rel, "meta": meta_rel})

    # schedulers/... and xds/...
    observed: dict[str, list[str]] = {"schedulers": [], "xds": []}
    pairs: list[tuple[str, Sequence[SchedulerObservation | XdsObservation]]] = [
        ("schedulers", snapshot.schedulers),
        ("xds", snapshot.xds),
    ]
    for folder, observations in pairs:
        for i, obs in enumerate(observations):
            inner = obs.state if isinstance(obs, SchedulerObservation) else obs.snapshot
            stem = f"{folder}/{dir_of(obs.origin.cluster)}/{_safe(obs.namespace)}/{i}"
            rel = names.unique(stem, ".json") + ".json"
            files[rel] = _dump(
                {
                    "namespace": obs.namespace,
                    "target": obs.target,
                    "origin": _origin_dict(obs.origin),
                    "state": inner.to_dict(),
                }
            )
            observed[folder].append(rel)

    # probes.json
    probes = None
    if snapshot.probes:
        from seldon_doctor.snapshot import observation_dict

        probes = names.unique("probes", ".json") + ".json"
        files[probes] = _dump(
            [
                {"observation": observation_dict(p), "origin": _origin_dict(p.origin)}
                for p in snapshot.probes
            ]
        )

    # logs/<cluster>/<namespace>/<pod>/<container>.log
    log_entries = []
    for key, lines in snapshot.logs.items():
        parts = [p for p in key.split("/") if p]
        where = "/".join(_safe(p) for p in parts) if parts else "log"
        rel = names.unique(f"logs/{home}/{where}", ".log") + ".log"
        files[rel] = "".join(line + "\n" for line in redact_lines(lines)).encode("utf-8")
        log_entries.append({"key": key, "path": rel, "lines": len(lines)})

    return {
        "cluster": section,
        "live": snapshot.live,
        "listed_namespaces": (
            sorted(snapshot.listed_namespaces) if snapshot.listed_namespaces is not None else None
        ),
        "captured_at": getattr(snapshot, "captured_at", None),
        "objects": object_entries,
        "envoys": envoy_entries,
        "schedulers": observed["schedulers"],
        "xds": observed["xds"],
        "probes": probes,
        "logs": log_entries,
        "gaps": [
            {"what": g.what, "reason": g.reason, "namespace": g.namespace} for g in snapshot.gaps
        ],
        "warnings": list(snapshot.warnings),
    }


def _cluster_names(
    sections: list[tuple[str | None, Snapshot]], meta: BundleMeta
) -> list[str | None]:
    """Clusters of the bundle: named ones sorted, ``None`` first when something has none."""
    seen: set[str | None] = set(meta.clusters)
    for name, snapshot in sections:
        seen.add(name)
        seen.update(o.origin.cluster for o in snapshot.objects)
    named = sorted(c for c in seen if c is not None)
    if None in seen or not named:
        return [None, *named]
    return [*named]


def _cluster_dirs(clusters: list[str | None]) -> dict[str | None, str]:
    dirs: dict[str | None, str] = {}
    used: set[str] = set()
    for name in clusters:
        base = _NO_CLUSTER if name is None else _safe(name)
        candidate, n = base, 1
        while candidate in used:
            n += 1
            candidate = f"{base}-{n}"
        used.add(candidate)
        dirs[name] = candidate
    if None not in dirs:
        dirs[None] = dirs[clusters[0]] if len(clusters) == 1 else _NO_CLUSTER
    return dirs


def _none_first(key: tuple[str | None, str]) -> tuple[str, str, str]:
    return ("0" if key[0] is None else "1", key[0] or "", key[1])


class _Names:
    """Unique relative paths: a second ``x.json`` becomes ``x-2.json``."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def unique(self, stem: str, suffix: str) -> str:
        """A stem not used yet with ``suffix`` (returned without the suffix)."""
        candidate, n = stem, 1
        while candidate + suffix in self.used:
            n += 1
            candidate = f"{stem}-{n}"
        self.used.add(candidate + suffix)
        return candidate


def _safe(part: str) -> str:
    """One path component: unsafe characters become ``_``; never empty, ``.`` or ``..``."""
    cleaned = _UNSAFE.sub("_", part).strip(".") or "_"
    return cleaned[:200]


def _origin_dict(origin: Origin) -> JSONDict:
    out: JSONDict = {}
    if origin.cluster is not None:
        out["cluster"] = origin.cluster
    if origin.file is not None:
        out["file"] = origin.file
    if origin.line is not None:
        out["line"] = origin.line
    return out


def _json_default(value: Any) -> Any:
    """YAML gives dates and bytes; an API server never does. Keep them readable."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode("ascii")
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"cannot write {type(value).__name__} to a snapshot bundle")


def _dump(value: Any, *, pretty: bool = False) -> bytes:
    """JSON text: ``pretty`` (indented, sorted keys) for the small files people read first,
    else on one line in the object's own key order (the C encoder; large dumps stay fast)."""
    text = json.dumps(
        value,
        indent=2 if pretty else None,
        ensure_ascii=False,
        sort_keys=pretty,
        default=_json_default,
    )
    return (text + "\n").encode("utf-8")


def _dump_list(items: Sequence[Any], origins: Sequence[Any]) -> bytes:
    """A kubectl ``List`` with one item per line (grep finds an object, jq reads the file)."""
    lines = ['{"apiVersion": "v1", "kind": "List", "items": [']
    lines.append(",\n".join(_dump(item).decode("utf-8").rstrip("\n") for item in items))
    lines.append('], "origins": [')
    lines.append(",\n".join(_dump(o).decode("utf-8").rstrip("\n") for o in origins))
    lines.append("]}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _write_tarball(files: Mapping[str, bytes], target: Path) -> None:
    # seldon_doctor.atomic: temp file + os.replace, never through a symlink (as -o FMT=PATH).
    with (
        atomic_writer(target, make_parents=True) as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name in sorted(files):
            data = files[name]
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.type = tarfile.REGTYPE
            tar.addfile(info, io.BytesIO(data))


def _write_directory(files: Mapping[str, bytes], target: Path) -> None:
    if target.is_symlink():
        raise InputError(
            f"{target}: is a symlink; refusing to write through it (give the real path)"
        )
    if target.exists() and not target.is_dir():
        raise InputError(f"{target}: exists and is not a directory")
    if target.is_dir() and any(target.iterdir()):
        raise InputError(
            f"{target}: directory is not empty; give a new or empty directory, "
            "or a path ending in .tar.gz"
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as exc:
        raise InputError(f"{target}: cannot write ({exc.strerror or exc})") from None
    try:
        for name in sorted(files):
            dest = tmp.joinpath(*PurePosixPath(name).parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(files[name])
        if target.is_dir():
            target.rmdir()
        os.replace(tmp, target)
    except OSError as exc:
        raise InputError(f"{target}: cannot write ({exc.strerror or exc})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------- reading


def read_bundle(path: str | Path) -> Snapshot:
    """The Snapshot a bundle holds (directory or tarball); any problem is one-line InputError.

    A bundle of several clusters is refused here: read it with :func:`read_bundle_clusters`.
    """
    snapshots, _ = read_bundle_with_meta(path)
    if len(snapshots) != 1:
        raise InputError(
            f"{path}: the bundle holds {len(snapshots)} clusters "
            f"({', '.join(sorted(snapshots))}); read it with read_bundle_clusters"
        )
    return next(iter(snapshots.values()))


def read_bundle_clusters(path: str | Path) -> dict[str, Snapshot]:
    """Every snapshot of a bundle by cluster name (``""`` for one that names no cluster)."""
    return read_bundle_with_meta(path)[0]


def read_bundle_with_meta(path: str | Path) -> tuple[dict[str, Snapshot], BundleMeta]:
    """The snapshots (by cluster name) and the :class:`BundleMeta` of a bundle."""
    source = Path(path)
    files: _DirFiles | _TarFiles
    if source.is_dir():
        files = _DirFiles(source)
    elif source.is_file():
        files = _read_tarball(source)
    else:
        raise InputError(f"{source}: no such snapshot bundle (a directory or .tar.gz)")
    return _Reader(str(source), files.get).snapshots()


class _DirFiles:
    """Files of a bundle directory, read on demand, inside the directory and within bounds."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.total = 0
        try:
            if not (root / MANIFEST).is_file():
                subdirs = [p for p in root.iterdir() if p.is_dir()]
                if len(subdirs) == 1 and (subdirs[0] / MANIFEST).is_file():
                    self.root = subdirs[0]
            self.real = self.root.resolve()
        except OSError as exc:
            raise InputError(f"{root}: cannot read ({exc.strerror or exc})") from None

    def get(self, rel: str) -> bytes | None:
        path = self.root.joinpath(*_check_rel(rel, str(self.root)).parts)
        if path.is_symlink() or (path.exists() and not path.resolve().is_relative_to(self.real)):
            raise InputError(f"{self.root}: {rel} is a symbolic link; bundles hold only files")
        if not path.is_file():
            return None
        size = path.stat().st_size
        self.total += size
        _check_size(str(self.root), rel, size, self.total)
        return read_bounded(path, MAX_MEMBER_BYTES, str(path))


class _TarFiles:
    """Members of a bundle tarball, read and checked up front (see :func:`_read_tarball`)."""

    def __init__(self, where: str, members: dict[str, bytes]) -> None:
        self.where = where
        self.members = members
        if MANIFEST not in members:
            tops = {name.split("/", 1)[0] for name in members}
            if len(tops) == 1:
                top = next(iter(tops)) + "/"
                self.members = {k[len(top) :]: v for k, v in members.items() if k.startswith(top)}

    def get(self, rel: str) -> bytes | None:
        return self.members.get(str(_check_rel(rel, self.where)))


def _read_tarball(source: Path) -> _TarFiles:
    """Every member of a bundle tarball, checked as it is read.

    The tar headers are parsed here, not by :mod:`tarfile`: tarfile reads a PAX or GNU long-name
    header's data whole before any limit applies (a 3 GiB header cost 3.2 GB), and on CPython
    before 3.11.10/3.12.6 its PAX parser takes quadratic time on a long header value
    (CVE-2024-6232). Only what a bundle holds is accepted: ustar regular files and directories,
    PAX headers ('x', 'g') of at most MAX_TAR_HEADER_BYTES and GNU long names ('L') of at most
    MAX_TAR_NAME_BYTES; links and special files are refused.
    """
    where = str(source)
    members: dict[str, bytes] = {}
    try:
        with open(source, "rb") as raw:
            magic = raw.read(2)
            raw.seek(0)
            stream: Any = gzip.GzipFile(fileobj=raw, mode="rb") if magic == b"\x1f\x8b" else raw
            total = 0
            for count, (name, kind, size) in enumerate(_tar_headers(stream, where), 1):
                if count > MAX_MEMBERS:
                    raise InputError(f"{where}: more than {MAX_MEMBERS} members; not a bundle")
                while name.startswith("./"):
                    name = name[2:]
                if kind == "dir" or name in ("", "."):
                    _check_rel(name.rstrip("/") or ".", where, allow_dot=True)
                    _skip(stream, size, where, name)
                    continue
                rel = str(_check_rel(name, where))
                if kind != "file":
                    raise InputError(
                        f"{where}: member {name} is a {kind}; bundles hold only regular files"
                    )
                total += size
                _check_size(where, name, size, total)
                if rel in members:
                    raise InputError(f"{where}: member {name} appears twice")
                data = stream.read(size)
                if len(data) != size:
                    raise InputError(f"{where}: truncated tarball (member {name})")
                _skip(stream, 0, where, name, pad=size)
                members[rel] = data
            _drain(stream, where, total)
    except InputError:
        raise
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputError(f"{where}: not a readable snapshot bundle ({_one_line(exc)})") from None
    except OSError as exc:
        raise InputError(f"{where}: cannot read ({exc.strerror or _one_line(exc)})") from None
    return _TarFiles(where, members)


_BLOCK = 512
# Bounds on tar headers, applied before their data is read (see _read_tarball).
MAX_TAR_HEADER_BYTES = 64 * 1024  # one PAX extended header ('x' or 'g')
MAX_TAR_NAME_BYTES = 4096  # one GNU long name ('L'); PATH_MAX on Linux
_TAR_KINDS = {b"0": "file", b"\0": "file", b"7": "file", b"5": "dir"}
_TAR_REFUSED = {b"1": "link", b"2": "link", b"K": "link", b"3": "special file"}


def _tar_headers(stream: Any, where: str) -> Iterator[tuple[str, str, int]]:
    """(name, "file"/"dir", size) of each member; the caller reads or skips its data."""
    pax_name: str | None = None
    pax_size: int | None = None
    long_name: str | None = None
    extended = 0
    while True:
        header = stream.read(_BLOCK)
        if len(header) < _BLOCK:
            if not header:
                raise InputError(f"{where}: truncated tarball (no end-of-archive marker)")
            raise InputError(f"{where}: truncated tarball (a header is cut short)")
        if header == bytes(_BLOCK):
            return
        _check_checksum(header, where)
        typeflag = header[156:157]
        size = _octal(header[124:136], where, "size")
        if typeflag in (b"x", b"g", b"L"):
            extended += 1
            if extended > 3 * MAX_MEMBERS:
                raise InputError(f"{where}: more than {3 * MAX_MEMBERS} extended tar headers")
            limit = MAX_TAR_NAME_BYTES if typeflag == b"L" else MAX_TAR_HEADER_BYTES
            if size > limit:
                what = "GNU long-name" if typeflag == b"L" else "PAX"
                raise InputError(
                    f"{where}: a {what} tar header of {size} bytes, over the {limit}-byte "
                    "limit for bundles; refused"
                )
            data = stream.read(size)
            if len(data) != size:
                raise InputError(f"{where}: truncated tarball (an extended header)")
            _skip(stream, 0, where, "header", pad=size)
            if typeflag == b"L":
                long_name = _decode_name(data.split(b"\0", 1)[0], where)
            elif typeflag == b"x":
                records = _pax_records(data, where)
                pax_name = records.get("path", pax_name)
                if "size" in records:
                    pax_size = _decimal(records["size"], where)
            continue
        if typeflag in _TAR_REFUSED:
            kind = _TAR_REFUSED[typeflag]
        else:
            kind = _TAR_KINDS.get(typeflag, "special file")
        name = pax_name or long_name
        if name is None:
            name = _decode_name(header[0:100].split(b"\0", 1)[0], where)
            prefix = header[345:500].split(b"\0", 1)[0] if header[257:262] == b"ustar" else b""
            if prefix:
                name = _decode_name(prefix, where) + "/" + name
        if pax_size is not None:
            size = pax_size
        pax_name = pax_size = long_name = None
        yield name, kind, size


def _check_checksum(header: bytes, where: str) -> None:
    stored = _octal(header[148:156], where, "checksum")
    unsigned = sum(header[:148]) + 8 * 32 + sum(header[156:])
    signed = unsigned - 256 * sum(1 for b in (*header[:148], *header[156:]) if b > 127)
    if stored not in (unsigned, signed):
        raise InputError(f"{where}: not a readable snapshot bundle (bad tar header checksum)")


def _octal(field_bytes: bytes, where: str, what: str) -> int:
    text = field_bytes.split(b"\0", 1)[0].strip(b" ")
    if field_bytes[:1] in (b"\x80", b"\xff"):  # base-256: a size no bundle member has
        raise InputError(f"{where}: tar header {what} in base-256; refused")
    if not text:
        return 0
    if len(text) > 12 or any(c not in b"01234567" for c in text):
        raise InputError(f"{where}: not a readable snapshot bundle (bad tar header {what})")
    return int(text, 8)


def _decimal(text: str, where: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise InputError(f"{where}: bad size {text[:30]!r} in a PAX tar header")
    return int(text)


def _decode_name(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{where}: a member name is not UTF-8") from None


def _pax_records(data: bytes, where: str) -> dict[str, str]:
    """``"<length> <key>=<value>\\n"`` records of a (size-bounded) PAX header."""
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data) and data[pos] != 0:
        space = data.find(b" ", pos, pos + 8)
        digits = data[pos:space] if space > pos else b""
        if not digits.isdigit():
            raise InputError(f"{where}: malformed PAX tar header")
        length = int(digits)
        record = data[space + 1 : pos + length]
        if length <= 0 or pos + length > len(data) or not record.endswith(b"\n"):
            raise InputError(f"{where}: malformed PAX tar header")
        key, eq, value = record[:-1].partition(b"=")
        if not eq:
            raise InputError(f"{where}: malformed PAX tar header")
        if key in (b"path", b"size"):
            records[key.decode("ascii")] = _decode_name(value, where)
        pos += length
    return records


def _skip(stream: Any, size: int, where: str, name: str, *, pad: int | None = None) -> None:
    """Skip ``size`` data bytes plus the padding to the next 512-byte block (of ``pad`` bytes
    of data already read, when given)."""
    used = size if pad is None else pad
    remaining = (size if pad is None else 0) + (-used % _BLOCK)
    while remaining:
        chunk = stream.read(min(remaining, 1 << 20))
        if not chunk:
            raise InputError(f"{where}: truncated tarball (member {name})")
        remaining -= len(chunk)


def _drain(stream: Any, where: str, total: int) -> None:
    """Read to the end of the stream, so a truncated or corrupt gzip (CRC) is noticed."""
    while chunk := stream.read(1 << 20):
        total += len(chunk)
        if total > MAX_TOTAL_BYTES + (1 << 20):
            raise InputError(
                f"{where}: bundle holds over {MAX_TOTAL_BYTES} bytes; refusing to read"
            )


def _check_rel(name: str, where: str, *, allow_dot: bool = False) -> PurePosixPath:
    rel = PurePosixPath(name)
    if (
        not name
        or "\\" in name
        or "\x00" in name
        or rel.is_absolute()
        or ".." in rel.parts
        or (not allow_dot and name in (".", ""))
    ):
        raise InputError(f"{where}: unsafe path {name!r} in bundle (absolute or with '..')")
    return rel


def _check_size(where: str, name: str, size: int, total: int) -> None:
    if size > MAX_MEMBER_BYTES:
        raise InputError(
            f"{where}: {name} is {size} bytes, over the {MAX_MEMBER_BYTES} bytes a bundle "
            "file may have"
        )
    if total > MAX_TOTAL_BYTES:
        raise InputError(f"{where}: bundle holds over {MAX_TOTAL_BYTES} bytes; refusing to read")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


class _Reader:
    """Turns a bundle's files back into a Snapshot, naming the file at fault in every error."""

    def __init__(self, where: str, get: Callable[[str], bytes | None]) -> None:
        self.where = where
        self._get = get
        self.current: Any = MANIFEST
        # Every file is read once: a manifest naming one member many times would otherwise
        # multiply its bytes and objects past every bound (each reference counted).
        self.referenced: set[str] = set()
        self.objects = 0

    def get(self, rel: str) -> bytes | None:
        key = str(_check_rel(rel, self.where))
        if key in self.referenced:
            raise self.fail(MANIFEST, f"names {rel} more than once; each file is read once")
        self.referenced.add(key)
        return self._get(rel)

    def fail(self, rel: str, what: str) -> InputError:
        return InputError(f"{self.where}: {rel}: {what}")

    def json(self, rel: str, *, required: bool = True) -> Any:
        if not isinstance(rel, str):
            raise self.fail(MANIFEST, f"expected a file path, got {type(rel).__name__}")
        data = self.get(rel)
        if data is None:
            if required:
                raise self.fail(rel, "missing from the bundle")
            return None
        try:
            return json_loads(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise self.fail(rel, "not UTF-8 text") from None
        except (ValueError, RecursionError) as exc:  # also Infinity, 5000-digit integers
            raise self.fail(rel, json_problem(exc)) from None

    def snapshots(self) -> tuple[dict[str, Snapshot], BundleMeta]:
        manifest = self.json(MANIFEST, required=False)
        if manifest is None:
            raise InputError(f"{self.where}: not a snapshot bundle (no {MANIFEST})")
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise InputError(f"{self.where}: not a seldon-doctor snapshot bundle ({MANIFEST})")
        version = manifest.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise self.fail(MANIFEST, f"bad format_version {version!r}")
        if version > FORMAT_VERSION:
            raise InputError(
                f"{self.where}: snapshot format_version {version} is newer than this "
                f"seldon-doctor reads ({FORMAT_VERSION}); upgrade seldon-doctor"
            )
        out: dict[str, Snapshot] = {}
        try:
            meta = self._meta(manifest)
            sections = _list(manifest.get("snapshots"))
            if len(sections) > MAX_SECTIONS:
                raise self.fail(
                    MANIFEST, f"{len(sections)} cluster sections, over the {MAX_SECTIONS} limit"
                )
            for section in sections:
                self.current = MANIFEST
                name = _opt_str(_dict(section).get("cluster")) or ""
                if name in out:
                    raise self.fail(MANIFEST, f"cluster {name!r} appears twice")
                out[name] = self._section(section)
        except InputError:
            raise
        except (
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
            RecursionError,
            OverflowError,
        ) as exc:
            raise self.fail(str(self.current), f"unexpected shape ({_one_line(exc)})") from None
        if not out:
            raise self.fail(MANIFEST, "holds no snapshot")
        return out, meta

    def _section(self, section: JSONDict) -> Snapshot:
        """One entry of the manifest's ``snapshots`` (``self.current``: the file being read)."""
        snapshot = Snapshot(live=bool(section.get("live")))
        listed = section.get("listed_namespaces")
        if listed is not None:
            snapshot.listed_namespaces = frozenset(str(ns) for ns in _list(listed))
        captured = section.get("captured_at")
        if captured is not None and not (
            isinstance(captured, int | float)
            and not isinstance(captured, bool)
            and math.isfinite(captured)
        ):
            raise TypeError(f"captured_at is {captured!r}, not a time")
        if captured is not None and hasattr(snapshot, "captured_at"):
            # "now" for age-based checks: the offline scan judges ages as the live one did.
            setattr(snapshot, "captured_at", float(captured))  # noqa: B010
        snapshot.gaps = [
            Gap(str(g["what"]), str(g["reason"]), _opt_str(g.get("namespace")))
            for g in _list(section.get("gaps"))
        ]
        snapshot.warnings = [str(w) for w in _list(section.get("warnings"))]
        ordered: list[tuple[int, int, KubeObject]] = []
        for entry in _list(section.get("objects")):
            self.current = entry["path"]
            ordered.extend(self._objects(self.current, entry, len(ordered)))
        ordered.sort(key=lambda t: (t[0], t[1]))
        snapshot.objects = [obj for _, _, obj in ordered]
        for entry in _list(section.get("envoys")):
            self.current = entry["config_dump"]
            snapshot.envoys.append(self._envoy(entry["config_dump"], entry["meta"]))
        for self.current in _list(section.get("schedulers")):
            snapshot.schedulers.append(self._scheduler(self.current))
        for self.current in _list(section.get("xds")):
            snapshot.xds.append(self._xds(self.current))
        probes = section.get("probes")
        if probes is not None:
            self.current = probes
            snapshot.probes = self._probes(probes)
        for entry in _list(section.get("logs")):
            self.current = entry["path"]
            snapshot.logs[str(entry["key"])] = self._log(self.current)
        return snapshot

    def _meta(self, manifest: JSONDict) -> BundleMeta:
        clusters: dict[str, ClusterMeta] = {}
        listed = _dict(manifest.get("clusters"))
        if len(listed) > MAX_SECTIONS:
            raise self.fail(MANIFEST, f"{len(listed)} clusters, over the {MAX_SECTIONS} limit")
        for name, info in listed.items():
            if not name or not isinstance(info, dict):
                continue
            clusters[name] = ClusterMeta(
                context=_opt_str(info.get("context")),
                server_version=_opt_str(info.get("server_version")),
                crd_versions={
                    str(k): [str(x) for x in _list(v)]
                    for k, v in _dict(info.get("crd_versions")).items()
                },
                kinds_read=sorted(_dict(info.get("kinds"))),
            )
        tool = _dict(manifest.get("tool"))
        return BundleMeta(
            tool_version=str(tool.get("version") or ""),
            created=_opt_str(manifest.get("created")),
            clusters=clusters,
        )

    def _objects(self, rel: str, entry: JSONDict, seq: int) -> list[tuple[int, int, KubeObject]]:
        data = self.json(rel)
        items = data.get("items") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise self.fail(rel, "expected a List with items")
        origins = data.get("origins") if isinstance(data, dict) else None
        if origins is not None and (not isinstance(origins, list) or len(origins) != len(items)):
            raise self.fail(rel, "origins do not match items")
        cluster = _opt_str(entry.get("cluster"))
        self.objects += len(items)
        if self.objects > MAX_OBJECTS:
            raise self.fail(rel, f"the bundle holds over {MAX_OBJECTS} objects; refused")
        out = []
        for i, body in enumerate(items):
            if not isinstance(body, dict):
                raise self.fail(rel, f"item {i} is not an object")
            if not (
                isinstance(body.get("apiVersion"), str)
                and isinstance(body.get("kind"), str)
                and body["kind"]
            ):
                raise self.fail(rel, f"item {i} has no apiVersion and kind")
            if origins is not None:
                o = origins[i]
                order = int(o.get("order", seq + i))
                origin = _origin(o)
            else:
                order, origin = seq + i, Origin(cluster=cluster)
            out.append((order, seq + i, KubeObject(body, origin)))
        return out

    def _envoy(self, dump_rel: str, meta_rel: str) -> EnvoyObservation:
        from seldon_doctor.domain.envoy_parse import DumpError, parse_config_dump

        raw = self.json(dump_rel)
        meta = self.json(meta_rel)
        try:
            config = parse_config_dump(raw)
        except DumpError as exc:
            raise self.fail(dump_rel, str(exc)) from None
        counters = meta.get("counters")
        return EnvoyObservation(
            namespace=str(meta["namespace"]),
            origin=_origin(_dict(meta.get("origin"))),
            raw=raw,
            config=config,
            pod=_opt_str(meta.get("pod")),
            ready=_opt_str(meta.get("ready")),
            counters={str(k): int(v) for k, v in counters.items()} if counters else counters,
        )

    def _observed(self, rel: str, from_dict: Callable[[JSONDict], Any]) -> tuple[JSONDict, Any]:
        """A scheduler/xDS observation file: its fields and the inner state, ``elapsed`` too."""
        data = _dict(self.json(rel))
        state_data = _dict(data["state"])
        try:
            inner = from_dict(state_data)
        except InputError as exc:
            raise self.fail(rel, exc.message) from None
        inner.elapsed = float(state_data.get("elapsed") or 0.0)
        return data, inner

    def _scheduler(self, rel: str) -> SchedulerObservation:
        from seldon_doctor.sources.dataplane import scheduler_state_from_dict

        data, state = self._observed(rel, scheduler_state_from_dict)
        origin = _origin(_dict(data.get("origin")))
        return SchedulerObservation(str(data["namespace"]), str(data["target"]), state, origin)

    def _xds(self, rel: str) -> XdsObservation:
        from seldon_doctor.domain.xds_state import xds_snapshot_from_dict

        data, snap = self._observed(rel, xds_snapshot_from_dict)
        origin = _origin(_dict(data.get("origin")))
        return XdsObservation(str(data["namespace"]), str(data["target"]), snap, origin)

    def _probes(self, rel: str) -> list[ProbeObservation]:
        from seldon_doctor.snapshot import observation_from_dict

        return [
            observation_from_dict(_dict(item["observation"]), _origin(_dict(item.get("origin"))))
            for item in _list(self.json(rel))
        ]

    def _log(self, rel: str) -> list[str]:
        if not isinstance(rel, str):
            raise self.fail(MANIFEST, f"expected a file path, got {type(rel).__name__}")
        data = self.get(rel)
        if data is None:
            raise self.fail(rel, "missing from the bundle")
        text = data.decode("utf-8", errors="replace")
        return text.split("\n")[:-1] if text else []


def _origin(data: JSONDict) -> Origin:
    line = data.get("line")
    return Origin(
        file=_opt_str(data.get("file")),
        line=int(line) if line is not None else None,
        cluster=_opt_str(data.get("cluster")),
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return value


def _dict(value: Any) -> JSONDict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value
