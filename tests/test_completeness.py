"""Completeness (docs/completeness.md): absence is a finding only where the input is complete,
and observed status outranks inference."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from seldon_doctor.checks.base import CheckContext
from seldon_doctor.checks.controlplane.sd504_service_without_endpoints import (
    ServiceWithoutEndpoints,
)
from seldon_doctor.checks.model.sd104_model_memory_exceeds_server import ModelMemoryExceedsServer
from seldon_doctor.cli import main
from seldon_doctor.engine import run_checks
from seldon_doctor.findings import Severity
from seldon_doctor.graph.build import build_graph
from seldon_doctor.snapshot import Completeness, Gap, KubeObject, Snapshot
from seldon_doctor.sources.collect import ScanInputs, collect_files
from seldon_doctor.sources.files import load_paths
from tests.conftest import FIXTURES

GITOPS = FIXTURES / "partial" / "gitops-folder"
CLOSED_WORLD_IN_GITOPS = {"SD101", "SD102", "SD401", "SD503"}


def _report(files: list[str], *, complete: bool = False):  # type: ignore[no-untyped-def]
    snapshot = collect_files(ScanInputs(files=files, complete=complete))
    return run_checks(build_graph(snapshot))


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, _ = capsys.readouterr()
    return int(info.value.code or 0), out


# ------------------------------------------------------------------ acceptance


def test_gitops_folder_partial_manifests_give_no_error() -> None:
    report = _report([str(GITOPS)])
    errors = [f for f in report.findings if f.severity == Severity.ERROR]
    assert not errors, "\n".join(f"{f.check_id} {f.message}" for f in errors)
    notes = [f for f in report.not_evaluated if f.check_id == "SD005"]
    assert {dict(f.params)["check"] for f in notes} == CLOSED_WORLD_IN_GITOPS
    assert all(f.severity == Severity.INFO for f in notes)
    looked_for = {dict(f.params)["looked_for"].split(" (")[0] for f in notes}
    assert {"Model recsys/ranker-a", "Model recsys/ranker-b"} <= looked_for
    assert "Server recsys/mlserver-gpu" in looked_for
    assert "Service recsys/seldon-scheduler" in looked_for
    assert not any(f.check_id == "SD504" for f in report.findings)


def test_gitops_folder_with_complete_gets_the_errors_back() -> None:
    report = _report([str(GITOPS)], complete=True)
    errors = {f.check_id for f in report.findings if f.severity == Severity.ERROR}
    assert errors >= CLOSED_WORLD_IN_GITOPS
    assert not [f for f in report.not_evaluated if f.check_id == "SD005"]
    refs = {(f.check_id, str(f.resource)) for f in report.findings}
    assert ("SD401", "Experiment/recsys/ranker-ab") in refs
    assert ("SD101", "Model/recsys/reranker") in refs
    assert ("SD102", "Model/recsys/sentiment") in refs
    assert ("SD503", "Namespace/recsys/recsys") in refs


def test_unresolved_never_fails_a_gate(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(capsys, "scan", "-f", str(GITOPS), "--fail-on", "info", "-o", "json")
    report = json.loads(out)
    assert code == 0
    assert any(f["id"] == "SD005" for f in report["not_evaluated"])
    assert not report["findings"]
    code, _ = _run(capsys, "scan", "-f", str(GITOPS), "--complete")
    assert code == 1


def test_complete_flag_is_for_files_only(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _run(capsys, "scan", "--demo", "--complete")
    assert code == 2


# ------------------------------------------------------------------ the rule, per source


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


CAPTURED_LIST = """\
apiVersion: v1
kind: List
metadata: {resourceVersion: ""}
items:
- apiVersion: mlops.seldon.io/v1alpha1
  kind: Model
  metadata: {name: a, namespace: team-a, resourceVersion: "1"}
- apiVersion: v1
  kind: Service
  metadata: {name: s, namespace: team-b, resourceVersion: "2"}
- apiVersion: v1
  kind: Namespace
  metadata: {name: team-a}
"""

HAND_WRITTEN = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: extra, namespace: team-c}
---
apiVersion: mlops.seldon.io/v1alpha1
kind: Model
metadata: {name: b, namespace: team-c}
"""


def test_files_mark_what_a_list_holds_per_kind_and_namespace(tmp_path: Path) -> None:
    loaded = load_paths([_write(tmp_path, "cap.yaml", CAPTURED_LIST)])
    complete = loaded.complete
    # kinds among the items x namespaces among the items; cluster-scoped kinds: ""
    for kind in ("Model", "Service"):
        for ns in ("team-a", "team-b"):
            assert complete.is_complete(kind, ns), (kind, ns)
    assert complete.is_complete("Namespace", "")
    assert not complete.is_complete("Model", "team-c")
    assert not complete.is_complete("Pod", "team-a")


def test_a_hand_written_file_added_to_a_capture_stays_partial(tmp_path: Path) -> None:
    files = [_write(tmp_path, "cap.yaml", CAPTURED_LIST), _write(tmp_path, "x.yaml", HAND_WRITTEN)]
    snapshot = collect_files(ScanInputs(files=files))
    assert snapshot.is_complete("Model", "team-a")  # still complete where it was captured
    assert not snapshot.is_complete("Model", "team-c")
    assert not snapshot.is_complete("ConfigMap", "team-c")


def test_stdin_counts_lists_like_files() -> None:
    stdin = io.BytesIO(CAPTURED_LIST.encode())
    snapshot = collect_files(ScanInputs(files=["-"], stdin=stdin))
    assert snapshot.is_complete("Service", "team-b")
    stdin = io.BytesIO(HAND_WRITTEN.encode())
    snapshot = collect_files(ScanInputs(files=["-"], stdin=stdin))
    assert not snapshot.is_complete("Model", "team-c")


def test_complete_flag_marks_everything(tmp_path: Path) -> None:
    files = [_write(tmp_path, "x.yaml", HAND_WRITTEN)]
    snapshot = collect_files(ScanInputs(files=files, complete=True))
    assert snapshot.is_complete("Pod", "anywhere")
    assert snapshot.is_complete("Namespace", "")


def test_live_is_complete_for_what_it_listed() -> None:
    snapshot = Snapshot(
        live=True,
        listed_namespaces=frozenset({"a", "b"}),
        gaps=[Gap("kind:Pod", "forbidden", "b"), Gap("kind:Secret", "forbidden")],
    )
    assert snapshot.is_complete("Model", "a")
    assert snapshot.is_complete("Namespace", "")  # cluster-scoped: listed cluster-wide
    assert not snapshot.is_complete("Model", "c")  # outside -n
    assert snapshot.is_complete("Pod", "a")
    assert not snapshot.is_complete("Pod", "b")  # this namespace's LIST failed
    assert not snapshot.is_complete("Secret", "a")  # the kind's LIST failed
    everywhere = Snapshot(live=True)
    assert everywhere.is_complete("Model", "*")
    assert not Snapshot().is_complete("Model", "a")


def test_bundle_keeps_what_files_recorded(tmp_path: Path) -> None:
    from seldon_doctor.bundle import BundleMeta, read_bundle, write_bundle

    snapshot = collect_files(ScanInputs(files=[_write(tmp_path, "cap.yaml", CAPTURED_LIST)]))
    write_bundle(snapshot, tmp_path / "bundle", meta=BundleMeta(tool_version="test"))
    back = read_bundle(tmp_path / "bundle")
    assert back.completeness == snapshot.completeness
    assert back.is_complete("Model", "team-b")
    assert not back.is_complete("Model", "team-c")


def test_completeness_round_trips_as_a_list() -> None:
    complete = Completeness({("Model", "a"), ("*", "b")})
    again = Completeness.from_list(complete.as_list())
    assert again == complete
    assert again.is_complete("Pod", "b") and not again.is_complete("Pod", "a")


# ------------------------------------------------------------------ SD504 on manifests

MESH_AND_UNRELATED_APP = """\
apiVersion: v1
kind: Service
metadata: {name: seldon-mesh, namespace: shop}
spec:
  selector: {app.kubernetes.io/name: seldon-envoy}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cache, namespace: shop}
spec:
  selector: {matchLabels: {app: cache}}
  template:
    metadata: {labels: {app: cache}}
    spec: {containers: [{name: cache, image: redis:7.2.4}]}
"""


def _sd504(files: list[str], complete: bool = False) -> tuple[set[str], CheckContext]:
    graph = build_graph(collect_files(ScanInputs(files=files, complete=complete)))
    ctx = CheckContext(graph=graph)
    return {str(f.resource) for f in ServiceWithoutEndpoints().run(ctx)}, ctx


def test_sd504_an_unrelated_deployment_says_nothing_about_a_seldon_service(
    tmp_path: Path,
) -> None:
    found, ctx = _sd504([_write(tmp_path, "m.yaml", MESH_AND_UNRELATED_APP)])
    assert not found  # was "selects no ready pod" before completeness
    assert [u.looked_for for u in ctx.unresolved] == [
        "a ready pod selected by Service shop/seldon-mesh"
    ]
    found, _ = _sd504([_write(tmp_path, "m.yaml", MESH_AND_UNRELATED_APP)], complete=True)
    assert found == {"Service/shop/seldon-mesh"}


def test_sd504_a_plain_service_without_pods_in_manifests_is_not_reported(tmp_path: Path) -> None:
    only_service = MESH_AND_UNRELATED_APP.split("---")[0]
    found, _ = _sd504([_write(tmp_path, "m.yaml", only_service)])
    assert not found


# ------------------------------------------------------------------ observed state


def _sd104_with_status(status: dict[str, object] | None):  # type: ignore[no-untyped-def]
    snapshot = collect_files(
        ScanInputs(files=[str(FIXTURES / "checks" / "SD104" / "fires.yaml")], complete=True)
    )
    model: KubeObject = next(o for o in snapshot.objects if o.name == "llm-small")
    if status is not None:
        model.body["status"] = status
    ctx = CheckContext(graph=build_graph(snapshot))
    return next(f for f in ModelMemoryExceedsServer().run(ctx) if f.resource.name == "llm-small")


def test_a_model_available_now_is_a_latent_risk_not_an_error() -> None:
    finding = _sd104_with_status(
        {
            "conditions": [
                {"type": "ModelReady", "status": "True", "message": "ModelAvailable"},
                {"type": "Ready", "status": "True"},
            ],
            "availableReplicas": 1,
        }
    )
    assert finding.severity == Severity.WARNING
    assert "loaded now; would not be placed again because" in finding.message
    observed = [e for e in finding.evidence if e.note == "observed working now"]
    assert observed and observed[0].field == "status.conditions[ModelReady]"
    assert "ModelAvailable" in str(observed[0].value)


def test_a_model_failing_now_stays_an_error_naming_its_status() -> None:
    finding = _sd104_with_status(
        {
            "conditions": [
                {
                    "type": "ModelReady",
                    "status": "False",
                    "message": "ScheduleFailed",
                    "reason": "Failed to schedule model as no matching server had enough "
                    "suitable replicas",
                }
            ]
        }
    )
    assert finding.severity == Severity.ERROR
    assert "loaded now" not in finding.message
    observed = [e for e in finding.evidence if e.note == "observed failing now"]
    assert observed and "ScheduleFailed" in str(observed[0].value)


def test_a_model_without_status_is_judged_as_before() -> None:
    finding = _sd104_with_status(None)
    assert finding.severity == Severity.ERROR
    assert not [e for e in finding.evidence if (e.note or "").startswith("observed")]
