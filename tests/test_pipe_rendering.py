"""What a pipe and a terminal get: Markdown lists end where the source says, piped text is
neither padded nor broken inside words, section rules take their section's colour, and counts
are English (issue 16)."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from seldon_doctor.catalog import data_root, load_playbooks
from seldon_doctor.engine import run_checks
from seldon_doctor.findings import counted
from seldon_doctor.graph.build import build_graph
from seldon_doctor.render import RenderOptions
from seldon_doctor.render.terminal import render_report, render_text
from tests.conftest import FIXTURES, load_case

ROOT = Path(__file__).resolve().parent.parent
LIST_ITEM = re.compile(r"\s*([-*+]|\d+[.)])\s")


def _explain(check: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "seldon_doctor", "explain", check],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    return result.stdout


def lazy_continuations(text: str) -> list[str]:
    """Lines that CommonMark (rich, GitHub) folds into the list item above them: unindented
    text right after an item, with no blank line between."""
    found, in_item, fence = [], False, False
    for line in text.splitlines():
        if line.startswith("```"):
            fence, in_item = not fence, False
        elif fence:
            continue
        elif LIST_ITEM.match(line):
            in_item = True
        elif not line.strip():
            in_item = False
        elif in_item and not line.startswith((" ", "|")):
            found.append(line)
            in_item = False
    return found


def test_no_check_doc_folds_a_paragraph_into_a_list_item() -> None:
    for path in sorted((data_root() / "checks").glob("SD*.md")):
        assert lazy_continuations(path.read_text()) == [], path.name


@pytest.mark.parametrize(
    ("check", "paragraph"),
    [("SD501", "Each name is resolved"), ("SD508", "Model-server images")],
)
def test_explain_ends_the_list_before_the_paragraph(check: str, paragraph: str) -> None:
    lines = _explain(check).splitlines()
    index = next(i for i, line in enumerate(lines) if paragraph in line)
    assert lines[index].startswith(paragraph), lines[index]
    assert lines[index - 1] == "", "a blank line separates the list from the paragraph"


def test_piped_explain_has_no_padding_and_keeps_commands_whole() -> None:
    text = _explain("SD501")
    assert [line for line in text.splitlines() if line != line.rstrip()] == []
    book = load_playbooks()["SD501"]
    for step in book.steps:
        for command in (step.run or "").splitlines():
            assert command.strip() in text, command  # one line, not folded at 100 columns


def _report(case: str):  # type: ignore[no-untyped-def]
    snapshot = load_case(FIXTURES / "clusters" / case)
    return run_checks(build_graph(snapshot))


def test_piped_report_lines_are_whole_and_unpadded() -> None:
    report = _report("capability-mismatch")
    text = render_text(report, RenderOptions(exit_code=0))
    assert [line for line in text.splitlines() if line != line.rstrip()] == []
    # The file path stays on the finding's line, not folded under it.
    assert re.search(r"SD102 model-requirements-unsatisfied .*40-models-fraud\.yaml:5\n", text)
    rules = [line for line in text.splitlines() if "───" in line]
    assert rules and all(len(line) <= 100 for line in rules)


def test_section_rules_take_the_section_colour() -> None:
    report = _report("capability-mismatch")
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="standard", width=100)
    render_report(report, console)
    rules = [line for line in buffer.getvalue().splitlines() if "errors (" in line]
    assert rules, buffer.getvalue()
    # Every dash of the errors rule is drawn red (31), none in rich's default green.
    assert "\x1b[31m─" in rules[0] and "\x1b[92m" not in rules[0], repr(rules[0])


def test_counts_are_singular_for_one() -> None:
    assert counted(1, "namespace") == "1 namespace" and counted(2, "object") == "2 objects"
    goldens = sorted((ROOT / "tests" / "golden").glob("*.txt"))
    summaries = [path.read_text().splitlines()[-1] for path in goldens]
    assert any(" in 1 namespace · " in line for line in summaries), summaries
    for line in summaries:
        assert "(s)" not in line, line
        assert not re.search(r"\b1 (namespaces|objects|errors|warnings|consequences)\b", line)
    report = _report("central-scheduler-healthy")
    summary = render_text(report, RenderOptions(exit_code=0)).splitlines()[-1]
    assert summary.startswith("0 errors, 0 warnings, 0 info"), summary
