"""What several probe checks (SD8xx) share.

Probe checks (SD8xx): what real inference requests showed, judged against the CRs.

They read ``graph.snapshot.probes`` (``seldon-doctor probe`` / ``scan --probe``, or probe JSON
files) and need at least one probe: without one the engine reports them not evaluated (SD002).
"""

from __future__ import annotations

from seldon_doctor.findings import Evidence, ResourceRef
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Node
from seldon_doctor.snapshot import ProbeObservation


def probe_subject(graph: DeploymentGraph, obs: ProbeObservation) -> Node | ResourceRef:
    node = graph.get(obs.kind, obs.namespace, obs.name)
    return node if node is not None else ResourceRef(obs.kind, obs.namespace, obs.name)


def probe_where(obs: ProbeObservation) -> Evidence:
    return Evidence(
        f"probe of {obs.kind} {obs.namespace}/{obs.name}",
        "endpoint",
        f"{obs.endpoint} ({obs.protocol}, {obs.requests} requests in {obs.duration_s:g} s)",
        obs.origin.file,
    )


def format_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} ×{v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))


def probe_base_params(obs: ProbeObservation) -> dict[str, str]:
    suffix = {"Experiment": ".experiment", "Pipeline": ".pipeline"}.get(obs.kind, "")
    return {
        "endpoint": obs.endpoint or "http://127.0.0.1:8080",
        "seldon_model": obs.name + suffix,
        "probe_kind": obs.kind.lower(),
    }
