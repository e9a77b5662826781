"""The JSON report: a versioned, documented, deterministic contract (schema/report.schema.json)."""

from __future__ import annotations

import json
from typing import Any

from seldon_doctor import __version__
from seldon_doctor.engine import Report, SuppressedFinding
from seldon_doctor.findings import Finding, causal_counts
from seldon_doctor.plan import build_plan, plan_for
from seldon_doctor.render import RenderOptions
from seldon_doctor.render.safe import json_safe

SCHEMA_VERSION = "1"


def finding_dict(finding: Finding, suppressed: SuppressedFinding | None = None) -> dict[str, Any]:
    plan = plan_for(finding)
    out: dict[str, Any] = {
        "id": finding.check_id,
        "key": finding.key,
        "caused_by": list(finding.caused_by),
        "check": finding.slug,
        "severity": finding.severity.value,
        "resource": finding.resource.as_dict(),
        "message": finding.message,
        "evidence": [e.as_dict() for e in finding.evidence],
        "plan": plan.as_dict() if plan else None,
    }
    if finding.location is not None:
        location: dict[str, Any] = {"file": finding.location.file}
        if finding.location.line is not None:
            location["line"] = finding.location.line
        out["location"] = location
    if suppressed is not None:
        out["suppressed"] = suppressed.as_dict()
    for key, value in finding.extra:  # SD002: count, examples
        out[key] = list(value) if isinstance(value, tuple) else value
    return out


def _all_findings(report: Report) -> list[dict[str, Any]]:
    """Active and suppressed findings in one list, in report order."""
    pairs: list[tuple[Finding, SuppressedFinding | None]] = [(f, None) for f in report.findings]
    pairs += [(s.finding, s) for s in report.suppressed]
    pairs.sort(key=lambda pair: pair[0].sort_key())
    return [finding_dict(f, s) for f, s in pairs]


def report_dict(report: Report, exit_code: int) -> dict[str, Any]:
    counts = report.counts()
    roots, consequences = causal_counts(report.findings)
    plan = build_plan(report.findings)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "seldon-doctor", "version": __version__},
        "findings": _all_findings(report),
        "not_evaluated": [finding_dict(f) for f in report.not_evaluated],
        "gaps": [
            {
                "what": g.what,
                "reason": g.reason,
                **({"namespace": g.namespace} if g.namespace else {}),
            }
            for g in sorted(report.gaps, key=lambda g: (g.what, g.namespace or "", g.reason))
        ],
        "plan": [
            {
                "check": entry.plan.check_id,
                "resources": [r.as_dict() for r in entry.resources],
                **({"resolves_with": list(entry.resolves_with)} if entry.resolves_with else {}),
                **entry.plan.as_dict(),
            }
            for entry in plan
        ],
        "summary": {
            "errors": counts["error"],
            "warnings": counts["warning"],
            "info": counts["info"],
            "roots": roots,
            "consequences": consequences,
            "not_evaluated": len(report.not_evaluated),
            "suppressed": len(report.suppressed),
            "baselined": report.baselined,
            "hidden": report.hidden,
            "gaps": len(report.gaps),
            "incomplete": report.incomplete,
            "objects": report.object_count,
            "namespaces": len(report.namespaces),
            "mode": report.mode,
            "checks_run": report.checks_run,
            "exit_code": exit_code,
        },
        # Notes about the input (files skipped, duplicate objects, ...), not findings.
        # "warnings" is the same list under its first name, kept for existing readers.
        "input_notes": sorted(report.warnings),
        "warnings": sorted(report.warnings),
        **_whatif_fields(report),
    }


def _whatif_fields(report: Report) -> dict[str, Any]:
    """The what-if gate's ``fixed`` findings and what the change was judged against."""
    if report.whatif is None:
        return {}
    fixed = sorted(report.fixed, key=Finding.sort_key)
    return {"fixed": [finding_dict(f) for f in fixed], "whatif": dict(report.whatif)}


def render(report: Report, options: RenderOptions) -> str:
    """Renderer entry point (see seldon_doctor.render.FORMATS)."""
    probes = getattr(getattr(options.graph, "snapshot", None), "probes", None)
    if not probes and options.config is None:
        return render_json(report, options.exit_code)
    data = report_dict(report, options.exit_code)
    if options.config is not None:  # which .seldon-doctor.yaml narrowed the scan, and how
        data["config"] = config_dict(report, options)
    if probes:
        from seldon_doctor.render.probe_report import probe_dict  # scan --probe: the figures

        data["probes"] = [
            {k: v for k, v in probe_dict(obs).items() if k != "findings"} for obs in probes
        ]
    return json_safe(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)) + "\n"


def config_dict(report: Report, options: RenderOptions) -> dict[str, Any] | None:
    """The applied config (path, select, ignore, checks it removed, suppressions) and how many
    findings it suppressed; None when no config was applied."""
    if options.config is None:
        return None
    suppressed = sum(1 for s in report.suppressed if s.kind == "config")
    return {**options.config.as_dict(), "findings_suppressed": suppressed}


def render_json(report: Report, exit_code: int) -> str:
    """Same input, same bytes: sorted keys, no timestamps."""
    dumped = json.dumps(
        report_dict(report, exit_code), indent=2, sort_keys=True, ensure_ascii=False
    )
    return json_safe(dumped) + "\n"
