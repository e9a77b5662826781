"""A real Envoy, fed over Delta ADS, in front of a real MLServer."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from seldon_doctor.clients import envoy_admin
from tests.dataplane.conftest import INTERNAL_MODEL, MODEL, NODE_ID, EnvoyHandle
from tests.dataplane.procs import AgentProxy, MLServerProcess, http_get, wait_until
from tests.dataplane.xds_server import (
    XdsTestServer,
    seldon_cluster,
    seldon_model_route,
    seldon_route_config,
)

pytestmark = pytest.mark.dataplane

LISTENER_TYPE_DUMP = "type.googleapis.com/envoy.admin.v3.ListenersConfigDump"
ROUTES_TYPE_DUMP = "type.googleapis.com/envoy.admin.v3.RoutesConfigDump"
CLUSTERS_TYPE_DUMP = "type.googleapis.com/envoy.admin.v3.ClustersConfigDump"
BOOTSTRAP_TYPE_DUMP = "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump"


def section(dump: dict, type_url: str) -> dict:
    return next(c for c in dump["configs"] if c.get("@type") == type_url)


def dump_route_names(dump: dict) -> set[str]:
    routes = section(dump, ROUTES_TYPE_DUMP).get("dynamic_route_configs", [])
    return {
        route.get("name", "")
        for config in routes
        if config["route_config"].get("name") == "listener_0"
        for vhost in config["route_config"].get("virtual_hosts", [])
        for route in vhost.get("routes", [])
    }


def withdraw_iris(xds: XdsTestServer) -> None:
    """What the scheduler does when model iris loses its last live replica: listener_0 is
    re-sent without iris_http (and the cluster goes away)."""
    xds.put("route", seldon_route_config([]))
    xds.remove("cluster", f"{INTERNAL_MODEL}_http")
    xds.wait_acked()


def test_envoy_takes_seldon_shaped_config_over_delta_ads(envoy: EnvoyHandle) -> None:
    assert envoy_admin.fetch_ready(envoy.admin_url) == "LIVE"
    dump = envoy_admin.fetch_config_dump(envoy.admin_url)

    bootstrap = section(dump, BOOTSTRAP_TYPE_DUMP)["bootstrap"]
    assert bootstrap["node"]["id"] == NODE_ID
    assert bootstrap["dynamic_resources"]["ads_config"]["api_type"] == "DELTA_GRPC"

    listeners = section(dump, LISTENER_TYPE_DUMP)["dynamic_listeners"]
    seldon_http = next(entry for entry in listeners if entry["name"] == "seldon_http")
    assert "error_state" not in seldon_http
    hcm = seldon_http["active_state"]["listener"]["filter_chains"][0]["filters"][0]["typed_config"]
    assert hcm["rds"]["route_config_name"] == "listener_0"
    assert hcm["stat_prefix"] == "seldon_http"

    assert dump_route_names(dump) == {f"{MODEL}_http"}
    clusters = {
        c["cluster"]["name"] for c in section(dump, CLUSTERS_TYPE_DUMP)["dynamic_active_clusters"]
    }
    assert clusters == {f"{INTERNAL_MODEL}_http"}

    assert NODE_ID in envoy.xds.nodes_seen
    assert envoy.xds.nacks == []


def test_request_with_seldon_model_header_reaches_mlserver_through_envoy(
    envoy: EnvoyHandle, mlserver: MLServerProcess, agent_proxy: AgentProxy
) -> None:
    before = len(agent_proxy.requests)
    result = envoy.get(f"/v2/models/{MODEL}/ready", model=MODEL)

    assert result.status == 200, (result, envoy.log_tail())
    # Envoy's route answered: its weighted cluster adds this response header...
    assert result.headers.get("x-seldon-route") == f":{INTERNAL_MODEL}:"
    assert result.headers.get("server") == "envoy"
    # ...and its request header seldon-internal-model is what let the agent find iris_1.
    assert agent_proxy.requests[before:] == [("GET", f"/v2/models/{MODEL}/ready", INTERNAL_MODEL)]
    assert result.headers.get("x-test-agent-rewrote") == f"{MODEL} -> {INTERNAL_MODEL}"


def test_request_straight_to_mlserver_with_the_public_name_is_the_servers_404(
    mlserver: MLServerProcess,
) -> None:
    """What --probe must tell apart from Envoy's own 404: MLServer knows only iris_1."""
    result = http_get(f"{mlserver.url}/v2/models/{MODEL}/ready")
    assert result.status == 404
    assert json.loads(result.text) == {"error": f"Model {MODEL} not found"}
    assert http_get(f"{mlserver.url}/v2/models/{INTERNAL_MODEL}/ready").status == 200


def test_unknown_model_header_is_envoys_own_empty_404(envoy: EnvoyHandle) -> None:
    before = envoy.counter("no_route")
    result = envoy.get("/v2/models/nosuch/ready", model="nosuch")
    assert result.status == 404
    assert result.body == b""
    assert "x-seldon-route" not in result.headers
    assert envoy.counter("no_route") == before + 1


def test_stale_x_seldon_route_header_gets_no_route(envoy: EnvoyHandle) -> None:
    """Normal routes require x-seldon-route to be absent (present_match: false)."""
    before = envoy.counter("no_route")
    result = envoy.get(
        f"/v2/models/{MODEL}/ready", model=MODEL, headers={"x-seldon-route": f":{INTERNAL_MODEL}:"}
    )
    assert (result.status, result.body) == (404, b"")
    assert envoy.counter("no_route") == before + 1


def test_route_withdrawn_over_xds_gives_empty_404_then_comes_back(
    envoy: EnvoyHandle,
    seldon_xds: XdsTestServer,
    mlserver: MLServerProcess,
    agent_proxy: AgentProxy,
    seldon_baseline: dict,
) -> None:
    assert envoy.get(f"/v2/models/{MODEL}/ready", model=MODEL).status == 200

    withdraw_iris(seldon_xds)
    dump = envoy_admin.fetch_config_dump(envoy.admin_url)
    assert dump_route_names(dump) == set()

    before_counter = envoy.counter("no_route")
    before_agent = len(agent_proxy.requests)
    result = wait_until(
        lambda: (r := envoy.get(f"/v2/models/{MODEL}/ready", model=MODEL)).status == 404 and r,
        timeout=5.0,
        what="Envoy to answer 404 after the withdrawal",
    )
    assert result.body == b""
    assert "x-seldon-route" not in result.headers
    assert envoy.counter("no_route") >= before_counter + 1
    assert len(agent_proxy.requests) == before_agent  # nothing reached the model side

    # The scheduler re-adds the route when the model is available again.
    seldon_xds.replace(seldon_baseline)
    seldon_xds.wait_acked()
    back = wait_until(
        lambda: (r := envoy.get(f"/v2/models/{MODEL}/ready", model=MODEL)).status == 200 and r,
        timeout=5.0,
        what="the route to come back",
    )
    assert back.headers.get("x-seldon-route") == f":{INTERNAL_MODEL}:"


def test_weighted_split_is_what_envoy_holds(envoy: EnvoyHandle, seldon_xds: XdsTestServer) -> None:
    """An experiment-style split (iris_1:50 / iris_2:50) arrives in Envoy as served."""
    route = seldon_model_route(MODEL, {"iris_1": 50, "iris_2": 50})
    port = seldon_xds.served("cluster")[f"{INTERNAL_MODEL}_http"]["load_assignment"]["endpoints"][
        0
    ]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]["port_value"]
    seldon_xds.put("cluster", seldon_cluster("iris_2_http", "127.0.0.1", port))
    seldon_xds.put("route", seldon_route_config([route]))
    seldon_xds.wait_acked()
    dump = envoy_admin.fetch_config_dump(envoy.admin_url)
    config = next(
        c["route_config"]
        for c in section(dump, ROUTES_TYPE_DUMP)["dynamic_route_configs"]
        if c["route_config"]["name"] == "listener_0"
    )
    clusters = config["virtual_hosts"][0]["routes"][0]["route"]["weighted_clusters"]["clusters"]
    assert [(c["name"], c["weight"]) for c in clusters] == [
        ("iris_1_http", 50),
        ("iris_2_http", 50),
    ]


def _mentions(obj: object, needle: str, depth: int = 0) -> bool:
    """Does ``needle`` appear as a string (or mapping key) anywhere inside ``obj``?

    Walks dicts, sequences, sets, dataclasses and plain objects, so the test does not depend on
    the shape ``parse_config_dump`` chooses to return.
    """
    if depth > 12:
        return False
    if isinstance(obj, str):
        return obj == needle
    if isinstance(obj, Mapping):  # dicts and the parser's read-only MappingProxyType
        return any(
            _mentions(k, needle, depth + 1) or _mentions(v, needle, depth + 1)
            for k, v in obj.items()
        )
    if isinstance(obj, (list, tuple, set, frozenset)):
        return any(_mentions(v, needle, depth + 1) for v in obj)
    if isinstance(obj, (int, float, bool, bytes)) or obj is None:
        return False
    fields: dict[str, object] = {}
    if hasattr(obj, "__dict__"):
        fields.update(vars(obj))
    for slot in getattr(type(obj), "__slots__", ()):
        if hasattr(obj, slot):
            fields[slot] = getattr(obj, slot)
    return any(_mentions(v, needle, depth + 1) for v in fields.values())


def test_envoy_dump_parses_with_route_present_and_absent(
    envoy: EnvoyHandle, seldon_xds: XdsTestServer
) -> None:
    """The live dump goes through the domain parser (``domain.envoy_parse``)."""
    present = envoy_admin.fetch_config_dump(envoy.admin_url)
    parsed_present = envoy_admin.parse_dump(present)
    assert parsed_present is not None
    assert _mentions(parsed_present, f"{MODEL}_http") or _mentions(parsed_present, MODEL)
    assert _mentions(parsed_present, f"{INTERNAL_MODEL}_http")

    withdraw_iris(seldon_xds)
    absent = envoy_admin.fetch_config_dump(envoy.admin_url)
    parsed_absent = envoy_admin.parse_dump(absent)
    assert parsed_absent is not None
    assert not _mentions(parsed_absent, f"{MODEL}_http")
    assert not _mentions(parsed_absent, f"{INTERNAL_MODEL}_http")


def test_observe_reads_ready_dump_and_counters(envoy: EnvoyHandle) -> None:
    seen = envoy_admin.observe(envoy.admin_url, timeout=5.0)
    assert seen.ready == "LIVE"
    assert set(seen.counters) == {"no_route", "no_cluster"}
    assert any(c.get("@type") == ROUTES_TYPE_DUMP for c in seen.config_dump["configs"])
