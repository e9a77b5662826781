"""SD509's policy evaluator: Kubernetes NetworkPolicy and Istio AuthorizationPolicy semantics."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from seldon_doctor.checks.controlplane.sd509_scheduler_port_blocked import policies_of
from seldon_doctor.domain.istio_policy import mesh_verdict
from seldon_doctor.domain.network_policy import PodView, Policies, selector_match, tri_all, tri_any
from seldon_doctor.graph.build import build_graph
from seldon_doctor.graph.model import Node
from seldon_doctor.sources.collect import ScanInputs, collect_files

SCHEDULER = PodView(
    "seldon-mesh",
    "seldon-scheduler-0",
    {"app.kubernetes.io/name": "seldon-scheduler"},
    True,
    {"scheduler": 9004, "agent": 9005},
    "seldon-scheduler",
    True,
)
AGENT = PodView(
    "team-a",
    "mlserver-0",
    {"seldon-server-name": "mlserver", "app.kubernetes.io/name": "seldon-server"},
    True,
    {"http": 9001},
    "seldon-server",
    True,
)
IMPLIED_AGENT = PodView("team-a", "mlserver-0", {"seldon-server-name": "mlserver"}, False, {})


def policies(tmp_path: Path, text: str) -> Policies[Node]:
    path = tmp_path / "policies.yaml"
    path.write_text(text)
    return policies_of(build_graph(collect_files(ScanInputs(files=[str(path)]))))


def ingress(p: Policies[Node], source: PodView, target: PodView, port: int) -> bool | None:
    return p.direction(target, source, target, port, "Ingress")[0]


def test_kleene_logic() -> None:
    assert tri_all([True, None]) is None
    assert tri_all([None, False]) is False
    assert tri_any([False, None]) is None
    assert tri_any([None, True]) is True
    assert tri_all([]) is True and tri_any([]) is False


def test_selectors_are_three_valued_for_partial_labels() -> None:
    selector = {"matchLabels": {"app.kubernetes.io/name": "seldon-server"}}
    assert selector_match(selector, AGENT.labels, AGENT.has) is True
    assert selector_match(selector, IMPLIED_AGENT.labels, IMPLIED_AGENT.has) is None
    exists = {"matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]}
    assert selector_match(exists, AGENT.labels, AGENT.has) is True
    assert selector_match(exists, IMPLIED_AGENT.labels, IMPLIED_AGENT.has) is None
    # Labels controllers add to pods are never assumed absent, even for observed templates.
    assert AGENT.has("pod-template-hash") is None
    assert selector_match({}, {}, IMPLIED_AGENT.has) is True


def test_unselected_pod_is_not_isolated(tmp_path: Path) -> None:
    p = policies(
        tmp_path,
        """
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: only-envoy, namespace: seldon-mesh}
spec: {podSelector: {matchLabels: {app.kubernetes.io/name: seldon-envoy}}}
""",
    )
    assert ingress(p, AGENT, SCHEDULER, 9005) is True


def test_pod_selector_peer_means_the_policy_namespace(tmp_path: Path) -> None:
    p = policies(
        tmp_path,
        """
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: same-ns, namespace: seldon-mesh}
spec:
  podSelector: {}
  ingress: [{from: [{podSelector: {}}]}]
""",
    )
    assert ingress(p, AGENT, SCHEDULER, 9005) is False


@pytest.mark.parametrize(
    ("ports", "expected"),
    [
        ("[{port: agent}]", True),  # named port resolved on the destination pod
        ("[{port: 9004}]", False),
        ("[{port: 9000, endPort: 9010}]", True),
        ("[{protocol: UDP, port: 9005}]", False),
        ("[]", True),
    ],
)
def test_ports(tmp_path: Path, ports: str, expected: bool) -> None:
    p = policies(
        tmp_path,
        f"""
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {{name: teams, namespace: seldon-mesh}}
spec:
  podSelector: {{}}
  ingress:
  - from: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: team-a}}}}}}]
    ports: {ports}
""",
    )
    assert ingress(p, AGENT, SCHEDULER, 9005) is expected


def test_namespace_and_pod_selector_in_one_peer_are_anded(tmp_path: Path) -> None:
    p = policies(
        tmp_path,
        """
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: teams, namespace: seldon-mesh}
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: team-a}}
      podSelector: {matchLabels: {app.kubernetes.io/name: seldon-envoy}}
""",
    )
    assert ingress(p, AGENT, SCHEDULER, 9005) is False


def test_any_policy_may_admit_and_ip_blocks_are_not_judged(tmp_path: Path) -> None:
    p = policies(
        tmp_path,
        """
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: deny, namespace: seldon-mesh}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: cidr, namespace: seldon-mesh}
spec:
  podSelector: {}
  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}]}]
""",
    )
    assert ingress(p, AGENT, SCHEDULER, 9005) is None


def test_egress_of_the_source_counts(tmp_path: Path) -> None:
    p = policies(
        tmp_path,
        """
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {name: egress-dns-only, namespace: team-a}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: [{ports: [{port: 53, protocol: UDP}]}]
""",
    )
    assert p.direction(AGENT, SCHEDULER, SCHEDULER, 9005, "Egress")[0] is False
    assert ingress(p, AGENT, SCHEDULER, 9005) is True


def test_istio_allow_policies(tmp_path: Path) -> None:
    p = policies(
        tmp_path,
        """
kind: AuthorizationPolicy
apiVersion: security.istio.io/v1beta1
metadata: {name: allow-teams, namespace: seldon-mesh}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: seldon-scheduler}}
  rules:
  - from: [{source: {namespaces: [team-*]}}]
    to: [{operation: {ports: ["9005"]}}]
""",
    )
    assert mesh_verdict(p.authz, AGENT, SCHEDULER, 9005)[0] is True
    assert mesh_verdict(p.authz, AGENT, SCHEDULER, 9004)[0] is False
    # Without a sidecar nothing enforces the policy.
    assert mesh_verdict(p.authz, AGENT, replace(SCHEDULER, sidecar=False), 9004)[0] is True
    # A client without a sidecar has no mTLS identity: principals cannot match it.
    p = policies(
        tmp_path,
        """
kind: AuthorizationPolicy
apiVersion: security.istio.io/v1beta1
metadata: {name: by-principal, namespace: seldon-mesh}
spec:
  rules: [{from: [{source: {principals: [cluster.local/ns/team-a/sa/seldon-server]}}]}]
""",
    )
    assert mesh_verdict(p.authz, AGENT, SCHEDULER, 9005)[0] is True
    assert mesh_verdict(p.authz, replace(AGENT, sidecar=False), SCHEDULER, 9005)[0] is False


def test_istio_deny_wins_over_allow(tmp_path: Path) -> None:
    p = policies(
        tmp_path,
        """
kind: AuthorizationPolicy
apiVersion: security.istio.io/v1beta1
metadata: {name: allow-all, namespace: seldon-mesh}
spec: {rules: [{}]}
---
kind: AuthorizationPolicy
apiVersion: security.istio.io/v1beta1
metadata: {name: deny-team-a, namespace: istio-system}
spec:
  action: DENY
  rules: [{from: [{source: {namespaces: [team-a]}}]}]
""",
    )
    verdict, nodes = mesh_verdict(p.authz, AGENT, SCHEDULER, 9005)
    assert verdict is False
    assert [n.name for n in nodes] == ["deny-team-a"]
    assert mesh_verdict(p.authz, SCHEDULER, SCHEDULER, 9005)[0] is True
