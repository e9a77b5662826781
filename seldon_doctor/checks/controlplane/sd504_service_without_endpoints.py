"""SD504 service-without-endpoints: A Seldon Service selects no ready pod."""

from __future__ import annotations

from collections.abc import Iterator

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import CONSUMER_READS
from seldon_doctor.checks.helpers.controlplane import SELDON_SERVICE_NAMES, consumer_evidence
from seldon_doctor.findings import Evidence, Finding, counted
from seldon_doctor.graph import seldon
from seldon_doctor.graph.model import Node, ResolutionStatus


def is_seldon_service(service: Node) -> bool:
    if service.name in SELDON_SERVICE_NAMES:
        return True
    selector = service.spec.get("selector") or {}
    if not isinstance(selector, dict):
        return False
    if "seldon-server-name" in selector or "seldon-server-replica" in service.labels:
        return True
    return str(selector.get(seldon.NAME_LABEL, "")).startswith("seldon-")


class ServiceWithoutEndpoints(Check):
    """SD504: a Seldon Service selects no ready pod."""

    id = "SD504"
    reads = CONSUMER_READS

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        for service in graph.nodes("Service"):
            replaced = service.props.get("replaced_by_runtime")
            if service.spec.get("type") == "ExternalName" and not replaced:
                continue
            if not is_seldon_service(service):
                continue
            resolution = graph.resolve(service.name, service.namespace)
            if resolution.partial is not None and resolution.chain == (service.id,):
                kind, where = resolution.partial
                self.unresolved(
                    ctx,
                    service,
                    f"a ready pod selected by Service {service.namespace}/{service.name}",
                    kind,
                    where,
                )
                continue
            if resolution.status != ResolutionStatus.NO_BACKENDS or resolution.chain != (
                service.id,
            ):
                continue
            spec = service.props.get("spec") if replaced else service.spec
            selector = (spec or {}).get("selector") or {}
            selector_text = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
            evidence = [node_evidence(service, "spec.selector", selector_text)]
            evidence.extend(Evidence(f"Pod {b.key}", "ready", False) for b in resolution.backends)
            users = [
                c
                for ns in graph.namespaces_with("Model", "Server", "Experiment", "Pipeline")
                for c in graph.scheduler_consumers(ns)
                if service.id in c.resolution.chain
            ]
            evidence.extend(consumer_evidence(c) for c in users)
            evidence.extend(graph.log_evidence(self.id, service.namespace))
            cause = ""
            owner = service.implied_by or replaced
            if owner:
                runtime = graph.get("SeldonRuntime", service.namespace, owner.rsplit("/", 1)[1])
                replicas = (runtime.props.get("component_replicas") or {}) if runtime else {}
                component = seldon.RUNTIME_SERVICES.get(service.name, "")
                if component and replicas.get(component) == 0:
                    cause = (
                        f" SeldonRuntime {service.namespace}/{owner.rsplit('/', 1)[1]} runs "
                        f"{component} with 0 replicas (override disable/replicas: 0), yet the "
                        "controller creates this Service unconditionally (PR #6617)."
                    )
                    evidence.append(
                        Evidence(
                            f"SeldonRuntime {service.namespace}/{owner.rsplit('/', 1)[1]}",
                            f"spec.overrides[{component}]",
                            "replicas 0 or disable",
                        )
                    )
            if replaced:
                cause += (
                    " The manifest declares this Service as "
                    f"{service.spec.get('type') or 'ClusterIP'}"
                    + (
                        f" → {service.spec.get('externalName')}"
                        if service.spec.get("externalName")
                        else ""
                    )
                    + ", but the SeldonRuntime controller owns the name and will overwrite it."
                )
            one = len(users) == 1
            consumers_text = (
                f" {counted(len(users), 'consumer')} {'dials' if one else 'dial'} it, "
                f"so {'it reaches' if one else 'they reach'} nothing."
                if users
                else ""
            )
            yield self.finding(
                service,
                f"Service {service.namespace}/{service.name} selects no ready pod "
                f"(selector {selector_text or 'none'}).{cause}{consumers_text}",
                evidence=evidence,
                params={"service": service.name, "selector": selector_text or "<none>"},
            )
