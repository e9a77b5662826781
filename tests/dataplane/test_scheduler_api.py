"""The scheduler status client against a grpcio server built from our own proto."""

from __future__ import annotations

import time

import grpc
import pytest

from seldon_doctor.clients import DataplaneUnavailable
from seldon_doctor.clients.scheduler_api import SchedulerState, fetch_scheduler_state
from tests.dataplane.procs import free_port
from tests.dataplane.scheduler_server import RS, SchedulerStatusTestServer, model_status


@pytest.mark.dataplane
def test_reads_the_canned_state(scheduler_status_server: SchedulerStatusTestServer) -> None:
    state = fetch_scheduler_state(scheduler_status_server.target, 5.0)

    assert isinstance(state, SchedulerState)
    assert state.errors == {}
    assert state.application_version == "0.0.1"

    iris = state.models["iris"].latest
    assert iris is not None
    assert (iris.version, iris.server, iris.state) == (1, "mlserver", "ModelAvailable")
    assert iris.available_replicas == 1
    assert [(r.index, r.state) for r in iris.replicas] == [(0, "Available")]
    assert iris.requirements == ("sklearn",)
    assert iris.namespace == "seldon-mesh"
    assert iris.desired_replicas == 1

    broken = state.models["broken"].latest
    assert broken is not None
    assert broken.state == "ScheduleFailed"
    assert broken.reason == "Failed to schedule model as no matching servers are available"
    assert broken.replicas == ()
    assert broken.requirements == ("foobar",)

    server = state.servers["mlserver"]
    assert (server.expected_replicas, server.available_replicas) == (1, 1)
    assert server.loaded_model_replicas == 1
    assert server.replicas[0].loaded_models == 1
    assert server.response_type == "StatusUpdate"

    experiment = state.experiments["iris-ab"]
    assert experiment.active and experiment.candidates_ready
    assert experiment.status_description == "experiment active"

    pipeline = state.pipelines["chain"].latest
    assert pipeline is not None
    assert (pipeline.version, pipeline.status, pipeline.models_ready) == (1, "PipelineReady", True)

    rpcs = {rpc for rpc, _ in scheduler_status_server.requests}
    assert rpcs == {
        "SchedulerStatus",
        "ServerStatus",
        "ModelStatus",
        "ExperimentStatus",
        "PipelineStatus",
    }
    assert {who for _, who in scheduler_status_server.requests} == {"seldon-doctor"}
    assert state.to_dict()["models"]["iris"]["versions"][0]["state"] == "ModelAvailable"


@pytest.mark.dataplane
def test_replica_states_and_versions(scheduler_status_server: SchedulerStatusTestServer) -> None:
    rollout = model_status("iris", version=2, replicas={0: RS.Loading, 1: RS.LoadFailed})
    rollout.versions.extend(model_status("iris", version=1).versions)
    scheduler_status_server.models = [rollout]
    state = fetch_scheduler_state(scheduler_status_server.target, 5.0)
    iris = state.models["iris"]
    assert [v.version for v in iris.versions] == [1, 2]
    latest = iris.latest
    assert latest is not None and latest.version == 2
    assert [(r.index, r.state) for r in latest.replicas] == [(0, "Loading"), (1, "LoadFailed")]
    assert latest.available_replicas == 0


@pytest.mark.dataplane
def test_one_failing_rpc_is_recorded_not_fatal(
    scheduler_status_server: SchedulerStatusTestServer,
) -> None:
    scheduler_status_server.pipeline_status_error = (grpc.StatusCode.UNIMPLEMENTED, "nope")
    state = fetch_scheduler_state(scheduler_status_server.target, 5.0)
    assert set(state.errors) == {"PipelineStatus"}
    assert "UNIMPLEMENTED" in state.errors["PipelineStatus"]
    assert "iris" in state.models


def test_unreachable_scheduler_is_dataplane_unavailable() -> None:
    port = free_port()
    start = time.monotonic()
    with pytest.raises(DataplaneUnavailable) as info:
        fetch_scheduler_state(f"127.0.0.1:{port}", 1.0)
    assert time.monotonic() - start < 3.0
    assert "unreachable" in info.value.reason
    assert "\n" not in str(info.value)
