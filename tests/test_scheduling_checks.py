"""Scheduling and Server checks (SD101–SD106, SD201–SD203, SD512): the parts fixtures alone
do not pin down — status parsing, reason mapping, severities, and plans that always fill."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from seldon_doctor.checks import ALL_CHECKS
from seldon_doctor.checks.base import CheckContext
from seldon_doctor.checks.helpers.scheduling import model_state
from seldon_doctor.checks.model.sd101_model_server_not_found import ModelServerNotFound
from seldon_doctor.checks.model.sd106_model_stuck_terminating import ModelStuckTerminating
from seldon_doctor.domain.quantities import parse_quantity
from seldon_doctor.domain.scheduler_reasons import reason_meaning
from seldon_doctor.findings import Finding, Severity
from seldon_doctor.graph.build import DeploymentGraph, build_graph
from seldon_doctor.graph.model import Node
from seldon_doctor.plan import plan_for
from seldon_doctor.snapshot import KubeObject
from seldon_doctor.sources.collect import ScanInputs, collect_files
from tests.conftest import FIXTURES, load_case

MINE = ("SD101", "SD103", "SD104", "SD105", "SD106", "SD201", "SD202", "SD203", "SD512")
CHECKS = {cls.id: cls for cls in ALL_CHECKS}


def _graph(tmp_path: Path, text: str, *, complete: bool = False) -> DeploymentGraph:
    path = tmp_path / "input.yaml"
    path.write_text(textwrap.dedent(text))
    return build_graph(collect_files(ScanInputs(files=[str(path)], complete=complete)))


def _run(check_id: str, graph: DeploymentGraph) -> list[Finding]:
    return list(CHECKS[check_id]().run(CheckContext(graph=graph)))


def _by_name(findings: list[Finding]) -> dict[str, Finding]:
    return {f.resource.name: f for f in findings}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1Gi", 2**30),
        ("500Mi", 500 * 2**20),
        ("1G", 10**9),
        ("2500M", 2_500_000_000),
        ("1.5Gi", 3 * 2**29),
        ("2e9", 2_000_000_000),
        (1000, 1000),
        ("128974848", 128974848),
        ("lots", None),
        (None, None),
        (True, None),
    ],
)
def test_parse_quantity(raw: object, expected: int | None) -> None:
    assert parse_quantity(raw) == expected


def _model(status: dict[str, object]) -> Node:
    body = {"kind": "Model", "metadata": {"name": "m", "namespace": "n"}, "status": status}
    return Node("Model", "n", "m", KubeObject(body))


def test_model_state_reads_the_swapped_fields() -> None:
    text = "Failed to schedule model as no matching servers are available"
    upstream = _model(
        {
            "conditions": [
                {
                    "type": "ModelReady",
                    "status": "False",
                    "message": "ScheduleFailed",
                    "reason": text,
                }
            ]
        }
    )
    fixed = _model(
        {
            "conditions": [
                {
                    "type": "ModelReady",
                    "status": "False",
                    "reason": "ScheduleFailed",
                    "message": text,
                }
            ]
        }
    )
    assert model_state(upstream) is not None
    assert model_state(upstream)[:2] == ("ScheduleFailed", text)  # type: ignore[index]
    assert model_state(fixed)[:2] == ("ScheduleFailed", text)  # type: ignore[index]
    ready = _model({"conditions": [{"type": "ModelReady", "status": "True"}]})
    assert model_state(ready) is None
    assert model_state(_model({})) is None


@pytest.mark.parametrize(
    ("reason", "checks"),
    [
        ("Failed to schedule model as no matching servers are available", {"SD102", "SD101"}),
        (
            "Failed to schedule model as no matching server had enough suitable replicas",
            {"SD103", "SD104"},
        ),
        (
            "failed to schedule model tfsimple. [failed replica filter RequirementsReplicaFilter "
            "for server replica mlserver:0 : model requirements [tensorflow] replica capabilities "
            "[mlserver sklearn]]",
            {"SD102"},
        ),
        (
            "failed to schedule model m. [failed replica filter AvailableMemoryReplicaFilter for "
            "server replica mlserver:0 : model memory 2000000000 replica memory 1000000000]",
            {"SD104"},
        ),
        ("Failed to download from gs://seldon-models/triton/simples any files", {"storage"}),
        ("lstat /mnt/agent/rclone/1495806312: no such file or directory", {"storage"}),
        ("rpc error: code = Unavailable desc = connection refused", {"SD503"}),
        ("rpc error: code = PermissionDenied desc = RBAC: access denied", {"SD509"}),
    ],
)
def test_reason_names_the_explaining_check(reason: str, checks: set[str]) -> None:
    meaning, suspects = reason_meaning(reason)
    assert meaning
    assert checks <= set(suspects)


@pytest.mark.parametrize("check_id", MINE)
def test_every_fixture_finding_has_a_filled_plan(check_id: str) -> None:
    for case in sorted((FIXTURES / "checks" / check_id).iterdir()):
        graph = build_graph(load_case(case))
        for finding in _run(check_id, graph):
            plan = plan_for(finding)  # raises KeyError on a missing placeholder
            assert plan is not None and plan.steps
            assert finding.evidence, f"{check_id} {finding.resource} carries no evidence"


def test_severities_follow_the_case() -> None:
    sd103 = _by_name(_run("SD103", build_graph(load_case(FIXTURES / "checks/SD103/fires.yaml"))))
    assert sd103["iris"].severity == Severity.ERROR
    assert sd103["iris-min"].severity == Severity.WARNING
    sd105 = _by_name(_run("SD105", build_graph(load_case(FIXTURES / "checks/SD105/fires.yaml"))))
    assert sd105["fraud-detector"].severity == Severity.ERROR
    assert "SD102" in sd105["fraud-detector"].message
    assert sd105["waiting"].severity == Severity.WARNING
    assert sd105["stalled"].severity == Severity.ERROR
    assert "60 minutes" in sd105["stalled"].message
    assert "storageUri" in sd105["tfsimple1"].message


def test_pin_to_a_server_of_another_namespace_on_the_same_scheduler(tmp_path: Path) -> None:
    graph = _graph(
        tmp_path,
        """
        apiVersion: mlops.seldon.io/v1alpha1
        kind: SeldonRuntime
        metadata: {name: seldon, namespace: central}
        spec: {seldonConfig: default}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: seldon-scheduler, namespace: app-a}
        spec: {type: ExternalName, externalName: seldon-scheduler.central.svc.cluster.local}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: seldon-scheduler, namespace: app-b}
        spec: {type: ExternalName, externalName: seldon-scheduler.central.svc.cluster.local}
        ---
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Server
        metadata: {name: gpu-pool, namespace: app-b}
        spec: {serverConfig: mlserver}
        ---
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Server
        metadata: {name: mlserver-a, namespace: app-a}
        spec: {serverConfig: mlserver}
        ---
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Model
        metadata: {name: m, namespace: app-a}
        spec: {storageUri: "gs://m", server: gpu-pool}
        """,
    )
    (finding,) = list(ModelServerNotFound().run(CheckContext(graph=graph)))
    assert finding.severity == Severity.WARNING
    assert "app-b/gpu-pool" in finding.message


def test_memory_from_a_running_pod(tmp_path: Path) -> None:
    graph = _graph(
        tmp_path,
        """
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Server
        metadata: {name: mlserver, namespace: nlp}
        spec: {serverConfig: mlserver}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: mlserver-0, namespace: nlp, labels: {seldon-server-name: mlserver}}
        spec:
          containers:
          - name: agent
            env:
            - {name: SELDON_SERVER_CAPABILITIES, value: "mlserver,sklearn"}
            - {name: MEMORY_REQUEST, value: "1000000000"}
            - {name: SELDON_OVERCOMMIT_PERCENTAGE, value: "0"}
        status: {conditions: [{type: Ready, status: "True"}]}
        ---
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Model
        metadata: {name: big, namespace: nlp}
        spec: {storageUri: "gs://b", requirements: [sklearn], memory: 1.5G}
        ---
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Model
        metadata: {name: fits, namespace: nlp}
        spec: {storageUri: "gs://f", requirements: [sklearn], memory: 900M}
        """,
        complete=True,  # every Server there is: "no Server can hold it" is a finding
    )
    assert [f.resource.name for f in _run("SD104", graph)] == ["big"]


def test_stuck_terminating_in_a_live_scan_uses_the_clock(tmp_path: Path) -> None:
    old = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    graph = _graph(
        tmp_path,
        f"""
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Model
        metadata:
          name: iris
          namespace: a
          deletionTimestamp: "{old}"
          finalizers: [seldon.model.finalizer]
        spec: {{storageUri: "gs://i"}}
        """,
    )
    graph.snapshot.live = True
    (finding,) = list(ModelStuckTerminating().run(CheckContext(graph=graph)))
    assert "119 minutes" in finding.message or "120 minutes" in finding.message


def test_manifest_mode_does_not_guess_ready_replicas(tmp_path: Path) -> None:
    graph = _graph(
        tmp_path,
        """
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Server
        metadata: {name: triton, namespace: v}
        spec: {serverConfig: triton, replicas: 2}
        ---
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Model
        metadata: {name: tf, namespace: v}
        spec: {storageUri: "gs://t", requirements: [tensorflow], replicas: 2}
        """,
    )
    assert not graph.observed
    assert _run("SD201", graph) == []
    assert _run("SD103", graph) == []
