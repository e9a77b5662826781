"""``scan`` as a use case: a :class:`ScanRequest` in, a :class:`ScanResult` out.

Reads the inputs (files, the demo, a bundle or live clusters), optionally waits for them to
settle and adds the data plane and probes, judges every cluster and combines the reports. The
what-if gate (``--against-*``) is in ``app.whatif``. Nothing is printed: notes are returned (and
handed to ``on_note`` as they happen, so a front end can show them live).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from seldon_doctor.app.request import Notes, ScanRequest, ScanResult
from seldon_doctor.errors import RequestError
from seldon_doctor.findings import counted

if TYPE_CHECKING:
    from seldon_doctor.app.judge import Judge
    from seldon_doctor.engine import Report
    from seldon_doctor.snapshot import Snapshot

__all__ = [
    "Notes",
    "ScanRequest",
    "ScanResult",
    "check_sources",
    "cluster_label",
    "live_cluster_names",
    "run_scan",
]


def run_scan(request: ScanRequest) -> ScanResult:
    """Run the scan ``request`` describes."""
    from seldon_doctor.app.judge import exit_code_for, make_judge

    notes = Notes(request)
    judge = make_judge(
        config_path=request.config_path,
        baseline=request.baseline,
        select=request.select,
        ignore=request.ignore,
        strict=request.strict,
        debug=request.debug,
        note=notes,
    )
    clusters: list[str] = []
    with _cyclic_gc_paused():
        if request.against_cluster or request.against_snapshot:
            from seldon_doctor.app.whatif import run_whatif

            graph, report = run_whatif(request, judge, notes)
        else:
            graph, report = _scan(request, judge, notes, clusters)
    code = exit_code_for(report, request.fail_on)
    if request.min_severity != "info":
        from seldon_doctor.suppress import filter_min_severity

        report = filter_min_severity(report, request.min_severity)
    return ScanResult(report, graph, code, judge.applied, notes.lines, tuple(clusters))


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Cyclic garbage collection off while the scan builds its objects.

    Reading, the graph and the checks allocate millions of containers that all stay alive
    until the report is out; every collection meanwhile would walk all of them again for
    nothing (issue 17: a quarter of a 100k-object scan). Reference counting still frees what
    the scan drops, and a cycle made meanwhile is collected once the scan is done.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _scan(
    request: ScanRequest, judge: Judge, notes: Notes, clusters: list[str]
) -> tuple[Any, Report]:
    check_sources(request)
    from seldon_doctor.app.wait import wait_seconds

    seconds = wait_seconds(request.wait_for) if request.wait_for else 0.0
    live_targets: dict[str, Any] = {}  # the kubeconfig target of each live cluster (--probe)

    def read() -> dict[str, Snapshot]:
        return _read(request, judge, live_targets)

    snapshots = read()
    if seconds:
        from seldon_doctor.app.wait import wait_until_settled

        snapshots = wait_until_settled(snapshots, read, seconds, notes)
    clusters.extend(name for name in snapshots if name)
    for cluster, snapshot in snapshots.items():
        _observe(request, snapshot, live_targets.get(cluster), notes)
    graph, report = _judge_all(request, judge, snapshots)
    if request.baseline is not None:
        were = "is" if report.baselined == 1 else "are"
        notes(
            f"note: {counted(report.baselined, 'finding')} already in {request.baseline} "
            f"{were} not reported"
        )
    if report.gaps and not request.offline:
        for gap in report.unread_clusters:
            notes(f"note: cluster {gap.what.split(':', 1)[1]} could not be read: {gap.reason}")
        if len(report.gaps) > len(report.unread_clusters):
            notes(
                f"note: the scan is partial: {counted(len(report.gaps), 'input')} could not be read"
            )
    return graph, report


def cluster_label(request: ScanRequest, explicit: str | None, clusters: Sequence[str]) -> str:
    """The ``cluster`` label of a scan's metrics (docs/metrics.md): ``--cluster``, else ``demo``,
    ``files`` (-f, --snapshot), else the clusters read (a context name, ``in-cluster``; several
    joined by commas: their findings carry their own)."""
    if explicit:
        return explicit
    if request.demo:
        return "demo"
    if request.offline:
        return "files"
    return ",".join(clusters) or "unknown"


def live_cluster_names(request: ScanRequest) -> list[str]:
    """The clusters a live ``request`` will read, from the kubeconfig alone (no request is sent;
    an unusable kubeconfig raises InputError), so a long-running exporter can label its series
    before its first scan finishes."""
    from seldon_doctor.app.live import live_request
    from seldon_doctor.sources.live import resolve_targets

    live = live_request(
        kubeconfig=request.kubeconfig,
        contexts=request.contexts,
        all_contexts=request.all_contexts,
        read_kinds=False,
    )
    return [target.name for target in resolve_targets(live.options())]


def check_sources(request: ScanRequest) -> None:
    """Refuse inputs that do not combine (files, the demo, a bundle, a live cluster)."""
    live_flags = (
        request.kubeconfig
        or request.contexts
        or request.all_contexts
        or request.logs
        or request.dataplane
        or request.wait_for
    )
    if request.offline and live_flags:
        raise RequestError(
            "--kubeconfig/--context/--all-contexts/--logs/--dataplane/--wait read a live "
            "cluster; do not combine them with -f, --demo or --snapshot"
        )
    if request.complete and not request.files:
        raise RequestError(
            "--complete describes manifest files (-f); a live scan, the demo and a snapshot "
            "bundle already know where they are complete"
        )
    if request.snapshot_path and (request.files or request.demo):
        raise RequestError("--snapshot scans a bundle; do not combine it with -f or --demo")
    if request.offline and len(request.namespaces) > 1:
        raise RequestError("with files, -n names one namespace (for objects that name none)")


def _read(request: ScanRequest, judge: Judge, live_targets: dict[str, Any]) -> dict[str, Snapshot]:
    """One read of every input: a bundle, files (or the demo), or the live clusters."""
    if request.snapshot_path:
        from seldon_doctor.bundle import read_bundle_clusters

        return read_bundle_clusters(request.snapshot_path)
    if request.offline:
        from seldon_doctor.app.inputs import file_snapshot

        snapshot = file_snapshot(
            request.files,
            request.envoy_dumps,
            request.namespace,
            request.demo,
            request.crds,
            complete=request.complete,
        )
        return {"": snapshot}
    from seldon_doctor.app.live import live_request, read_clusters

    live = read_clusters(
        live_request(
            kubeconfig=request.kubeconfig,
            contexts=request.contexts,
            timeout=request.timeout,
            checks=judge.checks,
            all_contexts=request.all_contexts,
            namespaces=request.namespaces,
            logs=request.logs,
            dataplane=request.dataplane,
            envoy_dumps=request.envoy_dumps,
            quiet=request.quiet,
            dataplane_timeout=request.dataplane_timeout,
            scope_closure=True,
        )
    )
    live_targets.update(live.targets)
    return live.snapshots


def _observe(request: ScanRequest, snapshot: Snapshot, live_target: Any, notes: Notes) -> None:
    """Add the data plane read by address and (--probe) the probes; note the input warnings."""
    from seldon_doctor.app.inputs import observe_dataplane

    observe_dataplane(
        snapshot,
        request.namespace,
        request.envoy_admin,
        request.schedulers,
        request.scheduler_xds,
        request.dataplane_timeout,
    )
    for warning in snapshot.warnings:
        notes(f"note: {warning}")
    if request.probe_targets:
        from seldon_doctor.probe.command import scan_probes

        snapshot.probes.extend(
            scan_probes(snapshot, request.probe_endpoint, live_target=live_target)
        )


def _judge_all(
    request: ScanRequest, judge: Judge, snapshots: dict[str, Snapshot]
) -> tuple[Any, Report]:
    """Judge every cluster, narrow to the scope, and combine (one graph only for one cluster)."""
    from seldon_doctor.engine import merge_reports, tag_cluster

    graphs, reports = {}, {}
    # Scope closure: live -n (and --scope with any input) judges everything read and reports
    # the namespaces asked for plus what they depend on (seldon_doctor/scope.py).
    scoped = (*request.scope, *(() if request.offline else request.namespaces))
    for name, snapshot in snapshots.items():
        graphs[name], reports[name] = judge.analyse(snapshot)
        if scoped:
            from seldon_doctor.scope import filter_scope

            reports[name] = filter_scope(reports[name], graphs[name], scoped)
    if len(reports) == 1:
        (name,), (graph,), (report,) = reports.keys(), graphs.values(), reports.values()
        if name:
            report = tag_cluster(report, name)
        return graph, report
    return None, merge_reports(reports)
