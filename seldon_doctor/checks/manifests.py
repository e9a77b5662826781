"""Manifest checks: would the API server (and Seldon's controllers) accept what was written?

SD003 validates custom resources against the OpenAPI v3 schema of their CRD, as the API
server does on create/update; SD004 checks names against the rules of the objects they end up
naming (DNS labels for Services and pod hostnames, the scheduler's Pipeline name rules).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.domain.releases import (
    MODEL_NAME_RULE_SINCE,
    Release,
    parse_version,
    release_for_images,
)
from seldon_doctor.domain.schema import PathSegment, SchemaError, Validator, format_path
from seldon_doctor.findings import Evidence, Finding, Location
from seldon_doctor.graph import seldon
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Node
from seldon_doctor.kinds import BUILTIN_KINDS, KINDS, SELDON_KINDS

CRD = "CustomResourceDefinition"
# Custom resources the doctor reads; each is validated when its CRD is in the input.
CUSTOM_KINDS = frozenset(info.kind for info in KINDS.values() if "." in info.group) - {CRD}
MAX_ERRORS_PER_OBJECT = 20
# Built-in kinds the checks read; validated (manifest mode only) when the optional package
# kubernetes-validate, which ships the Kubernetes OpenAPI schemas, is installed.
CORE_KINDS = (
    "Service",
    "Deployment",
    "StatefulSet",
    "Pod",
    "NetworkPolicy",
    "ConfigMap",
    "Endpoints",
    "EndpointSlice",
    "Namespace",
)


@dataclass(frozen=True, slots=True)
class CoreSchemas:
    """The Kubernetes OpenAPI definitions of one release, indexed by group/version/kind."""

    release: str
    defs: Mapping[str, Any]
    by_gvk: Mapping[tuple[str, str, str], str]


@functools.cache
def core_schemas() -> CoreSchemas | None:
    """The newest release's definitions from kubernetes-validate, or None when not installed.

    Only the package's data file is read (no import of its code, no jsonschema).
    """
    try:
        spec = importlib.util.find_spec("kubernetes_validate")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    from pathlib import Path

    root = Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"
    releases = []
    for folder in root.glob("v*-local"):
        match = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)-local", folder.name)
        if match and (folder / "_definitions.json").is_file():
            releases.append((tuple(int(g) for g in match.groups()), folder))
    if not releases:
        return None
    version, folder = max(releases)
    try:
        defs = json.loads((folder / "_definitions.json").read_text())["$defs"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    by_gvk: dict[tuple[str, str, str], str] = {}
    for name, schema in defs.items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or ():
            key = (str(gvk.get("group", "")), str(gvk.get("version", "")), str(gvk.get("kind")))
            by_gvk.setdefault(key, name)
    return CoreSchemas(".".join(str(v) for v in version), defs, by_gvk)


@dataclass(frozen=True, slots=True)
class CrdVersion:
    """One version of a CRD: its schema, and whether the API server serves it."""

    crd: Node
    version: str
    served: bool
    schema: Mapping[str, Any] | None
    status_subresource: bool


def crd_versions(graph: DeploymentGraph) -> dict[tuple[str, str], dict[str, CrdVersion]]:
    """(group, kind) -> version -> CrdVersion, from every CRD in the input (v1 and v1beta1)."""
    out: dict[tuple[str, str], dict[str, CrdVersion]] = {}
    for crd in graph.nodes(CRD):
        spec = crd.spec
        names = _mapping(spec.get("names"))
        group, kind = spec.get("group"), names.get("kind")
        if not isinstance(group, str) or not isinstance(kind, str):
            continue
        # v1beta1 CRDs may carry one schema and subresources for all versions at the top.
        top_schema = _mapping(spec.get("validation")).get("openAPIV3Schema")
        top_sub = _mapping(spec.get("subresources"))
        versions = spec.get("versions")
        if not isinstance(versions, list) or not versions:
            versions = [{"name": spec.get("version"), "served": True}]
        entry = out.setdefault((group, kind), {})
        for version in versions:
            if not isinstance(version, Mapping) or not isinstance(version.get("name"), str):
                continue
            schema_holder = version.get("schema")
            schema = (
                schema_holder.get("openAPIV3Schema")
                if isinstance(schema_holder, Mapping)
                else top_schema
            )
            sub = _mapping(version.get("subresources")) or top_sub
            entry[version["name"]] = CrdVersion(
                crd=crd,
                version=version["name"],
                served=version.get("served", True) is not False,
                schema=schema if isinstance(schema, Mapping) else None,
                status_subresource="status" in sub,
            )
    return out


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def field_location(node: Node, path: tuple[PathSegment, ...]) -> Location | None:
    """The file and line of ``path`` in the node's manifest (the object's line as a fallback:
    live reads and bundles keep no field lines)."""
    origin = node.origin
    if origin is None or not origin.file:
        return None
    line = origin.field_line(path)
    return Location(origin.file, line if line is not None else origin.line)


_CONSEQUENCE = {
    "unknown-field": (
        "The API server prunes unknown fields of a custom resource without an error (unless "
        "the client asks for strict field validation, as kubectl does and Helm and most "
        "GitOps tools do not): the setting is silently lost and never takes effect."
    ),
    "required": "The API server rejects the object, so it is never created or updated.",
}
_REJECTED = "The API server rejects the object, so it is never created or updated."


class ManifestSchemaInvalid(Check):
    """SD003: a custom resource does not match the OpenAPI schema of its CRD."""

    id = "SD003"
    reads = frozenset({CRD, *CORE_KINDS}) | CUSTOM_KINDS
    # Objects an API server returns passed its validation: live, only CRs are checked.
    live_reads = frozenset({CRD}) | (CUSTOM_KINDS - BUILTIN_KINDS)

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        index = crd_versions(graph)
        unschema: set[str] = set()
        for kind in sorted(CUSTOM_KINDS):
            for node in graph.nodes(kind):
                if node.obj is None:
                    continue
                group = node.obj.group
                versions = index.get((group, kind))
                if versions is None:
                    if kind in SELDON_KINDS:
                        unschema.add(kind)
                    continue
                yield from self._validate(node, versions)
        if not graph.observed:  # what an API server printed is valid by construction
            yield from self._core(graph)
        if unschema:
            self.skip(
                ctx,
                f"no CRD schema for {', '.join(sorted(unschema))}: pass --crds PATH "
                "(the chart's crds/) to validate",
            )

    def _core(self, graph: DeploymentGraph) -> Iterator[Finding]:
        nodes = [n for kind in CORE_KINDS for n in graph.nodes(kind) if n.obj is not None]
        if not nodes:
            return
        schemas = core_schemas()
        if schemas is None:
            # Optional: said in the check's doc, not per scan, so that reports (and goldens)
            # read the same with and without the package when the built-in kinds are valid.
            return
        validator = Validator(schemas.defs)
        for node in nodes:
            assert node.obj is not None
            api = node.obj.api_version
            group, _, version = api.rpartition("/")
            name = schemas.by_gvk.get((group, version, node.kind))
            if name is None:
                continue  # an API version this release does not serve: other checks warn
            body = {k: v for k, v in node.body.items() if k != "status"}
            errors = validator.validate(body, {"$ref": f"#/$defs/{name}"})
            for error in errors[:MAX_ERRORS_PER_OBJECT]:
                yield self._finding(node, None, error, core=schemas.release)

    def _validate(self, node: Node, versions: Mapping[str, CrdVersion]) -> Iterator[Finding]:
        assert node.obj is not None
        api_version = node.obj.api_version
        version = api_version.rsplit("/", 1)[-1]
        found = versions.get(version)
        served = sorted(v.version for v in versions.values() if v.served)
        if found is None or not found.served:
            yield self._finding(
                node,
                None,
                SchemaError(
                    ("apiVersion",),
                    "version",
                    f"apiVersion {api_version} is not served by CRD {_crd_name(versions)} "
                    f"(served: {', '.join(served) or 'none'})",
                    api_version,
                    served[0] if len(served) == 1 else None,
                ),
            )
            return
        if found.schema is None:
            return  # a CRD without a schema accepts anything (only legacy v1beta1 allows it)
        body = {
            key: value
            for key, value in node.body.items()
            if key not in ("apiVersion", "kind", "metadata")
            and not (key == "status" and found.status_subresource)
        }
        validator = Validator()
        errors = validator.validate(body, found.schema)
        for error in errors[:MAX_ERRORS_PER_OBJECT]:
            yield self._finding(node, found, error)

    def _finding(
        self, node: Node, crd: CrdVersion | None, error: SchemaError, *, core: str = ""
    ) -> Finding:
        assert node.obj is not None
        consequence = _CONSEQUENCE.get(error.problem, _REJECTED)
        if core and error.problem == "unknown-field":
            consequence = (
                "kubectl's default strict field validation rejects it; clients that do not ask "
                "for strict validation have it dropped silently, so it never takes effect."
            )
        message = f"{node.kind} {node.namespace}/{node.name}: {error.message}. {consequence}"
        location = field_location(node, error.path)
        where = f" [{location.file}:{location.line}]" if location and location.line else ""
        evidence = [
            Evidence(
                f"{node.kind} {node.namespace}/{node.name}{where}",
                error.field,
                error.value,
                f"did you mean {error.suggestion}?" if error.suggestion else error.problem,
            )
        ]
        if crd is not None:
            evidence.append(node_evidence(crd.crd, f"spec.versions[{crd.version}].schema"))
        if core:
            evidence.append(Evidence(f"Kubernetes {core} OpenAPI schema (kubernetes-validate)"))
        explain = ".".join(str(p) for p in error.path if isinstance(p, str))
        if error.problem == "unknown-field":
            explain = ".".join(str(p) for p in error.path[:-1] if isinstance(p, str))
        info = KINDS.get(node.kind)
        resource = f"{info.plural}.{info.group}".rstrip(".") if info else node.kind.lower()
        finding = self.finding(
            node,
            message,
            evidence=evidence,
            params={
                "field": error.field,
                "problem": error.problem,
                "fix": _fix(error),
                "resource": resource,
                "explain": f"{resource}.{explain}" if explain else resource,
                "api_version": node.obj.api_version,
                "file": location.file if location else "<manifest>",
            },
        )
        return dataclasses.replace(finding, location=location) if location else finding


def _crd_name(versions: Mapping[str, CrdVersion]) -> str:
    first = next(iter(versions.values()))
    return first.crd.name


def _fix(error: SchemaError) -> str:
    if error.problem == "unknown-field":
        if error.suggestion:
            return f"rename {error.field} to {error.suggestion}"
        return f"remove {error.field} (or move it where the schema declares it)"
    if error.problem == "version":
        return f"set apiVersion to the served version {error.suggestion or ''}".strip()
    if error.problem == "required":
        return f"set {error.field}"
    if error.problem == "enum" and error.suggestion:
        return f"set {error.field} to {error.suggestion}"
    return f"correct {error.field}"


# ---------------------------------------------------------------------------------- names

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
                    yield from self._model_name(graph, node)

    def _model_name(self, graph: DeploymentGraph, model: Node) -> Iterator[Finding]:
        """Since 2.8.4 the scheduler's LoadModel refuses names that are not DNS-1123 labels
        (``store/utils/validate.go`` ``CheckName``), though Kubernetes accepts a subdomain."""
        release = _release(graph)
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
                config = _mapping(_mapping(node.spec.get("config")).get("serviceConfig"))
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
