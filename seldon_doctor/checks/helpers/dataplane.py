"""What several data-plane checks (SD6xx) share.

Data-plane checks: what Envoy and the scheduler really hold, against what the CRs declare.

SD602–SD605 read Envoy config dumps (``--envoy-config-dump`` or ``--envoy-admin``); SD606
compares each Envoy with what its scheduler's xDS server serves (``--scheduler-xds``); SD607
compares the CRs' status with the scheduler's own view (``--scheduler``). Facts relied on are in
the reference: routes on listener ``seldon_http`` → route config ``listener_0``, header
``seldon-model`` exact ``<name>`` / ``<name>.experiment`` / ``<name>.pipeline``, weighted
clusters ``<model>_<version>_http`` with request header ``seldon-internal-model``.
"""

from __future__ import annotations

from seldon_doctor.findings import ResourceRef
from seldon_doctor.graph.build import DeploymentGraph, EnvoyServing
from seldon_doctor.graph.model import Node
from seldon_doctor.snapshot import EnvoyObservation


def envoy_subject(graph: DeploymentGraph, obs: EnvoyObservation) -> Node | ResourceRef:
    """The seldon-envoy Deployment of the observed Envoy (or a reference to it)."""
    node = graph.get("Deployment", obs.namespace, "seldon-envoy")
    if node is not None:
        return node
    return ResourceRef("Deployment", obs.namespace, "seldon-envoy")


def dumps(graph: DeploymentGraph) -> list[EnvoyObservation]:
    return [o for o in graph.snapshot.envoys if o.config is not None]


def envoys_serving(graph: DeploymentGraph, namespace: str) -> tuple[EnvoyServing, ...]:
    """``graph.envoys_serving``, resolved once per namespace for every data-plane check: they
    ask for each Model, Experiment and Pipeline, thousands of times for a few answers."""
    return graph.memoised(("envoys_serving", namespace), lambda: graph.envoys_serving(namespace))
