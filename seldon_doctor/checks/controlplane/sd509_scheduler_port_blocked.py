"""SD509 scheduler-port-blocked.

A NetworkPolicy or mesh policy stops a consumer from reaching the scheduler or a Server.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import CONSUMER_READS, workload_replicas
from seldon_doctor.checks.helpers.controlplane import MODEL_GATEWAY, PIPELINE_GATEWAY
from seldon_doctor.domain.istio_policy import mesh_verdict
from seldon_doctor.domain.network_policy import (
    PodView,
    Policies,
    Tri,
    container_ports,
    policy_types,
)
from seldon_doctor.findings import Evidence, Finding, counted
from seldon_doctor.graph import seldon
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Node, ResolutionStatus

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
            expressions = counted(len(selector["matchExpressions"]), "expression")
            shown += (", " if shown else "") + expressions
        ingress = len(policy.spec.get("ingress") or [])
        egress = len(policy.spec.get("egress") or [])
        # "rules" counts both directions: "0 ingress / 1 egress rule", "1 ingress / 1 egress rules".
        return (
            f"podSelector {shown or '{} (all pods)'}; policyTypes "
            f"{','.join(policy_types(policy.spec))}; {ingress} "
            f"ingress / {egress} egress {'rule' if ingress + egress == 1 else 'rules'}"
        )
    rules = len(policy.spec.get("rules") or [])
    return f"action {policy.spec.get('action') or 'ALLOW'}; {counted(rules, 'rule')}"
