"""Assemble one Snapshot from what the user gave: files, Envoy dumps, the demo, a bundle."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seldon_doctor.errors import InputError
from seldon_doctor.snapshot import Completeness, EnvoyObservation, KubeObject, Origin, Snapshot
from seldon_doctor.sources.attribution import envoy_namespaces, split_dump_arg


@dataclass(slots=True)
class ScanInputs:
    """Everything the scan command was asked to read."""

    files: Sequence[str] = ()
    envoy_dumps: Sequence[str] = ()
    namespace: str = "default"
    demo: bool = False
    stdin: Any = None
    # Folders/files of CustomResourceDefinitions to validate against (only CRDs are kept).
    crds: Sequence[str] = ()
    # Show file paths relative to this folder, prefixed with ``display_prefix`` (the demo).
    display_root: str | None = None
    display_prefix: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # NAMESPACE=PATH of a scheduler's state / what its xDS served, as JSON
    # (``sources.dataplane``: fixtures' scheduler/<ns>.json and xds/<ns>.json).
    scheduler_states: Sequence[str] = ()
    xds_states: Sequence[str] = ()
    # scan --complete: the files hold every object of every kind in every namespace they
    # touch (a full export), so absence is a finding everywhere (docs/completeness.md).
    complete: bool = False


def demo_root() -> Path:
    # The package's own folder, not importlib.resources (~11 ms of every scan's start-up to
    # import): the package installs as plain files (catalog.data_root does the same).
    return Path(__file__).resolve().parent.parent / "demo"


def demo_inputs() -> ScanInputs:
    """The bundled broken cluster: a central scheduler, a split brain, and the 404 it causes."""
    root = demo_root()
    files = sorted(str(p) for p in root.glob("*.yaml"))
    dumps = sorted(
        f"{p.name.split('.', 1)[0]}={p}" for p in (root / "envoy").glob("*.config_dump.json")
    )
    return ScanInputs(
        files=files, envoy_dumps=dumps, display_root=str(root), display_prefix="<demo>/"
    )


def load_envoy_dumps(args: Sequence[str], objects: Sequence[KubeObject]) -> list[EnvoyObservation]:
    """Parse each ``--envoy-config-dump`` and attribute it to the namespace its Envoy runs in."""
    if not args:
        return []
    from seldon_doctor.sources.envoy_dump import DumpError, load_config_dump

    candidates: set[str] | None = None
    observations = []
    for arg in args:
        namespace, path = split_dump_arg(arg)
        if namespace is None:
            if candidates is None:
                candidates = envoy_namespaces(objects)
            if len(candidates) != 1:
                where = (
                    f"several namespaces run Envoy ({', '.join(sorted(candidates))})"
                    if candidates
                    else "no namespace in the input runs Envoy"
                )
                raise InputError(
                    f"--envoy-config-dump {path}: {where}; say which one with NAMESPACE={path}"
                )
            namespace = next(iter(candidates))
        if not Path(path).is_file():
            raise InputError(f"--envoy-config-dump {path}: no such file")
        try:
            raw, config = load_config_dump(path)
        except DumpError as exc:
            raise InputError(f"--envoy-config-dump {path}: {exc}") from None
        observations.append(
            EnvoyObservation(namespace=namespace, origin=Origin(file=path), raw=raw, config=config)
        )
    return observations


def unknown_api_versions(objects: Sequence[KubeObject]) -> list[str]:
    """One warning per Seldon kind given in an API version the doctor does not know.

    The objects are still read: their fields are interpreted as the known version's, so what
    is recognisable is used and the rest is ignored.
    """
    from seldon_doctor.kinds import KINDS, SELDON_GROUP

    known = {info.kind: info.api_version for info in KINDS.values() if info.group == SELDON_GROUP}
    seen: dict[tuple[str, str], list[KubeObject]] = {}
    for obj in objects:
        expected = known.get(obj.kind)
        if expected is not None and obj.group == SELDON_GROUP and obj.api_version != expected:
            seen.setdefault((obj.kind, obj.api_version), []).append(obj)
    out = []
    for (kind, api_version), found in seen.items():
        first = found[0]
        more = f" and {len(found) - 1} more" if len(found) > 1 else ""
        out.append(
            f"{kind} {first.namespace}/{first.name} ({first.origin.describe()}){more} uses "
            f"apiVersion {api_version}, which seldon-doctor does not know; read as "
            f"{known[kind]} (fields it does not recognise are ignored)"
        )
    return out


def collect_files(inputs: ScanInputs) -> Snapshot:
    """Snapshot from manifests/captured YAML plus Envoy dumps."""
    from seldon_doctor.sources.files import load_paths

    dumps = {Path(split_dump_arg(arg)[1]).resolve() for arg in inputs.envoy_dumps}
    loaded = load_paths(
        inputs.files, default_namespace=inputs.namespace, stdin=inputs.stdin, exclude=dumps
    )
    snapshot = Snapshot(objects=loaded.objects, warnings=list(loaded.skipped))
    snapshot.completeness = Completeness.everything() if inputs.complete else loaded.complete
    snapshot.warnings.extend(unknown_api_versions(snapshot.objects))
    if inputs.crds:
        extra = load_paths(inputs.crds, default_namespace=inputs.namespace)
        snapshot.objects.extend(o for o in extra.objects if o.kind == "CustomResourceDefinition")
    snapshot.envoys = load_envoy_dumps(inputs.envoy_dumps, snapshot.objects)
    if inputs.scheduler_states or inputs.xds_states:
        from seldon_doctor.sources.dataplane import load_scheduler_files, load_xds_files

        snapshot.schedulers.extend(load_scheduler_files(inputs.scheduler_states))
        snapshot.xds.extend(load_xds_files(inputs.xds_states))
    if inputs.display_root:
        _relabel(snapshot, inputs.display_root, inputs.display_prefix)
    return snapshot


def _relabel(snapshot: Snapshot, root: str, prefix: str) -> None:
    """Show bundled files by a short name instead of their install path."""

    def short(origin: Origin) -> Origin:
        if origin.file and origin.file.startswith(root):
            rel = origin.file[len(root) :].lstrip("/")
            # Field lines are dropped with the real path, as before (demo findings keep the
            # object's line).
            return Origin(file=prefix + rel, line=origin.line, cluster=origin.cluster)
        return origin

    for obj in snapshot.objects:
        obj.origin = short(obj.origin)
    for envoy in snapshot.envoys:
        envoy.origin = short(envoy.origin)
