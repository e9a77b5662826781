"""Scheduling checks beyond capabilities: pins, replicas, memory, status and deletion.

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

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import (
    SCHEDULING_READS,
    Placement,
    ReplicaCount,
    connected_replicas,
    deleting,
    models_with_objects,
    placement,
    servers_by_scheduler,
    servers_partial,
    unreachable,
)
from seldon_doctor.domain.durations import collect_times, parse_time
from seldon_doctor.domain.memory import ReplicaMemory, memory_from
from seldon_doctor.domain.quantities import human_bytes, parse_quantity
from seldon_doctor.domain.releases import STOCK_OVERCOMMIT_PERCENT
from seldon_doctor.domain.scheduler_reasons import FAILED_STATES, MODEL_STATES, reason_meaning
from seldon_doctor.domain.spelling import edit_distance
from seldon_doctor.findings import Evidence, Finding, Severity
from seldon_doctor.graph import seldon
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Node, ResolutionStatus
from seldon_doctor.logs import attach
from seldon_doctor.snapshot import JSONDict

MODEL_FINALIZER = "seldon.model.finalizer"
STUCK_TERMINATING_AFTER = timedelta(minutes=10)


def replica_capacity(graph: DeploymentGraph, server: Node) -> ReplicaCount:
    """Replicas a Model can be spread over: observed ready ones, or (manifests) the declared."""
    observed = connected_replicas(graph, server)
    if observed.count is not None or graph.observed:
        return observed
    wanted = server.spec.get("replicas")
    count = wanted if isinstance(wanted, int) else 1
    evidence = [node_evidence(server, "spec.replicas", count if isinstance(wanted, int) else None)]
    maximum = server.spec.get("maxReplicas")
    how = f"is declared with {count} replica(s)"
    if isinstance(maximum, int) and maximum > count:
        count = maximum
        how = f"may scale to {maximum} replica(s) (spec.maxReplicas)"
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
        return _memory_assumed(server)
    merged = seldon.merge_container_env(
        seldon.containers(config.spec.get("podSpec")),
        seldon.containers(server.spec.get("podSpec")),
    )
    return memory_from(merged, f"ServerConfig {config.namespace}/{config.name} + Server podSpec")


def _memory_assumed(server: Node) -> ReplicaMemory | None:
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
    controller = next(
        (c for c in graph.scheduler_consumers(model.namespace) if c.role == "controller"), None
    )
    if controller is None or controller.resolution.status != ResolutionStatus.OK:
        return []
    keys = controller.resolution.instance_keys()
    out: list[Node] = []
    for keyset, servers in servers_by_scheduler(graph).items():
        if keyset & keys:
            out.extend(s for s in servers if s.name == name and s.namespace != model.namespace)
    return sorted(out, key=lambda s: s.id)


# ------------------------------------------------------------------ SD101


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


class ModelServerNotFound(Check):
    """SD101: ``spec.server`` names no Server in the Model's namespace."""

    id = "SD101"
    reads = SCHEDULING_READS

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        for model in models_with_objects(graph):
            pinned = model.spec.get("server")
            if not isinstance(pinned, str) or not pinned or deleting(model):
                continue
            problem = pin_problem(graph, model)
            if problem is None:
                if graph.get("Server", model.namespace, pinned) is None:
                    self.unresolved(
                        ctx,
                        model,
                        f"Server {model.namespace}/{pinned} (spec.server of Model "
                        f"{model.namespace}/{model.name})",
                        "Server",
                        model.namespace,
                    )
                continue
            yield attach(
                self._finding(model, problem),
                graph.log_evidence(self.id, model.namespace, model.name),
            )

    def _finding(self, model: Node, problem: PinProblem) -> Finding:
        ns = model.namespace
        evidence = [
            node_evidence(model, "spec.server", problem.pinned),
            Evidence(
                f"Servers in {ns}",
                "metadata.name",
                ", ".join(problem.in_namespace) or "none",
                f"no Server {problem.pinned}",
            ),
        ]
        severity = None
        if problem.elsewhere:
            where = ", ".join(f"{s.namespace}/{s.name}" for s in problem.elsewhere)
            evidence.extend(
                node_evidence(s, "metadata.name", s.name, "same scheduler, other namespace")
                for s in problem.elsewhere
            )
            message = (
                f"Model {ns}/{model.name} pins spec.server {problem.pinned}, which is not a "
                f"Server in {ns}; but the scheduler it shares with other namespaces keys Servers "
                f"by name alone and knows {where}, so the Model will be placed on another "
                "namespace's Server (its pods, its resources, its owners)."
            )
            severity = Severity.WARNING
        else:
            message = (
                f"Model {ns}/{model.name} pins spec.server {problem.pinned}, but there is no "
                f"Server {problem.pinned} in {ns}. The scheduler only places a pinned Model on "
                "the Server of that name (SharingServerFilter), so it stays ScheduleFailed "
                "('Failed to schedule model as no matching servers are available')."
            )
        if problem.suggestion:
            message += f" Did you mean {problem.suggestion}?"
        return self.finding(
            model,
            message,
            evidence=evidence,
            severity=severity,
            predicts_failure_of=model,
            params={
                "server": problem.pinned,
                "suggestion": problem.suggestion or "<server>",
            },
        )


# ------------------------------------------------------------------ SD103


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


class ModelReplicasExceedServer(Check):
    """SD103: a Model wants more replicas than any compatible Server has."""

    id = "SD103"
    reads = SCHEDULING_READS

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        by_scheduler = servers_by_scheduler(graph)
        for model in models_with_objects(graph):
            if deleting(model):
                continue
            place = placement(graph, model, by_scheduler)
            problem = replica_problem(graph, place)
            if isinstance(problem, str):
                self.skip(
                    ctx,
                    "ready replicas of the compatible Servers are unknown",
                    model.namespace,
                    subject=f"Model {model.namespace}/{model.name}: {problem}",
                )
                continue
            partial = servers_partial(graph, model, place.candidates) if problem else None
            if partial is not None:
                self.unresolved(
                    ctx,
                    model,
                    f"a Server with {wanted_replicas(model)[0]} replicas for Model "
                    f"{model.namespace}/{model.name}",
                    "Server",
                    partial,
                )
                continue
            if problem is not None:
                yield attach(
                    self._finding(model, problem),
                    graph.log_evidence(self.id, model.namespace, model.name),
                )

    def _finding(self, model: Node, p: ReplicaProblem) -> Finding:
        ns = model.namespace
        verb = "will have at most" if p.planned else "has"
        servers = "; ".join(f"{s.name} {c.how}" for s, c in p.counts)
        evidence = [node_evidence(model, "spec.replicas", p.wanted)]
        if p.minimum is not None:
            evidence.append(node_evidence(model, "spec.minReplicas", p.minimum))
        for _, count in p.counts:
            evidence.extend(count.evidence)
        head = (
            f"Model {ns}/{model.name} wants {p.wanted} replicas, but the largest Server it can "
            f"be placed on, {p.best.name}, {verb} {p.best_count} ({servers}). A Model's replicas "
            "must all fit on one Server, one per Server replica."
        )
        declared = p.best.spec.get("replicas")
        declared_count = declared if isinstance(declared, int) else 1
        if not p.planned and declared_count >= p.wanted:
            head += (
                f" {p.best.name} declares spec.replicas {declared_count}, so the shortfall is "
                "pods that are not Ready: find out why before scaling anything."
            )
        if p.partial:
            message = (
                f"{head} With spec.minReplicas {p.minimum} the scheduler (2.9+) places only "
                f"{p.best_count} and logs 'managed to schedule with min replicas': the Model "
                "serves with less capacity than asked for (before 2.9 it is ScheduleFailed)."
            )
            severity: Severity | None = Severity.WARNING
        else:
            message = (
                f"{head} The Model stays ScheduleFailed ('Failed to schedule model as no "
                "matching server had enough suitable replicas'). If an HPA scales this Model, "
                "it can be transient while the Server's HPA catches up."
            )
            severity = None
        return self.finding(
            model,
            message,
            evidence=evidence,
            severity=severity,
            predicts_failure_of=model,
            params={
                "server": p.best.name,
                "server_namespace": p.best.namespace,
                "replicas": str(p.wanted),
                "server_replicas": str(p.best_count),
                "server_declared": str(declared_count),
            },
        )


# ------------------------------------------------------------------ SD104


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


class ModelMemoryExceedsServer(Check):
    """SD104: ``spec.memory`` (× instances) does not fit in any compatible Server replica."""

    id = "SD104"
    reads = SCHEDULING_READS

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        by_scheduler = servers_by_scheduler(graph)
        for model in models_with_objects(graph):
            if deleting(model) or model.spec.get("memory") is None:
                continue
            place = placement(graph, model, by_scheduler)
            problem = memory_problem(graph, place)
            if isinstance(problem, str):
                self.skip(
                    ctx,
                    "replica memory of the compatible Servers is unknown "
                    "(no MEMORY_REQUEST in the input)",
                    model.namespace,
                    subject=f"Model {model.namespace}/{model.name}: {problem}",
                    input="memory",
                )
                continue
            partial = servers_partial(graph, model, place.candidates) if problem else None
            if partial is not None:
                self.unresolved(
                    ctx,
                    model,
                    f"a Server whose replicas hold spec.memory {model.spec.get('memory')} for "
                    f"Model {model.namespace}/{model.name}",
                    "Server",
                    partial,
                )
                continue
            if problem is not None:
                yield attach(
                    self._finding(model, problem),
                    graph.log_evidence(self.id, model.namespace, model.name),
                )

    def _finding(self, model: Node, p: MemoryProblem) -> Finding:
        ns = model.namespace
        best = p.best_memory
        asked = f"spec.memory {p.raw}" + (
            f" ({human_bytes(p.memory)})" if human_bytes(p.memory) != str(p.raw) else ""
        )
        if best.instances != 1:
            asked += (
                f" × {best.instances} instances (MLSERVER_PARALLEL_WORKERS) = "
                f"{human_bytes(p.required)}"
            )
        load_fails = (
            "loading needs the Model to fit in main memory without overcommit: the agent evicts "
            "other Models and, with nothing left to evict, fails ('empty cache, cannot evict'), "
            "so the Model goes ModelFailed (LOAD_FAILED)"
        )
        if p.outcome == "load":
            message = (
                f"Model {ns}/{model.name} asks for {asked}: it passes scheduling but fails to "
                f"load. A replica of {p.best.name} has {human_bytes(best.request)} of main "
                f"memory ({best.origin}) and offers the scheduler up to "
                f"{human_bytes(best.limit or 0)} with {best.overcommit_text} overcommit, so the "
                f"AvailableMemoryReplicaFilter lets the Model through; but {load_fails}."
            )
        elif p.outcome == "either":
            message = (
                f"Model {ns}/{model.name} asks for {asked}, more than the "
                f"{human_bytes(best.request)} of main memory ({best.origin}) of the "
                f"largest replica of any Server it can be placed on, {p.best.name}. Its "
                "overcommit percentage is unknown, so it either stays ScheduleFailed or passes "
                f"scheduling and fails to load: {load_fails}."
            )
        else:
            message = (
                f"Model {ns}/{model.name} asks for {asked}, but the largest replica of any "
                f"Server it can be placed on, {p.best.name}, has {human_bytes(best.request)} "
                f"({best.origin}) — at most {human_bytes(best.limit or 0)} with "
                f"{best.overcommit_text} overcommit. No replica passes the scheduler's "
                "AvailableMemoryReplicaFilter, so the Model stays ScheduleFailed ('Failed to "
                "schedule model as no matching server had enough suitable replicas')."
            )
        evidence = [node_evidence(model, "spec.memory", str(p.raw))]
        for s, m in p.sizes:
            detail = f"{m.source}; overcommit {m.overcommit_text} ({m.overcommit_source})"
            if m.instances != 1:
                detail += f"; {m.instances} instances ({m.instances_source})"
            evidence.append(
                Evidence(
                    f"Server {s.namespace}/{s.name}",
                    "replica memory",
                    human_bytes(m.request),
                    detail,
                )
            )
        return self.finding(
            model,
            message,
            evidence=evidence,
            predicts_failure_of=model,
            params={
                "server": p.best.name,
                "server_namespace": p.best.namespace,
                "model_memory": str(p.raw),
                "server_memory": human_bytes(best.request),
            },
        )


# ------------------------------------------------------------------ SD105


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


def confirmed_causes(
    graph: DeploymentGraph, model: Node, by_scheduler: dict[frozenset[str], list[Node]]
) -> list[tuple[str, str]]:
    """Scheduling problems the doctor recomputes for this Model: (check id, summary)."""
    out: list[tuple[str, str]] = []
    controller = next(
        (c for c in graph.scheduler_consumers(model.namespace) if c.role == "controller"), None
    )
    if controller is not None and unreachable(graph, controller.resolution):
        resolution = controller.resolution
        check = {
            ResolutionStatus.NO_SERVICE: "SD503",
            ResolutionStatus.NO_BACKENDS: "SD504",
        }.get(resolution.status, "SD505")
        if len(resolution.chain) > 1:
            check = "SD505"  # through an ExternalName alias
        out.append(
            (
                check,
                f"the controller dials {controller.host}:{controller.port}: {resolution.detail}",
            )
        )
    pin = pin_problem(graph, model)
    if pin is not None and not pin.elsewhere:
        out.append(("SD101", f"spec.server {pin.pinned} names no Server in {model.namespace}"))
    place = placement(graph, model, by_scheduler)
    if place.capability_blocked:
        reqs = ", ".join(r for r, _ in place.requirements)
        out.append(("SD102", f"no candidate Server offers all of [{reqs}]"))
    if place.compatible:
        counts = [connected_replicas(graph, s) for s, _ in place.compatible]
        if all(c.count == 0 for c in counts):
            names = ", ".join(s.name for s, _ in place.compatible)
            out.append(("SD201", f"no ready replica on {names}"))
    replicas = replica_problem(graph, place)
    if isinstance(replicas, ReplicaProblem):
        out.append(
            (
                "SD103",
                f"{replicas.wanted} replicas wanted, {replicas.best.name} has "
                f"{replicas.best_count}",
            )
        )
    memory = memory_problem(graph, place)
    if isinstance(memory, MemoryProblem):
        out.append(
            (
                "SD104",
                f"spec.memory {memory.raw} exceeds {memory.best.name}'s "
                f"{human_bytes(memory.best_memory.request)} of main memory"
                + (" (passes scheduling, fails to load)" if memory.outcome == "load" else ""),
            )
        )
    return out


STUCK_PROGRESSING_AFTER = timedelta(minutes=10)


def _condition_age(reference: datetime | None, cond: JSONDict) -> timedelta | None:
    since = parse_time(cond.get("lastTransitionTime"))
    if since is None or reference is None:
        return None
    return reference - since


class ModelNotReady(Check):
    """SD105: the Model's own status says it is not ready; surface why, and which check says so."""

    id = "SD105"
    reads = SCHEDULING_READS

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        self._reference: tuple[datetime | None] | None = None
        by_scheduler = servers_by_scheduler(graph)
        for model in models_with_objects(graph):
            if deleting(model):
                continue  # SD106
            state = model_state(model)
            if state is None:
                continue
            yield attach(
                self._finding(graph, model, state, by_scheduler),
                graph.log_evidence(self.id, model.namespace, model.name),
            )

    def _finding(
        self,
        graph: DeploymentGraph,
        model: Node,
        state: tuple[str, str, JSONDict],
        by_scheduler: dict[frozenset[str], list[Node]],
    ) -> Finding:
        name, reason, cond = state
        ns = model.namespace
        meaning, suspects = reason_meaning(reason)
        causes = confirmed_causes(graph, model, by_scheduler)
        confirmed_ids = [c for c, _ in causes]
        connectivity = bool({"SD503", "SD509"} & set(suspects))
        who = "the controller" if connectivity else "the scheduler"
        message = f"Model {ns}/{model.name} is not ready: {who} reports {name}"
        message += f" with reason '{reason}'." if reason else " with no reason."
        if meaning:
            message += f" That means {meaning}."
        if causes:
            message += " Found: " + "; ".join(f"{c} — {s}" for c, s in causes) + "."
        elif "storage" in suspects:
            pass
        elif connectivity:
            controller = next(
                (c for c in graph.scheduler_consumers(ns) if c.role == "controller"), None
            )
            if controller is not None and controller.resolution.status == ResolutionStatus.OK:
                message += (
                    f" The input shows seldon-scheduler.{ns} resolving to a ready scheduler, so "
                    "the cause is outside what it describes: a NetworkPolicy or mesh "
                    "authorization policy, or the scheduler process itself — see the "
                    "controller's log."
                )
            else:
                message += (
                    f" The input does not show where seldon-scheduler.{ns} leads; check that "
                    "Service and the controller's log."
                )
        elif suspects:
            message += (
                " None of " + ", ".join(suspects) + " could be confirmed from the input; the "
                "per-server reasons are only in the scheduler's Debug log ('Rejecting server "
                "for model')."
            )
        if name in FAILED_STATES:
            severity = Severity.ERROR
        elif name == "ModelScaledDown":
            severity = Severity.INFO
        else:
            severity = Severity.WARNING
            if self._reference is None:
                found = reference_time(graph)
                self._reference = (found[0] if found else None,)
            stuck = _condition_age(self._reference[0], cond)
            if stuck is not None and stuck >= STUCK_PROGRESSING_AFTER:
                severity = Severity.ERROR
                message += (
                    f" It has been {name} for {int(stuck.total_seconds() // 60)} minutes, so it "
                    "is not going to become available by itself."
                )
            else:
                message += " If this persists, the Model never becomes available."
        explained = confirmed_ids[0] if confirmed_ids else (suspects[0] if suspects else "none")
        evidence = [
            node_evidence(model, "status.conditions[ModelReady].message (scheduler state)", name),
            node_evidence(model, "status.conditions[ModelReady].reason (scheduler text)", reason),
        ]
        if cond.get("lastTransitionTime"):
            evidence.append(
                node_evidence(
                    model,
                    "status.conditions[ModelReady].lastTransitionTime",
                    str(cond["lastTransitionTime"]),
                )
            )
        if model.spec.get("storageUri") and "storage" in suspects:
            evidence.append(node_evidence(model, "spec.storageUri", model.spec["storageUri"]))
        evidence.extend(Evidence(f"seldon-doctor {c}", None, s) for c, s in causes)
        return self.finding(
            model,
            message,
            evidence=evidence,
            severity=severity,
            params={
                "state": name,
                "explained_by": explained if explained.startswith("SD") else self.id,
                "cause": explained,
            },
        )


# ------------------------------------------------------------------ SD106


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


class ModelStuckTerminating(Check):
    """SD106: a Model's deletion has waited on ``seldon.model.finalizer`` for too long."""

    id = "SD106"
    reads = SCHEDULING_READS

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        reference: tuple[datetime, str] | None = None
        for model in models_with_objects(graph):
            assert model.obj is not None
            meta = model.obj.metadata
            finalizers = meta.get("finalizers")
            if (
                not meta.get("deletionTimestamp")
                or not isinstance(finalizers, list)
                or MODEL_FINALIZER not in finalizers
            ):
                continue
            since = parse_time(meta.get("deletionTimestamp"))
            reference = reference or reference_time(graph)
            if since is None or reference is None:
                self.skip(
                    ctx,
                    "deletion time unknown",
                    model.namespace,
                    subject=f"Model {model.namespace}/{model.name}",
                )
                continue
            age = reference[0] - since
            if age < STUCK_TERMINATING_AFTER:
                continue
            yield self._finding(graph, model, since, age, reference[1])

    def _finding(
        self, graph: DeploymentGraph, model: Node, since: datetime, age: timedelta, ref: str
    ) -> Finding:
        ns = model.namespace
        minutes = int(age.total_seconds() // 60)
        state = model_state(model)
        evidence = [
            node_evidence(model, "metadata.deletionTimestamp", since.isoformat()),
            node_evidence(model, "metadata.finalizers", MODEL_FINALIZER),
            Evidence("pending for", None, f"{minutes} min", f"measured against {ref}"),
        ]
        if state is not None:
            evidence.append(node_evidence(model, "status.conditions[ModelReady]", state[0]))
        controller = next(
            (c for c in graph.scheduler_consumers(ns) if c.role == "controller"), None
        )
        if controller is not None and unreachable(graph, controller.resolution):
            blocker = (
                f" The controller cannot reach a scheduler ({controller.resolution.describe()}), "
                "so it never hears that the Model was unloaded and keeps the finalizer: fix "
                "that connection first."
            )
            evidence.append(
                Evidence(
                    f"controller {controller.subject}",
                    "dials",
                    f"{controller.host}:{controller.port}",
                    controller.resolution.describe(),
                )
            )
        elif controller is not None and controller.resolution.status == ResolutionStatus.OK:
            blocker = (
                " The scheduler is reachable; it may have lost the Model (a restart) or be "
                "waiting for an unload that never completes."
            )
        else:
            blocker = ""
        message = (
            f"Model {ns}/{model.name} has been terminating for {minutes} minutes: the controller "
            f"removes {MODEL_FINALIZER} only once the scheduler reports the Model terminated "
            "(or failed), which it has not." + blocker + " The name cannot be reused until then."
        )
        return self.finding(model, message, evidence=evidence, params={"minutes": str(minutes)})


# ------------------------------------------------------------------ SD512

COLLISION_KINDS = ("Model", "Server", "Experiment", "Pipeline")


def scheduler_keys(graph: DeploymentGraph, node: Node) -> frozenset[str]:
    """Scheduler instances a resource's state lives in (empty when unresolved)."""
    for consumer in graph.scheduler_consumers(node.namespace):
        if node.kind == "Server":
            if consumer.role == "agent" and consumer.subject == node.id:
                if consumer.resolution.status == ResolutionStatus.OK:
                    return consumer.resolution.instance_keys()
                return frozenset()
        elif consumer.role == "controller":
            if consumer.resolution.status == ResolutionStatus.OK:
                return consumer.resolution.instance_keys()
            return frozenset()
    return frozenset()


class SharedSchedulerNameCollision(Check):
    """SD512: namespaces sharing one scheduler hold resources of the same kind and name."""

    id = "SD512"
    reads = SCHEDULING_READS

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        for kind in COLLISION_KINDS:
            by_name: dict[str, list[tuple[Node, frozenset[str]]]] = defaultdict(list)
            for node in graph.nodes(kind):
                if node.obj is None:
                    continue
                keys = scheduler_keys(graph, node)
                if keys:
                    by_name[node.name].append((node, keys))
            for _name, members in sorted(by_name.items()):
                if len({n.namespace for n, _ in members}) < 2:
                    continue
                sharing: dict[str, list[int]] = defaultdict(list)
                for index, (_, keys) in enumerate(members):
                    for key in keys:
                        sharing[key].append(index)
                for node, keys in members:
                    hits = sorted({i for key in keys for i in sharing[key]})
                    clashes = [
                        members[i] for i in hits if members[i][0].namespace != node.namespace
                    ]
                    if clashes:
                        yield self._finding(graph, node, keys, clashes)

    def _finding(
        self,
        graph: DeploymentGraph,
        node: Node,
        keys: frozenset[str],
        clashes: list[tuple[Node, frozenset[str]]],
    ) -> Finding:
        others = ", ".join(f"{o.namespace}/{o.name}" for o, _ in clashes)
        scheduler = ", ".join(sorted(keys))
        effect = {
            "Server": "the two Servers merge into one and replica 0 of one overwrites the other, "
            "so Models land on the other namespace's pods",
            "Model": "it holds one Model per name, so each namespace's apply overwrites the "
            f"other's definition and Envoy routes seldon-model: {node.name} to that one in both",
            "Experiment": "one Experiment overwrites the other's traffic split",
            "Pipeline": "one Pipeline overwrites the other's steps",
        }[node.kind]
        message = (
            f"{node.kind} {node.namespace}/{node.name} shares its name with {others}, and both "
            f"namespaces use the same scheduler ({scheduler}). The scheduler keys "
            f"{node.kind}s by name alone, not namespace: {effect}."
        )
        evidence = [node_evidence(node, "metadata.name", node.name)]
        evidence.extend(node_evidence(o, "metadata.name", o.name) for o, _ in clashes)
        evidence.append(Evidence("scheduler", "instances", scheduler))
        # The shared scheduler's own lines about this name (agents subscribing, schedule calls).
        evidence.extend(graph.log_evidence(self.id, node.namespace, node.name))
        return self.finding(
            node,
            message,
            evidence=evidence,
            params={
                "plural": node.kind.lower() + "s",
                "other_namespace": clashes[0][0].namespace,
            },
            dedupe_key=f"collision:{node.kind}:{node.name}:{node.namespace}",
        )
