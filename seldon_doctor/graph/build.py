"""Build the deployment graph from a snapshot, and answer the questions checks ask of it.

Two modes, chosen by what the input holds:

* **observed** (a live scan, a snapshot bundle, or files that include Pods): the objects are
  facts. Endpoints, pod readiness and statuses are read as they are.
* **manifest** (what a CI gate sees): nothing has run yet. The graph adds what Seldon's
  controllers *will* create — the SeldonRuntime's scheduler StatefulSet, Envoy Deployment and
  its ``seldon-scheduler``/``seldon-mesh`` Services (created unconditionally, even with
  ``replicas: 0``), a Server's StatefulSet and per-replica Services — marked as implied, so
  the same checks can reason about the intended topology. Where the input says nothing about
  a namespace, answers are ``unknown`` instead of guesses.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from seldon_doctor import logs
from seldon_doctor.findings import Evidence
from seldon_doctor.graph import seldon, shape
from seldon_doctor.graph.model import (
    Backend,
    Consumer,
    Edge,
    Node,
    Resolution,
    node_id,
)
from seldon_doctor.graph.resolve import (
    MAX_ALIAS_HOPS,
    MAX_IMPLIED_REPLICA_SLOTS,
    WORKLOAD_KINDS,
    Resolver,
    _replicas,
    parse_service_host,
    selector_of,
)
from seldon_doctor.graph.store import MultiDiGraph
from seldon_doctor.snapshot import EnvoyObservation, KubeObject, Snapshot

__all__ = [
    "MAX_ALIAS_HOPS",
    "MAX_IMPLIED_REPLICA_SLOTS",
    "WORKLOAD_KINDS",
    "DeploymentGraph",
    "EnvoyServing",
    "build_graph",
    "experiment_references",
    "parse_service_host",
    "selector_of",
]


@dataclass(frozen=True, slots=True)
class EnvoyServing:
    """The Envoy instances that serve one namespace's traffic (through ``seldon-mesh``)."""

    namespace: str  # namespace the Envoy runs in
    observations: tuple[EnvoyObservation, ...]
    mesh: Resolution


_T = TypeVar("_T")


class DeploymentGraph(Resolver):
    """Nodes and edges of one scan, plus the query API checks use.

    ``recorder``, when set, collects every kind a caller reads, so the meta-tests can prove
    each check declares exactly the inputs it uses (and the live source lists only those).
    """

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.observed = snapshot.live or any(obj.kind == "Pod" for obj in snapshot.objects)
        self.g = MultiDiGraph()
        self.recorder: set[str] | None = None
        self.duplicates: list[str] = []
        # What graph/shape.py fixed in the input (wrong-typed fields): report warnings.
        self.input_notes: list[str] = []
        self._nodes: dict[str, Node] = {}
        self._by_kind: dict[str, list[Node]] = defaultdict(list)
        self._by_kind_ns: dict[tuple[str, str], list[Node]] = defaultdict(list)
        self._resolve_cache: dict[tuple[str, str], Resolution] = {}
        self._consumer_cache: dict[str, tuple[Consumer, ...]] = {}
        self._pods_cache: dict[str, list[Node]] = {}
        self._backends_cache: dict[str, tuple[tuple[Backend, ...], bool]] = {}
        self._pods_by_label: dict[tuple[str, str, str], list[Node]] | None = None
        self._capabilities_cache: dict[str, seldon.Capabilities] = {}
        self._namespaces_with_cache: dict[tuple[str, ...], list[str]] = {}
        self._namespaces_of_kind: dict[str, set[str]] | None = None
        self._log_matches: list[logs.LogMatch] | None = None
        self._memo: dict[Hashable, Any] = {}
        self.envoys: dict[str, list[EnvoyObservation]] = defaultdict(list)
        for obs in snapshot.envoys:
            self.envoys[obs.namespace].append(obs)
        self._build()

    # ------------------------------------------------------------------ construction
    def _add(self, node: Node) -> Node:
        # Runs once per object (tens of thousands): each attribute is read once.
        node_id_, kind = node.id, node.kind
        existing = self._nodes.get(node_id_)
        if existing is not None:
            if existing.obj is not None and node.obj is not None:
                self.duplicates.append(
                    f"{node_id_} appears twice ({existing.obj.origin.describe()} and "
                    f"{node.obj.origin.describe()}); the last one is used"
                )
                existing.obj = node.obj
            return existing
        self._nodes[node_id_] = node
        self._by_kind[kind].append(node)
        self._by_kind_ns[(kind, node.namespace)].append(node)
        self.g.add_node(node_id_, kind=kind, implied=bool(node.implied_by), missing=node.missing)
        return node

    def _edge(self, src: str, dst: str, edge: Edge, **attrs: Any) -> None:
        # put_edge takes one dict: add_edge(key=..., type=..., **attrs) rebuilt it per edge.
        name = str(edge)
        self.g.put_edge(src, dst, name, {"type": name, **attrs})

    def _build(self) -> None:
        for original in self.snapshot.objects:
            kind, namespace, name = original.identity()
            if kind and name:
                # Wrong container shapes are fixed once here (graph/shape.py), with a note.
                obj, notes = shape.conform(original)
                if obj is not original:  # a fix may have dropped a wrong-typed name
                    self.input_notes.extend(notes)
                    kind, namespace, name = obj.identity()
                self._add(Node(kind, namespace, name, obj))
        self.known_namespaces = {n.name for n in self._by_kind.get("Namespace", [])}
        # Every node so far is an object's, filed by (kind, namespace): its keys are enough.
        self.namespaces_with_objects = {ns for (_, ns) in self._by_kind_ns if ns}
        self.controllers = []
        for deployment in self._by_kind.get("Deployment", []):
            assert deployment.obj is not None
            scope = seldon.controller_scope(deployment.obj)
            if scope is not None:
                deployment.props["watch_scope"] = scope
                self.controllers.append(deployment)
        if not self.observed:
            self._add_implied()
        elif self.snapshot.pending:  # what-if: a change over an observed cluster
            self._add_implied(self.snapshot.pending)
        self._link()

    def _runtime_config(self, runtime: Node) -> KubeObject | None:
        name = str(runtime.spec.get("seldonConfig") or "")
        for candidate in self._by_kind.get("SeldonConfig", []):
            if candidate.name == name and candidate.namespace in self.controller_namespaces():
                return candidate.obj
        matches = [c.obj for c in self._by_kind.get("SeldonConfig", []) if c.name == name]
        return matches[0] if matches else None

    def _add_implied(self, only: frozenset[tuple[str, str, str]] | None = None) -> None:
        """Add the objects Seldon's controllers create from SeldonRuntimes and Servers (with
        ``only``: from those not applied yet, over an observed cluster)."""
        for runtime in list(self._by_kind.get("SeldonRuntime", [])):
            if only is not None and (runtime.kind, runtime.namespace, runtime.name) not in only:
                continue
            assert runtime.obj is not None
            ns = runtime.namespace
            replicas = seldon.runtime_component_replicas(runtime.obj, self._runtime_config(runtime))
            runtime.props["component_replicas"] = replicas
            for component, count in replicas.items():
                kind = "StatefulSet" if component == seldon.SCHEDULER else "Deployment"
                if self.get(kind, ns, component, record=False) is None:
                    labels = {seldon.NAME_LABEL: component}
                    node = self._add(
                        Node(
                            kind,
                            ns,
                            component,
                            implied_by=runtime.id,
                            props={
                                "replicas": count,
                                "template_labels": labels,
                                "labels": labels,
                                "origin": runtime.origin,
                            },
                        )
                    )
                    self._edge(runtime.id, node.id, Edge.IMPLIES)
            for service, component in seldon.RUNTIME_SERVICES.items():
                existing = self.get("Service", ns, service, record=False)
                selector = {seldon.NAME_LABEL: component}
                if existing is not None and existing.obj is not None:
                    if existing.obj.spec.get("selector") != selector:
                        # The controller owns this name and reasserts its own spec on every
                        # reconcile (PR #6617): the manifest's version will not survive.
                        existing.props["replaced_by_runtime"] = runtime.id
                        existing.props["spec"] = {"selector": selector, "type": "ClusterIP"}
                    continue
                node = self._add(
                    Node(
                        "Service",
                        ns,
                        service,
                        implied_by=runtime.id,
                        props={
                            "spec": {"selector": selector, "type": "ClusterIP"},
                            "origin": runtime.origin,
                        },
                    )
                )
                self._edge(runtime.id, node.id, Edge.IMPLIES)
        for server in list(self._by_kind.get("Server", [])):
            if only is not None and (server.kind, server.namespace, server.name) not in only:
                continue
            ns, name = server.namespace, server.name
            wanted = server.spec.get("replicas")
            count = wanted if isinstance(wanted, int) else 1
            if self.get("StatefulSet", ns, name, record=False) is None:
                labels = {"seldon-server-name": name, seldon.NAME_LABEL: "seldon-server"}
                node = self._add(
                    Node(
                        "StatefulSet",
                        ns,
                        name,
                        implied_by=server.id,
                        props={
                            "replicas": count,
                            "template_labels": labels,
                            "labels": labels,
                            "origin": server.origin,
                        },
                    )
                )
                self._edge(server.id, node.id, Edge.IMPLIES)

    def _link(self) -> None:
        for controller in self.controllers:
            scope = controller.props["watch_scope"]
            targets = (
                sorted(self.all_namespaces()) if scope.all_namespaces else sorted(scope.namespaces)
            )
            for ns in targets:
                self._edge(controller.id, node_id("Namespace", "", ns), Edge.WATCHES)
        for experiment in self._by_kind.get("Experiment", []):
            kind = "Pipeline" if experiment.spec.get("resourceType") == "pipeline" else "Model"
            for field, name in experiment_references(experiment):
                target = self.get(kind, experiment.namespace, name, record=False)
                target_id = target.id if target else node_id(kind, experiment.namespace, name)
                if target is None and target_id not in self.g:
                    self.g.add_node(target_id, kind=kind, missing=True, implied=False)
                self._edge(experiment.id, target_id, Edge.REFERENCES, field=field)
        for model in self._by_kind.get("Model", []):
            pinned = model.spec.get("server")
            if isinstance(pinned, str) and pinned:
                target_id = node_id("Server", model.namespace, pinned)
                if target_id not in self.g:
                    self.g.add_node(target_id, kind="Server", missing=True, implied=False)
                self._edge(model.id, target_id, Edge.SCHEDULED_ON, field="spec.server")
        for kind in WORKLOAD_KINDS:
            for workload in self._by_kind.get(kind, []):
                for pod in self._workload_pods(workload):
                    self._edge(workload.id, pod.id, Edge.RUNS)
        for ns in sorted(self.all_namespaces()):
            for consumer in self.scheduler_consumers(ns, record=False):
                if consumer.resolution.chain:
                    self._edge(
                        consumer.subject,
                        consumer.resolution.chain[0],
                        Edge.DIALS,
                        host=consumer.host,
                        port=consumer.port,
                        role=consumer.role,
                    )
        for service in self._by_kind.get("Service", []):
            resolution = self.resolve(service.name, service.namespace, record=False)
            for first, second in zip(resolution.chain, resolution.chain[1:], strict=False):
                self._edge(first, second, Edge.RESOLVES_TO)
            if resolution.chain == (service.id,):
                for backend in resolution.backends:
                    self._edge(
                        service.id,
                        node_id("Pod", backend.namespace, backend.pod),
                        Edge.SELECTS,
                        ready=backend.ready,
                    )
        self._link_routes()

    def _link_routes(self) -> None:
        for ns, observations in sorted(self.envoys.items()):
            for index, obs in enumerate(observations):
                envoy_id = node_id("Envoy", ns, obs.pod or f"config-dump-{index}")
                self.g.add_node(envoy_id, kind="Envoy", implied=False, missing=False)
                config = obs.config
                if config is None:
                    continue
                for routes in config.route_configs.values():
                    for route in routes:
                        route_id = node_id("EnvoyRoute", ns, route.name)
                        self.g.add_node(route_id, kind="EnvoyRoute", implied=False, missing=False)
                        self._edge(envoy_id, route_id, Edge.HOSTS)
                        header = next(
                            (
                                h.value
                                for h in route.headers
                                if h.name == "seldon-model" and h.kind == "exact"
                            ),
                            None,
                        )
                        if header:
                            kind, name = _resource_for_header(header)
                            target = node_id(kind, ns, name)
                            if target in self.g:
                                self._edge(route_id, target, Edge.ROUTES_TO)

    # ------------------------------------------------------------------ queries
    def memoised(self, key: Hashable, compute: Callable[[], _T]) -> _T:
        """``compute()`` once per ``key`` for all checks (several place every Model); computed
        afresh while a recorder is on, so the meta-tests still see each check's own reads."""
        if self.recorder is not None:
            return compute()
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]  # type: ignore[no-any-return]

    def _record(self, *kinds: str) -> None:
        if self.recorder is not None:
            self.recorder.update(kinds)

    def nodes(self, kind: str, namespace: str | None = None, *, record: bool = True) -> list[Node]:
        """Nodes of one kind (observed and implied), optionally in one namespace."""
        if record:
            self._record(kind)
        if namespace is None:
            return list(self._by_kind.get(kind, ()))
        return list(self._by_kind_ns.get((kind, namespace), ()))

    def get(self, kind: str, namespace: str, name: str, *, record: bool = True) -> Node | None:
        if record:
            self._record(kind)
        return self._nodes.get(node_id(kind, namespace, name))

    def all_namespaces(self) -> set[str]:
        return self.known_namespaces | self.namespaces_with_objects

    def controller_namespaces(self) -> set[str]:
        return {c.namespace for c in self.controllers}

    def namespace_known(self, namespace: str) -> bool:
        """Whether the input says anything about a namespace (exists, or holds objects)."""
        return namespace in self.known_namespaces or namespace in self.namespaces_with_objects

    def namespace_exists(self, namespace: str) -> bool | None:
        """True/False when the input can tell; None when it holds only part of the Namespaces."""
        if self.namespace_known(namespace):
            return True
        if self.snapshot.is_complete("Namespace", ""):
            return False
        return None

    def complete(self, kind: str, namespace: str, *, record: bool = True) -> bool:
        """Whether the input holds every ``kind`` object of ``namespace`` (``""`` for a
        cluster-scoped kind, ``*`` for all namespaces): only there is "X does not exist" a
        fact. Elsewhere (manifests from one folder) an absent object may just live elsewhere.
        See docs/completeness.md."""
        if record:
            self._record(kind)
        return self.snapshot.is_complete(kind, namespace)

    def namespace_scanned(self, namespace: str) -> bool:
        """Whether this namespace's objects were read (False outside a live scan's -n)."""
        listed = self.snapshot.listed_namespaces
        return listed is None or namespace in listed

    # ------------------------------------------------------------------ consumers
    def scheduler_consumers(self, namespace: str, *, record: bool = True) -> tuple[Consumer, ...]:
        """Who dials a scheduler on behalf of this namespace's Seldon resources.

        The controller dials ``seldon-scheduler.<resource namespace>:9004`` (hard-coded);
        agents dial ``SELDON_SCHEDULER_HOST`` (default ``seldon-scheduler``) from their pod's
        namespace; Envoy's bootstrap dials ``seldon-scheduler:9002`` from Envoy's namespace;
        the dataflow engine dials ``SELDON_UPSTREAM_HOST``.
        """
        if record:
            self._record("Model", "Server", "Experiment", "Pipeline", "ServerConfig", "Deployment")
            self._record("Service", "Endpoints", "EndpointSlice", "Pod", "Namespace", "StatefulSet")
            self._record("SeldonRuntime")
        cached = self._consumer_cache.get(namespace)
        if cached is None:
            cached = tuple(self._consumers(namespace))
            self._consumer_cache[namespace] = cached
        return cached

    def _consumers(self, namespace: str) -> Iterator[Consumer]:
        has_resources = any(
            self._by_kind_ns.get((kind, namespace))
            for kind in ("Model", "Server", "Experiment", "Pipeline")
        )
        if not has_resources:
            return
        controllers = [c for c in self.controllers if c.props["watch_scope"].covers(namespace)]
        subject = (
            controllers[0].id
            if controllers
            else node_id("Controller", "", "seldon-controller-manager")
        )
        host = f"{seldon.SCHEDULER}.{namespace}"
        yield Consumer(
            "controller",
            subject,
            host,
            seldon.SCHEDULER_PORTS["scheduler"],
            self.resolve(host, namespace, record=False),
            "hard-coded seldon-scheduler.<namespace> (operator/scheduler/client.go)",
        )
        for server in self._by_kind_ns.get(("Server", namespace), ()):
            host, port, source = self._agent_target(server)
            yield Consumer(
                "agent", server.id, host, port, self.resolve(host, namespace, record=False), source
            )
        for serving in self.envoys_serving(namespace, record=False):
            dumps = [o for o in serving.observations if o.config is not None]
            xds = next((o.config.xds_address for o in dumps if o.config.xds_address), None)
            if xds is not None:
                host, port = str(xds[0]), int(xds[1])
                source = "Envoy config dump bootstrap xds_cluster"
            else:
                host, port = seldon.SCHEDULER, seldon.SCHEDULER_PORTS["xds"]
                source = "seldon-envoy image bootstrap (xds_cluster seldon-scheduler:9002)"
            subject = node_id("Deployment", serving.namespace, seldon.ENVOY)
            yield Consumer(
                "envoy",
                subject,
                host,
                port,
                self.resolve(host, serving.namespace, record=False),
                source,
            )
        if self._by_kind_ns.get(("Pipeline", namespace)):
            dataflow = self._nodes.get(node_id("Deployment", namespace, seldon.DATAFLOW))
            if dataflow is not None and _replicas(dataflow) > 0:
                host, source = seldon.SCHEDULER, "default SELDON_UPSTREAM_HOST"
                for container in _containers_of(dataflow):
                    env = seldon.env_of(container, namespace)
                    if "SELDON_UPSTREAM_HOST" in env:
                        host, source = env["SELDON_UPSTREAM_HOST"], "env SELDON_UPSTREAM_HOST"
                yield Consumer(
                    "dataflow",
                    dataflow.id,
                    host,
                    seldon.SCHEDULER_PORTS["dataflow"],
                    self.resolve(host, namespace, record=False),
                    source,
                )

    def _agent_target(self, server: Node) -> tuple[str, int, str]:
        sources: list[tuple[list[dict[str, Any]], str]] = []
        pods = (
            self.server_pods(server) if self.recorder is None else self._server_pods_quiet(server)
        )
        for pod in pods:
            sources.append((seldon.containers(pod.spec), f"Pod {pod.namespace}/{pod.name}"))
        sts = self._nodes.get(node_id("StatefulSet", server.namespace, server.name))
        if sts is not None and sts.obj is not None:
            sources.append((_containers_of(sts), f"StatefulSet {sts.namespace}/{sts.name}"))
        config = self.server_config(server, record=False)
        merged = seldon.merge_container_env(
            seldon.containers(config.spec.get("podSpec")) if config and config.obj else [],
            seldon.containers(server.spec.get("podSpec")),
        )
        sources.append((merged, "ServerConfig + Server podSpec"))
        for container_list, where in sources:
            for container in container_list:
                env = seldon.env_of(container, server.namespace)
                if "SELDON_SCHEDULER_HOST" in env:
                    port = env.get("SELDON_SCHEDULER_PORT", "9005")
                    return (
                        env["SELDON_SCHEDULER_HOST"],
                        int(port) if port.isdigit() else 9005,
                        f"{where} container {container.get('name')} env SELDON_SCHEDULER_HOST",
                    )
        return seldon.SCHEDULER, 9005, "ServerConfig default SELDON_SCHEDULER_HOST=seldon-scheduler"

    def server_config(self, server: Node, *, record: bool = True) -> Node | None:
        """The ServerConfig a Server uses: looked up in the controller's namespace."""
        if record:
            self._record("ServerConfig", "Deployment")
        name = str(server.spec.get("serverConfig") or "")
        candidates = [c for c in self._by_kind.get("ServerConfig", ()) if c.name == name]
        for preferred in self.controller_namespaces() or {seldon.DEFAULT_CONTROLLER_NAMESPACE}:
            for candidate in candidates:
                if candidate.namespace == preferred:
                    return candidate
        same_ns = [c for c in candidates if c.namespace == server.namespace]
        ranked = same_ns or candidates
        return ranked[0] if ranked else None

    def capabilities(self, server: Node) -> seldon.Capabilities:
        self._record("ServerConfig", "Pod", "Deployment")
        cached = self._capabilities_cache.get(server.id)
        if cached is None:
            config = self.server_config(server, record=False)
            pods = [p.obj for p in self._server_pods_quiet(server) if p.obj is not None]
            assert server.obj is not None
            cached = seldon.compute_capabilities(server.obj, config.obj if config else None, pods)
            self._capabilities_cache[server.id] = cached
        return cached

    def envoys_serving(self, namespace: str, *, record: bool = True) -> tuple[EnvoyServing, ...]:
        """The Envoys that ``seldon-mesh`` in ``namespace`` leads to, with their dumps."""
        mesh = self.resolve(seldon.MESH_SERVICE, namespace, record=record)
        envoy_namespaces = sorted({b.namespace for b in mesh.backends})
        if not envoy_namespaces and mesh.chain:
            envoy_namespaces = [mesh.chain[-1].split("/")[1]]
        return tuple(
            EnvoyServing(ns, tuple(self.envoys.get(ns, ())), mesh) for ns in envoy_namespaces
        )

    def scheduler_instances(self, namespace: str) -> list[Node]:
        """Scheduler pods (observed) or StatefulSet (manifest) in a namespace."""
        self._record("Pod", "StatefulSet")
        return list(self._pods_labelled(namespace, seldon.NAME_LABEL, seldon.SCHEDULER))

    def namespaces_with(self, *kinds: str) -> list[str]:
        self._record(*kinds)
        cached = self._namespaces_with_cache.get(kinds)
        if cached is None:
            # One pass over the (kind, namespace) keys serves every kind set checks ask.
            by_kind = self._namespaces_of_kind
            if by_kind is None:
                by_kind = self._namespaces_of_kind = defaultdict(set)
                for kind, ns in self._by_kind_ns:
                    if ns:
                        by_kind[kind].add(ns)
            cached = sorted(set().union(*(by_kind.get(kind, ()) for kind in kinds)))
            self._namespaces_with_cache[kinds] = cached
        return list(cached)

    def log_evidence(
        self,
        check_id: str,
        namespace: str | None = None,
        subject: str | Iterable[str] | None = None,
        *,
        limit: int = 3,
    ) -> list[Evidence]:
        """Log lines (``scan --logs``) that support a ``check_id`` finding, as evidence.

        ``namespace`` narrows to the pods of that namespace plus those its consumers reach or
        are: the scheduler pods behind its ``seldon-scheduler``, its Envoy, its controller.
        ``subject`` (resource names) drops lines about other Models/Servers. Empty without logs.
        """
        if not self.snapshot.logs:
            return []
        if self._log_matches is None:
            self._log_matches = logs.match_logs(self.snapshot.logs)
        namespaces: set[str] | None = None
        if namespace is not None:
            namespaces = {namespace}
            for consumer in self.scheduler_consumers(namespace, record=False):
                namespaces.update(b.namespace for b in consumer.resolution.backends)
                parts = consumer.subject.split("/")
                if len(parts) == 3:  # Kind/namespace/name: the dialling workload's namespace
                    namespaces.add(parts[1])
        subjects = [subject] if isinstance(subject, str) else subject
        matches = logs.select(self._log_matches, check_id, namespaces, subjects)
        return logs.evidence(matches, limit)


def build_graph(snapshot: Snapshot) -> DeploymentGraph:
    """Build the deployment graph for one snapshot."""
    return DeploymentGraph(snapshot)


def experiment_references(experiment: Node) -> Iterable[tuple[str, str]]:
    """(field path, name) of every Model/Pipeline an Experiment names."""
    spec = experiment.spec
    default = spec.get("default")
    if isinstance(default, str) and default:
        yield "spec.default", default
    for index, candidate in enumerate(spec.get("candidates") or []):
        if isinstance(candidate, dict) and isinstance(candidate.get("name"), str):
            yield f"spec.candidates[{index}].name", candidate["name"]
    mirror = spec.get("mirror")
    if isinstance(mirror, dict) and isinstance(mirror.get("name"), str):
        yield "spec.mirror.name", mirror["name"]


def _resource_for_header(value: str) -> tuple[str, str]:
    if value.endswith(".experiment"):
        return "Experiment", value[: -len(".experiment")]
    if value.endswith(".pipeline"):
        return "Pipeline", value[: -len(".pipeline")]
    return "Model", value


def _containers_of(workload: Node) -> list[dict[str, Any]]:
    if workload.obj is None:
        return []
    return seldon.containers(seldon.pod_template_spec(workload.obj))
