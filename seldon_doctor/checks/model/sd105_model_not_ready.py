"""SD105 model-not-ready: A Model's own status says it is not ready, and why."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import (
    SCHEDULING_READS,
    connected_replicas,
    deleting,
    models_with_objects,
    placement,
    servers_by_scheduler,
    unreachable,
)
from seldon_doctor.checks.helpers.scheduling import (
    MemoryProblem,
    ReplicaProblem,
    memory_problem,
    model_state,
    pin_problem,
    reference_time,
    replica_problem,
)
from seldon_doctor.domain.durations import parse_time
from seldon_doctor.domain.quantities import human_bytes
from seldon_doctor.domain.scheduler_reasons import FAILED_STATES, reason_meaning
from seldon_doctor.findings import Evidence, Finding, Severity
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Node, ResolutionStatus
from seldon_doctor.logs import attach
from seldon_doctor.snapshot import JSONDict


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


def _connectivity_hint(graph: DeploymentGraph, ns: str) -> str:
    """Where the controller-to-scheduler path leads, when no cause is confirmed."""
    controller = next((c for c in graph.scheduler_consumers(ns) if c.role == "controller"), None)
    if controller is not None and controller.resolution.status == ResolutionStatus.OK:
        return (
            f" The input shows seldon-scheduler.{ns} resolving to a ready scheduler, so "
            "the cause is outside what it describes: a NetworkPolicy or mesh "
            "authorization policy, or the scheduler process itself — see the "
            "controller's log."
        )
    return (
        f" The input does not show where seldon-scheduler.{ns} leads; check that "
        "Service and the controller's log."
    )


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

    def _severity(self, graph: DeploymentGraph, name: str, cond: JSONDict) -> tuple[Severity, str]:
        """How bad the state is, and what the message adds about where it is heading."""
        if name in FAILED_STATES:
            return Severity.ERROR, ""
        if name == "ModelScaledDown":
            return Severity.INFO, ""
        if self._reference is None:
            found = reference_time(graph)
            self._reference = (found[0] if found else None,)
        stuck = _condition_age(self._reference[0], cond)
        if stuck is not None and stuck >= STUCK_PROGRESSING_AFTER:
            return Severity.ERROR, (
                f" It has been {name} for {int(stuck.total_seconds() // 60)} minutes, so it "
                "is not going to become available by itself."
            )
        return Severity.WARNING, " If this persists, the Model never becomes available."

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
            message += _connectivity_hint(graph, ns)
        elif suspects:
            message += (
                " None of " + ", ".join(suspects) + " could be confirmed from the input; the "
                "per-server reasons are only in the scheduler's Debug log ('Rejecting server "
                "for model')."
            )
        severity, outlook = self._severity(graph, name, cond)
        message += outlook
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
