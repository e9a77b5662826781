"""A cluster that cannot be read is one cause, said once, against real sockets.

An unreachable API server used to print hundreds of lines under an all-clear headline; a
refused connection read as "timed out"; a server that accepts and never answers cost the whole
--timeout on GET /version.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from seldon_doctor.cli import cli
from seldon_doctor.sources import live
from tests.dataplane.procs import free_port  # nothing listens there: connecting is refused


def _kubeconfig(path: Path, server: str) -> str:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "far", "cluster": {"server": server}}],
        "users": [{"name": "far", "user": {"token": "t"}}],
        "contexts": [{"name": "far", "context": {"cluster": "far", "user": "far"}}],
        "current-context": "far",
    }
    path.write_text(yaml.safe_dump(config))
    return str(path)


def _scan(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["scan", "--no-color", *args])
    return result.exit_code, result.stdout, result.stderr


def test_refused_cluster_is_one_gap_one_line_and_no_all_clear(tmp_path: Path) -> None:
    config = _kubeconfig(tmp_path / "kc", f"http://127.0.0.1:{free_port()}")
    code, out, err = _scan("--kubeconfig", config)
    assert code == 3
    assert "No problems found" not in out and "✔" not in out
    assert "Cluster far was not checked" in out and "connection refused" in out
    assert "timed out" not in out + err
    assert "not evaluated (" not in out  # no per-check notes repeating the one cause
    notes = [line for line in err.splitlines() if line.strip()]
    assert notes == [notes[0]] and "cluster far could not be read" in notes[0]

    code, out, _ = _scan("--kubeconfig", config, "-o", "json", "--quiet")
    import json

    report = json.loads(out)
    assert [g["what"] for g in report["gaps"]] == ["cluster:far"]
    assert report["not_evaluated"] == [] and report["findings"] == []
    assert report["summary"]["exit_code"] == 3


def test_server_that_never_answers_is_bounded_by_discovery_not_the_timeout(
    tmp_path: Path, silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "DISCOVERY_TIMEOUT", 1.0)
    config = _kubeconfig(tmp_path / "kc", f"http://127.0.0.1:{silent_server}")
    started = time.monotonic()
    code, out, _ = _scan("--kubeconfig", config, "--timeout", "60")
    took = time.monotonic() - started
    assert code == 3
    assert took < 10, f"discovery took {took:.1f} s: it must not wait for --timeout"
    assert "timed out" in out and "discovery waits 1 s" in out
    assert "connection refused" not in out
