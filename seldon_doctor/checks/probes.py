"""Probe checks (SD8xx): what real inference requests showed, judged against the CRs.

They read ``graph.snapshot.probes`` (``seldon-doctor probe`` / ``scan --probe``, or probe JSON
files) and need at least one probe: without one the engine reports them not evaluated (SD002).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from seldon_doctor.checks.base import PROBE, Check, CheckContext
from seldon_doctor.domain.probe_stats import analyse_split
from seldon_doctor.findings import Evidence, Finding, ResourceRef
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Node
from seldon_doctor.snapshot import ProbeObservation


def _subject(graph: DeploymentGraph, obs: ProbeObservation) -> Node | ResourceRef:
    node = graph.get(obs.kind, obs.namespace, obs.name)
    return node if node is not None else ResourceRef(obs.kind, obs.namespace, obs.name)


def _where(obs: ProbeObservation) -> Evidence:
    return Evidence(
        f"probe of {obs.kind} {obs.namespace}/{obs.name}",
        "endpoint",
        f"{obs.endpoint} ({obs.protocol}, {obs.requests} requests in {obs.duration_s:g} s)",
        obs.origin.file,
    )


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} ×{v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))


_VERSION_SUFFIX = re.compile(r"^(?P<model>.+)_(?P<version>\d+)$")


def artifact_versions(counts: dict[str, int], name: str, kind: str) -> dict[str, int]:
    """Artifact versions (the ``_N`` of ``<model>_<N>``) among internal names and their counts;
    for a Model only its own internal names count."""
    out: dict[str, int] = {}
    for internal, count in counts.items():
        match = _VERSION_SUFFIX.match(internal.strip(":"))
        if match is None or (kind == "Model" and match.group("model") != name):
            continue
        out[match.group("version")] = out.get(match.group("version"), 0) + count
    return out


def _base_params(obs: ProbeObservation) -> dict[str, str]:
    suffix = {"Experiment": ".experiment", "Pipeline": ".pipeline"}.get(obs.kind, "")
    return {
        "endpoint": obs.endpoint or "http://127.0.0.1:8080",
        "seldon_model": obs.name + suffix,
        "probe_kind": obs.kind.lower(),
    }


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
                _subject(ctx.graph, obs),
                f"{obs.requests - obs.ok} of {obs.requests} inference requests to {obs.kind} "
                f"{obs.namespace}/{obs.name} failed ({obs.error_rate * 100:.1f} %, threshold "
                f"{obs.max_error_rate * 100:g} %): {_counts(failed)}. Most are {top}.",
                evidence=[
                    _where(obs),
                    Evidence("responses", "status", _counts(obs.statuses)),
                    Evidence("responses", "verdict", _counts(obs.verdicts)),
                ],
                params={**_base_params(obs), "verdict": top},
            )


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
                _subject(ctx.graph, obs),
                f"p95 latency of {obs.kind} {obs.namespace}/{obs.name} is {p95:g} ms, above "
                f"the {obs.slo_p95_ms:g} ms SLO (p50 {lat.get('p50', 0):g} ms, p99 "
                f"{lat.get('p99', 0):g} ms, max {lat.get('max', 0):g} ms over "
                f"{obs.requests} requests).",
                evidence=[
                    _where(obs),
                    Evidence("latency", "ms", ", ".join(f"{k} {v:g}" for k, v in lat.items())),
                ],
                params={**_base_params(obs), "p95": f"{p95:g}", "slo": f"{obs.slo_p95_ms:g}"},
            )


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
                _subject(ctx.graph, obs),
                f"Experiment {obs.namespace}/{obs.name}: {split.verdict()}. {shares}.",
                evidence=[
                    _where(obs),
                    Evidence("responses", "x-seldon-route", _counts(obs.routes)),
                    Evidence(
                        f"Experiment {obs.namespace}/{obs.name}",
                        "spec.candidates[].weight",
                        ", ".join(f"{k}={v}" for k, v in weights.items()),
                    ),
                ],
                params={
                    **_base_params(obs),
                    "observed": split.percentages(),
                    "configured": split.percentages(True),
                },
            )


class VersionUnexpected(Check):
    """SD804: responses report a model version other than the one the CR says is live."""

    id = "SD804"
    reads = frozenset({"Model"})
    needs = frozenset({PROBE})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        for obs in ctx.graph.snapshot.probes:
            expected, source = obs.expected_version, "--expect-version"
            if expected is None and obs.kind == "Model":
                node = ctx.graph.get("Model", obs.namespace, obs.name)
                artifact = node.spec.get("artifactVersion") if node is not None else None
                if artifact is not None:
                    expected, source = str(artifact), "Model spec.artifactVersion"
            # The agent loads every artifact version as version 1 of <model>_<artifactVersion>
            # (util/model.go, mlserver.go): model_version is always "1"; the artifact version
            # that answered is the _N suffix of x-seldon-route, else of model_name.
            answered, how = artifact_versions(obs.routes, obs.name, obs.kind), "x-seldon-route"
            if not answered:
                answered, how = artifact_versions(obs.names, obs.name, obs.kind), "model_name"
            if expected is None or not answered:
                continue
            other = {v: n for v, n in answered.items() if v != str(expected).strip()}
            if not other:
                continue
            total = sum(answered.values())
            yield self.finding(
                _subject(ctx.graph, obs),
                f"{sum(other.values())} of {total} responses from {obs.kind} "
                f"{obs.namespace}/{obs.name} were answered by artifact version "
                f"{_counts(other)} (the _N suffix of {how}), but {source} says {expected} is "
                "live.",
                evidence=[
                    _where(obs),
                    Evidence("responses", "x-seldon-route", _counts(obs.routes) or None),
                    Evidence("responses", "model_name", _counts(obs.names) or None),
                    Evidence(
                        "responses",
                        "model_version",
                        _counts(obs.versions) or None,
                        "always 1 on Seldon: not the artifact version",
                    ),
                    Evidence(f"{obs.kind} {obs.namespace}/{obs.name}", source, expected),
                ],
                params={
                    **_base_params(obs),
                    "expected": str(expected),
                    "observed": ",".join(sorted(other)),
                },
            )
