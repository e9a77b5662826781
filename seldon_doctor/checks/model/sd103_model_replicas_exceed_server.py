"""SD103 model-replicas-exceed-server.

A Model wants more replicas than any Server it can be placed on has.
"""

from __future__ import annotations

from collections.abc import Iterator

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import (
    SCHEDULING_READS,
    deleting,
    models_with_objects,
    placement,
    servers_by_scheduler,
    servers_partial,
)
from seldon_doctor.checks.helpers.scheduling import ReplicaProblem, replica_problem, wanted_replicas
from seldon_doctor.findings import Finding, Severity
from seldon_doctor.graph.model import Node
from seldon_doctor.logs import attach


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
