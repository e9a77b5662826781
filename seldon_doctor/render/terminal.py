"""The terminal report: findings grouped by severity, evidence, the fix, and the plan.

Every string from the input goes through ``rich.text.Text`` (never markup), so a model named
``[bold]x`` prints as itself, and through :func:`seldon_doctor.render.safe.safe_text`, so an
escape sequence in it prints as ``\x1b`` instead of driving the terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.constrain import Constrain
from rich.padding import Padding
from rich.rule import Rule
from rich.text import Text

from seldon_doctor.catalog import CheckDoc, Playbook
from seldon_doctor.findings import (
    CausalGroup,
    Finding,
    Severity,
    causal_counts,
    causal_groups,
    counted,
)
from seldon_doctor.render import RenderOptions
from seldon_doctor.render.safe import safe_line, safe_text

if TYPE_CHECKING:  # the engine imports every check: too slow for `checks`
    from seldon_doctor.engine import Report
    from seldon_doctor.plan import PlanEntry
    from seldon_doctor.suppress import AppliedConfig


def _syntax(code: str, lexer: str, **kwargs: Any) -> RenderableType:
    """rich's Syntax, imported on first use (pygments costs start-up time)."""
    from rich.syntax import Syntax

    return Syntax(safe_text(code), lexer, **kwargs)


# Piped output is not hard-wrapped: a pipe feeds grep, a file, a pager or a program, which wrap
# (or not) themselves, and a break inside a path, URL or command makes it wrong when copied.
# rich wraps at the console width, so pipes get a width no line reaches; what is too long even
# for that is broken at a space, never inside a word shorter than it.
PIPE_WIDTH = 4000
RULE_WIDTH = 100  # section rules stay this wide on a pipe


class StripTrailing:
    """A text stream that drops trailing whitespace from every line (rich pads lines to the
    console width; on a pipe that is thousands of spaces)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._partial = ""

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        if lines:
            self._stream.write("\n".join(line.rstrip() for line in lines) + "\n")
        return len(text)

    def flush(self) -> None:
        if self._partial:
            self._stream.write(self._partial.rstrip())
            self._partial = ""
        self._stream.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return int(self._stream.fileno())


def rule(console: Console, title: str | Text = "", style: str = "rule.line") -> RenderableType:
    """A section rule (``style`` colours the line, not only the title), at most RULE_WIDTH
    wide on a pipe."""
    line = Rule(title, style=style)
    return Constrain(line, RULE_WIDTH) if console.width >= PIPE_WIDTH else line


_ICON = {Severity.ERROR: "✖", Severity.WARNING: "▲", Severity.INFO: "•"}
_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "bold yellow", Severity.INFO: "cyan"}
_LINE = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def _finding_head(finding: Finding, indent: str = "") -> Text:
    """The line that names a finding: severity, id, slug, resource, and where in the input."""
    head = Text(indent)
    head.append(f"{_ICON[finding.severity]} {finding.check_id} ", style=_STYLE[finding.severity])
    head.append(safe_line(finding.slug), style="bold")
    head.append("  ")
    head.append(safe_line(str(finding.resource)))
    if finding.location is not None:
        where = finding.location.file + (
            f":{finding.location.line}" if finding.location.line else ""
        )
        head.append(f"  {safe_line(where)}", style="dim")
    return head


def _finding_block(finding: Finding, *, show_evidence: bool = True) -> RenderableType:
    head = _finding_head(finding)
    message = Text(safe_text(finding.message))
    parts: list[RenderableType] = [head, Padding(message, (0, 0, 0, 2), expand=False)]
    if show_evidence and finding.evidence:
        evidence = Text("evidence:\n", style="dim")
        for item in finding.evidence:
            evidence.append(f"  • {safe_text(item.describe())}\n", style="dim")
        evidence.rstrip()
        parts.append(Padding(evidence, (0, 0, 0, 2), expand=False))
    from seldon_doctor.plan import plan_for  # explain and checks print no finding

    plan = plan_for(finding)
    if plan is not None:
        fix = Text("fix: ", style="green")
        fix.append(safe_text(plan.summary))
        fix.append(f"  (seldon-doctor explain {finding.check_id})", style="dim")
        parts.append(Padding(fix, (0, 0, 0, 2), expand=False))
    return Group(*parts)


def _consequence_block(finding: Finding) -> RenderableType:
    """A consequence under its root: what and where, the message, its causes; no fix of its own."""
    head = _finding_head(finding, "    ↳ ")
    body = Text(safe_text(finding.message))
    causes = Text(safe_text("caused by: " + ", ".join(finding.caused_by)), style="dim")
    return Group(
        head,
        Padding(body, (0, 0, 0, 6), expand=False),
        Padding(causes, (0, 0, 0, 6), expand=False),
    )


def _print_group(group: CausalGroup, console: Console) -> None:
    console.print(_finding_block(group.root))
    if group.consequences:
        count = len(group.consequences)
        line = Text(f"  1 problem, {counted(count, 'consequence')}", style="bold")
        line.append(f" (they resolve when {group.root.key} is fixed):", style="dim")
        console.print(line)
        for finding in group.consequences:
            console.print(_consequence_block(finding))
    console.print()


def render_report(
    report: Report,
    console: Console,
    *,
    show_plan: bool = False,
    config: AppliedConfig | None = None,
) -> None:
    """Print the whole report: each root cause with its consequences under it (and the footer
    line naming the applied config, if any)."""
    _print_findings(report, console)
    if report.whatif is not None:
        _render_fixed(report, console)
    if report.not_evaluated:
        console.print(
            rule(console, Text(f"not evaluated ({len(report.not_evaluated)})", style="dim"), "dim")
        )
        for finding in report.not_evaluated:
            console.print(Text(f"• {safe_text(finding.message)}", style="dim"))
    other_gaps = [gap for gap in report.gaps if gap not in report.unread_clusters]
    if other_gaps:
        console.print(
            rule(console, Text(f"not read ({len(other_gaps)})", style="yellow"), "yellow")
        )
        for gap in other_gaps:
            where = f" [{gap.namespace}]" if gap.namespace else ""
            text = safe_text(f"• {gap.what}{where}: {gap.reason}")
            console.print(Text(text, style="yellow"))
    if report.warnings:
        # Notes about the input (files skipped, duplicates, unknown apiVersions), not findings:
        # named apart from the findings' "warnings" section.
        title = Text(f"input notes ({len(report.warnings)})", style="dim")
        console.print(rule(console, title, "dim"))
        for warning in report.warnings:
            console.print(Text(f"• {safe_text(warning)}", style="dim"))
    if show_plan and report.findings:
        from seldon_doctor.plan import build_plan

        render_plan(build_plan(report.findings), console)
    summary = _summary(report)
    console.print(rule(console))
    console.print(summary)
    if config is not None:
        suppressed = sum(1 for s in report.suppressed if s.kind == "config")
        console.print(Text(safe_text(config.describe(suppressed)), style="dim"))
    if report.findings and not show_plan:
        console.print(Text("Run with --plan for the step-by-step remediation plan.", style="dim"))


def _print_findings(report: Report, console: Console) -> None:
    """Each root cause by severity with its consequences, or why there are none."""
    if report.findings:
        groups = causal_groups(report.findings)
        for severity in (Severity.ERROR, Severity.WARNING, Severity.INFO):
            section = [g for g in groups if g.root.severity == severity]
            if not section:
                continue
            effects = sum(len(g.consequences) for g in section)
            title = f"{severity.value}s ({len(section)})"
            if effects:
                title = (
                    f"{severity.value}s ({counted(len(section), 'problem')}, "
                    f"{counted(effects, 'consequence')})"
                )
            console.print(rule(console, Text(title, style=_STYLE[severity]), _LINE[severity]))
            for group in section:
                _print_group(group, console)
    elif report.unread_clusters:
        # Never an all-clear when a whole cluster was not read: say what was not checked.
        for gap in report.unread_clusters:
            name = gap.what.split(":", 1)[1]
            console.print(
                Text(
                    safe_text(f"✘ Cluster {name} was not checked: {gap.reason}"),
                    style="bold yellow",
                )
            )
    elif report.gaps:
        console.print(
            Text(
                "No problems found in what could be read; some inputs were not read (below).",
                style="yellow",
            )
        )
    else:
        console.print(Text("✔ No problems found by the checks that ran.", style="bold green"))


def _summary(report: Report) -> Text:
    """The one-line summary of counts under the report."""
    counts = report.counts()
    summary = Text()
    summary.append(
        counted(counts["error"], "error"), style=_STYLE[Severity.ERROR] if counts["error"] else ""
    )
    summary.append(f", {counted(counts['warning'], 'warning')}, {counts['info']} info")
    roots, consequences = causal_counts(report.findings)
    if consequences:
        summary.append(f" ({counted(roots, 'root cause')}, {counted(consequences, 'consequence')})")
    summary.append(f", {len(report.not_evaluated)} not evaluated")
    if report.suppressed:
        summary.append(f", {len(report.suppressed)} suppressed")
    if report.baselined:
        summary.append(f", {report.baselined} baselined")
    if report.hidden:
        summary.append(f", {report.hidden} below --min-severity")
    if report.gaps:
        summary.append(
            f", {counted(len(report.gaps), 'input')} not read — the scan is partial",
            style="yellow",
        )
    summary.append(
        f" · {counted(report.object_count, 'object')} in "
        f"{counted(len(report.namespaces), 'namespace')} · "
        f"{report.mode} mode",
        style="dim",
    )
    return summary


def _render_fixed(report: Report, console: Console) -> None:
    """What-if gate: the findings the change resolves, and what it was judged against."""
    info = report.whatif or {}
    title = Text(f"Fixed by this change ({len(report.fixed)})", style="green")
    console.print(rule(console, title, "green"))
    for finding in sorted(report.fixed, key=Finding.sort_key):
        line = Text(f"✔ {finding.check_id} ", style="green")
        line.append(f"{finding.slug}  {finding.resource}")
        console.print(line)
        console.print(Padding(Text(finding.message, style="dim"), (0, 0, 0, 2), expand=False))
    console.print(
        Text(
            f"What-if against {info.get('against', '?')}: {info.get('introduced', 0)} "
            f"introduced, {info.get('fixed', 0)} fixed, {info.get('unchanged', 0)} already "
            "there (not reported).",
            style="dim",
        )
    )


def render_text(report: Report, options: RenderOptions) -> str:
    """Plain text (no colour, no line padding): for pipes, files and golden tests."""
    import io

    buffer = io.StringIO()
    console = Console(
        file=buffer, no_color=True, highlight=False, width=PIPE_WIDTH, soft_wrap=False
    )
    render_report(report, console, show_plan=options.show_plan, config=options.config)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def render_plan(entries: list[PlanEntry], console: Console) -> None:
    """The deduplicated, dependency-ordered remediation plan."""
    console.print(rule(console, Text("remediation plan", style="bold green"), "green"))
    console.print(
        Text(
            "Ordered by dependency: scheduler topology before Services, scheduling, then routes. "
            "The doctor prints these steps; it never runs them.",
            style="dim",
        )
    )
    for number, entry in enumerate(entries, 1):
        console.print()
        title = Text(f"{number}. ", style="bold")
        title.append(safe_text(entry.plan.summary), style="bold")
        title.append(f"  [{entry.plan.check_id}]", style="dim")
        console.print(title)
        resources = ", ".join(safe_line(str(r)) for r in entry.resources)
        console.print(Text("   for: " + resources, style="dim"))
        if entry.resolves_with:
            console.print(
                Text(
                    f"   resolves with {', '.join(entry.resolves_with)}: no steps of its own",
                    style="dim",
                )
            )
        for index, step in enumerate(entry.plan.steps, 1):
            console.print(Text(f"   {number}.{index} {safe_text(step.title)}"))
            if step.run:
                console.print(
                    Padding(_syntax(step.run, "bash", word_wrap=True), (0, 0, 0, 6), expand=False)
                )
            if step.manifest:
                console.print(
                    Padding(_syntax(step.manifest.rstrip(), "yaml"), (0, 0, 0, 6), expand=False)
                )
            if step.note:
                note = Text(safe_text(step.note), style="italic")
                console.print(Padding(note, (0, 0, 0, 6), expand=False))
        verify = Text("   verify: ", style="green")
        verify.append(safe_text(entry.plan.verify.title))
        console.print(verify)
        if entry.plan.verify.run:
            console.print(
                Padding(
                    _syntax(entry.plan.verify.run, "bash", word_wrap=True),
                    (0, 0, 0, 6),
                    expand=False,
                )
            )
        console.print(Text(f"   risk: {safe_text(entry.plan.risk)}", style="dim"))
        console.print(Text(f"   rollback: {safe_text(entry.plan.rollback)}", style="dim"))


def render_catalog(docs: list[CheckDoc], reads: dict[str, list[str]], console: Console) -> None:
    from rich.table import Table  # the catalog's alone: explain's start-up need not load it

    table = Table(show_lines=False, header_style="bold")
    table.add_column("id", no_wrap=True)
    table.add_column("slug", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("title")
    for doc in docs:
        table.add_row(
            doc.id,
            doc.slug,
            Text(doc.severity.value, style=_STYLE[doc.severity]),
            Text(doc.title),
        )
    console.print(table)


def render_explain(
    doc: CheckDoc, book: Playbook | None, reads: list[str], console: Console
) -> None:
    from rich.markdown import Markdown

    head = Text(f"{doc.id} {doc.slug}", style="bold")
    head.append(f"  ({doc.severity.value}, {doc.category}, since {doc.since})", style="dim")
    console.print(head)
    console.print(Text(doc.title, style="italic"))
    if reads:
        console.print(Text("reads: " + ", ".join(reads), style="dim"))
    console.print(Markdown(doc.body))
    if book is None:
        return
    console.print(rule(console, Text("playbook", style="bold green"), "green"))
    console.print(Text(book.summary))
    for index, step in enumerate(book.steps, 1):
        console.print(Text(f"{index}. {step.title}"))
        if step.run:
            console.print(
                Padding(_syntax(step.run, "bash", word_wrap=True), (0, 0, 0, 3), expand=False)
            )
        if step.manifest:
            console.print(
                Padding(_syntax(step.manifest.rstrip(), "yaml"), (0, 0, 0, 3), expand=False)
            )
        if step.note:
            console.print(Padding(Text(step.note, style="italic"), (0, 0, 0, 3), expand=False))
    console.print(Text(f"verify: {book.verify.title}", style="green"))
    if book.verify.run:
        console.print(
            Padding(_syntax(book.verify.run, "bash", word_wrap=True), (0, 0, 0, 3), expand=False)
        )
    console.print(Text(f"risk: {book.risk}", style="dim"))
    console.print(Text(f"rollback: {book.rollback}", style="dim"))
