"""Control-plane topology checks: which scheduler does each namespace really reach?"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import CONSUMER_READS, namespace_anchor
from seldon_doctor.domain.spelling import edit_distance
from seldon_doctor.findings import Evidence, Finding
from seldon_doctor.graph import seldon
from seldon_doctor.graph.build import DeploymentGraph, parse_service_host
from seldon_doctor.graph.model import Consumer, Node, ResolutionStatus

SELDON_SERVICE_NAMES = frozenset({seldon.SCHEDULER, seldon.MESH_SERVICE, "seldon-pipelinegateway"})


def consumer_evidence(consumer: Consumer) -> Evidence:
    return Evidence(
        f"{consumer.role} {consumer.subject}",
        "dials",
        f"{consumer.host}:{consumer.port}",
        f"{consumer.resolution.describe()}; host from {consumer.source}",
    )


def _who(consumer: Consumer) -> str:
    name = consumer.subject.rsplit("/", 1)[-1]
    return {
        "controller": "the controller",
        "agent": f"the agents of Server {name}",
        "envoy": f"Envoy in {consumer.subject.split('/')[1]}",
        "dataflow": "the dataflow engine",
    }.get(consumer.role, consumer.subject)


class SchedulerSplitBrain(Check):
    """SD501: one namespace's control plane reaches more than one scheduler instance."""

    id = "SD501"
    reads = CONSUMER_READS

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        for ns in graph.namespaces_with("Model", "Server", "Experiment", "Pipeline"):
            consumers = [
                c
                for c in graph.scheduler_consumers(ns)
                if c.resolution.status == ResolutionStatus.OK
            ]
            groups: dict[frozenset[str], list[Consumer]] = defaultdict(list)
            for consumer in consumers:
                groups[consumer.resolution.instance_keys()].append(consumer)
            instances = sorted(set().union(*groups)) if groups else []
            if len(instances) <= 1:
                continue
            if len(groups) == 1:
                how = (
                    f"every consumer is load-balanced across {len(instances)} scheduler pods "
                    f"behind one Service ({', '.join(instances)}), so each gRPC stream lands on "
                    "a different, independent scheduler"
                )
            else:
                parts = []
                for keys, members in sorted(groups.items(), key=lambda kv: sorted(kv[0])):
                    who = ", ".join(sorted({_who(m) for m in members}))
                    parts.append(f"{who} → {', '.join(sorted(keys))}")
                how = "; ".join(parts)
            message = (
                f"Namespace {ns} is served by {len(instances)} scheduler instances: {how}. The "
                "scheduler is single-instance and keeps its state in memory, so models load on "
                "one scheduler while Envoy takes routes from another: 404s, ScheduleFailed and "
                "route thrashing follow."
            )
            yield self.finding(
                namespace_anchor(graph, ns),
                message,
                evidence=[
                    *(consumer_evidence(c) for c in consumers),
                    *graph.log_evidence(
                        self.id, ns, [s.name for s in graph.nodes("Server", ns)], limit=5
                    ),
                ],
                params={"schedulers": ", ".join(instances), **_fix_targets(graph, ns, consumers)},
                dedupe_key=f"split-brain:{ns}",
            )


def _fix_targets(graph: DeploymentGraph, ns: str, consumers: list[Consumer]) -> dict[str, str]:
    """Where the plan's commands act: the namespace whose scheduler runs the most replicas
    (and its SeldonRuntime), and the namespace of the Envoy serving ``ns`` — not ``ns`` itself,
    which for an aliased namespace holds neither."""
    per_namespace: dict[str, int] = defaultdict(int)
    for key in {k for c in consumers for k in c.resolution.instance_keys()}:
        per_namespace[key.split("/", 1)[0]] += 1
    runtime_ns = min(per_namespace, key=lambda n: (-per_namespace[n], n)) if per_namespace else ns
    runtimes = graph.nodes("SeldonRuntime", runtime_ns)
    envoys = sorted(c.subject.split("/")[1] for c in consumers if c.role == "envoy")
    return {
        "runtime_namespace": runtime_ns,
        "runtime": runtimes[0].name if runtimes else "<seldonruntime>",
        "envoy_namespace": envoys[0] if envoys else ns,
    }


def _scheduler_workload(node: Node) -> bool:
    if node.name == seldon.SCHEDULER:
        return True
    template = node.props.get("template_labels") or {}
    if node.obj is not None:
        template = seldon.pod_template_labels(node.obj)
    return template.get(seldon.NAME_LABEL) == seldon.SCHEDULER


class SchedulerReplicasAboveOne(Check):
    """SD502: a scheduler StatefulSet wants or runs more than one replica."""

    id = "SD502"
    reads = frozenset({"StatefulSet", "Pod", "SeldonRuntime", "SeldonConfig", "Deployment"})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        reported: set[str] = set()
        for sts in graph.nodes("StatefulSet"):
            if not _scheduler_workload(sts):
                continue
            if sts.obj is not None:
                wanted = sts.spec.get("replicas", 1)
                running = sts.status.get("replicas", 0)
            else:
                wanted, running = sts.props.get("replicas", 1), 0
            wanted = wanted if isinstance(wanted, int) else 1
            running = running if isinstance(running, int) else 0
            pods = graph.scheduler_instances(sts.namespace)
            if max(wanted, running, len(pods)) <= 1:
                continue
            reported.add(sts.namespace)
            runtime = graph.nodes("SeldonRuntime", sts.namespace)
            evidence = [node_evidence(sts, "spec.replicas", wanted)]
            if sts.obj is not None:
                evidence.append(node_evidence(sts, "status.replicas", running))
            evidence.extend(
                node_evidence(
                    p, "status", "Ready" if p.obj and seldon.pod_ready(p.obj) else "not ready"
                )
                for p in pods
            )
            for rt in runtime:
                for override in rt.spec.get("overrides") or []:
                    if isinstance(override, dict) and override.get("name") == seldon.SCHEDULER:
                        evidence.append(
                            node_evidence(
                                rt,
                                "spec.overrides[seldon-scheduler].replicas",
                                override.get("replicas"),
                            )
                        )
            count = max(wanted, running, len(pods))
            yield self.finding(
                sts,
                f"Scheduler StatefulSet {sts.namespace}/{sts.name} is set to {wanted} replicas"
                f"{f' and runs {max(running, len(pods))}' if max(running, len(pods)) else ''}. "
                "The scheduler is single-instance by design (models and servers live in its "
                "memory, no leader election): with more than one, each controller, agent and "
                "Envoy stream lands on a different scheduler.",
                evidence=evidence,
                params={
                    "replicas": str(count),
                    "runtime": runtime[0].name if runtime else "<seldonruntime>",
                },
            )
        for ns in graph.namespaces_with("Pod"):
            pods = graph.scheduler_instances(ns)
            if len(pods) > 1 and ns not in reported:
                yield self.finding(
                    pods[0],
                    f"{len(pods)} scheduler pods run in namespace {ns}; the scheduler is "
                    "single-instance by design.",
                    evidence=[node_evidence(p, "metadata.labels", seldon.SCHEDULER) for p in pods],
                    params={"replicas": str(len(pods)), "runtime": "<seldonruntime>"},
                )


class SchedulerServiceMissing(Check):
    """SD503: a namespace with Seldon resources resolves no ``seldon-scheduler``."""

    id = "SD503"
    reads = CONSUMER_READS

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        namespaces = set(graph.namespaces_with("Model", "Server")) | set(graph.envoys)
        namespaces |= {d.namespace for d in graph.nodes("Deployment") if d.name == seldon.ENVOY}
        for ns in sorted(namespaces):
            resolution = graph.resolve(seldon.SCHEDULER, ns)
            if resolution.partial is not None and not resolution.chain:
                # Manifests from one folder: the runtime (and its Service) may be applied by
                # someone else. Absence is a finding only where the input is complete.
                kind, where = resolution.partial
                self.unresolved(
                    ctx,
                    namespace_anchor(graph, ns),
                    f"Service {ns}/{seldon.SCHEDULER} (dialled by this namespace's controller, "
                    "agents and Envoy)",
                    kind,
                    where,
                )
                continue
            if resolution.status != ResolutionStatus.NO_SERVICE or resolution.chain:
                continue
            dependents = list(graph.scheduler_consumers(ns))
            yield self.finding(
                namespace_anchor(graph, ns),
                f"Namespace {ns} has Seldon resources but no Service named seldon-scheduler: the "
                "controller dials seldon-scheduler."
                f"{ns}:9004 and agents and Envoy dial the short name seldon-scheduler, so none of "
                "them can reach a scheduler and nothing in this namespace will load or route.",
                evidence=[
                    Evidence(f"Service {ns}/seldon-scheduler", None, None, "not found"),
                    *(consumer_evidence(c) for c in dependents),
                    *graph.log_evidence(self.id, ns),
                ],
            )


def is_seldon_service(service: Node) -> bool:
    if service.name in SELDON_SERVICE_NAMES:
        return True
    selector = service.spec.get("selector") or {}
    if not isinstance(selector, dict):
        return False
    if "seldon-server-name" in selector or "seldon-server-replica" in service.labels:
        return True
    return str(selector.get(seldon.NAME_LABEL, "")).startswith("seldon-")


class ServiceWithoutEndpoints(Check):
    """SD504: a Seldon Service selects no ready pod."""

    id = "SD504"
    reads = CONSUMER_READS

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        for service in graph.nodes("Service"):
            replaced = service.props.get("replaced_by_runtime")
            if service.spec.get("type") == "ExternalName" and not replaced:
                continue
            if not is_seldon_service(service):
                continue
            resolution = graph.resolve(service.name, service.namespace)
            if resolution.partial is not None and resolution.chain == (service.id,):
                kind, where = resolution.partial
                self.unresolved(
                    ctx,
                    service,
                    f"a ready pod selected by Service {service.namespace}/{service.name}",
                    kind,
                    where,
                )
                continue
            if resolution.status != ResolutionStatus.NO_BACKENDS or resolution.chain != (
                service.id,
            ):
                continue
            spec = service.props.get("spec") if replaced else service.spec
            selector = (spec or {}).get("selector") or {}
            selector_text = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
            evidence = [node_evidence(service, "spec.selector", selector_text)]
            evidence.extend(Evidence(f"Pod {b.key}", "ready", False) for b in resolution.backends)
            users = [
                c
                for ns in graph.namespaces_with("Model", "Server", "Experiment", "Pipeline")
                for c in graph.scheduler_consumers(ns)
                if service.id in c.resolution.chain
            ]
            evidence.extend(consumer_evidence(c) for c in users)
            evidence.extend(graph.log_evidence(self.id, service.namespace))
            cause = ""
            owner = service.implied_by or replaced
            if owner:
                runtime = graph.get("SeldonRuntime", service.namespace, owner.rsplit("/", 1)[1])
                replicas = (runtime.props.get("component_replicas") or {}) if runtime else {}
                component = seldon.RUNTIME_SERVICES.get(service.name, "")
                if component and replicas.get(component) == 0:
                    cause = (
                        f" SeldonRuntime {service.namespace}/{owner.rsplit('/', 1)[1]} runs "
                        f"{component} with 0 replicas (override disable/replicas: 0), yet the "
                        "controller creates this Service unconditionally (PR #6617)."
                    )
                    evidence.append(
                        Evidence(
                            f"SeldonRuntime {service.namespace}/{owner.rsplit('/', 1)[1]}",
                            f"spec.overrides[{component}]",
                            "replicas 0 or disable",
                        )
                    )
            if replaced:
                cause += (
                    " The manifest declares this Service as "
                    f"{service.spec.get('type') or 'ClusterIP'}"
                    + (
                        f" → {service.spec.get('externalName')}"
                        if service.spec.get("externalName")
                        else ""
                    )
                    + ", but the SeldonRuntime controller owns the name and will overwrite it."
                )
            consumers_text = (
                f" {len(users)} consumer(s) dial it, so they reach nothing." if users else ""
            )
            yield self.finding(
                service,
                f"Service {service.namespace}/{service.name} selects no ready pod "
                f"(selector {selector_text or 'none'}).{cause}{consumers_text}",
                evidence=evidence,
                params={"service": service.name, "selector": selector_text or "<none>"},
            )


class ExternalNameAliasDangling(Check):
    """SD505: an ExternalName alias leads to no Service, namespace or ready pod."""

    id = "SD505"
    reads = CONSUMER_READS

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        for service in graph.nodes("Service"):
            if service.spec.get("type") != "ExternalName" or service.props.get(
                "replaced_by_runtime"
            ):
                continue
            target = str(service.spec.get("externalName") or "")
            parsed = parse_service_host(target, service.namespace)
            if parsed is None:
                continue  # a name outside the cluster: not ours to judge
            if service.name not in SELDON_SERVICE_NAMES and parsed[0] not in SELDON_SERVICE_NAMES:
                continue
            resolution = graph.resolve(service.name, service.namespace)
            if resolution.partial is not None:
                kind, where = resolution.partial
                self.unresolved(
                    ctx, service, f"the target of alias {service.name} → {target}", kind, where
                )
                continue
            if resolution.status == ResolutionStatus.UNKNOWN:
                self.skip(
                    ctx,
                    "the alias's target is not described by the input",
                    service.namespace,
                    subject=f"alias {service.namespace}/{service.name} → {target}: "
                    f"{resolution.detail}",
                )
                continue
            if resolution.status not in (
                ResolutionStatus.NO_NAMESPACE,
                ResolutionStatus.NO_SERVICE,
                ResolutionStatus.NO_BACKENDS,
                ResolutionStatus.LOOP,
            ):
                continue
            problem = {
                ResolutionStatus.NO_NAMESPACE: f"namespace {parsed[1]} does not exist",
                ResolutionStatus.NO_SERVICE: f"there is no Service {parsed[0]} in {parsed[1]}",
                ResolutionStatus.NO_BACKENDS: resolution.detail,
                ResolutionStatus.LOOP: resolution.detail,
            }[resolution.status]
            close = (
                _closest_namespace(graph, parsed[1])
                if resolution.status == ResolutionStatus.NO_NAMESPACE
                else None
            )
            hint = f" Did you mean namespace {close}?" if close else ""
            yield self.finding(
                service,
                f"ExternalName alias {service.namespace}/{service.name} points at {target}, but "
                f"{problem}. Everything in {service.namespace} that dials {service.name} fails "
                f"to connect.{hint}",
                evidence=[
                    node_evidence(service, "spec.externalName", target),
                    Evidence("resolution", None, resolution.describe()),
                    *graph.log_evidence(self.id, service.namespace),
                ],
                params={
                    "service": service.name,
                    "target": target,
                    "target_service": parsed[0],
                    "target_namespace": close or parsed[1],
                },
            )


def _closest_namespace(graph: DeploymentGraph, wanted: str) -> str | None:
    best = min(graph.all_namespaces(), key=lambda n: (edit_distance(wanted, n, 4), n), default=None)
    if best is not None and edit_distance(wanted, best, 4) <= 4 and best != wanted:
        return best
    return None
