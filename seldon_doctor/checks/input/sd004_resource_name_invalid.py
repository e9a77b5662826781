"""SD004 resource-name-invalid.

A resource name breaks the naming rule of the objects it ends up naming.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.manifests import as_mapping, field_location
from seldon_doctor.domain.releases import (
    MODEL_NAME_RULE_SINCE,
    Release,
    parse_version,
    release_for_images,
)
from seldon_doctor.domain.schema import PathSegment, format_path
from seldon_doctor.findings import Finding
from seldon_doctor.graph import seldon
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Node
from seldon_doctor.kinds import BUILTIN_KINDS, KINDS

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)


# A StatefulSet labels its ControllerRevisions (and pods) `controller-revision-hash=<name>-<hash>`
# (hash up to 10 characters); label values are at most 63 characters (kubernetes#64023).
STATEFULSET_NAME_MAX = 52


# Port names the SeldonRuntime controller prefixes with serviceConfig.grpcServicePrefix.
PREFIXED_PORT_NAMES = ("xds", "scheduler", "scheduler-mtls", "agent", "agent-mtls", "dataflow")


SUBDOMAIN_KINDS = (
    "Model",
    "Experiment",
    "ServerConfig",
    "SeldonRuntime",
    "SeldonConfig",
    "Deployment",
    "StatefulSet",
    "ConfigMap",
    "NetworkPolicy",
)


def _release(graph: DeploymentGraph) -> Release | None:
    """The controllers' release, or None when they are older than the Model name rule."""
    images = [
        str(c.get("image") or "")
        for controller in graph.controllers
        if controller.obj is not None
        for c in seldon.containers(seldon.pod_template_spec(controller.obj))
    ]
    versions = [v for image in images if "seldon" in image and (v := parse_version(image))]
    if versions and max(versions) < MODEL_NAME_RULE_SINCE:
        return None
    return release_for_images(images)


def label_problem(name: str, *, dns1035: bool = False, max_len: int = 63) -> str | None:
    """Why ``name`` is not a DNS label (RFC 1123, or RFC 1035 when ``dns1035``), or None."""
    pattern = _DNS1035_LABEL if dns1035 else _DNS1123_LABEL
    rule = "DNS-1035 label" if dns1035 else "RFC 1123 label"
    if len(name) > max_len:
        return f"is {len(name)} characters long; a {rule} here allows at most {max_len}"
    if pattern.match(name):
        return None
    return f"is not a valid {rule}: {_why(name, dns1035=dns1035, subdomain=False)}"


def subdomain_problem(name: str) -> str | None:
    """Why ``name`` is not an RFC 1123 subdomain, or None."""
    if len(name) > 253:
        return f"is {len(name)} characters long; an RFC 1123 subdomain allows at most 253"
    if _DNS1123_SUBDOMAIN.match(name):
        return None
    return f"is not a valid RFC 1123 subdomain: {_why(name, dns1035=False, subdomain=True)}"


def _why(name: str, *, dns1035: bool, subdomain: bool) -> str:
    allowed = "lowercase letters, digits, '-'" + (" and '.'" if subdomain else "")
    if not name:
        return "it is empty"
    if not subdomain and "." in name:
        return "it contains '.'; " + allowed + " only"
    bad = sorted({c for c in name if not (c.islower() or c.isdigit() or c in "-.")})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        return f"it contains {shown}; {allowed} only"
    if dns1035 and not name[0].isalpha():
        return "it must start with a letter"
    if not name[0].isalnum() or not name[-1].isalnum():
        return "it must start and end with a letter or digit"
    return "each dot-separated part must start and end with a letter or digit"


class ResourceNameInvalid(Check):
    """SD004: a name the API server, or the objects Seldon derives from it, will refuse."""

    id = "SD004"
    reads = frozenset({"Server", "Pipeline", "Service", "Namespace", *SUBDOMAIN_KINDS})
    # A built-in object an API server holds has a valid name already (and listing every
    # ConfigMap, payloads included, would read far more than the check needs); live, only
    # the names Seldon derives other objects' names from are checked.
    live_reads = reads - BUILTIN_KINDS

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        yield from self._servers(graph)
        yield from self._pipelines(graph)
        yield from self._port_prefixes(graph)
        for service in graph.nodes("Service"):
            if service.obj is None:
                continue
            problem = label_problem(service.name, dns1035=True)
            if problem:
                yield self._name_finding(
                    service,
                    f"Service {service.namespace}/{service.name}: the name {problem}. Service "
                    "names are DNS-1035 labels (lowercase letters, digits and '-', starting "
                    "with a letter, at most 63 characters); the API server rejects it.",
                    "DNS-1035 label",
                )
        for namespace in graph.nodes("Namespace"):
            problem = label_problem(namespace.name) if namespace.obj is not None else None
            if problem:
                yield self._name_finding(
                    namespace,
                    f"Namespace {namespace.name}: the name {problem}. Namespace names are RFC "
                    "1123 labels; the API server rejects it.",
                    "RFC 1123 label",
                )
        release: list[Release | None] = []  # the controllers' release, read once for all Models
        for kind in SUBDOMAIN_KINDS:
            for node in graph.nodes(kind):
                problem = subdomain_problem(node.name) if node.obj is not None else None
                if problem:
                    yield self._name_finding(
                        node,
                        f"{kind} {node.namespace}/{node.name}: the name {problem}. The API "
                        "server rejects it.",
                        "RFC 1123 subdomain",
                    )
                elif kind == "Model" and node.obj is not None:
                    if not release:
                        release.append(_release(graph))
                    yield from self._model_name(node, release[0])

    def _model_name(self, model: Node, release: Release | None) -> Iterator[Finding]:
        """Since 2.8.4 the scheduler's LoadModel refuses names that are not DNS-1123 labels
        (``store/utils/validate.go`` ``CheckName``), though Kubernetes accepts a subdomain."""
        if release is None or release.model_name_valid(model.name):
            return
        problem = label_problem(model.name, max_len=10**6) or "is not a valid RFC 1123 label"
        yield self._name_finding(
            model,
            f"Model {model.namespace}/{model.name}: the name {problem}. Kubernetes accepts it, "
            f"but since Seldon Core {'.'.join(map(str, MODEL_NAME_RULE_SINCE))} the scheduler "
            'refuses it ("does not have a valid name - it must be alphanumeric and not '
            'contains dots (.)"), so the Model never loads'
            + (" (controller release not known: the latest assumed)" if release.assumed else "")
            + ".",
            "Seldon model name (RFC 1123 label, no dots)",
        )

    def _servers(self, graph: DeploymentGraph) -> Iterator[Finding]:
        for server in graph.nodes("Server"):
            if server.obj is None:
                continue
            replicas = server.spec.get("replicas")
            count = replicas if isinstance(replicas, int) and replicas > 0 else 1
            longest = f"{server.name}-{count - 1}"
            problem = label_problem(server.name, dns1035=True)
            rule = "DNS-1035 label"
            if problem is None:
                problem = label_problem(longest, dns1035=True)
                if problem:
                    problem = f"makes the per-replica Service name {longest} too long ({problem})"
            if problem is None and len(server.name) > STATEFULSET_NAME_MAX:
                rule = "StatefulSet name limit"
                problem = (
                    f"is {len(server.name)} characters long; a StatefulSet name may be at most "
                    f"{STATEFULSET_NAME_MAX} (its controller-revision-hash label "
                    "'<name>-<hash>' must fit in 63 characters)"
                )
            if problem is None:
                continue
            yield self._name_finding(
                server,
                f"Server {server.namespace}/{server.name}: the name {problem}. The controller "
                f"names the Server's StatefulSet, its pods ({server.name}-0, …) and one "
                f"headless Service per replica ({server.name}-<idx>) after it; Service names "
                "and pod hostnames must be DNS labels (lowercase letters, digits and '-', "
                "starting with a letter, at most 63 characters), so those objects are refused "
                "and the Server never gets a replica the scheduler can place Models on.",
                rule,
            )

    def _port_prefixes(self, graph: DeploymentGraph) -> Iterator[Finding]:
        """serviceConfig.grpcServicePrefix + each port name must be a DNS label (Service ports)."""
        for kind in ("SeldonRuntime", "SeldonConfig"):
            for node in graph.nodes(kind):
                config = as_mapping(as_mapping(node.spec.get("config")).get("serviceConfig"))
                prefix = config.get("grpcServicePrefix")
                if not isinstance(prefix, str) or not prefix:
                    continue
                bad = [
                    f"{prefix}{port}"
                    for port in (*PREFIXED_PORT_NAMES, "data")
                    if label_problem(f"{prefix}{port}")
                ]
                if not bad:
                    continue
                path: tuple[PathSegment, ...] = (
                    "spec",
                    "config",
                    "serviceConfig",
                    "grpcServicePrefix",
                )
                problem = label_problem(bad[0]) or ""
                finding = self._name_finding(
                    node,
                    f"{kind} {node.namespace}/{node.name}: grpcServicePrefix {prefix!r} makes "
                    f"the port names of the seldon-scheduler and seldon-mesh Services "
                    f"({', '.join(bad)}) invalid: {bad[0]} {problem}. Service port names are "
                    "RFC 1123 labels, so the controller cannot create the Services the agents, "
                    "the controller and clients dial.",
                    "RFC 1123 label (Service port name)",
                    field=format_path(path),
                    value=prefix,
                )
                location = field_location(node, path)
                yield dataclasses.replace(finding, location=location) if location else finding

    def _pipelines(self, graph: DeploymentGraph) -> Iterator[Finding]:
        for pipeline in graph.nodes("Pipeline"):
            if pipeline.obj is None:
                continue
            problem = subdomain_problem(pipeline.name)
            rule = "RFC 1123 subdomain"
            if problem is None and "." in pipeline.name:
                rule = "Seldon pipeline name"
                problem = (
                    "contains '.'; the scheduler refuses it (\"does not have a valid name - "
                    'it must be alphanumeric and cannot contain dots (.)")'
                )
            if problem:
                yield self._name_finding(
                    pipeline,
                    f"Pipeline {pipeline.namespace}/{pipeline.name}: the name {problem}. The "
                    "Pipeline is never loaded, so none of its steps serve.",
                    rule,
                )
            steps = pipeline.spec.get("steps")
            for index, step in enumerate(steps if isinstance(steps, list) else ()):
                if isinstance(step, Mapping) and step.get("name") == pipeline.name:
                    path: tuple[PathSegment, ...] = ("spec", "steps", index, "name")
                    location = field_location(pipeline, path)
                    finding = self._name_finding(
                        pipeline,
                        f"Pipeline {pipeline.namespace}/{pipeline.name}: step "
                        f"{format_path(path)} has the Pipeline's own name {pipeline.name}. The "
                        'scheduler refuses it ("must not have a step name with the same name '
                        'as pipeline name"), so the Pipeline is never loaded. A step is named '
                        "after the Model it calls, so rename the Pipeline.",
                        "no step may share the Pipeline's name",
                        field=format_path(path),
                    )
                    yield dataclasses.replace(finding, location=location) if location else finding

    def _name_finding(
        self,
        node: Node,
        message: str,
        rule: str,
        *,
        field: str = "metadata.name",
        value: str | None = None,
    ) -> Finding:
        info = KINDS.get(node.kind)
        resource = f"{info.plural}.{info.group}" if info and info.group else node.kind.lower()
        if info and not info.group:
            resource = info.plural
        finding = self.finding(
            node,
            message,
            evidence=[node_evidence(node, field, value or node.name, rule)],
            params={"rule": rule, "resource": resource, "field": field},
        )
        location = field_location(node, ("metadata", "name"))
        return dataclasses.replace(finding, location=location) if location else finding
