"""Benchmark: parse a Seldon-shaped Envoy ``/config_dump`` with 20,000 routes.

Generates (deterministically, in memory) what a Seldon Core 2 Envoy serving 10,000 models
would dump: listener ``seldon_http`` -> route config ``listener_0`` with an HTTP and a gRPC
route per model (``seldon-model`` exact + ``x-seldon-route`` absent, weighted clusters with
header rewrites), 20,000 ``STRICT_DNS`` clusters with inline ``load_assignment``, plus a
bootstrap whose ADS cluster points at ``seldon-scheduler:9002``. The dump is written to a
temporary file and ``load_config_dump`` (JSON decode included) is timed, best of 3, each run
in a fresh interpreter so one-off costs (module imports) are counted every time; a second
parse in the same process is reported too. Reading a dump imports no envoy-data-plane.

Run from the repository root::

    python bench/bench_envoy_dump.py [--models 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

TARGET_SECONDS = 2.0
_ADMIN = "type.googleapis.com/envoy.admin.v3."
_HCM = (
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
    "HttpConnectionManager"
)


def _socket(host: str, port: int) -> dict[str, Any]:
    return {"socket_address": {"address": host, "port_value": port}}


def _cluster(name: str, host: str, port: int) -> dict[str, Any]:
    return {
        "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
        "name": name,
        "type": "STRICT_DNS",
        "connect_timeout": "5s",
        "lb_policy": "LEAST_REQUEST",
        "dns_lookup_family": "V4_ONLY",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": _socket(host, port)}}]}],
        },
    }


def _route(model: str, proto: str, prefix: str, versions: list[int]) -> dict[str, Any]:
    weight = 100 // len(versions)
    return {
        "name": f"{model}_{proto}",
        "match": {
            "prefix": prefix,
            "headers": [
                {"name": "seldon-model", "string_match": {"exact": model}},
                {"name": "x-seldon-route", "present_match": False},
            ],
        },
        "route": {
            "weighted_clusters": {
                "clusters": [
                    {
                        "name": f"{model}_{v}_{proto}",
                        "weight": weight,
                        "request_headers_to_add": [
                            {"header": {"key": "seldon-internal-model", "value": f"{model}_{v}"}}
                        ],
                        "request_headers_to_remove": ["seldon-internal-model"],
                        "response_headers_to_add": [
                            {"header": {"key": "x-seldon-route", "value": f":{model}_{v}:"}}
                        ],
                    }
                    for v in versions
                ]
            },
            "timeout": "0s",
            "retry_policy": {"retry_on": "5xx,connect-failure", "num_retries": 5},
        },
    }


def make_dump(models: int = 10_000) -> dict[str, Any]:
    """A deterministic Seldon-shaped dump: 2 routes per model, 2 clusters per model."""
    routes: list[dict[str, Any]] = []
    clusters: list[dict[str, Any]] = []
    for i in range(models):
        model = f"model-{i:05d}"
        # Every tenth model is mid-rollout (two versions -> a 50/50 split, as Seldon does).
        versions = [1, 2] if i % 10 == 0 else [1]
        routes.append(_route(model, "http", "/v2", versions))
        routes.append(_route(model, "grpc", "/inference.GRPCInferenceService", versions))
        host = f"mlserver-{i % 50}.seldon-mesh.svc.cluster.local"
        clusters.append(_cluster(f"{model}_{versions[-1]}_http", host, 9001))
        clusters.append(_cluster(f"{model}_{versions[-1]}_grpc", host, 9501))
    stamp = "2026-01-01T00:00:00.000Z"
    return {
        "configs": [
            {
                "@type": _ADMIN + "BootstrapConfigDump",
                "bootstrap": {
                    "node": {
                        "id": "test-id",
                        "cluster": "seldon-mesh",
                        "user_agent_name": "envoy",
                        "user_agent_build_version": {
                            "version": {"major_number": 1, "minor_number": 34, "patch": 1}
                        },
                    },
                    "static_resources": {
                        "clusters": [
                            {
                                "name": "xds_cluster",
                                "type": "LOGICAL_DNS",
                                "connect_timeout": "1s",
                                "load_assignment": {
                                    "cluster_name": "xds_cluster",
                                    "endpoints": [
                                        {
                                            "lb_endpoints": [
                                                {
                                                    "endpoint": {
                                                        "address": _socket("seldon-scheduler", 9002)
                                                    }
                                                }
                                            ]
                                        }
                                    ],
                                },
                            }
                        ]
                    },
                    "dynamic_resources": {
                        "ads_config": {
                            "api_type": "DELTA_GRPC",
                            "transport_api_version": "V3",
                            "grpc_services": [{"envoy_grpc": {"cluster_name": "xds_cluster"}}],
                        },
                        "cds_config": {"ads": {}, "resource_api_version": "V3"},
                        "lds_config": {"ads": {}, "resource_api_version": "V3"},
                    },
                },
                "last_updated": stamp,
            },
            {
                "@type": _ADMIN + "ClustersConfigDump",
                "version_info": "1",
                "dynamic_active_clusters": [
                    {"version_info": "1", "cluster": c, "last_updated": stamp} for c in clusters
                ],
            },
            {
                "@type": _ADMIN + "ListenersConfigDump",
                "version_info": "1",
                "dynamic_listeners": [
                    {
                        "name": "seldon_http",
                        "active_state": {
                            "version_info": "1",
                            "listener": {
                                "@type": "type.googleapis.com/envoy.config.listener.v3.Listener",
                                "name": "seldon_http",
                                "address": _socket("0.0.0.0", 9000),
                                "filter_chains": [
                                    {
                                        "filters": [
                                            {
                                                "name": "envoy.filters.network."
                                                "http_connection_manager",
                                                "typed_config": {
                                                    "@type": _HCM,
                                                    "stat_prefix": "seldon_http",
                                                    "rds": {
                                                        "config_source": {
                                                            "ads": {},
                                                            "resource_api_version": "V3",
                                                        },
                                                        "route_config_name": "listener_0",
                                                    },
                                                    "http_filters": [
                                                        {
                                                            "name": "envoy.filters.http.router",
                                                            "typed_config": {
                                                                "@type": "type.googleapis.com/"
                                                                "envoy.extensions.filters.http."
                                                                "router.v3.Router"
                                                            },
                                                        }
                                                    ],
                                                },
                                            }
                                        ]
                                    }
                                ],
                            },
                            "last_updated": stamp,
                        },
                    }
                ],
            },
            {
                "@type": _ADMIN + "RoutesConfigDump",
                "dynamic_route_configs": [
                    {
                        "version_info": "1",
                        "route_config": {
                            "@type": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
                            "name": "listener_0",
                            "virtual_hosts": [
                                {"name": "seldon_service", "domains": ["*"], "routes": routes}
                            ],
                        },
                        "last_updated": stamp,
                    }
                ],
            },
        ]
    }


_CHILD = """
import sys, time
t0, c0 = time.perf_counter(), time.process_time()
from seldon_doctor.sources.envoy_dump import load_config_dump
raw, cfg = load_config_dump(sys.argv[1])
cold, cold_cpu = time.perf_counter() - t0, time.process_time() - c0
del raw, cfg
t0 = time.perf_counter()
raw, cfg = load_config_dump(sys.argv[1])
warm = time.perf_counter() - t0
routes = sum(len(r) for r in cfg.route_configs.values())
print(f"{cold:.6f} {cold_cpu:.6f} {warm:.6f} {routes} {len(cfg.clusters)} {len(cfg.warnings)}")
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    dump = make_dump(args.models)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.config_dump.json"
        path.write_text(json.dumps(dump, indent=1), encoding="utf-8")
        size = path.stat().st_size
        load = os.getloadavg()[0]
        cold: list[float] = []
        cpu: list[float] = []
        warm: list[float] = []
        for _ in range(args.runs):
            out = subprocess.run(
                [sys.executable, "-c", _CHILD, str(path)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()
            cold.append(float(out[0]))
            cpu.append(float(out[1]))
            warm.append(float(out[2]))
            routes, clusters, warnings = int(out[3]), int(out[4]), int(out[5])
    best = min(cold)
    print(f"dump: {size / 1e6:.1f} MB, {routes} routes, {clusters} clusters, {warnings} warnings")
    print("cold runs: " + ", ".join(f"{t:.3f}s" for t in cold))
    print(
        f"parse time (best of {args.runs}, fresh interpreter: module import and JSON decode "
        f"included): {best:.3f}s"
    )
    print(f"CPU time of a cold parse (best of {args.runs}): {min(cpu):.3f}s")
    print(f"load average before the runs: {load:.2f} on {os.cpu_count()} CPUs")
    print(f"second parse in the same process: {min(warm):.3f}s")
    print(f"target: < {TARGET_SECONDS:.1f}s -> {'OK' if best < TARGET_SECONDS else 'TOO SLOW'}")
    return 0 if best < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
