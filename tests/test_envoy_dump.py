"""Envoy /config_dump parser: real dumps, Seldon xDS goldens, matching semantics, hostile input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seldon_doctor.domain import envoy_config as ec
from seldon_doctor.domain import envoy_edp, envoy_parse, envoy_types
from seldon_doctor.domain.envoy_config import (
    DumpError,
    EnvoyRoute,
    HeaderMatcher,
    WeightedCluster,
)
from seldon_doctor.domain.envoy_parse import parse_config_dump, parse_xds_resources
from seldon_doctor.domain.envoy_routes import find_route, route_matches
from seldon_doctor.domain.envoy_types import envoy_type_known
from seldon_doctor.sources.envoy_dump import load_config_dump
from tests.conftest import NEEDS_SHARED

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
ENVOY = SHARED / "envoy"
GOLDEN = SHARED / "seldon" / "envoy-xds-golden"
SELDON_DUMP = "envoy-1.40-seldon-shaped.config_dump.json"


def _data(folder: Path, name: str = "") -> Path:
    path = folder / name if name else folder
    if not path.exists():
        pytest.skip(NEEDS_SHARED)
    return path


def _dump_files() -> list[str]:
    return sorted(p.name for p in ENVOY.glob("*.json")) if ENVOY.is_dir() else []


# ---------------------------------------------------------------------------------------------
# An independent count of what a dump holds, reading the JSON directly (both spellings).


def _k(obj: dict[str, Any], snake: str) -> Any:
    head, *rest = snake.split("_")
    camel = head + "".join(p.title() for p in rest)
    return obj.get(snake, obj.get(camel))


def _expected(raw: dict[str, Any]) -> tuple[int, int, set[str]]:
    listeners = 0
    route_bodies: dict[str, Any] = {}
    unnamed: list[Any] = []
    clusters: set[str] = set()
    inline: list[Any] = []
    for sec in raw["configs"]:
        kind = sec["@type"].rsplit(".", 1)[1]
        if kind == "ListenersConfigDump":
            entries = (_k(sec, "static_listeners") or []) + (_k(sec, "dynamic_listeners") or [])
            listeners += len(entries)
            text = json.dumps(sec)
            # Inline route configs of HCMs also count (Envoy repeats them in the routes dump).
            for entry in entries:
                lst = entry.get("listener") or (entry.get("active_state") or {}).get("listener")
                for chain in (lst or {}).get("filter_chains", []):
                    for flt in chain.get("filters", []):
                        rc = (flt.get("typed_config") or {}).get("route_config")
                        if rc is not None:
                            inline.append({k: v for k, v in rc.items() if k != "@type"})
            assert text  # section is JSON-serialisable
        elif kind == "RoutesConfigDump":
            for key in ("static_route_configs", "dynamic_route_configs"):
                for entry in _k(sec, key) or []:
                    rc = {k: v for k, v in entry["route_config"].items() if k != "@type"}
                    if rc.get("name"):
                        route_bodies.setdefault(rc["name"], rc)
                    else:
                        unnamed.append(rc)
        elif kind == "ClustersConfigDump":
            for key in ("static_clusters", "dynamic_active_clusters", "dynamic_warming_clusters"):
                clusters.update(e["cluster"]["name"] for e in _k(sec, key) or [] if "cluster" in e)
    for rc in inline:
        if rc.get("name"):
            route_bodies.setdefault(rc["name"], rc)
        elif rc not in unnamed:
            unnamed.append(rc)
    all_rcs = list(route_bodies.values()) + unnamed
    routes = sum(len(vh.get("routes", [])) for rc in all_rcs for vh in rc.get("virtual_hosts", []))
    return listeners, routes, clusters


@pytest.mark.parametrize("name", _dump_files() or ["(no dumps)"])
def test_every_real_dump_parses_with_the_counts_it_holds(name: str) -> None:
    path = _data(ENVOY, name)
    raw, cfg = load_config_dump(path)
    assert raw == json.loads(path.read_text(encoding="utf-8"))
    listeners, routes, clusters = _expected(raw)
    assert len(cfg.listeners) == listeners
    assert sum(len(r) for r in cfg.route_configs.values()) == routes
    assert set(cfg.clusters) == clusters


# Hand-verified against the files (see MANIFEST.md there).
HAND_COUNTS = {
    SELDON_DUMP: (1, 1, 1, 3),
    "envoy-gateway_egctl_in.all.config_dump.json": (1, 1, 1, 2),
    "istio_proxyconfig.config_dump.json": (2, 4, 4, 3),
    "istio_routes_istio-gateway-http-route-prefix.config_dump.json": (0, 3, 3, 0),
}


@pytest.mark.parametrize("name", sorted(HAND_COUNTS))
def test_hand_counted_dumps(name: str) -> None:
    _, cfg = load_config_dump(_data(ENVOY, name))
    n_listeners, n_rcs, n_routes, n_clusters = HAND_COUNTS[name]
    assert len(cfg.listeners) == n_listeners
    assert len(cfg.route_configs) == n_rcs
    assert sum(len(r) for r in cfg.route_configs.values()) == n_routes
    assert len(cfg.clusters) == n_clusters


def test_seldon_shaped_dump() -> None:
    _, cfg = load_config_dump(_data(ENVOY, SELDON_DUMP))
    assert cfg.node_id == "seldon-doctor-test"
    assert cfg.node_cluster == "seldon-mesh"
    assert cfg.envoy_version == "1.40.0"
    assert cfg.xds_cluster == "xds_cluster"
    assert cfg.xds_address == ("127.0.0.1", 45497)
    assert cfg.ads_api_type == "GRPC"
    assert cfg.warnings == ()
    (listener,) = cfg.listeners
    assert (listener.name, listener.state, listener.error) == ("seldon_http", "active", None)
    assert (listener.address, listener.port) == ("127.0.0.1", 19000)
    assert listener.route_config_names == ("listener_0",)
    (route,) = cfg.routes_for_listener("seldon_http")
    assert route.name == "echo_http"
    assert (route.route_config, route.virtual_host, route.domains) == (
        "listener_0",
        "seldon",
        ("*",),
    )
    assert route.prefix == "/v2"
    assert route.headers == (HeaderMatcher("seldon-model", "exact", "echo"),)
    assert route.clusters == (
        WeightedCluster("echo_1_http", 90),
        WeightedCluster("echo_2_http", 10),
    )
    assert cfg.clusters["echo_1_http"].endpoints == (("127.0.0.1", 18080),)
    assert cfg.clusters["echo_1_http"].state == "active"
    assert cfg.clusters["xds_cluster"].state == "static"
    assert cfg.clusters["echo_2_http"].type == "STATIC"
    assert (
        find_route(cfg, "seldon_http", "/v2/models/echo/infer", {"Seldon-Model": "echo"}) is route
    )
    assert find_route(cfg, "seldon_http", "/v2/models/echo/infer", {"seldon-model": "Echo"}) is None
    assert find_route(cfg, "seldon_http", "/v1/models/echo", {"seldon-model": "echo"}) is None
    assert find_route(cfg, "seldon_mirrors", "/v2", {"seldon-model": "echo"}) is None


def test_envoy_gateway_camelcase_eds_is_merged_and_non_ads_xds_source() -> None:
    _, cfg = load_config_dump(_data(ENVOY, "envoy-gateway_egctl_in.all.config_dump.json"))
    # Its EndpointsConfigDump is camelCase; the xds_cluster gains the EDS endpoint.
    assert ("10.106.37.54", 18000) in cfg.clusters["xds_cluster"].endpoints
    assert cfg.clusters["xds_cluster"].endpoints[0] == ("envoy-gateway", 18000)
    assert cfg.clusters["default-backend-rule-0-match-0-www.example.com"].endpoints == (
        ("10.96.159.190", 3000),
    )
    # No ADS there: CDS/LDS read from xds_cluster directly.
    assert cfg.ads_api_type is None
    assert (cfg.xds_cluster, cfg.xds_address) == ("xds_cluster", ("envoy-gateway", 18000))
    assert cfg.envoy_version == "1.26.0"
    assert cfg.listeners[0].route_config_names == ("default-eg-http",)
    assert cfg.routes_for_listener("default-eg-http")[0].domains == ("www.example.com",)


def test_istio_dump_unknown_extensions_warn_but_parse() -> None:
    _, cfg = load_config_dump(_data(ENVOY, "istio_proxyconfig.config_dump.json"))
    assert any("udpa.type.v1.TypedStruct" in w for w in cfg.warnings)
    main = next(lst for lst in cfg.listeners if lst.name == "main_internal")
    assert "encap" in main.route_config_names
    # The nameless static listener's inline route config is the one Envoy repeats unnamed in
    # static_route_configs: counted once, named after the listener's address.
    nameless = next(lst for lst in cfg.listeners if lst.name == "")
    assert nameless.route_config_names == ("0.0.0.0:15021/inline-0",)
    assert cfg.clusters["inbound-vip|8000|http|httpbin.default.svc.cluster.local"].type == "EDS"


def test_istio_routes_only_dump() -> None:
    _, cfg = load_config_dump(
        _data(ENVOY, "istio_routes_istio-gateway-http-route-prefix.config_dump.json")
    )
    (route,) = cfg.route_configs["http.8080"]
    assert route.domains == ("httpbin.example.com",)
    assert route.prefix == "/get"
    assert route.clusters == (
        WeightedCluster("outbound|8000||httpbin.default.svc.cluster.local", 100),
    )
    assert route_matches(route, "/get?x=1", {}, "httpbin.example.com")
    assert not route_matches(route, "/get", {}, "other.example.com")


# ---------------------------------------------------------------------------------------------
# Seldon's camelCase xDS goldens.


def _golden(stem: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    routes = json.loads(_data(GOLDEN, f"{stem}-routes.json").read_text(encoding="utf-8"))
    clusters = json.loads(_data(GOLDEN, f"{stem}-clusters.json").read_text(encoding="utf-8"))
    return routes, clusters


def _golden_stems() -> list[str]:
    if not GOLDEN.is_dir():
        return ["(none)"]
    return sorted(p.name.removesuffix("-routes.json") for p in GOLDEN.glob("*-routes.json"))


@pytest.mark.parametrize("stem", _golden_stems())
def test_every_golden_parses(stem: str) -> None:
    routes, clusters = _golden(stem)
    cfg = parse_xds_resources(routes, clusters)
    assert list(cfg.route_configs) == [rc["name"] for rc in routes]
    for rc in routes:
        want = [
            r.get("name", "") for vh in rc.get("virtualHosts", []) for r in vh.get("routes", [])
        ]
        assert [r.name for r in cfg.route_configs[rc["name"]]] == want
    assert list(cfg.clusters) == [c["name"] for c in clusters]
    for c in clusters:
        assert cfg.clusters[c["name"]].type == c.get("type")
        assert cfg.clusters[c["name"]].endpoints, c["name"]
    # Every route points at clusters (Seldon never emits a route without one).
    for rts in cfg.route_configs.values():
        for r in rts:
            assert r.clusters and all(w.name for w in r.clusters)
    assert cfg.warnings == ()


def test_experiment_golden_model_route_is_split() -> None:
    cfg = parse_xds_resources(*_golden("experiment"))
    routes = cfg.route_configs["listener_0"]
    model1 = next(r for r in routes if r.name == "model1_http")
    assert [(w.name, w.weight) for w in model1.clusters] == [
        ("model1_1_http", 1),
        ("model2_1_http", 1),
    ]
    assert model1.clusters[0].request_headers_to_add == (("seldon-internal-model", "model1_1"),)
    assert model1.clusters[0].response_headers_to_add == (("x-seldon-route", ":model1_1:"),)
    assert model1.headers == (
        HeaderMatcher("seldon-model", "exact", "model1"),
        HeaderMatcher("x-seldon-route", "absent", None),
    )
    # One sticky route per candidate, all named model1_http_experiment.
    sticky = [r for r in routes if r.name == "model1_http_experiment"]
    assert [r.headers[1] for r in sticky] == [
        HeaderMatcher("x-seldon-route", "contains", ":model1_1:"),
        HeaderMatcher("x-seldon-route", "contains", ":model2_1:"),
    ]
    assert [r.clusters for r in sticky] == [
        (WeightedCluster("model1_1_http", 100),),
        (WeightedCluster("model2_1_http", 100),),
    ]
    # A client echoing the sticky header lands on the sticky route, a fresh one on the split.
    listener_free = ec.EnvoyConfig(
        None,
        None,
        None,
        None,
        None,
        None,
        (ec.EnvoyListener("seldon_http", "0.0.0.0", 9000, ("listener_0",), "active", None),),
        cfg.route_configs,
        cfg.clusters,
    )
    hit = find_route(
        listener_free, "seldon_http", "/v2/models/model1/infer", {"seldon-model": "model1"}
    )
    assert hit is not None and hit.name == "model1_http"
    hit = find_route(
        listener_free,
        "seldon_http",
        "/v2/models/model1/infer",
        {"seldon-model": "model1", "x-seldon-route": ":model2_1:"},
    )
    assert hit is sticky[1]
    assert cfg.clusters["model1_1_http"].type == "STRICT_DNS"


def test_mirror_golden_percent() -> None:
    cfg = parse_xds_resources(*_golden("mirror"))
    model1 = next(r for r in cfg.route_configs["listener_0"] if r.name == "model1_http")
    assert model1.mirror_clusters == (("mirror_http", 100),)
    assert cfg.clusters["mirror_http"].endpoints == (("0.0.0.0", 9001),)


def test_xds_listener_list_and_inline_route_config() -> None:
    listener = {
        "name": "seldon_http",
        "address": {"socketAddress": {"address": "0.0.0.0", "portValue": 9000}},
        "filterChains": [
            {
                "filters": [
                    {
                        "name": "hcm",
                        "typedConfig": {
                            "@type": ec.T_HCM,
                            "statPrefix": "x",
                            "routeConfig": {
                                "virtualHosts": [
                                    {
                                        "name": "vh",
                                        "domains": ["*"],
                                        "routes": [
                                            {
                                                "match": {"path": "/ready"},
                                                "directResponse": {"status": 200},
                                            }
                                        ],
                                    }
                                ]
                            },
                        },
                    }
                ]
            }
        ],
    }
    cfg = parse_xds_resources([], [], [listener])
    (lst,) = cfg.listeners
    assert (lst.address, lst.port, lst.route_config_names) == (
        "0.0.0.0",
        9000,
        ("seldon_http/inline-0",),
    )
    (route,) = cfg.routes_for_listener("seldon_http")
    assert route.direct_response_status == 200 and route.path == "/ready"
    assert route_matches(route, "/ready?verbose", {}) and not route_matches(route, "/ready/x", {})


def test_type_url_constants_agree_with_envoy_data_plane() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from envoy_data_plane.envoy.admin import v3 as admin
        from envoy_data_plane.envoy.extensions.filters.network.http_connection_manager import (
            v3 as hcm,
        )
        from envoy_data_plane.message_pool import default_message_pool as pool
    urls = pool.type_to_url
    assert urls[admin.BootstrapConfigDump] == ec.T_BOOTSTRAP
    assert urls[admin.ClustersConfigDump] == ec.T_CLUSTERS
    assert urls[admin.EndpointsConfigDump] == ec.T_ENDPOINTS
    assert urls[admin.ListenersConfigDump] == ec.T_LISTENERS
    assert urls[admin.RoutesConfigDump] == ec.T_ROUTES
    assert urls[admin.ScopedRoutesConfigDump] == ec.T_SCOPED_ROUTES
    assert urls[admin.SecretsConfigDump] == ec.T_SECRETS
    assert urls[hcm.HttpConnectionManager] == ec.T_HCM


# ---------------------------------------------------------------------------------------------
# Synthetic dumps: states, errors, enums, odd shapes.


def _section(kind: str, **body: Any) -> dict[str, Any]:
    return {"@type": f"type.googleapis.com/envoy.admin.v3.{kind}", **body}


def _listener(name: str, rc: str) -> dict[str, Any]:
    return {
        "name": name,
        "address": {"socket_address": {"address": "0.0.0.0", "port_value": 9000}},
        "filter_chains": [
            {
                "filters": [
                    {
                        "name": "envoy.filters.network.http_connection_manager",
                        "typed_config": {
                            "@type": ec.T_HCM,
                            "stat_prefix": name,
                            "rds": {"config_source": {"ads": {}}, "route_config_name": rc},
                        },
                    }
                ]
            }
        ],
    }


def test_listener_states_errors_and_unknown_filters() -> None:
    unknown_filter = _listener("odd", "rc_odd")
    unknown_filter["filter_chains"][0]["filters"].insert(
        0, {"name": "x", "typed_config": {"@type": "type.googleapis.com/acme.Filter", "a": 1}}
    )
    dump = {
        "configs": [
            _section(
                "ListenersConfigDump",
                static_listeners=[{"listener": _listener("admin", "rc_admin")}],
                dynamic_listeners=[
                    {
                        "name": "seldon_http",
                        "active_state": {"listener": _listener("seldon_http", "listener_0")},
                    },
                    {"name": "warm", "warming_state": {"listener": _listener("warm", "rc_w")}},
                    {"name": "drain", "draining_state": {"listener": _listener("drain", "rc_d")}},
                    {
                        "name": "seldon_mirrors",
                        "error_state": {
                            "failed_configuration": {
                                "@type": "type.googleapis.com/envoy.config.listener.v3.Listener",
                                **_listener("seldon_mirrors", "listener_1"),
                            },
                            "details": "Didn't find a registered implementation for "
                            "'envoy.filters.http.router'",
                        },
                    },
                    {"name": "odd", "active_state": {"listener": unknown_filter}},
                ],
            ),
            {"@type": "type.googleapis.com/foo.Bar", "x": 1},
        ]
    }
    cfg = parse_config_dump(dump)
    states = {lst.name: (lst.state, lst.error, lst.route_config_names) for lst in cfg.listeners}
    assert states["admin"] == ("static", None, ("rc_admin",))
    assert states["seldon_http"] == ("active", None, ("listener_0",))
    assert states["warm"][0] == "warming" and states["drain"][0] == "draining"
    state, error, names = states["seldon_mirrors"]
    assert state == "error" and error is not None and "envoy.filters.http.router" in error
    assert names == ("listener_1",)
    assert states["odd"] == ("active", None, ("rc_odd",))
    assert any("acme.Filter" in w for w in cfg.warnings)
    assert "skipped unknown section type.googleapis.com/foo.Bar" in cfg.warnings
    assert cfg.routes_for_listener("seldon_http") == ()  # no such route config in the dump
    assert cfg.routes_for_listener("nope") == ()


def test_clusters_states_eds_service_name_and_enum_validation() -> None:
    def cluster(name: str, ctype: str, port: int) -> dict[str, Any]:
        return {
            "name": name,
            "type": ctype,
            "load_assignment": {
                "cluster_name": name,
                "endpoints": [
                    {
                        "lb_endpoints": [
                            {
                                "endpoint": {
                                    "address": {
                                        "socket_address": {"address": "h", "port_value": port}
                                    }
                                }
                            }
                        ]
                    }
                ],
            },
        }

    eds_cluster = {"name": "e", "type": "EDS", "eds_cluster_config": {"service_name": "svc-e"}}
    dump = {
        "configs": [
            _section(
                "ClustersConfigDump",
                dynamic_active_clusters=[
                    {"cluster": cluster("a", "STRICT_DNS", 1)},
                    {"cluster": eds_cluster},
                    {"cluster": cluster("weird", "NOT_A_TYPE", 3)},
                ],
                dynamic_warming_clusters=[
                    {"cluster": cluster("a", "STRICT_DNS", 2)},
                    {"cluster": cluster("w", "LOGICAL_DNS", 4)},
                ],
            ),
            _section(
                "EndpointsConfigDump",
                dynamicEndpointConfigs=[
                    {
                        "endpointConfig": {
                            "clusterName": "svc-e",
                            "endpoints": [
                                {
                                    "lbEndpoints": [
                                        {
                                            "endpoint": {
                                                "address": {
                                                    "socketAddress": {
                                                        "address": "10.0.0.1",
                                                        "portValue": 9001,
                                                    }
                                                }
                                            }
                                        }
                                    ]
                                }
                            ],
                        }
                    }
                ],
            ),
        ]
    }
    cfg = parse_config_dump(dump)
    assert cfg.clusters["a"].state == "active" and cfg.clusters["a"].endpoints == (("h", 1),)
    assert cfg.clusters["w"].state == "warming"
    assert cfg.clusters["e"].endpoints == (("10.0.0.1", 9001),)
    assert any("NOT_A_TYPE" in w for w in cfg.warnings)


def test_bootstrap_enum_as_number_is_normalised() -> None:
    dump = {
        "configs": [
            _section(
                "BootstrapConfigDump",
                bootstrap={
                    "node": {"id": "test-id", "cluster": "c", "userAgentVersion": "1.2.3"},
                    "staticResources": {
                        "clusters": [
                            {
                                "name": "xds_cluster",
                                "loadAssignment": {
                                    "endpoints": [
                                        {
                                            "lbEndpoints": [
                                                {
                                                    "endpoint": {
                                                        "address": {
                                                            "socketAddress": {
                                                                "address": "seldon-scheduler",
                                                                "portValue": 9002,
                                                            }
                                                        }
                                                    }
                                                }
                                            ]
                                        }
                                    ]
                                },
                            }
                        ]
                    },
                    "dynamicResources": {
                        "adsConfig": {
                            "apiType": 3,
                            "grpcServices": [{"envoyGrpc": {"clusterName": "xds_cluster"}}],
                        }
                    },
                },
            )
        ]
    }
    cfg = parse_config_dump(dump)
    assert cfg.ads_api_type == "DELTA_GRPC"
    assert cfg.xds_cluster == "xds_cluster"
    assert cfg.xds_address == ("seldon-scheduler", 9002)
    assert (cfg.node_id, cfg.node_cluster, cfg.envoy_version) == ("test-id", "c", "1.2.3")


def test_absent_api_type_is_unknown_not_enum_zero() -> None:
    boot = {"node": {"id": "x"}, "dynamic_resources": {"ads_config": {"grpc_services": []}}}
    cfg = parse_config_dump({"configs": [_section("BootstrapConfigDump", bootstrap=boot)]})
    assert (cfg.node_id, cfg.ads_api_type, cfg.xds_cluster, cfg.warnings) == ("x", None, None, ())


def test_missing_and_odd_sections_give_empty_results() -> None:
    cfg = parse_config_dump(
        {
            "configs": [
                _section("RoutesConfigDump", dynamic_route_configs="oops"),
                _section("ClustersConfigDump", static_clusters=[1, None, {"cluster": "x"}]),
                _section("ListenersConfigDump", dynamic_listeners=[{"name": "l"}]),
                _section("BootstrapConfigDump"),
                _section("ScopedRoutesConfigDump"),
                _section("SecretsConfigDump"),
                {"no_type": True},
            ]
        }
    )
    assert cfg.route_configs == {} and cfg.clusters == {} and cfg.listeners == ()
    assert cfg.node_id is None and cfg.xds_address is None
    assert cfg.warnings == ("skipped unknown section (no @type)",)
    empty = parse_config_dump({"configs": []})
    assert empty.listeners == () and empty.warnings == ()


# ---------------------------------------------------------------------------------------------
# Matching semantics.


def _r(
    headers: tuple[HeaderMatcher, ...] = (),
    prefix: str | None = "/v2",
    path: str | None = None,
    regex: str | None = None,
    domains: tuple[str, ...] = ("*",),
    case_sensitive: bool = True,
) -> EnvoyRoute:
    return EnvoyRoute(
        "r",
        "rc",
        "vh",
        domains,
        prefix,
        path,
        regex,
        headers,
        (),
        (),
        case_sensitive=case_sensitive,
    )


def test_present_match_false_means_header_absent() -> None:
    route = _r((HeaderMatcher("x-seldon-route", "absent", None),))
    assert route_matches(route, "/v2/models/m/infer", {})
    assert not route_matches(route, "/v2/models/m/infer", {"X-Seldon-Route": ":m_1:"})
    assert not route_matches(route, "/v2/models/m/infer", {"x-seldon-route": ""})
    inverted = _r((HeaderMatcher("x-seldon-route", "absent", None, invert=True),))
    assert route_matches(inverted, "/v2", {"x-seldon-route": "a"})
    assert not route_matches(inverted, "/v2", {})


def test_present_and_inverted_string_matchers() -> None:
    present = _r((HeaderMatcher("seldon-model", "present", None),))
    assert route_matches(present, "/v2", {"seldon-model": ""})
    assert not route_matches(present, "/v2", {})
    not_present = _r((HeaderMatcher("seldon-model", "present", None, invert=True),))
    assert route_matches(not_present, "/v2", {}) and not route_matches(
        not_present, "/v2", {"seldon-model": "m"}
    )
    not_exact = _r((HeaderMatcher("seldon-model", "exact", "m", invert=True),))
    assert route_matches(not_exact, "/v2", {"seldon-model": "other"})
    assert not route_matches(not_exact, "/v2", {"seldon-model": "m"})
    # Envoy: an inverted string matcher does not match a missing header.
    assert not route_matches(not_exact, "/v2", {})


def test_header_names_case_insensitive_values_case_sensitive_unless_ignore_case() -> None:
    exact = _r((HeaderMatcher("seldon-model", "exact", "iris"),))
    assert route_matches(exact, "/v2", {"SELDON-MODEL": "iris"})
    assert not route_matches(exact, "/v2", {"seldon-model": "Iris"})
    folded = _r((HeaderMatcher("seldon-model", "exact", "iris", ignore_case=True),))
    assert route_matches(folded, "/v2", {"seldon-model": "IRIS"})
    contains = _r((HeaderMatcher("x-seldon-route", "contains", ":iris_1:"),))
    assert route_matches(contains, "/v2", {"x-seldon-route": ":iris_2::iris_1:"})
    assert route_matches(_r((HeaderMatcher("h", "prefix", "ab"),)), "/v2", {"h": "abc"})
    assert route_matches(_r((HeaderMatcher("h", "suffix", "bc"),)), "/v2", {"h": "abc"})
    assert route_matches(_r((HeaderMatcher("h", "regex", "a.c"),)), "/v2", {"h": "abc"})
    assert not route_matches(_r((HeaderMatcher("h", "regex", "a.c"),)), "/v2", {"h": "abcd"})
    assert not route_matches(_r((HeaderMatcher("h", "other", "[1,5)"),)), "/v2", {"h": "3"})
    # ALL matchers must hold.
    both = _r((HeaderMatcher("a", "exact", "1"), HeaderMatcher("b", "absent", None)))
    assert route_matches(both, "/v2", {"a": "1"})
    assert not route_matches(both, "/v2", {"a": "1", "b": "x"})
    assert not route_matches(both, "/v2", {"b": "x"})


def test_path_prefix_exact_regex() -> None:
    assert route_matches(_r(prefix="/v2"), "/v2/models/x", {})
    assert route_matches(_r(prefix="/v2"), "/v2", {})
    assert not route_matches(_r(prefix="/v2"), "/V2/models", {})
    assert route_matches(_r(prefix="/v2", case_sensitive=False), "/V2/models", {})
    assert not route_matches(_r(prefix="/inference.GRPCInferenceService"), "/v2/models", {})
    exact = _r(prefix=None, path="/ready")
    assert route_matches(exact, "/ready", {}) and route_matches(exact, "/ready?x=1", {})
    assert not route_matches(exact, "/ready/", {})
    regex = _r(prefix=None, regex=r"/v2/models/[^/]+/infer")
    assert route_matches(regex, "/v2/models/iris/infer", {})
    assert not route_matches(regex, "/v2/models/iris/infer/more", {})
    assert not route_matches(_r(prefix=None, regex="(unclosed"), "/x", {})
    assert not route_matches(_r(prefix=None), "/v2", {})  # no path specifier


def test_domains() -> None:
    route = _r(domains=("seldon.example.com",))
    assert route_matches(route, "/v2", {}, "seldon.example.com")
    assert route_matches(route, "/v2", {}, "SELDON.example.com")
    assert route_matches(route, "/v2", {})  # "*" = any authority
    assert not route_matches(route, "/v2", {}, "other.example.com")
    suffix = _r(domains=("*.example.com",))
    assert route_matches(suffix, "/v2", {}, "a.example.com")
    assert not route_matches(suffix, "/v2", {}, "example.com")
    prefix = _r(domains=("seldon.*",))
    assert route_matches(prefix, "/v2", {}, "seldon.local")
    assert not route_matches(prefix, "/v2", {}, "other.local")
    assert route_matches(_r(domains=("*",)), "/v2", {}, "anything:8080")


def test_find_route_virtual_host_precedence_then_route_order() -> None:
    def vh(name: str, domains: list[str], cluster: str) -> dict[str, Any]:
        return {
            "name": name,
            "domains": domains,
            "routes": [
                {
                    "name": f"{name}-1",
                    "match": {
                        "prefix": "/v2",
                        "headers": [{"name": "seldon-model", "string_match": {"exact": "m"}}],
                    },
                    "route": {"cluster": cluster},
                },
                {"name": f"{name}-2", "match": {"prefix": "/"}, "route": {"cluster": cluster}},
            ],
        }

    rc = {
        "name": "listener_0",
        "virtual_hosts": [
            vh("any", ["*"], "c0"),
            vh("wild", ["*.example.com"], "c1"),
            vh("exact", ["api.example.com"], "c2"),
        ],
    }
    cfg = parse_xds_resources([rc], [], [_listener("seldon_http", "listener_0")])
    pick = lambda hdrs: getattr(find_route(cfg, "seldon_http", "/v2/x", hdrs), "name", None)  # noqa: E731
    assert pick({":authority": "api.example.com", "seldon-model": "m"}) == "exact-1"
    assert pick({"host": "b.example.com", "seldon-model": "m"}) == "wild-1"
    assert pick({"host": "b.example.com"}) == "wild-2"
    assert pick({"host": "other", "seldon-model": "m"}) == "any-1"
    assert pick({"seldon-model": "m"}) == "any-1"  # no authority: first virtual host


# ---------------------------------------------------------------------------------------------
# Hostile input.


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'{"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.Bootstr', "truncated"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "not UTF-8"),
        (b"", "empty file"),
        (b"[1, 2]", "top level is an array"),
        (b'{"configs": {}}', "no 'configs' list"),
        (b'{"configs": [1]}', "configs[0] is a int"),
        (b"{not json", "invalid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_garbage_files_raise_one_line_dump_error(
    tmp_path: Path, content: bytes, fragment: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(DumpError) as info:
        load_config_dump(path)
    msg = str(info.value)
    assert fragment in msg and str(path) in msg and "\n" not in msg


def test_missing_file_is_a_dump_error(tmp_path: Path) -> None:
    with pytest.raises(DumpError, match="cannot read"):
        load_config_dump(tmp_path / "absent.json")


@pytest.mark.parametrize(
    "data",
    [[], "configs", None, {"configs": "x"}, {"configs": [[]]}, {"other": []}],
)
def test_wrong_shapes_raise(data: Any) -> None:
    with pytest.raises(DumpError, match="not an Envoy config dump"):
        parse_config_dump(data)


def test_xds_resources_wrong_shapes_raise() -> None:
    with pytest.raises(DumpError, match="xDS routes"):
        parse_xds_resources({"name": "x"}, [])  # type: ignore[arg-type]
    with pytest.raises(DumpError, match=r"xDS clusters\[1\]"):
        parse_xds_resources([], [{"name": "a"}, "b"])  # type: ignore[list-item]


def test_unknown_section_type_still_parses_the_rest(tmp_path: Path) -> None:
    raw = json.loads(_data(ENVOY, SELDON_DUMP).read_text(encoding="utf-8"))
    raw["configs"].insert(0, {"@type": "type.googleapis.com/foo", "whatever": [1, 2]})
    path = tmp_path / "d.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    _, cfg = load_config_dump(path)
    assert cfg.warnings == ("skipped unknown section type.googleapis.com/foo",)
    assert cfg.routes_for_listener("seldon_http")[0].name == "echo_http"


def test_header_values_and_data_map_keys_are_not_rewritten() -> None:
    rc = {
        "name": "rc",
        "virtualHosts": [
            {
                "name": "vh",
                "domains": ["*"],
                "routes": [
                    {
                        "name": "r",
                        "match": {
                            "prefix": "/",
                            "headers": [
                                {"name": "X-Camel_Case", "stringMatch": {"exact": "some_Value_x"}}
                            ],
                        },
                        "route": {
                            "weightedClusters": {
                                "clusters": [
                                    {
                                        "name": "my_cluster_Name",
                                        "weight": 7,
                                        "requestHeadersToAdd": [
                                            {"header": {"key": "seldon_Key", "value": "a_B"}}
                                        ],
                                    }
                                ]
                            }
                        },
                    }
                ],
            }
        ],
    }
    cfg = parse_xds_resources([rc], [])
    (route,) = cfg.route_configs["rc"]
    assert route.headers == (HeaderMatcher("x-camel_case", "exact", "some_Value_x"),)
    assert route.clusters == (WeightedCluster("my_cluster_Name", 7, (("seldon_Key", "a_B"),)),)


# ---------------------------------------------------------------------------------------------
# Import cost.


def test_importing_the_module_does_not_import_envoy_data_plane_or_grpc() -> None:
    code = (
        "import sys, seldon_doctor.sources.envoy_dump, seldon_doctor.domain.envoy_routes\n"
        "roots = ('envoy_data_plane', 'grpc', 'betterproto2')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in roots)\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
    )
    assert out.stdout.strip() == ""


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"bogus_field": 1}, "Unknown field 'bogus_field'"),
        (
            {
                "address": {
                    "socket_address": {
                        "address": "0.0.0.0",
                        "port_value": 9000,
                        "protocol": "BOGUS",
                    }
                }
            },
            "Unknown value BOGUS",
        ),
    ],
)
def test_envoy_data_plane_rejects_bad_listener_and_dict_walker_still_reads_it(
    change: dict[str, Any], fragment: str
) -> None:
    listener = {**_listener("seldon_http", "listener_0"), **change}
    cfg = parse_xds_resources([], [], [listener])
    (lst,) = cfg.listeners
    assert (lst.port, lst.route_config_names) == (9000, ("listener_0",))
    (warning,) = cfg.warnings
    assert "envoy-data-plane rejected it" in warning and fragment in warning


def test_regex_only_match_and_mirror_fraction_denominators() -> None:
    rc = {
        "name": "rc",
        "virtual_hosts": [
            {
                "name": "vh",
                "domains": ["*"],
                "routes": [
                    {"match": {"safe_regex": {"regex": "/v2/.*"}}, "route": {"cluster": "c"}},
                    {
                        "match": {"prefix": "/"},
                        "route": {
                            "cluster": "c",
                            "request_mirror_policies": [
                                {"cluster": "m1"},
                                {
                                    "cluster": "m2",
                                    "runtime_fraction": {
                                        "default_value": {
                                            "numerator": 2500,
                                            "denominator": "TEN_THOUSAND",
                                        }
                                    },
                                },
                            ],
                        },
                    },
                ],
            }
        ],
    }
    first, second = parse_xds_resources([rc], []).route_configs["rc"]
    assert (first.regex, first.prefix) == ("/v2/.*", None)
    assert route_matches(first, "/v2/models/x", {}) and not route_matches(first, "/v1", {})
    assert second.mirror_clusters == (("m1", 100), ("m2", 25))


def test_seldon_listener_filters_are_all_known_to_envoy_data_plane() -> None:
    http_filters = [
        {
            "name": n,
            "typed_config": {"@type": f"type.googleapis.com/envoy.extensions.filters.http.{t}"},
        }
        for n, t in (
            ("envoy.filters.http.tap", "tap.v3.Tap"),
            ("envoy.filters.http.lua", "lua.v3.Lua"),
            ("envoy.filters.http.router", "router.v3.Router"),
        )
    ]
    listener = _listener("seldon_http", "listener_0")
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    hcm["http_filters"] = http_filters
    hcm["access_log"] = [
        {
            "name": "envoy.access_loggers.file",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3."
                "FileAccessLog",
                "path": "/tmp/envoy-accesslog.txt",
            },
        }
    ]
    cfg = parse_config_dump(
        {
            "configs": [
                _section(
                    "ListenersConfigDump",
                    dynamic_listeners=[
                        {"name": "seldon_http", "active_state": {"listener": listener}}
                    ],
                )
            ]
        }
    )
    assert cfg.warnings == ()
    assert cfg.listeners[0].route_config_names == ("listener_0",)


def _edp(module: str) -> Any:
    import importlib
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module(module)


def test_enum_tables_are_envoy_data_plane_s() -> None:
    cluster = _edp("envoy_data_plane.envoy.config.cluster.v3")
    core = _edp("envoy_data_plane.envoy.config.core.v3")
    assert {m.name for m in cluster.ClusterDiscoveryType} == envoy_parse._DISCOVERY_TYPES
    assert {m.value: m.name for m in core.ApiConfigSourceApiType} == envoy_parse._API_TYPES


def test_type_list_holds_what_envoy_data_plane_registers() -> None:
    # scripts/generate.py --check (tests/test_generated.py) keeps envoy_types.txt equal to what
    # envoy-data-plane's source registers; this checks the reading against its live pool.
    for module in (
        "envoy_data_plane.envoy.config.listener.v3",
        "envoy_data_plane.envoy.extensions.filters.network.http_connection_manager.v3",
        "envoy_data_plane.envoy.extensions.filters.http.router.v3",
        "envoy_data_plane.envoy.extensions.filters.http.lua.v3",
        "envoy_data_plane.envoy.extensions.filters.http.tap.v3",
        "envoy_data_plane.envoy.extensions.access_loggers.file.v3",
    ):
        _edp(module)
    pool = _edp("envoy_data_plane.message_pool").default_message_pool
    assert len(pool.url_to_type) > 300
    assert all(envoy_type_known(url) for url in pool.url_to_type)
    assert set(pool.url_to_type) >= envoy_types._EVERYDAY
    for url in ("type.googleapis.com/udpa.type.v1.TypedStruct", "type.googleapis.com/acme.F"):
        assert not envoy_type_known(url)


def _bootstrap_by_envoy_data_plane(raw: dict[str, Any]) -> tuple[Any, ...]:
    """What envoy-data-plane's Node and ApiConfigSource make of a dump's bootstrap."""
    core = _edp("envoy_data_plane.envoy.config.core.v3")
    boot = next((s["bootstrap"] for s in raw["configs"] if s.get("@type") == ec.T_BOOTSTRAP), None)
    if boot is None:
        return (None, None, None, None)
    node_in = {k: v for k, v in boot.get("node", {}).items() if k != "extensions"}
    dyn = boot.get("dynamic_resources", boot.get("dynamicResources", {}))
    ads_in = dyn.get("ads_config", dyn.get("adsConfig", {}))
    node = core.Node.from_dict(node_in)
    ads = core.ApiConfigSource.from_dict(ads_in)
    build = node.user_agent_build_version
    if build is not None and build.version is not None:
        v = build.version
        version = f"{v.major_number}.{v.minor_number}.{v.patch}"
    else:
        version = node.user_agent_version or None
    has_api_type = "api_type" in ads_in or "apiType" in ads_in
    return (
        node.id or None,
        node.cluster or None,
        version,
        ads.api_type.name if has_api_type else None,
    )


def _fixture_dumps() -> list[Path]:
    return sorted((ROOT / "fixtures").rglob("*config_dump*.json"))


@pytest.mark.parametrize(
    "path", [ENVOY / n for n in _dump_files()] + _fixture_dumps(), ids=lambda p: p.name
)
def test_bootstrap_walker_reads_what_envoy_data_plane_reads(path: Path) -> None:
    raw, cfg = load_config_dump(_data(path))
    mine = (cfg.node_id, cfg.node_cluster, cfg.envoy_version, cfg.ads_api_type)
    assert mine == _bootstrap_by_envoy_data_plane(raw)


def test_reading_dump_files_never_imports_envoy_data_plane() -> None:
    paths = [str(ENVOY / n) for n in _dump_files()] + [str(p) for p in _fixture_dumps()]
    code = (
        "import sys\n"
        "from seldon_doctor.sources.envoy_dump import load_config_dump\n"
        "for p in sys.argv[1:]:\n"
        "    load_config_dump(p)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('envoy_data_plane', 'pydantic'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *paths], check=True, capture_output=True, text=True, cwd=ROOT
    )
    assert len(paths) > 5 and out.stdout.strip() == "[]"


def test_without_envoy_data_plane_the_dict_walker_gives_the_same_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    raw, from_file = load_config_dump(_data(ENVOY, SELDON_DUMP))
    (section,) = [s for s in raw["configs"] if s["@type"] == ec.T_LISTENERS]
    listeners = [d["active_state"]["listener"] for d in section["dynamic_listeners"]]
    with_edp = parse_xds_resources([], [], listeners)
    monkeypatch.setitem(envoy_edp._EDP_STATE, "ok", False)
    monkeypatch.setitem(envoy_edp._EDP_STATE, "error", "ImportError: simulated")
    without = parse_xds_resources([], [], listeners)
    assert with_edp.warnings == ()
    assert without.warnings == (
        "envoy-data-plane unavailable (ImportError: simulated); used the plain JSON walker",
    )
    assert without.listeners == with_edp.listeners == from_file.listeners


def test_many_identical_warnings_are_reported_once() -> None:
    clusters = [{"name": f"c{i}", "type": "NOT_A_TYPE"} for i in range(3)] + [
        {"name": "d", "type": "NOT_A_TYPE"}
    ]
    cfg = parse_xds_resources([], clusters)
    assert len(cfg.warnings) == 4  # one per cluster, each distinct
    dup = parse_config_dump({"configs": [{"@type": "x"}, {"@type": "x"}]})
    assert dup.warnings == ("skipped unknown section x",)


# ---------------------------------------------------------------------------------------------
# Fuzz: any value anywhere in a real dump gives a config (or a one-line DumpError), never a crash.

_LEAF = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
_ANY = st.recursive(
    _LEAF,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_mutated_seldon_dump_never_crashes(data: st.DataObject) -> None:
    raw = json.loads(_data(ENVOY, SELDON_DUMP).read_text(encoding="utf-8"))
    slots: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(items):
            slots.append((node, key))
            if isinstance(value, (dict, list)):
                walk(value)

    walk(raw)
    for _ in range(data.draw(st.integers(1, 4))):
        parent, key = data.draw(st.sampled_from(slots))
        parent[key] = data.draw(_ANY)
    try:
        cfg = parse_config_dump(raw)
    except DumpError as exc:
        assert str(exc).strip() and "\n" not in str(exc)
        return
    for listener in cfg.listeners:
        find_route(cfg, listener.name, "/v2/models/echo/infer", {"seldon-model": "echo"})
    for routes in cfg.route_configs.values():
        for route in routes:
            route_matches(route, "/v2", {"seldon-model": "echo", "x": "y"}, "host")
