"""SD512 shared-scheduler-name-collision.

Namespaces sharing one scheduler hold resources of the same kind and name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import SCHEDULING_READS, controller_scheduler_keys
from seldon_doctor.findings import Evidence, Finding
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Node, ResolutionStatus

COLLISION_KINDS = ("Model", "Server", "Experiment", "Pipeline")


def scheduler_keys(graph: DeploymentGraph, node: Node) -> frozenset[str]:
    """Scheduler instances a resource's state lives in (empty when unresolved)."""
    if node.kind != "Server":
        return controller_scheduler_keys(graph, node.namespace) or frozenset()
    for consumer in graph.scheduler_consumers(node.namespace):
        if consumer.role == "agent" and consumer.subject == node.id:
            if consumer.resolution.status == ResolutionStatus.OK:
                return consumer.resolution.instance_keys()
            return frozenset()
    return frozenset()


class SharedSchedulerNameCollision(Check):
    """SD512: namespaces sharing one scheduler hold resources of the same kind and name."""

    id = "SD512"
    reads = SCHEDULING_READS

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        for kind in COLLISION_KINDS:
            by_name: dict[str, list[tuple[Node, frozenset[str]]]] = defaultdict(list)
            for node in graph.nodes(kind):
                if node.obj is None:
                    continue
                keys = scheduler_keys(graph, node)
                if keys:
                    by_name[node.name].append((node, keys))
            for _name, members in sorted(by_name.items()):
                if len({n.namespace for n, _ in members}) < 2:
                    continue
                sharing: dict[str, list[int]] = defaultdict(list)
                for index, (_, keys) in enumerate(members):
                    for key in keys:
                        sharing[key].append(index)
                for node, keys in members:
                    hits = sorted({i for key in keys for i in sharing[key]})
                    clashes = [
                        members[i] for i in hits if members[i][0].namespace != node.namespace
                    ]
                    if clashes:
                        yield self._finding(graph, node, keys, clashes)

    def _finding(
        self,
        graph: DeploymentGraph,
        node: Node,
        keys: frozenset[str],
        clashes: list[tuple[Node, frozenset[str]]],
    ) -> Finding:
        others = ", ".join(f"{o.namespace}/{o.name}" for o, _ in clashes)
        scheduler = ", ".join(sorted(keys))
        effect = {
            "Server": "the two Servers merge into one and replica 0 of one overwrites the other, "
            "so Models land on the other namespace's pods",
            "Model": "it holds one Model per name, so each namespace's apply overwrites the "
            f"other's definition and Envoy routes seldon-model: {node.name} to that one in both",
            "Experiment": "one Experiment overwrites the other's traffic split",
            "Pipeline": "one Pipeline overwrites the other's steps",
        }[node.kind]
        message = (
            f"{node.kind} {node.namespace}/{node.name} shares its name with {others}, and both "
            f"namespaces use the same scheduler ({scheduler}). The scheduler keys "
            f"{node.kind}s by name alone, not namespace: {effect}."
        )
        evidence = [node_evidence(node, "metadata.name", node.name)]
        evidence.extend(node_evidence(o, "metadata.name", o.name) for o, _ in clashes)
        evidence.append(Evidence("scheduler", "instances", scheduler))
        # The shared scheduler's own lines about this name (agents subscribing, schedule calls).
        evidence.extend(graph.log_evidence(self.id, node.namespace, node.name))
        return self.finding(
            node,
            message,
            evidence=evidence,
            params={
                "plural": node.kind.lower() + "s",
                "other_namespace": clashes[0][0].namespace,
            },
            dedupe_key=f"collision:{node.kind}:{node.name}:{node.namespace}",
        )
