"""SD203 server-capabilities-diverge: Replicas of one Server advertise different capabilities."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from seldon_doctor.checks.base import Check, CheckContext
from seldon_doctor.findings import Evidence, Finding
from seldon_doctor.graph.model import Node
from seldon_doctor.graph.seldon import Capabilities, compute_capabilities


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
