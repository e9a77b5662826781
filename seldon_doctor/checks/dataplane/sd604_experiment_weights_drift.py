"""SD604 experiment-weights-drift.

Envoy splits a Ready Experiment's traffic differently from its spec.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from seldon_doctor.checks.base import ENVOY, Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import TOPOLOGY_READS, envoy_label
from seldon_doctor.checks.helpers.dataplane import envoys_serving
from seldon_doctor.domain.envoy_routes import MAIN_LISTENER, cluster_target, request_path
from seldon_doctor.findings import Evidence, Finding
from seldon_doctor.graph.seldon import is_ready, route_header


class ExperimentWeightsDrift(Check):
    """SD604: Envoy's weighted clusters for a Ready Experiment differ from its spec (C23)."""

    id = "SD604"
    reads = TOPOLOGY_READS | {"Experiment"}
    needs = frozenset({ENVOY})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        for experiment in graph.nodes("Experiment"):
            if experiment.obj is None or not is_ready(experiment.obj):
                continue
            spec = experiment.spec
            wanted: dict[str, int] = {}
            for candidate in spec.get("candidates") or []:
                if isinstance(candidate, dict) and isinstance(candidate.get("name"), str):
                    weight = candidate.get("weight")
                    wanted[candidate["name"]] = int(weight) if isinstance(weight, int) else 0
            if not wanted:
                continue
            ns = experiment.namespace
            headers = [("Experiment", route_header("Experiment", experiment.name))]
            default = spec.get("default")
            if isinstance(default, str) and default:
                kind = "Pipeline" if spec.get("resourceType") == "pipeline" else "Model"
                headers.append((kind, route_header(kind, default)))
            for serving in envoys_serving(graph, ns):
                for obs in serving.observations:
                    if obs.config is None:
                        continue
                    for kind, header in headers:
                        problems, seen = self._compare(obs.config, kind, header, wanted)
                        if seen is None:
                            break  # no experiment route: SD601's finding, not a drift
                        if not problems:
                            continue
                        expected = ", ".join(f"{k}:{v}" for k, v in wanted.items())
                        yield self.finding(
                            experiment,
                            f"Experiment {ns}/{experiment.name} is Ready with candidates "
                            f"{expected}, but the Envoy in {serving.namespace} splits "
                            f"seldon-model: {header} as {seen}: " + "; ".join(problems) + ". "
                            "Traffic does not follow the Experiment (edits that append weighted "
                            "clusters instead of replacing them, or a stale Envoy).",
                            evidence=[
                                node_evidence(experiment, "spec.candidates", expected),
                                Evidence(
                                    f"{envoy_label(obs)} ({obs.origin.describe()})",
                                    f"route for seldon-model: {header}",
                                    seen,
                                ),
                            ],
                            params={
                                "header": header,
                                "envoy_namespace": serving.namespace,
                                "expected": expected,
                            },
                        )

    @staticmethod
    def _compare(
        config: Any, kind: str, header: str, wanted: dict[str, int]
    ) -> tuple[list[str], str | None]:
        from seldon_doctor.domain.envoy_routes import find_route

        path = request_path(kind, header.split(".", 1)[0])
        route = find_route(config, MAIN_LISTENER, path, {"seldon-model": header})
        if route is None:
            return [], None  # no route at all is SD601's finding
        seen = ", ".join(f"{c.name}:{c.weight}" for c in route.clusters) or "no clusters"
        problems: list[str] = []
        # From 2.9.0 a pipeline Experiment's split slice is allocated with len(candidates) and
        # then appended to (processor/incremental.go): that many empty weight-0 splits come
        # first, for no pipeline (header ".pipeline"; HEAD names them _pipeline_http). And up
        # to 2.9.x every pipeline split uses the one cluster pipelinegateway_http/_grpc
        # (xdscache/resource.go), told apart only by seldon-internal-model. Neither is drift.
        clusters = [c for c in route.clusters if not (c.weight == 0 and not cluster_target(c))]
        counts = Counter((c.name, cluster_target(c)) for c in clusters)
        dup = sorted({n for (n, _), k in counts.items() if k > 1})
        if dup:
            problems.append(f"clusters listed more than once ({', '.join(dup)})")
        same_name = [
            r
            for r in config.route_configs.get(route.route_config, ())
            if r.name == route.name and r is not route
        ]
        if same_name:
            problems.append(f"route {route.name} appears {len(same_name) + 1} times")
        got: dict[str, int] = {}
        for c in clusters:
            target = cluster_target(c)
            got[target] = got.get(target, 0) + c.weight
        extra = sorted(t for t, w in got.items() if t not in wanted and w > 0)
        if extra:
            problems.append(f"{', '.join(extra)} not among the candidates")
        for name, weight in wanted.items():
            have = got.get(name, 0)
            if weight > 0 and name not in got:
                problems.append(f"candidate {name} (weight {weight}) gets no traffic")
            elif have != weight and not (weight == 0 and have == 0):
                problems.append(f"{name} weighted {have} instead of {weight}")
        return problems, seen
