"""SD606 envoy-xds-stale: An Envoy's routes differ from what its scheduler's xDS serves."""

from __future__ import annotations

from collections.abc import Iterator

from seldon_doctor.checks.base import ENVOY, Check, CheckContext
from seldon_doctor.checks.helpers.common import envoy_label
from seldon_doctor.checks.helpers.dataplane import envoy_subject
from seldon_doctor.domain.envoy_routes import MAIN_ROUTE_CONFIG
from seldon_doctor.findings import Evidence, Finding


class EnvoyXdsStale(Check):
    """SD606: an Envoy's routes differ from what its scheduler's xDS server serves."""

    id = "SD606"
    reads = frozenset({"Deployment"})
    needs = frozenset({ENVOY})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        from seldon_doctor.domain.xds_diff import (
            diff_resources,
            resources_from_config_dump,
            resources_from_snapshot,
        )

        graph = ctx.graph
        served = {x.namespace: x for x in graph.snapshot.xds}
        if not served:
            self.skip(
                ctx,
                "no scheduler xDS was read ("
                + (
                    "--dataplane"
                    if ctx.graph.snapshot.live
                    else "--scheduler-xds NAMESPACE=HOST:9002"
                )
                + "), so what "
                "Envoy holds cannot be compared with what its scheduler serves",
            )
            return
        for obs in graph.snapshot.envoys:
            xds = served.get(obs.namespace)
            if xds is None:
                self.skip(
                    ctx,
                    "no xDS read from the scheduler of this Envoy "
                    "(--scheduler-xds NAMESPACE=HOST:9002)",
                    obs.namespace,
                    subject=f"the Envoy in {obs.namespace}",
                    input="xds",
                )
                continue
            if not isinstance(obs.raw, dict):
                continue
            diff = diff_resources(
                resources_from_snapshot(xds.snapshot),
                resources_from_config_dump(obs.raw),
                route_configs=(MAIN_ROUTE_CONFIG,),
            )
            routes = diff.kinds.get("routes")
            clusters = diff.kinds.get("clusters")
            parts: list[str] = []
            if diff.routes_only_served:
                parts.append(f"routes it lacks: {', '.join(diff.routes_only_served)}")
            if diff.routes_only_in_envoy:
                parts.append(
                    f"routes the scheduler no longer serves: {', '.join(diff.routes_only_in_envoy)}"
                )
            if routes and routes.different and not parts:
                parts.append(f"route configuration {', '.join(routes.different)} differs")
            if clusters and (clusters.only_served or clusters.only_in_envoy):
                if clusters.only_served:
                    parts.append(f"clusters it lacks: {', '.join(clusters.only_served)}")
                if clusters.only_in_envoy:
                    parts.append(
                        "clusters the scheduler no longer serves: "
                        + ", ".join(clusters.only_in_envoy)
                    )
            if not parts:
                continue
            yield self.finding(
                envoy_subject(graph, obs),
                f"The Envoy in {obs.namespace} does not hold what the scheduler at "
                f"{xds.target} serves: " + "; ".join(parts) + ". Envoy is stale (its ADS "
                "stream is stuck or follows another scheduler instance: split brain), so "
                "requests 404 or reach versions the scheduler already withdrew.",
                evidence=[
                    Evidence(
                        f"{envoy_label(obs)} ({obs.origin.describe()})",
                        "xDS diff",
                        "; ".join(parts),
                    ),
                    Evidence(f"scheduler xDS {xds.target}", "node", xds.snapshot.node_id),
                ],
                params={"envoy_namespace": obs.namespace, "scheduler": xds.target},
            )
