"""``graph`` as a use case: the deployment graph of offline inputs, with what every check found."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seldon_doctor.findings import Finding
    from seldon_doctor.graph.build import DeploymentGraph


def judged_graph(
    files: Sequence[str],
    envoy_dumps: Sequence[str],
    namespaces: Sequence[str],
    demo: bool,
    crds: Sequence[str],
) -> tuple[DeploymentGraph, Sequence[Finding]]:
    """The graph of the files (or the demo) and the findings that mark its broken nodes."""
    from seldon_doctor.app.inputs import file_snapshot, one_namespace
    from seldon_doctor.engine import run_checks
    from seldon_doctor.graph.build import build_graph

    namespace = one_namespace(namespaces, "-n names one namespace (for objects that name none)")
    built = build_graph(file_snapshot(files, envoy_dumps, namespace, demo, crds))
    findings: Any = run_checks(built).findings
    return built, findings
