"""Live mode end to end: ``scan --kubeconfig K --dataplane`` against the API server double,
whose ``pods/portforward`` streams lead to the REAL data plane of these fixtures (Envoy admin,
the scheduler status server, the xDS server) -- nothing in the kubernetes client is patched.

Pod ``seldon-envoy-0``:9901 -> Envoy admin, ``seldon-scheduler-0``:9004 -> status RPCs,
``seldon-scheduler-0``:9002 -> xDS, and ``seldon-envoy-0``:9000 (the ``http`` port behind
``seldon-mesh``:80) -> Envoy's ``seldon_http`` listener for ``probe``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from seldon_doctor.cli import main
from tests.dataplane.conftest import INTERNAL_MODEL, MODEL, EnvoyHandle
from tests.dataplane.procs import AgentProxy, MLServerProcess
from tests.dataplane.scheduler_server import SchedulerStatusTestServer
from tests.dataplane.test_doctor_live import MANIFEST, NS, model_cr, withdraw_iris
from tests.dataplane.xds_server import XdsTestServer, seldon_resources
from tests.kube_api_double import KubeApiDouble, write_kubeconfig

pytestmark = [pytest.mark.dataplane, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

ENVOY_POD, SCHEDULER_POD = "seldon-envoy-0", "seldon-scheduler-0"
ENVOY_HTTP_PORT = 9000  # seldon-mesh port 80 -> targetPort "http" = Envoy's seldon_http


def pod(name: str, role: str, ports: dict[str, int]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app.kubernetes.io/name": role}},
        "spec": {
            "containers": [
                {
                    "name": role.removeprefix("seldon-"),
                    "image": f"seldonio/{role}:2.9.0",
                    "ports": [{"name": n, "containerPort": p} for n, p in ports.items()],
                }
            ]
        },
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {"name": role.removeprefix("seldon-"), "ready": True, "restartCount": 0}
            ],
        },
    }


def cluster_objects(*models: str) -> list[dict[str, Any]]:
    text = MANIFEST + "".join(model_cr(m) for m in models)
    objects = [doc for doc in yaml.safe_load_all(text) if doc]
    objects += [
        pod(ENVOY_POD, "seldon-envoy", {"http": ENVOY_HTTP_PORT, "envoy-stats": 9003}),
        pod(SCHEDULER_POD, "seldon-scheduler", {"xds": 9002, "scheduler": 9004}),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "seldon-mesh", "namespace": NS},
            "spec": {
                "selector": {"app.kubernetes.io/name": "seldon-envoy"},
                "ports": [
                    {"name": "data", "port": 80, "targetPort": "http"},
                    {"name": "stats", "port": 9003, "targetPort": "envoy-stats"},
                ],
            },
        },
    ]
    return objects


def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


@pytest.fixture
def live(
    envoy: EnvoyHandle,
    seldon_xds: XdsTestServer,
    scheduler_status_server: SchedulerStatusTestServer,
    listener_port: int,
    tmp_path: Path,
) -> Iterator[tuple[KubeApiDouble, str]]:
    """(the double, its kubeconfig): a cluster whose Envoy and scheduler pods forward to the
    real processes. iris is served; broken/lost make the scheduler view differ (SD607)."""
    forwards = {
        (NS, ENVOY_POD, 9901): ("127.0.0.1", port_of(envoy.admin_url)),
        (NS, ENVOY_POD, ENVOY_HTTP_PORT): ("127.0.0.1", listener_port),
        (NS, SCHEDULER_POD, 9004): ("127.0.0.1", port_of(scheduler_status_server.target)),
        (NS, SCHEDULER_POD, 9002): ("127.0.0.1", seldon_xds.port),
    }
    with KubeApiDouble(cluster_objects(MODEL, "broken", "lost"), port_forwards=forwards) as d:
        yield d, str(write_kubeconfig(tmp_path / "kubeconfig", d))


STDERR = [""]  # what the last run() wrote on stderr


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, float]:
    capsys.readouterr()
    start = time.monotonic()
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    elapsed = time.monotonic() - start
    out, STDERR[0] = capsys.readouterr()
    return int(exc.value.code or 0), (json.loads(out) if out.strip() else None), elapsed


def found(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["id"], f["resource"]["name"]) for f in report["findings"]}


SELECT = ("--select", "SD601,SD606,SD607")


def test_scan_dataplane_reads_envoy_scheduler_and_xds_through_portforward(
    live: tuple[KubeApiDouble, str],
    seldon_xds: XdsTestServer,
    listener_port: int,
    agent_proxy: AgentProxy,
    capsys: pytest.CaptureFixture[str],
) -> None:
    double, kubeconfig = live
    code, report, elapsed = run(
        capsys, "scan", "--kubeconfig", kubeconfig, "--dataplane", *SELECT, "-o", "json", "-q"
    )
    assert report["gaps"] == [], report["gaps"]
    seen = found(report)
    # the scheduler's status API was read: broken is ScheduleFailed there, lost unknown to it
    assert {("SD607", "broken"), ("SD607", "lost")} <= seen, seen
    assert ("SD607", MODEL) not in seen
    # Envoy's admin was read: iris has its route; the scheduler's xDS matches Envoy
    assert ("SD601", MODEL) not in seen and not any(i == "SD606" for i, _ in seen), seen
    assert code == 1
    forwarded = {
        (r.path.split("/")[-2], r.query["ports"])
        for r in double.requests
        if r.verb == "portforward" and r.status == 101
    }
    assert forwarded == {(ENVOY_POD, "9901"), (SCHEDULER_POD, "9004"), (SCHEDULER_POD, "9002")}

    # iris withdrawn over xDS: Envoy, read through the port-forward, has no route for it
    withdraw_iris(seldon_xds)
    code, report, _ = run(
        capsys, "scan", "--kubeconfig", kubeconfig, "--dataplane", *SELECT, "-o", "json", "-q"
    )
    assert ("SD601", MODEL) in found(report), report["findings"]
    assert report["gaps"] == []

    # the scheduler's 9002 now serves another model set than Envoy holds: SD606
    other = XdsTestServer()
    other.replace(
        seldon_resources(
            listener_port=listener_port,
            upstream_port=agent_proxy.port,
            models={"iris": {INTERNAL_MODEL: 100}, "wine": {"wine_1": 100}},
        )
    )
    other.start()
    double.port_forwards[(NS, SCHEDULER_POD, 9002)] = ("127.0.0.1", other.port)
    try:
        code, report, _ = run(
            capsys, "scan", "--kubeconfig", kubeconfig, "--dataplane", *SELECT, "-o", "json", "-q"
        )
    finally:
        other.stop()
    drift = [f for f in report["findings"] if f["id"] == "SD606"]
    assert drift and "wine_http" in drift[0]["message"], report["findings"]
    assert elapsed < 10, elapsed


def test_scan_without_dataplane_opens_no_portforward(
    live: tuple[KubeApiDouble, str], capsys: pytest.CaptureFixture[str]
) -> None:
    double, kubeconfig = live
    _, report, _ = run(capsys, "scan", "--kubeconfig", kubeconfig, *SELECT, "-o", "json", "-q")
    assert double.count(verb="portforward") == 0
    assert not report["gaps"]


def test_forbidden_portforward_is_gaps_exit_3_and_no_hang(
    envoy: EnvoyHandle,
    scheduler_status_server: SchedulerStatusTestServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with KubeApiDouble(cluster_objects(MODEL), forbidden={"pods/portforward"}) as double:
        kubeconfig = str(write_kubeconfig(tmp_path / "kubeconfig", double))
        code, report, elapsed = run(
            capsys, "scan", "--kubeconfig", kubeconfig, "--dataplane", *SELECT, "-o", "json", "-q"
        )
        assert double.count(verb="portforward", status=403) >= 3
    assert elapsed < 10, elapsed
    gaps = {g["what"]: g["reason"] for g in report["gaps"]}
    assert set(gaps) == {f"envoy:{NS}", f"scheduler:{NS}", f"scheduler-xds:{NS}"}, gaps
    assert "403" in gaps[f"envoy:{NS}"] or "forbidden" in gaps[f"envoy:{NS}"].lower(), gaps
    assert code == 3, report


# ---- probe / scan --probe without an endpoint: through the port-forward to seldon-mesh ------


def test_probe_without_endpoint_goes_through_the_portforward_to_envoy(
    live: tuple[KubeApiDouble, str],
    mlserver: MLServerProcess,
    capsys: pytest.CaptureFixture[str],
) -> None:
    double, kubeconfig = live
    code, doc, elapsed = run(
        capsys,
        "probe", MODEL, "-n", NS, "--kubeconfig", kubeconfig, "--requests", "20", "-o", "json",
    )  # fmt: skip
    assert doc["observation"]["requests"] == 20 and doc["success_rate"] == 1.0, doc
    assert doc["observation"]["routes"] == {INTERNAL_MODEL: 20}  # Envoy's x-seldon-route
    assert code == 0
    # seldon-mesh:80 -> targetPort "http" -> the Envoy pod's 9000, read from the Service
    forwards = {
        (r.path.split("/")[-2], r.query["ports"])
        for r in double.requests
        if r.verb == "portforward"
    }
    assert forwards == {(ENVOY_POD, str(ENVOY_HTTP_PORT))}
    assert double.count(f"/api/v1/namespaces/{NS}/services/seldon-mesh", verb="get") == 1
    assert elapsed < 10, elapsed


def test_scan_probe_live_probes_every_ready_model_through_the_portforward(
    live: tuple[KubeApiDouble, str],
    mlserver: MLServerProcess,
    capsys: pytest.CaptureFixture[str],
) -> None:
    double, kubeconfig = live
    code, report, _ = run(
        capsys, "scan", "--kubeconfig", kubeconfig, "--probe",
        "--select", "SD801,SD802,SD803,SD804", "-o", "json", "-q",
    )  # fmt: skip
    probed = {e["observation"]["name"]: e for e in report["probes"]}
    assert set(probed) == {MODEL, "broken", "lost"}, probed
    assert probed[MODEL]["success_rate"] == 1.0
    # broken/lost are Ready CRs without a route in this Envoy: its own 404s, SD801
    assert probed["broken"]["success_rate"] == 0.0
    assert {(f["id"], f["resource"]["name"]) for f in report["findings"]} >= {("SD801", "broken")}
    assert not report["gaps"] and code == 1
    assert {r.query["ports"] for r in double.requests if r.verb == "portforward"} == {"9000"}


def test_probe_without_endpoint_when_portforward_is_forbidden_or_no_cluster(
    envoy: EnvoyHandle,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with KubeApiDouble(cluster_objects(MODEL), forbidden={"pods/portforward"}) as double:
        kubeconfig = str(write_kubeconfig(tmp_path / "kubeconfig", double))
        code, doc, elapsed = run(capsys, "probe", MODEL, "-n", NS, "--kubeconfig", kubeconfig)
    err = STDERR[0]
    assert code == 3 and doc is None and elapsed < 5
    assert f"port-forward to {NS}/{ENVOY_POD}:9000 failed: 403" in err, err

    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    code, _, _ = run(capsys, "probe", MODEL, "-n", NS)
    err = STDERR[0]
    assert code == 2 and "--endpoint" in err and "no kubeconfig" in err, err


APP_NS = "app-a"  # the central-scheduler pattern: no runtime here, seldon-mesh is an alias


def central_scheduler_objects() -> list[dict[str, Any]]:
    """The Envoy and scheduler in NS, and an app namespace whose seldon-mesh is an
    ExternalName to NS's (what fixtures/clusters/central-scheduler-healthy holds)."""
    alias = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "seldon-mesh", "namespace": APP_NS},
        "spec": {
            "type": "ExternalName",
            "externalName": f"seldon-mesh.{NS}.svc.cluster.local",
            "ports": [{"name": "data", "port": 80}],
        },
    }
    app_model = yaml.safe_load(model_cr(MODEL).replace(f"namespace: {NS}", f"namespace: {APP_NS}"))
    namespaces = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        for name in (NS, APP_NS)
    ]
    return [*cluster_objects(), *namespaces, alias, app_model]


def mesh_forwards(double: KubeApiDouble, since: int) -> set[tuple[str, str, str]]:
    """(namespace, pod, port) of the seldon-mesh port-forwards opened after request ``since``."""
    return {
        (r.path.split("/")[-4], r.path.split("/")[-2], r.query["ports"])
        for r in double.requests[since:]
        if r.verb == "portforward" and r.query["ports"] == str(ENVOY_HTTP_PORT)
    }


def test_probe_and_trace_probe_pick_the_same_envoy_through_an_externalname_alias(
    envoy: EnvoyHandle,
    seldon_xds: XdsTestServer,
    scheduler_status_server: SchedulerStatusTestServer,
    listener_port: int,
    mlserver: MLServerProcess,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """probe -n app-a used to look for Envoy pods in app-a itself ("no running seldon-envoy
    pod in app-a") where trace --probe followed the alias; both now ask graph.mesh."""
    forwards = {
        (NS, ENVOY_POD, 9901): ("127.0.0.1", port_of(envoy.admin_url)),
        (NS, ENVOY_POD, ENVOY_HTTP_PORT): ("127.0.0.1", listener_port),
        (NS, SCHEDULER_POD, 9004): ("127.0.0.1", port_of(scheduler_status_server.target)),
        (NS, SCHEDULER_POD, 9002): ("127.0.0.1", seldon_xds.port),
    }
    with KubeApiDouble(central_scheduler_objects(), port_forwards=forwards) as double:
        kubeconfig = str(write_kubeconfig(tmp_path / "kubeconfig", double))
        code, doc, _ = run(
            capsys, "probe", MODEL, "-n", APP_NS, "--kubeconfig", kubeconfig,
            "--requests", "5", "-o", "json",
        )  # fmt: skip
        assert code == 0, STDERR[0]
        assert doc["observation"]["requests"] == 5 and doc["success_rate"] == 1.0, doc
        probe_picked = mesh_forwards(double, 0)

        since = len(double.requests)
        code, report, _ = run(
            capsys, "trace", MODEL, "-n", APP_NS, "--kubeconfig", kubeconfig, "--probe",
            "-o", "json",
        )  # fmt: skip
        assert report["probe"]["status"] == 200, (report, STDERR[0])
        trace_picked = mesh_forwards(double, since)
    assert probe_picked == trace_picked == {(NS, ENVOY_POD, str(ENVOY_HTTP_PORT))}


def test_dataplane_reads_pods_even_when_the_selected_checks_do_not(
    live: tuple[KubeApiDouble, str], capsys: pytest.CaptureFixture[str]
) -> None:
    double, kubeconfig = live
    code, report, _ = run(
        capsys, "scan", "--kubeconfig", kubeconfig, "--dataplane", "--select", "SD606",
        "-o", "json", "-q",
    )  # fmt: skip
    assert code == 0 and report["gaps"] == [] and report["findings"] == [], report
    assert double.count("/api/v1/pods", verb="list") == 1
    forwarded = {
        (r.path.split("/")[-2], r.query["ports"])
        for r in double.requests
        if r.verb == "portforward" and r.status == 101
    }
    assert forwarded == {(ENVOY_POD, "9901"), (SCHEDULER_POD, "9004"), (SCHEDULER_POD, "9002")}


def test_closed_pod_port_is_a_gap_with_kubelets_reason(
    envoy: EnvoyHandle,
    scheduler_status_server: SchedulerStatusTestServer,
    seldon_xds: XdsTestServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    forwards = {  # nothing listens on the Envoy pod's 9901
        (NS, SCHEDULER_POD, 9004): ("127.0.0.1", port_of(scheduler_status_server.target)),
        (NS, SCHEDULER_POD, 9002): ("127.0.0.1", seldon_xds.port),
    }
    with KubeApiDouble(cluster_objects(MODEL), port_forwards=forwards) as double:
        kubeconfig = str(write_kubeconfig(tmp_path / "kubeconfig", double))
        code, report, elapsed = run(
            capsys, "scan", "--kubeconfig", kubeconfig, "--dataplane", *SELECT, "-o", "json", "-q"
        )
    gaps = {g["what"]: g["reason"] for g in report["gaps"]}
    assert set(gaps) == {f"envoy:{NS}"}, gaps
    assert "error forwarding port 9901 to pod seldon-envoy-0" in gaps[f"envoy:{NS}"], gaps
    assert code == 3 and elapsed < 10


def test_live_trace_reads_the_cluster_and_probes_through_the_mesh_portforward(
    live: tuple[KubeApiDouble, str],
    seldon_xds: XdsTestServer,
    mlserver: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """trace with no files: the objects from the API server, Envoy and the scheduler through
    port-forwards, and --probe (no URL) through a port-forward to seldon-mesh's Envoy."""
    double, kubeconfig = live
    code, report, _ = run(
        capsys, "trace", MODEL, "-n", NS, "--kubeconfig", kubeconfig, "--probe", "-o", "json"
    )
    assert code == 0, (report, STDERR[0])
    assert report["first_broken"] is None
    assert report["probe"]["status"] == 200, report["probe"]
    forwarded = {
        (r.path.split("/")[-2], r.query["ports"])
        for r in double.requests
        if r.verb == "portforward" and r.status == 101
    }
    assert (ENVOY_POD, "9901") in forwarded and (ENVOY_POD, str(ENVOY_HTTP_PORT)) in forwarded

    withdraw_iris(seldon_xds)
    code, report, _ = run(
        capsys, "trace", MODEL, "-n", NS, "--kubeconfig", kubeconfig, "-o", "json"
    )
    assert code == 1
    assert report["first_broken"]["hop"] == "route", report["first_broken"]
