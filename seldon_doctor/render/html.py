"""HTML: one self-contained file a manager can open — summary, graph, findings, plan.

No network fetches: styles are inline, the graph is inline SVG drawn here, there is no
JavaScript, and a Content-Security-Policy forbids loading anything. Every value from the input
is HTML-escaped.
"""

from __future__ import annotations

import datetime as dt
from html import escape as _html_escape

from seldon_doctor import __version__
from seldon_doctor.engine import Report
from seldon_doctor.findings import Finding, Severity, causal_counts, causal_groups, counted
from seldon_doctor.plan import build_plan, plan_for
from seldon_doctor.render import RenderOptions
from seldon_doctor.render.safe import safe_text


def escape(text: str) -> str:
    """Input text for HTML: control characters made visible, then HTML-escaped."""
    return _html_escape(safe_text(text))


CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"

_CSS = """
:root { --err:#d0021b; --warn:#b86e00; --info:#1f6fb2; --ok:#1a7f37; --ink:#1f2430;
        --dim:#6b7385; --line:#dde2ea; --bg:#ffffff; --panel:#f6f8fb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans",
       sans-serif; color: var(--ink); background: var(--bg); }
main { max-width: 1360px; margin: 0 auto; padding: 20px 24px 40px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px;
     border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 0 0 4px; }
code, pre { font-family: "DejaVu Sans Mono", ui-monospace, Menlo, Consolas, monospace;
            font-size: 12.5px; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px;
      padding: 8px 10px; overflow-x: auto; white-space: pre-wrap; margin: 6px 0; }
.dim { color: var(--dim); }
.status { display: inline-block; font-weight: 600; padding: 3px 10px; border-radius: 12px;
          color: #fff; margin: 6px 0; }
.status.fail { background: var(--err); } .status.pass { background: var(--ok); }
.status.partial { background: var(--warn); } .status.neutral { background: var(--dim); }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 112px;
        background: var(--panel); }
.card .n { font-size: 22px; font-weight: 700; display: block; }
.card.error .n { color: var(--err); } .card.warning .n { color: var(--warn); }
.card.info .n { color: var(--info); }
.graph-box { border: 1px solid var(--line); border-radius: 8px; padding: 8px; overflow-x: auto; }
.graph-box svg { max-width: 100%; height: auto; display: block; }
.legend { display: flex; gap: 18px; flex-wrap: wrap; font-size: 12.5px; margin: 6px 0 8px; }
.legend span::before { content: ""; display: inline-block; width: 22px; height: 12px;
        margin-right: 6px; vertical-align: -1px; border-radius: 3px; border: 1.5px solid #4c566a; }
.legend .l-broken::before { border: 3px solid var(--err); background: #fde8ea; }
.legend .l-involved::before { border: 2.2px solid #d98300; background: #fff6e5; }
.legend .l-implied::before { border-style: dashed; border-color: #7b8496; }
.legend .l-missing::before { border-style: dashed; border-color: var(--err); }
.legend .l-edge::before { border: 0; height: 3px; vertical-align: 3px; background: var(--err); }
.finding { border: 1px solid var(--line); border-left: 5px solid var(--info); border-radius: 6px;
           padding: 10px 14px; margin: 10px 0; background: #fff; }
.finding.error { border-left-color: var(--err); }
.finding.warning { border-left-color: var(--warn); }
.finding.suppressed { border-left-color: var(--dim); background: var(--panel); }
.sev { text-transform: uppercase; font-size: 11px; font-weight: 700; letter-spacing: .04em;
       padding: 1px 6px; border-radius: 4px; color: #fff; background: var(--info);
       vertical-align: 2px; }
.error .sev { background: var(--err); } .warning .sev { background: var(--warn); }
.finding .resource { margin: 2px 0 6px; }
.finding ul { margin: 4px 0 6px; padding-left: 20px; }
.fix { color: var(--ok); margin: 4px 0 0; }
.consequences { margin: -4px 0 14px 28px; padding-left: 10px; border-left: 2px dashed var(--line); }
.caused-by { font-size: 12.5px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { text-align: left; border-bottom: 1px solid var(--line); padding: 5px 8px;
         vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
.plan > li { margin: 12px 0; }
.plan ol { padding-left: 22px; }
footer { margin-top: 32px; color: var(--dim); font-size: 12px; }
"""


def _sev_class(severity: Severity) -> str:
    return severity.value


def _where(finding: Finding) -> str:
    if finding.location is None:
        return ""
    where = finding.location.file + (f":{finding.location.line}" if finding.location.line else "")
    return f' <span class="dim">· {escape(where)}</span>'


def _finding(
    finding: Finding, anchor: str, note: str = "", causes: dict[str, str] | None = None
) -> str:
    classes = _sev_class(finding.severity) + (" suppressed" if note else "")
    if finding.caused_by:
        classes += " consequence"
    parts = [
        f'<article class="finding {classes}" id="{anchor}" '
        f'data-check="{escape(finding.check_id)}" data-resource="{escape(str(finding.resource))}" '
        f'data-key="{escape(finding.key)}">',
        f'<h3><span class="sev">{escape(finding.severity.value)}</span> '
        f'<code class="check-id">{escape(finding.check_id)}</code> {escape(finding.slug)}</h3>',
        f'<div class="resource"><code>{escape(str(finding.resource))}</code>'
        f"{_where(finding)}</div>",
    ]
    if note:
        parts.append(f'<p class="dim"><em>{escape(note)}</em></p>')
    if finding.caused_by:
        links = ", ".join(
            f'<a href="{escape((causes or {}).get(k, ""))}"><code>{escape(k)}</code></a>'
            if k in (causes or {})
            else f"<code>{escape(k)}</code>"
            for k in finding.caused_by
        )
        parts.append(f'<p class="caused-by dim">Caused by {links}</p>')
    parts.append(f"<p>{escape(finding.message)}</p>")
    if finding.evidence:
        parts.append('<div class="dim">Evidence</div><ul class="evidence">')
        parts += [f"<li>{escape(item.describe())}</li>" for item in finding.evidence]
        parts.append("</ul>")
    plan = plan_for(finding)
    if plan is not None:
        parts.append(
            f'<p class="fix">Fix: {escape(plan.summary)} '
            f'<span class="dim">(seldon-doctor explain {escape(finding.check_id)})</span></p>'
        )
    parts.append("</article>")
    return "\n".join(parts)


def _status(report: Report, options: RenderOptions) -> str:
    if options.fail_on == "never":
        return '<span class="status neutral">Report only (--fail-on never)</span>'
    if options.exit_code == 1:
        return f'<span class="status fail">Gate failed (--fail-on {escape(options.fail_on)})</span>'
    if report.incomplete:
        return '<span class="status partial">Partial scan: some inputs were not read</span>'
    return f'<span class="status pass">Gate passed (--fail-on {escape(options.fail_on)})</span>'


def _cards(report: Report) -> str:
    counts = report.counts()
    items = [
        ("error", "errors", counts["error"]),
        ("warning", "warnings", counts["warning"]),
        ("info", "info", counts["info"]),
        ("", "suppressed", len(report.suppressed)),
        ("", "baselined", report.baselined),
        ("", "not evaluated", len(report.not_evaluated)),
        ("", "inputs not read", len(report.gaps)),
    ]
    cards = "".join(
        f'<div class="card {cls}"><span class="n">{value}</span>{label}</div>'
        for cls, label, value in items
    )
    return f'<div class="cards">{cards}</div>'


def _graph(report: Report, options: RenderOptions, anchors: dict[str, str]) -> str:
    if options.graph is None:
        return '<p class="dim">The deployment graph was not built for this report.</p>'
    from seldon_doctor.render.graph_svg import to_svg

    svg = to_svg(options.graph, report.findings, links=anchors)
    legend = (
        '<div class="legend"><span class="l-node">object</span>'
        '<span class="l-broken">has a finding</span>'
        '<span class="l-involved">named in a finding\'s evidence</span>'
        '<span class="l-edge">edge on a broken path</span>'
        '<span class="l-implied">created by a controller (implied)</span>'
        '<span class="l-missing">referenced but missing</span></div>'
    )
    return f'{legend}<div class="graph-box" id="graph-svg">{svg}</div>'


def _plan(report: Report) -> str:
    entries = build_plan(report.findings)
    if not entries:
        return '<p class="dim">Nothing to fix.</p>'
    out = [
        '<p class="dim">Ordered by dependency: scheduler topology, then Services, scheduling, '
        "routes. seldon-doctor prints these steps; it never runs them.</p>",
        '<ol class="plan">',
    ]
    for entry in entries:
        resources = ", ".join(f"<code>{escape(str(r))}</code>" for r in entry.resources)
        out.append(
            f"<li><strong>{escape(entry.plan.summary)}</strong> "
            f'<span class="dim">[{escape(entry.plan.check_id)}]</span>'
            f'<div class="dim">for {resources}</div><ol>'
        )
        if entry.resolves_with:
            keys = ", ".join(f"<code>{escape(k)}</code>" for k in entry.resolves_with)
            out.append(f'<li class="dim">Resolves with {keys}: no steps of its own.</li>')
        for step in entry.plan.steps:
            out.append(f"<li>{escape(step.title)}")
            if step.run:
                out.append(f"<pre><code>{escape(step.run.rstrip())}</code></pre>")
            if step.manifest:
                out.append(f"<pre><code>{escape(step.manifest.rstrip())}</code></pre>")
            if step.note:
                out.append(f"<div><em>{escape(step.note)}</em></div>")
            out.append("</li>")
        out.append("</ol>")
        out.append(f'<div class="fix">Verify: {escape(entry.plan.verify.title)}</div>')
        if entry.plan.verify.run:
            out.append(f"<pre><code>{escape(entry.plan.verify.run.rstrip())}</code></pre>")
        out.append(f'<div class="dim">Risk: {escape(entry.plan.risk)}</div>')
        out.append(f'<div class="dim">Rollback: {escape(entry.plan.rollback)}</div></li>')
    out.append("</ol>")
    return "\n".join(out)


def _coverage(report: Report) -> str:
    rows = [f"<li>Not evaluated: {escape(f.message)}</li>" for f in report.not_evaluated] + [
        f"<li>Not read: {escape(g.what)}{' in ' + escape(g.namespace) if g.namespace else ''}: "
        f"{escape(g.reason)}</li>"
        for g in report.gaps
    ]
    if not rows:
        return '<p class="dim">Every check that was selected ran on complete input.</p>'
    return "<ul>" + "".join(rows) + "</ul>"


def render_html(report: Report, options: RenderOptions) -> str:
    anchors, by_finding, causes = _anchors(report)
    articles = _articles(report, by_finding, causes)
    roots, consequences = causal_counts(report.findings)
    suppressed = []
    for index, item in enumerate(report.suppressed, 1):
        note = f"Suppressed by {item.kind}: {item.reason}"
        if item.expires:
            note += f" (until {item.expires})"
        suppressed.append(_finding(item.finding, f"s-{index}", note))
    meta, notes = _meta_and_notes(report, options)
    body = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>seldon-doctor report</title>",
        f"<style>{_CSS}</style></head><body><main>",
        "<header><h1>seldon-doctor report</h1>",
        _status(report, options),
        _cards(report),
        f'<div class="dim">{escape(" · ".join(meta))}</div>',
        *(f'<p class="dim">{escape(n)}</p>' for n in notes),
        "</header>",
        '<section id="graph"><h2>Deployment graph</h2>',
        _graph(report, options, anchors),
        "</section>",
        f'<section id="findings"><h2>Findings ({len(report.findings)})</h2>',
        *(
            [
                f'<p class="dim">{counted(roots, "problem")}, '
                f"{counted(consequences, 'consequence')}</p>"
            ]
            if consequences
            else []
        ),
        *(articles or ['<p class="dim">No problems found by the checks that ran.</p>']),
        "</section>",
    ]
    if suppressed:
        body += [
            f'<section id="suppressed"><h2>Suppressed ({len(suppressed)})</h2>',
            '<p class="dim">Silenced by .seldon-doctor.yaml or a seldon-doctor.io/ignore '
            "annotation; they do not fail the gate.</p>",
            *suppressed,
            "</section>",
        ]
    body += [
        '<section id="plan"><h2>Remediation plan</h2>',
        _plan(report),
        "</section>",
        '<section id="coverage"><h2>Coverage</h2>',
        _coverage(report),
        "</section>",
        *(
            [
                f'<section id="input-notes"><h2>Input notes ({len(report.warnings)})</h2><ul>',
                *(f"<li>{escape(note)}</li>" for note in report.warnings),
                "</ul></section>",
            ]
            if report.warnings
            else []
        ),
        f"<footer>seldon-doctor {escape(__version__)} · read-only: it never changes a "
        "cluster</footer>",
        "</main></body></html>",
    ]
    return "\n".join(body) + "\n"


def _anchors(report: Report) -> tuple[dict[str, str], dict[int, str], dict[str, str]]:
    """In-page anchors: graph node -> its first finding, id(finding) -> its own, key -> its own."""
    anchors: dict[str, str] = {}
    by_finding: dict[int, str] = {}  # id(finding) -> its anchor
    causes: dict[str, str] = {}  # finding key -> its anchor
    for index, finding in enumerate(report.findings, 1):
        anchor = f"f-{index}"
        by_finding[id(finding)] = anchor
        causes.setdefault(finding.key, f"#{anchor}")
        ref = finding.resource
        node = (
            f"{ref.kind}/{ref.namespace}/{ref.name}" if ref.namespace else f"{ref.kind}/{ref.name}"
        )
        anchors.setdefault(node, f"#{anchor}")
        if ref.kind == "Namespace":
            anchors.setdefault(f"Namespace/{ref.name}", f"#{anchor}")
    return anchors, by_finding, causes


def _articles(report: Report, by_finding: dict[int, str], causes: dict[str, str]) -> list[str]:
    # Each root, then the findings it causes, indented under "1 problem, N consequences".
    articles = []
    for group in causal_groups(report.findings):
        articles.append(_finding(group.root, by_finding[id(group.root)], causes=causes))
        if group.consequences:
            count = len(group.consequences)
            articles.append(
                f'<div class="consequences" data-root="{escape(group.root.key)}">'
                f'<p class="dim">1 problem, {counted(count, "consequence")} '
                f"(they resolve when <code>{escape(group.root.key)}</code> is fixed):</p>"
            )
            articles += [_finding(c, by_finding[id(c)], causes=causes) for c in group.consequences]
            articles.append("</div>")
    return articles


def _meta_and_notes(report: Report, options: RenderOptions) -> tuple[list[str], list[str]]:
    """The header's one-line facts, and its notes on what is not listed."""
    meta = [
        f"{counted(report.object_count, 'object')} in "
        f"{counted(len(report.namespaces), 'namespace')}",
        f"{report.mode} mode",
        f"checks run: {', '.join(report.checks_run) or 'none'}",
        f"exit code {options.exit_code}",
    ]
    if options.duration is not None:
        meta.append(f"scan took {options.duration:.2f}s")
    if options.timestamp is not None:
        when = dt.datetime.fromtimestamp(options.timestamp, tz=dt.UTC)
        meta.append(f"generated {when.strftime('%Y-%m-%d %H:%M:%S UTC')}")
    notes = []
    if report.baselined:
        notes.append(
            f"{counted(report.baselined, 'finding')} already in the baseline "
            f"{'is' if report.baselined == 1 else 'are'} not listed."
        )
    if report.hidden:
        notes.append(
            f"{counted(report.hidden, 'finding')} below --min-severity "
            f"{'is' if report.hidden == 1 else 'are'} not listed."
        )
    if options.config is not None:
        by_config = sum(1 for s in report.suppressed if s.kind == "config")
        notes.append(options.config.describe(by_config) + ".")
    return meta, notes


def render(report: Report, options: RenderOptions) -> str:
    """Renderer entry point (see seldon_doctor.render.FORMATS)."""
    return render_html(report, options)
