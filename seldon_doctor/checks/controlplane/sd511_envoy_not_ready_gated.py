"""SD511 envoy-not-ready-gated.

Envoy has no readiness probe on /ready, so it takes traffic before it has routes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import pod_spec_containers, uncovered_pods
from seldon_doctor.domain.images import image_basename
from seldon_doctor.findings import Finding
from seldon_doctor.graph import seldon
from seldon_doctor.graph.model import Node

ENVOY_READY_PORT = 9003


# ---------------------------------------------------------------------------- envoy readiness
def _named_port(container: dict[str, Any], port: Any) -> int | None:
    if isinstance(port, int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    for item in container.get("ports") or []:
        if isinstance(item, dict) and item.get("name") == port:
            value = item.get("containerPort")
            return value if isinstance(value, int) else None
    return None


def envoy_ready_gated(container: dict[str, Any]) -> bool:
    """A readiness probe that asks Envoy's /ready (9003, served only once listeners are up)."""
    probe = container.get("readinessProbe")
    if not isinstance(probe, dict):
        return False
    if "httpGet" not in probe:
        return "exec" in probe  # a script may query /ready itself: give it the benefit
    http = probe.get("httpGet")
    if not isinstance(http, dict) or str(http.get("path") or "").rstrip("/") != "/ready":
        return False
    port = _named_port(container, http.get("port"))
    return port is None or port == ENVOY_READY_PORT


def _envoy_container(containers: list[dict[str, Any]]) -> dict[str, Any] | None:
    for container in containers:
        if image_basename(str(container.get("image") or "")) == "seldon-envoy":
            return container
    for container in containers:
        if container.get("name") == "envoy":
            return container
    return None


class EnvoyNotReadyGated(Check):
    """SD511: Envoy without a readiness probe on /ready takes traffic before it has routes."""

    id = "SD511"
    reads = frozenset({"Deployment", "StatefulSet", "SeldonConfig", "Pod"})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        candidates: list[tuple[Node, dict[str, Any], str]] = []
        for deployment in graph.nodes("Deployment"):
            containers = pod_spec_containers(deployment)
            container = _envoy_container(containers)
            if container is None or (
                deployment.name != seldon.ENVOY
                and image_basename(str(container.get("image") or "")) != "seldon-envoy"
            ):
                continue
            path = f"spec.template.spec.containers[{container.get('name')}].readinessProbe"
            candidates.append((deployment, container, path))
        for pod in uncovered_pods(graph):
            if pod.labels.get(seldon.NAME_LABEL) != seldon.ENVOY:
                continue
            container = _envoy_container(pod_spec_containers(pod))
            if container is not None:
                candidates.append(
                    (pod, container, f"spec.containers[{container.get('name')}].readinessProbe")
                )
        for config in graph.nodes("SeldonConfig"):
            for component in config.spec.get("components") or []:
                if not isinstance(component, dict) or component.get("name") != seldon.ENVOY:
                    continue
                container = _envoy_container(seldon.containers(component.get("podSpec")))
                if container is not None:
                    path = (
                        f"spec.components[{seldon.ENVOY}].podSpec.containers"
                        f"[{container.get('name')}].readinessProbe"
                    )
                    candidates.append((config, container, path))
        seen: set[str] = set()
        for node, container, path in candidates:
            if envoy_ready_gated(container) or node.id in seen:
                continue
            seen.add(node.id)
            probe = container.get("readinessProbe")
            yield self.finding(
                node,
                f"Envoy in {node.kind} {node.namespace}/{node.name} has "
                + (
                    "no readiness probe"
                    if probe is None
                    else f"a readiness probe that is not Envoy's /ready on {ENVOY_READY_PORT}"
                )
                + ". A restarted Envoy joins seldon-mesh while it is still PRE_INITIALIZING, "
                "before the scheduler has sent its listeners and routes, so requests fail "
                "(404/UNAVAILABLE) until it catches up.",
                evidence=[node_evidence(node, path, probe if probe is not None else "absent")],
                params={"container": str(container.get("name") or "envoy")},
            )
