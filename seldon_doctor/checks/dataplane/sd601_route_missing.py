"""SD601 route-missing.

A Model, Experiment or Pipeline is Ready but its Envoy has no route for it.
"""

from __future__ import annotations

from collections.abc import Iterator

from seldon_doctor.checks.base import ENVOY, Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import TOPOLOGY_READS
from seldon_doctor.checks.helpers.dataplane import envoys_serving
from seldon_doctor.domain.envoy_routes import MAIN_LISTENER, request_path
from seldon_doctor.findings import Evidence, Finding
from seldon_doctor.graph.seldon import is_ready, route_header


class RouteMissing(Check):
    """SD601: a Ready Model/Experiment/Pipeline has no route in the Envoy that serves it."""

    id = "SD601"
    reads = TOPOLOGY_READS | {"Model", "Experiment", "Pipeline"}
    needs = frozenset({ENVOY})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        from seldon_doctor.domain.envoy_routes import find_route

        graph = ctx.graph
        for kind in ("Model", "Experiment", "Pipeline"):
            for resource in graph.nodes(kind):
                if resource.obj is None or not is_ready(resource.obj):
                    continue
                ns = resource.namespace
                servings = envoys_serving(graph, ns)
                if not servings:
                    mesh = graph.resolve("seldon-mesh", ns)
                    self.skip(
                        ctx,
                        "the namespace's seldon-mesh leads to no Envoy",
                        ns,
                        subject=f"seldon-mesh in {ns} ({mesh.detail or mesh.status.value})",
                    )
                    continue
                header = route_header(kind, resource.name)
                path = request_path(kind, resource.name)
                for serving in servings:
                    dumps = [o for o in serving.observations if o.config is not None]
                    if not dumps:
                        self.skip(
                            ctx,
                            "no Envoy config dump for the Envoy that serves the namespace "
                            "(--envoy-config-dump ENVOY_NAMESPACE=PATH)",
                            ns,
                            subject=f"the Envoy in {serving.namespace}, serving {ns}",
                            input="envoy",
                            input_namespace=serving.namespace,
                        )
                        continue
                    for obs in dumps:
                        config = obs.config
                        listener = next(
                            (item for item in config.listeners if item.name == MAIN_LISTENER), None
                        )
                        route = find_route(config, MAIN_LISTENER, path, {"seldon-model": header})
                        if route is not None:
                            continue
                        where = obs.origin.describe()
                        if listener is None:
                            why = (
                                f"its config dump ({where}) has no {MAIN_LISTENER} listener at all"
                            )
                        else:
                            names = ", ".join(listener.route_config_names) or "none"
                            why = (
                                f"no route in {MAIN_LISTENER} (route config {names}) matches "
                                f"header seldon-model: {header} ({where})"
                            )
                        yield self.finding(
                            resource,
                            f"{kind} {ns}/{resource.name} is Ready in its status, but the Envoy "
                            f"in {serving.namespace} that serves it has no route for it: {why}. "
                            f"Requests for {header} get Envoy's own 404 (NR), gRPC clients see "
                            "UNIMPLEMENTED. Envoy gets routes from the scheduler it follows, so "
                            "that scheduler does not know this resource as available.",
                            evidence=[
                                node_evidence(resource, "status.conditions[Ready]", "True"),
                                Evidence(
                                    f"Envoy {serving.namespace} ({where})",
                                    "routes matching",
                                    f"seldon-model: {header}",
                                    "none",
                                ),
                                Evidence("seldon-mesh resolution", None, serving.mesh.describe()),
                            ],
                            params={
                                "header": header,
                                "envoy_namespace": serving.namespace,
                                "plural": kind.lower() + "s",
                            },
                        )
