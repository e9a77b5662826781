"""SD608: Envoy mirrors an Experiment's traffic differently from ``spec.mirror``.

For an Experiment with a mirror the scheduler adds a ``request_mirror_policies`` entry to the
experiment's route (and, with ``spec.default``, to the default's own route): cluster
``mirror_http``/``mirror_grpc`` (Envoy's own mirror listener ``seldon_mirrors`` on 9001) with
``runtime_fraction`` numerator = ``mirror.percent`` over HUNDRED; the mirror listener's route
for the same ``seldon-model`` then sends to the mirror model's clusters
(``scheduler/pkg/envoy/xdscache/resource.go`` ``createMirrorRouteAction``,
``processor/incremental.go``; v2.8.5 ``envoy/resources/resource.go``; reference §e). The
route is found with Envoy's own matching, as SD604 does; a missing route is SD601's finding.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from seldon_doctor.checks.base import ENVOY, Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import TOPOLOGY_READS, envoy_label
from seldon_doctor.checks.helpers.dataplane import envoys_serving
from seldon_doctor.domain.envoy_routes import MAIN_LISTENER, cluster_target, request_path
from seldon_doctor.findings import Evidence, Finding
from seldon_doctor.graph.model import Node
from seldon_doctor.graph.seldon import is_ready, route_header

MIRROR_LISTENER = "seldon_mirrors"


def wanted_mirror(experiment: Node) -> tuple[str, int] | None:
    """(mirror name, percent) from ``spec.mirror``; percent defaults to 0 like the uint32."""
    mirror = experiment.spec.get("mirror")
    if not isinstance(mirror, dict) or not isinstance(mirror.get("name"), str):
        return None
    percent = mirror.get("percent")
    return mirror["name"], percent if isinstance(percent, int) else 0


def _describe(mirrors: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{cluster} {percent}%" for cluster, percent in mirrors) or "no mirror"


class ExperimentMirrorDrift(Check):
    """SD608: a Ready Experiment's mirror percentage differs from Envoy's mirror policy."""

    id = "SD608"
    reads = TOPOLOGY_READS | {"Experiment"}
    needs = frozenset({ENVOY})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        for experiment in graph.nodes("Experiment"):
            if experiment.obj is None or not is_ready(experiment.obj):
                continue
            spec = experiment.spec
            wanted = wanted_mirror(experiment)
            kind = "Pipeline" if spec.get("resourceType") == "pipeline" else "Model"
            headers = [("Experiment", route_header("Experiment", experiment.name))]
            default = spec.get("default")
            if isinstance(default, str) and default:
                headers.append((kind, route_header(kind, default)))
            ns = experiment.namespace
            expected = f"{wanted[0]} {wanted[1]}%" if wanted else "no mirror"
            for serving in envoys_serving(graph, ns):
                for obs in serving.observations:
                    if obs.config is None:
                        continue
                    for route_kind, header in headers:
                        outcome = self._compare(obs.config, route_kind, header, wanted)
                        if outcome is None:
                            break  # no experiment route: SD601's finding, not a drift
                        problems, route_name, seen = outcome
                        if not problems:
                            continue
                        yield self.finding(
                            experiment,
                            f"Experiment {ns}/{experiment.name} is Ready with "
                            + (f"mirror {wanted[0]} at {wanted[1]}%" if wanted else "no mirror")
                            + f", but the Envoy in {serving.namespace} mirrors seldon-model: "
                            f"{header} (route {route_name}) as {seen}: "
                            + "; ".join(problems)
                            + ". Shadow traffic does not follow the Experiment (a stale Envoy, "
                            "or an edit the scheduler did not apply).",
                            evidence=[
                                node_evidence(experiment, "spec.mirror", expected),
                                Evidence(
                                    f"{envoy_label(obs)} ({obs.origin.describe()})",
                                    f"route {route_name} request_mirror_policies",
                                    seen,
                                ),
                            ],
                            params={
                                "header": header,
                                "envoy_namespace": serving.namespace,
                                "expected": expected,
                                "seen": seen,
                            },
                        )

    @staticmethod
    def _compare(
        config: Any, route_kind: str, header: str, wanted: tuple[str, int] | None
    ) -> tuple[list[str], str, str] | None:
        from seldon_doctor.domain.envoy_routes import find_route

        path = request_path(route_kind, header.split(".", 1)[0])  # as SD604 does
        route = find_route(config, MAIN_LISTENER, path, {"seldon-model": header})
        if route is None:
            return None
        mirrors = tuple(route.mirror_clusters)
        seen = _describe(mirrors)
        problems: list[str] = []
        if wanted is None:
            if mirrors:
                problems.append("the Experiment has no mirror, yet Envoy copies requests")
            return problems, route.name, seen
        mirror_name, percent = wanted
        if not mirrors:
            problems.append(f"no request_mirror_policies: nothing is mirrored to {mirror_name}")
            return problems, route.name, seen
        if len(mirrors) > 1:
            problems.append(f"{len(mirrors)} mirror policies where the scheduler sets one")
        got = {p for _, p in mirrors}
        if got != {percent}:
            shown = "/".join(f"{p}%" for p in sorted(got))
            problems.append(f"mirrored at {shown} instead of {percent}%")
        target = find_route(config, MIRROR_LISTENER, path, {"seldon-model": header})
        if target is None:
            problems.append(
                f"listener {MIRROR_LISTENER} has no route for seldon-model: {header}, so "
                "mirrored copies get Envoy's 404"
            )
        else:
            targets = sorted({cluster_target(c) for c in target.clusters if c.weight > 0})
            if mirror_name not in targets:
                problems.append(
                    f"the mirror listener sends copies to {', '.join(targets) or 'nothing'} "
                    f"instead of {mirror_name} (route {target.name})"
                )
        return problems, route.name, seen
