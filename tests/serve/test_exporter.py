"""``seldon-doctor serve --demo`` as a real process: endpoints, the metric contract, shutdown."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from seldon_doctor.cli import cli
from tests.dataplane.procs import wait_until
from tests.serve.harness import exporter

# docs/metrics.md: family -> its labels (the deploy/ alerts and dashboard are written to these).
CONTRACT = {
    "seldon_doctor_findings": {"check", "severity", "namespace", "cluster", "role"},
    "seldon_doctor_findings_by_severity": {"severity", "cluster"},
    "seldon_doctor_suppressed_findings": {"check", "kind", "cluster"},
    "seldon_doctor_baselined_findings": {"cluster"},
    "seldon_doctor_not_evaluated": {"check", "cluster"},
    "seldon_doctor_gaps": {"cluster"},
    "seldon_doctor_checks_run": {"cluster"},
    "seldon_doctor_objects": {"cluster"},
    "seldon_doctor_exit_code": {"cluster"},
    "seldon_doctor_scan_duration_seconds": {"cluster"},
    "seldon_doctor_last_success_timestamp_seconds": {"cluster"},
    "seldon_doctor_ready": {"cluster"},
    "seldon_doctor_scan_interval_seconds": {"cluster"},
    "seldon_doctor_scans": {"cluster"},  # counters: samples end in _total
    "seldon_doctor_scan_errors": {"cluster", "reason"},
}
SERVE_ONLY = {
    "seldon_doctor_ready",
    "seldon_doctor_scan_interval_seconds",
    "seldon_doctor_scans",
    "seldon_doctor_scan_errors",
}


def families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def scan_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["scan", "-q", "-o", "json", *args])
    return result.exit_code, json.loads(result.stdout)


def test_before_the_first_good_scan_it_is_alive_but_not_ready(
    silent_server: int, tmp_path: Path
) -> None:
    # The first scan waits on an API server that accepts and never answers (discovery waits
    # 5 s), so "before the first good scan" lasts as long as the test needs, however fast
    # scans get (the demo's first scan used to end before the first GET, now and then).
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: hung\n"
        f"clusters: [{{name: hung, cluster: {{server: 'http://127.0.0.1:{silent_server}'}}}}]\n"
        "users: [{name: hung, user: {token: t}}]\n"
        "contexts: [{name: hung, context: {cluster: hung, user: hung}}]\n"
    )
    with exporter("--kubeconfig", str(kubeconfig), "--interval", "60s") as served:
        status, body = served.get("/readyz")
        assert (status, body) == (503, "not ready: no good scan yet\n")
        assert served.get("/report.json")[0] == 503
        assert served.get("/healthz") == (200, "ok\n")
        # Before the first good scan /metrics has only the exporter's own families.
        before = families(served.get("/metrics")[1])
        assert "seldon_doctor_findings" not in before
        assert before["seldon_doctor_ready"].samples[0].value == 0


def test_demo_exporter_serves_the_contract_and_stops_on_sigterm() -> None:
    with exporter("--demo", "--interval", "2s") as served:
        wait_until(lambda: served.get("/readyz")[0] == 200, timeout=20, what="/readyz 200")
        text = served.get("/metrics")[1]
        got = families(text)
        for name, labels in CONTRACT.items():
            assert name in got, name
            for sample in got[name].samples:
                assert set(sample.labels) == labels, (name, sample.labels)
                assert sample.labels["cluster"] == "demo"
        assert got["seldon_doctor_scan_interval_seconds"].samples[0].value == 2
        assert got["seldon_doctor_ready"].samples[0].value == 1
        errors = {s.labels["reason"]: s.value for s in got["seldon_doctor_scan_errors"].samples}
        assert errors == {"unreachable": 0, "input": 0, "internal": 0}  # increase() works
        assert got["seldon_doctor_scans"].samples[0].name == "seldon_doctor_scans_total"
        assert "process_resident_memory_bytes" in got  # the standard collectors stay

        # The same findings as `scan --demo -o json`, counted by check and role.
        code, report = scan_json("--demo")
        expected: dict[tuple[str, str], int] = {}
        for finding in report["findings"]:
            key = (finding["id"], "consequence" if finding["caused_by"] else "root")
            expected[key] = expected.get(key, 0) + 1
        counted: dict[tuple[str, str], float] = {}
        for sample in got["seldon_doctor_findings"].samples:
            key = (sample.labels["check"], sample.labels["role"])
            counted[key] = counted.get(key, 0) + sample.value
        assert counted == expected
        assert got["seldon_doctor_exit_code"].samples[0].value == code == 1
        by_severity = {
            s.labels["severity"]: s.value for s in got["seldon_doctor_findings_by_severity"].samples
        }
        summary = report["summary"]
        assert by_severity == {
            "error": summary["errors"],
            "warning": summary["warnings"],
            "info": summary["info"],
        }
        assert got["seldon_doctor_objects"].samples[0].value == summary["objects"]
        assert got["seldon_doctor_checks_run"].samples[0].value == len(summary["checks_run"])
        stamp = got["seldon_doctor_last_success_timestamp_seconds"].samples[0].value
        assert abs(time.time() - stamp) < 60

        # /report.json is what `scan --demo -o json` says.
        status, served_json = served.get("/report.json")
        assert status == 200 and json.loads(served_json) == report
        status, html = served.get("/report.html")
        assert status == 200 and html.lstrip().lower().startswith("<!doctype html")
        assert all(f["id"] in html for f in report["findings"])
        assert served.get("/nothing-here")[0] == 404

        started = time.monotonic()
        assert served.stop(timeout=15) == 0
        assert time.monotonic() - started < 15
        assert served.lines[-1].endswith("stopped")
        scan_lines = [line for line in served.lines if " ok in " in line]
        assert scan_lines[0].startswith("seldon-doctor: scan 1 ok in ")
        assert f"{summary['errors']} error" in scan_lines[0]


def test_usage_errors_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    from seldon_doctor.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        cases = {
            ("--demo", "--interval", "500ms"): "is less than 1s",
            ("--demo", "--interval", "soon"): "is not a duration",
            ("--demo", "--kubeconfig", "k"): "do not combine them",
            ("-f", "-"): "stdin) cannot be",
            ("--demo", "--host", "127.0.0.1", "--port", port): f"cannot listen on 127.0.0.1:{port}",
        }
        for args, message in cases.items():
            with pytest.raises(SystemExit) as exit_info:
                main(["serve", *args])
            assert exit_info.value.code == 2, args
            err = capsys.readouterr().err.strip().splitlines()
            assert len(err) == 1 and message in err[0], (args, err)
    with pytest.raises(SystemExit) as exit_info:
        main(["scan", "--context", "a", "--context", "b", "--push-gateway", "http://gw"])
    assert exit_info.value.code == 2
    assert "pushes one cluster" in capsys.readouterr().err
