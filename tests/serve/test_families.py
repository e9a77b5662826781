"""One definition of the metric families: ``-o prometheus`` text and the prometheus_client
families of ``serve``/``--push-gateway`` say the same, and the cluster label follows
docs/metrics.md."""

from __future__ import annotations

import copy

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from seldon_doctor.app.scan import ScanRequest, run_scan
from seldon_doctor.engine import Report, merge_reports, tag_cluster
from seldon_doctor.render import RenderOptions
from seldon_doctor.render.metric_families import ScanFacts, report_families
from seldon_doctor.render.prometheus import render_metrics
from seldon_doctor.serve.collector import FamiliesCollector

Samples = set[tuple[str, tuple[tuple[str, str], ...], float]]


def _samples(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture(scope="module")
def demo() -> Report:
    return run_scan(ScanRequest(demo=True, quiet=True)).report


def test_text_and_client_families_are_the_same_samples(demo: Report) -> None:
    options = RenderOptions(exit_code=1, duration=0.25, timestamp=1.8e9, cluster="prod")
    text = render_metrics(demo, options)
    registry = CollectorRegistry()
    families = report_families(demo, ScanFacts.of(options, cluster="prod"))
    registry.register(FamiliesCollector(lambda: families))  # type: ignore[arg-type]
    assert _samples(text) == _samples(generate_latest(registry).decode())
    assert all(dict(labels)["cluster"] == "prod" for _, labels, _ in _samples(text))


def test_roles_follow_caused_by(demo: Report) -> None:
    (findings,) = (
        f for f in report_families(demo, ScanFacts(1)) if f.name == "seldon_doctor_findings"
    )
    roles: dict[str, float] = {}
    for labels, value in findings.samples:
        role = dict(labels)["role"]
        roles[role] = roles.get(role, 0) + value
    consequences = sum(1 for f in demo.findings if f.caused_by)
    assert roles == {"root": len(demo.findings) - consequences, "consequence": consequences}
    assert consequences > 0


def _finding_clusters(report: Report, facts: ScanFacts) -> set[str | None]:
    families = {f.name: f for f in report_families(report, facts)}
    return {dict(labels).get("cluster") for labels, _ in families["seldon_doctor_findings"].samples}


def test_cluster_label_rules(demo: Report) -> None:
    # Files, no --cluster: no label at all (-o prometheus as it always was).
    assert _finding_clusters(demo, ScanFacts(1)) == {None}
    families = report_families(demo, ScanFacts(1))
    assert all(
        not labels for f in families if f.name == "seldon_doctor_gaps" for labels, _ in f.samples
    )
    # A single context tags findings with its name; --cluster overrides it everywhere.
    single = tag_cluster(copy.deepcopy(demo), "kind-ctx")
    assert _finding_clusters(single, ScanFacts(1)) == {"kind-ctx"}
    assert _finding_clusters(single, ScanFacts(1, cluster="prod-eu")) == {"prod-eu"}
    # Several clusters: each finding keeps its own, the scan-level series take the label.
    merged = merge_reports({"prod": copy.deepcopy(demo), "staging": copy.deepcopy(demo)})
    facts = ScanFacts(1, cluster="prod,staging", multi_cluster=True)
    assert _finding_clusters(merged, facts) == {"prod", "staging"}
    gaps = {f.name: f for f in report_families(merged, facts)}["seldon_doctor_gaps"]
    assert [dict(labels) for labels, _ in gaps.samples] == [{"cluster": "prod,staging"}]
