"""SD603 route-cluster-without-endpoints.

A route sends traffic to a cluster Envoy lacks or that has no endpoints.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from seldon_doctor.checks.base import ENVOY, Check, CheckContext
from seldon_doctor.checks.helpers.common import envoy_label
from seldon_doctor.checks.helpers.dataplane import dumps
from seldon_doctor.domain.envoy_routes import main_routes, route_target
from seldon_doctor.findings import Evidence, Finding, ResourceRef
from seldon_doctor.graph.model import Node


class RouteClusterWithoutEndpoints(Check):
    """SD603: a route sends traffic to a cluster Envoy lacks, or one with no endpoints."""

    id = "SD603"
    reads = frozenset({"Model", "Experiment", "Pipeline"})
    needs = frozenset({ENVOY})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        for obs in dumps(graph):
            config = obs.config
            has_eds = _has_eds_section(obs.raw)
            for route in main_routes(config):
                target = route_target(route)
                problems: list[tuple[str, str]] = []
                for wc in route.clusters:
                    if wc.weight <= 0:
                        continue
                    cluster = config.clusters.get(wc.name)
                    if cluster is None:
                        problems.append(
                            (wc.name, "absent from the dump: Envoy answers 503 (flag NC)")
                        )
                    elif cluster.state == "error":
                        problems.append((wc.name, f"rejected by Envoy: {cluster.error}"))
                    elif not cluster.endpoints and (cluster.type != "EDS" or has_eds):
                        problems.append(
                            (wc.name, "has no endpoints: Envoy answers 503 no healthy upstream")
                        )
                if not problems:
                    continue
                kind, name = target if target else ("EnvoyRoute", route.name)
                node = graph.get(kind, obs.namespace, name) if target else None
                subject: Node | ResourceRef = (
                    node if node is not None else ResourceRef(kind, obs.namespace, name)
                )
                total = sum(max(c.weight, 0) for c in route.clusters) or 1
                share = sum(max(c.weight, 0) for c in route.clusters if c.name in dict(problems))
                percent = round(100 * share / total)
                names = ", ".join(p[0] for p in problems)
                yield self.finding(
                    subject,
                    f"Route {route.name} in the Envoy in {obs.namespace} sends {percent}% of "
                    f"its traffic to {names}: "
                    + "; ".join(f"{n} is {why}" for n, why in problems)
                    + ". The scheduler removed or never sent the cluster while the route "
                    "still names it (a model version gone, a stale Envoy, or a rejected "
                    "cluster update).",
                    evidence=[
                        Evidence(
                            f"{envoy_label(obs)} ({obs.origin.describe()})",
                            f"route {route.name} weighted_clusters",
                            ", ".join(f"{c.name}:{c.weight}" for c in route.clusters),
                        ),
                        *(
                            Evidence(f"cluster {n}", "dynamic_active_clusters", None, why)
                            for n, why in problems
                        ),
                    ],
                    params={
                        "route": route.name,
                        "clusters": names,
                        "envoy_namespace": obs.namespace,
                    },
                )


def _has_eds_section(raw: Any) -> bool:
    try:
        return any(
            str(c.get("@type", "")).endswith("EndpointsConfigDump") for c in raw.get("configs", [])
        )
    except AttributeError:
        return False
