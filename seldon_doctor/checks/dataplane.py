"""Data-plane checks: what Envoy and the scheduler really hold, against what the CRs declare.

SD602–SD605 read Envoy config dumps (``--envoy-config-dump`` or ``--envoy-admin``); SD606
compares each Envoy with what its scheduler's xDS server serves (``--scheduler-xds``); SD607
compares the CRs' status with the scheduler's own view (``--scheduler``). Facts relied on are in
the reference: routes on listener ``seldon_http`` → route config ``listener_0``, header
``seldon-model`` exact ``<name>`` / ``<name>.experiment`` / ``<name>.pipeline``, weighted
clusters ``<model>_<version>_http`` with request header ``seldon-internal-model``.
"""

from __future__ import annotations

import weakref
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

from seldon_doctor.checks.base import ENVOY, Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import TOPOLOGY_READS, envoy_label
from seldon_doctor.domain.envoy_routes import (
    MAIN_LISTENER,
    MAIN_ROUTE_CONFIG,
    cluster_target,
    main_routes,
    request_path,
    route_target,
)
from seldon_doctor.findings import Evidence, Finding, ResourceRef
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Node
from seldon_doctor.graph.seldon import is_ready, route_header
from seldon_doctor.snapshot import EnvoyObservation

SELDON_KINDS = ("Model", "Experiment", "Pipeline")


def envoy_subject(graph: DeploymentGraph, obs: EnvoyObservation) -> Node | ResourceRef:
    """The seldon-envoy Deployment of the observed Envoy (or a reference to it)."""
    node = graph.get("Deployment", obs.namespace, "seldon-envoy")
    if node is not None:
        return node
    return ResourceRef("Deployment", obs.namespace, "seldon-envoy")


def served_namespaces(graph: DeploymentGraph, envoy_namespace: str) -> set[str]:
    """Namespaces whose ``seldon-mesh`` leads to the Envoy in ``envoy_namespace``."""
    namespaces = graph.namespaces_with(*SELDON_KINDS)
    index = _SERVED.get(graph)
    if index is None:
        # Built once per graph: asking every namespace again for every Envoy was quadratic.
        index = defaultdict(set)
        for ns in namespaces:
            for serving in graph.envoys_serving(ns):
                index[serving.namespace].add(ns)
        _SERVED[graph] = index
    else:
        graph.envoys_serving(envoy_namespace)  # record the kinds the answer depends on
    return {envoy_namespace} | index.get(envoy_namespace, set())


_SERVED: weakref.WeakKeyDictionary[DeploymentGraph, dict[str, set[str]]] = (
    weakref.WeakKeyDictionary()
)


def dumps(graph: DeploymentGraph) -> list[EnvoyObservation]:
    return [o for o in graph.snapshot.envoys if o.config is not None]


class RouteOrphaned(Check):
    """SD602: Envoy routes a Model/Experiment/Pipeline that no CR it serves declares."""

    id = "SD602"
    reads = TOPOLOGY_READS | {"Model", "Experiment", "Pipeline"}
    needs = frozenset({ENVOY})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        for obs in dumps(graph):
            namespaces = served_namespaces(graph, obs.namespace)
            if not any(graph.nodes(kind, ns) for kind in SELDON_KINDS for ns in namespaces):
                self.skip(
                    ctx,
                    "the input holds no Model, Experiment or Pipeline served by this Envoy, so "
                    "orphaned routes cannot be told from missing input",
                    obs.namespace,
                    subject=f"the Envoy in {obs.namespace}",
                    input="manifests",
                )
                continue
            seen: set[tuple[str, str]] = set()
            for route in main_routes(obs.config):
                target = route_target(route)
                if target is None or target in seen:
                    continue
                seen.add(target)
                kind, name = target
                if any(
                    (n := graph.get(kind, ns, name)) is not None and n.obj is not None
                    for ns in namespaces
                ):
                    continue
                header = route_header(kind, name)
                where = ", ".join(sorted(namespaces))
                partial = next(
                    (ns for ns in sorted(namespaces) if not graph.complete(kind, ns)), None
                )
                if partial is not None:
                    self.unresolved(
                        ctx,
                        ResourceRef(kind, obs.namespace, name),
                        f"the {kind} that Envoy route {route.name} (seldon-model: {header}) "
                        f"serves, in {where}",
                        kind,
                        partial,
                    )
                    continue
                elsewhere = sorted(
                    n.namespace for n in graph.nodes(kind) if n.name == name and n.obj is not None
                )
                cause = (
                    f"A {kind} {name} exists in {', '.join(elsewhere)}, whose seldon-mesh leads "
                    "elsewhere: namespaces share this scheduler (it keys resources by name only)"
                    if elsewhere
                    else f"Its scheduler still holds {kind.lower()} {name} although Kubernetes "
                    "deleted it (a deletion lost across a scheduler restart), or a namespace "
                    "missing from the input shares this scheduler"
                )
                yield self.finding(
                    ResourceRef(kind, obs.namespace, name),
                    f"The Envoy in {obs.namespace} routes seldon-model: {header} (route "
                    f"{route.name}), but no {kind} {name} exists in the namespaces it serves "
                    f"({where}). {cause}; requests for it are served by something this "
                    "namespace does not manage.",
                    evidence=[
                        Evidence(
                            f"{envoy_label(obs)} ({obs.origin.describe()})",
                            f"route {route.name}",
                            f"seldon-model: {header}",
                            "clusters: " + ", ".join(c.name for c in route.clusters),
                        ),
                        Evidence(f"{kind} {name}", None, None, f"absent from {where}"),
                    ],
                    params={
                        "header": header,
                        "envoy_namespace": obs.namespace,
                        "plural": kind.lower() + "s",
                        "route": route.name,
                    },
                )


class RouteClusterWithoutEndpoints(Check):
    """SD603: a route sends traffic to a cluster Envoy lacks, or one with no endpoints."""

    id = "SD603"
    reads = frozenset({"Model", "Experiment", "Pipeline"})
    needs = frozenset({ENVOY})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        for obs in dumps(graph):
            config = obs.config
            has_eds = _has_eds_section(obs.raw)
            for route in main_routes(config):
                target = route_target(route)
                problems: list[tuple[str, str]] = []
                for wc in route.clusters:
                    if wc.weight <= 0:
                        continue
                    cluster = config.clusters.get(wc.name)
                    if cluster is None:
                        problems.append(
                            (wc.name, "absent from the dump: Envoy answers 503 (flag NC)")
                        )
                    elif cluster.state == "error":
                        problems.append((wc.name, f"rejected by Envoy: {cluster.error}"))
                    elif not cluster.endpoints and (cluster.type != "EDS" or has_eds):
                        problems.append(
                            (wc.name, "has no endpoints: Envoy answers 503 no healthy upstream")
                        )
                if not problems:
                    continue
                kind, name = target if target else ("EnvoyRoute", route.name)
                node = graph.get(kind, obs.namespace, name) if target else None
                subject: Node | ResourceRef = (
                    node if node is not None else ResourceRef(kind, obs.namespace, name)
                )
                total = sum(max(c.weight, 0) for c in route.clusters) or 1
                share = sum(max(c.weight, 0) for c in route.clusters if c.name in dict(problems))
                percent = round(100 * share / total)
                names = ", ".join(p[0] for p in problems)
                yield self.finding(
                    subject,
                    f"Route {route.name} in the Envoy in {obs.namespace} sends {percent}% of "
                    f"its traffic to {names}: "
                    + "; ".join(f"{n} is {why}" for n, why in problems)
                    + ". The scheduler removed or never sent the cluster while the route "
                    "still names it (a model version gone, a stale Envoy, or a rejected "
                    "cluster update).",
                    evidence=[
                        Evidence(
                            f"{envoy_label(obs)} ({obs.origin.describe()})",
                            f"route {route.name} weighted_clusters",
                            ", ".join(f"{c.name}:{c.weight}" for c in route.clusters),
                        ),
                        *(
                            Evidence(f"cluster {n}", "dynamic_active_clusters", None, why)
                            for n, why in problems
                        ),
                    ],
                    params={
                        "route": route.name,
                        "clusters": names,
                        "envoy_namespace": obs.namespace,
                    },
                )


def _has_eds_section(raw: Any) -> bool:
    try:
        return any(
            str(c.get("@type", "")).endswith("EndpointsConfigDump") for c in raw.get("configs", [])
        )
    except AttributeError:
        return False


class ExperimentWeightsDrift(Check):
    """SD604: Envoy's weighted clusters for a Ready Experiment differ from its spec (C23)."""

    id = "SD604"
    reads = TOPOLOGY_READS | {"Experiment"}
    needs = frozenset({ENVOY})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        for experiment in graph.nodes("Experiment"):
            if experiment.obj is None or not is_ready(experiment.obj):
                continue
            spec = experiment.spec
            wanted: dict[str, int] = {}
            for candidate in spec.get("candidates") or []:
                if isinstance(candidate, dict) and isinstance(candidate.get("name"), str):
                    weight = candidate.get("weight")
                    wanted[candidate["name"]] = int(weight) if isinstance(weight, int) else 0
            if not wanted:
                continue
            ns = experiment.namespace
            headers = [("Experiment", route_header("Experiment", experiment.name))]
            default = spec.get("default")
            if isinstance(default, str) and default:
                kind = "Pipeline" if spec.get("resourceType") == "pipeline" else "Model"
                headers.append((kind, route_header(kind, default)))
            for serving in graph.envoys_serving(ns):
                for obs in serving.observations:
                    if obs.config is None:
                        continue
                    for kind, header in headers:
                        problems, seen = self._compare(obs.config, kind, header, wanted)
                        if seen is None:
                            break  # no experiment route: SD601's finding, not a drift
                        if not problems:
                            continue
                        expected = ", ".join(f"{k}:{v}" for k, v in wanted.items())
                        yield self.finding(
                            experiment,
                            f"Experiment {ns}/{experiment.name} is Ready with candidates "
                            f"{expected}, but the Envoy in {serving.namespace} splits "
                            f"seldon-model: {header} as {seen}: " + "; ".join(problems) + ". "
                            "Traffic does not follow the Experiment (edits that append weighted "
                            "clusters instead of replacing them, or a stale Envoy).",
                            evidence=[
                                node_evidence(experiment, "spec.candidates", expected),
                                Evidence(
                                    f"{envoy_label(obs)} ({obs.origin.describe()})",
                                    f"route for seldon-model: {header}",
                                    seen,
                                ),
                            ],
                            params={
                                "header": header,
                                "envoy_namespace": serving.namespace,
                                "expected": expected,
                            },
                        )

    @staticmethod
    def _compare(
        config: Any, kind: str, header: str, wanted: dict[str, int]
    ) -> tuple[list[str], str | None]:
        from seldon_doctor.domain.envoy_routes import find_route

        path = request_path(kind, header.split(".", 1)[0])
        route = find_route(config, MAIN_LISTENER, path, {"seldon-model": header})
        if route is None:
            return [], None  # no route at all is SD601's finding
        seen = ", ".join(f"{c.name}:{c.weight}" for c in route.clusters) or "no clusters"
        problems: list[str] = []
        # From 2.9.0 a pipeline Experiment's split slice is allocated with len(candidates) and
        # then appended to (processor/incremental.go): that many empty weight-0 splits come
        # first, for no pipeline (header ".pipeline"; HEAD names them _pipeline_http). And up
        # to 2.9.x every pipeline split uses the one cluster pipelinegateway_http/_grpc
        # (xdscache/resource.go), told apart only by seldon-internal-model. Neither is drift.
        clusters = [c for c in route.clusters if not (c.weight == 0 and not cluster_target(c))]
        counts = Counter((c.name, cluster_target(c)) for c in clusters)
        dup = sorted({n for (n, _), k in counts.items() if k > 1})
        if dup:
            problems.append(f"clusters listed more than once ({', '.join(dup)})")
        same_name = [
            r
            for r in config.route_configs.get(route.route_config, ())
            if r.name == route.name and r is not route
        ]
        if same_name:
            problems.append(f"route {route.name} appears {len(same_name) + 1} times")
        got: dict[str, int] = {}
        for c in clusters:
            target = cluster_target(c)
            got[target] = got.get(target, 0) + c.weight
        extra = sorted(t for t, w in got.items() if t not in wanted and w > 0)
        if extra:
            problems.append(f"{', '.join(extra)} not among the candidates")
        for name, weight in wanted.items():
            have = got.get(name, 0)
            if weight > 0 and name not in got:
                problems.append(f"candidate {name} (weight {weight}) gets no traffic")
            elif have != weight and not (weight == 0 and have == 0):
                problems.append(f"{name} weighted {have} instead of {weight}")
        return problems, seen


class ListenerRejected(Check):
    """SD605: an Envoy rejected a listener update, or has no active ``seldon_http`` (C20)."""

    id = "SD605"
    reads = frozenset({"Deployment"})
    needs = frozenset({ENVOY})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        for obs in dumps(graph):
            config = obs.config
            subject = envoy_subject(graph, obs)
            label = f"{envoy_label(obs)} ({obs.origin.describe()})"
            errors = [item for item in config.listeners if item.error]
            for listener in errors:
                yield self.finding(
                    subject,
                    f"The Envoy in {obs.namespace} rejected an update of listener "
                    f"{listener.name}: {listener.error}. It keeps serving its last good "
                    "listener or none; a rejection like this usually means the scheduler and "
                    "the Envoy image come from incompatible releases.",
                    evidence=[
                        Evidence(label, f"listener {listener.name} error_state", listener.error),
                        *graph.log_evidence(self.id, obs.namespace),
                    ],
                    params={"listener": listener.name, "envoy_namespace": obs.namespace},
                    dedupe_key=f"{obs.namespace}/{listener.name}",
                )
            active = [
                item
                for item in config.listeners
                if item.name == MAIN_LISTENER and item.state == "active"
            ]
            if active or any(item.name == MAIN_LISTENER for item in errors):
                continue
            states = sorted({item.state for item in config.listeners if item.name == MAIN_LISTENER})
            why = (
                f"only in state {', '.join(states)}"
                if states
                else "absent (the scheduler's xDS never delivered it, or it was rejected)"
            )
            ready = f"; /ready says {obs.ready}" if obs.ready else ""
            yield self.finding(
                subject,
                f"The Envoy in {obs.namespace} has no active {MAIN_LISTENER} listener: it is "
                f"{why}{ready}. Nothing listens for inference on port 9000: clients of "
                "seldon-mesh get connection refused or resets, whatever the Models' status.",
                evidence=[
                    Evidence(
                        label,
                        "listeners",
                        ", ".join(f"{i.name} ({i.state})" for i in config.listeners) or "none",
                    ),
                    *graph.log_evidence(self.id, obs.namespace),
                ],
                params={"listener": MAIN_LISTENER, "envoy_namespace": obs.namespace},
                dedupe_key=f"{obs.namespace}/{MAIN_LISTENER}",
            )


class EnvoyXdsStale(Check):
    """SD606: an Envoy's routes differ from what its scheduler's xDS server serves."""

    id = "SD606"
    reads = frozenset({"Deployment"})
    needs = frozenset({ENVOY})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        from seldon_doctor.domain.xds_diff import (
            diff_resources,
            resources_from_config_dump,
            resources_from_snapshot,
        )

        graph = ctx.graph
        served = {x.namespace: x for x in graph.snapshot.xds}
        if not served:
            self.skip(
                ctx,
                "no scheduler xDS was read ("
                + (
                    "--dataplane"
                    if ctx.graph.snapshot.live
                    else "--scheduler-xds NAMESPACE=HOST:9002"
                )
                + "), so what "
                "Envoy holds cannot be compared with what its scheduler serves",
            )
            return
        for obs in graph.snapshot.envoys:
            xds = served.get(obs.namespace)
            if xds is None:
                self.skip(
                    ctx,
                    "no xDS read from the scheduler of this Envoy "
                    "(--scheduler-xds NAMESPACE=HOST:9002)",
                    obs.namespace,
                    subject=f"the Envoy in {obs.namespace}",
                    input="xds",
                )
                continue
            if not isinstance(obs.raw, dict):
                continue
            diff = diff_resources(
                resources_from_snapshot(xds.snapshot),
                resources_from_config_dump(obs.raw),
                route_configs=(MAIN_ROUTE_CONFIG,),
            )
            routes = diff.kinds.get("routes")
            clusters = diff.kinds.get("clusters")
            parts: list[str] = []
            if diff.routes_only_served:
                parts.append(f"routes it lacks: {', '.join(diff.routes_only_served)}")
            if diff.routes_only_in_envoy:
                parts.append(
                    f"routes the scheduler no longer serves: {', '.join(diff.routes_only_in_envoy)}"
                )
            if routes and routes.different and not parts:
                parts.append(f"route configuration {', '.join(routes.different)} differs")
            if clusters and (clusters.only_served or clusters.only_in_envoy):
                if clusters.only_served:
                    parts.append(f"clusters it lacks: {', '.join(clusters.only_served)}")
                if clusters.only_in_envoy:
                    parts.append(
                        "clusters the scheduler no longer serves: "
                        + ", ".join(clusters.only_in_envoy)
                    )
            if not parts:
                continue
            yield self.finding(
                envoy_subject(graph, obs),
                f"The Envoy in {obs.namespace} does not hold what the scheduler at "
                f"{xds.target} serves: " + "; ".join(parts) + ". Envoy is stale (its ADS "
                "stream is stuck or follows another scheduler instance: split brain), so "
                "requests 404 or reach versions the scheduler already withdrew.",
                evidence=[
                    Evidence(
                        f"{envoy_label(obs)} ({obs.origin.describe()})",
                        "xDS diff",
                        "; ".join(parts),
                    ),
                    Evidence(f"scheduler xDS {xds.target}", "node", xds.snapshot.node_id),
                ],
                params={"envoy_namespace": obs.namespace, "scheduler": xds.target},
            )


class SchedulerStateDiverged(Check):
    """SD607: CR status and the scheduler's own view disagree (C07, C24)."""

    id = "SD607"
    reads = frozenset({"Model", "Experiment", "Pipeline"})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        observations = graph.snapshot.schedulers
        if not observations:
            self.skip(
                ctx,
                "no scheduler state was read ("
                + ("--dataplane" if graph.snapshot.live else "--scheduler NAMESPACE=HOST:9004")
                + "), so the CRs' status cannot be compared with the scheduler's view",
            )
            return
        for obs in observations:
            state = obs.state
            ns = obs.namespace
            if "ModelStatus" not in state.errors:
                yield from self._models(graph, obs.namespace, obs.target, state)
            if "ExperimentStatus" not in state.errors:
                yield from self._experiments(graph, ns, obs.target, state)
            if "PipelineStatus" not in state.errors:
                yield from self._pipelines(graph, ns, obs.target, state)

    def _diverged(
        self, subject: Node | ResourceRef, target: str, cr: str, sched: str, detail: str
    ) -> Finding:
        return self.finding(
            subject,
            f"{detail} Kubernetes and the scheduler disagree, so `kubectl get` is not what "
            "serves traffic.",
            evidence=[
                Evidence(
                    str(subject.ref() if isinstance(subject, Node) else subject), "status", cr
                ),
                Evidence(f"scheduler {target}", "status RPC", sched),
            ],
            params={"scheduler": target},
        )

    def _models(
        self, graph: DeploymentGraph, ns: str, target: str, state: Any
    ) -> Iterator[Finding]:
        models = {
            name: m
            for name, m in state.models.items()
            if not m.deleted and (m.latest is None or m.latest.namespace in (None, "", ns))
        }
        for model in graph.nodes("Model", ns):
            if model.obj is None or not is_ready(model.obj):
                continue
            seen = models.get(model.name)
            if seen is None or seen.latest is None:
                yield self._diverged(
                    model,
                    target,
                    "Ready",
                    "unknown",
                    f"Model {ns}/{model.name} is Ready in Kubernetes, but the scheduler at "
                    f"{target} does not know it (it lost its in-memory state, e.g. a scheduler "
                    "and server restart, and the controller did not re-send the Model).",
                )
                continue
            latest = seen.latest
            live = [r for r in latest.replicas if r.state in ("Available", "Loaded")]
            if latest.available_replicas > 0 or live:
                continue
            replicas = ", ".join(f"{r.index}:{r.state}" for r in latest.replicas) or "none"
            yield self._diverged(
                model,
                target,
                "Ready",
                f"{latest.state} on {latest.server or 'no server'}, replicas {replicas}",
                f"Model {ns}/{model.name} is Ready in Kubernetes, but the scheduler at {target} "
                f"has it loaded on no replica (version {latest.version}: {latest.state}"
                + (f", {latest.reason}" if latest.reason else "")
                + ").",
            )
        for name, seen in sorted(models.items()):
            latest = seen.latest
            if latest is None or latest.state != "ModelAvailable":
                continue
            node = graph.get("Model", ns, name)
            if node is None or node.obj is None:
                if latest.namespace == ns:
                    yield self._diverged(
                        ResourceRef("Model", ns, name),
                        target,
                        "absent",
                        f"ModelAvailable on {latest.server}",
                        f"The scheduler at {target} serves Model {name} for {ns}, but no such "
                        "Model exists in Kubernetes (a deletion the scheduler never got).",
                    )
            elif not is_ready(node.obj):
                yield self._diverged(
                    node,
                    target,
                    "not Ready",
                    f"ModelAvailable on {latest.server}",
                    f"Model {ns}/{name} is not Ready in Kubernetes, but the scheduler at "
                    f"{target} has it ModelAvailable on {latest.server} (the status update "
                    "did not reach the controller).",
                )

    def _experiments(
        self, graph: DeploymentGraph, ns: str, target: str, state: Any
    ) -> Iterator[Finding]:
        for experiment in graph.nodes("Experiment", ns):
            if experiment.obj is None or not is_ready(experiment.obj):
                continue
            seen = state.experiments.get(experiment.name)
            if seen is not None and seen.active:
                continue
            what = (
                "does not know it"
                if seen is None
                else "has it inactive"
                + (f" ({seen.status_description})" if seen.status_description else "")
            )
            yield self._diverged(
                experiment,
                target,
                "Ready",
                "unknown" if seen is None else "inactive",
                f"Experiment {ns}/{experiment.name} is Ready in Kubernetes, but the scheduler at "
                f"{target} {what}.",
            )

    def _pipelines(
        self, graph: DeploymentGraph, ns: str, target: str, state: Any
    ) -> Iterator[Finding]:
        for pipeline in graph.nodes("Pipeline", ns):
            if pipeline.obj is None or not is_ready(pipeline.obj):
                continue
            seen = state.pipelines.get(pipeline.name)
            latest = seen.latest if seen is not None else None
            if latest is not None and latest.status == "PipelineReady":
                continue
            what = (
                "does not know it"
                if latest is None
                else f"has it {latest.status}" + (f" ({latest.reason})" if latest.reason else "")
            )
            yield self._diverged(
                pipeline,
                target,
                "Ready",
                "unknown" if latest is None else latest.status,
                f"Pipeline {ns}/{pipeline.name} is Ready in Kubernetes, but the scheduler at "
                f"{target} {what}.",
            )
