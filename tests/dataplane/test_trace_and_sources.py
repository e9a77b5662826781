"""Pure tests (no processes): the data-plane source's JSON round trips and ``trace`` on fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seldon_doctor.cli import main
from seldon_doctor.domain.scheduler_state import (
    ModelState,
    ModelVersionState,
    ReplicaState,
    SchedulerState,
)
from seldon_doctor.domain.xds_state import xds_snapshot_from_dict
from seldon_doctor.graph.build import build_graph
from seldon_doctor.snapshot import Snapshot
from seldon_doctor.sources.dataplane import (
    DataplaneInputs,
    _with_port,
    collect_dataplane,
    scheduler_state_from_dict,
)
from seldon_doctor.trace import BROKEN, OK, trace
from tests.conftest import FIXTURES, load_case


def test_scheduler_state_round_trips_through_json() -> None:
    state = SchedulerState(
        target="s:9004",
        models={
            "iris": ModelState(
                "iris",
                (
                    ModelVersionState(
                        version=2,
                        server="mlserver",
                        state="ModelAvailable",
                        reason="",
                        available_replicas=1,
                        unavailable_replicas=0,
                        replicas=(ReplicaState(0, "Available", ""),),
                        namespace="ns",
                        requirements=("sklearn",),
                    ),
                ),
            )
        },
    )
    back = scheduler_state_from_dict(json.loads(json.dumps(state.to_dict())))
    assert back.models == state.models
    assert back.target == "s:9004"


def test_xds_snapshot_from_dict_keeps_resources() -> None:
    snap = xds_snapshot_from_dict({"target": "t", "routes": {"listener_0": {"name": "listener_0"}}})
    assert snap.routes == {"listener_0": {"name": "listener_0"}}
    assert snap.node_id == "test-id"


def test_default_ports() -> None:
    assert _with_port("seldon-scheduler.ns", 9004) == "seldon-scheduler.ns:9004"
    assert _with_port("127.0.0.1:1234", 9004) == "127.0.0.1:1234"
    assert _with_port("http://h:9002/", 9004) == "h:9002"


def test_unreachable_endpoints_become_gaps_not_errors() -> None:
    snapshot = collect_dataplane(
        Snapshot(),
        DataplaneInputs(envoy_admin=["ns=http://127.0.0.1:1"], namespace="ns", timeout=1.0),
    )
    assert [g.what for g in snapshot.gaps] == ["envoy:ns"]
    assert not snapshot.envoys


def test_trace_marks_the_missing_route() -> None:
    graph = build_graph(load_case(FIXTURES / "checks" / "SD601" / "fires"))
    result = trace(graph, "Model", "recsys", "ranker-b")
    broken = result.first_broken
    assert broken is not None and broken.what == "route"
    assert result.exit_code() == 1
    assert result.to_dict()["first_broken"]["hop"] == "route"
    whole = trace(graph, "Model", "recsys", "ranker-a")
    assert whole.whole and whole.exit_code() == 0
    assert {h.what for h in whole.hops() if h.status == OK} >= {"route", "cluster", "listener"}


def test_trace_marks_a_cluster_without_endpoints_and_the_scheduler_view() -> None:
    graph = build_graph(load_case(FIXTURES / "checks" / "SD603" / "fires"))
    result = trace(graph, "Model", "shop", "iris")
    assert result.first_broken is not None and result.first_broken.what == "cluster"
    assert "NC" in result.first_broken.detail
    graph = build_graph(load_case(FIXTURES / "checks" / "SD607" / "fires"))
    result = trace(graph, "Model", "shop", "wine")
    scheduler = next(h for h in result.hops() if h.what == "scheduler")
    assert scheduler.status == BROKEN and "LoadFailed" in scheduler.detail


def test_trace_cli_json_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    case = FIXTURES / "checks" / "SD605" / "fires"
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "trace",
                "iris",
                "-n",
                "shop",
                "-f",
                str(case / "cluster.yaml"),
                "--envoy-config-dump",
                str(case / "envoy" / "shop.config_dump.json"),
                "-o",
                "json",
            ]
        )
    assert exc.value.code == 1
    report = json.loads(capsys.readouterr().out)
    assert report["first_broken"]["hop"] == "listener"
    assert "registered implementation" in report["first_broken"]["reason"]
    # Nothing given and no kubeconfig: the live trace has no cluster to read (exit 2).
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KUBECONFIG", str(Path("/nonexistent/kubeconfig")))
        with pytest.raises(SystemExit) as exc:
            main(["trace", "iris"])
    assert exc.value.code == 2
    assert "no kubeconfig" in capsys.readouterr().err


def test_trace_table_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    case = FIXTURES / "checks" / "SD601" / "fires"
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "trace",
                "ranker-b",
                "-n",
                "recsys",
                "-f",
                str(case / "cluster.yaml"),
                "--envoy-config-dump",
                f"recsys={case / 'envoy' / 'recsys.config_dump.json'}",
                "--no-color",
            ]
        )
    assert exc.value.code == 1
    out = capsys.readouterr().out
    assert "first broken hop" in out and "seldon-model: ranker-b" in out


def test_observe_live_turns_a_failed_port_forward_into_a_gap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import kubernetes.stream

    from seldon_doctor.snapshot import KubeObject
    from seldon_doctor.sources.dataplane import observe_live

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("pods/portforward is forbidden")

    monkeypatch.setattr(kubernetes.stream, "portforward", refuse)

    class Api:
        connect_get_namespaced_pod_portforward = None

    pod = KubeObject(
        {
            "kind": "Pod",
            "metadata": {
                "name": "seldon-envoy-x",
                "namespace": "ns",
                "labels": {"app.kubernetes.io/name": "seldon-envoy"},
            },
        }
    )
    snapshot = observe_live(Snapshot(objects=[pod]), api=Api(), timeout=2.0)
    (gap,) = snapshot.gaps
    assert gap.what == "envoy:ns"
    assert "forbidden" in gap.reason, gap.reason
