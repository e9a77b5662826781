"""SD506 controllers-overlap: Two Seldon controller-managers watch the same namespace."""

from __future__ import annotations

from collections.abc import Iterator

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import pod_spec_containers
from seldon_doctor.checks.helpers.controlplane import (
    active_controllers,
    controller_scope,
    scope_text,
)
from seldon_doctor.findings import Finding
from seldon_doctor.graph import seldon
from seldon_doctor.graph.model import Node


# ---------------------------------------------------------------------------- controllers
def _manager_args(controller: Node) -> list[str]:
    for container in pod_spec_containers(controller):
        image = str(container.get("image") or "")
        args = [str(a) for a in container.get("args") or []]
        if "seldonv2-controller" in image or any(a.startswith("--clusterwide") for a in args):
            env = seldon.env_of(container, controller.namespace)
            return seldon.expand_args(
                list(container.get("command") or []) + list(container.get("args") or []), env
            )
    return []


def _leader_elect(controller: Node) -> bool:
    return (seldon.flag_value(_manager_args(controller), "--leader-elect") or "false") == "true"


class ControllersOverlap(Check):
    """SD506: two controller-managers reconcile the same namespace."""

    id = "SD506"
    reads = frozenset({"Deployment"})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        controllers = active_controllers(graph)
        for index, second in enumerate(controllers):
            for first in controllers[:index]:
                if (
                    first.namespace == second.namespace
                    and _leader_elect(first)
                    and _leader_elect(second)
                ):
                    continue  # same lease (e98130ae.seldon.io) in one namespace: one leader
                a, b = controller_scope(first), controller_scope(second)
                if a.all_namespaces and b.all_namespaces:
                    overlap_text = "every namespace"
                    overlap = ["*"]
                elif a.all_namespaces or b.all_namespaces:
                    overlap = sorted(b.namespaces if a.all_namespaces else a.namespaces)
                    overlap_text = ", ".join(overlap)
                else:
                    overlap = sorted(a.namespaces & b.namespaces)
                    overlap_text = ", ".join(overlap)
                if not overlap:
                    continue
                yield self.finding(
                    second,
                    f"Controller-managers {first.namespace}/{first.name} and "
                    f"{second.namespace}/{second.name} both reconcile {overlap_text}. Both open "
                    "their own streams to the scheduler of each such namespace, both issue "
                    "load/unload calls and both write the CRs' status and finalizers: "
                    "conflicting updates and 'Reconciler error' follow. Exactly one controller "
                    "must watch each namespace.",
                    evidence=[
                        node_evidence(first, "watch scope", scope_text(a)),
                        node_evidence(second, "watch scope", scope_text(b)),
                        # Their own logs ("Reconciler error", the watch scope they started with).
                        *(
                            e
                            for ns in sorted({first.namespace, second.namespace})
                            for e in graph.log_evidence(self.id, ns)
                        ),
                    ],
                    params={
                        "controller": second.name,
                        "other": first.name,
                        "other_namespace": first.namespace,
                        "namespaces": ",".join(overlap),
                    },
                    dedupe_key=f"overlap:{first.id}:{second.id}",
                )
