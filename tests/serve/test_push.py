"""``scan --push-gateway`` against a real Pushgateway: grouped by job and cluster, replaced by
the next push (PUT), and a failed push is exit 3 only when findings do not already make it 1."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result
from prometheus_client.parser import text_string_to_metric_families

from seldon_doctor.cli import cli
from tests.dataplane.procs import LOOPBACK, free_port
from tests.serve.harness import http_get, pushgateway


def _scan(*args: str) -> Result:
    return CliRunner().invoke(cli, ["scan", "--demo", "-q", "-o", "json", *args])


def _pushed(url: str, name: str, **labels: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The gateway's samples of ``name`` whose labels include ``labels``."""
    status, text = http_get(f"{url}/metrics")
    assert status == 200
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    }


def test_pushes_are_grouped_by_job_and_cluster_and_replace_each_other(tmp_path: Path) -> None:
    with pushgateway(tmp_path) as url:
        first = _scan("--push-gateway", url)
        assert first.exit_code == 1, first.stderr  # the demo's findings
        report = json.loads(first.stdout)
        findings = _pushed(url, "seldon_doctor_findings", job="seldon-doctor", cluster="demo")
        assert sum(findings.values()) == len(report["findings"])
        assert {dict(k)["check"] for k in findings} == {f["id"] for f in report["findings"]}
        assert all(dict(k)["role"] in ("root", "consequence") for k in findings)

        # Another job, another cluster name: a group of its own, the first one untouched.
        other = _scan("--push-gateway", url, "--push-job", "nightly", "--cluster", "staging")
        assert other.exit_code == 1
        assert _pushed(url, "seldon_doctor_findings", job="nightly", cluster="staging")

        # The same group again with fewer checks: replaced, not added to.
        second = _scan("--push-gateway", url, "--select", "SD502")
        assert second.exit_code == 1
        narrowed = json.loads(second.stdout)
        after = _pushed(url, "seldon_doctor_findings", job="seldon-doctor", cluster="demo")
        assert {dict(k)["check"] for k in after} == {"SD502"}
        assert sum(after.values()) == len(narrowed["findings"]) < len(report["findings"])
        errors = _pushed(
            url, "seldon_doctor_findings_by_severity", job="seldon-doctor", severity="error"
        )
        assert list(errors.values()) == [narrowed["summary"]["errors"]]
        runs = _pushed(url, "seldon_doctor_checks_run", job="seldon-doctor", cluster="demo")
        assert list(runs.values()) == [1]
        assert _pushed(url, "seldon_doctor_last_success_timestamp_seconds", cluster="demo")
        # The other group is still there, as it was.
        nightly = _pushed(url, "seldon_doctor_findings", job="nightly")
        assert sum(nightly.values()) == len(report["findings"])


def test_a_failed_push_is_one_line_and_exit_3_unless_findings_make_it_1() -> None:
    closed = f"http://{LOOPBACK}:{free_port()}"
    with_findings = _scan("--push-gateway", closed)
    assert with_findings.exit_code == 1  # findings outrank the undelivered metrics
    lines = with_findings.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seldon-doctor: error: metrics not pushed: ")
    assert json.loads(with_findings.stdout)["findings"]  # the report was still written

    clean = _scan("--select", "SD004")
    assert clean.exit_code == 0 and not json.loads(clean.stdout)["findings"]
    undelivered = _scan("--select", "SD004", "--push-gateway", f"http://user:hunter2@{closed[7:]}")
    assert undelivered.exit_code == 3
    assert "metrics not pushed" in undelivered.stderr and "hunter2" not in undelivered.stderr
