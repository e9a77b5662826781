"""Markdown: a summary fit for a pull-request comment or a ticket, with the plan.

GitHub renders HTML inside Markdown, so every value from the input is escaped (control
characters made visible by :func:`~seldon_doctor.render.safe.safe_text`, CR/LF folded so a cell
cannot end its row, ``|`` and a leading ``#`` escaped); the table is capped so a comment stays
under GitHub's 65,536-character limit on large clusters.
"""

from __future__ import annotations

import re

from seldon_doctor.engine import Report
from seldon_doctor.findings import Finding, Severity, causal_counts, causal_groups, counted
from seldon_doctor.plan import build_plan
from seldon_doctor.render import RenderOptions
from seldon_doctor.render.safe import safe_line, safe_text

MAX_ROWS = 100
# GitHub refuses comments over 65,536 characters; plan entries stop before this budget.
MAX_CHARS = 60_000
_ICON = {Severity.ERROR: "🔴", Severity.WARNING: "🟠", Severity.INFO: "🔵"}
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def escape(text: str) -> str:
    """Inline text safe in a table cell: no HTML, no Markdown syntax, no line breaks (a lone CR
    included), no control characters, no heading."""
    text = safe_text(re.sub(r"\s*(?:\r\n?|\n)\s*", " ", text)).replace("&", "&amp;")
    text = _SPECIAL.sub(r"\\\1", text).strip()
    return "\\" + text if text.startswith("#") else text


def _code(text: str) -> str:
    """An inline code span that survives backticks in the text."""
    text = safe_line(text).replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _block(text: str, lang: str) -> list[str]:
    text = safe_text(text)
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (longest + 1)
    return [f"{fence}{lang}", *text.rstrip("\n").splitlines(), fence]


def _where(finding: Finding) -> str:
    if finding.location is None:
        return ""
    where = finding.location.file
    if finding.location.line:
        where += f":{finding.location.line}"
    return _code(where)


def _headline(report: Report, options: RenderOptions) -> str:
    counts = report.counts()
    if options.fail_on == "never":
        status = "report only (`--fail-on never`)"
    elif options.exit_code == 1:
        status = "❌ gate failed"
    elif report.incomplete:
        status = "⚠️ partial scan"
    else:
        status = "✅ gate passed"
    parts = [
        counted(counts["error"], "error"),
        counted(counts["warning"], "warning"),
        f"{counts['info']} info",
    ]
    return f"## seldon-doctor: {status} — {', '.join(parts)}"


def _config_line(report: Report, options: RenderOptions) -> str:
    assert options.config is not None
    suppressed = sum(1 for s in report.suppressed if s.kind == "config")
    return options.config.describe(suppressed)


def render_markdown(report: Report, options: RenderOptions) -> str:
    out = _summary(report, options)
    _findings(out, report)
    _suppressed_and_coverage(out, report)
    _plan(out, report)
    out.append("<sub>seldon-doctor · `seldon-doctor explain ID` for any check</sub>")
    return "\n".join(out).rstrip() + "\n"


def _summary(report: Report, options: RenderOptions) -> list[str]:
    """The headline, the counts table and what the counts leave out."""
    counts = report.counts()
    out = [_headline(report, options), ""]
    out += [
        "| errors | warnings | info | suppressed | baselined | not evaluated | inputs not read |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {counts['error']} | {counts['warning']} | {counts['info']} | "
        f"{len(report.suppressed)} | {report.baselined} | {len(report.not_evaluated)} | "
        f"{len(report.gaps)} |",
        "",
        f"{counted(report.object_count, 'object')} in "
        f"{counted(len(report.namespaces), 'namespace')}, {report.mode} mode; "
        f"gate `--fail-on {options.fail_on}`, exit code {options.exit_code}.",
    ]
    if report.baselined:
        out.append(
            f"{counted(report.baselined, 'finding')} already in the baseline "
            f"{'is' if report.baselined == 1 else 'are'} not listed; only new ones are."
        )
    roots, consequences = causal_counts(report.findings)
    if consequences:
        out.append(
            f"{counted(roots, 'problem')} to fix; {counted(consequences, 'finding')} "
            + ("is a consequence" if consequences == 1 else "are their consequences")
            + " (listed under their root, marked ↳)."
        )
    if report.hidden:
        out.append(
            f"{counted(report.hidden, 'finding')} below `--min-severity` "
            f"{'is' if report.hidden == 1 else 'are'} not listed."
        )
    if options.config is not None:
        out.append(f"{escape(_config_line(report, options))}.")
    out.append("")
    return out


def _findings(out: list[str], report: Report) -> None:
    """The findings table (roots first, their consequences under them), or that there are none."""
    if report.findings:
        out += [
            "### Findings",
            "",
            "| | Check | Resource | Problem | Where |",
            "|---|---|---|---|---|",
        ]
        ordered = [f for g in causal_groups(report.findings) for f in (g.root, *g.consequences)]
        for finding in ordered[:MAX_ROWS]:
            cause = ""
            if finding.caused_by:
                cause = "↳ caused by " + ", ".join(_code(k) for k in finding.caused_by) + ": "
            out.append(
                f"| {_ICON[finding.severity]} {finding.severity.value} "
                f"| **{finding.check_id}** {escape(finding.slug)} "
                f"| {_code(str(finding.resource))} | {cause}{escape(finding.message)} "
                f"| {_where(finding)} |"
            )
        if len(report.findings) > MAX_ROWS:
            more = len(report.findings) - MAX_ROWS
            out.append(f"| | | | …and {more} more (see the JSON or SARIF report) | |")
        out.append("")
    else:
        out += ["No problems found by the checks that ran.", ""]


def _suppressed_and_coverage(out: list[str], report: Report) -> None:
    if report.suppressed:
        out += [
            f"<details><summary>Suppressed ({len(report.suppressed)})</summary>",
            "",
            "| Check | Resource | By | Reason | Expires |",
            "|---|---|---|---|---|",
        ]
        for item in report.suppressed[:MAX_ROWS]:
            out.append(
                f"| **{item.finding.check_id}** | {_code(str(item.finding.resource))} "
                f"| {item.kind} | {escape(item.reason)} | {item.expires or ''} |"
            )
        out += ["", "</details>", ""]
    if report.not_evaluated or report.gaps:
        out += ["<details><summary>Coverage</summary>", ""]
        out += [f"- not evaluated: {escape(f.message)}" for f in report.not_evaluated]
        for gap in report.gaps:
            where = f" ({escape(gap.namespace)})" if gap.namespace else ""
            out.append(f"- not read: {escape(gap.what)}{where}: {escape(gap.reason)}")
        out += ["", "</details>", ""]
    if report.warnings:
        out += [f"<details><summary>Input notes ({len(report.warnings)})</summary>", ""]
        out += [f"- {escape(note)}" for note in report.warnings[:MAX_ROWS]]
        out += ["", "</details>", ""]


def _plan(out: list[str], report: Report) -> None:
    """The remediation plan, cut where the comment would grow over MAX_CHARS."""
    plan = build_plan(report.findings)
    if plan:
        out += ["### Remediation plan", ""]
        out.append(
            "Ordered by dependency: scheduler topology, then Services, scheduling, routes. "
            "seldon-doctor prints these steps; it never runs them."
        )
        out.append("")
        for number, entry in enumerate(plan, 1):
            if sum(len(line) + 1 for line in out) > MAX_CHARS:
                out.append(
                    f"…and {len(plan) - number + 1} more plan entries: too long for a comment "
                    "(see the HTML or JSON report, or run with --plan)."
                )
                out.append("")
                break
            resources = ", ".join(_code(str(r)) for r in entry.resources)
            out.append(f"{number}. **{escape(entry.plan.summary)}** ({entry.plan.check_id})")
            out.append(f"   for {resources}")
            out.append("")
            if entry.resolves_with:
                keys = ", ".join(_code(k) for k in entry.resolves_with)
                out.append(f"   Resolves with {keys}: no steps of its own.")
            for index, step in enumerate(entry.plan.steps, 1):
                out.append(f"   {number}.{index}. {escape(step.title)}")
                if step.run:
                    out += ["", *("   " + line for line in _block(step.run, "sh")), ""]
                if step.manifest:
                    out += ["", *("   " + line for line in _block(step.manifest, "yaml")), ""]
                if step.note:
                    out.append(f"   _{escape(step.note)}_")
            out.append(f"   - **verify:** {escape(entry.plan.verify.title)}")
            if entry.plan.verify.run:
                out += ["", *("     " + line for line in _block(entry.plan.verify.run, "sh")), ""]
            out.append(f"   - **risk:** {escape(entry.plan.risk)}")
            out.append(f"   - **rollback:** {escape(entry.plan.rollback)}")
            out.append("")


def render(report: Report, options: RenderOptions) -> str:
    """Renderer entry point (see seldon_doctor.render.FORMATS)."""
    return render_markdown(report, options)
