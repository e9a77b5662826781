"""SD602 route-orphaned: Envoy routes a Model, Experiment or Pipeline that no CR declares."""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Iterator

from seldon_doctor.checks.base import ENVOY, Check, CheckContext
from seldon_doctor.checks.helpers.common import TOPOLOGY_READS, envoy_label
from seldon_doctor.checks.helpers.dataplane import dumps
from seldon_doctor.domain.envoy_routes import main_routes, route_target
from seldon_doctor.findings import Evidence, Finding, ResourceRef
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.seldon import route_header

SELDON_KINDS = ("Model", "Experiment", "Pipeline")


def served_namespaces(graph: DeploymentGraph, envoy_namespace: str) -> set[str]:
    """Namespaces whose ``seldon-mesh`` leads to the Envoy in ``envoy_namespace``."""
    namespaces = graph.namespaces_with(*SELDON_KINDS)
    index = _SERVED.get(graph)
    if index is None:
        # Built once per graph: asking every namespace again for every Envoy was quadratic.
        index = defaultdict(set)
        for ns in namespaces:
            for serving in graph.envoys_serving(ns):
                index[serving.namespace].add(ns)
        _SERVED[graph] = index
    else:
        graph.envoys_serving(envoy_namespace)  # record the kinds the answer depends on
    return {envoy_namespace} | index.get(envoy_namespace, set())


_SERVED: weakref.WeakKeyDictionary[DeploymentGraph, dict[str, set[str]]] = (
    weakref.WeakKeyDictionary()
)


class RouteOrphaned(Check):
    """SD602: Envoy routes a Model/Experiment/Pipeline that no CR it serves declares."""

    id = "SD602"
    reads = TOPOLOGY_READS | {"Model", "Experiment", "Pipeline"}
    needs = frozenset({ENVOY})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        for obs in dumps(graph):
            namespaces = served_namespaces(graph, obs.namespace)
            if not any(graph.nodes(kind, ns) for kind in SELDON_KINDS for ns in namespaces):
                self.skip(
                    ctx,
                    "the input holds no Model, Experiment or Pipeline served by this Envoy, so "
                    "orphaned routes cannot be told from missing input",
                    obs.namespace,
                    subject=f"the Envoy in {obs.namespace}",
                    input="manifests",
                )
                continue
            seen: set[tuple[str, str]] = set()
            for route in main_routes(obs.config):
                target = route_target(route)
                if target is None or target in seen:
                    continue
                seen.add(target)
                kind, name = target
                if any(
                    (n := graph.get(kind, ns, name)) is not None and n.obj is not None
                    for ns in namespaces
                ):
                    continue
                header = route_header(kind, name)
                where = ", ".join(sorted(namespaces))
                partial = next(
                    (ns for ns in sorted(namespaces) if not graph.complete(kind, ns)), None
                )
                if partial is not None:
                    self.unresolved(
                        ctx,
                        ResourceRef(kind, obs.namespace, name),
                        f"the {kind} that Envoy route {route.name} (seldon-model: {header}) "
                        f"serves, in {where}",
                        kind,
                        partial,
                    )
                    continue
                elsewhere = sorted(
                    n.namespace for n in graph.nodes(kind) if n.name == name and n.obj is not None
                )
                cause = (
                    f"A {kind} {name} exists in {', '.join(elsewhere)}, whose seldon-mesh leads "
                    "elsewhere: namespaces share this scheduler (it keys resources by name only)"
                    if elsewhere
                    else f"Its scheduler still holds {kind.lower()} {name} although Kubernetes "
                    "deleted it (a deletion lost across a scheduler restart), or a namespace "
                    "missing from the input shares this scheduler"
                )
                yield self.finding(
                    ResourceRef(kind, obs.namespace, name),
                    f"The Envoy in {obs.namespace} routes seldon-model: {header} (route "
                    f"{route.name}), but no {kind} {name} exists in the namespaces it serves "
                    f"({where}). {cause}; requests for it are served by something this "
                    "namespace does not manage.",
                    evidence=[
                        Evidence(
                            f"{envoy_label(obs)} ({obs.origin.describe()})",
                            f"route {route.name}",
                            f"seldon-model: {header}",
                            "clusters: " + ", ".join(c.name for c in route.clusters),
                        ),
                        Evidence(f"{kind} {name}", None, None, f"absent from {where}"),
                    ],
                    params={
                        "header": header,
                        "envoy_namespace": obs.namespace,
                        "plural": kind.lower() + "s",
                        "route": route.name,
                    },
                )
