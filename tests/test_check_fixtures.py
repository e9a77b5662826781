"""Tier 1: every check fires exactly where its fixtures say, and stays quiet elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from seldon_doctor.checks import ALL_CHECKS
from seldon_doctor.checks.base import CheckContext
from seldon_doctor.graph.build import build_graph
from tests.conftest import FIXTURES, expected_findings, load_case

CHECKS = {cls.id: cls for cls in ALL_CHECKS}


def _cases() -> list[tuple[str, Path]]:
    out = []
    for check_dir in sorted((FIXTURES / "checks").iterdir()):
        for case in sorted(check_dir.iterdir()):
            if case.name.startswith(("fires", "quiet")):
                out.append((check_dir.name, case))
    return out


@pytest.mark.parametrize(("check_id", "case"), _cases(), ids=lambda v: getattr(v, "name", v))
def test_fixture(check_id: str, case: Path) -> None:
    snapshot = load_case(case)
    graph = build_graph(snapshot)
    graph.recorder = set()
    check = CHECKS[check_id]()
    ctx = CheckContext(graph=graph)
    found = {(f.check_id, str(f.resource)) for f in check.run(ctx)}
    expected = expected_findings(case, snapshot)
    if case.name.startswith("quiet"):
        assert not expected, "quiet fixtures must not carry expectations"
    assert found == expected
    undeclared = graph.recorder - check.reads
    assert not undeclared, f"{check_id} reads kinds it does not declare: {sorted(undeclared)}"


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_every_check_has_firing_and_quiet_fixtures(check_id: str) -> None:
    folder = FIXTURES / "checks" / check_id
    names = [p.name for p in folder.iterdir()] if folder.is_dir() else []
    assert any(n.startswith("fires") for n in names), f"{check_id} has no fires fixture"
    assert any(n.startswith("quiet") for n in names), f"{check_id} has no quiet fixture"
    fires = next(p for p in sorted(folder.iterdir()) if p.name.startswith("fires"))
    assert expected_findings(fires, load_case(fires)), f"{check_id} fires fixture expects nothing"
