"""``seldon-doctor trace``: the path one request for a Model/Experiment/Pipeline takes, hop by hop.

``seldon-mesh`` Service (resolution chain) → the Envoy pods → listener ``seldon_http`` → the route
Envoy would pick for ``seldon-model: <header>`` (evaluated with ``find_route``, not looked up by
name) → its weighted clusters → their endpoints → the server pod and its agent → the model's
replica state in the scheduler's view. Each hop is ``ok``, ``broken`` (with the reason) or
``unknown`` (the input cannot tell); the first broken hop is the answer. ``--probe URL`` adds a
real readiness request through Envoy and classifies the answer (``clients.readiness``).

Pure functions of a Snapshot/graph plus the optional probe; rendering is separate
(:func:`seldon_doctor.render.trace_tree.render_tree`, :meth:`TraceResult.to_dict`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from seldon_doctor.domain.envoy_config import EnvoyConfig, EnvoyRoute
from seldon_doctor.domain.envoy_routes import MAIN_LISTENER, request_path
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import ResolutionStatus
from seldon_doctor.graph.seldon import MESH_SERVICE, condition, is_ready, pod_ready, route_header
from seldon_doctor.redact import redact_text
from seldon_doctor.snapshot import EnvoyObservation

OK = "ok"
BROKEN = "broken"
UNKNOWN = "unknown"

KINDS = {"model": "Model", "experiment": "Experiment", "pipeline": "Pipeline"}
_OWN_CONDITION = {
    "Model": "ModelReady",
    "Experiment": "ExperimentReady",
    "Pipeline": "PipelineReady",
}


@dataclass(slots=True)
class Hop:
    """One step of the path. ``children`` are the next hops (several Envoys, clusters, ...)."""

    what: str  # service | envoy | listener | route | cluster | endpoint | pod | scheduler | ...
    label: str
    status: str
    detail: str = ""
    children: list[Hop] = field(default_factory=list)
    first_broken: bool = False

    def __post_init__(self) -> None:
        # Details quote input (condition messages, URIs): the one redactor, before any output.
        self.label = redact_text(self.label)
        self.detail = redact_text(self.detail)

    def walk(self) -> Iterator[Hop]:
        yield self
        for child in self.children:
            yield from child.walk()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "hop": self.what,
            "label": self.label,
            "status": self.status,
            "detail": self.detail,
        }
        if self.first_broken:
            out["first_broken"] = True
        if self.children:
            out["next"] = [c.to_dict() for c in self.children]
        return out


@dataclass(slots=True)
class TraceResult:
    kind: str
    namespace: str
    name: str
    header: str
    path: str
    root: Hop
    probe: Any = None  # clients.readiness.ProbeResult
    gaps: list[tuple[str, str]] = field(default_factory=list)

    def hops(self) -> list[Hop]:
        return list(self.root.walk())

    @property
    def first_broken(self) -> Hop | None:
        return next((h for h in self.hops() if h.status == BROKEN), None)

    @property
    def whole(self) -> bool:
        return self.first_broken is None

    def exit_code(self) -> int:
        if not self.whole:
            return 1
        return 3 if self.gaps else 0

    def to_dict(self) -> dict[str, Any]:
        broken = self.first_broken
        probe = None
        if self.probe is not None:
            p = self.probe
            probe = {
                "url": p.url,
                "status": p.status,
                "verdict": p.verdict,
                "detail": redact_text(p.detail) if isinstance(p.detail, str) else p.detail,
                "seldon_route": p.seldon_route,
                "server": p.server,
                "via_envoy": p.via_envoy,
            }
        return {
            "resource": {"kind": self.kind, "namespace": self.namespace, "name": self.name},
            "seldon_model": self.header,
            "path": self.path,
            "whole": self.whole,
            "exit_code": self.exit_code(),
            "first_broken": None
            if broken is None
            else {"hop": broken.what, "label": broken.label, "reason": broken.detail},
            "hops": self.root.to_dict(),
            "probe": probe,
            "gaps": [{"what": w, "reason": redact_text(r)} for w, r in self.gaps],
        }


def trace(
    graph: DeploymentGraph,
    kind: str,
    namespace: str,
    name: str,
    *,
    probe_result: Any = None,
    probe_error: str | None = None,
) -> TraceResult:
    """Walk the path of one request for ``kind namespace/name`` through what the input holds."""
    snapshot = graph.snapshot
    header = route_header(kind, name)
    path = request_path(kind, name)
    root = _resource_hop(graph, kind, namespace, name)
    gaps = [(g.what, g.reason) for g in snapshot.gaps]

    mesh_hop, envoy_namespaces = _mesh_hop(graph, namespace)
    root.children.append(mesh_hop)
    observations = [o for o in snapshot.envoys if o.namespace in envoy_namespaces]
    if not observations and not envoy_namespaces:
        observations = [o for o in snapshot.envoys if o.namespace == namespace] or list(
            snapshot.envoys
        )
    if not observations:
        reasons = [r for w, r in gaps if w.startswith("envoy:")]
        mesh_hop.children.append(
            Hop(
                "envoy",
                "Envoy",
                UNKNOWN,
                reasons[0]
                if reasons
                else "no Envoy observed (--envoy-admin NAMESPACE=URL or --envoy-config-dump)",
            )
        )
    for obs in observations:
        mesh_hop.children.append(_envoy_hop(graph, obs, kind, namespace, name, header, path))

    scheduler_hop = _scheduler_hop(graph, kind, namespace, name, gaps)
    if scheduler_hop is not None:
        root.children.append(scheduler_hop)
    if probe_result is not None or probe_error is not None:
        root.children.append(_probe_hop(probe_result, probe_error))
    result = TraceResult(kind, namespace, name, header, path, root, probe_result, gaps)
    broken = result.first_broken
    if broken is not None:
        broken.first_broken = True
    return result


def _resource_hop(graph: DeploymentGraph, kind: str, namespace: str, name: str) -> Hop:
    label = f"{kind} {namespace}/{name}"
    node = graph.get(kind, namespace, name)
    if node is None or node.obj is None:
        if not graph.snapshot.objects:
            return Hop("resource", label, UNKNOWN, "no manifests or captured state given (-f)")
        return Hop("resource", label, BROKEN, f"no {kind} {name} in namespace {namespace}")
    if is_ready(node.obj):
        return Hop("resource", label, OK, "Ready")
    cond = condition(node.status, _OWN_CONDITION[kind]) or condition(node.status, "Ready") or {}
    reason = (
        " ".join(str(cond.get(k)) for k in ("message", "reason") if cond.get(k))
        or "no Ready condition in its status"
    )
    if not node.status:
        return Hop("resource", label, UNKNOWN, "a manifest without status (not applied yet)")
    return Hop("resource", label, BROKEN, f"not Ready: {reason}")


def _mesh_hop(graph: DeploymentGraph, namespace: str) -> tuple[Hop, set[str]]:
    label = f"Service {namespace}/{MESH_SERVICE}"
    if not graph.snapshot.objects:
        return Hop("service", label, UNKNOWN, "no manifests or captured state given (-f)"), set()
    mesh = graph.resolve(MESH_SERVICE, namespace)
    envoy_namespaces = {b.namespace for b in mesh.backends}
    if not envoy_namespaces and mesh.chain:
        envoy_namespaces = {mesh.chain[-1].split("/")[1]}
    if mesh.status == ResolutionStatus.OK:
        return Hop("service", label, OK, mesh.describe()), envoy_namespaces
    status = UNKNOWN if mesh.status == ResolutionStatus.UNKNOWN else BROKEN
    return Hop("service", label, status, mesh.describe()), envoy_namespaces


def _envoy_hop(
    graph: DeploymentGraph,
    obs: EnvoyObservation,
    kind: str,
    namespace: str,
    name: str,
    header: str,
    path: str,
) -> Hop:
    from seldon_doctor.domain.envoy_routes import find_route

    where = obs.origin.describe()
    label = f"Envoy {obs.namespace}" + (f" pod {obs.pod}" if obs.pod else "") + f" ({where})"
    counters = obs.counters or {}
    if obs.ready is not None and obs.ready != "LIVE":
        hop = Hop("envoy", label, BROKEN, f"/ready says {obs.ready}: Envoy is not serving yet")
        return hop
    detail = f"/ready {obs.ready}" if obs.ready else "config dump"
    if counters:
        detail += ", counters " + ", ".join(f"{k}={v}" for k, v in sorted(counters.items()))
    envoy = Hop("envoy", label, OK, detail)
    config = obs.config
    if config is None:
        envoy.children.append(Hop("listener", MAIN_LISTENER, UNKNOWN, "the dump was not parsed"))
        return envoy
    listeners = [item for item in config.listeners if item.name == MAIN_LISTENER]
    active = next((item for item in listeners if item.state == "active"), None)
    errors = [item.error for item in listeners if item.error]
    if active is None:
        why = (
            f"rejected: {errors[0]}"
            if errors
            else "absent"
            if not listeners
            else f"only {', '.join(sorted({i.state for i in listeners}))}"
        )
        envoy.children.append(
            Hop("listener", f"listener {MAIN_LISTENER}", BROKEN, f"{why}: nothing serves :9000")
        )
        return envoy
    rc = ", ".join(active.route_config_names) or "none"
    listener = Hop(
        "listener",
        f"listener {MAIN_LISTENER}",
        OK,
        f"active on {active.address}:{active.port}, route config {rc}"
        + (f" (an update was rejected: {errors[0]})" if errors else ""),
    )
    envoy.children.append(listener)
    route = find_route(config, MAIN_LISTENER, path, {"seldon-model": header})
    if route is None:
        nr = f"; no_route counter {counters['no_route']}" if "no_route" in counters else ""
        listener.children.append(
            Hop(
                "route",
                f"route for seldon-model: {header}",
                BROKEN,
                f"no route in {rc} matches {path} with seldon-model: {header}: Envoy answers "
                f"its own 404 (response flag NR; gRPC UNIMPLEMENTED){nr}",
            )
        )
        return envoy
    route_hop = Hop(
        "route",
        f"route {route.name}",
        OK,
        f"{route.route_config}/{route.virtual_host}, matched on seldon-model: {header}",
    )
    listener.children.append(route_hop)
    if not route.clusters:
        route_hop.status = BROKEN
        route_hop.detail += (
            f"; it has no weighted clusters (direct response {route.direct_response_status})"
            if route.direct_response_status
            else "; it has no weighted clusters"
        )
        return envoy
    _cluster_hops(graph, route_hop, route, config, namespace, obs.namespace)
    return envoy


def _cluster_hops(
    graph: DeploymentGraph,
    route_hop: Hop,
    route: EnvoyRoute,
    config: EnvoyConfig,
    namespace: str,
    envoy_namespace: str,
) -> None:
    """One child of ``route_hop`` per weighted cluster of the route, with its endpoints."""
    total = sum(max(c.weight, 0) for c in route.clusters) or 1
    for wc in route.clusters:
        share = f"{round(100 * max(wc.weight, 0) / total)}%"
        cluster = config.clusters.get(wc.name)
        label = f"cluster {wc.name} weight {wc.weight} ({share})"
        if wc.weight <= 0:
            route_hop.children.append(Hop("cluster", label, OK, "weight 0: no traffic"))
            continue
        if cluster is None:
            route_hop.children.append(
                Hop("cluster", label, BROKEN, "absent from Envoy: 503 (response flag NC)")
            )
            continue
        if cluster.state == "error":
            route_hop.children.append(Hop("cluster", label, BROKEN, f"rejected: {cluster.error}"))
            continue
        if not cluster.endpoints:
            route_hop.children.append(
                Hop("cluster", label, BROKEN, "no endpoints: 503 no healthy upstream")
            )
            continue
        chop = Hop("cluster", label, OK, f"{cluster.type or 'cluster'}, {cluster.state}")
        route_hop.children.append(chop)
        for host, port in cluster.endpoints:
            chop.children.append(_endpoint_hop(graph, namespace, envoy_namespace, host, port))


def _endpoint_hop(
    graph: DeploymentGraph, namespace: str, envoy_namespace: str, host: str, port: int
) -> Hop:
    label = f"endpoint {host}:{port}"
    short = host.split(".", 1)[0]
    for ns in dict.fromkeys((namespace, envoy_namespace, *host.split(".")[1:2])):
        pod = graph.get("Pod", ns, short)
        if pod is not None and pod.obj is not None:
            agent = next(
                (
                    c
                    for c in pod.status.get("containerStatuses") or []
                    if isinstance(c, dict) and c.get("name") == "agent"
                ),
                None,
            )
            ready = pod_ready(pod.obj)
            agent_text = (
                "" if agent is None else f", agent {'ready' if agent.get('ready') else 'NOT ready'}"
            )
            status = OK if ready and (agent is None or agent.get("ready")) else BROKEN
            detail = f"pod {ns}/{short} {'Ready' if ready else 'NOT Ready'}{agent_text}"
            if port not in (9001, 9501):
                detail += f" (port {port}, not the agent's reverse proxy 9001/9501)"
            return Hop("endpoint", label, status, detail)
        server = short.rsplit("-", 1)[0] if "-" in short else None
        if server and graph.get("Server", ns, server) is not None:
            return Hop(
                "endpoint",
                label,
                UNKNOWN,
                f"replica of Server {ns}/{server}; its pod is not in the input",
            )
    return Hop("endpoint", label, UNKNOWN, "not a server pod the input describes")


def _scheduler_hop(
    graph: DeploymentGraph, kind: str, namespace: str, name: str, gaps: list[tuple[str, str]]
) -> Hop | None:
    observations = [s for s in graph.snapshot.schedulers if s.namespace == namespace] or list(
        graph.snapshot.schedulers
    )
    if not observations:
        reasons = [r for w, r in gaps if w.startswith("scheduler:")]
        if reasons:
            return Hop("scheduler", "scheduler view", UNKNOWN, reasons[0])
        return None
    obs = observations[0]
    state = obs.state
    label = f"scheduler {obs.target}"
    if kind == "Model":
        model = state.models.get(name)
        latest = model.latest if model is not None else None
        if latest is None:
            return Hop("scheduler", label, BROKEN, f"the scheduler does not know model {name}")
        replicas = ", ".join(f"{r.index}:{r.state}" for r in latest.replicas) or "none"
        detail = (
            f"version {latest.version} {latest.state} on {latest.server or 'no server'}, "
            f"replicas {replicas}" + (f" ({latest.reason})" if latest.reason else "")
        )
        live = latest.available_replicas > 0 or any(
            r.state in ("Available", "Loaded") for r in latest.replicas
        )
        return Hop("scheduler", label, OK if live else BROKEN, detail)
    if kind == "Experiment":
        exp = state.experiments.get(name)
        if exp is None:
            return Hop("scheduler", label, BROKEN, f"the scheduler does not know experiment {name}")
        text = exp.status_description or ("active" if exp.active else "inactive")
        return Hop("scheduler", label, OK if exp.active else BROKEN, text)
    pipeline = state.pipelines.get(name)
    latest_p = pipeline.latest if pipeline is not None else None
    if latest_p is None:
        return Hop("scheduler", label, BROKEN, f"the scheduler does not know pipeline {name}")
    ok = latest_p.status == "PipelineReady"
    detail = f"version {latest_p.version} {latest_p.status}" + (
        f" ({latest_p.reason})" if latest_p.reason else ""
    )
    return Hop("scheduler", label, OK if ok else BROKEN, detail)


def _probe_hop(result: Any, error: str | None) -> Hop:
    if result is None:
        return Hop("probe", "probe", UNKNOWN, error or "no answer")
    label = f"probe GET {result.url} (seldon-model: {result.seldon_model or '-'})"
    detail = f"HTTP {result.status}, {result.verdict}: {result.detail}"
    if result.ok:
        via = " through Envoy" if result.via_envoy else ""
        detail = f"HTTP {result.status}{via}" + (
            f", served by {result.seldon_route}" if result.seldon_route else ""
        )
    return Hop("probe", label, OK if result.ok else BROKEN, detail)
