"""Reading a bundle back: its files (directory or tarball) to Snapshots, one-line errors."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seldon_doctor.bundle import tar as _tar
from seldon_doctor.bundle.meta import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    BundleMeta,
    ClusterMeta,
    JSONDict,
)
from seldon_doctor.bundle.tar import _check_rel, _check_size, _one_line, _read_tarball, _TarFiles
from seldon_doctor.errors import InputError
from seldon_doctor.safeio import json_loads, json_problem, read_bounded
from seldon_doctor.snapshot import (
    Completeness,
    EnvoyObservation,
    Gap,
    KubeObject,
    Origin,
    ProbeObservation,
    SchedulerObservation,
    Snapshot,
    XdsObservation,
)

# Bounds on what a bundle's manifest may make the reader build (a 23 KB manifest named 2,000
# clusters; one member named 10,000 times was parsed 10,000 times).
MAX_SECTIONS = 256
MAX_OBJECTS = 500_000


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
        return read_bounded(path, _tar.MAX_MEMBER_BYTES, str(path))


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
        complete = section.get("complete")
        if complete is not None:
            snapshot.completeness = Completeness.from_list(
                [(str(_list(p)[0]), str(_list(p)[1])) for p in _list(complete)]
            )
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
