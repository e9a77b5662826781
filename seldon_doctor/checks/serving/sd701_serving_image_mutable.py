"""SD701 serving-image-mutable: A model-server image runs on latest or without a tag."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import container_lists, uncovered_pods
from seldon_doctor.domain.images import image_basename, is_moving_tag, split_image
from seldon_doctor.domain.releases import SERVER_IMAGE_MARKERS
from seldon_doctor.findings import Finding, counted
from seldon_doctor.graph.model import Node

# Repository basenames of model-server images (MLServer, Triton, KServe's runtimes, TorchServe).
MODEL_SERVER_IMAGES = frozenset(
    {
        "mlserver",
        "tritonserver",
        "sklearnserver",
        "xgbserver",
        "lgbserver",
        "pmmlserver",
        "paddleserver",
        "huggingfaceserver",
        "torchserve",
        "torchserve-kfs",
    }
)


# Container names the Seldon ServerConfigs and KServe give the model server itself.
MODEL_SERVER_CONTAINERS = frozenset({"mlserver", "triton", "kserve-container"})


# Open Inference Protocol (V2) health endpoints a model server's probes use.
V2_HEALTH_PATHS = frozenset({"/v2/health/ready", "/v2/health/live"})


def _probe_paths(container: dict[str, Any]) -> set[str]:
    paths = set()
    for key in ("readinessProbe", "livenessProbe", "startupProbe"):
        probe = container.get(key)
        http = probe.get("httpGet") if isinstance(probe, dict) else None
        if isinstance(http, dict) and isinstance(http.get("path"), str):
            paths.add(http["path"].rstrip("/") or "/")
    return paths


def is_model_server(container: dict[str, Any]) -> bool:
    """A model server by what it is, not only by its image's name: a known server image (or a
    repository naming mlserver/triton), MLServer's own env (``MLSERVER_*``), V2 health probes,
    or the container name the ServerConfigs and KServe give the server."""
    image = str(container.get("image") or "")
    if not image:
        return False
    repo = split_image(image)[0].lower()
    if repo.rsplit("/", 1)[-1].startswith("seldon-") or "rclone" in repo:
        return False  # Seldon's agent and rclone sidecars sit beside the server
    env = container.get("env")
    env_names = {
        str(e.get("name")) for e in (env if isinstance(env, list) else []) if isinstance(e, dict)
    }
    return (
        image_basename(image) in MODEL_SERVER_IMAGES
        or repo.endswith("tensorflow/serving")
        or any(marker in repo for marker in SERVER_IMAGE_MARKERS)
        or container.get("name") in MODEL_SERVER_CONTAINERS
        or any(name.startswith("MLSERVER_") for name in env_names)
        or bool(_probe_paths(container) & V2_HEALTH_PATHS)
    )


def _moving_servers(node: Node) -> list[tuple[str, dict[str, Any]]]:
    """(field path, container) of each model server an object runs on a moving tag."""
    return [
        (f"{prefix}[{c.get('name')}]", c)
        for prefix, containers in container_lists(node)
        for c in containers
        # The cheap, cached tag test first: most images are pinned.
        if is_moving_tag(str(c.get("image"))) and is_model_server(c)
    ]


class ServingImageMutable(Check):
    """SD701: a model-server image on ``latest`` or without a tag."""

    id = "SD701"
    reads = frozenset(
        {"Deployment", "StatefulSet", "Pod", "ServerConfig", "Server", "InferenceService"}
    )

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        subjects = [
            n
            for kind in ("Deployment", "StatefulSet", "ServerConfig", "Server", "InferenceService")
            for n in graph.nodes(kind)
        ]
        # Pods whose workload is not in the input: replicas of one workload reported once.
        pod_groups: dict[tuple[str, tuple[str, ...]], list[Node]] = defaultdict(list)
        for pod in uncovered_pods(graph):
            images = tuple(sorted(str(c.get("image")) for _, c in _moving_servers(pod)))
            if images:
                pod_groups[(pod.namespace, images)].append(pod)
        subjects.extend(sorted(pods, key=lambda p: p.name)[0] for pods in pod_groups.values())
        counts = {sorted(p, key=lambda p: p.name)[0].id: len(p) for p in pod_groups.values()}
        for node in subjects:
            moving = _moving_servers(node)
            if not moving:
                continue
            listed = ", ".join(f"{c.get('name')}={c.get('image')}" for _, c in moving)
            also = counts.get(node.id, 1)
            more = f" (and {counted(also - 1, 'more pod')} like it)" if also > 1 else ""
            yield self.finding(
                node,
                f"{node.kind} {node.namespace}/{node.name}{more} serves models from a model-server "
                f"image on a moving tag ({listed}). Two pods of the same workload can run "
                "different server builds, and the server version a response or the metadata "
                "endpoint reports cannot be tied to a release; pin a version tag or a digest.",
                evidence=[
                    node_evidence(node, f"{path}.image", c.get("image")) for path, c in moving
                ],
                params={
                    "container": str(moving[0][1].get("name") or "server"),
                    "image": str(moving[0][1].get("image")),
                },
            )
