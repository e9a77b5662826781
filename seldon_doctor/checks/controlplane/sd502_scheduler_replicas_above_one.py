"""SD502 scheduler-replicas-above-one.

The scheduler StatefulSet wants or runs more than one replica.
"""

from __future__ import annotations

from collections.abc import Iterator

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.findings import Finding
from seldon_doctor.graph import seldon
from seldon_doctor.graph.model import Node


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
