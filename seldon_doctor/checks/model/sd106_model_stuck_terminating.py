"""SD106 model-stuck-terminating.

A Model's deletion has been held by its finalizer for too long.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import SCHEDULING_READS, models_with_objects, unreachable
from seldon_doctor.checks.helpers.scheduling import model_state, reference_time
from seldon_doctor.domain.durations import parse_time
from seldon_doctor.findings import Evidence, Finding
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Node, ResolutionStatus

MODEL_FINALIZER = "seldon.model.finalizer"


STUCK_TERMINATING_AFTER = timedelta(minutes=10)


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
