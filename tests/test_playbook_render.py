"""Meta-test: every playbook placeholder is filled by a real finding, in every output format.

``test_catalog`` fills each playbook with made-up values for its own placeholders, so a
``${placeholder}`` that the check never passes in ``params`` slipped through and crashed the
renderers (``scan -o json`` → KeyError, exit 4). Here each check runs on its own firing
fixtures, the engine builds the report as ``scan`` does, and the report is rendered in every
format ``scan -o`` offers, with the remediation plan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from seldon_doctor import catalog
from seldon_doctor.checks import ALL_CHECKS, ENGINE_CHECK_IDS
from seldon_doctor.checks.base import Check, CheckContext
from seldon_doctor.engine import Report, run_checks
from seldon_doctor.findings import Finding, ResourceRef
from seldon_doctor.graph.build import DeploymentGraph, build_graph
from seldon_doctor.render import FORMATS, RenderOptions, get_renderer
from tests.conftest import FIXTURES, load_case

CHECKS = {cls.id: cls for cls in ALL_CHECKS}


def _firing_cases() -> list[tuple[str, Path]]:
    return [
        (check_id, case)
        for check_id in sorted(CHECKS)
        for case in sorted((FIXTURES / "checks" / check_id).glob("fires*"))
    ]


def missing_params(finding: Finding) -> list[str]:
    """Placeholders of the finding's playbook that neither its resource nor params supply."""
    book = catalog.load_playbooks().get(finding.check_id)
    return sorted(book.placeholders() - set(finding.param_dict())) if book else []


def render_everywhere(report: Report, graph: DeploymentGraph | None) -> dict[str, str]:
    """Render in every ``scan -o`` format with the plan; a renderer's error propagates."""
    options = RenderOptions(exit_code=1, show_plan=True, graph=graph)
    return {fmt: get_renderer(fmt)(report, options) for fmt in sorted(FORMATS)}


def test_every_scan_format_is_rendered() -> None:
    assert {"table", "json", "sarif", "junit", "markdown", "prometheus", "html"} <= set(FORMATS)


@pytest.mark.parametrize(("check_id", "case"), _firing_cases(), ids=lambda v: getattr(v, "name", v))
def test_playbook_filled_from_fixture_findings_in_every_format(check_id: str, case: Path) -> None:
    graph = build_graph(load_case(case))
    report = run_checks(graph, [CHECKS[check_id]()])
    own = [f for f in report.findings if f.check_id == check_id]
    assert own, f"{check_id} did not fire on {case.name}"
    for finding in own:
        missing = missing_params(finding)
        assert not missing, (
            f"{check_id}'s playbook uses {missing} but its finding on {finding.resource} "
            f"passes only {sorted(finding.param_dict())}: pass them in params or drop them"
        )
    rendered = render_everywhere(report, graph)
    assert all(rendered.values())


class _Raises(Check):
    id = "SD101"  # borrowed: any registered id, the engine wraps the error as SD001
    reads = frozenset()

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        raise RuntimeError("boom")


class _NeedsEnvoy(Check):
    id = "SD601"
    reads = frozenset()
    needs = frozenset({"envoy"})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        return iter(())


class _Unresolved(Check):
    id = "SD401"
    reads = frozenset({"Experiment"})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        anchor = ResourceRef("Experiment", "fraud", "ab")
        self.unresolved(ctx, anchor, "Model fraud/absent", "Model", "fraud")
        return iter(())


def test_engine_findings_fill_their_playbooks_in_every_format() -> None:
    """SD001 (a check raised), SD002 (not evaluated) and SD005 (unresolved) come from the
    engine, not a check."""
    graph = build_graph(load_case(FIXTURES / "checks" / "SD101" / "fires.yaml"))
    report = run_checks(graph, [_Raises(), _NeedsEnvoy(), _Unresolved()])
    emitted = {f.check_id for f in [*report.findings, *report.not_evaluated]}
    assert emitted == set(ENGINE_CHECK_IDS)
    for finding in [*report.findings, *report.not_evaluated]:
        assert not missing_params(finding), (finding.check_id, missing_params(finding))
    render_everywhere(report, graph)


def test_a_placeholder_no_check_supplies_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The failure this file exists for: a playbook names ${never_supplied}."""
    books = dict(catalog.load_playbooks())
    books["SD101"] = dataclasses.replace(
        books["SD101"], summary=books["SD101"].summary + " ${never_supplied}"
    )
    monkeypatch.setattr("seldon_doctor.catalog.load_playbooks", lambda: books)
    monkeypatch.setattr("seldon_doctor.plan.load_playbooks", lambda: books)
    graph = build_graph(load_case(FIXTURES / "checks" / "SD101" / "fires.yaml"))
    report = run_checks(graph, [CHECKS["SD101"]()])
    assert all(missing_params(f) == ["never_supplied"] for f in report.findings)
    with pytest.raises(KeyError, match="never_supplied"):
        get_renderer("json")(report, RenderOptions(exit_code=1))
