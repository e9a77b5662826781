"""``seldon-doctor probe`` against the real data plane: Envoy weighted clusters → MLServer.

Every request goes to 127.0.0.1; every run is bounded by its request count and max_duration.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from seldon_doctor.domain import oip as p
from seldon_doctor.domain.oip import TIMEOUT, ProbeSettings, ProbeTarget
from seldon_doctor.domain.probe_stats import analyse_split
from seldon_doctor.probe.command import judge
from seldon_doctor.probe.runner import RateLimiter, observation, probe_many, run_probe
from tests.dataplane.conftest import (
    INTERNAL_MODEL,
    MODEL,
    SECOND_INTERNAL,
    SECOND_MODEL,
    SLOW_DELAY_MS,
    SLOW_INTERNAL,
    SLOW_MODEL,
    EnvoyHandle,
)
from tests.dataplane.procs import REPO_ROOT, AgentProxy, MLServerProcess
from tests.dataplane.xds_server import (
    XdsTestServer,
    seldon_cluster,
    seldon_model_route,
    seldon_route_config,
)

pytestmark = pytest.mark.dataplane
EXPERIMENT = "ab-test"


@pytest.fixture
def ab_route(
    envoy: EnvoyHandle,
    seldon_xds: XdsTestServer,
    mlserver: MLServerProcess,
    agent_proxy: AgentProxy,
) -> EnvoyHandle:
    """Experiment ab-test (70 iris / 30 iris2) and Model slow, served like the scheduler does."""
    for internal in (SECOND_INTERNAL, SLOW_INTERNAL):
        seldon_xds.put("cluster", seldon_cluster(f"{internal}_http", "127.0.0.1", agent_proxy.port))
    seldon_xds.put(
        "route",
        seldon_route_config(
            [
                seldon_model_route(MODEL, {INTERNAL_MODEL: 100}),
                seldon_model_route(SECOND_MODEL, {SECOND_INTERNAL: 100}),
                seldon_model_route(SLOW_MODEL, {SLOW_INTERNAL: 100}),
                seldon_model_route(
                    f"{EXPERIMENT}.experiment", {INTERNAL_MODEL: 70, SECOND_INTERNAL: 30}
                ),
            ]
        ),
    )
    seldon_xds.wait_acked()
    return envoy


def _settings(envoy: EnvoyHandle, **kwargs: object) -> ProbeSettings:
    values: dict[str, object] = {"endpoint": envoy.listener_url, "timeout": 5.0}
    values.update(kwargs)
    return ProbeSettings(**values)  # type: ignore[arg-type]


def test_split_70_30_is_estimated_within_its_interval(ab_route: EnvoyHandle) -> None:
    target = ProbeTarget(EXPERIMENT, "seldon-mesh", "experiment")
    started = time.monotonic()
    run = run_probe(target, _settings(ab_route, requests=300, concurrency=8))
    elapsed = time.monotonic() - started
    assert len(run.samples) == 300 and run.ok == 300, run.samples[:3]
    assert run.stopped == "done" and elapsed < 30
    obs = observation(run, configured_weights={MODEL: 70, SECOND_MODEL: 30})
    assert set(obs.routes) == {INTERNAL_MODEL, SECOND_INTERNAL}
    assert obs.versions == {"1": 300}
    # 99.9 % rather than 99 % for the "consistent" assertion: a correct 70/30 Envoy split falls
    # outside a 99 % interval in 1 run out of 100, which would make this test flaky.
    split = analyse_split(obs.routes, obs.configured_weights, confidence=0.999)
    iris = next(c for c in split.candidates if c.name == MODEL)
    assert iris.low <= 0.7 <= iris.high, split
    assert split.consistent is True and "consistent at 99.9 %" in split.verdict()
    assert "inconsistent" not in split.verdict()
    # The same responses against a 50/50 configuration are far outside any interval.
    fifty = analyse_split(obs.routes, {MODEL: 50, SECOND_MODEL: 50})
    assert fifty.consistent is False
    assert "configured 50/50" in fifty.verdict() and "inconsistent at 99 %" in fifty.verdict()
    obs.configured_weights = {MODEL: 50, SECOND_MODEL: 50}
    assert [f.check_id for f in judge([obs], None)] == ["SD803"]


def test_slow_model_breaches_the_latency_slo(ab_route: EnvoyHandle) -> None:
    slow = run_probe(
        ProbeTarget(SLOW_MODEL), _settings(ab_route, requests=12, concurrency=4, slo_p95_ms=100.0)
    )
    # One at a time: the echo model answers in a few ms, far under the SLO even on a busy CI box.
    fast = run_probe(
        ProbeTarget(MODEL), _settings(ab_route, requests=12, concurrency=1, slo_p95_ms=100.0)
    )
    slow_obs, fast_obs = observation(slow), observation(fast)
    assert slow_obs.ok == 12 and slow_obs.latency_ms["p95"] >= SLOW_DELAY_MS
    assert fast_obs.ok == 12 and fast_obs.latency_ms["p95"] < 100.0
    findings = judge([slow_obs, fast_obs], None)
    assert [(f.check_id, f.resource.name) for f in findings] == [("SD802", SLOW_MODEL)]


def test_envoy_404_and_model_server_404_are_told_apart(
    ab_route: EnvoyHandle, seldon_xds: XdsTestServer, agent_proxy: AgentProxy
) -> None:
    # A route to ghost_1, a model the server never loaded: the model server's 404.
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
    settings = _settings(ab_route, requests=6, concurrency=2)
    ghost = observation(run_probe(ProbeTarget("ghost"), settings))
    unknown = observation(run_probe(ProbeTarget("nowhere"), settings))
    assert ghost.verdicts == {p.MODEL_NOT_LOADED: 6} and ghost.statuses == {"404": 6}
    assert unknown.verdicts == {p.ENVOY_NO_ROUTE: 6} and unknown.statuses == {"404": 6}
    findings = {f.resource.name: f for f in judge([ghost, unknown], None)}
    assert set(findings) == {"ghost", "nowhere"}
    assert all(f.check_id == "SD801" for f in findings.values())
    assert "model_not_loaded" in findings["ghost"].message
    assert "envoy_no_route" in findings["nowhere"].message


def test_request_count_bound_is_exact(ab_route: EnvoyHandle, agent_proxy: AgentProxy) -> None:
    before = len(agent_proxy.requests)
    run = run_probe(ProbeTarget(MODEL), _settings(ab_route, requests=37, concurrency=5))
    assert len(run.samples) == 37 and run.ok == 37
    assert len(agent_proxy.requests) - before == 37  # exactly N reached the model server


def test_duration_bound_stops_a_long_run(ab_route: EnvoyHandle) -> None:
    settings = _settings(ab_route, requests=10_000, concurrency=2, max_duration=1.0, timeout=2.0)
    started = time.monotonic()
    run = run_probe(ProbeTarget(SLOW_MODEL), settings)
    elapsed = time.monotonic() - started
    assert run.stopped == "deadline"
    assert 0 < len(run.samples) < 10_000
    # No request starts after max_duration; one in flight ends within the delay.
    assert elapsed < settings.max_duration + SLOW_DELAY_MS / 1000 + 1.0, elapsed


def test_a_hung_endpoint_times_out_within_the_bounds(silent_server: int) -> None:
    settings = ProbeSettings(
        endpoint=f"http://127.0.0.1:{silent_server}",
        requests=50,
        concurrency=4,
        timeout=0.3,
        max_duration=1.0,
    )
    started = time.monotonic()
    run = run_probe(ProbeTarget(MODEL), settings)
    elapsed = time.monotonic() - started
    assert run.samples and all(s.verdict == TIMEOUT for s in run.samples)
    assert elapsed < settings.max_duration + settings.timeout + 0.5, elapsed
    assert [f.check_id for f in judge([observation(run)], None)] == ["SD801"]


def test_many_targets_share_one_rate_limit(ab_route: EnvoyHandle) -> None:
    targets = [ProbeTarget(MODEL), ProbeTarget(SECOND_MODEL), ProbeTarget(SLOW_MODEL)]
    started = time.monotonic()
    runs = probe_many(targets, _settings(ab_route, requests=5, concurrency=2), rate=30.0)
    elapsed = time.monotonic() - started
    assert [len(r.samples) for r in runs] == [5, 5, 5]
    assert all(r.ok == 5 for r in runs)
    assert elapsed >= 14 / 30.0  # 15 starts at 30/s take at least 14 intervals
    limiter = RateLimiter(10.0)
    assert limiter.acquire(time.monotonic() + 1) and not limiter.acquire(time.monotonic())


def _cli(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["COLUMNS"] = "120"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "seldon_doctor", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
        env=env,
        check=False,
    )
    return result, time.monotonic() - started


def test_cli_probe_prints_the_report_for_200_requests_under_10_seconds(
    ab_route: EnvoyHandle,
) -> None:
    result, elapsed = _cli(
        "probe", EXPERIMENT, "-n", "seldon-mesh", "--kind", "experiment",
        "--endpoint", ab_route.listener_url, "--requests", "200", "--concurrency", "8",
        "--weights", f"{MODEL}=70,{SECOND_MODEL}=30", "--slo-p95", "1s",
    )  # fmt: skip
    print(result.stdout)
    print(f"seldon-doctor probe, 200 requests: {elapsed:.2f} s wall (process included)")
    assert elapsed < 10.0
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "200/200 (100.0 %)" in out
    assert "split (x-seldon-route" in out and f"configured 70/30 ({MODEL}/{SECOND_MODEL})" in out
    assert "latency    min" in out and " ms | #" in out


def test_cli_probe_json_and_metrics(ab_route: EnvoyHandle) -> None:
    base = ["probe", MODEL, "--endpoint", ab_route.listener_url, "--requests", "10"]
    result, _ = _cli(*base, "-o", "json", "--expect-version", "2")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["observation"]["requests"] == 10 and doc["success_rate"] == 1.0
    assert doc["observation"]["routes"] == {INTERNAL_MODEL: 10}
    assert [f["id"] for f in doc["findings"]] == ["SD804"]  # version 1 answered, 2 expected
    metrics, _ = _cli(*base, "-o", "prometheus")
    sample = f'seldon_doctor_probe_requests{{kind="Model",namespace="default",name="{MODEL}"}} 10'
    assert sample in metrics.stdout
    assert 'quantile="p95"' in metrics.stdout


def test_scan_probe_joins_probe_findings(ab_route: EnvoyHandle, tmp_path: object) -> None:
    from pathlib import Path

    manifests = Path(str(tmp_path)) / "models.yaml"
    ready = "status:\n  conditions:\n  - {type: Ready, status: 'True'}\n"
    manifests.write_text(
        "".join(
            f"apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata:\n  name: {name}\n"
            f"  namespace: seldon-mesh\nspec:\n  storageUri: gs://x/{name}\n{ready}---\n"
            for name in (MODEL, "ghost")
        )
    )
    result, _ = _cli(
        "scan", "-f", str(manifests), "--probe", "--probe-endpoint", ab_route.listener_url,
        "--select", "SD801,SD802,SD803,SD804", "-o", "json", "-o", f"prometheus={tmp_path}/m.prom",
    )  # fmt: skip
    report = json.loads(result.stdout)
    fired = [(f["id"], f["resource"]["name"]) for f in report["findings"]]
    assert fired == [("SD801", "ghost")], result.stderr
    probed = {e["observation"]["name"]: e for e in report["probes"]}
    assert probed[MODEL]["success_rate"] == 1.0 and probed["ghost"]["success_rate"] == 0.0
    # No route for ghost in Envoy: its own 404, classified as such in the scan's JSON.
    assert probed["ghost"]["observation"]["verdicts"] == {p.ENVOY_NO_ROUTE: 5}
    import jsonschema

    schema = json.loads((REPO_ROOT / "seldon_doctor/schema/report.schema.json").read_text())
    jsonschema.validate(report, schema)
    prom = (Path(str(tmp_path)) / "m.prom").read_text()
    assert 'probe_requests{kind="Model",namespace="seldon-mesh",name="iris"} 5' in prom


_HTTP2 = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions"


def test_grpc_model_infer_through_envoy(
    envoy: EnvoyHandle, seldon_xds: XdsTestServer, mlserver: MLServerProcess
) -> None:
    """--grpc: ModelInfer with seldon-model metadata through an Envoy gRPC route (HTTP/2
    cluster straight to MLServer's gRPC port; the harness has no gRPC agent to rewrite names)."""
    import warnings

    with warnings.catch_warnings():  # registers HttpProtocolOptions for the Any in the cluster
        warnings.simplefilter("ignore")
        from envoy_data_plane.envoy.extensions.upstreams.http import v3 as _http  # noqa: F401
    cluster = seldon_cluster(f"{INTERNAL_MODEL}_grpc", "127.0.0.1", mlserver.grpc_port)
    cluster["typed_extension_protocol_options"] = {
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": _HTTP2,
            "explicit_http_config": {"http2_protocol_options": {}},
        }
    }
    routes = []
    for header in (INTERNAL_MODEL, MODEL):  # iris_1: served; iris: the server has no "iris"
        route = seldon_model_route(header, {INTERNAL_MODEL: 100})
        route["name"] = f"{header}_grpc"
        route["match"]["prefix"] = "/inference.GRPCInferenceService"
        for weighted in route["route"]["weighted_clusters"]["clusters"]:
            weighted["name"] = f"{INTERNAL_MODEL}_grpc"
        routes.append(route)
    seldon_xds.put("cluster", cluster)
    seldon_xds.put("route", seldon_route_config(routes))
    seldon_xds.wait_acked()
    settings = _settings(envoy, requests=6, concurrency=2, grpc=True)
    ok = observation(run_probe(ProbeTarget(INTERNAL_MODEL), settings))
    assert ok.ok == 6, ok
    assert ok.routes == {INTERNAL_MODEL: 6} and ok.versions == {"1": 6}
    assert ok.protocol == "grpc"
    missing = observation(run_probe(ProbeTarget(MODEL), settings))
    assert missing.verdicts == {p.MODEL_NOT_LOADED: 6}, missing
    assert missing.statuses == {"grpc:NOT_FOUND": 6}
    unrouted = observation(run_probe(ProbeTarget("nowhere"), settings))
    assert unrouted.verdicts == {p.ENVOY_NO_ROUTE: 6}, unrouted
