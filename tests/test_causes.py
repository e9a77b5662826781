"""Root causes and consequences (seldon_doctor/causes.py) on the scenarios, in every format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seldon_doctor.causes import RELATIONS, RULES
from seldon_doctor.engine import Report, tag_cluster
from seldon_doctor.findings import causal_counts, causal_groups
from seldon_doctor.plan import build_plan
from seldon_doctor.render import RenderOptions, get_renderer
from tests.conftest import FIXTURES
from tests.test_scenarios import _scan

CLUSTERS = FIXTURES / "clusters"


def _chains(report: Report) -> dict[str, list[str]]:
    return {g.root.key: [c.key for c in g.consequences] for g in causal_groups(report.findings)}


def _report(name: str) -> Report:
    _, report = _scan(CLUSTERS / name)
    return report


def test_every_rule_names_a_known_relation() -> None:
    assert all(rule.relation in RELATIONS for rule in RULES)
    assert all(
        rule.consequence not in rule.roots for rule in RULES if rule.relation != "selects_pods_of"
    )


def test_scheduler_down_is_one_root_per_namespace() -> None:
    # app-d's scheduler is scaled to 0 (its Service has no ready pod): the Server's agents never
    # subscribe, its replica Service is empty, the Model waits. app-c dials a dangling alias.
    chains = _chains(_report("central-scheduler-dangling-alias"))
    assert chains == {
        "SD504/Service/app-d/seldon-mesh": [],
        "SD504/Service/app-d/seldon-scheduler": [
            "SD201/Server/app-d/mlserver-d",
            "SD504/Service/app-d/mlserver-d-0",
            "SD105/Model/app-d/risk-xgb",
        ],
        "SD505/Service/app-c/seldon-scheduler": [
            "SD201/Server/app-c/mlserver-c",
            "SD504/Service/app-c/mlserver-c-0",
            "SD105/Model/app-c/doc-classifier",
        ],
    }
    by_key = {f.key: f for f in _report("central-scheduler-dangling-alias").findings}
    assert by_key["SD201/Server/app-d/mlserver-d"].caused_by == (
        "SD504/Service/app-d/seldon-scheduler",
    )
    assert by_key["SD105/Model/app-d/risk-xgb"].caused_by == ("SD201/Server/app-d/mlserver-d",)
    assert by_key["SD504/Service/app-d/mlserver-d-0"].caused_by == (
        "SD201/Server/app-d/mlserver-d",
    )


def test_split_brain_causes_the_missing_and_orphaned_routes() -> None:
    assert _chains(_report("central-scheduler-split-brain")) == {
        "SD501/SeldonRuntime/app-a/seldon": [
            "SD601/Model/app-a/chargeback-xgb",
            "SD601/Model/app-a/fraud-score",
            "SD602/Model/seldon-mesh/chargeback-xgb",
            "SD602/Model/seldon-mesh/fraud-score",
        ]
    }


def test_scaled_scheduler_is_the_root_of_the_split_brain_and_its_effects() -> None:
    report = _report("scoped-operator-scheduler-scaled")
    assert _chains(report) == {
        "SD502/StatefulSet/ml-prod/seldon-scheduler": [
            "SD105/Model/ml-prod/churn",
            "SD105/Model/ml-prod/ltv-xgb",
            "SD501/SeldonRuntime/ml-prod/seldon",
            "SD601/Model/ml-prod/fraud-score",
        ]
    }
    by_key = {f.key: f for f in report.findings}
    assert by_key["SD601/Model/ml-prod/fraud-score"].caused_by == (
        "SD501/SeldonRuntime/ml-prod/seldon",
    )


def test_capability_typo_causes_not_ready() -> None:
    assert _chains(_report("capability-mismatch")) == {
        "SD102/Model/fraud/fraud-detector": ["SD105/Model/fraud/fraud-detector"]
    }


def test_unrelated_findings_stay_roots() -> None:
    assert _chains(_report("experiment-routes-missing")) == {
        "SD401/Experiment/recsys/old-ab": [],
        "SD601/Experiment/recsys/ranker-ab": [],
    }


def _render(report: Report, fmt: str) -> str:
    return get_renderer(fmt)(report, RenderOptions(exit_code=1, show_plan=True))


def test_links_appear_in_every_format() -> None:
    report = _report("central-scheduler-dangling-alias")
    root, server = "SD504/Service/app-d/seldon-scheduler", "SD201/Server/app-d/mlserver-d"

    data = json.loads(_render(report, "json"))
    findings = {f["key"]: f for f in data["findings"]}
    assert findings[server]["caused_by"] == [root]
    assert findings[root]["caused_by"] == []
    assert (data["summary"]["roots"], data["summary"]["consequences"]) == (3, 6)
    assert causal_counts(report.findings) == (3, 6)

    sarif = json.loads(_render(report, "sarif"))
    results = {r["properties"]["key"]: r for r in sarif["runs"][0]["results"]}
    assert results[server]["properties"]["caused_by"] == [root]
    related = results[server]["relatedLocations"]
    assert related[0]["message"]["text"] == f"caused by {root}"
    assert (
        related[0]["logicalLocations"][0]["fullyQualifiedName"] == "Service/app-d/seldon-scheduler"
    )
    assert server in results[root]["properties"]["consequences"]

    text = _render(report, "table")
    assert f"1 problem, 3 consequences (they resolve when {root} is fixed)" in text
    assert f"caused by: {root}" in text
    assert "(3 root causes, 6 consequences)" in text

    html = _render(report, "html")
    assert f'data-root="{root}"' in html and "1 problem, 3 consequences" in html
    assert "Caused by <a href=" in html and f"<code>{root}</code></a>" in html

    markdown = _render(report, "markdown")
    assert f"↳ caused by `{root}`" in markdown


def test_plan_fixes_roots_first_and_skips_moot_entries() -> None:
    report = _report("scoped-operator-scheduler-scaled")
    entries = build_plan(report.findings)
    assert entries[0].plan.check_id == "SD502" and not entries[0].resolves_with
    moot = [e for e in entries if e.resolves_with]
    assert {e.plan.check_id for e in moot} == {"SD105", "SD501", "SD601"}
    for entry in moot:
        assert entry.resolves_with == ("SD502/StatefulSet/ml-prod/seldon-scheduler",)
        assert entry.plan.steps == () and entry.plan.verify.title
    assert entries.index(moot[0]) == len(entries) - len(moot)  # after every root entry


def test_a_root_without_a_plan_entry_leaves_its_consequence_steps() -> None:
    report = _report("capability-mismatch")
    only_consequence = [f for f in report.findings if f.check_id == "SD105"]
    (entry,) = build_plan(only_consequence)
    assert entry.plan.steps and not entry.resolves_with
    # Suppressing or baselining the root makes the consequence a root in the summary.
    assert causal_counts(only_consequence) == (1, 0)


def test_cluster_tag_keeps_links_intact() -> None:
    report = tag_cluster(_report("capability-mismatch"), "prod")
    by_key = {f.key: f for f in report.findings}
    assert by_key["prod:SD105/Model/fraud/fraud-detector"].caused_by == (
        "prod:SD102/Model/fraud/fraud-detector",
    )


@pytest.mark.parametrize("name", ["central-scheduler-healthy", "dedicated-mlserver-healthy"])
def test_healthy_scenarios_have_no_links(name: str) -> None:
    assert all(not f.caused_by for f in _report(name).findings)


def test_exit_code_still_counts_consequences(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from seldon_doctor.cli import cli

    folder = CLUSTERS / "capability-mismatch"
    result = CliRunner().invoke(
        cli, ["scan", "-f", str(folder), "--select", "SD105", "-o", "json", "--quiet"]
    )
    assert result.exit_code == 1  # SD105 alone (its root not selected) still fails the gate


def test_a_crash_looping_scheduler_pod_is_the_root_of_its_empty_service() -> None:
    # SD513 (a component pod crash-looping) is reported on the Pod; its Service and the
    # namespace's consumers lead to it. Synthetic findings on a scenario's graph.
    from seldon_doctor.causes import link_causes
    from seldon_doctor.findings import Finding, ResourceRef, Severity
    from seldon_doctor.graph.build import build_graph
    from seldon_doctor.sources.collect import collect_files
    from tests.conftest import case_inputs

    graph = build_graph(collect_files(case_inputs(CLUSTERS / "scoped-operator-scheduler-scaled")))

    def finding(check: str, kind: str, name: str) -> Finding:
        return Finding(check, check.lower(), Severity.ERROR, ResourceRef(kind, "ml-prod", name), "")

    pod = finding("SD513", "Pod", "seldon-scheduler-0")
    service = finding("SD504", "Service", "seldon-scheduler")
    server = finding("SD201", "Server", "mlserver")
    linked = {f.key: f.caused_by for f in link_causes([pod, service, server], graph)}
    assert linked[service.key] == (pod.key,)
    assert set(linked[server.key]) == {pod.key, service.key}
