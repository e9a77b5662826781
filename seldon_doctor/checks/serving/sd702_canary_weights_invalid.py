"""SD702 canary-weights-invalid.

An Istio traffic split has weights that do not sum to 100 or destinations that do not exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.findings import Evidence, Finding
from seldon_doctor.graph import seldon
from seldon_doctor.graph.build import DeploymentGraph, parse_service_host
from seldon_doctor.graph.model import Node


# ---------------------------------------------------------------------------- Istio canaries
def _service_key(host: str, namespace: str) -> tuple[str, str] | None:
    """(service, namespace) an Istio host names, relative to the resource's namespace."""
    host = host.strip().lower()
    if host.startswith("*."):
        parsed = parse_service_host("wildcard" + host[1:], namespace)
        return ("*", parsed[1]) if parsed else None
    return parse_service_host(host, namespace)


def _routes(vs: Node) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    for protocol in ("http", "tcp", "tls"):
        rules = vs.spec.get(protocol)
        if not isinstance(rules, list):
            continue
        for index, rule in enumerate(rules):
            if isinstance(rule, dict) and isinstance(rule.get("route"), list):
                route = [d for d in rule["route"] if isinstance(d, dict)]
                yield f"spec.{protocol}[{index}]", route


def _weight(destination: dict[str, Any]) -> int | None:
    value = destination.get("weight", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(str(k)) == str(v) for k, v in selector.items())


class CanaryWeightsInvalid(Check):
    """SD702: an Istio traffic split whose weights or destinations are wrong."""

    id = "SD702"
    reads = frozenset({"VirtualService", "DestinationRule", "Service", "Pod"})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        rules = graph.nodes("DestinationRule")
        for vs in graph.nodes("VirtualService"):
            problems: list[str] = []
            evidence: list[Evidence] = []
            for label, route in _routes(vs):
                if len(route) > 1:
                    weights = [_weight(d) for d in route]
                    bad = [w for w in weights if w is None or not 0 <= w <= 100]
                    total = sum(w for w in weights if isinstance(w, int))
                    if bad or total != 100:
                        shown = "/".join("?" if w is None else str(w) for w in weights)
                        problems.append(
                            f"{label} splits {shown} (sum {total})"
                            + (", weights outside 0-100" if bad else "")
                        )
                        evidence.append(node_evidence(vs, f"{label}.route[*].weight", shown))
                for index, destination in enumerate(route):
                    problems.extend(
                        self._destination(
                            ctx, graph, vs, rules, f"{label}.route[{index}]", destination, evidence
                        )
                    )
            if not problems:
                continue
            yield self.finding(
                vs,
                f"VirtualService {vs.namespace}/{vs.name} does not split traffic as written: "
                + "; ".join(problems)
                + ". Istio expects the weights of one route to sum to 100 (depending on the "
                "version it rejects the resource or normalises the weights), and a destination "
                "without a Service, subset or ready pod answers 503 for its share.",
                evidence=evidence,
                params={"problem": problems[0]},
            )

    def _destination(
        self,
        ctx: CheckContext,
        graph: DeploymentGraph,
        vs: Node,
        rules: list[Node],
        where: str,
        destination: dict[str, Any],
        evidence: list[Evidence],
    ) -> list[str]:
        target = destination.get("destination")
        if not isinstance(target, dict) or not isinstance(target.get("host"), str):
            return [f"{where} has no destination host"]
        host = target["host"]
        key = _service_key(host, vs.namespace)
        if key is None or key[0] == "*":
            return []  # outside the cluster (ServiceEntry) or a wildcard: not ours to judge
        service = graph.get("Service", key[1], key[0])
        if service is None:
            if graph.complete("Service", key[1]):
                evidence.append(node_evidence(vs, f"{where}.destination.host", host))
                return [f"{where} sends to {host}, but there is no Service {key[1]}/{key[0]}"]
            self.unresolved(
                ctx, vs, f"Service {key[1]}/{key[0]} ({where}.destination.host)", "Service", key[1]
            )
            return []
        subset = target.get("subset")
        if not isinstance(subset, str) or not subset:
            return []
        matching = [
            r
            for r in rules
            if _service_key(str(r.spec.get("host") or ""), r.namespace) in (key, ("*", key[1]))
        ]
        if not matching:
            if not graph.complete("DestinationRule", key[1]):
                self.unresolved(
                    ctx,
                    vs,
                    f"a DestinationRule for {host} defining subset {subset}",
                    "DestinationRule",
                    key[1],
                )
                return []
            evidence.append(node_evidence(vs, f"{where}.destination.subset", subset))
            return [f"{where} names subset {subset} of {host}, but no DestinationRule defines it"]
        subsets = {
            str(s.get("name")): s
            for r in matching
            for s in r.spec.get("subsets") or []
            if isinstance(s, dict)
        }
        if subset not in subsets:
            evidence.append(node_evidence(vs, f"{where}.destination.subset", subset))
            evidence.extend(
                node_evidence(r, "spec.subsets", ",".join(sorted(subsets)) or "none")
                for r in matching
            )
            return [
                f"{where} names subset {subset} of {host}, but its DestinationRule "
                f"defines only {', '.join(sorted(subsets)) or 'none'}"
            ]
        if not graph.observed:
            return []
        selector = service.spec.get("selector") if isinstance(service.spec, dict) else None
        labels = subsets[subset].get("labels") or {}
        if not isinstance(selector, dict) or not selector or not isinstance(labels, dict):
            return []
        pods = [
            p
            for p in graph.nodes("Pod", key[1])
            if _selector_matches(selector, p.labels) and _selector_matches(labels, p.labels)
        ]
        if any(p.obj is not None and seldon.pod_ready(p.obj) for p in pods):
            return []
        wanted = ",".join(f"{k}={v}" for k, v in sorted({**selector, **labels}.items()))
        evidence.append(Evidence(f"Pods in {key[1]}", "labels", wanted, "none ready"))
        return [f"{where} subset {subset} of {host} selects no ready pod ({wanted})"]
