"""SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.

One rule per check that ran (its catalog doc is the rule's help), one result per finding with a
message-independent ``partialFingerprints`` entry (check id + resource), the manifest file and
line when the input was files, the filled remediation plan under ``properties.plan``, and
SARIF ``suppressions`` for suppressed findings (``inSource`` for resource annotations,
``external`` for ``.seldon-doctor.yaml``). Checks that could not run and inputs that could not
be read become tool execution notifications. Causal links: ``properties.key`` and
``properties.caused_by`` (finding keys), and ``relatedLocations`` naming each cause (its
logical location, and the physical one when it has a manifest line) with a message that says
"caused by KEY"; a root's results carry ``properties.consequences``.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from seldon_doctor import __version__
from seldon_doctor.baseline import FINGERPRINT_VERSION, fingerprint
from seldon_doctor.catalog import CheckDoc, load_docs
from seldon_doctor.engine import Report, SuppressedFinding
from seldon_doctor.findings import Finding, Severity
from seldon_doctor.plan import plan_for
from seldon_doctor.render import RenderOptions

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = f"seldonDoctorResource/{FINGERPRINT_VERSION}"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
# Input names that are not files a code-scanning tool could open.
_NOT_FILES = frozenset({"-", "<stdin>", ""})


def artifact_uri(file: str, base: Path | None = None) -> str | None:
    """A relative URI when the file is under ``base`` (default: cwd), else a file:// URI."""
    if file in _NOT_FILES or file.startswith("<"):
        return None
    base = (base or Path.cwd()).resolve()
    path = Path(file)
    absolute = path if path.is_absolute() else (base / path)
    try:
        relative = absolute.resolve().relative_to(base)
    except (ValueError, OSError):
        return absolute.resolve().as_uri() if absolute.is_absolute() else None
    return quote(str(PurePosixPath(*relative.parts)), safe="/")


def _rule(doc: CheckDoc) -> dict[str, Any]:
    what = doc.section("What it checks") or doc.title
    text = f"{doc.title}\n\n{doc.body.strip()}\n\nRun `seldon-doctor explain {doc.id}` for the fix."
    return {
        "id": doc.id,
        "name": doc.slug,
        "shortDescription": {"text": doc.title},
        "fullDescription": {"text": what},
        "help": {"text": text, "markdown": text},
        "defaultConfiguration": {"level": LEVELS[doc.severity]},
        "properties": {
            "category": doc.category,
            "tags": ["kubernetes", "seldon-core-v2", doc.category],
            "precision": "high",
        },
    }


class Anchors:
    """Where to point a finding whose resource has no manifest line of its own.

    GitHub code scanning rejects a whole SARIF file if any result lacks a physical location,
    so a finding about, say, a namespace with no Namespace manifest is anchored at the
    object's own origin if the graph knows one, else at the first manifest of its namespace,
    else at the first manifest of the input — and the location's message says so.
    """

    def __init__(self, graph: Any, base: Path | None) -> None:
        self.graph = graph
        self.by_namespace: dict[str, tuple[str, int | None]] = {}
        self.first: tuple[str, int | None] | None = None
        objects = getattr(getattr(graph, "snapshot", None), "objects", None) or []
        located = sorted(
            (obj.origin.file, obj.origin.line or 0, obj.namespace)
            for obj in objects
            if obj.origin.file and artifact_uri(obj.origin.file, base) is not None
        )
        for file, line, namespace in located:
            self.by_namespace.setdefault(namespace, (file, line or None))
            if self.first is None:
                self.first = (file, line or None)

    def find(self, finding: Finding) -> tuple[str, int | None, str] | None:
        ref = finding.resource
        node = None
        if self.graph is not None and hasattr(self.graph, "get"):
            node = self.graph.get(ref.kind, ref.namespace, ref.name, record=False)
        origin = getattr(node, "origin", None)
        if origin is not None and origin.file:
            return origin.file, origin.line, f"{ref} is declared here"
        namespace = ref.name if ref.kind == "Namespace" else ref.namespace
        if namespace in self.by_namespace:
            file, line = self.by_namespace[namespace]
            return file, line, f"{ref} has no manifest of its own; first manifest of {namespace}"
        if self.first is not None:
            file, line = self.first
            return file, line, f"{ref} has no manifest of its own; first manifest of the input"
        return None


def _location(
    finding: Finding, base: Path | None, anchors: Anchors | None = None
) -> dict[str, Any]:
    location: dict[str, Any] = {
        "logicalLocations": [
            {
                "name": finding.resource.name,
                "fullyQualifiedName": str(finding.resource),
                "kind": "resource",
            }
        ]
    }
    where: tuple[str, int | None, str | None] | None = None
    if finding.location is not None and artifact_uri(finding.location.file, base):
        where = (finding.location.file, finding.location.line, None)
    elif anchors is not None:
        where = anchors.find(finding)
    if where is not None:
        file, line, note = where
        uri = artifact_uri(file, base)
        if uri is not None:
            physical: dict[str, Any] = {"artifactLocation": {"uri": uri}}
            if line:
                physical["region"] = {"startLine": line}
            location["physicalLocation"] = physical
            if note:
                location["message"] = {"text": note}
    return location


def _result(
    finding: Finding,
    rule_index: dict[str, int],
    base: Path | None,
    suppressed: SuppressedFinding | None = None,
    anchors: Anchors | None = None,
    by_key: dict[str, Finding] | None = None,
    effects: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    plan = plan_for(finding)
    location = _location(finding, base, anchors)
    result: dict[str, Any] = {
        "ruleId": finding.check_id,
        "level": LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(finding)},
        "properties": {
            "check": finding.slug,
            "resource": finding.resource.as_dict(),
            "evidence": [e.as_dict() for e in finding.evidence],
            "plan": plan.as_dict() if plan else None,
            "key": finding.key,
            "caused_by": list(finding.caused_by),
        },
    }
    by_key = by_key or {}
    related: list[dict[str, Any]] = []
    for cause_key in finding.caused_by:
        cause = by_key.get(cause_key)
        if cause is None:
            continue
        where = _location(cause, base, anchors)
        where["id"] = len(related)
        where["message"] = {"text": f"caused by {cause_key}"}
        related.append(where)
    if related:
        result["relatedLocations"] = related
    consequences = (effects or {}).get(finding.key)
    if consequences:
        result["properties"]["consequences"] = sorted(consequences)
    if finding.check_id in rule_index:
        result["ruleIndex"] = rule_index[finding.check_id]
    if suppressed is not None:
        entry: dict[str, Any] = {
            "kind": "inSource" if suppressed.kind == "annotation" else "external",
            "status": "accepted",
            "justification": suppressed.reason,
        }
        if suppressed.expires:
            entry["properties"] = {"expires": suppressed.expires}
        result["suppressions"] = [entry]
    return result


def sarif_dict(report: Report, options: RenderOptions, base: Path | None = None) -> dict[str, Any]:
    docs = load_docs()
    rule_ids = sorted(
        set(report.checks_run)
        | {f.check_id for f in report.findings}
        | {s.finding.check_id for s in report.suppressed}
    )
    rules = [_rule(docs[check_id]) for check_id in rule_ids if check_id in docs]
    rule_index = {rule["id"]: index for index, rule in enumerate(rules)}
    anchors = Anchors(options.graph, base)
    pairs: list[tuple[Finding, SuppressedFinding | None]] = [(f, None) for f in report.findings]
    pairs += [(s.finding, s) for s in report.suppressed]
    pairs.sort(key=lambda pair: pair[0].sort_key())
    by_key = {f.key: f for f, _ in reversed(pairs)}
    effects: dict[str, list[str]] = {}
    for f, _ in pairs:
        for cause in f.caused_by:
            effects.setdefault(cause, []).append(f.key)
    notifications: list[dict[str, Any]] = [
        {
            "level": "note",
            "message": {"text": f.message},
            "descriptor": {"id": dict(f.params).get("check", f.check_id)},
        }
        for f in report.not_evaluated
    ]
    notifications += [
        {
            "level": "warning",
            "message": {
                "text": f"{g.what}{f' in {g.namespace}' if g.namespace else ''} was not read: "
                f"{g.reason}"
            },
        }
        for g in report.gaps
    ]
    from seldon_doctor.render.json_report import config_dict, report_dict

    summary = report_dict(report, options.exit_code)
    invocation: dict[str, Any] = {
        "executionSuccessful": not any(f.check_id == "SD001" for f in report.findings),
        "exitCode": options.exit_code,
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "seldon-doctor",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": rules,
            }
        },
        "invocations": [invocation],
        "results": [_result(f, rule_index, base, s, anchors, by_key, effects) for f, s in pairs],
        "columnKind": "unicodeCodePoints",
        "properties": {
            "summary": summary["summary"],
            "plan": summary["plan"],
            **({"config": config} if (config := config_dict(report, options)) else {}),
        },
    }
    if "whatif" in summary:  # what-if gate: results are what the change introduces
        run["properties"]["whatif"] = summary["whatif"]
        run["properties"]["fixed"] = summary["fixed"]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render(report: Report, options: RenderOptions) -> str:
    """Renderer entry point (see seldon_doctor.render.FORMATS). Deterministic."""
    return json.dumps(sarif_dict(report, options), indent=2, sort_keys=True) + "\n"
