"""The CLI contract: exit codes, one-line errors, JSON shape and determinism, --help speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from seldon_doctor.cli import main
from tests.conftest import FIXTURES

SD102_FIRES = str(FIXTURES / "checks" / "SD102" / "fires.yaml")
SD102_QUIET = str(FIXTURES / "checks" / "SD102" / "quiet.yaml")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_exit_codes_follow_fail_on(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "scan", "-f", SD102_FIRES)[0] == 1
    assert run(capsys, "scan", "-f", SD102_FIRES, "--fail-on", "never")[0] == 0
    assert run(capsys, "scan", "-f", SD102_QUIET)[0] == 0
    # SD002 (not evaluated: no Envoy dump) is info and never fails a gate, even at --fail-on info.
    code, out, _ = run(capsys, "scan", "-f", SD102_QUIET, "--fail-on", "info", "-o", "json")
    report = json.loads(out)
    assert code == 0
    assert report["not_evaluated"] and not report["findings"]


def test_json_contract_and_determinism(capsys: pytest.CaptureFixture[str]) -> None:
    _, first, _ = run(capsys, "scan", "-f", SD102_FIRES, "-o", "json")
    _, second, _ = run(capsys, "scan", "-f", SD102_FIRES, "-o", "json")
    assert first == second
    report = json.loads(first)
    assert report["schema_version"] == "1"
    finding = report["findings"][0]
    assert set(finding) >= {"id", "check", "severity", "resource", "message", "evidence", "plan"}
    assert finding["check"] == "model-requirements-unsatisfied"
    assert finding["resource"]["kind"] == "Model"
    assert finding["location"]["file"].endswith("fires.yaml")
    assert finding["plan"]["steps"] and finding["plan"]["verify"]
    assert report["summary"]["exit_code"] == 1


def test_json_validates_against_shipped_schema(capsys: pytest.CaptureFixture[str]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from importlib import resources

    schema = json.loads(
        (resources.files("seldon_doctor") / "schema" / "report.schema.json").read_text()
    )
    _, out, _ = run(capsys, "scan", "-f", SD102_FIRES, "-o", "json")
    jsonschema.validate(json.loads(out), schema)


def test_output_to_file_and_stdout_together(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "r.json"
    code, out, _ = run(capsys, "scan", "-f", SD102_FIRES, "-o", "table", "-o", f"json={target}")
    assert code == 1
    assert "SD102" in out and "model-requirements-unsatisfied" in out
    assert json.loads(target.read_text())["findings"]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"a: [1, 2\nb: }", "invalid YAML"),
        (b"replicas: 3\n", "no Kubernetes objects"),
        (b"\x00\xff\x00", "binary data"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, fragment: str
) -> None:
    path = tmp_path / "input.yaml"
    path.write_bytes(content)
    code, out, err = run(capsys, "scan", "-f", str(path))
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert fragment in err and str(path) in err


def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No input and no kubeconfig: the live scan has nothing to read.
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    code, _, err = run(capsys, "scan")
    assert code == 2 and "no kubeconfig" in err and "-f PATH" in err
    code, _, err = run(capsys, "scan", "--demo", "--context", "x")
    assert code == 2 and "do not combine" in err
    code, _, err = run(capsys, "scan", "-f", str(tmp_path / "missing.yaml"))
    assert code == 2 and "no such file" in err
    code, _, err = run(capsys, "scan", "-f", SD102_FIRES, "-o", "xml")
    assert code == 2 and "unknown output format" in err
    code, _, err = run(capsys, "scan", "-f", SD102_FIRES, "--envoy-config-dump", "nowhere.json")
    assert code == 2 and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "explain", "SD999")
    assert code == 2 and "no check" in err


def test_checks_and_explain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "checks")
    assert code == 0
    for check_id in ("SD102", "SD401", "SD501", "SD601"):
        assert check_id in out
    code, out, _ = run(capsys, "explain", "scheduler-split-brain")
    assert code == 0 and "Why it matters" in out and "verify" in out


def test_graph_formats(capsys: pytest.CaptureFixture[str]) -> None:
    fixture = str(FIXTURES / "checks" / "SD501" / "fires.yaml")
    code, out, _ = run(capsys, "graph", "-f", fixture, "-o", "dot")
    assert code == 0 and out.startswith("digraph") and "color=red" in out
    code, out, _ = run(capsys, "graph", "-f", fixture, "-o", "mermaid")
    assert out.startswith("flowchart LR")
    code, out, _ = run(capsys, "graph", "-f", fixture, "-o", "json")
    graph = json.loads(out)
    assert any(edge["type"] == "dials" for edge in graph["edges"])
    assert any(node["broken"] for node in graph["nodes"])


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from seldon_doctor.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('kubernetes', 'grpc', 'envoy_data_plane', 'networkx', 'rich')"
        " if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "HEAVY=\n" in result.stderr + "\n"
    assert result.stderr.strip().endswith("HEAVY=")


def test_no_traceback_for_unreadable_dump(tmp_path: Path) -> None:
    dump = tmp_path / "dump.json"
    dump.write_bytes(b'{"configs": [')
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "seldon_doctor",
            "scan",
            "-f",
            SD102_FIRES,
            "--envoy-config-dump",
            f"fraud={dump}",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
