"""graph.mesh.mesh_envoy: the one chooser of the Envoy behind ``seldon-mesh``.

``trace --probe`` chooses in the graph of a full live read; ``probe`` (no snapshot at hand)
in the objects ``sources.dataplane.read_mesh_snapshot`` reads along the alias chain. Both must
land on the same pod; the central-scheduler pattern (``app-a/seldon-mesh`` is an ExternalName
to ``seldon-mesh.seldon-mesh``) is where they used to disagree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from seldon_doctor.graph.build import build_graph
from seldon_doctor.graph.mesh import MeshEnvoy, NoMeshEnvoy, mesh_envoy
from tests.conftest import FIXTURES, load_case
from tests.kube_api_double import KubeApiDouble, write_kubeconfig

CENTRAL = FIXTURES / "clusters" / "central-scheduler-healthy"
DANGLING = FIXTURES / "clusters" / "central-scheduler-dangling-alias"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def where(envoy: MeshEnvoy) -> tuple[str, str, int]:
    return envoy.namespace, envoy.pod, envoy.port


def core_api(double: KubeApiDouble, tmp_path: Path) -> Any:
    from seldon_doctor.sources.live import LiveOptions, api_client_for, resolve_targets

    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", double)
    return api_client_for(resolve_targets(LiveOptions(kubeconfig=str(kubeconfig)))[0])


def test_app_namespaces_reach_the_central_envoy_through_their_alias() -> None:
    graph = build_graph(load_case(CENTRAL))
    central = mesh_envoy(graph, "seldon-mesh")
    assert central.namespace == "seldon-mesh" and central.ready
    assert central.pod.startswith("seldon-envoy-") and central.port == 9000
    for app in ("app-a", "app-b"):
        envoy = mesh_envoy(graph, app)
        assert where(envoy) == where(central), app
        assert [c.split("/", 1)[1] for c in envoy.resolution.chain] == [
            f"{app}/seldon-mesh",
            "seldon-mesh/seldon-mesh",
        ]


def test_probe_reads_what_it_needs_and_picks_the_envoy_trace_picks(tmp_path: Path) -> None:
    """``probe -n app-a`` (objects read along the chain) == ``trace --probe`` (full graph)."""
    from seldon_doctor.sources.dataplane import read_mesh_snapshot

    trace_choice = mesh_envoy(build_graph(load_case(CENTRAL)), "app-a")
    with KubeApiDouble.from_paths([CENTRAL]) as double:
        api = core_api(double, tmp_path)
        snapshot = read_mesh_snapshot("app-a", api)
        probe_choice = mesh_envoy(build_graph(snapshot), "app-a")
        # the chain only: two Services, the Endpoints and pods of the last one; no LIST of
        # Services or of every pod
        gets = sorted(r.path for r in double.requests if r.verb == "get")
        lists = [
            (r.path, r.query.get("labelSelector")) for r in double.requests if r.verb == "list"
        ]
    assert where(probe_choice) == where(trace_choice)
    assert {o.kind for o in snapshot.objects} == {"Namespace", "Service", "Endpoints", "Pod"}
    assert "/api/v1/namespaces/app-a/services/seldon-mesh" in gets
    assert "/api/v1/namespaces/seldon-mesh/services/seldon-mesh" in gets
    assert lists == [
        ("/api/v1/namespaces/seldon-mesh/pods", "app.kubernetes.io/name=seldon-envoy")
    ], lists


def test_no_envoy_says_where_the_chain_ends(tmp_path: Path) -> None:
    graph = build_graph(load_case(DANGLING))
    with pytest.raises(NoMeshEnvoy) as exc:
        mesh_envoy(graph, "app-d")  # its runtime scaled Envoy to 0: the Service selects no pod
    assert exc.value.reason.startswith("seldon-mesh in app-d leads to no ready Envoy pod ("), exc
    with pytest.raises(NoMeshEnvoy) as exc:
        mesh_envoy(graph, "no-such-namespace")
    assert "no-such-namespace" in exc.value.reason
