"""Scope closure: a namespace is judged with what it depends on.

``scan -n app-a`` (live) or ``scan --scope app-a`` (any input) reports the findings about
app-a *and* about the namespaces app-a's Seldon resources lead to, read off the graph:

* the namespaces of every Service, scheduler pod and workload on the way each scheduler
  consumer of app-a takes (the controller's ``seldon-scheduler.app-a``, the agents'
  ``SELDON_SCHEDULER_HOST``, Envoy's xDS, the dataflow engine), through ExternalName chains;
* the namespaces of the Envoys ``seldon-mesh`` in app-a leads to, and of that chain;
* the namespace of each controller-manager that watches app-a (its ServerConfigs live there).

The checks still judge the whole input (a split brain in app-a is only visible with the
scheduler in ``seldon-mesh``); only the report is narrowed. Findings about other namespaces are
left out and do not count for ``--fail-on``; a note says how many.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from seldon_doctor.engine import Report
from seldon_doctor.findings import Finding, counted
from seldon_doctor.graph.build import DeploymentGraph


def scope_namespaces(graph: DeploymentGraph, namespaces: Iterable[str]) -> set[str]:
    """``namespaces`` and every namespace they depend on (see the module docstring)."""
    out: set[str] = set()
    for namespace in namespaces:
        out.add(namespace)
        resolutions = [c.resolution for c in graph.scheduler_consumers(namespace, record=False)]
        for consumer in graph.scheduler_consumers(namespace, record=False):
            parts = consumer.subject.split("/")
            if len(parts) == 3 and parts[1]:  # Kind/namespace/name of who dials
                out.add(parts[1])
        for serving in graph.envoys_serving(namespace, record=False):
            out.add(serving.namespace)
            resolutions.append(serving.mesh)
        for resolution in resolutions:
            out.update(service.split("/")[1] for service in resolution.chain)
            out.update(backend.namespace for backend in resolution.backends)
        for controller in graph.controllers:
            if controller.props["watch_scope"].covers(namespace):
                out.add(controller.namespace)
    return out


def _in_scope(finding: Finding, keep: set[str]) -> bool:
    res = finding.resource
    namespace = res.name if res.kind == "Namespace" else res.namespace
    return not namespace or namespace in keep


def filter_scope(report: Report, graph: DeploymentGraph, namespaces: Iterable[str]) -> Report:
    """The report narrowed to ``namespaces`` and their dependencies (a note says what left)."""
    asked = sorted(set(namespaces))
    keep = scope_namespaces(graph, asked)
    findings = [f for f in report.findings if _in_scope(f, keep)]
    left = len(report.findings) - len(findings)
    warnings = list(report.warnings)
    deps = sorted(keep - set(asked))
    note = f"scope {', '.join(asked)}" + (
        f" with its dependencies {', '.join(deps)}" if deps else ""
    )
    if left:
        warnings.append(
            f"{note}: {counted(left, 'finding')} about other namespaces "
            f"{'is' if left == 1 else 'are'} not reported"
        )
    return replace(
        report,
        findings=findings,
        not_evaluated=[f for f in report.not_evaluated if _in_scope(f, keep)],
        suppressed=[s for s in report.suppressed if _in_scope(s.finding, keep)],
        warnings=warnings,
    )
