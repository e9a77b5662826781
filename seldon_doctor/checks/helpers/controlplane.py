"""Helpers shared by several checks that came from ``checks/controlplane.py``.

Control-plane checks: who watches which namespace, on which release, and can it get through?
"""

from __future__ import annotations

from seldon_doctor.checks.helpers.common import (
    workload_replicas,
)
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Node
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
