"""SD804 version-unexpected.

Responses report a model version other than the one that should be live.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from seldon_doctor.checks.base import PROBE, Check, CheckContext
from seldon_doctor.checks.helpers.probes import (
    format_counts,
    probe_base_params,
    probe_subject,
    probe_where,
)
from seldon_doctor.findings import Evidence, Finding

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
                probe_subject(ctx.graph, obs),
                f"{sum(other.values())} of {total} responses from {obs.kind} "
                f"{obs.namespace}/{obs.name} were answered by artifact version "
                f"{format_counts(other)} (the _N suffix of {how}), but {source} says {expected} is "
                "live.",
                evidence=[
                    probe_where(obs),
                    Evidence("responses", "x-seldon-route", format_counts(obs.routes) or None),
                    Evidence("responses", "model_name", format_counts(obs.names) or None),
                    Evidence(
                        "responses",
                        "model_version",
                        format_counts(obs.versions) or None,
                        "always 1 on Seldon: not the artifact version",
                    ),
                    Evidence(f"{obs.kind} {obs.namespace}/{obs.name}", source, expected),
                ],
                params={
                    **probe_base_params(obs),
                    "expected": str(expected),
                    "observed": ",".join(sorted(other)),
                },
            )
