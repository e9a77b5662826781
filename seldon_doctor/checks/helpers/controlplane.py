"""What several control-plane checks (SD5xx) share: gateway names, controllers' watch scopes
(SD506, SD507, SD510), the Seldon Service names and how a consumer's dial shows as evidence
(the scheduler-topology checks SD501, SD503-SD505).
"""

from __future__ import annotations

from seldon_doctor.checks.helpers.common import workload_replicas
from seldon_doctor.findings import Evidence
from seldon_doctor.graph import seldon
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Consumer, Node
from seldon_doctor.graph.seldon import WatchScope

PIPELINE_GATEWAY = "seldon-pipelinegateway"


MODEL_GATEWAY = "seldon-modelgateway"


def active_controllers(graph: DeploymentGraph) -> list[Node]:
    graph.nodes("Deployment")
    return sorted((c for c in graph.controllers if workload_replicas(c) > 0), key=lambda c: c.id)


def scope_text(scope: WatchScope) -> str:
    how = "all namespaces" if scope.all_namespaces else ", ".join(sorted(scope.namespaces))
    if scope.rejected_flags:
        how = f"nothing (exits at start: {', '.join(scope.rejected_flags)} not defined)"
    flags = f"clusterwide={'true' if scope.clusterwide else 'false'}"
    if scope.requested:
        flags += f", watch-namespaces={','.join(scope.requested)}"
    version = ".".join(map(str, scope.version)) if scope.version else "unknown version"
    return f"{how} ({flags}; {version})"


def controller_scope(controller: Node) -> WatchScope:
    scope = controller.props["watch_scope"]
    assert isinstance(scope, WatchScope)
    return scope


SELDON_SERVICE_NAMES = frozenset({seldon.SCHEDULER, seldon.MESH_SERVICE, "seldon-pipelinegateway"})


def consumer_evidence(consumer: Consumer) -> Evidence:
    return Evidence(
        f"{consumer.role} {consumer.subject}",
        "dials",
        f"{consumer.host}:{consumer.port}",
        f"{consumer.resolution.describe()}; host from {consumer.source}",
    )
