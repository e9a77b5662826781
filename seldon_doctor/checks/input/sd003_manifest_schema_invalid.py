"""SD003 manifest-schema-invalid.

A custom resource does not match the OpenAPI schema of its CRD.
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
from seldon_doctor.checks.helpers.manifests import as_mapping, field_location
from seldon_doctor.domain.schema import SchemaError, Validator
from seldon_doctor.findings import Evidence, Finding
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
        names = as_mapping(spec.get("names"))
        group, kind = spec.get("group"), names.get("kind")
        if not isinstance(group, str) or not isinstance(kind, str):
            continue
        # v1beta1 CRDs may carry one schema and subresources for all versions at the top.
        top_schema = as_mapping(spec.get("validation")).get("openAPIV3Schema")
        top_sub = as_mapping(spec.get("subresources"))
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
            sub = as_mapping(version.get("subresources")) or top_sub
            entry[version["name"]] = CrdVersion(
                crd=crd,
                version=version["name"],
                served=version.get("served", True) is not False,
                schema=schema if isinstance(schema, Mapping) else None,
                status_subresource="status" in sub,
            )
    return out


_CONSEQUENCE = {
    "unknown-field": (
        "The API server prunes unknown fields of a custom resource without an error (unless "
        "the client asks for strict field validation, as kubectl does and Helm and most "
        "GitOps tools do not): the setting is silently lost and never takes effect."
    ),
    "required": "The API server rejects the object, so it is never created or updated.",
    "schema": (
        "The schema refers back to itself without descending into the value, so whether the "
        "object is valid is not known here (a CRD schema may not use $ref: the API server "
        "refuses such a CRD)."
    ),
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
        # One validator for the run: it compiles each CRD schema once for all its objects.
        validator = Validator()
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
                yield from self._validate(node, versions, validator)
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

    def _validate(
        self, node: Node, versions: Mapping[str, CrdVersion], validator: Validator
    ) -> Iterator[Finding]:
        assert node.obj is not None
        api_version = node.obj.api_version
        version = api_version.rsplit("/", 1)[-1]
        found = versions.get(version)
        if found is None or not found.served:
            served = sorted(v.version for v in versions.values() if v.served)
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
        # Almost every object is valid: the compiled verdict clears it without the walk that
        # builds paths and messages; anything else gets the full walk, so findings are its.
        if validator.verdict(body, found.schema) is True:
            return
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
    if error.problem == "schema":
        return "remove the $ref cycle from the schema"
    if error.problem == "enum" and error.suggestion:
        return f"set {error.field} to {error.suggestion}"
    return f"correct {error.field}"
