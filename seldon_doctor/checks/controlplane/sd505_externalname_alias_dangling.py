"""SD505 externalname-alias-dangling.

An ExternalName alias points at a Service or namespace that does not exist or has no endpoints.
"""

from __future__ import annotations

from collections.abc import Iterator

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import CONSUMER_READS
from seldon_doctor.checks.helpers.controlplane import SELDON_SERVICE_NAMES
from seldon_doctor.domain.spelling import edit_distance
from seldon_doctor.findings import Evidence, Finding
from seldon_doctor.graph.build import DeploymentGraph, parse_service_host
from seldon_doctor.graph.model import ResolutionStatus


class ExternalNameAliasDangling(Check):
    """SD505: an ExternalName alias leads to no Service, namespace or ready pod."""

    id = "SD505"
    reads = CONSUMER_READS

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        for service in graph.nodes("Service"):
            if service.spec.get("type") != "ExternalName" or service.props.get(
                "replaced_by_runtime"
            ):
                continue
            target = str(service.spec.get("externalName") or "")
            parsed = parse_service_host(target, service.namespace)
            if parsed is None:
                continue  # a name outside the cluster: not ours to judge
            if service.name not in SELDON_SERVICE_NAMES and parsed[0] not in SELDON_SERVICE_NAMES:
                continue
            resolution = graph.resolve(service.name, service.namespace)
            if resolution.partial is not None:
                kind, where = resolution.partial
                self.unresolved(
                    ctx, service, f"the target of alias {service.name} → {target}", kind, where
                )
                continue
            if resolution.status == ResolutionStatus.UNKNOWN:
                self.skip(
                    ctx,
                    "the alias's target is not described by the input",
                    service.namespace,
                    subject=f"alias {service.namespace}/{service.name} → {target}: "
                    f"{resolution.detail}",
                )
                continue
            if resolution.status not in (
                ResolutionStatus.NO_NAMESPACE,
                ResolutionStatus.NO_SERVICE,
                ResolutionStatus.NO_BACKENDS,
                ResolutionStatus.LOOP,
            ):
                continue
            problem = {
                ResolutionStatus.NO_NAMESPACE: f"namespace {parsed[1]} does not exist",
                ResolutionStatus.NO_SERVICE: f"there is no Service {parsed[0]} in {parsed[1]}",
                ResolutionStatus.NO_BACKENDS: resolution.detail,
                ResolutionStatus.LOOP: resolution.detail,
            }[resolution.status]
            close = (
                _closest_namespace(graph, parsed[1])
                if resolution.status == ResolutionStatus.NO_NAMESPACE
                else None
            )
            hint = f" Did you mean namespace {close}?" if close else ""
            yield self.finding(
                service,
                f"ExternalName alias {service.namespace}/{service.name} points at {target}, but "
                f"{problem}. Everything in {service.namespace} that dials {service.name} fails "
                f"to connect.{hint}",
                evidence=[
                    node_evidence(service, "spec.externalName", target),
                    Evidence("resolution", None, resolution.describe()),
                    *graph.log_evidence(self.id, service.namespace),
                ],
                params={
                    "service": service.name,
                    "target": target,
                    "target_service": parsed[0],
                    "target_namespace": close or parsed[1],
                },
            )


def _closest_namespace(graph: DeploymentGraph, wanted: str) -> str | None:
    best = min(graph.all_namespaces(), key=lambda n: (edit_distance(wanted, n, 4), n), default=None)
    if best is not None and edit_distance(wanted, best, 4) <= 4 and best != wanted:
        return best
    return None
