"""Generate a synthetic Seldon Core v2 estate: captured cluster state plus Envoy config dumps.

Deterministic from ``--seed``. Each namespace gets a SeldonRuntime with its scheduler, Envoy,
dataflow engine and gateways (workloads, pods, Services, Endpoints), Servers (StatefulSets,
pods whose agent container carries the real env, per-replica Services and Endpoints), Ready
Models, Experiments and Pipelines, and the Envoy ``/config_dump`` that routes all of them.
``--faults`` injects known problems; each one is listed in ``faults.json`` with the finding
the scan must report (check id and resource), so tests can prove the scan finds them.
``--light`` writes the light shape of issue 17 instead: no Pods, ConfigMaps, EndpointSlices or
per-replica Services, small Models, Server StatefulSets with the agent container only.

Layout of the output directory::

    manifests/<namespace>.yaml           one multi-document YAML file per namespace
    manifests/seldon-mesh.yaml           controller-manager, ServerConfig, SeldonConfig
    envoy/<namespace>.config_dump.json   one Envoy config dump per namespace
    faults.json                          {"faults": [...], "counts": {...}, "dump_args": [...]}

Usage::

    python bench/make_estate.py OUT --namespaces 500 --models 10000 --servers 1000 \\
        --faults capability-typo=5,split-brain=3,missing-route=5,dangling-alias=2,replicas-2=2
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SELDON_API = "mlops.seldon.io/v1alpha1"
VERSION = "2.10.2"
CONTROLLER_NS = "seldon-mesh"
NAME_LABEL = "app.kubernetes.io/name"
MLSERVER_CAPS = (
    "mlserver,alibi-detect,alibi-explain,huggingface,lightgbm,mlflow,python,sklearn,"
    "spark-mlib,xgboost"
)
FAULT_KINDS = ("capability-typo", "split-brain", "missing-route", "dangling-alias", "replicas-2")
STAMP = "2026-11-01T10:00:00Z"
T_ENVOY = "type.googleapis.com/envoy.admin.v3."

Obj = dict[str, Any]


@dataclass(slots=True)
class Fault:
    """One injected problem and the finding a scan must report for it."""

    kind: str
    namespace: str
    check_id: str
    resource: str  # Kind/namespace/name, as Finding.resource renders it
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "namespace": self.namespace,
            "check_id": self.check_id,
            "resource": self.resource,
            "detail": self.detail,
        }


@dataclass(slots=True)
class Namespace:
    """What the generator decided for one namespace before writing it."""

    name: str
    servers: int
    models: int
    experiments: int
    pipelines: int
    faults: set[str] = field(default_factory=set)


def parse_faults(spec: str) -> dict[str, int]:
    """``kind=count,kind=count`` into a dict (unknown kinds refused)."""
    out: dict[str, int] = {}
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        kind, _, count = part.partition("=")
        if kind not in FAULT_KINDS:
            raise SystemExit(f"unknown fault {kind!r} (choose from {', '.join(FAULT_KINDS)})")
        out[kind] = int(count or "1")
    return out


def spread(total: int, buckets: int) -> list[int]:
    """``total`` split as evenly as possible over ``buckets``."""
    base, extra = divmod(total, buckets)
    return [base + (1 if i < extra else 0) for i in range(buckets)]


# ---------------------------------------------------------------------- Kubernetes objects
def meta(name: str, namespace: str | None, labels: dict[str, str] | None = None) -> Obj:
    out: Obj = {"name": name}
    if namespace is not None:
        out["namespace"] = namespace
    if labels:
        out["labels"] = labels
    return out


def ready_pod(
    name: str,
    namespace: str,
    labels: dict[str, str],
    containers: list[Obj],
    ip: str,
    owner: tuple[str, str],
) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            **meta(name, namespace, labels),
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1], "controller": True}
            ],
        },
        "spec": {"containers": containers, "serviceAccountName": "seldon-server"},
        "status": {
            "phase": "Running",
            "podIP": ip,
            "conditions": [
                {"type": "Initialized", "status": "True"},
                {"type": "Ready", "status": "True"},
                {"type": "ContainersReady", "status": "True"},
                {"type": "PodScheduled", "status": "True"},
            ],
            "containerStatuses": [
                {"name": c["name"], "ready": True, "restartCount": 0, "image": c["image"]}
                for c in containers
            ],
        },
    }


def service(name: str, namespace: str, selector: dict[str, str], ports: Obj) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(name, namespace),
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [
                {"name": port_name, "port": port, "protocol": "TCP", "targetPort": port}
                for port_name, port in ports.items()
            ],
        },
    }


def endpoints(name: str, namespace: str, pods: Iterable[tuple[str, str]], ports: Obj) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": meta(name, namespace),
        "subsets": [
            {
                "addresses": [
                    {
                        "ip": ip,
                        "targetRef": {"kind": "Pod", "name": pod, "namespace": namespace},
                    }
                    for pod, ip in pods
                ],
                "ports": [{"name": n, "port": p, "protocol": "TCP"} for n, p in ports.items()],
            }
        ],
    }


def endpoint_slice(endpoints_obj: Obj) -> Obj:
    """The EndpointSlice the EndpointSlice controller mirrors from an Endpoints object."""
    name = endpoints_obj["metadata"]["name"]
    namespace = endpoints_obj["metadata"]["namespace"]
    subset = endpoints_obj["subsets"][0]
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": meta(f"{name}-x7k2p", namespace, {"kubernetes.io/service-name": name}),
        "addressType": "IPv4",
        "endpoints": [
            {
                "addresses": [address["ip"]],
                "conditions": {"ready": True, "serving": True, "terminating": False},
                "targetRef": address["targetRef"],
            }
            for address in subset["addresses"]
        ],
        "ports": subset["ports"],
    }


def agent_containers_of(server_config: Obj) -> list[Obj]:
    containers: list[Obj] = server_config["spec"]["podSpec"]["containers"]
    return containers


def workload(
    kind: str,
    name: str,
    namespace: str,
    labels: dict[str, str],
    replicas: int,
    containers: list[Obj],
) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": meta(name, namespace, labels),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": containers}},
        },
        "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas},
    }


def image(component: str) -> str:
    return f"docker.io/seldonio/{component}:{VERSION}"


def env(values: dict[str, str]) -> list[Obj]:
    return [{"name": k, "value": v} for k, v in values.items()]


def agent_containers(namespace: str, scheduler_host: str) -> list[Obj]:
    agent_env = {
        "SELDON_SERVER_CAPABILITIES": MLSERVER_CAPS,
        "SELDON_OVERCOMMIT_PERCENTAGE": "10",
        "SELDON_MODEL_INFERENCE_LAG_THRESHOLD": "30",
        "SELDON_MODEL_INACTIVE_SECONDS_THRESHOLD": "600",
        "SELDON_SCALING_STATS_PERIOD_SECONDS": "20",
        "SELDON_SERVER_HTTP_PORT": "9000",
        "SELDON_SERVER_GRPC_PORT": "9500",
        "SELDON_REVERSE_PROXY_HTTP_PORT": "9001",
        "SELDON_REVERSE_PROXY_GRPC_PORT": "9501",
        "SELDON_SCHEDULER_HOST": scheduler_host,
        "SELDON_SCHEDULER_PORT": "9005",
        "SELDON_METRICS_PORT": "9006",
        "SELDON_DRAINER_PORT": "9007",
        "SELDON_READINESS_PORT": "9008",
        "AGENT_TLS_SECRET_NAME": "",
        "AGENT_TLS_FOLDER_PATH": "",
        "SELDON_SERVER_TYPE": "mlserver",
        "SELDON_ENVOY_HOST": "seldon-mesh",
        "SELDON_ENVOY_PORT": "80",
        "SELDON_LOG_LEVEL": "warn",
        "POD_NAMESPACE": namespace,
        "MEMORY_REQUEST": "1073741824",
    }
    return [
        {
            "name": "rclone",
            "image": image("seldon-rclone"),
            "ports": [{"containerPort": 5572, "name": "rclone"}],
            "volumeMounts": [{"mountPath": "/mnt/agent", "name": "mlserver-models"}],
        },
        {
            "name": "agent",
            "image": image("seldon-agent"),
            "args": ["--tracing-config-path=/mnt/tracing/tracing.json"],
            "env": env(agent_env),
            "ports": [
                {"containerPort": 9501, "name": "grpc"},
                {"containerPort": 9001, "name": "http"},
                {"containerPort": 9006, "name": "metrics"},
            ],
            "resources": {"requests": {"cpu": "200m", "memory": "1G"}},
        },
        {
            "name": "mlserver",
            "image": "docker.io/seldonio/mlserver:1.6.1",
            "env": env(
                {
                    "MLSERVER_HTTP_PORT": "9000",
                    "MLSERVER_GRPC_PORT": "9500",
                    "MLSERVER_MODELS_DIR": "/mnt/agent/models",
                }
            ),
            "resources": {"requests": {"cpu": "1", "memory": "1G"}},
        },
    ]


SERVER_PORTS = {"http": 9000, "grpc": 9500}
SCHEDULER_PORTS = {"xds": 9002, "scheduler": 9004, "agent": 9005, "dataflow": 9008}
MESH_PORTS = {"http": 80, "admin": 9003}


class Estate:
    """Builds every object of the estate; ``write`` puts it on disk."""

    def __init__(
        self,
        ns_count: int,
        models: int,
        servers: int,
        seed: int,
        faults: dict[str, int],
        server_replicas: int = 3,
        light: bool = False,
    ) -> None:
        if ns_count < 2:
            raise SystemExit("--namespaces must be at least 2")
        self.rng = random.Random(seed)
        self.server_replicas = server_replicas
        # Light shape (issue 17): a namespace-per-team platform captured without Pods,
        # EndpointSlices or per-replica Services, so Models and Servers dominate the object count.
        self.light = light
        names = [f"ns-{i:04d}" for i in range(ns_count)]
        model_counts = spread(models, ns_count)
        server_counts = spread(servers, ns_count)
        self.namespaces = [
            Namespace(name, max(1, s), m, min(2, m // 2), min(2, m))
            for name, s, m in zip(names, server_counts, model_counts, strict=True)
        ]
        self.faults: list[Fault] = []
        self._choose_faults(faults)
        self._ip = 0

    def _choose_faults(self, faults: dict[str, int]) -> None:
        # One fault per namespace at most, so expected findings stay unambiguous.
        pool = [ns for ns in self.namespaces if ns.models >= 4]
        wanted = sum(faults.values())
        if wanted > len(pool) - 1:
            raise SystemExit(f"{wanted} faults need more than {len(pool)} namespaces")
        chosen = self.rng.sample(pool[1:], wanted)  # ns-0000 stays healthy (split-brain target)
        index = 0
        for kind in FAULT_KINDS:
            for _ in range(faults.get(kind, 0)):
                chosen[index].faults.add(kind)
                index += 1

    def next_ip(self) -> str:
        self._ip += 1
        return f"10.{(self._ip >> 16) & 255}.{(self._ip >> 8) & 255}.{self._ip & 255}"

    # ------------------------------------------------------------------ global objects
    def controller_objects(self) -> list[Obj]:
        labels = {"control-plane": "v2-controller-manager"}
        manager = {
            "name": "manager",
            "image": image("seldonv2-controller"),
            "args": [
                "--health-probe-bind-address=:8081",
                "--metrics-bind-address=:8080",
                "--leader-elect",
                "--namespace=$(POD_NAMESPACE)",
                "--clusterwide=$(CLUSTERWIDE)",
            ],
            "env": [
                {"name": "CLUSTERWIDE", "value": "true"},
                {
                    "name": "POD_NAMESPACE",
                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
                },
            ],
        }
        controller = workload(
            "Deployment", "seldon-v2-controller-manager", CONTROLLER_NS, labels, 1, [manager]
        )
        pod = ready_pod(
            "seldon-v2-controller-manager-6d4f7c9b8-x2x9k",
            CONTROLLER_NS,
            labels,
            [manager],
            self.next_ip(),
            ("ReplicaSet", "seldon-v2-controller-manager-6d4f7c9b8"),
        )
        server_config = {
            "apiVersion": SELDON_API,
            "kind": "ServerConfig",
            "metadata": meta("mlserver", CONTROLLER_NS),
            "spec": {
                "podSpec": {"containers": agent_containers(CONTROLLER_NS, "seldon-scheduler")}
            },
        }
        for container in agent_containers_of(server_config):
            for item in container.get("env", []):
                if item["name"] == "POD_NAMESPACE":
                    item.pop("value")
                    item["valueFrom"] = {"fieldRef": {"fieldPath": "metadata.namespace"}}
        seldon_config = {
            "apiVersion": SELDON_API,
            "kind": "SeldonConfig",
            "metadata": meta("default", CONTROLLER_NS),
            "spec": {
                "components": [
                    {"name": c, "replicas": 1}
                    for c in (
                        "seldon-scheduler",
                        "seldon-envoy",
                        "seldon-dataflow-engine",
                        "seldon-modelgateway",
                        "seldon-pipelinegateway",
                        "hodometer",
                    )
                ]
            },
        }
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(CONTROLLER_NS, None)}
        return [namespace, controller, pod, server_config, seldon_config]

    # ------------------------------------------------------------------ one namespace
    def namespace_objects(self, ns: Namespace) -> list[Obj]:
        n = ns.name
        out: list[Obj] = [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(n, None)},
        ]
        scheduler_replicas = 2 if "replicas-2" in ns.faults else 1
        runtime_spec: Obj = {"seldonConfig": "default"}
        if scheduler_replicas != 1:
            runtime_spec["overrides"] = [
                {"name": "seldon-scheduler", "replicas": scheduler_replicas}
            ]
            self.faults.append(
                Fault(
                    "replicas-2",
                    n,
                    "SD502",
                    f"StatefulSet/{n}/seldon-scheduler",
                    "SeldonRuntime overrides seldon-scheduler to 2 replicas",
                )
            )
        out.append(
            {
                "apiVersion": SELDON_API,
                "kind": "SeldonRuntime",
                "metadata": meta("seldon", n),
                "spec": runtime_spec,
                "status": {"conditions": [{"type": "Ready", "status": "True"}]},
            }
        )
        # Scheduler: StatefulSet, pods, Service, Endpoints.
        labels = {NAME_LABEL: "seldon-scheduler"}
        scheduler = {
            "name": "scheduler",
            "image": image("seldon-scheduler"),
            "args": [
                "--pipeline-gateway-host=seldon-pipelinegateway",
                "--envoy-port=9002",
                "--agent-port=9005",
            ],
        }
        out.append(
            workload("StatefulSet", "seldon-scheduler", n, labels, scheduler_replicas, [scheduler])
        )
        pods = []
        for index in range(scheduler_replicas):
            pod_name = f"seldon-scheduler-{index}"
            ip = self.next_ip()
            pod_labels = {**labels, "statefulset.kubernetes.io/pod-name": pod_name}
            out.append(
                ready_pod(
                    pod_name, n, pod_labels, [scheduler], ip, ("StatefulSet", "seldon-scheduler")
                )
            )
            pods.append((pod_name, ip))
        out.append(service("seldon-scheduler", n, labels, SCHEDULER_PORTS))
        out.append(endpoints("seldon-scheduler", n, pods, SCHEDULER_PORTS))
        # Envoy behind seldon-mesh.
        labels = {NAME_LABEL: "seldon-envoy"}
        envoy = {
            "name": "envoy",
            "image": image("seldon-envoy"),
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 9003}, "periodSeconds": 5},
        }
        out.append(workload("Deployment", "seldon-envoy", n, labels, 1, [envoy]))
        envoy_pod = f"seldon-envoy-7c9d8f6b5-{self.rng.randrange(16**5):05x}"
        ip = self.next_ip()
        out.append(
            ready_pod(envoy_pod, n, labels, [envoy], ip, ("ReplicaSet", "seldon-envoy-7c9d8f6b5"))
        )
        mesh = service("seldon-mesh", n, labels, MESH_PORTS)
        out.append(mesh)
        out.append(endpoints("seldon-mesh", n, [(envoy_pod, ip)], MESH_PORTS))
        # Dataflow engine and gateways (no Services needed by the doctor).
        for component, extra_env in (
            (
                "seldon-dataflow-engine",
                {"SELDON_UPSTREAM_HOST": "seldon-scheduler", "SELDON_UPSTREAM_PORT": "9008"},
            ),
            ("seldon-modelgateway", {"SELDON_SCHEDULER_HOST": "seldon-scheduler"}),
            ("seldon-pipelinegateway", {"SELDON_SCHEDULER_HOST": "seldon-scheduler"}),
        ):
            labels = {NAME_LABEL: component}
            container = {
                "name": component.removeprefix("seldon-"),
                "image": image(component),
                "env": env(extra_env),
            }
            out.append(workload("Deployment", component, n, labels, 1, [container]))
            pod_name = f"{component}-5f8b7d9c4-{self.rng.randrange(16**5):05x}"
            ip = self.next_ip()
            if component != "seldon-dataflow-engine":
                ports = {"http": 9010, "grpc": 9011}
                out.append(service(component, n, labels, ports))
                out.append(endpoints(component, n, [(pod_name, ip)], ports))
            out.append(
                ready_pod(
                    pod_name,
                    n,
                    labels,
                    [container],
                    ip,
                    ("ReplicaSet", f"{component}-5f8b7d9c4"),
                )
            )
        for config_map in ("seldon-agent", "seldon-kafka", "seldon-tracing"):
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": meta(config_map, n),
                    "data": {"config.json": json.dumps({"component": config_map, "version": 1})},
                }
            )
        out.extend(self.server_objects(ns))
        out.extend(self.model_objects(ns))
        if self.light:
            out = [o for o in out if o["kind"] not in _LIGHT_DROPS and not _replica_service(o)]
        else:
            out.extend(endpoint_slice(o) for o in list(out) if o["kind"] == "Endpoints")
        if "dangling-alias" in ns.faults:
            alias = "scheduler-central"
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": meta(alias, n),
                    "spec": {
                        "type": "ExternalName",
                        "externalName": "seldon-scheduler.seldon-centrall.svc.cluster.local",
                    },
                }
            )
            self.faults.append(
                Fault(
                    "dangling-alias",
                    n,
                    "SD505",
                    f"Service/{n}/{alias}",
                    "ExternalName alias to a namespace that does not exist",
                )
            )
        return out

    def server_names(self, ns: Namespace) -> list[str]:
        return [f"mlserver-{j}" for j in range(ns.servers)]

    def server_objects(self, ns: Namespace) -> list[Obj]:
        n = ns.name
        out: list[Obj] = []
        for j, name in enumerate(self.server_names(ns)):
            host = "seldon-scheduler"
            spec: Obj = {"serverConfig": "mlserver", "replicas": self.server_replicas}
            if "split-brain" in ns.faults and j == 0:
                host = f"seldon-scheduler.{self.namespaces[0].name}.svc.cluster.local"
                spec["podSpec"] = {
                    "containers": [{"name": "agent", "env": env({"SELDON_SCHEDULER_HOST": host})}]
                }
                self.faults.append(
                    Fault(
                        "split-brain",
                        n,
                        "SD501",
                        f"SeldonRuntime/{n}/seldon",
                        f"Server {name} agents dial {host}",
                    )
                )
            out.append(
                {
                    "apiVersion": SELDON_API,
                    "kind": "Server",
                    "metadata": meta(name, n),
                    "spec": spec,
                    "status": {
                        "replicas": self.server_replicas,
                        "loadedModels": 0,
                        "selector": f"seldon-server-name={name}",
                        "conditions": [
                            {
                                "type": "StatefulSetOrDeploymentReady",
                                "status": "True",
                                "reason": "StatefulSet replicas matches desired replicas",
                            },
                            {"type": "Ready", "status": "True"},
                        ],
                    },
                }
            )
            labels = {"seldon-server-name": name, NAME_LABEL: "seldon-server"}
            containers = agent_containers(n, host)
            if self.light:  # the agent (capabilities, scheduler host) is what the doctor reads
                containers = [c for c in containers if c["name"] == "agent"]
            out.append(workload("StatefulSet", name, n, labels, self.server_replicas, containers))
            for index in range(self.server_replicas):
                pod = f"{name}-{index}"
                ip = self.next_ip()
                pod_labels = {**labels, "statefulset.kubernetes.io/pod-name": pod}
                out.append(ready_pod(pod, n, pod_labels, containers, ip, ("StatefulSet", name)))
                selector = {"statefulset.kubernetes.io/pod-name": pod}
                out.append(service(pod, n, selector, SERVER_PORTS))
                out.append(endpoints(pod, n, [(pod, ip)], SERVER_PORTS))
        return out

    def model_names(self, ns: Namespace) -> list[str]:
        return [f"model-{k:03d}" for k in range(ns.models)]

    def broken_models(self, ns: Namespace) -> tuple[str | None, str | None]:
        """(model with a capability typo, Ready model whose route is missing)."""
        names = self.model_names(ns)
        typo = names[-1] if "capability-typo" in ns.faults else None
        missing = names[-1] if "missing-route" in ns.faults else None
        return typo, missing

    def model_objects(self, ns: Namespace) -> list[Obj]:
        n = ns.name
        out: list[Obj] = []
        servers = self.server_names(ns)
        typo, missing = self.broken_models(ns)
        for k, name in enumerate(self.model_names(ns)):
            requirements = ["sklearn"] if k % 2 == 0 else ["mlflow", "python"]
            ready_conditions = [
                {
                    "type": "ModelReady",
                    "status": "True",
                    "message": "ModelAvailable",
                    "reason": "",
                    "lastTransitionTime": STAMP,
                },
                {"type": "Ready", "status": "True", "lastTransitionTime": STAMP},
            ]
            status: Obj = {
                "replicas": 1,
                "availableReplicas": 1,
                "selector": f"server={servers[k % len(servers)]}",
                "conditions": ready_conditions,
                "observedGeneration": 1,
            }
            if name == typo:
                requirements = ["sklaern"]
                status = {
                    "replicas": 1,
                    "availableReplicas": 0,
                    "conditions": [
                        {
                            "type": "ModelReady",
                            "status": "False",
                            "message": "ScheduleFailed",
                            "reason": "Failed to schedule model as no matching servers are "
                            "available",
                        },
                        {"type": "Ready", "status": "False"},
                    ],
                    "observedGeneration": 1,
                }
                self.faults.append(
                    Fault(
                        "capability-typo",
                        n,
                        "SD102",
                        f"Model/{n}/{name}",
                        "requirements: [sklaern] (typo of sklearn)",
                    )
                )
            if name == missing:
                self.faults.append(
                    Fault(
                        "missing-route",
                        n,
                        "SD601",
                        f"Model/{n}/{name}",
                        "Ready Model with no route in the namespace's Envoy dump",
                    )
                )
            model: Obj = {
                "apiVersion": SELDON_API,
                "kind": "Model",
                "metadata": {
                    **meta(name, n),
                    "generation": 1,
                    "finalizers": ["seldon.model.finalizer"],
                },
                "spec": {
                    "storageUri": f"gs://seldon-models/{n}/{name}",
                    "requirements": requirements,
                    "replicas": 1,
                },
                "status": status,
            }
            if self.light:
                model = _light_model(model)
            out.append(model)
        names = self.model_names(ns)
        for e in range(ns.experiments):
            out.append(
                {
                    "apiVersion": SELDON_API,
                    "kind": "Experiment",
                    "metadata": meta(f"exp-{e}", n),
                    "spec": {
                        "default": names[2 * e],
                        "candidates": [
                            {"name": names[2 * e], "weight": 50},
                            {"name": names[2 * e + 1], "weight": 50},
                        ],
                    },
                    "status": {
                        "conditions": [
                            {
                                "type": "ExperimentReady",
                                "status": "True",
                                "reason": "experiment active",
                            },
                            {
                                "type": "CandidatesReady",
                                "status": "True",
                                "reason": "Candidates ready",
                            },
                            {"type": "Ready", "status": "True"},
                        ]
                    },
                }
            )
        for p in range(ns.pipelines):
            step = names[(2 + p) % max(1, len(names) - 1)]
            out.append(
                {
                    "apiVersion": SELDON_API,
                    "kind": "Pipeline",
                    "metadata": meta(f"pipe-{p}", n),
                    "spec": {"steps": [{"name": step}], "output": {"steps": [step]}},
                    "status": {
                        "conditions": [
                            {"type": "PipelineReady", "status": "True", "reason": "PipelineReady"},
                            {
                                "type": "ModelsReady",
                                "status": "True",
                                "message": "Models all available",
                            },
                            {"type": "Ready", "status": "True"},
                        ]
                    },
                }
            )
        return out

    # ------------------------------------------------------------------ Envoy dump
    def config_dump(self, ns: Namespace) -> Obj:
        typo, missing = self.broken_models(ns)
        servers = self.server_names(ns)
        routed: list[tuple[str, list[tuple[str, int]]]] = []
        names = self.model_names(ns)
        # An Experiment with `default: X` rewrites model X's own route into its split.
        splits = {
            names[2 * e]: [(f"{names[2 * e]}_1", 50), (f"{names[2 * e + 1]}_1", 50)]
            for e in range(ns.experiments)
        }
        for name in self.model_names(ns):
            if name in (typo, missing):
                continue
            routed.append((name, splits.get(name, [(f"{name}_1", 100)])))
        for e in range(ns.experiments):
            pair = [(f"{names[2 * e]}_1", 50), (f"{names[2 * e + 1]}_1", 50)]
            routed.append((f"exp-{e}.experiment", pair))
        hosts = {
            f"{name}_1": f"{servers[k % len(servers)]}-0.{ns.name}" for k, name in enumerate(names)
        }
        pipelines = [f"pipe-{p}.pipeline" for p in range(ns.pipelines)]
        return config_dump(routed, pipelines, hosts)


def _weighted(targets: Sequence[tuple[str, int]], suffix: str) -> Obj:
    return {
        "clusters": [
            {
                "name": f"{cluster}_{suffix}",
                "request_headers_to_add": [
                    {"header": {"key": "seldon-internal-model", "value": cluster}}
                ],
                "response_headers_to_add": [
                    {"header": {"key": "x-seldon-route", "value": f":{cluster}:"}}
                ],
                "weight": weight,
            }
            for cluster, weight in targets
        ]
    }


def _route(header: str, name: str, prefix: str, action: Obj) -> Obj:
    return {
        "match": {
            "headers": [
                {"name": "seldon-model", "string_match": {"exact": header}},
                {"name": "x-seldon-route", "present_match": False},
            ],
            "prefix": prefix,
        },
        "name": name,
        "route": {"timeout": "0s", **action},
    }


def _cluster(name: str, host: str, port: int) -> Obj:
    return {
        "cluster": {
            "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
            "connect_timeout": "5s",
            "lb_policy": "LEAST_REQUEST",
            "load_assignment": {
                "cluster_name": name,
                "endpoints": [
                    {
                        "lb_endpoints": [
                            {
                                "endpoint": {
                                    "address": {
                                        "socket_address": {"address": host, "port_value": port}
                                    }
                                }
                            }
                        ]
                    }
                ],
            },
            "name": name,
            "type": "STRICT_DNS",
        },
        "last_updated": STAMP,
        "version_info": "1",
    }


def config_dump(
    routed: Sequence[tuple[str, Sequence[tuple[str, int]]]],
    pipelines: Sequence[str],
    hosts: dict[str, str],
    xds: tuple[str, int] = ("seldon-scheduler", 9002),
) -> Obj:
    """An Envoy ``/config_dump`` as seldon-envoy holds it: bootstrap, clusters, listener, routes.

    ``routed`` is (seldon-model header, [(cluster prefix, weight)]) per Model/Experiment;
    ``pipelines`` the pipeline headers (routed to the pipeline gateway); ``hosts`` the server
    each cluster prefix points at.
    """
    routes: list[Obj] = []
    for header, targets in routed:
        base = header.replace(".", "_")
        routes.append(
            _route(header, f"{base}_http", "/v2", {"weighted_clusters": _weighted(targets, "http")})
        )
        routes.append(
            _route(
                header,
                f"{base}_grpc",
                "/inference.GRPCInferenceService",
                {"weighted_clusters": _weighted(targets, "grpc")},
            )
        )
    for header in pipelines:
        base = header.replace(".", "_")
        for suffix, prefix in (("http", "/v2"), ("grpc", "/inference.GRPCInferenceService")):
            routes.append(
                _route(header, f"{base}_{suffix}", prefix, {"cluster": f"pipelinegateway_{suffix}"})
            )
    cluster_list = [
        _cluster(f"{prefix}_{suffix}", host, port)
        for prefix, host in hosts.items()
        for suffix, port in (("http", 9001), ("grpc", 9501))
    ]
    cluster_list += [
        _cluster(f"pipelinegateway_{s}", "seldon-pipelinegateway", p)
        for s, p in (("http", 9010), ("grpc", 9011))
    ]
    return {
        "configs": [
            {
                "@type": T_ENVOY + "BootstrapConfigDump",
                "bootstrap": {
                    "dynamic_resources": {
                        "ads_config": {
                            "api_type": "DELTA_GRPC",
                            "grpc_services": [{"envoy_grpc": {"cluster_name": "xds_cluster"}}],
                            "transport_api_version": "V3",
                        },
                        "cds_config": {"ads": {}, "resource_api_version": "V3"},
                        "lds_config": {"ads": {}, "resource_api_version": "V3"},
                    },
                    "node": {
                        "cluster": "test-cluster",
                        "id": "test-id",
                        "user_agent_name": "envoy",
                    },
                    "static_resources": {
                        "clusters": [
                            {
                                "connect_timeout": "1s",
                                "load_assignment": {
                                    "cluster_name": "xds_cluster",
                                    "endpoints": [
                                        {
                                            "lb_endpoints": [
                                                {
                                                    "endpoint": {
                                                        "address": {
                                                            "socket_address": {
                                                                "address": xds[0],
                                                                "port_value": xds[1],
                                                            }
                                                        }
                                                    }
                                                }
                                            ]
                                        }
                                    ],
                                },
                                "name": "xds_cluster",
                                "type": "LOGICAL_DNS",
                            }
                        ]
                    },
                },
                "last_updated": STAMP,
            },
            {
                "@type": T_ENVOY + "ClustersConfigDump",
                "dynamic_active_clusters": cluster_list,
                "version_info": "1",
            },
            {
                "@type": T_ENVOY + "ListenersConfigDump",
                "dynamic_listeners": [_listener()],
                "version_info": "1",
            },
            {
                "@type": T_ENVOY + "RoutesConfigDump",
                "dynamic_route_configs": [
                    {
                        "last_updated": STAMP,
                        "route_config": {
                            "@type": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
                            "name": "listener_0",
                            "virtual_hosts": [
                                {"domains": ["*"], "name": "seldon_service", "routes": routes}
                            ],
                        },
                        "version_info": "1",
                    }
                ],
            },
        ]
    }


def _listener() -> Obj:
    hcm = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
    return {
        "active_state": {
            "last_updated": STAMP,
            "listener": {
                "@type": "type.googleapis.com/envoy.config.listener.v3.Listener",
                "address": {"socket_address": {"address": "0.0.0.0", "port_value": 9000}},
                "filter_chains": [
                    {
                        "filters": [
                            {
                                "name": "envoy.filters.network.http_connection_manager",
                                "typed_config": {
                                    "@type": hcm + "HttpConnectionManager",
                                    "http_filters": [
                                        {
                                            "name": "envoy.filters.http.router",
                                            "typed_config": {
                                                "@type": "type.googleapis.com/envoy.extensions."
                                                "filters.http.router.v3.Router"
                                            },
                                        }
                                    ],
                                    "rds": {
                                        "config_source": {"ads": {}, "resource_api_version": "V3"},
                                        "route_config_name": "listener_0",
                                    },
                                    "stat_prefix": "seldon_http",
                                },
                            }
                        ]
                    }
                ],
                "name": "seldon_http",
            },
            "version_info": "1",
        },
        "name": "seldon_http",
    }


def big_config_dump(routes: int) -> Obj:
    """A dump with ``routes`` routes (half HTTP, half gRPC) for the parser benchmark."""
    models = [f"model-{i:05d}" for i in range(max(1, routes // 2))]
    hosts = {f"{m}_1": f"mlserver-{i % 50}-0" for i, m in enumerate(models)}
    return config_dump([(m, [(f"{m}_1", 100)]) for m in models], [], hosts)


_LIGHT_DROPS = frozenset({"Pod", "ConfigMap"})


def _light_model(model: Obj) -> Obj:
    """The Model as a small capture shows it: no finalizers, conditions without messages."""
    del model["metadata"]["generation"], model["metadata"]["finalizers"]
    del model["spec"]["replicas"]
    for condition in model["status"]["conditions"]:
        condition.pop("lastTransitionTime", None)
        if condition.get("status") == "True":
            condition.pop("message", None)
            condition.pop("reason", None)
    return model


def _replica_service(obj: Obj) -> bool:
    """A Service or Endpoints of one Server replica (named after its pod, ``<server>-<n>``)."""
    return obj["kind"] in ("Service", "Endpoints") and obj["metadata"]["name"].startswith(
        "mlserver-"
    )


# ---------------------------------------------------------------------- writing
class _PlainDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """No anchors/aliases for shared dicts: kubectl never prints them."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(documents: Iterable[Obj]) -> str:
    dumper = _PlainDumper
    return yaml.dump_all(
        documents, Dumper=dumper, default_flow_style=False, sort_keys=False, width=4096
    )


def write(estate: Estate, out: Path) -> dict[str, Any]:
    manifests = out / "manifests"
    dumps = out / "envoy"
    manifests.mkdir(parents=True, exist_ok=True)
    dumps.mkdir(parents=True, exist_ok=True)
    counts: Counter[str] = Counter()
    header = "# Generated by bench/make_estate.py: captured state of one namespace.\n"
    global_objects = estate.controller_objects()
    counts.update(o["kind"] for o in global_objects)
    (manifests / f"{CONTROLLER_NS}.yaml").write_text(header + dump_yaml(global_objects))
    dump_args = []
    for ns in estate.namespaces:
        objects = estate.namespace_objects(ns)
        counts.update(o["kind"] for o in objects)
        (manifests / f"{ns.name}.yaml").write_text(header + dump_yaml(objects))
        path = dumps / f"{ns.name}.config_dump.json"
        path.write_text(json.dumps(estate.config_dump(ns), separators=(",", ":")))
        dump_args.append(f"{ns.name}={path}")
    manifest = {
        "faults": [f.as_dict() for f in estate.faults],
        "counts": dict(sorted(counts.items())),
        "objects": sum(counts.values()),
        "namespaces": len(estate.namespaces),
        "dump_args": dump_args,
    }
    (out / "faults.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def generate(
    out: Path,
    *,
    namespaces: int,
    models: int,
    servers: int,
    seed: int = 0,
    faults: str = "",
    server_replicas: int = 3,
    light: bool = False,
) -> dict[str, Any]:
    """Write an estate to ``out`` and return its manifest (also in ``out/faults.json``)."""
    estate = Estate(
        namespaces, models, servers, seed, parse_faults(faults), server_replicas, light=light
    )
    return write(estate, out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="output directory")
    parser.add_argument("--namespaces", type=int, default=500)
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--servers", type=int, default=1_000)
    parser.add_argument("--server-replicas", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--light",
        action="store_true",
        help="light objects: no Pods, ConfigMaps, EndpointSlices or per-replica Services",
    )
    parser.add_argument(
        "--faults",
        default="",
        help=f"KIND=COUNT,... with KIND in {', '.join(FAULT_KINDS)}",
    )
    parser.add_argument(
        "--big-dump",
        type=int,
        metavar="ROUTES",
        help="instead of an estate, write OUT as one config dump with this many routes",
    )
    args = parser.parse_args(argv)
    if args.big_dump:
        args.out.write_text(json.dumps(big_config_dump(args.big_dump), separators=(",", ":")))
        print(f"wrote {args.out} ({args.big_dump} routes)")
        return 0
    manifest = generate(
        args.out,
        namespaces=args.namespaces,
        models=args.models,
        servers=args.servers,
        seed=args.seed,
        faults=args.faults,
        server_replicas=args.server_replicas,
        light=args.light,
    )
    print(
        f"wrote {manifest['objects']} objects in {manifest['namespaces']} namespaces and "
        f"{len(manifest['faults'])} faults to {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
