"""SD402: an Experiment the scheduler's validation refuses, so it never gets routes.

The scheduler validates every Experiment before storing it
(``scheduler/pkg/store/experiment/validate.go``, unchanged v2.8.5 … v2.10.2; messages in
``errors.go``), in this order, and answers the first rule broken:

1. a ``default`` may be the baseline of only one Experiment (per resource type: the store keeps
   model and pipeline baselines apart, keyed by name alone);
2. the ``default`` must be one of the ``candidates``;
3. there must be candidates or a mirror;
4. candidates and the mirror must all be distinct.

The controller sends ``spec.resourceType`` ``pipeline`` as PIPELINE and anything else as MODEL
(``operator/apis/mlops/v1alpha1/experiment_types.go``), so a misspelt resource type silently
turns a pipeline Experiment into a model one; that is reported here too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.findings import Evidence, Finding, Severity
from seldon_doctor.graph.model import Node

RESOURCE_TYPES = ("model", "pipeline")


def effective_type(spec: dict[str, Any]) -> str:
    """What the controller sends: ``pipeline`` only for exactly that value."""
    return "pipeline" if spec.get("resourceType") == "pipeline" else "model"


def _default(spec: dict[str, Any]) -> str | None:
    value = spec.get("default")
    return value if isinstance(value, str) else None


def _candidates(spec: dict[str, Any]) -> list[str]:
    out = []
    for candidate in spec.get("candidates") or []:
        if isinstance(candidate, dict) and isinstance(candidate.get("name"), str):
            out.append(candidate["name"])
    return out


def _mirror(spec: dict[str, Any]) -> str | None:
    mirror = spec.get("mirror")
    if isinstance(mirror, dict):
        name = mirror.get("name")
        return name if isinstance(name, str) else ""
    return None


def _created(node: Node) -> str | None:
    value = node.body.get("metadata", {}).get("creationTimestamp")
    return value if isinstance(value, str) and value else None


class ExperimentInvalid(Check):
    """SD402: the scheduler refuses the Experiment (validate.go), so it is never routed."""

    id = "SD402"
    reads = frozenset({"Experiment"})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        experiments = [e for e in graph.nodes("Experiment") if e.obj is not None]
        refused: set[str] = set()
        for experiment in experiments:
            for finding in self._own_rules(experiment):
                if dict(finding.params).get("rule") != "resource-type":
                    refused.add(experiment.id)
                yield finding
        # An Experiment refused for its own rules is never stored, so it holds no baseline.
        yield from self._baselines([e for e in experiments if e.id not in refused])

    # ---------------------------------------------------------------- rule 1 (across Experiments)
    def _baselines(self, experiments: list[Node]) -> Iterator[Finding]:
        groups: dict[tuple[str, str, str], list[Node]] = defaultdict(list)
        for experiment in experiments:
            default = _default(experiment.spec)
            if default:
                kind = effective_type(experiment.spec)
                groups[(experiment.namespace, kind, default)].append(experiment)
        for (ns, kind, default), group in sorted(groups.items()):
            if len(group) < 2:
                continue
            group.sort(key=lambda e: e.name)
            stamps = [_created(e) for e in group]
            known = all(stamps) and len(set(stamps)) == len(stamps)
            first = min(group, key=lambda e: _created(e) or "") if known else None
            names = ", ".join(e.name for e in group)
            for experiment in group:
                if experiment is first:
                    continue
                others = [e.name for e in group if e is not experiment]
                error = (
                    f"Resource {default} already in experiment {experiment.name} as a baseline. "
                    "A model or pipeline can only appear in one experiment as a baseline"
                )
                if first is not None:
                    who = (
                        f"Experiment {first.name} was created first and holds the baseline, "
                        f"so the scheduler refuses {experiment.name}"
                    )
                else:
                    who = (
                        "whichever of them reached the scheduler last is refused (the input "
                        "does not say which was created first)"
                    )
                yield self.finding(
                    experiment,
                    f"{kind.capitalize()} {default} is the default (baseline) of Experiments "
                    f'{names} in {ns}; {who}: "{error}". A refused Experiment gets no '
                    f"routes, and {default}'s own route is split only by the Experiment that "
                    "holds the baseline.",
                    evidence=[node_evidence(e, "spec.default", _default(e.spec)) for e in group],
                    params={
                        "rule": "baseline-taken",
                        "field": "spec.default",
                        "scheduler_error": error,
                        "conflicts_with": ", ".join(others),
                    },
                )

    # ---------------------------------------------------------------- rules 2-4 and resourceType
    def _own_rules(self, experiment: Node) -> Iterator[Finding]:
        spec = experiment.spec
        ns, name = experiment.namespace, experiment.name
        default = _default(spec)
        candidates = _candidates(spec)
        mirror = _mirror(spec)
        problems: list[tuple[str, str, str, Evidence]] = []
        if default is not None and default not in candidates:
            problems.append(
                (
                    "default-not-candidate",
                    "spec.default",
                    f"default model/pipeline {default} not found in experiment {name} candidates",
                    node_evidence(experiment, "spec.candidates", ", ".join(candidates) or "none"),
                )
            )
        if not candidates and mirror is None:
            problems.append(
                (
                    "no-candidates",
                    "spec.candidates",
                    f"experiment {name} has no candidates or mirror",
                    node_evidence(experiment, "spec.candidates", "none"),
                )
            )
        seen: set[str] = set()
        duplicated: list[str] = []
        for item in [*candidates, *([mirror] if mirror is not None else [])]:
            if item in seen and item not in duplicated:
                duplicated.append(item)
            seen.add(item)
        if duplicated:
            listed = ", ".join(candidates) + (f"; mirror {mirror}" if mirror is not None else "")
            problems.append(
                (
                    "duplicates",
                    "spec.candidates",
                    "each candidate and mirror must be unique but found resource "
                    f"{duplicated[0]} duplicated in experiment {name}",
                    node_evidence(experiment, "spec.candidates/spec.mirror", listed),
                )
            )
        for rule, field, error, evidence in problems:
            yield self.finding(
                experiment,
                f'The scheduler refuses Experiment {ns}/{name}: "{error}". A refused '
                "Experiment gets no routes: requests for "
                f"{name}.experiment get Envoy's 404 and no traffic is split or mirrored.",
                evidence=[evidence],
                params={"rule": rule, "field": field, "scheduler_error": error},
            )
        raw = spec.get("resourceType")
        if raw is not None and raw not in RESOURCE_TYPES:
            looks_pipeline = isinstance(raw, str) and raw.strip().lower().startswith("pipeline")
            error = f"spec.resourceType {raw!r} is neither model nor pipeline"
            consequence = (
                "the controller sends it as a model Experiment, so the scheduler looks its "
                "candidates up as Models, not the Pipelines this value seems to mean"
                if looks_pipeline
                else "the controller sends it as a model Experiment"
            )
            yield self.finding(
                experiment,
                f"Experiment {ns}/{name}: {error}; {consequence}. Only the exact lower-case "
                "values model and pipeline are recognised.",
                evidence=[node_evidence(experiment, "spec.resourceType", raw)],
                params={
                    "rule": "resource-type",
                    "field": "spec.resourceType",
                    "scheduler_error": error,
                },
                severity=Severity.ERROR if looks_pipeline else Severity.WARNING,
            )
