"""SD802 latency-slo-breached: A probe's p95 latency is above the SLO it was given."""

from __future__ import annotations

from collections.abc import Iterator

from seldon_doctor.checks.base import PROBE, Check, CheckContext
from seldon_doctor.checks.helpers.probes import probe_base_params, probe_subject, probe_where
from seldon_doctor.findings import Evidence, Finding


class LatencySloBreached(Check):
    """SD802: the probe's p95 latency is above the SLO it was given."""

    id = "SD802"
    reads = frozenset({"Model", "Experiment", "Pipeline"})
    needs = frozenset({PROBE})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        for obs in ctx.graph.snapshot.probes:
            p95 = obs.latency_ms.get("p95")
            if obs.slo_p95_ms is None or p95 is None or p95 <= obs.slo_p95_ms:
                continue
            lat = obs.latency_ms
            yield self.finding(
                probe_subject(ctx.graph, obs),
                f"p95 latency of {obs.kind} {obs.namespace}/{obs.name} is {p95:g} ms, above "
                f"the {obs.slo_p95_ms:g} ms SLO (p50 {lat.get('p50', 0):g} ms, p99 "
                f"{lat.get('p99', 0):g} ms, max {lat.get('max', 0):g} ms over "
                f"{obs.requests} requests).",
                evidence=[
                    probe_where(obs),
                    Evidence("latency", "ms", ", ".join(f"{k} {v:g}" for k, v in lat.items())),
                ],
                params={**probe_base_params(obs), "p95": f"{p95:g}", "slo": f"{obs.slo_p95_ms:g}"},
            )
