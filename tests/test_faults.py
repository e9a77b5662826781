"""Faults: a check that raises costs only its own findings; the CLI never shows a traceback
unless asked; the synthetic estate's injected faults are all found."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from seldon_doctor import cli as cli_module
from seldon_doctor.checks import ALL_CHECKS
from seldon_doctor.checks.base import CheckContext
from seldon_doctor.engine import INTERNAL_ERROR, run_checks
from seldon_doctor.findings import Finding
from seldon_doctor.graph.build import build_graph
from tests.conftest import FIXTURES, load_case

ROOT = Path(__file__).resolve().parent.parent
SPLIT_BRAIN = FIXTURES / "checks" / "SD501" / "fires.yaml"


def _boom(self: Any, ctx: CheckContext) -> Iterator[Finding]:
    raise RuntimeError("synthetic failure in a check")
    yield  # pragma: no cover


def _victim() -> type:
    return next(cls for cls in ALL_CHECKS if cls.id == "SD501")


def _keys(findings: list[Finding]) -> set[tuple[str, str, str]]:
    return {(f.check_id, str(f.resource), f.message) for f in findings}


def test_raising_check_becomes_sd001_and_the_rest_is_complete(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    normal = run_checks(build_graph(load_case(SPLIT_BRAIN)))
    monkeypatch.setattr(_victim(), "run", _boom)
    broken = run_checks(build_graph(load_case(SPLIT_BRAIN)))
    internal = [f for f in broken.findings if f.check_id == INTERNAL_ERROR]
    assert len(internal) == 1
    assert "SD501" in internal[0].message and "RuntimeError" in internal[0].message
    assert "synthetic failure in a check" in internal[0].message
    assert not any(e.subject == "traceback" for e in internal[0].evidence)
    expected = {k for k in _keys(normal.findings) if k[0] != "SD501"}
    got = {k for k in _keys(broken.findings) if k[0] != INTERNAL_ERROR}
    assert expected == got
    assert any(k[0] == "SD501" for k in _keys(normal.findings))
    assert broken.checks_run == normal.checks_run


def test_traceback_only_with_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_victim(), "run", _boom)
    report = run_checks(build_graph(load_case(SPLIT_BRAIN)), debug=True)
    internal = next(f for f in report.findings if f.check_id == INTERNAL_ERROR)
    traceback = next(e for e in internal.evidence if e.subject == "traceback")
    assert "Traceback" in str(traceback.value) and "_boom" in str(traceback.value)


def test_cli_debug_flag_controls_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_victim(), "run", _boom)
    runner = CliRunner()
    plain = runner.invoke(cli_module.cli, ["scan", "-f", str(SPLIT_BRAIN), "-o", "json"])
    debug = runner.invoke(cli_module.cli, ["scan", "-f", str(SPLIT_BRAIN), "-o", "json", "--debug"])
    assert plain.exit_code == debug.exit_code == 1
    for result, wants_traceback in ((plain, False), (debug, True)):
        report = json.loads(result.stdout)
        internal = [f for f in report["findings"] if f["id"] == INTERNAL_ERROR]
        assert len(internal) == 1
        assert ("Traceback" in json.dumps(internal[0])) is wants_traceback
        assert any(f["id"] == "SD502" for f in report["findings"])


def test_unexpected_exception_is_exit_4_and_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("graph exploded")

    monkeypatch.setattr("seldon_doctor.graph.build.build_graph", explode)
    monkeypatch.delenv("SELDON_DOCTOR_DEBUG", raising=False)
    with pytest.raises(SystemExit) as info:
        cli_module.main(["scan", "-f", str(SPLIT_BRAIN), "-o", "json"])
    assert info.value.code == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "internal error: ZeroDivisionError: graph exploded" in err[0]
    assert "SELDON_DOCTOR_DEBUG=1" in err[0]


def test_debug_env_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("graph exploded")

    monkeypatch.setattr("seldon_doctor.graph.build.build_graph", explode)
    monkeypatch.setenv("SELDON_DOCTOR_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        cli_module.main(["scan", "-f", str(SPLIT_BRAIN), "-o", "json"])


def test_cli_subprocess_internal_error_one_line(tmp_path: Path) -> None:
    """A real process: an unexpected exception is one stderr line and exit 4."""
    script = (
        "import seldon_doctor.graph.build as b\n"
        "def boom(*a, **k):\n    raise KeyError('kaputt')\n"
        "b.build_graph = boom\n"
        "from seldon_doctor.cli import main\n"
        f"main(['scan', '-f', {str(SPLIT_BRAIN)!r}, '-o', 'json'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "SELDON_DOCTOR_DEBUG"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 4
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**env, "SELDON_DOCTOR_DEBUG": "1"},
        check=False,
    )
    assert "Traceback" in result.stderr and "kaputt" in result.stderr


def _make_estate() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_estate", ROOT / "bench" / "make_estate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_estate"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def test_generated_estate_faults_are_all_found(tmp_path: Path) -> None:
    """The generator's fault manifest is the scan's truth: every injected fault is reported,
    and the healthy namespaces stay quiet."""
    make_estate = _make_estate()
    manifest = make_estate.generate(
        tmp_path,
        namespaces=12,
        models=120,
        servers=24,
        seed=7,
        faults="capability-typo=2,split-brain=1,missing-route=2,dangling-alias=1,replicas-2=1",
    )
    assert len(manifest["faults"]) == 7
    again = make_estate.generate(
        tmp_path / "again",
        namespaces=12,
        models=120,
        servers=24,
        seed=7,
        faults="capability-typo=2,split-brain=1,missing-route=2,dangling-alias=1,replicas-2=1",
    )
    assert again["faults"] == manifest["faults"], "not deterministic from the seed"
    files = [str(tmp_path / "manifests")]
    dumps = manifest["dump_args"]
    try:
        import seldon_doctor.sources.envoy_dump  # noqa: F401
    except ImportError:
        dumps = []
    from seldon_doctor.sources.collect import ScanInputs, collect_files

    snapshot = collect_files(ScanInputs(files=files, envoy_dumps=dumps))
    report = run_checks(build_graph(snapshot))
    found = {(f.check_id, str(f.resource)) for f in report.findings}
    assert not [f for f in report.findings if f.check_id == INTERNAL_ERROR]
    for fault in manifest["faults"]:
        if fault["check_id"] == "SD601" and not dumps:
            continue
        assert (fault["check_id"], fault["resource"]) in found, fault
    faulty = {f["namespace"] for f in manifest["faults"]}
    faulty.add("ns-0000")  # the split brain's target namespace shares names with its source
    noisy = {
        (f.check_id, str(f.resource))
        for f in report.findings
        if f.resource.namespace and f.resource.namespace not in faulty
    }
    assert not noisy, sorted(noisy)
