"""Helpers shared by several check modules (one place, so no check module imports another).

Only check-side glue over the graph lives here: the kinds a family of checks reads, where a
namespace-level finding is anchored, which Servers a Model can land on, how many replicas a
Server has. Facts about Seldon/Kubernetes themselves belong in ``seldon_doctor.domain``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from seldon_doctor.checks.base import node_evidence
from seldon_doctor.domain.kserve import KSERVE_COMPONENTS
from seldon_doctor.findings import Evidence, ResourceRef, counted
from seldon_doctor.graph import seldon
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Node, Resolution, ResolutionStatus
from seldon_doctor.graph.seldon import Capabilities, model_requirements
from seldon_doctor.snapshot import EnvoyObservation

# ------------------------------------------------------------------ what checks read

TOPOLOGY_READS = frozenset(
    {
        "Namespace",
        "Service",
        "Endpoints",
        "EndpointSlice",
        "Pod",
        "StatefulSet",
        "Deployment",
        "SeldonRuntime",
        # In manifest mode a Server implies the StatefulSet that backs its Services.
        "Server",
    }
)

CONSUMER_READS = TOPOLOGY_READS | {"Model", "Server", "Experiment", "Pipeline", "ServerConfig"}
SCHEDULING_READS = TOPOLOGY_READS | {"Model", "Server", "ServerConfig", "Experiment", "Pipeline"}


def namespace_anchor(graph: DeploymentGraph, namespace: str) -> Node | ResourceRef:
    """The object a namespace-level finding is reported on: its SeldonRuntime, if any."""
    runtimes = graph.nodes("SeldonRuntime", namespace)
    if runtimes:
        return runtimes[0]
    return ResourceRef("Namespace", namespace, namespace)


# ------------------------------------------------------------------ routes

# ------------------------------------------------------------------ workloads


def pod_spec_containers(node: Node) -> list[dict[str, Any]]:
    """Containers of a Pod, a workload's template, or nothing for implied nodes."""
    if node.obj is None:
        return []
    return seldon.containers(seldon.pod_template_spec(node.obj))


def container_lists(node: Node) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(field path of the list, its containers) of every container list an object declares:
    a Pod's or workload template's, each SeldonConfig component's, a Server's or
    ServerConfig's podSpec, each KServe component's. The path is a prefix: a caller writes
    ``f"{path}[{name}]"`` only for the few containers it reports, not for all of them."""
    if node.obj is None:
        return
    kind = node.kind
    if kind in ("Deployment", "StatefulSet", "Pod"):
        yield (
            "spec.containers" if kind == "Pod" else "spec.template.spec.containers",
            pod_spec_containers(node),
        )
    elif kind == "SeldonConfig":
        for component in node.spec.get("components") or []:
            if isinstance(component, dict):
                path = f"spec.components[{component.get('name')}].podSpec.containers"
                yield path, seldon.containers(component.get("podSpec"))
    elif kind in ("ServerConfig", "Server"):
        yield "spec.podSpec.containers", seldon.containers(node.spec.get("podSpec"))
    elif kind == "InferenceService":
        for component in KSERVE_COMPONENTS:
            spec = node.spec.get(component)
            if isinstance(spec, dict):
                yield f"spec.{component}.containers", seldon.containers(spec)


def workload_replicas(node: Node) -> int:
    value = node.spec.get("replicas", 1) if node.obj is not None else node.props.get("replicas", 1)
    return value if isinstance(value, int) else 1


def uncovered_pods(graph: DeploymentGraph) -> list[Node]:
    """Observed Pods whose workload is not in the input (reported on their own; shared by
    several checks, so read-only)."""
    return graph.memoised("uncovered_pods", lambda: _uncovered_pods(graph))


def _uncovered_pods(graph: DeploymentGraph) -> list[Node]:
    covered: set[str] = set()
    for kind in ("Deployment", "StatefulSet"):
        for workload in graph.nodes(kind):
            if workload.obj is not None:
                covered.update(p.id for p in graph.pods_of(workload))
    return [p for p in graph.nodes("Pod") if p.id not in covered]


def servers_by_scheduler(graph: DeploymentGraph) -> dict[frozenset[str], list[Node]]:
    """Servers grouped by the scheduler instances their agents reach (read-only: shared)."""
    return graph.memoised("servers_by_scheduler", lambda: _servers_by_scheduler(graph))


def _servers_by_scheduler(graph: DeploymentGraph) -> dict[frozenset[str], list[Node]]:
    groups: dict[frozenset[str], list[Node]] = defaultdict(list)
    for ns in graph.namespaces_with("Server"):
        for consumer in graph.scheduler_consumers(ns):
            if consumer.role != "agent" or consumer.resolution.status != ResolutionStatus.OK:
                continue
            server = graph.get("Server", ns, consumer.subject.rsplit("/", 1)[1])
            if server is not None:
                groups[consumer.resolution.instance_keys()].append(server)
    return groups


def controller_scheduler_keys(graph: DeploymentGraph, namespace: str) -> frozenset[str] | None:
    """The scheduler instances the controller reaches for ``namespace``'s resources; None when
    that does not resolve. Asked per Model, Server and Pipeline by several checks: worked out
    once per namespace."""
    return graph.memoised(
        ("controller_scheduler_keys", namespace),
        lambda: _controller_scheduler_keys(graph, namespace),
    )


def _controller_scheduler_keys(graph: DeploymentGraph, namespace: str) -> frozenset[str] | None:
    controller = next(
        (c for c in graph.scheduler_consumers(namespace) if c.role == "controller"), None
    )
    if controller is None or controller.resolution.status != ResolutionStatus.OK:
        return None
    return controller.resolution.instance_keys()


def candidate_servers(
    graph: DeploymentGraph, model: Node, by_scheduler: dict[frozenset[str], list[Node]]
) -> tuple[list[Node], str]:
    """Servers the scheduler could place a Model on, and how they were chosen.

    The scheduler keys servers by name across every namespace it serves, so the candidates
    are the Servers whose agents reach the scheduler this Model's controller talks to; when
    the topology cannot be resolved, the Model's own namespace.
    """
    pinned = model.spec.get("server")
    if isinstance(pinned, str) and pinned:
        server = graph.get("Server", model.namespace, pinned)
        return ([server] if server else []), f"spec.server pins it to {pinned}"
    servers, how = graph.memoised(
        ("candidate_servers", model.namespace),
        lambda: _namespace_candidates(graph, model.namespace, by_scheduler),
    )
    return list(servers), how


def _namespace_candidates(
    graph: DeploymentGraph, namespace: str, by_scheduler: dict[frozenset[str], list[Node]]
) -> tuple[tuple[Node, ...], str]:
    """An unpinned Model's candidates depend on its namespace alone: computed once for all."""
    keys = controller_scheduler_keys(graph, namespace)
    if keys is not None:
        shared = by_scheduler.get(keys)
        if shared:
            scheds = ", ".join(sorted(keys))
            servers = sorted(shared, key=lambda s: s.id)
            return tuple(servers), f"Servers connected to scheduler {scheds}"
    return tuple(graph.nodes("Server", namespace)), f"Servers in namespace {namespace}"


# ------------------------------------------------------------------ server facts


@dataclass(slots=True)
class ReplicaCount:
    """How many replicas of a Server can take models, and how we know."""

    count: int | None  # None: the input cannot tell
    how: str
    evidence: list[Evidence] = field(default_factory=list)
    planned: bool = False  # manifest mode: the declared count, not an observation


def ready_replicas(graph: DeploymentGraph, server: Node) -> ReplicaCount:
    """Ready (agent connected) replicas of a Server; ``None`` when the input cannot tell.

    A pod is Ready only when every container is. The agent's readiness (2.9.1+) turns true at
    its first successful subscribe and stays true through later scheduler disconnects
    (``agent_svc_manager.go``), so a ready pod is an agent that connected once: the best
    evidence the objects give, not proof of a connection now.
    """
    wanted = server.spec.get("replicas")
    if wanted == 0:
        return ReplicaCount(
            0,
            "is scaled to 0 (spec.replicas: 0)",
            [node_evidence(server, "spec.replicas", 0)],
        )
    pods = graph.server_pods(server)
    if pods:
        ready = [p for p in pods if p.obj is not None and seldon.pod_ready(p.obj)]
        return ReplicaCount(
            len(ready),
            f"has {counted(len(ready), 'ready pod')} of {len(pods)}",
            [
                node_evidence(p, "status.conditions[Ready]", "True" if p in ready else "not True")
                for p in pods
            ],
        )
    if graph.observed and graph.complete("Pod", server.namespace):
        return ReplicaCount(
            0,
            f"has no pod at all (no pod labelled seldon-server-name={server.name})",
            [Evidence(f"Pods {server.namespace}", "seldon-server-name", server.name, "none")],
        )
    sts = graph.get("StatefulSet", server.namespace, server.name)
    if sts is not None and sts.obj is not None and sts.status:
        ready_count = sts.status.get("readyReplicas", 0)
        if isinstance(ready_count, int):
            return ReplicaCount(
                ready_count,
                f"has {counted(ready_count, 'ready replica')} (StatefulSet status)",
                [node_evidence(sts, "status.readyReplicas", ready_count)],
            )
    return ReplicaCount(None, "ready replicas unknown (no pods or status in the input)")


UNREACHABLE = frozenset(
    {
        ResolutionStatus.NO_BACKENDS,
        ResolutionStatus.NO_SERVICE,
        ResolutionStatus.NO_NAMESPACE,
        ResolutionStatus.LOOP,
    }
)


def unreachable(graph: DeploymentGraph, resolution: Resolution) -> bool:
    """The host leads nowhere, and the input is complete enough to say so (resolution answers
    UNKNOWN, not NO_SERVICE/NO_BACKENDS, where the input is partial)."""
    return resolution.status in UNREACHABLE


def connected_replicas(graph: DeploymentGraph, server: Node) -> ReplicaCount:
    """Replicas whose agent is connected to a scheduler: ready ones, unless the scheduler
    host the agents dial leads nowhere (then none can subscribe, whatever the pods say)."""
    ready = ready_replicas(graph, server)
    if ready.count == 0:
        return ready
    agent = next(
        (
            c
            for c in graph.scheduler_consumers(server.namespace)
            if c.role == "agent" and c.subject == server.id
        ),
        None,
    )
    if agent is None or not unreachable(graph, agent.resolution):
        return ready
    return ReplicaCount(
        0,
        f"has no agent that can connect: they dial {agent.host}:{agent.port}, which leads "
        f"nowhere ({agent.resolution.detail or agent.resolution.status.value})",
        [
            *ready.evidence,
            Evidence(
                f"agents of Server {server.namespace}/{server.name}",
                "dial",
                f"{agent.host}:{agent.port}",
                f"{agent.resolution.describe()}; host from {agent.source}",
            ),
        ],
    )


# ------------------------------------------------------------------ placement


@dataclass(slots=True)
class Placement:
    """Where the scheduler could put one Model, recomputed from the CRs."""

    model: Node
    requirements: tuple[tuple[str, str], ...]
    pinned: str | None
    candidates: list[Node]
    how: str
    # Candidates whose capabilities satisfy the Model, or are unknown (cannot be ruled out).
    compatible: list[tuple[Node, Capabilities]]

    @property
    def capability_blocked(self) -> bool:
        return bool(self.candidates) and not self.compatible


def placement(
    graph: DeploymentGraph, model: Node, by_scheduler: dict[frozenset[str], list[Node]]
) -> Placement:
    """Where ``model`` can go (``by_scheduler`` is :func:`servers_by_scheduler`'s answer);
    computed once per Model for every check that asks (read-only: shared)."""
    return graph.memoised(("placement", model.id), lambda: _placement(graph, model, by_scheduler))


def _placement(
    graph: DeploymentGraph, model: Node, by_scheduler: dict[frozenset[str], list[Node]]
) -> Placement:
    assert model.obj is not None
    requirements = model_requirements(model.obj)
    candidates, how = candidate_servers(graph, model, by_scheduler)
    compatible = []
    for server in candidates:
        caps = graph.capabilities(server)
        if not caps.known or all(req in caps.values for req, _ in requirements):
            compatible.append((server, caps))
    pinned = model.spec.get("server")
    return Placement(
        model,
        requirements,
        pinned if isinstance(pinned, str) and pinned else None,
        candidates,
        how,
        compatible,
    )


def servers_partial(graph: DeploymentGraph, model: Node, candidates: list[Node]) -> str | None:
    """A namespace where the input holds only part of the Servers ``model`` could land on.

    "No Server it can be placed on can …" is a closed-world statement: it holds only where
    the input has every Server of the Model's namespace and of the candidates' namespaces (a
    live scan, a captured List, ``--complete``). A Model pinned to a Server the input holds has
    that one candidate, whatever else exists. None: the candidates are all there is.
    """
    pinned = model.spec.get("server")
    if isinstance(pinned, str) and pinned and graph.get("Server", model.namespace, pinned):
        return None
    for ns in sorted({model.namespace} | {s.namespace for s in candidates}):
        if not graph.complete("Server", ns):
            return ns
    return None


def models_with_objects(graph: DeploymentGraph) -> list[Node]:
    return [m for m in graph.nodes("Model") if m.obj is not None]


def deleting(model: Node) -> bool:
    return bool(model.obj is not None and model.obj.metadata.get("deletionTimestamp"))


def envoy_label(obs: EnvoyObservation) -> str:
    return f"Envoy {obs.namespace}" + (f" pod {obs.pod}" if obs.pod else "")
