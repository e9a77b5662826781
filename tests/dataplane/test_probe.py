"""The readiness probe's verdicts, each produced by the real Envoy / MLServer, not by mocks."""

from __future__ import annotations

import pytest

from seldon_doctor.clients.readiness import probe
from seldon_doctor.domain import oip as p
from seldon_doctor.domain.oip import classify
from tests.dataplane.conftest import INTERNAL_MODEL, MODEL, EnvoyHandle
from tests.dataplane.procs import AgentProxy, MLServerProcess
from tests.dataplane.xds_server import (
    XdsTestServer,
    seldon_cluster,
    seldon_model_route,
    seldon_route_config,
)

pytestmark = pytest.mark.dataplane


def test_route_present_is_ok_through_envoy(envoy: EnvoyHandle, mlserver: MLServerProcess) -> None:
    result = probe(envoy.listener_url, MODEL)
    assert result.verdict == p.OK, result
    assert result.ok and result.via_envoy
    assert result.seldon_route == f":{INTERNAL_MODEL}:"
    assert result.seldon_model == MODEL


def test_route_withdrawn_is_envoys_own_404(
    envoy: EnvoyHandle, seldon_xds: XdsTestServer, mlserver: MLServerProcess
) -> None:
    seldon_xds.put("route", seldon_route_config([]))
    seldon_xds.wait_acked()
    before = envoy.counter("no_route")
    result = probe(envoy.listener_url, MODEL)
    assert (result.status, result.verdict) == (404, p.ENVOY_NO_ROUTE), result
    assert result.body == ""
    assert envoy.counter("no_route") == before + 1


def test_straight_to_mlserver_is_classified_as_bypassing_envoy(mlserver: MLServerProcess) -> None:
    result = probe(mlserver.url, MODEL)
    assert (result.status, result.verdict) == (404, p.BYPASSED_ENVOY), result
    assert f"Model {MODEL} not found" in result.detail
    assert not result.via_envoy


def test_routed_but_model_missing_on_the_server(
    envoy: EnvoyHandle,
    seldon_xds: XdsTestServer,
    mlserver: MLServerProcess,
    agent_proxy: AgentProxy,
) -> None:
    """Envoy routes ghost → ghost_1, but MLServer never loaded ghost_1."""
    seldon_xds.put("cluster", seldon_cluster("ghost_1_http", "127.0.0.1", agent_proxy.port))
    seldon_xds.put(
        "route",
        seldon_route_config(
            [
                seldon_model_route(MODEL, {INTERNAL_MODEL: 100}),
                seldon_model_route("ghost", {"ghost_1": 100}),
            ]
        ),
    )
    seldon_xds.wait_acked()
    result = probe(envoy.listener_url, "ghost")
    assert (result.status, result.verdict) == (404, p.MODEL_NOT_LOADED), result
    assert "ghost_1" in result.detail


def test_route_to_a_missing_cluster_is_no_cluster(
    envoy: EnvoyHandle, seldon_xds: XdsTestServer
) -> None:
    seldon_xds.remove("cluster", f"{INTERNAL_MODEL}_http")
    seldon_xds.wait_acked()
    before = envoy.counter("no_cluster")
    result = probe(envoy.listener_url, MODEL)
    assert (result.status, result.verdict) == (503, p.ENVOY_NO_CLUSTER), result
    assert envoy.counter("no_cluster") == before + 1


def test_cluster_without_endpoints_is_no_healthy_upstream(
    envoy: EnvoyHandle, seldon_xds: XdsTestServer
) -> None:
    empty = seldon_cluster(f"{INTERNAL_MODEL}_http", "127.0.0.1", 1)
    empty["load_assignment"]["endpoints"] = []
    seldon_xds.put("cluster", empty)
    seldon_xds.wait_acked()
    result = probe(envoy.listener_url, MODEL)
    assert (result.status, result.verdict) == (503, p.ENVOY_NO_HEALTHY_UPSTREAM), result


def test_experiment_and_pipeline_headers() -> None:
    assert p.seldon_model_header("exp", "experiment") == "exp.experiment"
    assert p.seldon_model_header("chain", "pipeline") == "chain.pipeline"
    assert p.ready_path("chain", "pipeline") == "/v2/pipelines/chain/ready"
    verdict, _ = classify(418, "teapot", {}, seldon_model="x")
    assert verdict == p.HTTP_ERROR
