"""One exporter scan in process: success, each failure reason, and what a failure keeps."""

from __future__ import annotations

from pathlib import Path

from seldon_doctor.app.scan import ScanRequest
from seldon_doctor.serve.collector import exporter_families
from seldon_doctor.serve.job import ScanJob
from seldon_doctor.serve.state import ExporterState


def _own(state: ExporterState) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (family.name, labels): value
        for family in exporter_families(state)
        for labels, value in family.samples
    }


def test_failures_count_by_reason_and_keep_the_last_good_report(tmp_path: Path) -> None:
    logs: list[str] = []
    state = ExporterState("demo", 60.0)
    job = ScanJob(ScanRequest(demo=True), state, logs.append)
    job()
    good = state.last_good()
    assert state.ready and good is not None
    report_json = state.rendered("json")
    assert report_json is not None and state.rendered("json") is report_json  # cached

    job.request = ScanRequest(files=[str(tmp_path / "missing.yaml")])
    job()  # input: the file is not there
    job.request = ScanRequest(demo=True, select=42)  # type: ignore[arg-type]
    job()  # internal: a front end's bug (a number where check ids belong)
    assert not state.ready
    assert state.last_good() is good and state.rendered("json") == report_json
    own = _own(state)
    demo = (("cluster", "demo"),)
    assert own[("seldon_doctor_scans", demo)] == 3
    assert own[("seldon_doctor_ready", demo)] == 0
    errors = {
        dict(k[1])["reason"]: v for k, v in own.items() if k[0] == "seldon_doctor_scan_errors"
    }
    assert errors == {"unreachable": 0, "input": 1, "internal": 1}
    assert ("seldon_doctor_findings_by_severity", (("severity", "error"), *demo)) in own

    job.request = ScanRequest(demo=True)
    job()
    assert state.ready and state.last_good() is not good
    assert [line.split(" ", 2)[:2] for line in logs] == [["scan", str(n)] for n in (1, 2, 3, 4)]
    assert "failed (input)" in logs[1] and "missing.yaml" in logs[1]
    assert "failed (internal)" in logs[2] and "TypeError" in logs[2]
    assert " ok in " in logs[3]
