"""The doctor itself against the real data plane: ``scan --envoy-admin/--scheduler/--scheduler-xds``
and ``trace --probe`` through a real Envoy (fed over Delta ADS) in front of a real MLServer.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from seldon_doctor.cli import main
from tests.dataplane.conftest import INTERNAL_MODEL, MODEL, EnvoyHandle
from tests.dataplane.procs import AgentProxy, MLServerProcess, free_port
from tests.dataplane.scheduler_server import SchedulerStatusTestServer
from tests.dataplane.xds_server import XdsTestServer, seldon_resources, seldon_route_config

NS = "seldon-mesh"

MANIFEST = """
apiVersion: mlops.seldon.io/v1alpha1
kind: SeldonRuntime
metadata: {name: seldon, namespace: seldon-mesh}
spec: {seldonConfig: default}
---
apiVersion: mlops.seldon.io/v1alpha1
kind: Server
metadata: {name: mlserver, namespace: seldon-mesh}
spec: {serverConfig: mlserver}
"""


def model_cr(name: str, ready: bool = True) -> str:
    status = "True" if ready else "False"
    return f"""---
apiVersion: mlops.seldon.io/v1alpha1
kind: Model
metadata: {{name: {name}, namespace: {NS}, generation: 1}}
spec: {{storageUri: "gs://models/{name}", requirements: [sklearn]}}
status:
  conditions:
  - {{type: ModelReady, status: "{status}"}}
  - {{type: Ready, status: "{status}"}}
"""


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "cluster.yaml"
    path.write_text(MANIFEST + model_cr(MODEL))
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, float]:
    """Run the CLI in-process; (exit code, parsed JSON stdout, seconds)."""
    capsys.readouterr()
    start = time.monotonic()
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    elapsed = time.monotonic() - start
    out = capsys.readouterr().out
    code = int(exc.value.code or 0)
    return code, (json.loads(out) if out.strip() else None), elapsed


def withdraw_iris(xds: XdsTestServer) -> None:
    xds.put("route", seldon_route_config([]))
    xds.remove("cluster", f"{INTERNAL_MODEL}_http")
    xds.wait_acked()


def hops(tree: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield tree
    for child in tree.get("next", []):
        yield from hops(child)


pytestmark = pytest.mark.dataplane


def test_trace_probe_reports_200_through_envoy(
    envoy: EnvoyHandle,
    mlserver: MLServerProcess,
    manifest: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report, _ = run(
        capsys,
        "trace", MODEL, "-n", NS, "-f", str(manifest),
        "--envoy-admin", f"{NS}={envoy.admin_url}",
        "--probe", envoy.listener_url, "-o", "json",
    )  # fmt: skip
    assert report["probe"]["status"] == 200, report
    assert report["probe"]["verdict"] == "ok"
    assert report["probe"]["via_envoy"] is True
    assert report["probe"]["seldon_route"] == f":{INTERNAL_MODEL}:"
    assert report["whole"] is True and code == 0, report
    seen = {h["hop"]: h for h in hops(report["hops"])}
    assert seen["route"]["label"] == f"route {MODEL}_http"
    assert seen["cluster"]["status"] == "ok"
    assert seen["listener"]["status"] == "ok"


def test_withdrawn_route_scan_reports_route_missing_and_trace_marks_route_hop(
    envoy: EnvoyHandle,
    seldon_xds: XdsTestServer,
    mlserver: MLServerProcess,
    manifest: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    withdraw_iris(seldon_xds)
    code, report, _ = run(
        capsys,
        "scan", "-f", str(manifest), "--envoy-admin", f"{NS}={envoy.admin_url}",
        "--select", "SD601,SD603,SD605", "-o", "json", "-q",
    )  # fmt: skip
    assert code == 1
    found = {(f["id"], f["resource"]["name"]) for f in report["findings"]}
    assert ("SD601", MODEL) in found, report["findings"]
    assert not report["gaps"]

    code, trace, _ = run(
        capsys,
        "trace", MODEL, "-n", NS, "-f", str(manifest),
        "--envoy-admin", f"{NS}={envoy.admin_url}",
        "--probe", envoy.listener_url, "-o", "json",
    )  # fmt: skip
    assert code == 1
    assert trace["first_broken"]["hop"] == "route", trace["first_broken"]
    assert "404" in trace["first_broken"]["reason"]
    assert trace["probe"]["verdict"] == "envoy_no_route"
    envoy_hop = next(h for h in hops(trace["hops"]) if h["hop"] == "envoy")
    assert "no_route=" in envoy_hop["detail"]


def test_request_straight_to_mlserver_is_classified_as_bypassing_envoy(
    mlserver: MLServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    code, trace, _ = run(capsys, "trace", MODEL, "-n", NS, "--probe", mlserver.url, "-o", "json")
    assert code == 1
    assert trace["probe"]["status"] == 404
    assert trace["probe"]["verdict"] == "bypassed_envoy", trace["probe"]
    assert trace["first_broken"]["hop"] == "probe"
    assert "bypassed" in trace["probe"]["detail"] or "rewrit" in trace["probe"]["detail"]


def test_envoy_in_sync_with_its_scheduler_is_quiet_and_another_scheduler_is_sd606(
    envoy: EnvoyHandle,
    seldon_xds: XdsTestServer,
    listener_port: int,
    agent_proxy: AgentProxy,
    manifest: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = ["scan", "-f", str(manifest), "--envoy-admin", f"{NS}={envoy.admin_url}"]
    code, report, _ = run(
        capsys, *base, "--scheduler-xds", f"{NS}={seldon_xds.target}",
        "--select", "SD606", "-o", "json", "-q",
    )  # fmt: skip
    assert code == 0, report
    assert report["findings"] == [] and report["gaps"] == []

    other = XdsTestServer()
    other.replace(
        seldon_resources(
            listener_port=listener_port,
            upstream_port=agent_proxy.port,
            models={"iris": {"iris_1": 100}, "wine": {"wine_1": 100}},
        )
    )
    other.start()
    try:
        code, report, _ = run(
            capsys, *base, "--scheduler-xds", f"{NS}={other.target}",
            "--select", "SD606", "-o", "json", "-q",
        )  # fmt: skip
    finally:
        other.stop()
    assert code == 1
    (finding,) = report["findings"]
    assert finding["id"] == "SD606"
    assert "wine_http" in finding["message"]


def test_scheduler_view_against_crs(
    scheduler_status_server: SchedulerStatusTestServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "cluster.yaml"
    # iris: Available in the scheduler; broken: ScheduleFailed there; lost: unknown to it.
    path.write_text(MANIFEST + model_cr("iris") + model_cr("broken") + model_cr("lost"))
    code, report, _ = run(
        capsys, "scan", "-f", str(path), "--scheduler", f"{NS}={scheduler_status_server.target}",
        "--select", "SD607", "-o", "json", "-q",
    )  # fmt: skip
    assert code == 1
    found = {(f["id"], f["resource"]["name"]) for f in report["findings"]}
    assert found == {("SD607", "broken"), ("SD607", "lost")}, report["findings"]
    assert any(r[1] == "seldon-doctor" for r in scheduler_status_server.requests)


@pytest.fixture
def blackhole() -> Iterator[str]:
    """A TCP port that accepts connections and never answers (a hung endpoint)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def test_unreachable_or_hung_envoy_and_scheduler_are_gaps_never_hangs(
    manifest: Path, blackhole: str, capsys: pytest.CaptureFixture[str]
) -> None:
    closed = f"127.0.0.1:{free_port()}"
    code, report, elapsed = run(
        capsys,
        "scan", "-f", str(manifest),
        "--envoy-admin", f"{NS}=http://{closed}",
        "--scheduler", f"{NS}={blackhole}",
        "--scheduler-xds", f"{NS}={closed}",
        "--dataplane-timeout", "1", "--select", "SD601,SD606,SD607", "-o", "json", "-q",
    )  # fmt: skip
    assert elapsed < 8, elapsed
    assert code == 3, report
    gaps = {g["what"]: g["reason"] for g in report["gaps"]}
    assert set(gaps) == {f"envoy:{NS}", f"scheduler:{NS}", f"scheduler-xds:{NS}"}, gaps
    assert "unreachable" in gaps[f"envoy:{NS}"]
    not_evaluated = {f["message"].split()[0] for f in report["not_evaluated"]}
    assert {"SD601", "SD606", "SD607"} <= not_evaluated

    code, report, elapsed = run(
        capsys,
        "scan", "-f", str(manifest), "--envoy-admin", f"{NS}=http://{blackhole}",
        "--dataplane-timeout", "1", "--select", "SD601", "-o", "json", "-q",
    )  # fmt: skip
    assert elapsed < 5, elapsed
    assert code == 3
    assert "within 1s" in report["gaps"][0]["reason"]

    code, trace, elapsed = run(
        capsys,
        "trace", MODEL, "-n", NS, "-f", str(manifest),
        "--envoy-admin", f"{NS}=http://{closed}", "--probe", f"http://{blackhole}",
        "--dataplane-timeout", "1", "-o", "json",
    )  # fmt: skip
    assert elapsed < 5, elapsed
    assert code == 3, trace
    assert trace["whole"] is True
    assert {g["what"] for g in trace["gaps"]} == {f"envoy:{NS}", f"probe:{NS}"}


class _FakePortForward:
    """Stands in for ``kubernetes.stream.portforward``: each stream is a TCP connection to a
    local port (here the real Envoy admin), as the API server's stream would reach the pod."""

    opened: ClassVar[list[tuple[str, str, str]]] = []

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.sock: socket.socket | None = None

    def __call__(self, method: Any, pod: str, namespace: str, ports: str) -> _FakePortForward:
        self.opened.append((namespace, pod, ports))
        clone = _FakePortForward(self.target_port)
        clone.sock = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
        return clone

    def socket(self, port: int) -> socket.socket:
        assert self.sock is not None
        return self.sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


def test_observe_via_portforward_relays_every_admin_request(
    envoy: EnvoyHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kubernetes.stream

    from seldon_doctor.sources.dataplane import observe_envoy, observe_via_portforward

    admin_port = int(envoy.admin_url.rsplit(":", 1)[1])
    fake = _FakePortForward(admin_port)
    _FakePortForward.opened = []
    monkeypatch.setattr(kubernetes.stream, "portforward", fake)

    class Api:
        connect_get_namespaced_pod_portforward = None

    obs = observe_via_portforward(
        NS,
        "seldon-envoy-abc",
        9901,
        lambda addr: observe_envoy("http://" + addr, NS, timeout=5.0),
        api=Api(),
    )
    assert obs.ready == "LIVE"
    assert any(r.name == f"{MODEL}_http" for r in obs.config.routes_for_listener("seldon_http"))
    # /ready, /config_dump and /stats: one stream each
    assert _FakePortForward.opened == [(NS, "seldon-envoy-abc", "9901")] * 3


class _PortMap(_FakePortForward):
    """A stand-in ``portforward`` whose streams reach a local port chosen by the remote port."""

    def __init__(self, ports: dict[int, int]) -> None:
        super().__init__(0)
        self.ports = ports

    def __call__(self, method: Any, pod: str, namespace: str, ports: str) -> _FakePortForward:
        self.opened.append((namespace, pod, ports))
        clone = _FakePortForward(self.ports[int(ports)])
        clone.sock = socket.create_connection(("127.0.0.1", clone.target_port), timeout=5)
        return clone


def test_observe_live_reads_every_envoy_and_scheduler_pod(
    envoy: EnvoyHandle,
    seldon_xds: XdsTestServer,
    scheduler_status_server: SchedulerStatusTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import kubernetes.stream

    from seldon_doctor.snapshot import KubeObject, Snapshot
    from seldon_doctor.sources.dataplane import observe_live

    def pod(name: str, role: str) -> KubeObject:
        return KubeObject(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": NS,
                    "labels": {"app.kubernetes.io/name": role},
                },
                "status": {"phase": "Running"},
            }
        )

    ports = {
        9901: int(envoy.admin_url.rsplit(":", 1)[1]),
        9004: int(scheduler_status_server.target.rsplit(":", 1)[1]),
        9002: seldon_xds.port,
    }
    _FakePortForward.opened = []
    monkeypatch.setattr(kubernetes.stream, "portforward", _PortMap(ports))

    class Api:
        connect_get_namespaced_pod_portforward = None

    snapshot = Snapshot(
        objects=[
            pod("seldon-envoy-x", "seldon-envoy"),
            pod("seldon-scheduler-0", "seldon-scheduler"),
        ]
    )
    observe_live(snapshot, api=Api(), timeout=5.0)
    assert snapshot.gaps == []
    (obs,) = snapshot.envoys
    assert obs.pod == "seldon-envoy-x" and obs.ready == "LIVE"
    (sched,) = snapshot.schedulers
    assert "iris" in sched.state.models
    (served,) = snapshot.xds
    assert "listener_0" in served.snapshot.routes
