"""SD607 scheduler-state-diverged: The CRs' status and the scheduler's own view disagree."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from seldon_doctor.checks.base import Check, CheckContext
from seldon_doctor.findings import Evidence, Finding, ResourceRef
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Node
from seldon_doctor.graph.seldon import is_ready


class SchedulerStateDiverged(Check):
    """SD607: CR status and the scheduler's own view disagree (C07, C24)."""

    id = "SD607"
    reads = frozenset({"Model", "Experiment", "Pipeline"})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        observations = graph.snapshot.schedulers
        if not observations:
            self.skip(
                ctx,
                "no scheduler state was read ("
                + ("--dataplane" if graph.snapshot.live else "--scheduler NAMESPACE=HOST:9004")
                + "), so the CRs' status cannot be compared with the scheduler's view",
            )
            return
        for obs in observations:
            state = obs.state
            ns = obs.namespace
            if "ModelStatus" not in state.errors:
                yield from self._models(graph, obs.namespace, obs.target, state)
            if "ExperimentStatus" not in state.errors:
                yield from self._experiments(graph, ns, obs.target, state)
            if "PipelineStatus" not in state.errors:
                yield from self._pipelines(graph, ns, obs.target, state)

    def _diverged(
        self, subject: Node | ResourceRef, target: str, cr: str, sched: str, detail: str
    ) -> Finding:
        return self.finding(
            subject,
            f"{detail} Kubernetes and the scheduler disagree, so `kubectl get` is not what "
            "serves traffic.",
            evidence=[
                Evidence(
                    str(subject.ref() if isinstance(subject, Node) else subject), "status", cr
                ),
                Evidence(f"scheduler {target}", "status RPC", sched),
            ],
            params={"scheduler": target},
        )

    def _models(
        self, graph: DeploymentGraph, ns: str, target: str, state: Any
    ) -> Iterator[Finding]:
        models = {
            name: m
            for name, m in state.models.items()
            if not m.deleted and (m.latest is None or m.latest.namespace in (None, "", ns))
        }
        for model in graph.nodes("Model", ns):
            if model.obj is None or not is_ready(model.obj):
                continue
            seen = models.get(model.name)
            if seen is None or seen.latest is None:
                yield self._diverged(
                    model,
                    target,
                    "Ready",
                    "unknown",
                    f"Model {ns}/{model.name} is Ready in Kubernetes, but the scheduler at "
                    f"{target} does not know it (it lost its in-memory state, e.g. a scheduler "
                    "and server restart, and the controller did not re-send the Model).",
                )
                continue
            latest = seen.latest
            live = [r for r in latest.replicas if r.state in ("Available", "Loaded")]
            if latest.available_replicas > 0 or live:
                continue
            replicas = ", ".join(f"{r.index}:{r.state}" for r in latest.replicas) or "none"
            yield self._diverged(
                model,
                target,
                "Ready",
                f"{latest.state} on {latest.server or 'no server'}, replicas {replicas}",
                f"Model {ns}/{model.name} is Ready in Kubernetes, but the scheduler at {target} "
                f"has it loaded on no replica (version {latest.version}: {latest.state}"
                + (f", {latest.reason}" if latest.reason else "")
                + ").",
            )
        for name, seen in sorted(models.items()):
            latest = seen.latest
            if latest is None or latest.state != "ModelAvailable":
                continue
            node = graph.get("Model", ns, name)
            if node is None or node.obj is None:
                if latest.namespace == ns:
                    yield self._diverged(
                        ResourceRef("Model", ns, name),
                        target,
                        "absent",
                        f"ModelAvailable on {latest.server}",
                        f"The scheduler at {target} serves Model {name} for {ns}, but no such "
                        "Model exists in Kubernetes (a deletion the scheduler never got).",
                    )
            elif not is_ready(node.obj):
                yield self._diverged(
                    node,
                    target,
                    "not Ready",
                    f"ModelAvailable on {latest.server}",
                    f"Model {ns}/{name} is not Ready in Kubernetes, but the scheduler at "
                    f"{target} has it ModelAvailable on {latest.server} (the status update "
                    "did not reach the controller).",
                )

    def _experiments(
        self, graph: DeploymentGraph, ns: str, target: str, state: Any
    ) -> Iterator[Finding]:
        for experiment in graph.nodes("Experiment", ns):
            if experiment.obj is None or not is_ready(experiment.obj):
                continue
            seen = state.experiments.get(experiment.name)
            if seen is not None and seen.active:
                continue
            what = (
                "does not know it"
                if seen is None
                else "has it inactive"
                + (f" ({seen.status_description})" if seen.status_description else "")
            )
            yield self._diverged(
                experiment,
                target,
                "Ready",
                "unknown" if seen is None else "inactive",
                f"Experiment {ns}/{experiment.name} is Ready in Kubernetes, but the scheduler at "
                f"{target} {what}.",
            )

    def _pipelines(
        self, graph: DeploymentGraph, ns: str, target: str, state: Any
    ) -> Iterator[Finding]:
        for pipeline in graph.nodes("Pipeline", ns):
            if pipeline.obj is None or not is_ready(pipeline.obj):
                continue
            seen = state.pipelines.get(pipeline.name)
            latest = seen.latest if seen is not None else None
            if latest is not None and latest.status == "PipelineReady":
                continue
            what = (
                "does not know it"
                if latest is None
                else f"has it {latest.status}" + (f" ({latest.reason})" if latest.reason else "")
            )
            yield self._diverged(
                pipeline,
                target,
                "Ready",
                "unknown" if latest is None else latest.status,
                f"Pipeline {ns}/{pipeline.name} is Ready in Kubernetes, but the scheduler at "
                f"{target} {what}.",
            )
