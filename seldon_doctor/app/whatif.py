"""``scan -f CHANGES --against-cluster|--against-snapshot``: the change over one cluster.

One read, two judgements, the difference (``seldon_doctor.whatif``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seldon_doctor.errors import InputError, RequestError
from seldon_doctor.findings import counted

if TYPE_CHECKING:
    from seldon_doctor.app.judge import Judge
    from seldon_doctor.app.request import Notes, ScanRequest
    from seldon_doctor.engine import Report
    from seldon_doctor.snapshot import Snapshot


def run_whatif(request: ScanRequest, judge: Judge, notes: Notes) -> tuple[Any, Report]:
    """The findings the change introduces (and fixes) over the one cluster it is laid on."""
    from seldon_doctor.app.inputs import file_snapshot, one_namespace
    from seldon_doctor.whatif import judge as judge_change

    _check(request)
    namespace = one_namespace(
        request.namespaces, "with files, -n names one namespace (for objects that name none)"
    )
    change = file_snapshot(request.files, (), namespace, False, request.crds)
    bases, against = _bases(request, judge)
    if len(bases) != 1:
        raise InputError(
            f"the what-if gate judges one cluster; {against} holds {len(bases)} "
            f"({', '.join(sorted(bases))})"
        )
    ((cluster, base),) = bases.items()
    if cluster:
        against = f"{against} {cluster}" if against == "cluster" else f"{against} ({cluster})"
    for warning in change.warnings:
        notes(f"note: {warning}")
    if base.gaps:
        notes(
            f"note: the cluster read is partial: {counted(len(base.gaps), 'input')} could not be "
            "read"
        )
    graph, report = judge_change(base, change, judge.analyse, against)
    if cluster:
        from seldon_doctor.engine import tag_cluster

        report = tag_cluster(report, cluster)
    return graph, report


def _check(request: ScanRequest) -> None:
    """Refuse what the gate cannot judge: it never applies the change, so live observations
    (data plane, logs, waits, probes) would describe the cluster before it."""
    if request.against_cluster and request.against_snapshot:
        raise RequestError("give --against-cluster or --against-snapshot, not both")
    if not request.files:
        raise RequestError("--against-* judges a change: give it with -f PATH")
    forbidden = {
        "--demo": request.demo,
        "--snapshot": bool(request.snapshot_path),
        "--all-contexts": request.all_contexts,
        "--logs": request.logs,
        "--dataplane": request.dataplane,
        "--wait": bool(request.wait_for),
        "--probe": request.probe_targets,
        "--envoy-config-dump": bool(request.envoy_dumps),
        "--envoy-admin": bool(request.envoy_admin),
        "--scheduler": bool(request.schedulers),
        "--scheduler-xds": bool(request.scheduler_xds),
    }
    used = [flag for flag, on in forbidden.items() if on]
    if used:
        raise RequestError(
            f"{', '.join(used)} cannot be combined with --against-*: the change is not applied, "
            "so the data plane, logs and waits describe the cluster before it (see docs/ci.md)"
        )
    if request.against_snapshot and (request.kubeconfig or request.contexts):
        raise RequestError("--kubeconfig/--context read a cluster; --against-snapshot a bundle")
    if len(request.contexts) > 1:
        raise RequestError("the what-if gate judges one cluster: give one --context")


def _bases(request: ScanRequest, judge: Judge) -> tuple[dict[str, Snapshot], str]:
    """The snapshots the change is laid over, and how the report names them."""
    if request.against_snapshot:
        from seldon_doctor.bundle import read_bundle_clusters

        return read_bundle_clusters(request.against_snapshot), (
            f"snapshot {request.against_snapshot}"
        )
    from seldon_doctor.app.live import live_request, read_clusters

    request_live = live_request(
        kubeconfig=request.kubeconfig,
        contexts=request.contexts,
        timeout=request.timeout,
        checks=judge.checks,
        quiet=request.quiet,
    )
    return read_clusters(request_live).snapshots, "cluster"
