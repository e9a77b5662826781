"""Generated artefacts (deploy/ RBAC and PrometheusRules, the README and deploy/README tables)
are current.

``scripts/generate.py --check`` is what CI runs before pytest; this runs the same so a local
``pytest`` fails too, and proves the check notices a stale file.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "generate.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_files_are_current() -> None:
    stale = [path.relative_to(ROOT).as_posix() for path, _, _ in _load().stale()]
    assert not stale, f"stale generated files {stale}; run: python scripts/generate.py"


def test_check_mode_exits_zero_when_current() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_covers_the_rbac_files_the_prometheus_rules_the_tables_and_the_type_and_read_lists() -> (
    None
):
    names = {p.relative_to(ROOT).as_posix() for p in _load().artefacts()}
    assert names == {
        "README.md",
        "deploy/README.md",
        "deploy/base/clusterrole.yaml",
        "deploy/base/clusterrolebinding.yaml",
        "deploy/base/role-namespaced.yaml",
        "deploy/base/serviceaccount.yaml",
        "deploy/exporter/prometheusrule.yaml",
        "deploy/cronjob/prometheusrule.yaml",
        "seldon_doctor/domain/envoy_types.txt",
        "seldon_doctor/checks/reads.txt",
        "seldon_doctor/_catalog.json",
    }


def test_check_mode_reports_a_stale_table(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    generate = _load()
    real = Path.read_text

    def doctored(self: Path, *args: object, **kwargs: object) -> str:
        text = real(self, *args, **kwargs)  # type: ignore[arg-type]
        if self == ROOT / "deploy" / "README.md":
            return text.replace("SD509", "SD5O9")
        if self == ROOT / "README.md":
            return text.replace("| SD101 | model-server-not-found | error |", "| SD101 | x | y |")
        return text

    monkeypatch.setattr(Path, "read_text", doctored)
    assert generate.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "stale: deploy/README.md" in err and "stale: README.md" in err
    assert "+| SD101 | model-server-not-found | error |" in err


def test_readme_table_keeps_prose_and_adds_missing_rows() -> None:
    generate = _load()
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| SD101 |"))
    assert generate.readme(text.replace(row + "\n", "")) == text.replace(
        row, row.rsplit(" | ", 1)[0] + " | " + _title("SD101") + " |"
    )
    assert generate.readme(text) == text


def _title(check_id: str) -> str:
    from seldon_doctor.catalog import load_docs

    return load_docs()[check_id].title


def test_an_edited_rule_file_makes_both_prometheus_rules_and_the_alert_table_stale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    generate = _load()
    real = Path.read_text
    rules = ROOT / "deploy" / "monitoring" / "findings.rules.yml"

    def doctored(self: Path, *args: object, **kwargs: object) -> str:
        text = real(self, *args, **kwargs)  # type: ignore[arg-type]
        return text.replace("for: 10m", "for: 20m") if self == rules else text

    monkeypatch.setattr(Path, "read_text", doctored)
    stale = {path.relative_to(ROOT).as_posix(): wanted for path, _, wanted in generate.stale()}
    assert set(stale) == {
        "deploy/README.md",
        "deploy/exporter/prometheusrule.yaml",
        "deploy/cronjob/prometheusrule.yaml",
    }
    assert "| critical | 20m |" in stale["deploy/README.md"]
    assert "for: 20m" in stale["deploy/cronjob/prometheusrule.yaml"]
