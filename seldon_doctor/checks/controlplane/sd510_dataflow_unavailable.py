"""SD510 dataflow-unavailable.

Pipelines exist but the dataflow engine, a gateway or Kafka is not there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import (
    CONSUMER_READS,
    namespace_anchor,
    pod_spec_containers,
    workload_replicas,
)
from seldon_doctor.checks.helpers.controlplane import MODEL_GATEWAY, PIPELINE_GATEWAY
from seldon_doctor.findings import Evidence, Finding, counted
from seldon_doctor.graph import seldon
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Node, ResolutionStatus

KAFKA_ENV = "SELDON_KAFKA_BOOTSTRAP_SERVERS"


# ---------------------------------------------------------------------------- dataflow
def _component_ready(
    graph: DeploymentGraph, namespace: str, component: str
) -> tuple[bool | None, list[Evidence]]:
    """Whether a runtime component has a ready pod (observed) or will run (manifest), and,
    when it has none, the evidence of that (only a missing component is reported)."""
    deployment = graph.get("Deployment", namespace, component)
    pods = list(_pods_by_component(graph).get((namespace, component), ()))
    if deployment is not None and deployment.obj is not None:
        pods = pods or graph.pods_of(deployment)
    if graph.observed:
        if pods:
            if any(p.obj is not None and seldon.pod_ready(p.obj) for p in pods):
                return True, []
            return False, [
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


def _pods_by_component(graph: DeploymentGraph) -> dict[tuple[str, str], list[Node]]:
    """Pods by (namespace, app.kubernetes.io/name): one pass over the Pods instead of one
    per namespace and component (three per namespace with Pipelines)."""

    def index() -> dict[tuple[str, str], list[Node]]:
        out: dict[tuple[str, str], list[Node]] = defaultdict(list)
        for pod in graph.nodes("Pod"):
            name = pod.labels.get(seldon.NAME_LABEL)
            if name is not None:
                out[(pod.namespace, name)].append(pod)
        return out

    return graph.memoised("pods_by_component", index)


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
            servers = seldon.env_value(container, runtime_ns, KAFKA_ENV)
            if servers:
                out.append((servers, f"env {KAFKA_ENV}", deployment))
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
            # Beside the Pipelines' own (added only for a finding: most namespaces are fine).
            evidence: list[Evidence] = []
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
                f"{counted(len(pipelines), 'Pipeline')} in {ns} cannot run: "
                + "; ".join(dict.fromkeys(problems))
                + ". Pipelines stay in PipelineCreate/PipelineFailed (the scheduler has no "
                "dataflow engine or gateway to place them on) and pipeline inference fails.",
                evidence=[*(node_evidence(p) for p in pipelines[:5]), *evidence],
                params={
                    "runtime_namespace": runtime_ns,
                    "component": first_missing or seldon.DATAFLOW,
                    "bootstrap": bad_hosts[0] if bad_hosts else "<bootstrap.servers>",
                },
                dedupe_key=f"dataflow:{ns}",
            )
