"""SD507 namespace-not-watched.

Seldon resources sit in a namespace no controller-manager watches.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import namespace_anchor
from seldon_doctor.checks.helpers.controlplane import (
    active_controllers,
    controller_scope,
    scope_text,
)
from seldon_doctor.findings import Evidence, Finding, Severity, counted
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Node
from seldon_doctor.graph.seldon import WatchScope

SELDON_CR_KINDS = ("Model", "Server", "Experiment", "Pipeline", "SeldonRuntime")


class NamespaceNotWatched(Check):
    """SD507: Seldon CRs in a namespace no controller reconciles."""

    id = "SD507"
    reads = frozenset({"Deployment", *SELDON_CR_KINDS})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        cr_namespaces = graph.namespaces_with(*SELDON_CR_KINDS)
        graph.nodes("Deployment")
        if not graph.controllers:
            if cr_namespaces:
                self.skip(
                    ctx,
                    "no Seldon controller-manager Deployment in the input, so which namespaces "
                    "are watched cannot be told",
                )
            return
        active = active_controllers(graph)
        scopes = [controller_scope(c) for c in active]
        explained: set[str] = set()
        for controller in active:
            scope = controller_scope(controller)
            if scope.rejected_flags:
                yield self._rejected(graph, controller, scope, scopes, cr_namespaces, explained)
                continue
            if scope.ignored_watch_namespaces:
                yield self._ignored(graph, controller, scope, scopes, explained)
        for ns in cr_namespaces:
            if ns in explained or any(s.covers(ns) for s in scopes):
                continue
            yield self._unwatched(graph, ns, active)

    def _ignored(
        self,
        graph: DeploymentGraph,
        controller: Node,
        scope: WatchScope,
        scopes: list[WatchScope],
        explained: set[str],
    ) -> Finding:
        """--watch-namespaces ignored because --clusterwide is false."""
        unwatched = sorted(ns for ns in scope.requested if not any(s.covers(ns) for s in scopes))
        explained.update(unwatched)
        requested = ",".join(scope.requested)
        why = (
            f"--watch-namespaces={requested} is ignored because --clusterwide is false: "
            f"the controller watches only its own namespace {scope.own_namespace}"
        )
        if unwatched:
            message = (
                f"{why}. {', '.join(unwatched)} {'is' if len(unwatched) == 1 else 'are'} "
                "watched by no controller, so Models, Servers, Pipelines and Experiments "
                "there get no status, no finalizer and never reach the scheduler."
            )
            severity = None
        else:
            message = f"{why}. Other controllers watch the namespaces the list names."
            severity = Severity.WARNING
        return self.finding(
            controller,
            message,
            evidence=[
                node_evidence(controller, "watch scope", scope_text(scope)),
                *(Evidence(f"Namespace {ns}", "watched by", "no controller") for ns in unwatched),
                *graph.log_evidence(self.id, controller.namespace),
            ],
            params={
                "controller": controller.name,
                "controller_namespace": controller.namespace,
                "namespaces": ",".join(unwatched or scope.requested),
            },
            severity=severity,
        )

    def _unwatched(self, graph: DeploymentGraph, ns: str, active: list[Node]) -> Finding:
        """Namespace ``ns`` holds Seldon CRs no running controller watches."""
        crs = [n for kind in SELDON_CR_KINDS for n in graph.nodes(kind, ns)]
        evidence = [
            node_evidence(c, "watch scope", scope_text(controller_scope(c)))
            for c in graph.controllers
        ]
        evidence.extend(node_evidence(n) for n in crs[:5])
        evidence.extend(graph.log_evidence(self.id, ns))
        scopes_text = "; ".join(
            f"{c.namespace}/{c.name}: {scope_text(controller_scope(c))}"
            for c in sorted(graph.controllers, key=lambda c: c.id)
        )
        nearest = active[0] if active else sorted(graph.controllers, key=lambda c: c.id)[0]
        return self.finding(
            namespace_anchor(graph, ns),
            f"Namespace {ns} holds {counted(len(crs), 'Seldon resource')} but no running "
            "controller-manager watches it "
            f"({scopes_text})"
            "). Nothing reconciles them: no status, no finalizer, no StatefulSet for "
            "Servers, nothing sent to the scheduler.",
            evidence=evidence,
            params={
                "controller": nearest.name,
                "controller_namespace": nearest.namespace,
                "namespaces": ns,
            },
            dedupe_key=f"unwatched:{ns}",
        )

    def _rejected(
        self,
        graph: DeploymentGraph,
        controller: Node,
        scope: WatchScope,
        scopes: list[WatchScope],
        cr_namespaces: Iterable[str],
        explained: set[str],
    ) -> Finding:
        """A controller given a flag its release does not define never starts."""
        intended: set[str] | None = (
            None if scope.clusterwide and not scope.requested else {scope.own_namespace}
        )
        if intended is not None and scope.clusterwide:
            intended.update(scope.requested)
        candidates = set(cr_namespaces) if intended is None else intended | set()
        unwatched = sorted(ns for ns in candidates if not any(s.covers(ns) for s in scopes))
        explained.update(unwatched)
        version = ".".join(map(str, scope.version or ())) or "?"
        flags = ", ".join(scope.rejected_flags)
        since = " (it exists from 2.9.1)" if "--watch-namespaces" in scope.rejected_flags else ""
        message = (
            f"Controller-manager {controller.namespace}/{controller.name} runs "
            f"{version}, whose binary does not define {flags}{since}: Go's flag package stops "
            "it at start ('flag provided but not defined', exit 2), so the pod restarts "
            "(CrashLoopBackOff) and reconciles nothing."
        )
        if unwatched:
            message += (
                f" Left unreconciled: {', '.join(unwatched)} — Models, Servers, Pipelines and "
                "Experiments there get no status, no finalizer and never reach the scheduler."
            )
        else:
            message += " Other controllers watch the namespaces it was meant to."
        message += " Use a controller image that matches the chart, or drop the flag."
        return self.finding(
            controller,
            message,
            evidence=[
                node_evidence(controller, "args", flags, f"not defined by controller {version}"),
                *(Evidence(f"Namespace {ns}", "watched by", "no controller") for ns in unwatched),
                *graph.log_evidence(self.id, controller.namespace),
            ],
            params={
                "controller": controller.name,
                "controller_namespace": controller.namespace,
                "namespaces": ",".join(unwatched or scope.requested or [scope.own_namespace]),
            },
            dedupe_key=f"rejected-flags:{controller.id}",
        )
