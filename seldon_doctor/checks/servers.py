"""Server checks: can a Server take the Models that depend on it, and does it say truthfully
what it can run?"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import (
    SCHEDULING_READS,
    ReplicaCount,
    candidate_servers,
    connected_replicas,
    deleting,
    models_with_objects,
    placement,
    servers_by_scheduler,
    servers_partial,
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
    compute_capabilities,
    model_requirements,
    split_capabilities,
)
from seldon_doctor.logs import attach

# Containers of a Server pod that are Seldon's own, not the inference runtime.
SIDECARS = frozenset({"agent", "rclone"})
# Repositories of the upstream ServerConfigs' inference images (k8s/yaml/components.yaml).
# Image names (last path element) of the upstream ServerConfigs: helm renders
# ``docker.io/seldonio/mlserver:<v>`` and ``nvcr.io/nvidia/tritonserver:<v>``, the kustomize
# base ``mlserver:latest``. Only the last element is compared, so a private mirror of the
# stock image (``registry.corp/ml/mlserver``) is not taken for a custom runtime.
UPSTREAM_IMAGES: dict[str, str] = {"mlserver": "mlserver", "triton": "tritonserver"}


# ------------------------------------------------------------------ SD201


class ServerNoReadyReplicas(Check):
    """SD201: the only Servers able to host some Model have no ready (connected) replica."""

    id = "SD201"
    reads = SCHEDULING_READS

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        by_scheduler = servers_by_scheduler(graph)
        stranded: dict[str, list[Node]] = defaultdict(list)
        servers: dict[str, tuple[Node, ReplicaCount]] = {}
        replicas: dict[str, ReplicaCount] = {}  # per Server, not recomputed for each Model

        def connected(server: Node) -> ReplicaCount:
            if server.id not in replicas:
                replicas[server.id] = connected_replicas(graph, server)
            return replicas[server.id]

        for model in models_with_objects(graph):
            if deleting(model):
                continue
            place = placement(graph, model, by_scheduler)
            if not place.candidates:
                if place.pinned is None:
                    partial = servers_partial(graph, model, [])
                    if partial is None:
                        yield self._no_server(model, place.how)
                    else:
                        self.unresolved(
                            ctx,
                            model,
                            f"a Server for Model {model.namespace}/{model.name}",
                            "Server",
                            partial,
                        )
                continue
            if not place.compatible:
                continue  # SD102
            counts = [(s, connected(s)) for s, _ in place.compatible]
            if any(c.count != 0 for _, c in counts):
                continue
            partial = servers_partial(graph, model, place.candidates)
            if partial is not None:
                # "The only Server able to host it" needs every Server there is.
                self.unresolved(
                    ctx,
                    model,
                    f"a Server with a ready replica for Model {model.namespace}/{model.name}",
                    "Server",
                    partial,
                )
                continue
            for server, count in counts:
                servers[server.id] = (server, count)
                stranded[server.id].append(model)
        for server_id in sorted(stranded):
            server, count = servers[server_id]
            yield attach(
                self._finding(server, count, stranded[server_id]),
                graph.log_evidence(
                    self.id,
                    server.namespace,
                    [server.name, *(m.name for m in stranded[server_id])],
                ),
            )

    def _no_server(self, model: Node, how: str) -> Finding:
        return self.finding(
            model,
            f"Model {model.namespace}/{model.name} has no Server at all to run on ({how}): "
            "the scheduler keeps it ScheduleFailed until a Server's agents connect.",
            predicts_failure_of=model,
            evidence=[Evidence(f"Servers for {model.namespace}", None, "none", how)],
            params={"server": "<server>", "models": model.name},
        )

    def _finding(self, server: Node, count: ReplicaCount, models: list[Node]) -> Finding:
        names = sorted(f"{m.namespace}/{m.name}" for m in models)
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        status = seldon.condition(server.status, "Ready") or seldon.condition(
            server.status, "StatefulSetOrDeploymentReady"
        )
        evidence = list(count.evidence)
        if status is not None:
            evidence.append(
                node_evidence(
                    server,
                    f"status.conditions[{status.get('type')}]",
                    str(status.get("status")),
                    str(status.get("reason") or status.get("message") or "") or None,
                )
            )
        evidence.extend(
            node_evidence(m, "placement", server.name, "only compatible") for m in models
        )
        if server.spec.get("replicas") == 0:
            why = (
                "The scheduler rejects a Server that expects no replicas (DeletedServerFilter, "
                "'expected replicas 0 != 0'), so these Models stay ScheduleFailed until it is "
                "scaled up."
            )
        else:
            why = (
                "The scheduler skips a Server with no connected replica ('0 server replicas "
                "(waiting for server replicas to connect)'), so these Models stay ScheduleFailed "
                "until a replica is Ready and its agent has subscribed."
            )
        message = (
            f"Server {server.namespace}/{server.name} {count.how}, and it is the only Server "
            f"able to host {shown}. {why}"
        )
        return self.finding(
            server,
            message,
            evidence=evidence,
            predicts_failure_of=sorted(models, key=lambda m: m.id),
            params={"server": server.name, "models": ", ".join(names)},
        )


# ------------------------------------------------------------------ SD202


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


# ------------------------------------------------------------------ SD203


def _pod_capabilities(server: Node, pod: Node) -> Capabilities | None:
    """What one pod's agent advertises, when the pod itself says so."""
    if pod.obj is None or server.obj is None:
        return None
    caps = compute_capabilities(server.obj, None, [pod.obj])
    return caps if caps.source.startswith("Pod ") else None


class ServerCapabilitiesDiverge(Check):
    """SD203: replicas of one Server advertise different capabilities."""

    id = "SD203"
    reads = frozenset({"Server", "Pod"})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        for server in graph.nodes("Server"):
            per_pod: list[tuple[Node, Capabilities]] = []
            for pod in sorted(graph.server_pods(server), key=lambda p: p.name):
                caps = _pod_capabilities(server, pod)
                if caps is not None:
                    per_pod.append((pod, caps))
            variants: dict[frozenset[str], list[Node]] = defaultdict(list)
            for pod, caps in per_pod:
                variants[frozenset(caps.values)].append(pod)
            if len(variants) < 2:
                continue
            yield self._finding(server, per_pod, variants)

    def _finding(
        self,
        server: Node,
        per_pod: list[tuple[Node, Capabilities]],
        variants: dict[frozenset[str], list[Node]],
    ) -> Finding:
        common = frozenset.intersection(*variants)
        differing = sorted(frozenset.union(*variants) - common)
        groups = "; ".join(
            f"{', '.join(p.name for p in pods)}: "
            + (", ".join(sorted(caps - common)) or "(none extra)")
            for caps, pods in sorted(variants.items(), key=lambda kv: kv[1][0].name)
        )
        message = (
            f"Replicas of Server {server.namespace}/{server.name} advertise different "
            f"capabilities ({groups}). The scheduler matches a Model against the first replica "
            "it happens to find, so whether Models needing "
            + ", ".join(f"'{d}'" for d in differing)
            + " are placed here changes from one scheduling to the next. Usually a rollout "
            "that stopped half-way, or a pod edited by hand."
        )
        evidence: list[Evidence] = [
            Evidence(
                f"Pod {pod.namespace}/{pod.name}",
                "capabilities",
                ",".join(caps.values),
                caps.source,
            )
            for pod, caps in per_pod
        ]
        return self.finding(
            server,
            message,
            evidence=evidence,
            params={"server": server.name, "differing": ",".join(differing)},
        )
