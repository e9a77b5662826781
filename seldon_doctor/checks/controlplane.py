"""Control-plane checks: who watches which namespace, on which release, and can it get through?"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import (
    CONSUMER_READS,
    namespace_anchor,
    pod_spec_containers,
    uncovered_pods,
    workload_replicas,
)
from seldon_doctor.domain.images import image_basename, image_version, is_moving_tag
from seldon_doctor.domain.istio_policy import mesh_verdict
from seldon_doctor.domain.network_policy import (
    PodView,
    Policies,
    Tri,
    container_ports,
    policy_types,
)
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
    if scope.rejected_flags:
        how = f"nothing (exits at start: {', '.join(scope.rejected_flags)} not defined)"
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
            if scope.rejected_flags:
                yield self._rejected(graph, controller, scope, scopes, cr_namespaces, explained)
                continue
            if not scope.ignored_watch_namespaces:
                continue
            unwatched = sorted(
                ns for ns in scope.requested if not any(s.covers(ns) for s in scopes)
            )
            explained.update(unwatched)
            requested = ",".join(scope.requested)
            why = (
                f"--watch-namespaces={requested} is ignored because --clusterwide is false: "
                f"the controller watches only its own namespace {scope.own_namespace}"
            )
            if unwatched:
                message = (
                    f"{why}. {', '.join(unwatched)} {'is' if len(unwatched) == 1 else 'are'} "
                    "watched by no controller, so Models, Servers, Pipelines and Experiments "
                    "there get no status, no finalizer and never reach the scheduler."
                )
                severity = None
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

    def _rejected(
        self,
        graph: DeploymentGraph,
        controller: Node,
        scope: WatchScope,
        scopes: list[WatchScope],
        cr_namespaces: Iterable[str],
        explained: set[str],
    ) -> Finding:
        """A controller given a flag its release does not define never starts."""
        intended: set[str] | None = (
            None if scope.clusterwide and not scope.requested else {scope.own_namespace}
        )
        if intended is not None and scope.clusterwide:
            intended.update(scope.requested)
        candidates = set(cr_namespaces) if intended is None else intended | set()
        unwatched = sorted(ns for ns in candidates if not any(s.covers(ns) for s in scopes))
        explained.update(unwatched)
        version = ".".join(map(str, scope.version or ())) or "?"
        flags = ", ".join(scope.rejected_flags)
        since = " (it exists from 2.9.1)" if "--watch-namespaces" in scope.rejected_flags else ""
        message = (
            f"Controller-manager {controller.namespace}/{controller.name} runs "
            f"{version}, whose binary does not define {flags}{since}: Go's flag package stops "
            "it at start ('flag provided but not defined', exit 2), so the pod restarts "
            "(CrashLoopBackOff) and reconciles nothing."
        )
        if unwatched:
            message += (
                f" Left unreconciled: {', '.join(unwatched)} — Models, Servers, Pipelines and "
                "Experiments there get no status, no finalizer and never reach the scheduler."
            )
        else:
            message += " Other controllers watch the namespaces it was meant to."
        message += " Use a controller image that matches the chart, or drop the flag."
        return self.finding(
            controller,
            message,
            evidence=[
                node_evidence(controller, "args", flags, f"not defined by controller {version}"),
                *(Evidence(f"Namespace {ns}", "watched by", "no controller") for ns in unwatched),
                *graph.log_evidence(self.id, controller.namespace),
            ],
            params={
                "controller": controller.name,
                "controller_namespace": controller.namespace,
                "namespaces": ",".join(unwatched or scope.requested or [scope.own_namespace]),
            },
            dedupe_key=f"rejected-flags:{controller.id}",
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
        return image_version(self.image)


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
                "each other (ServerNotifyRequest became batched in 2.8.4, scheduler "
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
        if graph.complete("Pod", namespace):
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
    # Resolution (Services, pods, workloads, SeldonRuntime, Server) and Pipelines; no Model,
    # Experiment or ServerConfig: it never asks who else dials the scheduler.
    reads = (CONSUMER_READS - {"Model", "Experiment", "ServerConfig"}) | {"SeldonConfig"}

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
AGENT_PROXY_HTTP_PORT = 9001  # Envoy's upstream for a Server replica: the agent reverse proxy


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
        container_ports(containers),
        str(pod.spec.get("serviceAccountName") or "default"),
        sidecar,
    )


def _workload_view(workload: Node, pod_name: str | None = None) -> PodView:
    labels: dict[str, str]
    if workload.obj is not None:
        labels = seldon.pod_template_labels(workload.obj)
        spec = seldon.pod_template_spec(workload.obj)
        ports = container_ports(seldon.containers(spec))
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


def policies_of(graph: DeploymentGraph) -> Policies[Node]:
    """The input's NetworkPolicies and AuthorizationPolicies, ready to evaluate."""

    def namespace_labels(namespace: str) -> dict[str, str] | None:
        node = graph.get("Namespace", "", namespace) or next(
            (n for n in graph.nodes("Namespace") if n.name == namespace), None
        )
        return None if node is None else node.labels

    return Policies(
        graph.nodes("NetworkPolicy"), graph.nodes("AuthorizationPolicy"), namespace_labels
    )


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
        policies = policies_of(graph)
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
            mesh = mesh_verdict(policies.authz, flow.source, flow.target, flow.port)
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
            f"{','.join(policy_types(policy.spec))}; {len(policy.spec.get('ingress') or [])} "
            f"ingress / {len(policy.spec.get('egress') or [])} egress rule(s)"
        )
    rules = len(policy.spec.get("rules") or [])
    return f"action {policy.spec.get('action') or 'ALLOW'}; {rules} rule(s)"
