"""A .seldon-doctor.yaml narrows the scan only from inside the repository (or $HOME), and every
output says which config was applied and what it removed.

A config planted in an ancestor folder (``/tmp``, a parent of every checkout) with
``select: [SD004]`` used to turn a failing scan into "No problems found", exit 0.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seldon_doctor.suppress import CONFIG_NAME, find_config
from tests.conftest import FIXTURES, ROOT

SD102 = str(FIXTURES / "checks" / "SD102" / "fires.yaml")
NARROW = "select: [SD004]\n"


def _scan(cwd: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "seldon_doctor", "scan", "-f", SD102, "--complete", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
        env=env,
    )


def test_a_config_above_the_repository_is_not_used(tmp_path: Path) -> None:
    (tmp_path / CONFIG_NAME).write_text(NARROW)
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    work = repo / "deploy"
    work.mkdir()
    result = _scan(work, tmp_path / "home", "-o", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert "config" not in report
    assert report["summary"]["errors"] + report["summary"]["warnings"] > 0


def test_a_config_above_home_is_not_used(tmp_path: Path) -> None:
    (tmp_path / CONFIG_NAME).write_text(NARROW)
    home = tmp_path / "home"
    work = home / "project"
    work.mkdir(parents=True)
    assert find_config(work, home=home) is None
    (home / CONFIG_NAME).write_text(NARROW)
    assert find_config(work, home=home) == home / CONFIG_NAME


def test_outside_any_repository_or_home_only_the_working_directory_counts(tmp_path: Path) -> None:
    (tmp_path / CONFIG_NAME).write_text(NARROW)
    work = tmp_path / "shared" / "scratch"
    work.mkdir(parents=True)
    assert find_config(work, home=tmp_path / "elsewhere") is None
    assert find_config(tmp_path, home=tmp_path / "elsewhere") == tmp_path / CONFIG_NAME


def test_every_output_says_which_config_removed_what(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    config = repo / CONFIG_NAME
    config.write_text(
        "select: [SD004, SD102]\n"
        "suppressions:\n  - {check: SD102, resource: 'Model/fraud/vision', reason: later}\n"
    )
    work = repo / "a" / "b"
    work.mkdir(parents=True)
    out = tmp_path / "out"
    out.mkdir()
    outputs = ",".join(f"{f}={out / f}" for f in ("json", "sarif", "markdown", "html", "table"))
    result = _scan(work, tmp_path / "home", "-o", outputs)
    assert result.returncode == 1, result.stderr
    path = str(config.resolve())
    assert path in result.stderr  # the note on stderr
    report = json.loads((out / "json").read_text())
    applied = report["config"]
    assert applied["path"] == path
    assert applied["select"] == ["SD004", "SD102"]
    assert "SD501" in applied["checks_removed"] and "SD102" not in applied["checks_removed"]
    assert applied["findings_suppressed"] == 1
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "seldon_doctor" / "schema" / "report.schema.json").read_text())
    jsonschema.validate(report, schema)
    sarif = json.loads((out / "sarif").read_text())
    assert sarif["runs"][0]["properties"]["config"]["path"] == path
    for fmt in ("markdown", "html", "table"):
        text = (out / fmt).read_text()
        assert "applied" in text and "SD501" in text, fmt
    assert f"Config {path} applied" in (out / "table").read_text().replace("\n", " ")


def test_no_config_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    result = _scan(tmp_path, tmp_path, "-o", "json")
    assert "config" not in json.loads(result.stdout)
    assert "applied" not in result.stderr
