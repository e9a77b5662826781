"""The Delta ADS client against the test xDS server, compared with what the real Envoy holds."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from seldon_doctor.clients import DataplaneUnavailable, envoy_admin
from seldon_doctor.clients.xds_client import (
    CLUSTER_TYPE,
    LISTENER_TYPE,
    ROUTE_TYPE,
    XdsSnapshot,
    fetch_xds,
)
from tests.dataplane.conftest import INTERNAL_MODEL, MODEL, NODE_ID, EnvoyHandle
from tests.dataplane.procs import free_port
from tests.dataplane.scheduler_server import SchedulerStatusTestServer
from tests.dataplane.xds_server import XdsTestServer, seldon_route_config

ROUTES_DUMP = "type.googleapis.com/envoy.admin.v3.RoutesConfigDump"
CLUSTERS_DUMP = "type.googleapis.com/envoy.admin.v3.ClustersConfigDump"
LISTENERS_DUMP = "type.googleapis.com/envoy.admin.v3.ListenersConfigDump"


def _section(dump: dict, type_url: str) -> dict:
    return next(c for c in dump["configs"] if c.get("@type") == type_url)


def _strip_type(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "@type"}


@pytest.mark.dataplane
def test_ads_client_fetches_what_the_server_serves(seldon_xds: XdsTestServer) -> None:
    snap = fetch_xds(seldon_xds.target, timeout=5.0, quiet=0.3)

    assert isinstance(snap, XdsSnapshot)
    assert snap.complete
    assert snap.answered == {LISTENER_TYPE, CLUSTER_TYPE, ROUTE_TYPE}
    assert set(snap.listeners) == {"seldon_http"}
    assert set(snap.clusters) == {f"{INTERNAL_MODEL}_http"}
    assert set(snap.routes) == {"listener_0", "listener_1"}
    assert snap.decode_errors == {}
    # Round trip: what the client decoded is what the server encoded (protojson, snake_case).
    for kind, got in (
        ("listener", snap.listeners),
        ("cluster", snap.clusters),
        ("route", snap.routes),
    ):
        assert got == seldon_xds.served(kind), kind
    route = snap.routes["listener_0"]["virtual_hosts"][0]["routes"][0]
    assert route["name"] == f"{MODEL}_http"
    assert route["match"]["headers"][1] == {"name": "x-seldon-route", "present_match": False}
    hcm = snap.listeners["seldon_http"]["filter_chains"][0]["filters"][0]["typed_config"]
    assert hcm["@type"].endswith("HttpConnectionManager")
    assert hcm["rds"]["route_config_name"] == "listener_0"
    # The client ACKed every response it got, as an Envoy would.
    assert snap.node_id == NODE_ID
    assert snap.elapsed < 5.0
    assert snap.to_dict()["answered"] == sorted(snap.answered)


@pytest.mark.dataplane
def test_ads_client_and_envoy_agree(envoy: EnvoyHandle) -> None:
    """Same protojson shape on both sides, so an SD606-style comparison is a dict comparison."""
    snap = fetch_xds(envoy.xds.target, timeout=5.0, quiet=0.3)
    dump = envoy_admin.fetch_config_dump(envoy.admin_url)

    envoy_routes = {
        c["route_config"]["name"]: _strip_type(c["route_config"])
        for c in _section(dump, ROUTES_DUMP).get("dynamic_route_configs", [])
    }
    assert envoy_routes["listener_0"] == snap.routes["listener_0"]
    envoy_clusters = {
        c["cluster"]["name"]: _strip_type(c["cluster"])
        for c in _section(dump, CLUSTERS_DUMP).get("dynamic_active_clusters", [])
    }
    assert envoy_clusters == snap.clusters
    envoy_listeners = {
        entry["name"]: _strip_type(entry["active_state"]["listener"])
        for entry in _section(dump, LISTENERS_DUMP).get("dynamic_listeners", [])
    }
    assert envoy_listeners == snap.listeners


@pytest.mark.dataplane
def test_ads_client_sees_a_withdrawn_route(seldon_xds: XdsTestServer) -> None:
    seldon_xds.put("route", seldon_route_config([]))
    snap = fetch_xds(seldon_xds.target, timeout=5.0, quiet=0.3)
    assert snap.routes["listener_0"]["virtual_hosts"][0].get("routes", []) == []


@pytest.mark.dataplane
def test_ads_client_without_routes_for_the_node_returns_after_grace(
    seldon_xds: XdsTestServer,
) -> None:
    """A type the server never answers (e.g. routes for another node id) ends the wait after a
    grace period instead of the full deadline, and is visible as unanswered."""
    seldon_xds.remove("route", "listener_0", "listener_1")
    start = time.monotonic()
    snap = fetch_xds(seldon_xds.target, timeout=4.0, quiet=0.2)
    assert time.monotonic() - start < 3.5
    assert ROUTE_TYPE not in snap.answered
    assert snap.routes == {}
    assert set(snap.listeners) == {"seldon_http"}


@pytest.mark.dataplane
def test_ads_client_with_another_node_id_gets_no_routes(seldon_xds: XdsTestServer) -> None:
    """The scheduler keys routes on node id test-id; any other node sees no RouteConfiguration."""
    snap = fetch_xds(seldon_xds.target, node_id="not-test-id", timeout=4.0, quiet=0.2)
    assert snap.node_id == "not-test-id"
    assert ROUTE_TYPE not in snap.answered
    assert set(snap.listeners) == {"seldon_http"}


def test_ads_client_unreachable_is_dataplane_unavailable() -> None:
    port = free_port()
    start = time.monotonic()
    with pytest.raises(DataplaneUnavailable) as info:
        fetch_xds(f"127.0.0.1:{port}", timeout=1.0)
    assert time.monotonic() - start < 3.0
    assert f"127.0.0.1:{port}" in info.value.reason
    assert "\n" not in info.value.reason


def test_ads_client_against_a_non_xds_grpc_server() -> None:
    server = SchedulerStatusTestServer().start()
    try:
        with pytest.raises(DataplaneUnavailable, match="does not serve Delta ADS"):
            fetch_xds(server.target, timeout=2.0)
    finally:
        server.stop()


def test_ads_client_against_a_silent_tcp_server_times_out() -> None:
    """Accepts TCP and never speaks HTTP/2: bounded by the deadline, never a hang."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                accepted.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        start = time.monotonic()
        with pytest.raises(DataplaneUnavailable):
            fetch_xds(f"127.0.0.1:{port}", timeout=1.0)
        assert time.monotonic() - start < 3.0
    finally:
        stop.set()
        thread.join(2.0)
        for conn in accepted:
            conn.close()
        listener.close()
