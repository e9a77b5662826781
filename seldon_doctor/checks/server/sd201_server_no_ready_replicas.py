"""SD201 server-no-ready-replicas: The only Servers able to host a Model have no ready replica."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import (
    SCHEDULING_READS,
    ReplicaCount,
    connected_replicas,
    deleting,
    models_with_objects,
    placement,
    servers_by_scheduler,
    servers_partial,
)
from seldon_doctor.findings import Evidence, Finding
from seldon_doctor.graph import seldon
from seldon_doctor.graph.model import Node
from seldon_doctor.logs import attach


class ServerNoReadyReplicas(Check):
    """SD201: the only Servers able to host some Model have no ready (connected) replica."""

    id = "SD201"
    reads = SCHEDULING_READS

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        by_scheduler = servers_by_scheduler(graph)
        stranded: dict[str, list[Node]] = defaultdict(list)
        servers: dict[str, tuple[Node, ReplicaCount]] = {}
        replicas: dict[str, ReplicaCount] = {}  # per Server, not recomputed for each Model

        def connected(server: Node) -> ReplicaCount:
            if server.id not in replicas:
                replicas[server.id] = connected_replicas(graph, server)
            return replicas[server.id]

        for model in models_with_objects(graph):
            if deleting(model):
                continue
            place = placement(graph, model, by_scheduler)
            if not place.candidates:
                if place.pinned is None:
                    partial = servers_partial(graph, model, [])
                    if partial is None:
                        yield self._no_server(model, place.how)
                    else:
                        self.unresolved(
                            ctx,
                            model,
                            f"a Server for Model {model.namespace}/{model.name}",
                            "Server",
                            partial,
                        )
                continue
            if not place.compatible:
                continue  # SD102
            counts = [(s, connected(s)) for s, _ in place.compatible]
            if any(c.count != 0 for _, c in counts):
                continue
            partial = servers_partial(graph, model, place.candidates)
            if partial is not None:
                # "The only Server able to host it" needs every Server there is.
                self.unresolved(
                    ctx,
                    model,
                    f"a Server with a ready replica for Model {model.namespace}/{model.name}",
                    "Server",
                    partial,
                )
                continue
            for server, count in counts:
                servers[server.id] = (server, count)
                stranded[server.id].append(model)
        for server_id in sorted(stranded):
            server, count = servers[server_id]
            yield attach(
                self._finding(server, count, stranded[server_id]),
                graph.log_evidence(
                    self.id,
                    server.namespace,
                    [server.name, *(m.name for m in stranded[server_id])],
                ),
            )

    def _no_server(self, model: Node, how: str) -> Finding:
        return self.finding(
            model,
            f"Model {model.namespace}/{model.name} has no Server at all to run on ({how}): "
            "the scheduler keeps it ScheduleFailed until a Server's agents connect.",
            predicts_failure_of=model,
            evidence=[Evidence(f"Servers for {model.namespace}", None, "none", how)],
            params={"server": "<server>", "models": model.name},
        )

    def _finding(self, server: Node, count: ReplicaCount, models: list[Node]) -> Finding:
        names = sorted(f"{m.namespace}/{m.name}" for m in models)
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        status = seldon.condition(server.status, "Ready") or seldon.condition(
            server.status, "StatefulSetOrDeploymentReady"
        )
        evidence = list(count.evidence)
        if status is not None:
            evidence.append(
                node_evidence(
                    server,
                    f"status.conditions[{status.get('type')}]",
                    str(status.get("status")),
                    str(status.get("reason") or status.get("message") or "") or None,
                )
            )
        evidence.extend(
            node_evidence(m, "placement", server.name, "only compatible") for m in models
        )
        if server.spec.get("replicas") == 0:
            why = (
                "The scheduler rejects a Server that expects no replicas (DeletedServerFilter, "
                "'expected replicas 0 != 0'), so these Models stay ScheduleFailed until it is "
                "scaled up."
            )
        else:
            why = (
                "The scheduler skips a Server with no connected replica ('0 server replicas "
                "(waiting for server replicas to connect)'), so these Models stay ScheduleFailed "
                "until a replica is Ready and its agent has subscribed."
            )
        message = (
            f"Server {server.namespace}/{server.name} {count.how}, and it is the only Server "
            f"able to host {shown}. {why}"
        )
        return self.finding(
            server,
            message,
            evidence=evidence,
            predicts_failure_of=sorted(models, key=lambda m: m.id),
            params={"server": server.name, "models": ", ".join(names)},
        )
