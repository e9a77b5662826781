"""Control-plane checks: who watches which namespace, on which release, and can it get through?"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.topology import CONSUMER_READS, namespace_anchor
from seldon_doctor.findings import Evidence, Finding, Severity
from seldon_doctor.graph import seldon
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Node, ResolutionStatus
from seldon_doctor.graph.seldon import WatchScope

__all__ = [
    "ComponentVersionSkew",
    "ControllersOverlap",
    "DataflowUnavailable",
    "EnvoyNotReadyGated",
    "NamespaceNotWatched",
]

SELDON_CR_KINDS = ("Model", "Server", "Experiment", "Pipeline", "SeldonRuntime")
PIPELINE_GATEWAY = "seldon-pipelinegateway"
MODEL_GATEWAY = "seldon-modelgateway"
KAFKA_ENV = "SELDON_KAFKA_BOOTSTRAP_SERVERS"
ENVOY_READY_PORT = 9003

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


# ---------------------------------------------------------------------------- image helpers
def split_image(image: str) -> tuple[str, str, bool]:
    """(repository, tag, pinned by digest) of an image reference."""
    digest = "@" in image
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = name.rsplit(":", 1)
    else:
        repo, tag = name, ""
    return repo, tag, digest


def image_basename(image: str) -> str:
    return split_image(image)[0].rsplit("/", 1)[-1]


def is_moving_tag(image: str) -> bool:
    """True for ``latest`` or no tag at all; a digest pins the image whatever the tag."""
    _, tag, digest = split_image(image)
    return not digest and tag in ("", "latest")


def pod_spec_containers(node: Node) -> list[dict[str, Any]]:
    """Containers of a Pod, a workload's template, or nothing for implied nodes."""
    if node.obj is None:
        return []
    return seldon.containers(seldon.pod_template_spec(node.obj))


def workload_replicas(node: Node) -> int:
    value = node.spec.get("replicas", 1) if node.obj is not None else node.props.get("replicas", 1)
    return value if isinstance(value, int) else 1


def uncovered_pods(graph: DeploymentGraph) -> list[Node]:
    """Observed Pods whose workload is not in the input (reported on their own)."""
    covered: set[str] = set()
    for kind in ("Deployment", "StatefulSet"):
        for workload in graph.nodes(kind):
            if workload.obj is not None:
                covered.update(p.id for p in graph.pods_of(workload))
    return [p for p in graph.nodes("Pod") if p.id not in covered]


# ---------------------------------------------------------------------------- controllers
def _manager_args(controller: Node) -> list[str]:
    for container in pod_spec_containers(controller):
        image = str(container.get("image") or "")
        args = [str(a) for a in container.get("args") or []]
        if "seldonv2-controller" in image or any(a.startswith("--clusterwide") for a in args):
            env = seldon.env_of(container, controller.namespace)
            return seldon.expand_args(
                list(container.get("command") or []) + list(container.get("args") or []), env
            )
    return []


def _leader_elect(controller: Node) -> bool:
    return (seldon.flag_value(_manager_args(controller), "--leader-elect") or "false") == "true"


def _active_controllers(graph: DeploymentGraph) -> list[Node]:
    graph.nodes("Deployment")
    return sorted((c for c in graph.controllers if workload_replicas(c) > 0), key=lambda c: c.id)


def scope_text(scope: WatchScope) -> str:
    how = "all namespaces" if scope.all_namespaces else ", ".join(sorted(scope.namespaces))
    flags = f"clusterwide={'true' if scope.clusterwide else 'false'}"
    if scope.requested:
        flags += f", watch-namespaces={','.join(scope.requested)}"
    version = ".".join(map(str, scope.version)) if scope.version else "unknown version"
    return f"{how} ({flags}; {version})"


def _scope(controller: Node) -> WatchScope:
    scope = controller.props["watch_scope"]
    assert isinstance(scope, WatchScope)
    return scope


class ControllersOverlap(Check):
    """SD506: two controller-managers reconcile the same namespace."""

    id = "SD506"
    reads = frozenset({"Deployment"})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        controllers = _active_controllers(graph)
        for index, second in enumerate(controllers):
            for first in controllers[:index]:
                if (
                    first.namespace == second.namespace
                    and _leader_elect(first)
                    and _leader_elect(second)
                ):
                    continue  # same lease (e98130ae.seldon.io) in one namespace: one leader
                a, b = _scope(first), _scope(second)
                if a.all_namespaces and b.all_namespaces:
                    overlap_text = "every namespace"
                    overlap = ["*"]
                elif a.all_namespaces or b.all_namespaces:
                    overlap = sorted(b.namespaces if a.all_namespaces else a.namespaces)
                    overlap_text = ", ".join(overlap)
                else:
                    overlap = sorted(a.namespaces & b.namespaces)
                    overlap_text = ", ".join(overlap)
                if not overlap:
                    continue
                yield self.finding(
                    second,
                    f"Controller-managers {first.namespace}/{first.name} and "
                    f"{second.namespace}/{second.name} both reconcile {overlap_text}. Both open "
                    "their own streams to the scheduler of each such namespace, both issue "
                    "load/unload calls and both write the CRs' status and finalizers: "
                    "conflicting updates and 'Reconciler error' follow. Exactly one controller "
                    "must watch each namespace.",
                    evidence=[
                        node_evidence(first, "watch scope", scope_text(a)),
                        node_evidence(second, "watch scope", scope_text(b)),
                        # Their own logs ("Reconciler error", the watch scope they started with).
                        *(
                            e
                            for ns in sorted({first.namespace, second.namespace})
                            for e in graph.log_evidence(self.id, ns)
                        ),
                    ],
                    params={
                        "controller": second.name,
                        "other": first.name,
                        "other_namespace": first.namespace,
                        "namespaces": ",".join(overlap),
                    },
                    dedupe_key=f"overlap:{first.id}:{second.id}",
                )


class NamespaceNotWatched(Check):
    """SD507: Seldon CRs in a namespace no controller reconciles."""

    id = "SD507"
    reads = frozenset({"Deployment", *SELDON_CR_KINDS})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        cr_namespaces = graph.namespaces_with(*SELDON_CR_KINDS)
        graph.nodes("Deployment")
        if not graph.controllers:
            if cr_namespaces:
                self.skip(
                    ctx,
                    "no Seldon controller-manager Deployment in the input, so which namespaces "
                    "are watched cannot be told",
                )
            return
        active = _active_controllers(graph)
        scopes = [_scope(c) for c in active]
        explained: set[str] = set()
        for controller in active:
            scope = _scope(controller)
            if not scope.ignored_watch_namespaces:
                continue
            unwatched = sorted(
                ns for ns in scope.requested if not any(s.covers(ns) for s in scopes)
            )
            explained.update(unwatched)
            requested = ",".join(scope.requested)
            if not scope.clusterwide:
                why = (
                    f"--watch-namespaces={requested} is ignored because --clusterwide is false: "
                    f"the controller watches only its own namespace {scope.own_namespace}"
                )
            else:
                version = ".".join(map(str, scope.version or ()))
                why = (
                    f"--watch-namespaces={requested} is ignored by controller {version} (the "
                    "list exists since 2.9.1): clusterwide, it watches every namespace"
                )
            if unwatched:
                message = (
                    f"{why}. {', '.join(unwatched)} {'is' if len(unwatched) == 1 else 'are'} "
                    "watched by no controller, so Models, Servers, Pipelines and Experiments "
                    "there get no status, no finalizer and never reach the scheduler."
                )
                severity = None
            else:
                if scope.clusterwide:
                    message = f"{why}, not only the namespaces the list names (see SD506)."
                else:
                    message = f"{why}. Other controllers watch the namespaces the list names."
                severity = Severity.WARNING
            yield self.finding(
                controller,
                message,
                evidence=[
                    node_evidence(controller, "watch scope", scope_text(scope)),
                    *(
                        Evidence(f"Namespace {ns}", "watched by", "no controller")
                        for ns in unwatched
                    ),
                    *graph.log_evidence(self.id, controller.namespace),
                ],
                params={
                    "controller": controller.name,
                    "controller_namespace": controller.namespace,
                    "namespaces": ",".join(unwatched or scope.requested),
                },
                severity=severity,
            )
        for ns in cr_namespaces:
            if ns in explained or any(s.covers(ns) for s in scopes):
                continue
            crs = [n for kind in SELDON_CR_KINDS for n in graph.nodes(kind, ns)]
            evidence = [
                node_evidence(c, "watch scope", scope_text(_scope(c))) for c in graph.controllers
            ]
            evidence.extend(node_evidence(n) for n in crs[:5])
            evidence.extend(graph.log_evidence(self.id, ns))
            scopes_text = "; ".join(
                f"{c.namespace}/{c.name}: {scope_text(_scope(c))}"
                for c in sorted(graph.controllers, key=lambda c: c.id)
            )
            nearest = active[0] if active else sorted(graph.controllers, key=lambda c: c.id)[0]
            yield self.finding(
                namespace_anchor(graph, ns),
                f"Namespace {ns} holds {len(crs)} Seldon resource(s) but no running "
                "controller-manager watches it "
                f"({scopes_text})"
                "). Nothing reconciles them: no status, no finalizer, no StatefulSet for "
                "Servers, nothing sent to the scheduler.",
                evidence=evidence,
                params={
                    "controller": nearest.name,
                    "controller_namespace": nearest.namespace,
                    "namespaces": ns,
                },
                dedupe_key=f"unwatched:{ns}",
            )


# ---------------------------------------------------------------------------- versions
@dataclass(frozen=True, slots=True)
class ComponentImage:
    node: Node
    namespace: str
    component: str
    container: str
    image: str
    where: str  # field path

    @property
    def version(self) -> tuple[int, int, int] | None:
        return seldon.image_version(self.image)


def _containers_with_paths(node: Node) -> Iterable[tuple[str, dict[str, Any]]]:
    if node.obj is None:
        return
    if node.kind in ("Deployment", "StatefulSet", "Pod"):
        prefix = "spec.containers" if node.kind == "Pod" else "spec.template.spec.containers"
        for container in pod_spec_containers(node):
            yield f"{prefix}[{container.get('name')}].image", container
    elif node.kind == "SeldonConfig":
        for component in node.spec.get("components") or []:
            if isinstance(component, dict):
                for container in seldon.containers(component.get("podSpec")):
                    path = f"spec.components[{component.get('name')}].podSpec"
                    yield f"{path}.containers[{container.get('name')}].image", container
    elif node.kind in ("ServerConfig", "Server"):
        for container in seldon.containers(node.spec.get("podSpec")):
            yield f"spec.podSpec.containers[{container.get('name')}].image", container


def component_images(graph: DeploymentGraph, kinds: Iterable[str]) -> list[ComponentImage]:
    out = []
    for kind in kinds:
        for node in graph.nodes(kind):
            for path, container in _containers_with_paths(node):
                image = str(container.get("image") or "")
                component = COMPONENT_IMAGES.get(image_basename(image)) if image else None
                if component:
                    out.append(
                        ComponentImage(
                            node,
                            node.namespace,
                            component,
                            str(container.get("name")),
                            image,
                            path,
                        )
                    )
    return out


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
                f"{node.kind} {node.namespace}/{node.name} runs Seldon component image(s) on a "
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
        controllers = {c.id: _scope(c) for c in graph.controllers}
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
                "each other (the ServerNotify proto changed incompatibly in 2.9.0, scheduler "
                "state and Envoy builds move together); run one release everywhere.",
                evidence=evidence,
                params={
                    "versions": ", ".join(_version_text(v) for v in sorted(versions)),
                    "target_version": _version_text(newest),
                },
                dedupe_key=f"skew:{ns}",
            )


# ---------------------------------------------------------------------------- dataflow
def _component_ready(
    graph: DeploymentGraph, namespace: str, component: str
) -> tuple[bool | None, list[Evidence]]:
    """Whether a runtime component has a ready pod (observed) or will run (manifest)."""
    deployment = graph.get("Deployment", namespace, component)
    pods = [
        p for p in graph.nodes("Pod", namespace) if p.labels.get(seldon.NAME_LABEL) == component
    ]
    if deployment is not None and deployment.obj is not None:
        pods = pods or graph.pods_of(deployment)
    if graph.observed:
        if pods:
            ready = [p for p in pods if p.obj is not None and seldon.pod_ready(p.obj)]
            return bool(ready), [
                node_evidence(p, "Ready", bool(p.obj and seldon.pod_ready(p.obj))) for p in pods
            ]
        if deployment is not None:
            ready_count = deployment.status.get("readyReplicas", 0)
            ready_count = ready_count if isinstance(ready_count, int) else 0
            return ready_count > 0, [node_evidence(deployment, "status.readyReplicas", ready_count)]
        if graph.nodes("Pod", namespace):
            return False, [Evidence(f"Deployment {namespace}/{component}", None, None, "no pods")]
        return None, []
    if deployment is None:
        return None, []
    replicas = workload_replicas(deployment)
    return replicas > 0, [node_evidence(deployment, "replicas", replicas)]


def _bootstrap_sources(
    graph: DeploymentGraph, runtime_ns: str
) -> list[tuple[str, str, Node | None]]:
    """(bootstrap servers, where it was read, node) for the components of one runtime."""
    out: list[tuple[str, str, Node | None]] = []
    for component in (seldon.DATAFLOW, PIPELINE_GATEWAY, MODEL_GATEWAY):
        deployment = graph.get("Deployment", runtime_ns, component)
        if deployment is None or deployment.obj is None:
            continue
        for container in pod_spec_containers(deployment):
            env = seldon.env_of(container, runtime_ns)
            if env.get(KAFKA_ENV):
                out.append((env[KAFKA_ENV], f"env {KAFKA_ENV}", deployment))
    for runtime in graph.nodes("SeldonRuntime", runtime_ns):
        kafka = (runtime.spec.get("config") or {}).get("kafkaConfig") or {}
        if isinstance(kafka, dict) and kafka.get("bootstrap.servers"):
            out.append(
                (
                    str(kafka["bootstrap.servers"]),
                    "spec.config.kafkaConfig.bootstrap.servers",
                    runtime,
                )
            )
        config_name = str(runtime.spec.get("seldonConfig") or "")
        configs = [c for c in graph.nodes("SeldonConfig") if c.name == config_name]
        preferred = [c for c in configs if c.namespace in graph.controller_namespaces()]
        for config in (preferred or configs)[:1]:
            kafka = (config.spec.get("config") or {}).get("kafkaConfig") or {}
            if isinstance(kafka, dict) and kafka.get("bootstrap.servers"):
                out.append(
                    (
                        str(kafka["bootstrap.servers"]),
                        "spec.config.kafkaConfig.bootstrap.servers",
                        config,
                    )
                )
    return out


BAD_RESOLUTIONS = (
    ResolutionStatus.NO_SERVICE,
    ResolutionStatus.NO_NAMESPACE,
    ResolutionStatus.NO_BACKENDS,
    ResolutionStatus.LOOP,
)


class DataflowUnavailable(Check):
    """SD510: Pipelines exist but the dataflow path (engine, gateways, Kafka) is not there."""

    id = "SD510"
    reads = CONSUMER_READS | {"SeldonConfig"}

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        for ns in graph.namespaces_with("Pipeline"):
            pipelines = graph.nodes("Pipeline", ns)
            scheduler = graph.resolve(f"{seldon.SCHEDULER}.{ns}", ns)
            if scheduler.status == ResolutionStatus.UNKNOWN:
                self.skip(ctx, f"scheduler of {ns}: {scheduler.detail}", ns)
                continue
            runtime_ns = scheduler.chain[-1].split("/")[1] if scheduler.chain else ns
            problems: list[str] = []
            evidence: list[Evidence] = [node_evidence(p) for p in pipelines[:5]]
            first_missing = ""
            for component in (seldon.DATAFLOW, PIPELINE_GATEWAY, MODEL_GATEWAY):
                ready, proof = _component_ready(graph, runtime_ns, component)
                if ready is None:
                    self.skip(ctx, f"the input does not describe {component} in {runtime_ns}", ns)
                    continue
                if not ready:
                    problems.append(f"{component} in {runtime_ns} has no ready replica")
                    evidence.extend(proof)
                    first_missing = first_missing or component
            bad_hosts: list[str] = []
            sources = _bootstrap_sources(graph, runtime_ns)
            if sources and not graph.observed:
                # Kafka is installed apart from Seldon (Strimzi, a managed service): a manifest
                # set without its Service says nothing about whether it exists.
                self.skip(
                    ctx, "Kafka reachability is only judged on a live or captured cluster", ns
                )
                sources = []
            for servers, where, node in sources:
                hosts = [h.strip().rsplit(":", 1)[0] for h in servers.split(",") if h.strip()]
                resolutions = [graph.resolve(h, runtime_ns) for h in hosts]
                if any(r.status == ResolutionStatus.UNKNOWN for r in resolutions):
                    self.skip(ctx, f"Kafka bootstrap {servers}: not described by the input", ns)
                    continue
                if resolutions and all(r.status in BAD_RESOLUTIONS for r in resolutions):
                    bad_hosts.append(servers)
                    problems.append(
                        f"Kafka bootstrap {servers} ({where}) resolves to no ready Service: "
                        + "; ".join(r.detail or r.status.value for r in resolutions)
                    )
                    if node is not None:
                        evidence.append(node_evidence(node, where, servers))
            if not problems:
                continue
            yield self.finding(
                namespace_anchor(graph, ns),
                f"{len(pipelines)} Pipeline(s) in {ns} cannot run: "
                + "; ".join(dict.fromkeys(problems))
                + ". Pipelines stay in PipelineCreate/PipelineFailed (the scheduler has no "
                "dataflow engine or gateway to place them on) and pipeline inference fails.",
                evidence=evidence,
                params={
                    "runtime_namespace": runtime_ns,
                    "component": first_missing or seldon.DATAFLOW,
                    "bootstrap": bad_hosts[0] if bad_hosts else "<bootstrap.servers>",
                },
                dedupe_key=f"dataflow:{ns}",
            )


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


# ---------------------------------------------------------------------------- network policy
# Kleene three-valued logic: True, False, or None ("the input cannot tell").
Tri = bool | None

# Labels the kubelet/controllers add to pods that a template does not show.
_GENERATED_LABELS = frozenset(
    {
        "pod-template-hash",
        "controller-revision-hash",
        "statefulset.kubernetes.io/pod-name",
        "apps.kubernetes.io/pod-index",
    }
)
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
# Container port names of the scheduler and of a Server pod's agent (SeldonConfig/ServerConfig).
KNOWN_PORT_NAMES = {
    "xds": 9002,
    "scheduler": 9004,
    "scheduler-mtls": 9044,
    "agent": 9005,
    "agent-mtls": 9055,
    "dataflow": 9008,
}
AGENT_PROXY_HTTP_PORT = 9001  # Envoy's upstream for a Server replica: the agent reverse proxy
ISTIO_ROOT_NAMESPACE = "istio-system"


def tri_all(values: Iterable[Tri]) -> Tri:
    result: Tri = True
    for value in values:
        if value is False:
            return False
        if value is None:
            result = None
    return result


def tri_any(values: Iterable[Tri]) -> Tri:
    result: Tri = False
    for value in values:
        if value is True:
            return True
        if value is None:
            result = None
    return result


@dataclass(frozen=True, slots=True)
class PodView:
    """What the input tells about one pod (or a pod a workload will create)."""

    namespace: str
    name: str
    labels: dict[str, str]
    complete: bool  # labels are all there is (observed pod, or declared template)
    ports: dict[str, int]
    service_account: str | None = None
    sidecar: Tri = None

    def has(self, key: str) -> Tri:
        if key in self.labels:
            return True
        if self.complete and key not in _GENERATED_LABELS:
            return False
        return None


def selector_match(selector: Any, view_labels: dict[str, str], has: Any) -> Tri:
    """Three-valued LabelSelector match (matchLabels and matchExpressions)."""
    if not isinstance(selector, dict):
        return True
    results: list[Tri] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        present = has(str(key))
        results.append(view_labels.get(str(key)) == str(value) if present else present)
    for expr in selector.get("matchExpressions") or []:
        if not isinstance(expr, dict):
            continue
        key, op = str(expr.get("key")), str(expr.get("operator"))
        values = [str(v) for v in expr.get("values") or []]
        present = has(key)
        if op == "In":
            results.append(view_labels.get(key) in values if present else present)
        elif op == "NotIn":
            results.append(
                view_labels.get(key) not in values
                if present
                else (None if present is None else True)
            )
        elif op == "Exists":
            results.append(present)
        elif op == "DoesNotExist":
            results.append(None if present is None else not present)
        else:
            results.append(None)
    return tri_all(results)


def _container_ports(containers: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for container in containers:
        for item in container.get("ports") or []:
            if (
                isinstance(item, dict)
                and item.get("name")
                and isinstance(item.get("containerPort"), int)
            ):
                out[str(item["name"])] = item["containerPort"]
    return out


def _pod_view(pod: Node) -> PodView:
    assert pod.obj is not None
    containers = seldon.containers(pod.spec)
    sidecar = "sidecar.istio.io/status" in pod.annotations or any(
        c.get("name") == "istio-proxy" for c in containers
    )
    return PodView(
        pod.namespace,
        pod.name,
        dict(pod.labels),
        True,
        _container_ports(containers),
        str(pod.spec.get("serviceAccountName") or "default"),
        sidecar,
    )


def _workload_view(workload: Node, pod_name: str | None = None) -> PodView:
    labels: dict[str, str]
    if workload.obj is not None:
        labels = seldon.pod_template_labels(workload.obj)
        spec = seldon.pod_template_spec(workload.obj)
        ports = _container_ports(seldon.containers(spec))
        account = str(spec.get("serviceAccountName") or "default")
        template = workload.spec.get("template") or {}
        annotations = (template.get("metadata") or {}).get("annotations") or {}
        sidecar: Tri = False if str(annotations.get("sidecar.istio.io/inject")) == "false" else None
        complete = True
    else:
        labels = dict(workload.props.get("template_labels") or {})
        ports, account, sidecar, complete = {}, None, None, False
    if pod_name and workload.kind == "StatefulSet":
        labels = {**labels, "statefulset.kubernetes.io/pod-name": pod_name}
    return PodView(
        workload.namespace, pod_name or workload.name, labels, complete, ports, account, sidecar
    )


class _Policies:
    """NetworkPolicy and Istio AuthorizationPolicy evaluation over pod views."""

    def __init__(self, graph: DeploymentGraph) -> None:
        self.graph = graph
        self.netpols = graph.nodes("NetworkPolicy")
        self.authz = graph.nodes("AuthorizationPolicy")

    def namespace_view(self, namespace: str) -> tuple[dict[str, str], Any]:
        node = self.graph.get("Namespace", "", namespace) or next(
            (n for n in self.graph.nodes("Namespace") if n.name == namespace), None
        )
        labels = {NAMESPACE_NAME_LABEL: namespace}
        if node is not None:
            labels.update(node.labels)

            def has(key: str) -> Tri:
                return key in labels

            return labels, has

        def has_partial(key: str) -> Tri:
            return True if key in labels else None

        return labels, has_partial

    @staticmethod
    def types(policy: Node) -> list[str]:
        declared = policy.spec.get("policyTypes")
        if isinstance(declared, list) and declared:
            return [str(t) for t in declared]
        return ["Ingress", "Egress"] if "egress" in policy.spec else ["Ingress"]

    def _peer(self, peer: Any, policy_ns: str, other: PodView) -> Tri:
        if not isinstance(peer, dict) or not peer:
            return None
        if "ipBlock" in peer:
            return None  # pod IPs against CIDRs: implementation-defined, not judged
        pod_sel, ns_sel = peer.get("podSelector"), peer.get("namespaceSelector")
        pod_match = (
            selector_match(pod_sel, other.labels, other.has) if pod_sel is not None else True
        )
        if ns_sel is not None:
            ns_labels, ns_has = self.namespace_view(other.namespace)
            return tri_all([selector_match(ns_sel, ns_labels, ns_has), pod_match])
        return tri_all([other.namespace == policy_ns, pod_match])

    @staticmethod
    def _ports(rule_ports: Any, port: int, target: PodView) -> Tri:
        if not isinstance(rule_ports, list) or not rule_ports:
            return True
        results: list[Tri] = []
        for item in rule_ports:
            if not isinstance(item, dict):
                continue
            if str(item.get("protocol") or "TCP") != "TCP":
                results.append(False)
                continue
            value = item.get("port")
            if value is None:
                results.append(True)
            elif isinstance(value, int):
                end = item.get("endPort")
                results.append(value <= port <= end if isinstance(end, int) else value == port)
            else:
                named = target.ports.get(str(value), KNOWN_PORT_NAMES.get(str(value)))
                results.append(None if named is None else named == port)
        return tri_any(results)

    def direction(
        self, pod: PodView, other: PodView, target: PodView, port: int, kind: str
    ) -> tuple[Tri, list[Node]]:
        """Whether ``pod``'s policies of one direction admit traffic with ``other``."""
        field, peers_key = ("ingress", "from") if kind == "Ingress" else ("egress", "to")
        selecting: list[tuple[Node, Tri]] = []
        for policy in self.netpols:
            if policy.namespace != pod.namespace or kind not in self.types(policy):
                continue
            chosen = selector_match(policy.spec.get("podSelector") or {}, pod.labels, pod.has)
            if chosen is not False:
                selecting.append((policy, chosen))
        if not selecting:
            return True, []
        isolated = tri_any(chosen for _, chosen in selecting)
        admitted: list[Tri] = []
        for policy, chosen in selecting:
            for rule in policy.spec.get(field) or []:
                if not isinstance(rule, dict):
                    continue
                peers = rule.get(peers_key)
                peer_ok = (
                    True
                    if not peers
                    else tri_any(self._peer(p, policy.namespace, other) for p in peers)
                )
                admitted.append(
                    tri_all([chosen, peer_ok, self._ports(rule.get("ports"), port, target)])
                )
        not_isolated: Tri = None if isolated is None else not isolated
        return tri_any([not_isolated, *admitted]), [p for p, _ in selecting]

    def mesh(self, source: PodView, target: PodView, port: int) -> tuple[Tri, list[Node]]:
        """Istio AuthorizationPolicy on the target's sidecar (DENY first, then ALLOW)."""
        applicable = []
        for policy in self.authz:
            if policy.namespace not in (target.namespace, ISTIO_ROOT_NAMESPACE):
                continue
            selector = policy.spec.get("selector")
            labels = selector.get("matchLabels") if isinstance(selector, dict) else None
            chosen = (
                selector_match({"matchLabels": labels}, target.labels, target.has)
                if isinstance(labels, dict)
                else True
            )
            if chosen is not False:
                applicable.append((policy, chosen))
        if not applicable:
            return True, []
        if target.sidecar is False:
            return True, []
        if target.sidecar is None:
            return None, [p for p, _ in applicable]
        denied: list[Tri] = []
        allows: list[tuple[Node, Tri]] = []
        for policy, chosen in applicable:
            action = str(policy.spec.get("action") or "ALLOW")
            rules = [r for r in policy.spec.get("rules") or [] if isinstance(r, dict)]
            matched = tri_any(self._authz_rule(r, source, port) for r in rules)
            if action == "DENY":
                denied.append(tri_all([chosen, matched]))
            elif action == "ALLOW":
                allows.append((policy, tri_all([chosen, matched])))
            else:
                return None, [policy]  # CUSTOM (external authorizer) / AUDIT: not judged
        deny = tri_any(denied)
        if deny is True:
            return False, [p for p, _ in applicable if str(p.spec.get("action")) == "DENY"]
        if not allows:
            return (None if deny is None else True), [p for p, _ in applicable]
        allowed = tri_any(m for _, m in allows)
        verdict = tri_all([None if deny is None else not deny, allowed])
        return verdict, [p for p, _ in allows]

    @staticmethod
    def _authz_rule(rule: dict[str, Any], source: PodView, port: int) -> Tri:
        parts: list[Tri] = []
        sources = rule.get("from")
        if isinstance(sources, list) and sources:
            parts.append(
                tri_any(
                    _istio_source(s.get("source"), source) for s in sources if isinstance(s, dict)
                )
            )
        targets = rule.get("to")
        if isinstance(targets, list) and targets:
            parts.append(
                tri_any(
                    _istio_operation(t.get("operation"), port)
                    for t in targets
                    if isinstance(t, dict)
                )
            )
        if rule.get("when"):
            parts.append(None)
        return tri_all(parts)


def _istio_match(pattern: str, value: str) -> bool:
    if pattern == "*":
        return True
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


def _istio_source(spec: Any, source: PodView) -> Tri:
    if not isinstance(spec, dict):
        return True
    parts: list[Tri] = []
    for key in ("namespaces", "notNamespaces"):
        values = spec.get(key)
        if isinstance(values, list) and values:
            hit = any(_istio_match(str(v), source.namespace) for v in values)
            parts.append(hit if key == "namespaces" else not hit)
    for key in ("principals", "notPrincipals"):
        values = spec.get(key)
        if isinstance(values, list) and values:
            if source.sidecar is not True or source.service_account is None:
                parts.append(None if source.sidecar is None else key == "notPrincipals")
                continue
            identity = f"ns/{source.namespace}/sa/{source.service_account}"
            hit = any(
                _istio_match(str(v), identity) or str(v).endswith("/" + identity) for v in values
            )
            parts.append(hit if key == "principals" else not hit)
    if any(k in spec for k in ("ipBlocks", "notIpBlocks", "remoteIpBlocks", "requestPrincipals")):
        parts.append(None)
    return tri_all(parts)


def _istio_operation(spec: Any, port: int) -> Tri:
    if not isinstance(spec, dict):
        return True
    parts: list[Tri] = []
    ports = spec.get("ports")
    if isinstance(ports, list) and ports:
        parts.append(str(port) in {str(p) for p in ports})
    not_ports = spec.get("notPorts")
    if isinstance(not_ports, list) and not_ports:
        parts.append(str(port) not in {str(p) for p in not_ports})
    if any(
        spec.get(k) for k in ("methods", "paths", "hosts", "notMethods", "notPaths", "notHosts")
    ):
        parts.append(None)  # gRPC paths and methods: not judged
    return tri_all(parts)


@dataclass(frozen=True, slots=True)
class Flow:
    role: str
    who: str  # node id of the consumer
    source: PodView
    target: PodView
    port: int
    why: str  # what the connection is for


class SchedulerPortBlocked(Check):
    """SD509: a NetworkPolicy or mesh policy stops a consumer reaching the scheduler or a Server."""

    id = "SD509"
    reads = CONSUMER_READS | {"NetworkPolicy", "AuthorizationPolicy"}

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        policies = _Policies(graph)
        if not policies.netpols and not policies.authz:
            return
        blocked: dict[tuple[str, ...], list[tuple[Flow, str]]] = defaultdict(list)
        unknown: set[str] = set()
        for flow in self._flows(graph):
            verdicts: list[tuple[str, Tri, list[Node]]] = []
            ingress = policies.direction(
                flow.target, flow.source, flow.target, flow.port, "Ingress"
            )
            egress = policies.direction(flow.source, flow.target, flow.target, flow.port, "Egress")
            mesh = policies.mesh(flow.source, flow.target, flow.port)
            verdicts = [("ingress", *ingress), ("egress", *egress), ("mesh", *mesh)]
            for how, verdict, nodes in verdicts:
                if verdict is False:
                    key = tuple(sorted(n.id for n in nodes))
                    blocked[key].append((flow, how))
                    break
                if verdict is None:
                    unknown.add(
                        f"{flow.role} {flow.source.namespace}/{flow.source.name} → "
                        f"{flow.target.namespace}/{flow.target.name}:{flow.port} ({how})"
                    )
        for item in sorted(unknown):
            self.skip(ctx, "cannot tell whether the policies admit a flow", subject=item)
        for key, flows in sorted(blocked.items()):
            nodes = [n for n in (policies.netpols + policies.authz) if n.id in key]
            anchor = nodes[0]
            seen: set[tuple[str, str, int, str]] = set()
            lines = []
            evidence: list[Evidence] = [node_evidence(n, "spec", _policy_summary(n)) for n in nodes]
            for flow, how in flows:
                ident = (flow.who, flow.target.namespace, flow.port, how)
                if ident in seen:
                    continue
                seen.add(ident)
                lines.append(
                    f"{flow.why} ({flow.source.namespace}/{flow.source.name} → "
                    f"{flow.target.namespace}/{flow.target.name}:{flow.port}, {how})"
                )
                evidence.append(
                    Evidence(
                        f"{flow.role} {flow.who}",
                        "connects to",
                        f"{flow.target.namespace}/{flow.target.name}:{flow.port}",
                        f"denied by {how} policy",
                    )
                )
            first, how = flows[0]
            target_selector = _selector_text(first.target)
            evidence.extend(graph.log_evidence(self.id, first.source.namespace))
            yield self.finding(
                anchor,
                f"{anchor.kind} {anchor.namespace}/{anchor.name} blocks "
                + "; ".join(lines[:6])
                + (f"; and {len(lines) - 6} more" if len(lines) > 6 else "")
                + ". Without these connections agents never register, Envoy gets no routes and "
                "the controller cannot load anything: models stay ScheduleFailed or unreachable.",
                evidence=evidence,
                params={
                    "policy": anchor.name,
                    "source_namespace": first.source.namespace,
                    "target_namespace": first.target.namespace,
                    "port": str(first.port),
                    "target_selector": target_selector,
                    "source_selector": _selector_text(first.source),
                },
                dedupe_key=f"blocked:{','.join(key)}",
            )

    def _flows(self, graph: DeploymentGraph) -> Iterator[Flow]:
        for ns in graph.namespaces_with("Model", "Server", "Experiment", "Pipeline"):
            for consumer in graph.scheduler_consumers(ns):
                if consumer.resolution.status != ResolutionStatus.OK:
                    continue
                sources = self._consumer_views(graph, consumer.role, consumer.subject)
                for backend in consumer.resolution.ready_backends:
                    target = self._backend_view(
                        graph, backend.namespace, backend.pod, backend.workload
                    )
                    for source in sources:
                        yield Flow(
                            consumer.role,
                            consumer.subject,
                            source,
                            target,
                            consumer.port,
                            f"{consumer.role} → scheduler port {consumer.port}",
                        )
            # Envoy (where the scheduler runs) → each Server replica's agent proxy (9001).
            for server in graph.nodes("Server", ns):
                agent = next(
                    (
                        c
                        for c in graph.scheduler_consumers(ns)
                        if c.role == "agent" and c.subject == server.id
                    ),
                    None,
                )
                if agent is None or agent.resolution.status != ResolutionStatus.OK:
                    continue
                envoy_namespaces = sorted({b.namespace for b in agent.resolution.ready_backends})
                targets = self._server_views(graph, server)
                for envoy_ns in envoy_namespaces:
                    for source in self._envoy_views(graph, envoy_ns):
                        for target in targets:
                            yield Flow(
                                "envoy",
                                node_id_of("Deployment", envoy_ns, seldon.ENVOY),
                                source,
                                target,
                                AGENT_PROXY_HTTP_PORT,
                                f"Envoy → Server {server.name} agent port {AGENT_PROXY_HTTP_PORT}",
                            )
        # Gateways dial --scheduler-host=seldon-scheduler (their own namespace) on 9004.
        for gateway in graph.nodes("Deployment"):
            if gateway.name not in (MODEL_GATEWAY, PIPELINE_GATEWAY):
                continue
            if workload_replicas(gateway) == 0:
                continue
            resolution = graph.resolve(seldon.SCHEDULER, gateway.namespace)
            if resolution.status != ResolutionStatus.OK:
                continue
            port = seldon.SCHEDULER_PORTS["scheduler"]
            for backend in resolution.ready_backends:
                target = self._backend_view(graph, backend.namespace, backend.pod, backend.workload)
                for source in self._workload_or_pods(graph, gateway):
                    yield Flow(
                        "gateway",
                        gateway.id,
                        source,
                        target,
                        port,
                        f"{gateway.name} → scheduler port {port}",
                    )

    @staticmethod
    def _backend_view(
        graph: DeploymentGraph, namespace: str, pod_name: str, workload_id: str | None
    ) -> PodView:
        pod = graph.get("Pod", namespace, pod_name)
        if pod is not None and pod.obj is not None:
            return _pod_view(pod)
        if workload_id:
            kind, ns, name = workload_id.split("/", 2)
            workload = graph.get(kind, ns, name)
            if workload is not None:
                return _workload_view(workload, pod_name)
        return PodView(namespace, pod_name, {}, False, {})

    @staticmethod
    def _workload_or_pods(graph: DeploymentGraph, workload: Node | None) -> list[PodView]:
        if workload is None:
            return []
        if graph.observed:
            return [_pod_view(p) for p in graph.pods_of(workload) if p.obj is not None]
        return [_workload_view(workload)]

    def _consumer_views(self, graph: DeploymentGraph, role: str, subject: str) -> list[PodView]:
        parts = subject.split("/")
        if role == "agent" and len(parts) == 3:
            server = graph.get("Server", parts[1], parts[2])
            return self._server_views(graph, server) if server is not None else []
        if role == "envoy" and len(parts) == 3:
            return self._envoy_views(graph, parts[1])
        if len(parts) == 3 and parts[0] == "Deployment":
            return self._workload_or_pods(graph, graph.get("Deployment", parts[1], parts[2]))
        return []

    def _server_views(self, graph: DeploymentGraph, server: Node) -> list[PodView]:
        if graph.observed:
            return [_pod_view(p) for p in graph.server_pods(server) if p.obj is not None]
        sts = graph.get("StatefulSet", server.namespace, server.name)
        return [_workload_view(sts, f"{server.name}-0")] if sts is not None else []

    def _envoy_views(self, graph: DeploymentGraph, namespace: str) -> list[PodView]:
        if graph.observed:
            return [
                _pod_view(p)
                for p in graph.nodes("Pod", namespace)
                if p.obj is not None and p.labels.get(seldon.NAME_LABEL) == seldon.ENVOY
            ]
        return self._workload_or_pods(graph, graph.get("Deployment", namespace, seldon.ENVOY))


def node_id_of(kind: str, namespace: str, name: str) -> str:
    return f"{kind}/{namespace}/{name}"


def _selector_text(view: PodView) -> str:
    for key in (seldon.NAME_LABEL, "seldon-server-name", "control-plane", "app"):
        if key in view.labels:
            return f"{key}: {view.labels[key]}"
    return "{}"


def _policy_summary(policy: Node) -> str:
    if policy.kind == "NetworkPolicy":
        selector = policy.spec.get("podSelector") or {}
        labels = selector.get("matchLabels") if isinstance(selector, dict) else None
        shown = ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items()))
        if isinstance(selector, dict) and selector.get("matchExpressions"):
            shown += (", " if shown else "") + f"{len(selector['matchExpressions'])} expression(s)"
        return (
            f"podSelector {shown or '{} (all pods)'}; policyTypes "
            f"{','.join(_Policies.types(policy))}; {len(policy.spec.get('ingress') or [])} "
            f"ingress / {len(policy.spec.get('egress') or [])} egress rule(s)"
        )
    rules = len(policy.spec.get("rules") or [])
    return f"action {policy.spec.get('action') or 'ALLOW'}; {rules} rule(s)"
