"""SD501 scheduler-split-brain.

One namespace's control plane reaches more than one scheduler instance.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from seldon_doctor.checks.base import Check, CheckContext
from seldon_doctor.checks.helpers.common import CONSUMER_READS, namespace_anchor
from seldon_doctor.checks.helpers.controlplane import consumer_evidence
from seldon_doctor.findings import Finding
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Consumer, ResolutionStatus


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
