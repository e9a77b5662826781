"""Help text that is true for each command, and shell completion of check ids and formats,
through click's real completion protocol in a subprocess (issue 16)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from seldon_doctor.cli import cli
from seldon_doctor.cli.entry import prog_name

ROOT = Path(__file__).resolve().parent.parent


def _help(*command: str) -> str:
    return CliRunner(env={"COLUMNS": "200"}).invoke(cli, [*command, "--help"]).output


def _option_help(text: str, option: str) -> str:
    """The option's help, its wrapped lines joined."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(option))
    taken = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith(" " * 10):
            break
        taken.append(line)
    return " ".join(part.strip() for part in taken)


def test_graph_namespace_help_describes_files_not_a_live_cluster() -> None:
    line = _option_help(_help("graph"), "-n, --namespace")
    assert "objects that name none" in line and "Live" not in line


def test_trace_and_probe_document_namespace() -> None:
    for command in ("trace", "probe"):
        line = _option_help(_help(command), "-n, --namespace")
        assert "The namespace NAME is in" in line, (command, line)


def test_select_and_ignore_say_and_are_repeatable_and_comma_separated() -> None:
    text = _help("scan")
    for option in ("--select", "--ignore"):
        assert "Repeatable, or comma-separated" in _option_help(text, option)
    runner = CliRunner()
    args = ["scan", "--demo", "-q", "-o", "json"]
    repeated = runner.invoke(cli, [*args, "--select", "SD501", "--select", "SD601"]).stdout
    commas = runner.invoke(cli, [*args, "--select", "SD501,SD601"]).stdout
    assert repeated == commas and '"SD501"' in commas and '"SD601"' in commas
    assert '"SD502"' not in commas


def test_the_kubectl_plugin_names_itself_as_kubectl_calls_it(tmp_path: Path) -> None:
    assert prog_name("/usr/bin/kubectl-seldon_doctor") == "kubectl seldon-doctor"
    assert prog_name("/venv/bin/seldon-doctor") == "seldon-doctor"
    # Run as the console script would be: argv[0] is the plugin's file name.
    script = tmp_path / "kubectl-seldon_doctor"
    script.write_text(f"#!{sys.executable}\nfrom seldon_doctor.cli import main\nmain()\n")
    script.chmod(0o755)
    result = subprocess.run(
        [str(script), "scan", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.stdout.startswith("Usage: kubectl seldon-doctor scan "), result.stdout


def test_the_kubectl_plugin_names_itself_in_its_errors(tmp_path: Path) -> None:
    """An error line names the command as the usage line does: the command the user typed."""
    script = tmp_path / "kubectl-seldon_doctor"
    script.write_text(f"#!{sys.executable}\nfrom seldon_doctor.cli import main\nmain()\n")
    script.chmod(0o755)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for args in (["scan", "--no-such-flag"], ["scan", "-f", str(tmp_path / "absent.yaml")]):
        result = subprocess.run(
            [str(script), *args], capture_output=True, text=True, timeout=60, check=False, env=env
        )
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("kubectl seldon-doctor: error: "), result.stderr
    # Under its own name nothing changes.
    result = subprocess.run(
        [sys.executable, "-m", "seldon_doctor", "scan", "--no-such-flag"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert result.stderr.startswith("seldon-doctor: error: "), result.stderr


def _complete(*words: str) -> list[str]:
    """What bash completion offers for the last of ``words`` (click's bash_complete protocol)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "_SELDON_DOCTOR_COMPLETE": "bash_complete",
        "COMP_WORDS": " ".join(("seldon-doctor", *words)),
        "COMP_CWORD": str(len(words)),
    }
    result = subprocess.run(
        [sys.executable, "-m", "seldon_doctor"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return [line.split(",", 1)[1] for line in result.stdout.splitlines()]


def test_completion_of_check_ids_slugs_and_lists() -> None:
    assert "SD501" in _complete("scan", "--select", "SD5")
    assert all(v.startswith("SD5") for v in _complete("scan", "--select", "SD5"))
    assert "SD501,SD601" in _complete("scan", "--ignore", "SD501,SD60")
    assert _complete("explain", "scheduler-spl") == ["scheduler-split-brain"]


def test_completion_of_output_formats() -> None:
    offered = _complete("scan", "-o", "js")
    assert offered == ["json", "json="]
    assert "table,sarif=" in _complete("scan", "-o", "table,sa")
    assert {"mermaid", "graphml"} <= set(_complete("graph", "-o", ""))
