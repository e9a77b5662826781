"""Writing a bundle: a Snapshot (or several) to redacted files, as a directory or a tarball."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from seldon_doctor.atomic import atomic_writer
from seldon_doctor.bundle.meta import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    BundleMeta,
    JSONDict,
    is_tarball,
)
from seldon_doctor.errors import InputError
from seldon_doctor.redact import REDACTED, redact_lines, redact_object, redact_value
from seldon_doctor.snapshot import (
    KubeObject,
    Origin,
    SchedulerObservation,
    Snapshot,
    XdsObservation,
)

_NO_CLUSTER = "_local"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


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

    object_entries = _write_objects(snapshot, files, names, dir_of)
    envoy_entries = _write_envoys(snapshot, files, names, dir_of)
    observed = _write_observed(snapshot, files, names, dir_of)
    probes = _write_probes(snapshot, files, names)
    log_entries = _write_logs(snapshot, files, names, home)

    entry: JSONDict = {
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
    if snapshot.completeness is not None:
        # Where the input is complete, as its source recorded it (files); a live section
        # derives it from live, listed_namespaces and gaps (docs/completeness.md).
        entry["complete"] = snapshot.completeness.as_list()
    return entry


def _write_objects(
    snapshot: Snapshot, files: dict[str, bytes], names: _Names, dir_of: Callable[[str | None], str]
) -> list[JSONDict]:
    # objects/<cluster>/<Kind>.json
    grouped: dict[tuple[str | None, str], list[tuple[int, KubeObject]]] = {}
    for order, obj in enumerate(snapshot.objects):
        grouped.setdefault((obj.origin.cluster, obj.kind), []).append((order, obj))
    object_entries: list[JSONDict] = []
    for (cluster, kind), items in sorted(grouped.items(), key=lambda kv: _none_first(kv[0])):
        items.sort(key=lambda it: (it[1].namespace, it[1].name, it[0]))
        rel = names.unique(f"objects/{dir_of(cluster)}/{_safe(kind or 'Unknown')}", ".json")
        rel += ".json"
        files[rel] = _dump_list(
            [redact_object(obj.body) for _, obj in items],
            [{"order": order, **_origin_dict(obj.origin)} for order, obj in items],
        )
        object_entries.append({"path": rel, "cluster": cluster, "kind": kind, "count": len(items)})
    return object_entries


def _write_envoys(
    snapshot: Snapshot, files: dict[str, bytes], names: _Names, dir_of: Callable[[str | None], str]
) -> list[JSONDict]:
    # envoy/<cluster>/<namespace>/<pod>.config_dump.json + .meta.json
    envoy_entries: list[JSONDict] = []
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
    return envoy_entries


def _write_observed(
    snapshot: Snapshot, files: dict[str, bytes], names: _Names, dir_of: Callable[[str | None], str]
) -> dict[str, list[str]]:
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
    return observed


def _write_probes(snapshot: Snapshot, files: dict[str, bytes], names: _Names) -> str | None:
    # probes.json
    probes: str | None = None
    if snapshot.probes:
        from seldon_doctor.snapshot import observation_dict

        probes = names.unique("probes", ".json") + ".json"
        files[probes] = _dump(
            [
                {"observation": observation_dict(p), "origin": _origin_dict(p.origin)}
                for p in snapshot.probes
            ]
        )
    return probes


def _write_logs(
    snapshot: Snapshot, files: dict[str, bytes], names: _Names, home: str
) -> list[JSONDict]:
    # logs/<cluster>/<namespace>/<pod>/<container>.log
    log_entries: list[JSONDict] = []
    for key, lines in snapshot.logs.items():
        parts = [p for p in key.split("/") if p]
        where = "/".join(_safe(p) for p in parts) if parts else "log"
        rel = names.unique(f"logs/{home}/{where}", ".log") + ".log"
        files[rel] = "".join(line + "\n" for line in redact_lines(lines)).encode("utf-8")
        log_entries.append({"key": key, "path": rel, "lines": len(lines)})
    return log_entries


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
