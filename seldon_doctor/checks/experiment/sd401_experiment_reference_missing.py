"""SD401 experiment-reference-missing.

An Experiment names a Model or Pipeline that does not exist in its namespace.
"""

from __future__ import annotations

from collections.abc import Iterator

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.domain.spelling import edit_distance
from seldon_doctor.findings import Finding
from seldon_doctor.graph.build import experiment_references


class ExperimentReferenceMissing(Check):
    """SD401: an Experiment's default, candidate or mirror names no Model/Pipeline."""

    id = "SD401"
    reads = frozenset({"Experiment", "Model", "Pipeline"})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        for experiment in graph.nodes("Experiment"):
            ns = experiment.namespace
            kind = "Pipeline" if experiment.spec.get("resourceType") == "pipeline" else "Model"
            existing = {n.name for n in graph.nodes(kind, ns)}
            # A CI gate may scan the Experiment without the Models it routes to (another
            # folder): absence is a finding only where the input holds every one of them.
            complete = graph.complete(kind, ns)
            for field, name in experiment_references(experiment):
                if name in existing:
                    continue
                if not complete:
                    self.unresolved(
                        ctx,
                        experiment,
                        f"{kind} {ns}/{name} ({field} of Experiment {ns}/{experiment.name})",
                        kind,
                        ns,
                    )
                    continue
                other = "Model" if kind == "Pipeline" else "Pipeline"
                hint = ""
                if graph.get(other, ns, name) is not None:
                    hint = (
                        f" A {other} named {name} exists: set spec.resourceType to "
                        f"{other.lower()} if that is what the Experiment should route to."
                    )
                else:
                    close = min(
                        existing, key=lambda n: (edit_distance(name, n, 3), n), default=None
                    )
                    if close and edit_distance(name, close, 3) <= 3:
                        hint = f" Did you mean {close}?"
                yield self.finding(
                    experiment,
                    f"Experiment {ns}/{experiment.name} names {kind} {name} in {field}, but no "
                    f"{kind} {name} exists in {ns}. The scheduler cannot build the experiment's "
                    "routes, so its traffic split never takes effect." + hint,
                    evidence=[
                        node_evidence(experiment, field, name),
                        node_evidence(
                            experiment,
                            "spec.resourceType",
                            experiment.spec.get("resourceType") or "model (default)",
                        ),
                        *graph.log_evidence(self.id, ns, (experiment.name, name)),
                    ],
                    params={
                        "experiment": experiment.name,
                        "reference": name,
                        "field": field,
                        "target_kind": kind,
                        "target_plural": kind.lower() + "s",
                    },
                )
