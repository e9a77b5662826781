"""The docs' examples work: every ```python block of README.md and docs/*.md runs, and every
`seldon-doctor …` command line shown in a shell block parses with the options that exist.

A Python block that cannot run here says so, visibly, on the line above it:
``<!-- not-run: the reason -->`` (keep those rare). Command lines are parsed, not run (most
need a cluster): click builds the command's context from the arguments — unknown options, bad
choices and missing values fail — and scan's ``-o`` values go through its own parser.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest

from seldon_doctor.cli import cli
from seldon_doctor.cli.options import parse_outputs

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "deploy" / "README.md"]
FENCE = re.compile(r"^```(\w*)\s*$")
NOT_RUN = re.compile(r"<!--\s*not-run:\s*(.+?)\s*-->")
SHELL = {"bash", "console", "sh", "shell", "text", ""}
OPERATORS = {"|", "||", "&&", ";", "&", ">", ">>", "<", "2>", "(", ")"}


def code_blocks(path: Path) -> list[tuple[str, int, str, str | None]]:
    """(language, first line number, text, not-run reason) of every fenced block."""
    blocks = []
    lines = path.read_text().splitlines()
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        above = next((ln for ln in reversed(lines[:index]) if ln.strip()), "")
        reason = NOT_RUN.search(above)
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        body = "\n".join(lines[index + 1 : end])
        blocks.append((match.group(1), index + 2, body, reason.group(1) if reason else None))
        index = end + 1
    return blocks


def _python_blocks() -> list[pytest.param]:
    return [
        pytest.param(body, reason, id=f"{path.relative_to(ROOT)}:{line}")
        for path in DOCS
        for lang, line, body, reason in code_blocks(path)
        if lang == "python"
    ]


@pytest.mark.parametrize(("code", "reason"), _python_blocks())
def test_python_snippet_runs(code: str, reason: str | None, tmp_path: Path) -> None:
    if reason is not None:
        pytest.skip(f"marked not-run in the docs: {reason}")
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]


def command_lines(body: str) -> list[list[str]]:
    """The argument lists of every seldon-doctor invocation in a shell block (continuations
    joined, prompts and comments dropped, cut at pipes and redirections)."""
    commands = []
    text = re.sub(r"\\\n\s*", " ", body)
    for line in text.splitlines():
        line = re.sub(r"^\s*\$\s+", "", line)
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        try:
            tokens = list(lexer)
        except ValueError:  # an unclosed quote: prose in a text block, not a command
            continue
        segment: list[str] = []
        for token in [*tokens, ";"]:
            if token in OPERATORS or token.startswith("#"):
                if segment:
                    commands.append(segment)
                segment = []
                if token.startswith("#"):
                    break
            else:
                segment.append(token)
    found = []
    for tokens in commands:
        if tokens[:2] == ["kubectl", "seldon-doctor"]:
            tokens = tokens[1:]
        if tokens and Path(tokens[0]).name in {"seldon-doctor", "kubectl-seldon_doctor"}:
            found.append(tokens[1:])
    return found


def yaml_run_scripts(body: str) -> str:
    """The shell of a GitHub Actions ``run:`` (inline or ``|`` block) in a YAML block."""
    scripts, lines = [], body.splitlines()
    for index, line in enumerate(lines):
        match = re.match(r"^(\s*)(?:- )?run:\s*(.*)$", line)
        if not match:
            continue
        indent, inline = len(match.group(1)), match.group(2)
        if inline not in ("|", ">"):
            scripts.append(inline)
            continue
        for following in lines[index + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            scripts.append(following)
    return "\n".join(scripts)


def _shell_commands() -> list[pytest.param]:
    params = []
    for path in DOCS:
        for lang, line, body, _ in code_blocks(path):
            shell = body if lang in SHELL else yaml_run_scripts(body) if lang == "yaml" else ""
            if shell:
                for args in command_lines(shell):
                    params.append(
                        pytest.param(args, id=f"{path.relative_to(ROOT)}:{line}:{' '.join(args)}")
                    )
    return params


def parse(args: list[str]) -> None:
    """Parse like the command line does, without running the command."""
    with cli.make_context("seldon-doctor", list(args)) as ctx:
        name, command, rest = cli.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
        assert command is not None, name
        with command.make_context(name, rest, parent=ctx) as sub:
            if name == "scan":
                parse_outputs(sub.params["outputs"])


def test_shell_blocks_show_commands() -> None:
    assert len(_shell_commands()) > 20, "the extraction found the docs' commands"


@pytest.mark.parametrize("args", _shell_commands())
def test_documented_command_parses(args: list[str]) -> None:
    try:
        parse(args)
    except click.ClickException as exc:
        pytest.fail(f"seldon-doctor {' '.join(args)}: {exc.format_message()}")


def test_a_wrong_option_is_caught() -> None:
    """The parse is strict: an option that does not exist, or a bad -o, fails."""
    for bad in (["scan", "--no-such-option"], ["scan", "-o", "yaml"], ["graph", "-o", "png"]):
        with pytest.raises(click.ClickException):
            parse(bad)
    assert command_lines("x | seldon-doctor scan -f - \\\n  -o json  # c\n") == [
        ["scan", "-f", "-", "-o", "json"]
    ]
