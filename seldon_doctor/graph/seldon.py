"""Seldon Core v2 semantics the graph needs: what controllers create, watch and compute.

Every rule here cites the upstream behaviour it mirrors (see shared/reference/seldon-v2-facts.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from seldon_doctor.domain.images import image_version
from seldon_doctor.domain.releases import (
    AGENT_DEFAULT_CAPABILITIES,
    KNOWN_RELEASES,
    WATCH_NAMESPACES_SINCE,
    release_for,
)
from seldon_doctor.snapshot import JSONDict, KubeObject

CAPABILITIES_ENV = "SELDON_SERVER_CAPABILITIES"

# Defaults of the upstream ServerConfigs (identical v2.5.0 … v2.10.x). Used only when the
# ServerConfig itself is not in the input; findings then say the value was assumed.
DEFAULT_SERVERCONFIG_CAPABILITIES: dict[str, tuple[str, ...]] = {
    "mlserver": (
        "mlserver",
        "alibi-detect",
        "alibi-explain",
        "huggingface",
        "lightgbm",
        "mlflow",
        "python",
        "sklearn",
        "spark-mlib",
        "xgboost",
    ),
    "triton": (
        "triton",
        "dali",
        "fil",
        "onnx",
        "openvino",
        "python",
        "pytorch",
        "tensorflow",
        "tensorrt",
    ),
}

# SeldonConfig components; only the scheduler (it has volumeClaimTemplates) is a StatefulSet.
RUNTIME_COMPONENTS = (
    "seldon-scheduler",
    "seldon-envoy",
    "seldon-dataflow-engine",
    "seldon-modelgateway",
    "seldon-pipelinegateway",
    "hodometer",
)
SCHEDULER = "seldon-scheduler"
ENVOY = "seldon-envoy"
DATAFLOW = "seldon-dataflow-engine"
MESH_SERVICE = "seldon-mesh"
# Services the SeldonRuntime controller creates unconditionally (service_reconciler.go).
RUNTIME_SERVICES: dict[str, str] = {SCHEDULER: SCHEDULER, MESH_SERVICE: ENVOY}
SCHEDULER_PORTS = {"xds": 9002, "scheduler": 9004, "agent": 9005, "dataflow": 9008}
NAME_LABEL = "app.kubernetes.io/name"
CONTROLLER_LABEL = ("control-plane", "v2-controller-manager")
DEFAULT_CONTROLLER_NAMESPACE = "seldon-mesh"

_VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def containers(pod_spec: Any) -> list[JSONDict]:
    if not isinstance(pod_spec, dict):
        return []
    items = pod_spec.get("containers")
    return [c for c in items if isinstance(c, dict)] if isinstance(items, list) else []


def pod_template_spec(obj: KubeObject) -> JSONDict:
    """The pod spec of a Pod, or of a workload's pod template."""
    if obj.kind == "Pod":
        return obj.spec
    template = obj.spec.get("template")
    spec = template.get("spec") if isinstance(template, dict) else None
    return spec if isinstance(spec, dict) else {}


def pod_template_labels(obj: KubeObject) -> dict[str, str]:
    template = obj.spec.get("template")
    if isinstance(template, dict):
        meta = template.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("labels"), dict):
            return {str(k): str(v) for k, v in meta["labels"].items()}
    return {}


def env_of(container: JSONDict, namespace: str) -> dict[str, str]:
    """A container's literal env values; ``metadata.namespace`` field refs are resolved."""
    out: dict[str, str] = {}
    env = container.get("env")
    if not isinstance(env, list):
        return out
    for item in env:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            value = _env_item_value(item, namespace)
            if value is not None:
                out[item["name"]] = value
    return out


def env_value(container: JSONDict, namespace: str, name: str) -> str | None:
    """``env_of(container, namespace).get(name)`` without building the whole dict (asked of
    every container of every Server pod)."""
    env = container.get("env")
    if not isinstance(env, list):
        return None
    found: str | None = None
    for item in env:
        if isinstance(item, dict) and item.get("name") == name:
            value = _env_item_value(item, namespace)
            if value is not None:  # the last definition wins, as in env_of
                found = value
    return found


def _env_item_value(item: JSONDict, namespace: str) -> str | None:
    """One env entry's value as the doctor can know it: a literal, or the namespace for a
    ``metadata.namespace`` field ref; None for anything else (secrets, other refs)."""
    if "value" in item:
        return "" if item["value"] is None else str(item["value"])
    ref = item.get("valueFrom")
    if (
        isinstance(ref, dict)
        and isinstance(ref.get("fieldRef"), dict)
        and ref["fieldRef"].get("fieldPath") == "metadata.namespace"
    ):
        return namespace
    return None


def expand_args(args: Iterable[Any], env: Mapping[str, str]) -> list[str]:
    """Expand ``$(VAR)`` references the way the kubelet does (unknown ones stay literal)."""
    return [
        _VAR_REF.sub(lambda m: env.get(m.group(1), m.group(0)), str(arg))
        for arg in args
        if arg is not None
    ]


def flag_value(args: Iterable[str], flag: str) -> str | None:
    """Value of ``--flag=value`` or ``--flag value``; ``"true"`` for a bare boolean flag."""
    items = list(args)
    for index, arg in enumerate(items):
        if arg == flag:
            nxt = items[index + 1] if index + 1 < len(items) else ""
            return nxt if nxt and not nxt.startswith("-") else "true"
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def split_capabilities(value: str) -> tuple[str, ...]:
    """The agent splits on ``,`` and trims each element; case is kept."""
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class WatchScope:
    """Which namespaces one controller-manager reconciles."""

    all_namespaces: bool
    namespaces: frozenset[str]
    own_namespace: str
    clusterwide: bool
    requested: tuple[str, ...]  # --watch-namespaces as given
    version: tuple[int, int, int] | None
    ignored_watch_namespaces: bool  # given but ignored (--clusterwide is false)
    # Flags this release's controller does not define: Go's flag package exits 2 at start
    # ("flag provided but not defined"), so the controller reconciles nothing.
    rejected_flags: tuple[str, ...] = ()

    def covers(self, namespace: str) -> bool:
        return self.all_namespaces or namespace in self.namespaces


def controller_scope(deployment: KubeObject) -> WatchScope | None:
    """Watch scope of a controller-manager Deployment, or None if it is not one.

    Mirrors ``getWatchNamespaceConfig`` (``operator/main.go``): not clusterwide → own namespace
    only; clusterwide with no list → all; clusterwide with a list → the list plus its own
    namespace. ``--watch-namespaces`` exists from 2.9.1: an older controller given it (or any
    flag its release does not define) exits at start and watches nothing.
    """
    manager = None
    for container in containers(pod_template_spec(deployment)):
        image = str(container.get("image") or "")
        args = [str(a) for a in container.get("args") or []]
        if "seldonv2-controller" in image or any(a.startswith("--clusterwide") for a in args):
            manager = container
            break
    if manager is None:
        return None
    env = env_of(manager, deployment.namespace)
    args = expand_args(list(manager.get("command") or []) + list(manager.get("args") or []), env)
    own = flag_value(args, "--namespace") or env.get("POD_NAMESPACE") or deployment.namespace
    if own.startswith("$("):
        own = deployment.namespace
    clusterwide = flag_value(args, "--clusterwide") or env.get("CLUSTERWIDE") or "false"
    is_clusterwide = clusterwide.strip() in _GO_TRUE
    raw_list = flag_value(args, "--watch-namespaces")
    if raw_list is None or raw_list.startswith("$("):
        raw_list = env.get("WATCH_NAMESPACES", "")
    requested = tuple(ns.strip() for ns in raw_list.split(",") if ns.strip())
    version = image_version(str(manager.get("image") or ""))
    rejected = _undefined_flags(args, version)
    if rejected:
        return WatchScope(
            False, frozenset(), own, is_clusterwide, requested, version, False, rejected
        )
    if not is_clusterwide:
        return WatchScope(False, frozenset({own}), own, False, requested, version, bool(requested))
    if requested:
        return WatchScope(False, frozenset({*requested, own}), own, True, requested, version, False)
    return WatchScope(True, frozenset(), own, True, requested, version, False)


# Go's strconv.ParseBool, which the flag package uses for --clusterwide.
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})


def _undefined_flags(args: list[str], version: tuple[int, int, int] | None) -> tuple[str, ...]:
    """Seldon flags the controller of ``version`` does not define (``operator/main.go``).

    Only flags some release defines are judged: the controller also takes controller-runtime's
    ``--kubeconfig`` and the ``--zap-*`` logging flags, which the release model does not list.
    """
    if version is None:
        return ()
    release = release_for(version)
    seldon_flags = frozenset().union(*(r.controller_flags for r in KNOWN_RELEASES))
    flags = []
    for arg in args:
        if not arg.startswith("-") or arg in ("-", "--"):
            continue
        name = arg.lstrip("-").split("=", 1)[0]
        if (name == "watch-namespaces" and version < WATCH_NAMESPACES_SINCE) or (
            not release.assumed
            and name in seldon_flags
            and not release.accepts_controller_flag(name)
        ):
            flags.append(f"--{name}")
    return tuple(dict.fromkeys(flags))


def runtime_component_replicas(runtime: KubeObject, config: KubeObject | None) -> dict[str, int]:
    """Replicas each SeldonRuntime component will run with.

    An override entry wins: ``disable`` → 0, explicit ``replicas`` → that, no ``replicas`` → 1
    (``ComponentOverride`` ignores the SeldonConfig's count then). Without an override the
    SeldonConfig component's replicas apply (default 1).
    """
    replicas = dict.fromkeys(RUNTIME_COMPONENTS, 1)
    if config is not None:
        for component in config.spec.get("components") or []:
            if isinstance(component, dict) and component.get("name") in replicas:
                value = component.get("replicas")
                if isinstance(value, int):
                    replicas[component["name"]] = value
    for override in runtime.spec.get("overrides") or []:
        if not isinstance(override, dict) or override.get("name") not in replicas:
            continue
        name = override["name"]
        if override.get("disable") is True:
            replicas[name] = 0
        elif isinstance(override.get("replicas"), int):
            replicas[name] = override["replicas"]
        else:
            replicas[name] = 1
    return replicas


def merge_container_env(base: list[JSONDict], overlay: list[JSONDict]) -> list[JSONDict]:
    """Merge Server podSpec containers over ServerConfig ones by name; env vars by name."""
    merged = {str(c.get("name")): dict(c) for c in base}
    for container in overlay:
        name = str(container.get("name"))
        if name not in merged:
            merged[name] = dict(container)
            continue
        target = merged[name]
        env = {str(e.get("name")): e for e in target.get("env") or [] if isinstance(e, dict)}
        for item in container.get("env") or []:
            if isinstance(item, dict):
                env[str(item.get("name"))] = item
        target["env"] = list(env.values())
        for key, value in container.items():
            if key not in ("env", "name"):
                target[key] = value
    return list(merged.values())


@dataclass(frozen=True, slots=True)
class Capabilities:
    """A Server's effective capabilities and how they were derived."""

    values: tuple[str, ...]
    source: str  # human explanation, used as evidence
    known: bool = True


def compute_capabilities(
    server: KubeObject, server_config: KubeObject | None, pods: list[KubeObject]
) -> Capabilities:
    """Effective capabilities, as the agent will report them to the scheduler.

    Observed pods win (the controller already applied the rules). Otherwise: the ServerConfig
    agent env, overlaid by the Server's podSpec, then ``spec.capabilities`` replaces or
    ``spec.extraCapabilities`` appends (``updateCapabilities``).
    """
    observed = _observed_capabilities(pods)
    if observed is not None:
        return observed
    config_name = str(server.spec.get("serverConfig") or "")
    base: list[JSONDict] = []
    if server_config is not None:
        base = containers(server_config.spec.get("podSpec"))
    overlay = containers(server.spec.get("podSpec"))
    merged = merge_container_env(base, overlay)
    value: str | None = None
    where = ""
    for container in merged:
        env = env_of(container, server.namespace)
        if CAPABILITIES_ENV in env:
            value = env[CAPABILITIES_ENV]
            where = f"container {container.get('name')} env {CAPABILITIES_ENV}"
            break
    if value is None and server_config is not None:
        # The operator writes spec.capabilities / extraCapabilities only into containers that
        # already carry SELDON_SERVER_CAPABILITIES (server_reconciler.go); without it the agent
        # falls back to its --capabilities default (cmd/agent/cli/flags.go).
        ignored = [k for k in ("capabilities", "extraCapabilities") if spec_list(server.spec, k)]
        note = (
            f"; Server spec.{' and spec.'.join(ignored)} ignored: the operator writes them only "
            f"into a container that already sets {CAPABILITIES_ENV}"
            if ignored
            else ""
        )
        return Capabilities(
            AGENT_DEFAULT_CAPABILITIES,
            f"ServerConfig {server_config.namespace}/{server_config.name} sets no "
            f"{CAPABILITIES_ENV}: the agent's default --capabilities "
            f"{','.join(AGENT_DEFAULT_CAPABILITIES)}{note}",
        )
    if value is not None:
        source = (
            f"ServerConfig {server_config.namespace}/{server_config.name} {where}"
            if server_config is not None
            else f"Server podSpec {where}"
        )
    elif config_name in DEFAULT_SERVERCONFIG_CAPABILITIES:
        value = ",".join(DEFAULT_SERVERCONFIG_CAPABILITIES[config_name])
        source = f"upstream default of ServerConfig {config_name} (not in the input)"
    else:
        return Capabilities((), f"ServerConfig {config_name!r} not found in the input", False)
    # The operator comma-joins spec.capabilities into the env var, replacing it, then appends
    # extraCapabilities; the agent splits the result on "," and trims each part.
    caps = spec_list(server.spec, "capabilities")
    extras = spec_list(server.spec, "extraCapabilities")
    if caps:
        return Capabilities(
            split_capabilities(",".join(caps)), f"Server spec.capabilities (replaces {source})"
        )
    values = split_capabilities(value)
    if extras:
        return Capabilities(
            values + split_capabilities(",".join(extras)),
            f"{source} + Server spec.extraCapabilities",
        )
    return Capabilities(values, source)


def _observed_capabilities(pods: list[KubeObject]) -> Capabilities | None:
    """What a running agent was given (``--capabilities`` or the env var), if a pod says."""
    for pod in pods:
        for container in containers(pod.spec):
            args = [str(a) for a in container.get("args") or []]
            flag = flag_value(args, "--capabilities")
            if flag is not None:
                return Capabilities(
                    split_capabilities(flag), f"Pod {pod.namespace}/{pod.name} agent --capabilities"
                )
            value = env_value(container, pod.namespace, CAPABILITIES_ENV)
            if value is not None:
                return Capabilities(
                    split_capabilities(value),
                    f"Pod {pod.namespace}/{pod.name} container {container.get('name')} "
                    f"env {CAPABILITIES_ENV}",
                )
    return None


def spec_list(spec: JSONDict, key: str) -> list[str]:
    value = spec.get(key)
    return [str(v) for v in value if v is not None] if isinstance(value, list) else []


def model_requirements(model: KubeObject) -> tuple[tuple[str, str], ...]:
    """(requirement, why) pairs the scheduler will match: requirements, modelType, explainer."""
    spec = model.spec
    # requirement -> why, first one kept: the scheduler matches each requirement once.
    unique: dict[str, str] = {}
    for req in spec_list(spec, "requirements"):
        # Kept even when empty: the scheduler trims it and "" matches no capability.
        unique.setdefault(req.strip(), "spec.requirements")
    model_type = spec.get("modelType")
    if isinstance(model_type, str) and model_type.strip():
        unique.setdefault(model_type.strip(), "spec.modelType (appended to requirements)")
    if isinstance(spec.get("explainer"), dict):
        unique.setdefault("alibi-explain", "spec.explainer (explainers need alibi-explain)")
    return tuple(unique.items())


def condition(obj_status: JSONDict, type_: str) -> JSONDict | None:
    for cond in obj_status.get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == type_:
            return cond
    return None


def is_ready(obj: KubeObject) -> bool:
    """True when a Seldon CR's status says it is Ready (``Ready`` or its own *Ready)."""
    own = {
        "Model": "ModelReady",
        "Experiment": "ExperimentReady",
        "Pipeline": "PipelineReady",
    }.get(obj.kind)
    ready = condition(obj.status, "Ready")
    if ready is not None:
        return str(ready.get("status")) == "True"
    if own:
        cond = condition(obj.status, own)
        return cond is not None and str(cond.get("status")) == "True"
    return False


def pod_ready(pod: KubeObject) -> bool:
    if pod.metadata.get("deletionTimestamp"):
        return False
    cond = condition(pod.status, "Ready")
    return cond is not None and str(cond.get("status")) == "True"


def selector_matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def route_header(kind: str, name: str) -> str:
    """The ``seldon-model`` header value Envoy routes a resource on."""
    if kind == "Experiment":
        return f"{name}.experiment"
    if kind == "Pipeline":
        return f"{name}.pipeline"
    return name
