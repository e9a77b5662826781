"""Model serving beyond Seldon's CRs: plain model-server Deployments, Istio canaries, KServe."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import pod_spec_containers, uncovered_pods
from seldon_doctor.domain.images import image_basename, is_moving_tag, split_image
from seldon_doctor.domain.releases import SERVER_IMAGE_MARKERS
from seldon_doctor.findings import Evidence, Finding
from seldon_doctor.graph import seldon
from seldon_doctor.graph.build import DeploymentGraph, parse_service_host
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
KSERVE_FRAMEWORKS = (
    "sklearn",
    "xgboost",
    "lightgbm",
    "tensorflow",
    "pytorch",
    "triton",
    "onnx",
    "paddle",
    "pmml",
    "huggingface",
)
KSERVE_COMPONENTS = ("predictor", "transformer", "explainer")


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


def _serving_containers(node: Node) -> Iterator[tuple[str, dict[str, Any]]]:
    """(field path, container) of every container an object declares."""
    if node.obj is None:
        return
    if node.kind in ("Deployment", "StatefulSet", "Pod"):
        prefix = "spec.containers" if node.kind == "Pod" else "spec.template.spec.containers"
        for container in pod_spec_containers(node):
            yield f"{prefix}[{container.get('name')}]", container
    elif node.kind in ("ServerConfig", "Server"):
        for container in seldon.containers(node.spec.get("podSpec")):
            yield f"spec.podSpec.containers[{container.get('name')}]", container
    elif node.kind == "InferenceService":
        for component in KSERVE_COMPONENTS:
            spec = node.spec.get(component)
            if isinstance(spec, dict):
                for container in seldon.containers(spec):
                    yield f"spec.{component}.containers[{container.get('name')}]", container


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
            images = tuple(
                sorted(
                    str(c.get("image"))
                    for _, c in _serving_containers(pod)
                    if is_model_server(c) and is_moving_tag(str(c.get("image")))
                )
            )
            if images:
                pod_groups[(pod.namespace, images)].append(pod)
        subjects.extend(sorted(pods, key=lambda p: p.name)[0] for pods in pod_groups.values())
        counts = {sorted(p, key=lambda p: p.name)[0].id: len(p) for p in pod_groups.values()}
        for node in subjects:
            moving = [
                (path, c)
                for path, c in _serving_containers(node)
                if is_model_server(c) and is_moving_tag(str(c.get("image")))
            ]
            if not moving:
                continue
            listed = ", ".join(f"{c.get('name')}={c.get('image')}" for _, c in moving)
            also = counts.get(node.id, 1)
            more = f" (and {also - 1} more pod(s) like it)" if also > 1 else ""
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


# ---------------------------------------------------------------------------- Istio canaries
def _service_key(host: str, namespace: str) -> tuple[str, str] | None:
    """(service, namespace) an Istio host names, relative to the resource's namespace."""
    host = host.strip().lower()
    if host.startswith("*."):
        parsed = parse_service_host("wildcard" + host[1:], namespace)
        return ("*", parsed[1]) if parsed else None
    return parse_service_host(host, namespace)


def _routes(vs: Node) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    for protocol in ("http", "tcp", "tls"):
        rules = vs.spec.get(protocol)
        if not isinstance(rules, list):
            continue
        for index, rule in enumerate(rules):
            if isinstance(rule, dict) and isinstance(rule.get("route"), list):
                route = [d for d in rule["route"] if isinstance(d, dict)]
                yield f"spec.{protocol}[{index}]", route


def _weight(destination: dict[str, Any]) -> int | None:
    value = destination.get("weight", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(str(k)) == str(v) for k, v in selector.items())


class CanaryWeightsInvalid(Check):
    """SD702: an Istio traffic split whose weights or destinations are wrong."""

    id = "SD702"
    reads = frozenset({"VirtualService", "DestinationRule", "Service", "Pod"})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        rules = graph.nodes("DestinationRule")
        for vs in graph.nodes("VirtualService"):
            problems: list[str] = []
            evidence: list[Evidence] = []
            for label, route in _routes(vs):
                if len(route) > 1:
                    weights = [_weight(d) for d in route]
                    bad = [w for w in weights if w is None or not 0 <= w <= 100]
                    total = sum(w for w in weights if isinstance(w, int))
                    if bad or total != 100:
                        shown = "/".join("?" if w is None else str(w) for w in weights)
                        problems.append(
                            f"{label} splits {shown} (sum {total})"
                            + (", weights outside 0-100" if bad else "")
                        )
                        evidence.append(node_evidence(vs, f"{label}.route[*].weight", shown))
                for index, destination in enumerate(route):
                    problems.extend(
                        self._destination(
                            ctx, graph, vs, rules, f"{label}.route[{index}]", destination, evidence
                        )
                    )
            if not problems:
                continue
            yield self.finding(
                vs,
                f"VirtualService {vs.namespace}/{vs.name} does not split traffic as written: "
                + "; ".join(problems)
                + ". Istio expects the weights of one route to sum to 100 (depending on the "
                "version it rejects the resource or normalises the weights), and a destination "
                "without a Service, subset or ready pod answers 503 for its share.",
                evidence=evidence,
                params={"problem": problems[0]},
            )

    def _destination(
        self,
        ctx: CheckContext,
        graph: DeploymentGraph,
        vs: Node,
        rules: list[Node],
        where: str,
        destination: dict[str, Any],
        evidence: list[Evidence],
    ) -> list[str]:
        target = destination.get("destination")
        if not isinstance(target, dict) or not isinstance(target.get("host"), str):
            return [f"{where} has no destination host"]
        host = target["host"]
        key = _service_key(host, vs.namespace)
        if key is None or key[0] == "*":
            return []  # outside the cluster (ServiceEntry) or a wildcard: not ours to judge
        service = graph.get("Service", key[1], key[0])
        if service is None:
            if graph.complete("Service", key[1]):
                evidence.append(node_evidence(vs, f"{where}.destination.host", host))
                return [f"{where} sends to {host}, but there is no Service {key[1]}/{key[0]}"]
            self.unresolved(
                ctx, vs, f"Service {key[1]}/{key[0]} ({where}.destination.host)", "Service", key[1]
            )
            return []
        subset = target.get("subset")
        if not isinstance(subset, str) or not subset:
            return []
        matching = [
            r
            for r in rules
            if _service_key(str(r.spec.get("host") or ""), r.namespace) in (key, ("*", key[1]))
        ]
        if not matching:
            if not graph.complete("DestinationRule", key[1]):
                self.unresolved(
                    ctx,
                    vs,
                    f"a DestinationRule for {host} defining subset {subset}",
                    "DestinationRule",
                    key[1],
                )
                return []
            evidence.append(node_evidence(vs, f"{where}.destination.subset", subset))
            return [f"{where} names subset {subset} of {host}, but no DestinationRule defines it"]
        subsets = {
            str(s.get("name")): s
            for r in matching
            for s in r.spec.get("subsets") or []
            if isinstance(s, dict)
        }
        if subset not in subsets:
            evidence.append(node_evidence(vs, f"{where}.destination.subset", subset))
            evidence.extend(
                node_evidence(r, "spec.subsets", ",".join(sorted(subsets)) or "none")
                for r in matching
            )
            return [
                f"{where} names subset {subset} of {host}, but its DestinationRule "
                f"defines only {', '.join(sorted(subsets)) or 'none'}"
            ]
        if not graph.observed:
            return []
        selector = service.spec.get("selector") if isinstance(service.spec, dict) else None
        labels = subsets[subset].get("labels") or {}
        if not isinstance(selector, dict) or not selector or not isinstance(labels, dict):
            return []
        pods = [
            p
            for p in graph.nodes("Pod", key[1])
            if _selector_matches(selector, p.labels) and _selector_matches(labels, p.labels)
        ]
        if any(p.obj is not None and seldon.pod_ready(p.obj) for p in pods):
            return []
        wanted = ",".join(f"{k}={v}" for k, v in sorted({**selector, **labels}.items()))
        evidence.append(Evidence(f"Pods in {key[1]}", "labels", wanted, "none ready"))
        return [f"{where} subset {subset} of {host} selects no ready pod ({wanted})"]


# ---------------------------------------------------------------------------- KServe
def _missing_storage(component: dict[str, Any]) -> str | None:
    """The field path of a model spec that names no storage, if any."""
    if seldon.containers(component):
        return None  # a custom container loads its model its own way
    candidates = [("model", component.get("model"))]
    candidates.extend((fw, component.get(fw)) for fw in KSERVE_FRAMEWORKS)
    for field, spec in candidates:
        if not isinstance(spec, dict):
            continue
        if spec.get("storageUri") or spec.get("storageUris") or spec.get("storage"):
            return None
        model_format = spec.get("modelFormat")
        format_name = model_format.get("name") if isinstance(model_format, dict) else None
        if field == "huggingface" or format_name == "huggingface":
            return None  # the Hugging Face runtime can pull by --model_id instead
        return f"spec.predictor.{field}.storageUri"
    return None


class InferenceServiceNotReady(Check):
    """SD703: a KServe InferenceService not Ready, without storage, or with a bad canary."""

    id = "SD703"
    reads = frozenset({"InferenceService"})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        for isvc in ctx.graph.nodes("InferenceService"):
            problems: list[str] = []
            evidence: list[Evidence] = []
            reason = ""
            ready = seldon.condition(isvc.status, "Ready")
            if ready is not None and str(ready.get("status")) != "True":
                reason = str(ready.get("reason") or ready.get("message") or "no reason given")
                text = f"it is not Ready ({ready.get('status')}: {reason}"
                if ready.get("message") and ready.get("reason"):
                    text += f" — {ready.get('message')}"
                problems.append(text + ")")
                evidence.append(
                    node_evidence(isvc, "status.conditions[Ready]", ready.get("status"))
                )
                for cond in isvc.status.get("conditions") or []:
                    if (
                        isinstance(cond, dict)
                        and cond.get("type") != "Ready"
                        and str(cond.get("status")) != "True"
                    ):
                        evidence.append(
                            node_evidence(
                                isvc,
                                f"status.conditions[{cond.get('type')}]",
                                cond.get("status"),
                                str(cond.get("reason") or cond.get("message") or "") or None,
                            )
                        )
                model_status = isvc.status.get("modelStatus")
                if isinstance(model_status, dict):
                    failure = model_status.get("lastFailureInfo")
                    if isinstance(failure, dict) and (
                        failure.get("reason") or failure.get("message")
                    ):
                        why = failure.get("reason") or ""
                        problems.append(f"last failure {why}: {failure.get('message') or ''}")
                        evidence.append(
                            node_evidence(
                                isvc,
                                "status.modelStatus.lastFailureInfo",
                                failure.get("reason"),
                                failure.get("message"),
                            )
                        )
            predictor = isvc.spec.get("predictor")
            if isinstance(predictor, dict):
                missing = _missing_storage(predictor)
                if missing:
                    problems.append(f"{missing} is not set, so there is no model to load")
                    evidence.append(node_evidence(isvc, missing, "absent"))
            for component in KSERVE_COMPONENTS:
                spec = isvc.spec.get(component)
                if not isinstance(spec, dict) or "canaryTrafficPercent" not in spec:
                    continue
                value = spec.get("canaryTrafficPercent")
                if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
                    path = f"spec.{component}.canaryTrafficPercent"
                    problems.append(f"{path} is {value!r}, outside 0-100")
                    evidence.append(node_evidence(isvc, path, value))
            if not problems:
                continue
            yield self.finding(
                isvc,
                f"InferenceService {isvc.namespace}/{isvc.name} cannot serve as declared: "
                + "; ".join(problems)
                + ".",
                evidence=evidence,
                params={"reason": reason or problems[0]},
            )
