"""SD202 server-over-advertises-capabilities.

A Server with a custom image still advertises its ServerConfig's default capabilities.
"""

from __future__ import annotations

from collections.abc import Iterator

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import (
    SCHEDULING_READS,
    candidate_servers,
    models_with_objects,
    servers_by_scheduler,
)
from seldon_doctor.domain.images import image_basename, same_image
from seldon_doctor.findings import Evidence, Finding
from seldon_doctor.graph import seldon
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Node
from seldon_doctor.graph.seldon import (
    CAPABILITIES_ENV,
    DEFAULT_SERVERCONFIG_CAPABILITIES,
    Capabilities,
    model_requirements,
    split_capabilities,
)

# Containers of a Server pod that are Seldon's own, not the inference runtime.
SIDECARS = frozenset({"agent", "rclone"})


# Repositories of the upstream ServerConfigs' inference images (k8s/yaml/components.yaml).
# Image names (last path element) of the upstream ServerConfigs: helm renders
# ``docker.io/seldonio/mlserver:<v>`` and ``nvcr.io/nvidia/tritonserver:<v>``, the kustomize
# base ``mlserver:latest``. Only the last element is compared, so a private mirror of the
# stock image (``registry.corp/ml/mlserver``) is not taken for a custom runtime.
UPSTREAM_IMAGES: dict[str, str] = {"mlserver": "mlserver", "triton": "tritonserver"}


def _config_capabilities(graph: DeploymentGraph, server: Node) -> tuple[tuple[str, ...], str]:
    """The ServerConfig's own capability list (before the Server's overrides)."""
    config = graph.server_config(server)
    name = str(server.spec.get("serverConfig") or "")
    if config is not None and config.obj is not None:
        for container in seldon.containers(config.spec.get("podSpec")):
            env = seldon.env_of(container, server.namespace)
            if CAPABILITIES_ENV in env:
                return (
                    split_capabilities(env[CAPABILITIES_ENV]),
                    f"ServerConfig {config.namespace}/{config.name}",
                )
        return (), ""
    if name in DEFAULT_SERVERCONFIG_CAPABILITIES:
        return DEFAULT_SERVERCONFIG_CAPABILITIES[name], f"the upstream ServerConfig {name}, assumed"
    return (), ""


def _custom_image(graph: DeploymentGraph, server: Node) -> tuple[str, str, str] | None:
    """(container, image, what it replaces) when the Server runs its own inference image."""
    config = graph.server_config(server)
    base: dict[str, str] = {}
    if config is not None and config.obj is not None:
        for container in seldon.containers(config.spec.get("podSpec")):
            if container.get("image"):
                base[str(container.get("name"))] = str(container["image"])
    name = str(server.spec.get("serverConfig") or "")
    for container in seldon.containers(server.spec.get("podSpec")):
        cname = str(container.get("name"))
        image = str(container.get("image") or "")
        if not image or cname in SIDECARS:
            continue
        if base:
            if cname in base and not same_image(image, base[cname]):
                return cname, image, base[cname]
        elif (
            name in UPSTREAM_IMAGES
            and cname == name  # upstream ServerConfigs name the container after themselves
            and image_basename(image) != UPSTREAM_IMAGES[name]
        ):
            return cname, image, f"the upstream {name} image"
    return None


def _override_env(server: Node) -> bool:
    for container in seldon.containers(server.spec.get("podSpec")):
        env = seldon.env_of(container, server.namespace)
        if CAPABILITIES_ENV in env:
            return True
    return False


class ServerOverAdvertisesCapabilities(Check):
    """SD202: a custom-image Server still advertises its ServerConfig's whole default list."""

    id = "SD202"
    reads = SCHEDULING_READS

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        by_scheduler = servers_by_scheduler(graph)
        for server in graph.nodes("Server"):
            if server.obj is None or seldon.spec_list(server.spec, "capabilities"):
                continue
            if _override_env(server):
                continue
            custom = _custom_image(graph, server)
            if custom is None:
                continue
            inherited, origin = _config_capabilities(graph, server)
            caps = graph.capabilities(server)
            if not inherited or not caps.known or not set(inherited) <= set(caps.values):
                continue
            yield self._finding(graph, server, custom, inherited, origin, caps, by_scheduler)

    def _finding(
        self,
        graph: DeploymentGraph,
        server: Node,
        custom: tuple[str, str, str],
        inherited: tuple[str, ...],
        origin: str,
        caps: Capabilities,
        by_scheduler: dict[frozenset[str], list[Node]],
    ) -> Finding:
        container, image, replaced = custom
        extras = [c for c in caps.values if c not in inherited]
        at_risk = []
        for model in models_with_objects(graph):
            assert model.obj is not None
            reqs = [r for r, _ in model_requirements(model.obj)]
            if model.spec.get("server") or (extras and any(r in extras for r in reqs)):
                continue
            if not all(r in caps.values for r in reqs):
                continue
            candidates, _ = candidate_servers(graph, model, by_scheduler)
            if server in candidates and len(candidates) > 1:
                at_risk.append(model)
        message = (
            f"Server {server.namespace}/{server.name} runs its own image {image} (container "
            f"{container}, instead of {replaced}) but still advertises every capability of "
            f"{origin} ({', '.join(inherited)})"
            + (f" plus {', '.join(extras)}" if extras else "")
            + (
                ": spec.extraCapabilities appends to the ServerConfig's list instead of "
                "replacing it."
                if extras
                else ": a Server inherits the ServerConfig's list unless spec.capabilities "
                "replaces it."
            )
            + " The scheduler may place any generic Model on it, where the custom runtime "
            "fails to load it (ModelFailed)."
        )
        if at_risk:
            names = ", ".join(sorted(m.name for m in at_risk)[:5])
            message += f" Models that could land here: {names}."
        evidence = [
            node_evidence(server, f"spec.podSpec.containers[{container}].image", image),
            node_evidence(server, "spec.serverConfig", server.spec.get("serverConfig")),
            Evidence(
                f"Server {server.namespace}/{server.name}",
                "effective capabilities",
                ",".join(caps.values),
                caps.source,
            ),
        ]
        if extras:
            evidence.append(node_evidence(server, "spec.extraCapabilities", ",".join(extras)))
        evidence.extend(
            node_evidence(m, "requirements", ",".join(r for r, _ in model_requirements(m.obj)))
            for m in at_risk
            if m.obj is not None
        )
        own = extras[0] if extras else server.name
        return self.finding(
            server,
            message,
            evidence=evidence,
            params={"capabilities": ",".join(extras) or server.name, "capability": own},
        )
