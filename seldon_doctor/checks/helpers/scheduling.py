"""What several scheduling checks (SD101, SD103-SD106) share.

Scheduling checks beyond capabilities: pins, replicas, memory, status and deletion.

Each check recomputes one of the scheduler's filters (``scheduler/pkg/scheduler/filters``)
from the CRs, the way SD102 does for ``ServerRequirementsFilter``:

* SD101 — ``SharingServerFilter``: ``spec.server`` must name a Server the scheduler knows;
* SD103 — the scheduler needs ``spec.replicas`` (or, from 2.9, ``spec.minReplicas``) replicas
  of *one* Server that pass the replica filters;
* SD104 — ``AvailableMemoryReplicaFilter``: ``spec.memory`` must fit in a replica;
* SD105 — what the Model's own status says, with the check that explains it;
* SD106 — a deletion held by ``seldon.model.finalizer``;
* SD512 — the scheduler's store is keyed by name alone, so namespaces sharing one scheduler
  must not reuse names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from seldon_doctor.checks.base import node_evidence
from seldon_doctor.checks.helpers.common import (
    Placement,
    ReplicaCount,
    connected_replicas,
    controller_scheduler_keys,
    servers_by_scheduler,
)
from seldon_doctor.domain.durations import collect_times
from seldon_doctor.domain.memory import ReplicaMemory, memory_from
from seldon_doctor.domain.quantities import parse_quantity
from seldon_doctor.domain.releases import STOCK_OVERCOMMIT_PERCENT
from seldon_doctor.domain.scheduler_reasons import MODEL_STATES
from seldon_doctor.domain.spelling import edit_distance
from seldon_doctor.findings import counted
from seldon_doctor.graph import seldon
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Node
from seldon_doctor.snapshot import JSONDict


def replica_capacity(graph: DeploymentGraph, server: Node) -> ReplicaCount:
    """Replicas a Model can be spread over: observed ready ones, or (manifests) the declared."""
    observed = connected_replicas(graph, server)
    if observed.count is not None or graph.observed:
        return observed
    wanted = server.spec.get("replicas")
    count = wanted if isinstance(wanted, int) else 1
    evidence = [node_evidence(server, "spec.replicas", count if isinstance(wanted, int) else None)]
    maximum = server.spec.get("maxReplicas")
    how = f"is declared with {counted(count, 'replica')}"
    if isinstance(maximum, int) and maximum > count:
        count = maximum
        how = f"may scale to {counted(maximum, 'replica')} (spec.maxReplicas)"
        evidence.append(node_evidence(server, "spec.maxReplicas", maximum))
    if not isinstance(wanted, int):
        evidence[0] = node_evidence(server, "spec.replicas", "unset (defaults to 1)")
    return ReplicaCount(count, how, evidence, planned=True)


def replica_memory(graph: DeploymentGraph, server: Node) -> ReplicaMemory | None:
    """MEMORY_REQUEST of the agent (from the inference container's memory request)."""
    for pod in graph.server_pods(server):
        found = memory_from(seldon.containers(pod.spec), f"Pod {pod.namespace}/{pod.name}")
        if found is not None:
            return found
    config = graph.server_config(server)
    if config is None or config.obj is None:
        return memory_assumed(server)
    merged = seldon.merge_container_env(
        seldon.containers(config.spec.get("podSpec")),
        seldon.containers(server.spec.get("podSpec")),
    )
    return memory_from(merged, f"ServerConfig {config.namespace}/{config.name} + Server podSpec")


def memory_assumed(server: Node) -> ReplicaMemory | None:
    """Without the ServerConfig: the upstream ``mlserver``/``triton`` agents take
    MEMORY_REQUEST from the container named like the config, so a request the Server's own
    podSpec sets on that container is what the agent reports (the default is not assumed), with
    the stock SELDON_OVERCOMMIT_PERCENTAGE."""
    name = str(server.spec.get("serverConfig") or "")
    if name not in seldon.DEFAULT_SERVERCONFIG_CAPABILITIES:
        return None
    agent: JSONDict = {
        "name": "agent",
        "env": [
            {"name": "SELDON_OVERCOMMIT_PERCENTAGE", "value": str(STOCK_OVERCOMMIT_PERCENT)},
            {
                "name": "MEMORY_REQUEST",
                "valueFrom": {
                    "resourceFieldRef": {"containerName": name, "resource": "requests.memory"}
                },
            },
        ],
    }
    own = [c for c in seldon.containers(server.spec.get("podSpec")) if c.get("name") == name]
    requests = ((own[0].get("resources") or {}).get("requests") or {}) if own else {}
    if not isinstance(requests, dict) or requests.get("memory") is None:
        return None
    found = memory_from(
        [agent, *own], f"Server podSpec (upstream ServerConfig {name} agent env assumed)"
    )
    return found


def wanted_replicas(model: Node) -> tuple[int, int | None]:
    """(spec.replicas defaulting to 1, spec.minReplicas when set above 0)."""
    replicas = model.spec.get("replicas")
    wanted = replicas if isinstance(replicas, int) and not isinstance(replicas, bool) else 1
    minimum = model.spec.get("minReplicas")
    if isinstance(minimum, int) and not isinstance(minimum, bool) and minimum > 0:
        return wanted, minimum
    return wanted, None


def scheduler_group_servers(graph: DeploymentGraph, model: Node, name: str) -> list[Node]:
    """Servers called ``name`` in other namespaces that share this Model's scheduler."""
    keys = controller_scheduler_keys(graph, model.namespace)
    if keys is None:
        return []
    out: list[Node] = []
    for keyset, servers in servers_by_scheduler(graph).items():
        if keyset & keys:
            out.extend(s for s in servers if s.name == name and s.namespace != model.namespace)
    return sorted(out, key=lambda s: s.id)


@dataclass(slots=True)
class PinProblem:
    pinned: str
    elsewhere: list[Node]
    suggestion: str | None
    in_namespace: list[str]


def pin_problem(graph: DeploymentGraph, model: Node) -> PinProblem | None:
    """The Model pins a Server that does not exist in its namespace (None: fine or unknown)."""
    pinned = model.spec.get("server")
    if not isinstance(pinned, str) or not pinned:
        return None
    if graph.get("Server", model.namespace, pinned) is not None:
        return None
    servers = graph.nodes("Server", model.namespace)
    elsewhere = scheduler_group_servers(graph, model, pinned)
    if not elsewhere and not graph.complete("Server", model.namespace):
        return None  # a CI gate may scan Models without the Servers they run on
    names = sorted({s.name for s in servers})
    close = min(names, key=lambda n: (edit_distance(pinned, n, 3), n), default=None)
    suggestion = close if close and edit_distance(pinned, close, 3) <= 3 else None
    return PinProblem(pinned, elsewhere, suggestion, names)


@dataclass(slots=True)
class ReplicaProblem:
    wanted: int
    minimum: int | None
    best: Node
    best_count: int
    counts: list[tuple[Node, ReplicaCount]]
    partial: bool  # minReplicas fit, replicas do not
    planned: bool


def replica_problem(graph: DeploymentGraph, place: Placement) -> ReplicaProblem | str | None:
    """Too few replicas on every compatible Server; a string says why it cannot be told."""
    wanted, minimum = wanted_replicas(place.model)
    if wanted <= 1 and (minimum or 0) <= 1:
        return None  # one replica: an absent or unready Server is SD201's finding
    if not place.compatible:
        return None
    counts = [(server, replica_capacity(graph, server)) for server, _ in place.compatible]
    unknown = [s.name for s, c in counts if c.count is None]
    if unknown:
        return f"ready replicas of {', '.join(unknown)} are unknown"
    best, best_count = max(((s, c.count or 0) for s, c in counts), key=lambda sc: sc[1])
    if best_count >= wanted:
        return None
    if best_count == 0:
        return None  # no ready replica at all: SD201
    partial = minimum is not None and best_count >= minimum
    planned = any(c.planned for _, c in counts)
    return ReplicaProblem(wanted, minimum, best, best_count, counts, partial, planned)


@dataclass(slots=True)
class MemoryProblem:
    memory: int
    raw: object
    best: Node
    best_memory: ReplicaMemory
    sizes: list[tuple[Node, ReplicaMemory]]
    # "schedule": above every replica's request × (1 + overcommit%), ScheduleFailed;
    # "load": passes the scheduler on some replica, then cannot load (ModelFailed);
    # "either": above main memory, overcommit unknown.
    outcome: str

    @property
    def required(self) -> int:
        return self.memory * self.best_memory.instances


def memory_problem(graph: DeploymentGraph, place: Placement) -> MemoryProblem | str | None:
    """The Model must fit in a replica's main memory (MEMORY_REQUEST) to load; the scheduler
    already refuses it above request × (1 + overcommit%)."""
    raw = place.model.spec.get("memory")
    if raw is None:
        return None
    memory = parse_quantity(raw)
    if memory is None or not place.compatible:
        return None
    sizes: list[tuple[Node, ReplicaMemory]] = []
    unknown = []
    for server, _ in place.compatible:
        size = replica_memory(graph, server)
        if size is None:
            unknown.append(server.name)
        else:
            sizes.append((server, size))
    if unknown:
        return (
            f"replica memory of {', '.join(unknown)} is unknown (no agent container, or its "
            "MEMORY_REQUEST / SELDON_REPLICA_CONFIG is not readable in the input)"
        )
    if any(memory * m.instances <= m.request for _, m in sizes):
        return None
    band = [(s, m) for s, m in sizes if m.limit is not None and memory * m.instances <= m.limit]
    unsure = [(s, m) for s, m in sizes if m.limit is None]
    if band:
        best, best_memory = max(band, key=lambda ss: ss[1].request)
        outcome = "load"
    elif unsure:
        best, best_memory = max(unsure, key=lambda ss: ss[1].request)
        outcome = "either"
    else:
        best, best_memory = max(sizes, key=lambda ss: ss[1].limit or 0)
        outcome = "schedule"
    return MemoryProblem(memory, raw, best, best_memory, sizes, outcome)


def model_state(model: Node) -> tuple[str, str, JSONDict] | None:
    """(scheduler state, scheduler reason, condition) of a not-ready Model, else None.

    The controller stores the scheduler *state* in the ModelReady condition's ``message`` and
    the free text in ``reason`` (``CreateAndSetCondition(type, isTrue, message, reason)``
    called with the two swapped). A tool that "fixed" the swap is tolerated.
    """
    cond = seldon.condition(model.status, "ModelReady")
    if cond is None:
        cond = seldon.condition(model.status, "Ready")
    if cond is None or str(cond.get("status")) == "True":
        return None
    message = str(cond.get("message") or "").strip()
    reason = str(cond.get("reason") or "").strip()
    if message not in MODEL_STATES and reason in MODEL_STATES:
        message, reason = reason, message
    return message or "ModelStateUnknown", reason, cond


def reference_time(graph: DeploymentGraph) -> tuple[datetime, str] | None:
    """'Now' for the input: the clock in a live scan, else the newest time the input records."""
    if graph.snapshot.live:
        captured = graph.snapshot.captured_at
        if captured is not None:
            return datetime.fromtimestamp(captured, UTC), "now"
        return datetime.now(UTC), "now"
    stamps: list[datetime] = []
    for obj in graph.snapshot.objects:
        collect_times({"metadata": obj.metadata, "status": obj.status}, stamps)
    if not stamps:
        return None
    return max(stamps), "the newest timestamp in the input"
