"""Which Envoy a client in a namespace reaches through ``seldon-mesh``: the one chooser.

``probe``, ``scan --probe`` and ``trace --probe`` send their requests to the Envoy pod this
module picks, so they agree on every deployment pattern. The pick follows the graph's
resolution of ``seldon-mesh`` from the namespace (:meth:`DeploymentGraph.resolve`), as a pod
there would: the namespace's ``seldon-mesh`` Service, through ExternalName aliases (the
central-scheduler pattern: ``app-a/seldon-mesh`` -> ``seldon-mesh.seldon-mesh``), to the
Service in the Envoy's namespace and the pods behind it. Of those pods a Ready one is chosen
(by namespace and name), else a Running one that is not Ready yet; never a pod slot that only
a manifest implies. The port is the container port the Service's port 80 targets (``http`` ->
9000, Envoy's ``seldon_http`` listener).

Pure: it reads the graph, never a cluster. ``sources.dataplane.mesh_endpoint`` opens the
port-forward to the choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seldon_doctor.graph import seldon
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Backend, Resolution

MESH_PORT = 80  # seldon-mesh port 80 -> targetPort "http" (Envoy's seldon_http listener)
ENVOY_HTTP_PORT = 9000  # the container port "http" names when the pod does not say


@dataclass(frozen=True, slots=True)
class MeshEnvoy:
    """The Envoy pod (and its container port) behind ``seldon-mesh`` of ``from_namespace``."""

    namespace: str  # the Envoy pod's namespace (the central one, through aliases)
    pod: str
    port: int
    ready: bool
    resolution: Resolution


class NoMeshEnvoy(LookupError):
    """``seldon-mesh`` of a namespace leads to no running Envoy pod; ``reason`` says why."""

    def __init__(self, reason: str, resolution: Resolution) -> None:
        super().__init__(reason)
        self.reason = reason
        self.resolution = resolution


def mesh_envoy(graph: DeploymentGraph, namespace: str) -> MeshEnvoy:
    """The Envoy pod a client in ``namespace`` reaches through ``seldon-mesh``.

    Raises:
        NoMeshEnvoy: the resolution ends nowhere (no Service, an alias to nothing, unknown)
            or at no running pod.
    """
    resolution = graph.resolve(seldon.MESH_SERVICE, namespace, record=False)
    candidates = [
        (not b.ready, b.namespace, b.pod, b)
        for b in resolution.backends
        if not b.implied and (b.ready or _running(graph, b))
    ]
    if not candidates:
        raise NoMeshEnvoy(
            f"{seldon.MESH_SERVICE} in {namespace} leads to no ready Envoy pod "
            f"({resolution.detail or resolution.status.value})",
            resolution,
        )
    backend = min(candidates, key=lambda c: c[:3])[3]
    port = _http_port(graph, resolution, backend)
    return MeshEnvoy(backend.namespace, backend.pod, port, backend.ready, resolution)


def _running(graph: DeploymentGraph, backend: Backend) -> bool:
    pod = graph.get("Pod", backend.namespace, backend.pod, record=False)
    if pod is None or pod.obj is None:
        return False
    return str(pod.status.get("phase") or "") == "Running" and not pod.obj.metadata.get(
        "deletionTimestamp"
    )


def _http_port(graph: DeploymentGraph, resolution: Resolution, backend: Backend) -> int:
    """The container port ``seldon-mesh``:80 targets on ``backend`` (a number, or a port name
    looked up in the pod's containers); 9000 when neither says."""
    service = graph.get("Service", *_split(resolution.service_id), record=False)
    declared = service.spec.get("ports") if service is not None else None
    ports = [p for p in declared or [] if isinstance(p, dict)]
    entry = next((p for p in ports if p.get("port") == MESH_PORT), ports[0] if ports else {})
    target: Any = entry.get("targetPort", entry.get("port")) if entry else None
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        return int(target)
    pod = graph.get("Pod", backend.namespace, backend.pod, record=False)
    body = pod.obj.body if pod is not None and pod.obj is not None else {}
    for container in (body.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if target and port.get("name") == target and port.get("containerPort"):
                return int(port["containerPort"])
    return ENVOY_HTTP_PORT


def _split(service_id: str | None) -> tuple[str, str]:
    """``Service/<ns>/<name>`` -> (ns, name); ("", "") without a Service."""
    parts = (service_id or "").split("/")
    return (parts[1], parts[2]) if len(parts) == 3 else ("", "")
