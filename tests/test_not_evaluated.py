"""SD002 that helps: one entry per (check, reason) with a count and examples, and a plan for
the input that is really missing (issue 12 item 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from seldon_doctor.catalog import load_playbooks
from seldon_doctor.checks.base import NotEvaluated
from seldon_doctor.engine import _dedupe_not_evaluated, run_checks
from seldon_doctor.graph.build import build_graph
from seldon_doctor.plan import fill, plan_for
from seldon_doctor.sources.collect import ScanInputs, collect_files


def _runs(finding: object) -> list[str]:
    plan = plan_for(finding)  # type: ignore[arg-type]
    assert plan is not None
    return [s.run or "" for s in (*plan.steps, plan.verify)]


def test_per_object_skips_become_one_entry_with_count_and_three_examples() -> None:
    reason = "replica memory of the compatible Servers is unknown (no MEMORY_REQUEST in the input)"
    items = [
        NotEvaluated("SD104", reason, f"ns-{i // 20:03d}", subject=f"Model ns-{i // 20:03d}/m{i}")
        for i in range(1000)
    ]
    (entry,) = _dedupe_not_evaluated(items)
    extra = dict(entry.extra)
    assert extra["count"] == 1000
    assert len(extra["examples"]) == 3
    assert "not evaluated for 1000 cases in 50 namespaces" in entry.message
    assert "and 997 more" in entry.message
    assert entry.resource.namespace == ""  # spans namespaces
    plan = plan_for(entry)
    assert plan is not None and "MEMORY_REQUEST" in plan.summary


def test_single_reason_without_subject_keeps_the_plain_message() -> None:
    (entry,) = _dedupe_not_evaluated([NotEvaluated("SD601", "no dump", input="envoy")])
    assert entry.message == "SD601 route-missing not evaluated: no dump"


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        ("SD003", "--crds"),
        ("SD104", "MEMORY_REQUEST"),
        ("SD801", "seldon-doctor probe"),
        ("SD601", "port-forward deploy/seldon-envoy"),
    ],
)
def test_plan_is_specific_to_the_missing_input(check: str, expected: str) -> None:
    (entry,) = _dedupe_not_evaluated([NotEvaluated(check, "why")])
    plan = plan_for(entry)
    assert plan is not None
    text = " ".join(f"{s.title} {s.run or s.note or ''}" for s in (*plan.steps, plan.verify))
    assert expected in text
    if check != "SD601":
        assert "config_dump" not in text, "only Envoy-reading checks ask for an Envoy dump"
    assert "-n  " not in text and "envoy-.json" not in text


def test_envoy_plan_names_the_envoy_namespace_or_a_placeholder() -> None:
    (known,) = _dedupe_not_evaluated(
        [NotEvaluated("SD601", "r", "fraud", "x", "envoy", input_namespace="seldon-mesh")]
    )
    assert any("kubectl -n seldon-mesh port-forward" in r for r in _runs(known))
    (unknown,) = _dedupe_not_evaluated(
        [NotEvaluated("SD601", "r", "a", "x"), NotEvaluated("SD601", "r", "b", "y")]
    )
    assert any("kubectl -n '<envoy-namespace>' port-forward" in r for r in _runs(unknown))


def test_every_playbook_variant_fills() -> None:
    for book in load_playbooks().values():
        for variant in book.variants:
            params = dict(variant.when)
            chosen = book.for_params(params)
            params.update(dict.fromkeys(chosen.placeholders(), "x") | dict(variant.when))
            plan = fill(book, params)
            assert plan.steps and plan.verify.title


def _scan(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "in.yaml"
    path.write_text(text)
    report = run_checks(build_graph(collect_files(ScanInputs(files=[str(path)]))))
    return [f.message for f in (*report.findings, *report.not_evaluated)]


MODEL = """apiVersion: mlops.seldon.io/v1alpha1
kind: Model
metadata: {{name: {name}, namespace: fraud}}
spec: {{storageUri: "gs://m/{name}", requirements: [{req}]}}
"""


def test_sd102_without_any_server_judges_the_stock_serverconfigs(tmp_path: Path) -> None:
    messages = _scan(
        tmp_path,
        MODEL.format(name="typo", req="scikit-learn")
        + "---\n"
        + MODEL.format(name="fine", req="sklearn"),
    )
    typo = [m for m in messages if "Model fraud/typo requires" in m]
    assert typo and "did you mean 'sklearn'" in typo[0]
    assert any("SD102" in m and "no Server in the input" in m and "fine" in m for m in messages)


def test_sd503_without_services_says_so(tmp_path: Path) -> None:
    messages = _scan(tmp_path, MODEL.format(name="m", req="sklearn"))
    assert any(m.startswith("SD503 ") and "holds no Service" in m for m in messages)
