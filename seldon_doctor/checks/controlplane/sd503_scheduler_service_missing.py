"""SD503 scheduler-service-missing.

A namespace with Seldon resources resolves no seldon-scheduler Service.
"""

from __future__ import annotations

from collections.abc import Iterator

from seldon_doctor.checks.base import Check, CheckContext
from seldon_doctor.checks.helpers.common import CONSUMER_READS, namespace_anchor
from seldon_doctor.checks.helpers.controlplane import consumer_evidence
from seldon_doctor.findings import Evidence, Finding
from seldon_doctor.graph import seldon
from seldon_doctor.graph.model import ResolutionStatus


class SchedulerServiceMissing(Check):
    """SD503: a namespace with Seldon resources resolves no ``seldon-scheduler``."""

    id = "SD503"
    reads = CONSUMER_READS

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        namespaces = set(graph.namespaces_with("Model", "Server")) | set(graph.envoys)
        namespaces |= {d.namespace for d in graph.nodes("Deployment") if d.name == seldon.ENVOY}
        for ns in sorted(namespaces):
            resolution = graph.resolve(seldon.SCHEDULER, ns)
            if resolution.partial is not None and not resolution.chain:
                # Manifests from one folder: the runtime (and its Service) may be applied by
                # someone else. Absence is a finding only where the input is complete.
                kind, where = resolution.partial
                self.unresolved(
                    ctx,
                    namespace_anchor(graph, ns),
                    f"Service {ns}/{seldon.SCHEDULER} (dialled by this namespace's controller, "
                    "agents and Envoy)",
                    kind,
                    where,
                )
                continue
            if resolution.status != ResolutionStatus.NO_SERVICE or resolution.chain:
                continue
            dependents = list(graph.scheduler_consumers(ns))
            yield self.finding(
                namespace_anchor(graph, ns),
                f"Namespace {ns} has Seldon resources but no Service named seldon-scheduler: the "
                "controller dials seldon-scheduler."
                f"{ns}:9004 and agents and Envoy dial the short name seldon-scheduler, so none of "
                "them can reach a scheduler and nothing in this namespace will load or route.",
                evidence=[
                    Evidence(f"Service {ns}/seldon-scheduler", None, None, "not found"),
                    *(consumer_evidence(c) for c in dependents),
                    *graph.log_evidence(self.id, ns),
                ],
            )
