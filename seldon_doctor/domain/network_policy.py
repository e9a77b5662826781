"""Kubernetes NetworkPolicy evaluation over what the input tells about pods.

Three-valued: a verdict is True (admitted), False (denied) or None (the input cannot tell,
e.g. a workload not in the input whose pod labels are unknown). Policies are any objects with
a ``namespace`` and a ``spec`` (graph nodes in practice); verdicts name the policies that
decided them. Istio AuthorizationPolicy evaluation is in ``domain.istio_policy``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

# Kleene three-valued logic: True, False, or None ("the input cannot tell").
Tri = bool | None

# Labels the kubelet/controllers add to pods that a template does not show.
_GENERATED_LABELS = frozenset(
    {
        "pod-template-hash",
        "controller-revision-hash",
        "statefulset.kubernetes.io/pod-name",
        "apps.kubernetes.io/pod-index",
    }
)
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
# Container port names of the scheduler and of a Server pod's agent (SeldonConfig/ServerConfig).
KNOWN_PORT_NAMES = {
    "xds": 9002,
    "scheduler": 9004,
    "scheduler-mtls": 9044,
    "agent": 9005,
    "agent-mtls": 9055,
    "dataflow": 9008,
}


def tri_all(values: Iterable[Tri]) -> Tri:
    result: Tri = True
    for value in values:
        if value is False:
            return False
        if value is None:
            result = None
    return result


def tri_any(values: Iterable[Tri]) -> Tri:
    result: Tri = False
    for value in values:
        if value is True:
            return True
        if value is None:
            result = None
    return result


@dataclass(frozen=True, slots=True)
class PodView:
    """What the input tells about one pod (or a pod a workload will create)."""

    namespace: str
    name: str
    labels: dict[str, str]
    complete: bool  # labels are all there is (observed pod, or declared template)
    ports: dict[str, int]
    service_account: str | None = None
    sidecar: Tri = None

    def has(self, key: str) -> Tri:
        if key in self.labels:
            return True
        if self.complete and key not in _GENERATED_LABELS:
            return False
        return None


def selector_match(selector: Any, view_labels: dict[str, str], has: Any) -> Tri:
    """Three-valued LabelSelector match (matchLabels and matchExpressions)."""
    if not isinstance(selector, dict):
        return True
    results: list[Tri] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        present = has(str(key))
        results.append(view_labels.get(str(key)) == str(value) if present else present)
    for expr in selector.get("matchExpressions") or []:
        if not isinstance(expr, dict):
            continue
        key, op = str(expr.get("key")), str(expr.get("operator"))
        values = [str(v) for v in expr.get("values") or []]
        present = has(key)
        if op == "In":
            results.append(view_labels.get(key) in values if present else present)
        elif op == "NotIn":
            results.append(
                view_labels.get(key) not in values
                if present
                else (None if present is None else True)
            )
        elif op == "Exists":
            results.append(present)
        elif op == "DoesNotExist":
            results.append(None if present is None else not present)
        else:
            results.append(None)
    return tri_all(results)


def container_ports(containers: list[dict[str, Any]]) -> dict[str, int]:
    """Named container ports of a pod spec's containers."""
    out: dict[str, int] = {}
    for container in containers:
        for item in container.get("ports") or []:
            if (
                isinstance(item, dict)
                and item.get("name")
                and isinstance(item.get("containerPort"), int)
            ):
                out[str(item["name"])] = item["containerPort"]
    return out


class PolicyObject(Protocol):
    """A NetworkPolicy or AuthorizationPolicy as the evaluator reads it."""

    @property
    def namespace(self) -> str: ...

    @property
    def spec(self) -> dict[str, Any]: ...


P = TypeVar("P", bound=PolicyObject)
# Labels of a namespace by name; None when the namespace is not in the input.
NamespaceLabels = Callable[[str], Mapping[str, str] | None]


def policy_types(spec: Mapping[str, Any]) -> list[str]:
    """``spec.policyTypes``, or what the API server defaults it to."""
    declared = spec.get("policyTypes")
    if isinstance(declared, list) and declared:
        return [str(t) for t in declared]
    return ["Ingress", "Egress"] if "egress" in spec else ["Ingress"]


class Policies(Generic[P]):
    """The input's NetworkPolicies (and the AuthorizationPolicies ``istio_policy.mesh_verdict``
    judges), evaluated over pod views."""

    def __init__(self, netpols: list[P], authz: list[P], namespace_labels: NamespaceLabels):
        self.netpols = netpols
        self.authz = authz
        self._namespace_labels = namespace_labels

    def namespace_view(self, namespace: str) -> tuple[dict[str, str], Any]:
        found = self._namespace_labels(namespace)
        labels = {NAMESPACE_NAME_LABEL: namespace}
        if found is not None:
            labels.update(found)

            def has(key: str) -> Tri:
                return key in labels

            return labels, has

        def has_partial(key: str) -> Tri:
            return True if key in labels else None

        return labels, has_partial

    @staticmethod
    def types(policy: P) -> list[str]:
        return policy_types(policy.spec)

    def _peer(self, peer: Any, policy_ns: str, other: PodView) -> Tri:
        if not isinstance(peer, dict) or not peer:
            return None
        if "ipBlock" in peer:
            return None  # pod IPs against CIDRs: implementation-defined, not judged
        pod_sel, ns_sel = peer.get("podSelector"), peer.get("namespaceSelector")
        pod_match = (
            selector_match(pod_sel, other.labels, other.has) if pod_sel is not None else True
        )
        if ns_sel is not None:
            ns_labels, ns_has = self.namespace_view(other.namespace)
            return tri_all([selector_match(ns_sel, ns_labels, ns_has), pod_match])
        return tri_all([other.namespace == policy_ns, pod_match])

    @staticmethod
    def _ports(rule_ports: Any, port: int, target: PodView) -> Tri:
        if not isinstance(rule_ports, list) or not rule_ports:
            return True
        results: list[Tri] = []
        for item in rule_ports:
            if not isinstance(item, dict):
                continue
            if str(item.get("protocol") or "TCP") != "TCP":
                results.append(False)
                continue
            value = item.get("port")
            if value is None:
                results.append(True)
            elif isinstance(value, int):
                end = item.get("endPort")
                results.append(value <= port <= end if isinstance(end, int) else value == port)
            else:
                named = target.ports.get(str(value), KNOWN_PORT_NAMES.get(str(value)))
                results.append(None if named is None else named == port)
        return tri_any(results)

    def direction(
        self, pod: PodView, other: PodView, target: PodView, port: int, kind: str
    ) -> tuple[Tri, list[P]]:
        """Whether ``pod``'s policies of one direction admit traffic with ``other``."""
        field, peers_key = ("ingress", "from") if kind == "Ingress" else ("egress", "to")
        selecting: list[tuple[P, Tri]] = []
        for policy in self.netpols:
            if policy.namespace != pod.namespace or kind not in self.types(policy):
                continue
            chosen = selector_match(policy.spec.get("podSelector") or {}, pod.labels, pod.has)
            if chosen is not False:
                selecting.append((policy, chosen))
        if not selecting:
            return True, []
        isolated = tri_any(chosen for _, chosen in selecting)
        admitted: list[Tri] = []
        for policy, chosen in selecting:
            for rule in policy.spec.get(field) or []:
                if not isinstance(rule, dict):
                    continue
                peers = rule.get(peers_key)
                peer_ok = (
                    True
                    if not peers
                    else tri_any(self._peer(p, policy.namespace, other) for p in peers)
                )
                admitted.append(
                    tri_all([chosen, peer_ok, self._ports(rule.get("ports"), port, target)])
                )
        not_isolated: Tri = None if isolated is None else not isolated
        return tri_any([not_isolated, *admitted]), [p for p, _ in selecting]
