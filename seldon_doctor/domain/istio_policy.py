"""Istio AuthorizationPolicy evaluation: does a target's sidecar admit a source?

Three-valued like ``domain.network_policy``: CUSTOM/AUDIT actions, ``when`` conditions, IP
blocks, request principals and gRPC paths/methods are not judged (None).
"""

from __future__ import annotations

from typing import Any, TypeVar

from seldon_doctor.domain.network_policy import (
    PodView,
    PolicyObject,
    Tri,
    selector_match,
    tri_all,
    tri_any,
)

ISTIO_ROOT_NAMESPACE = "istio-system"

P = TypeVar("P", bound=PolicyObject)


def mesh_verdict(
    authz: list[P], source: PodView, target: PodView, port: int
) -> tuple[Tri, list[P]]:
    """Istio AuthorizationPolicy on the target's sidecar (DENY first, then ALLOW)."""
    applicable = []
    for policy in authz:
        if policy.namespace not in (target.namespace, ISTIO_ROOT_NAMESPACE):
            continue
        selector = policy.spec.get("selector")
        labels = selector.get("matchLabels") if isinstance(selector, dict) else None
        chosen = (
            selector_match({"matchLabels": labels}, target.labels, target.has)
            if isinstance(labels, dict)
            else True
        )
        if chosen is not False:
            applicable.append((policy, chosen))
    if not applicable:
        return True, []
    if target.sidecar is False:
        return True, []
    if target.sidecar is None:
        return None, [p for p, _ in applicable]
    denied: list[Tri] = []
    allows: list[tuple[P, Tri]] = []
    for policy, chosen in applicable:
        action = str(policy.spec.get("action") or "ALLOW")
        rules = [r for r in policy.spec.get("rules") or [] if isinstance(r, dict)]
        matched = tri_any(authz_rule(r, source, port) for r in rules)
        if action == "DENY":
            denied.append(tri_all([chosen, matched]))
        elif action == "ALLOW":
            allows.append((policy, tri_all([chosen, matched])))
        else:
            return None, [policy]  # CUSTOM (external authorizer) / AUDIT: not judged
    deny = tri_any(denied)
    if deny is True:
        return False, [p for p, _ in applicable if str(p.spec.get("action")) == "DENY"]
    if not allows:
        return (None if deny is None else True), [p for p, _ in applicable]
    allowed = tri_any(m for _, m in allows)
    verdict = tri_all([None if deny is None else not deny, allowed])
    return verdict, [p for p, _ in allows]


def authz_rule(rule: dict[str, Any], source: PodView, port: int) -> Tri:
    parts: list[Tri] = []
    sources = rule.get("from")
    if isinstance(sources, list) and sources:
        parts.append(
            tri_any(_istio_source(s.get("source"), source) for s in sources if isinstance(s, dict))
        )
    targets = rule.get("to")
    if isinstance(targets, list) and targets:
        parts.append(
            tri_any(
                _istio_operation(t.get("operation"), port) for t in targets if isinstance(t, dict)
            )
        )
    if rule.get("when"):
        parts.append(None)
    return tri_all(parts)


def _istio_match(pattern: str, value: str) -> bool:
    if pattern == "*":
        return True
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


def _istio_source(spec: Any, source: PodView) -> Tri:
    if not isinstance(spec, dict):
        return True
    parts: list[Tri] = []
    for key in ("namespaces", "notNamespaces"):
        values = spec.get(key)
        if isinstance(values, list) and values:
            hit = any(_istio_match(str(v), source.namespace) for v in values)
            parts.append(hit if key == "namespaces" else not hit)
    for key in ("principals", "notPrincipals"):
        values = spec.get(key)
        if isinstance(values, list) and values:
            if source.sidecar is not True or source.service_account is None:
                parts.append(None if source.sidecar is None else key == "notPrincipals")
                continue
            identity = f"ns/{source.namespace}/sa/{source.service_account}"
            hit = any(
                _istio_match(str(v), identity) or str(v).endswith("/" + identity) for v in values
            )
            parts.append(hit if key == "principals" else not hit)
    if any(k in spec for k in ("ipBlocks", "notIpBlocks", "remoteIpBlocks", "requestPrincipals")):
        parts.append(None)
    return tri_all(parts)


def _istio_operation(spec: Any, port: int) -> Tri:
    if not isinstance(spec, dict):
        return True
    parts: list[Tri] = []
    ports = spec.get("ports")
    if isinstance(ports, list) and ports:
        parts.append(str(port) in {str(p) for p in ports})
    not_ports = spec.get("notPorts")
    if isinstance(not_ports, list) and not_ports:
        parts.append(str(port) not in {str(p) for p in not_ports})
    if any(
        spec.get(k) for k in ("methods", "paths", "hosts", "notMethods", "notPaths", "notHosts")
    ):
        parts.append(None)  # gRPC paths and methods: not judged
    return tri_all(parts)
