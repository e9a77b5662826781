"""JUnit XML, for CI dashboards: a test suite per check, a test case per (check, resource).

* a finding at or above ``--fail-on`` is a ``<failure>``; below it the case passes and the
  finding is in ``<system-out>``;
* a suppressed finding is ``<skipped>`` with its reason (visible, never failing);
* a check that could not be evaluated has one ``<skipped>`` case with the reason;
* a check that ran and found nothing has one passing case, so every check shows up.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict

from seldon_doctor.catalog import load_docs
from seldon_doctor.engine import Report
from seldon_doctor.findings import Finding, Severity
from seldon_doctor.plan import plan_for
from seldon_doctor.render import RenderOptions
from seldon_doctor.render.safe import safe_text

# Characters XML 1.0 cannot carry, even escaped (safe_text already made C0 controls visible).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
ALL_RESOURCES = "(all resources)"
NOT_EVALUATED = "(not evaluated)"


def _clean(text: str) -> str:
    """Input text for XML: control characters visible (:func:`safe_text`), and nothing XML 1.0
    cannot carry (lone surrogates, U+FFFE/U+FFFF) — a resource name must not make the report
    ill-formed."""
    return _INVALID_XML.sub("\ufffd", safe_text(text))


def _details(findings: list[Finding]) -> str:
    blocks = []
    for finding in findings:
        lines = [f"{finding.check_id} {finding.slug} [{finding.severity.value}] {finding.resource}"]
        if finding.location is not None:
            where = finding.location.file
            if finding.location.line:
                where += f":{finding.location.line}"
            lines.append(f"at {where}")
        lines.append(finding.message)
        lines += [f"  evidence: {e.describe()}" for e in finding.evidence]
        plan = plan_for(finding)
        if plan is not None:
            lines.append(f"fix: {plan.summary} (seldon-doctor explain {finding.check_id})")
        blocks.append("\n".join(lines))
    return _clean("\n\n".join(blocks))


def _threshold(fail_on: str) -> int:
    return 99 if fail_on == "never" else Severity(fail_on).rank


def junit_tree(report: Report, options: RenderOptions) -> ET.Element:
    docs = load_docs()
    threshold = _threshold(options.fail_on)
    active: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    for finding in report.findings:
        active[finding.check_id][str(finding.resource)].append(finding)
    silenced: dict[str, dict[str, list[tuple[Finding, str]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for item in report.suppressed:
        reason = f"suppressed ({item.kind}): {item.reason}"
        if item.expires:
            reason += f" (until {item.expires})"
        silenced[item.finding.check_id][str(item.finding.resource)].append((item.finding, reason))
    skipped_checks: dict[str, list[str]] = defaultdict(list)
    for finding in report.not_evaluated:
        skipped_checks[dict(finding.params).get("check", finding.check_id)].append(finding.message)

    root = ET.Element("testsuites", name="seldon-doctor")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    check_ids = sorted(set(report.checks_run) | set(active) | set(silenced) | set(skipped_checks))
    for check_id in check_ids:
        doc = docs.get(check_id)
        suite_name = f"{check_id} {doc.slug}" if doc else check_id
        suite = ET.SubElement(root, "testsuite", name=_clean(suite_name))
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        classname = f"seldon-doctor.{check_id}"
        resources = sorted(set(active[check_id]) | set(silenced[check_id]))
        for resource in resources:
            case = ET.SubElement(suite, "testcase", classname=classname, name=_clean(resource))
            counts["tests"] += 1
            found = active[check_id].get(resource, [])
            failing = [f for f in found if f.severity.rank >= threshold]
            if failing:
                worst = failing[0]
                failure = ET.SubElement(
                    case,
                    "failure",
                    message=_clean(worst.message),
                    type=f"{worst.check_id} {worst.severity.value}",
                )
                failure.text = _details(found)
                counts["failures"] += 1
            elif found:
                ET.SubElement(case, "system-out").text = _details(found)
            elif silenced[check_id].get(resource):
                hits = silenced[check_id][resource]
                ET.SubElement(case, "skipped", message=_clean(hits[0][1]))
                ET.SubElement(case, "system-out").text = _details([f for f, _ in hits])
                counts["skipped"] += 1
        if check_id in skipped_checks:
            case = ET.SubElement(suite, "testcase", classname=classname, name=NOT_EVALUATED)
            ET.SubElement(case, "skipped", message=_clean("; ".join(skipped_checks[check_id])))
            counts["tests"] += 1
            counts["skipped"] += 1
        elif not resources:
            ET.SubElement(suite, "testcase", classname=classname, name=ALL_RESOURCES)
            counts["tests"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("errors", "0")
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("errors", "0")
    return root


def render(report: Report, options: RenderOptions) -> str:
    """Renderer entry point (see seldon_doctor.render.FORMATS). Deterministic, no timings."""
    tree = junit_tree(report, options)
    ET.indent(tree, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(tree, encoding="unicode") + "\n"
