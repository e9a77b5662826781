"""SD101 model-server-not-found.

A Model pins spec.server to a Server that does not exist in its namespace.
"""

from __future__ import annotations

from collections.abc import Iterator

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import SCHEDULING_READS, deleting, models_with_objects
from seldon_doctor.checks.helpers.scheduling import PinProblem, pin_problem
from seldon_doctor.findings import Evidence, Finding, Severity
from seldon_doctor.graph.model import Node
from seldon_doctor.logs import attach


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
