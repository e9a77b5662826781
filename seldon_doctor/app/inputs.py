"""Offline inputs shared by the commands: files into a snapshot, the data plane read into it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from seldon_doctor.errors import RequestError

if TYPE_CHECKING:
    from seldon_doctor.snapshot import Snapshot


def one_namespace(namespaces: Sequence[str], message: str) -> str:
    """The one ``-n`` of a files read (objects that name none get it); default ``default``."""
    if len(namespaces) > 1:
        raise RequestError(message)
    return namespaces[0] if namespaces else "default"


def file_snapshot(
    files: Sequence[str],
    envoy_dumps: Sequence[str],
    namespace: str,
    demo: bool,
    crds: Sequence[str] = (),
    *,
    complete: bool = False,
) -> Snapshot:
    """The snapshot of manifests/captured state (or the bundled demo cluster)."""
    from seldon_doctor.sources.collect import ScanInputs, collect_files, demo_inputs

    if demo:
        if files:
            raise RequestError("--demo scans the bundled cluster; do not combine it with -f")
        if envoy_dumps:
            raise RequestError(
                "--demo brings its own Envoy dump; do not combine it with --envoy-config-dump"
            )
        inputs = demo_inputs()
    elif files:
        inputs = ScanInputs(files=files, envoy_dumps=envoy_dumps, namespace=namespace)
    else:
        raise RequestError("nothing to scan: give -f PATH (manifests or captured state) or --demo")
    if not demo:
        inputs.envoy_dumps = envoy_dumps
    inputs.crds = crds
    inputs.complete = complete
    return collect_files(inputs)


def observe_dataplane(
    snapshot: Snapshot,
    namespace: str,
    envoy_admin: Sequence[str],
    schedulers: Sequence[str],
    scheduler_xds: Sequence[str],
    timeout: float,
) -> Snapshot:
    """Read the live data plane into the snapshot (unreachable endpoints become gaps)."""
    if not (envoy_admin or schedulers or scheduler_xds):
        return snapshot
    from seldon_doctor.sources.dataplane import DataplaneInputs, collect_dataplane

    inputs = DataplaneInputs(
        envoy_admin=envoy_admin,
        schedulers=schedulers,
        scheduler_xds=scheduler_xds,
        namespace=namespace,
        timeout=timeout,
    )
    return collect_dataplane(snapshot, inputs)


def offline_capture(
    files: Sequence[str],
    envoy_dumps: Sequence[str],
    crds: Sequence[str],
    demo: bool,
    *,
    namespaces: Sequence[str],
    kubeconfig: str | None,
    contexts: Sequence[str],
    all_contexts: bool,
    logs: bool,
    dataplane: bool,
    **_live: object,
) -> Snapshot:
    """``snapshot -f``/``--demo``: the snapshot ``scan -f``/``--demo`` judges, for a bundle
    (live-only flags are refused, as scan refuses them with files)."""
    if kubeconfig or contexts or all_contexts or logs or dataplane:
        raise RequestError(
            "--kubeconfig/--context/--all-contexts/--logs/--dataplane read a live cluster; "
            "do not combine them with -f or --demo"
        )
    namespace = one_namespace(
        namespaces, "with files, -n names one namespace (for objects that name none)"
    )
    return file_snapshot(files, envoy_dumps, namespace, demo, crds)
