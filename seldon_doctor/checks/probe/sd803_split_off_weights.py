"""SD803 split-off-weights.

An Experiment's observed traffic split is inconsistent with its candidate weights.
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
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.snapshot import ProbeObservation


def experiment_weights(graph: DeploymentGraph, obs: ProbeObservation) -> dict[str, int] | None:
    """The configured candidate weights: the probe's own, else the Experiment CR's."""
    if obs.configured_weights:
        return dict(obs.configured_weights)
    node = graph.get("Experiment", obs.namespace, obs.name)
    if node is None:
        return None
    weights = {}
    for candidate in node.spec.get("candidates") or []:
        if isinstance(candidate, dict) and candidate.get("name"):
            weights[str(candidate["name"])] = int(candidate.get("weight") or 0)
    return weights or None


class SplitOffWeights(Check):
    """SD803: an Experiment's observed split is inconsistent with its candidate weights."""

    id = "SD803"
    reads = frozenset({"Experiment"})
    needs = frozenset({PROBE})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        for obs in ctx.graph.snapshot.probes:
            if obs.kind != "Experiment":
                continue
            weights = experiment_weights(ctx.graph, obs)
            if not weights:
                self.skip(
                    ctx,
                    "no weights for the Experiment: give its CR with -f "
                    "or --weights NAME=WEIGHT,...",
                    obs.namespace,
                    subject=f"Experiment {obs.namespace}/{obs.name}",
                    input="manifests",
                )
                continue
            # Here, not at import: probe_stats (and statistics) only matter once probes ran,
            # and every scan imports every check (~10 ms of a small scan's start-up).
            from seldon_doctor.domain.probe_stats import analyse_split

            split = analyse_split(obs.routes, weights)
            if split.consistent is not False:
                continue
            shares = ", ".join(
                f"{c.name} {c.observed} ({c.share * 100:.1f} %, interval "
                f"{c.low * 100:.1f}–{c.high * 100:.1f} %, configured "
                f"{(c.configured_share or 0) * 100:.1f} %)"
                for c in split.candidates
            )
            yield self.finding(
                probe_subject(ctx.graph, obs),
                f"Experiment {obs.namespace}/{obs.name}: {split.verdict()}. {shares}.",
                evidence=[
                    probe_where(obs),
                    Evidence("responses", "x-seldon-route", format_counts(obs.routes)),
                    Evidence(
                        f"Experiment {obs.namespace}/{obs.name}",
                        "spec.candidates[].weight",
                        ", ".join(f"{k}={v}" for k, v in weights.items()),
                    ),
                ],
                params={
                    **probe_base_params(obs),
                    "observed": split.percentages(),
                    "configured": split.percentages(True),
                },
            )
