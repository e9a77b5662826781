"""SD204: a Server's podSpec container matches no ServerConfig container, so it is appended.

The operator merges ``Server.spec.podSpec.containers`` into the ServerConfig's by container
name and appends the rest (``operator/controllers/reconcilers/common/patch_utils.go``
``MergeContainers``, the same v2.8.5 … v2.10.2). A container meant to replace the stock server
but named otherwise (``server``, ``mlserver-custom``) runs beside it: the agent keeps loading
models into the stock server and the custom image serves nothing (or fights it for ports).

Severity: error when the appended container runs an inference-server image (mlserver, triton,
tritonserver) or declares the stock server ports 9000/9500; warning when it declares other
ports or its name is a near miss of a ServerConfig container (``MLServer``, ``mlserve``);
silent otherwise: appending a sidecar (a log shipper, a proxy) is what the merge is for.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.domain.releases import SERVER_IMAGE_MARKERS, Release, release_for_images
from seldon_doctor.domain.spelling import edit_distance
from seldon_doctor.findings import Finding, Severity, listed
from seldon_doctor.graph import seldon
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Node

STOCK_SERVER_PORTS = frozenset({9000, 9500})  # MLServer/Triton HTTP and gRPC in the ServerConfigs


def _image_repository(image: str) -> str:
    image = image.split("@", 1)[0]
    last = image.rsplit("/", 1)
    if ":" in last[-1]:
        image = image.rsplit(":", 1)[0]
    return image.lower()


def _ports(container: dict[str, Any]) -> list[int]:
    out = []
    for port in container.get("ports") or []:
        if isinstance(port, dict) and isinstance(port.get("containerPort"), int):
            out.append(port["containerPort"])
    return out


def _release(graph: DeploymentGraph) -> Release:
    images = [
        str(c.get("image") or "")
        for controller in graph.controllers
        if controller.obj is not None
        for c in seldon.containers(seldon.pod_template_spec(controller.obj))
    ]
    return release_for_images(images)


class ServerContainerNotMerged(Check):
    """SD204: a Server podSpec container is appended beside the stock ones instead of merged."""

    id = "SD204"
    reads = frozenset({"Server", "ServerConfig", "Deployment"})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        release: Release | None = None
        for server in graph.nodes("Server"):
            if server.obj is None:
                continue
            pod_spec = server.spec.get("podSpec")
            overrides = [c for c in seldon.containers(pod_spec) if isinstance(c.get("name"), str)]
            if not overrides:
                continue
            config_name = str(server.spec.get("serverConfig") or "")
            config = graph.server_config(server)
            if config is not None and config.obj is not None:
                stock = tuple(
                    str(c.get("name"))
                    for c in seldon.containers(config.spec.get("podSpec"))
                    if c.get("name")
                )
                source = f"ServerConfig {config.namespace}/{config.name}"
                hedge = ""
            else:
                release = release or _release(graph)
                known = release.stock_containers(config_name)
                if known is None:
                    self.skip(
                        ctx,
                        f"ServerConfig {config_name} of Server {server.namespace}/{server.name} "
                        "is not in the input, so its container names are unknown",
                        server.namespace,
                    )
                    continue
                stock = known
                which = f"{release.name} (assumed)" if release.assumed else release.name
                source = f"the stock ServerConfig {config_name} of Seldon {which}"
                hedge = (
                    f" ServerConfig {config_name} is not in the input, so these are the stock "
                    f"names (Seldon {which}); a customised ServerConfig may differ."
                )
            for container in overrides:
                finding = self._judge(server, container, stock, source, hedge, config_name)
                if finding is not None:
                    yield finding

    def _judge(
        self,
        server: Node,
        container: dict[str, Any],
        stock: tuple[str, ...],
        source: str,
        hedge: str,
        config_name: str,
    ) -> Finding | None:
        name = str(container["name"])
        if name in stock:
            return None
        image = str(container.get("image") or "")
        repository = _image_repository(image)
        server_image = next((m for m in SERVER_IMAGE_MARKERS if m in repository), None)
        ports = _ports(container)
        clashing = sorted(STOCK_SERVER_PORTS.intersection(ports))
        near = sorted(
            s for s in stock if s.lower() == name.lower() or edit_distance(name, s, 2) <= 2
        )
        reasons: list[str] = []
        if server_image:
            reasons.append(f"it runs an inference-server image ({image})")
        if clashing:
            reasons.append(
                f"it declares {listed('port', clashing)}, the stock server's "
                "(two containers of one pod cannot bind the same port)"
            )
        # Against assumed stock names (the ServerConfig is not in the input) the mismatch may be
        # a customised ServerConfig's: an error must be true, so it is at most a warning.
        severity = Severity.ERROR if reasons and not hedge else Severity.WARNING
        if not reasons and ports:
            reasons.append(f"it declares {listed('port', ports)}")
        if near:
            reasons.append(f"its name is close to {' / '.join(near)}")
        if not reasons:
            return None  # a plain sidecar: appending it is what the merge is for
        target = near[0] if near else next((s for s in stock if s not in ("agent", "rclone")), "")
        ns = server.namespace
        return self.finding(
            server,
            f"Server {ns}/{server.name} spec.podSpec.containers has container {name}, which "
            f"matches none of the containers of {source} ({', '.join(stock)}). The operator merges "
            "containers by name, so it is added beside the stock ones instead of replacing one: "
            + "; ".join(reasons)
            + ". The agent still loads models into the stock server container, so whatever this "
            "container runs is not what serves the models." + hedge,
            evidence=[
                node_evidence(server, f"spec.podSpec.containers[name={name}].image", image or None),
                node_evidence(server, "spec.serverConfig", config_name or None, note=source),
            ],
            params={
                "container": name,
                "stock_containers": ", ".join(stock),
                "target": target or "the stock server container",
            },
            severity=severity,
        )
