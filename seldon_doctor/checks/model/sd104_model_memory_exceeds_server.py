"""SD104 model-memory-exceeds-server.

A Model's spec.memory is larger than any Server replica it can be placed on.
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
from seldon_doctor.checks.helpers.scheduling import MemoryProblem, memory_problem
from seldon_doctor.domain.quantities import human_bytes
from seldon_doctor.findings import Evidence, Finding
from seldon_doctor.graph.model import Node
from seldon_doctor.logs import attach


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
