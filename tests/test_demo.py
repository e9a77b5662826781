"""The embedded demo tells the split-brain + 404 story, and the plan fixes topology first."""

from __future__ import annotations

import json

import pytest

from seldon_doctor.cli import main


def _scan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(["scan", "--demo", *args])
    return int(info.value.code or 0), capsys.readouterr().out


def test_demo_finds_the_story(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _scan(capsys, "-o", "json")
    report = json.loads(out)
    assert code == 1
    found = {
        (f["id"], f["resource"]["kind"], f["resource"]["namespace"], f["resource"]["name"])
        for f in report["findings"]
    }
    assert ("SD502", "StatefulSet", "seldon-mesh", "seldon-scheduler") in found
    assert ("SD501", "Namespace", "app-a", "app-a") in found
    assert ("SD501", "Namespace", "app-b", "app-b") in found
    assert ("SD601", "Model", "app-a", "fraud-score") in found
    assert ("SD601", "Experiment", "app-b", "recommender-ab") in found
    assert ("SD102", "Model", "app-a", "risk-ranker") in found
    assert all(
        f["location"]["file"].startswith("<demo>/") for f in report["findings"] if "location" in f
    )
    plan_checks = [entry["check"] for entry in report["plan"]]
    # Routes come from the scheduler: the topology fix must come before the route fix.
    assert plan_checks.index("SD502") < plan_checks.index("SD601")
    assert plan_checks.index("SD501") < plan_checks.index("SD601")


def test_demo_plan_prints(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _scan(capsys, "--plan")
    assert code == 1
    assert "remediation plan" in out
    assert "kubectl" in out and "verify" in out
    assert "<demo>/cluster.yaml" in out
