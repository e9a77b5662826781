"""A real Prometheus scraping ``seldon-doctor serve`` on loopback, queried over its HTTP API."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from seldon_doctor.cli import cli
from tests.dataplane.procs import wait_until
from tests.serve.harness import binary, exporter, http_get, prometheus


def _query(url: str, expr: str) -> list[dict[str, Any]]:
    status, body = http_get(f"{url}/api/v1/query?query={urllib.parse.quote(expr)}")
    assert status == 200, body
    data = json.loads(body)
    assert data["status"] == "success"
    result: list[dict[str, Any]] = data["data"]["result"]
    return result


def test_prometheus_scrapes_the_findings_series(tmp_path: Path) -> None:
    binary("prometheus")
    report = json.loads(CliRunner().invoke(cli, ["scan", "--demo", "-q", "-o", "json"]).stdout)
    with exporter("--demo", "--interval", "2s") as served:
        wait_until(lambda: served.get("/readyz")[0] == 200, timeout=20, what="first scan")
        with prometheus(tmp_path, served.port) as url:
            series = wait_until(
                lambda: _query(url, "seldon_doctor_findings") or None,
                timeout=20,
                what="seldon_doctor_findings in Prometheus",
            )
            checks = {s["metric"]["check"] for s in series}
            assert checks == {f["id"] for f in report["findings"]}
            for s in series:
                labels = s["metric"]
                assert labels["cluster"] == "demo" and labels["job"] == "seldon-doctor"
                assert labels["role"] in ("root", "consequence")
            total = _query(url, "sum(seldon_doctor_findings)")
            assert float(total[0]["value"][1]) == len(report["findings"])
            # What the staleness alert computes: seconds since the last good scan.
            age = _query(url, "time() - seldon_doctor_last_success_timestamp_seconds")
            assert 0 <= float(age[0]["value"][1]) < 60
            up = _query(url, 'up{job="seldon-doctor"}')
            assert up and up[0]["value"][1] == "1"
        assert served.stop() == 0
