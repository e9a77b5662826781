"""``trace`` as a use case: one request's path for NAME, hop by hop, to the first break."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from seldon_doctor.errors import RequestError

if TYPE_CHECKING:
    from seldon_doctor.snapshot import Snapshot
    from seldon_doctor.trace import TraceResult

LIVE_PROBE = "live"  # trace --probe without a URL: through a port-forward to seldon-mesh


@dataclass(slots=True)
class TraceRequest:
    """Everything a trace needs (the flags of ``seldon-doctor trace``)."""

    name: str
    namespace: str = "default"
    kind: str = "model"
    files: Sequence[str] = ()
    envoy_dumps: Sequence[str] = ()
    envoy_admin: Sequence[str] = ()
    schedulers: Sequence[str] = ()
    scheduler_xds: Sequence[str] = ()
    dataplane_timeout: float = 5.0
    probe_url: str | None = None  # LIVE_PROBE: through a port-forward to seldon-mesh
    kubeconfig: str | None = None
    context: str | None = None
    timeout: float = 60.0

    @property
    def live(self) -> bool:
        """No offline input: read the cluster of the kube context."""
        offline = bool(
            self.files or self.envoy_dumps or self.envoy_admin or self.schedulers
        ) or bool(self.scheduler_xds)
        return not offline and (self.probe_url in (None, LIVE_PROBE))


def run_trace(request: TraceRequest) -> TraceResult:
    """Read what the trace needs, build the graph, probe (with --probe), and walk the path."""
    from seldon_doctor.app.inputs import observe_dataplane
    from seldon_doctor.graph.build import build_graph
    from seldon_doctor.trace import KINDS, trace

    live = request.live
    if not live and (request.kubeconfig or request.context):
        raise RequestError("--kubeconfig/--context trace a live cluster; drop -f and friends")
    if not live and request.probe_url == LIVE_PROBE:
        raise RequestError("--probe without URL goes through the live cluster; give a URL")
    target: Any = None
    if live:
        snapshot, target = _live_snapshot(request)
    else:
        snapshot = _offline_snapshot(request)
    observe_dataplane(
        snapshot,
        request.namespace,
        request.envoy_admin,
        request.schedulers,
        request.scheduler_xds,
        request.dataplane_timeout,
    )
    built = build_graph(snapshot)
    probe_result, probe_error = _probe(request, built, snapshot, target)
    return trace(
        built,
        KINDS[request.kind],
        request.namespace,
        request.name,
        probe_result=probe_result,
        probe_error=probe_error,
    )


def _offline_snapshot(request: TraceRequest) -> Snapshot:
    if request.files:
        from seldon_doctor.app.inputs import file_snapshot

        return file_snapshot(request.files, request.envoy_dumps, request.namespace, False)
    from seldon_doctor.snapshot import Snapshot
    from seldon_doctor.sources.collect import load_envoy_dumps

    dumps = [d if "=" in d else f"{request.namespace}={d}" for d in request.envoy_dumps]
    return Snapshot(envoys=load_envoy_dumps(dumps, []))


def _probe(request: TraceRequest, built: Any, snapshot: Snapshot, target: Any) -> tuple[Any, Any]:
    """--probe: a real readiness request through Envoy; what failed becomes a gap."""
    if not request.probe_url:
        return None, None
    from seldon_doctor.clients.errors import DataplaneUnavailable
    from seldon_doctor.clients.readiness import probe
    from seldon_doctor.sources.dataplane import mesh_endpoint
    from seldon_doctor.sources.live import api_client_for

    kind_arg: Any = request.kind
    timeout = request.dataplane_timeout
    try:
        if request.probe_url == LIVE_PROBE:
            with mesh_endpoint(request.namespace, api_client_for(target), built) as url:
                return probe(url, request.name, kind=kind_arg, timeout=timeout), None
        return probe(request.probe_url, request.name, kind=kind_arg, timeout=timeout), None
    except DataplaneUnavailable as exc:
        from seldon_doctor.snapshot import Gap

        snapshot.gaps.append(Gap(f"probe:{request.namespace}", exc.reason, request.namespace))
        return None, exc.reason


def _live_snapshot(request: TraceRequest) -> tuple[Snapshot, Any]:
    """The cluster as the trace needs it: every kind the checks read, then the Envoy and the
    scheduler that the namespace's seldon-mesh and seldon-scheduler resolve to (port-forwards
    only to those pods, however many namespaces the cluster has)."""
    from seldon_doctor.app.live import live_request, read_clusters
    from seldon_doctor.graph.build import build_graph
    from seldon_doctor.sources.dataplane import observe_live, preload_live_clients
    from seldon_doctor.sources.live import api_client_for

    preload_live_clients()
    live = read_clusters(
        live_request(
            kubeconfig=request.kubeconfig,
            contexts=(request.context,) if request.context else (),
            timeout=request.timeout,
            quiet=True,
        )
    )
    (cluster,) = live.snapshots
    snapshot, target = live.snapshots[cluster], live.targets[cluster]
    graph = build_graph(snapshot)
    wanted = {request.namespace}
    for host in ("seldon-mesh", "seldon-scheduler"):
        wanted.update(b.namespace for b in graph.resolve(host, request.namespace).backends)
    observe_live(
        snapshot,
        api=api_client_for(target),
        timeout=request.dataplane_timeout,
        namespaces=sorted(wanted),
    )
    return snapshot, target
