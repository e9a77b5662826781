"""SD508 component-version-skew.

Seldon components run different releases, or a moving tag such as latest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import NamedTuple

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import (
    container_lists,
    namespace_anchor,
    uncovered_pods,
)
from seldon_doctor.checks.helpers.controlplane import controller_scope
from seldon_doctor.domain.images import image_basename, image_version, is_moving_tag
from seldon_doctor.findings import Finding
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Node

# Image repository basenames of Seldon Core v2 components (one release tag for all of them).
COMPONENT_IMAGES: dict[str, str] = {
    "seldonv2-controller": "controller",
    "seldon-scheduler": "scheduler",
    "seldon-envoy": "envoy",
    "seldon-agent": "agent",
    "seldon-rclone": "rclone",
    "seldon-modelgateway": "model gateway",
    "seldon-pipelinegateway": "pipeline gateway",
    "seldon-dataflow-engine": "dataflow engine",
    "seldon-hodometer": "hodometer",
}


# ---------------------------------------------------------------------------- versions
class ComponentImage(NamedTuple):
    """One Seldon component container (a tuple: built for every one of thousands of Pods)."""

    node: Node
    namespace: str
    component: str
    container: str
    image: str
    where: str  # field path
    # Read once here: the skew pass asks for it several times per image.
    version: tuple[int, int, int] | None


def component_images(graph: DeploymentGraph, kinds: Iterable[str]) -> list[ComponentImage]:
    out = []
    for kind in kinds:
        for node in graph.nodes(kind):
            for prefix, containers in container_lists(node):
                for container in containers:
                    image = str(container.get("image") or "")
                    known = _component_of(image)
                    if known is not None:
                        name = container.get("name")
                        out.append(
                            ComponentImage(
                                node,
                                node.namespace,
                                known[0],
                                str(name),
                                image,
                                f"{prefix}[{name}].image",
                                known[1],
                            )
                        )
    return out


# A cluster runs a few distinct images in thousands of containers: classify each text once.
@lru_cache(maxsize=4096)
def _component_of(image: str) -> tuple[str, tuple[int, int, int] | None] | None:
    """(component, release version) of a Seldon component image; None for any other."""
    component = COMPONENT_IMAGES.get(image_basename(image)) if image else None
    return (component, image_version(image)) if component else None


def _version_text(version: tuple[int, int, int] | None) -> str:
    return ".".join(map(str, version)) if version else "?"


class ComponentVersionSkew(Check):
    """SD508: Seldon components on different releases, or on a moving tag."""

    id = "SD508"
    reads = frozenset(
        {"Deployment", "StatefulSet", "Pod", "SeldonConfig", "ServerConfig", "Server"}
        | {"SeldonRuntime"}
    )

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        images = component_images(
            graph, ("Deployment", "StatefulSet", "SeldonConfig", "ServerConfig", "Server")
        )
        lone_pods = {p.id for p in uncovered_pods(graph)}
        pod_images = component_images(graph, ("Pod",))
        known = [i.version for i in images + pod_images if i.version is not None]
        newest_known = _version_text(max(known)) if known else "<release>"
        # Moving tags: one finding per object (Pods only when their workload is not in the input).
        by_node: dict[str, list[ComponentImage]] = defaultdict(list)
        for item in images + [i for i in pod_images if i.node.id in lone_pods]:
            if is_moving_tag(item.image):
                by_node[item.node.id].append(item)
        for items in by_node.values():
            node = items[0].node
            listed = ", ".join(f"{i.container}={i.image}" for i in items)
            yield self.finding(
                node,
                f"{node.kind} {node.namespace}/{node.name} runs "
                f"{'a Seldon component image' if len(items) == 1 else 'Seldon component images'}"
                " on a "
                f"moving tag ({listed}). Each restart may pull a different build, so controller, "
                "scheduler, Envoy and agents drift apart (gRPC UNIMPLEMENTED, rejected xDS "
                "listeners); pin every component to one release tag.",
                evidence=[node_evidence(node, i.where, i.image) for i in items],
                params={
                    "images": listed,
                    "component": items[0].component,
                    "versions": "latest",
                    "target_version": newest_known,
                },
                dedupe_key=f"moving:{node.id}",
            )
        # Skew: within one namespace, plus the controllers that reconcile it.
        everything = images + pod_images
        namespaces = sorted({i.namespace for i in everything if i.namespace})
        controllers = {c.id: controller_scope(c) for c in graph.controllers}
        # Indexed by namespace (a scan per namespace over every image was quadratic).
        in_namespace: dict[str, list[int]] = defaultdict(list)
        of_controllers: list[int] = []
        for index, i in enumerate(everything):
            in_namespace[i.namespace].append(index)
            if i.node.id in controllers:
                of_controllers.append(index)
        for ns in namespaces:
            chosen = set(in_namespace.get(ns, ()))
            chosen.update(
                index
                for index in of_controllers
                if controllers[everything[index].node.id].covers(ns)
            )
            group = [everything[index] for index in sorted(chosen)]
            versions = {i.version for i in group if i.version is not None}
            if len(versions) <= 1:
                continue
            seen: set[tuple[str, str]] = set()
            evidence = []
            parts = []
            for item in sorted(group, key=lambda i: (i.version or (0, 0, 0), i.component)):
                if item.version is None or (item.component, item.image) in seen:
                    continue
                seen.add((item.component, item.image))
                evidence.append(node_evidence(item.node, item.where, item.image))
                parts.append(f"{item.component} {_version_text(item.version)}")
            newest = max(versions)
            yield self.finding(
                namespace_anchor(graph, ns),
                f"Seldon components serving namespace {ns} run different releases "
                f"({', '.join(dict.fromkeys(parts))}). Components talk versioned gRPC and xDS to "
                "each other (ServerNotifyRequest became batched in 2.8.4, scheduler "
                "state and Envoy builds move together); run one release everywhere.",
                evidence=evidence,
                params={
                    "versions": ", ".join(_version_text(v) for v in sorted(versions)),
                    "target_version": _version_text(newest),
                },
                dedupe_key=f"skew:{ns}",
            )
