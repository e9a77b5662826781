"""Tier 1: every check fires exactly where its fixtures say, and stays quiet elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from seldon_doctor.checks import ALL_CHECKS
from seldon_doctor.checks.base import CheckContext
from seldon_doctor.graph.build import build_graph
from tests.conftest import FIXTURES, expected_findings, load_case

CHECKS = {cls.id: cls for cls in ALL_CHECKS}

# Kinds a check declares in ``reads`` but never touches through a recorded graph query on any
# of its fixtures, and why that is right. Everything else declared must be read: a declared
# kind the check does not use widens the live LIST and the generated RBAC for nothing (and
# makes a gap on that kind skip the check as not evaluated).
ALLOWED_UNREAD: dict[str, dict[str, str]] = {
    "SD502": {
        "SeldonConfig": "manifest mode: the implied scheduler StatefulSet's replicas come from "
        "the SeldonRuntime overrides over its SeldonConfig, at graph build (not recorded)",
        "Deployment": "manifest mode: that SeldonConfig is the one in the controller's "
        "namespace, found from the controller Deployment at graph build (not recorded)",
    },
    "SD505": dict.fromkeys(
        ("Model", "Experiment", "Pipeline", "ServerConfig"),
        "scan --logs: log_evidence widens to the namespaces the scheduler's consumers reach, "
        "computed from these kinds unrecorded (record=False); fixtures carry no logs",
    ),
    "SD603": dict.fromkeys(
        ("Experiment", "Pipeline"),
        "a route's target may be an Experiment or Pipeline (graph.get(kind, ...)); the "
        "fixtures' broken routes name Models",
    ),
    **{
        check_id: dict.fromkeys(
            ("Experiment", "Pipeline"),
            "the probed target may be an Experiment or Pipeline (graph.get(obs.kind, ...)); "
            "the fixtures probe a Model",
        )
        for check_id in ("SD801", "SD802")
    },
}


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


def _recorded_reads(check_id: str) -> set[str]:
    """Every kind the check reads through the graph over all of its fixture cases."""
    recorded: set[str] = set()
    for cid, case in _cases():
        if cid != check_id:
            continue
        graph = build_graph(load_case(case))
        graph.recorder = set()
        list(CHECKS[check_id]().run(CheckContext(graph=graph)))
        recorded |= graph.recorder
    return recorded


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_every_declared_read_is_used(check_id: str) -> None:
    check = CHECKS[check_id]
    allowed = ALLOWED_UNREAD.get(check_id, {})
    assert set(allowed) <= check.reads, f"ALLOWED_UNREAD[{check_id}] names undeclared kinds"
    unread = check.reads - _recorded_reads(check_id)
    unjustified = sorted(unread - set(allowed))
    assert not unjustified, (
        f"{check_id} declares reads it never uses on its fixtures: {unjustified}. Drop them "
        "from reads (then regenerate: python scripts/generate.py), add a fixture that uses "
        "them, or justify them in ALLOWED_UNREAD"
    )
    stale = sorted(set(allowed) - unread)
    assert not stale, f"ALLOWED_UNREAD[{check_id}] lists kinds the fixtures now read: {stale}"


def test_allowed_unread_names_registered_checks() -> None:
    assert set(ALLOWED_UNREAD) <= set(CHECKS)
    assert all(reason.strip() for kinds in ALLOWED_UNREAD.values() for reason in kinds.values())


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_every_check_has_firing_and_quiet_fixtures(check_id: str) -> None:
    folder = FIXTURES / "checks" / check_id
    names = [p.name for p in folder.iterdir()] if folder.is_dir() else []
    assert any(n.startswith("fires") for n in names), f"{check_id} has no fires fixture"
    assert any(n.startswith("quiet") for n in names), f"{check_id} has no quiet fixture"
    fires = next(p for p in sorted(folder.iterdir()) if p.name.startswith("fires"))
    assert expected_findings(fires, load_case(fires)), f"{check_id} fires fixture expects nothing"
