"""SD801 probe-failures.

Inference requests sent by a probe failed more often than the threshold allows.
"""

from __future__ import annotations

from collections.abc import Iterator

from seldon_doctor.checks.base import PROBE, Check, CheckContext
from seldon_doctor.checks.helpers.probes import (
    format_counts,
    probe_base_params,
    probe_subject,
    probe_where,
)
from seldon_doctor.findings import Evidence, Finding


class ProbeFailures(Check):
    """SD801: more probe requests failed than the threshold allows."""

    id = "SD801"
    reads = frozenset({"Model", "Experiment", "Pipeline"})
    needs = frozenset({PROBE})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        for obs in ctx.graph.snapshot.probes:
            if not obs.requests or obs.error_rate <= obs.max_error_rate:
                continue
            failed = {k: v for k, v in obs.verdicts.items() if k != "ok"}
            top = max(failed, key=lambda k: failed[k]) if failed else "unknown"
            yield self.finding(
                probe_subject(ctx.graph, obs),
                f"{obs.requests - obs.ok} of {obs.requests} inference requests to {obs.kind} "
                f"{obs.namespace}/{obs.name} failed ({obs.error_rate * 100:.1f} %, threshold "
                f"{obs.max_error_rate * 100:g} %): {format_counts(failed)}. Most are {top}.",
                evidence=[
                    probe_where(obs),
                    Evidence("responses", "status", format_counts(obs.statuses)),
                    Evidence("responses", "verdict", format_counts(obs.verdicts)),
                ],
                params={**probe_base_params(obs), "verdict": top},
            )
