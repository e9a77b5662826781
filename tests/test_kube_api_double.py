"""The Kubernetes API server double, exercised with the real ``kubernetes`` client."""

# The kubernetes client's helpers are unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import urllib3
from kubernetes import client, config

from tests.kube_api_double import (
    DEFAULT_USER,
    ISTIO_GROUPS,
    KSERVE_GROUP,
    Fault,
    KubeApiDouble,
    LogKey,
    parse_label_selector,
    write_kubeconfig,
)

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "fixtures" / "clusters" / "central-scheduler-healthy"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _pod(ns: str, name: str, *containers: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"containers": [{"name": c, "image": "x"} for c in containers or ("main",)]},
    }


def _model(ns: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Model",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"storageUri": "gs://x", "requirements": ["sklearn"]},
    }


OBJECTS = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app-a"}},
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app-b"}},
    *(_pod("app-a", f"p{i}", app="web" if i % 2 else "db", tier=str(i)) for i in range(5)),
    *(_pod("app-b", f"p{i}", app="web") for i in range(3)),
    _pod("app-a", "multi", "server", "agent"),
    _model("app-a", "iris"),
    _model("app-b", "wine"),
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "app-a"}},
]


class Client:
    """Raw JSON through the real client, as the live source does."""

    def __init__(self, kubeconfig: Path, context: str | None = None) -> None:
        cfg = client.Configuration()
        config.load_kube_config(
            config_file=str(kubeconfig), context=context, client_configuration=cfg
        )
        cfg.retries = False  # see each failure once (urllib3 would retry resets)
        self.cfg = cfg
        self.api = client.ApiClient(cfg)

    def call(
        self, path: str, query: list[tuple[str, Any]] | None = None, timeout: float | None = None
    ) -> tuple[int, Any, bytes]:
        request = self.api.param_serialize(
            "GET", path, query_params=query or [], auth_settings=["BearerToken"]
        )
        response = self.api.call_api(*request, _request_timeout=timeout)
        data = response.read()
        return response.status, response.headers, data

    def json(self, path: str, query: list[tuple[str, Any]] | None = None) -> Any:
        status, _, data = self.call(path, query)
        body = json.loads(data)
        body["_status"] = status
        return body

    def close(self) -> None:
        self.api.close()


@pytest.fixture
def double() -> Iterator[KubeApiDouble]:
    with KubeApiDouble(OBJECTS) as d:
        yield d


def _client(d: KubeApiDouble, tmp_path: Path) -> Client:
    return Client(write_kubeconfig(tmp_path / "kubeconfig", d))


@pytest.fixture
def kube(double: KubeApiDouble, tmp_path: Path) -> Iterator[Client]:
    c = _client(double, tmp_path)
    yield c
    c.close()


def test_discovery_like_a_real_server(kube: Client) -> None:
    assert kube.json("/version")["gitVersion"].startswith("v1.")
    assert kube.json("/api")["versions"] == ["v1"]
    core = kube.json("/api/v1")
    assert core["kind"] == "APIResourceList" and core["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in core["resources"]}
    assert {"pods", "pods/log", "services", "secrets", "configmaps", "namespaces"} <= set(by_name)
    assert by_name["namespaces"]["namespaced"] is False
    assert by_name["pods"]["singularName"] == "pod" and "list" in by_name["pods"]["verbs"]

    groups = {g["name"]: g for g in kube.json("/apis")["groups"]}
    assert {"apps", "mlops.seldon.io", "networking.istio.io", KSERVE_GROUP} <= set(groups)
    assert groups["mlops.seldon.io"]["preferredVersion"]["groupVersion"] == (
        "mlops.seldon.io/v1alpha1"
    )
    seldon = kube.json("/apis/mlops.seldon.io/v1alpha1")
    models = next(r for r in seldon["resources"] if r["name"] == "models")
    assert models == models | {"kind": "Model", "namespaced": True, "singularName": "model"}
    assert kube.json("/apis/mlops.seldon.io")["kind"] == "APIGroup"


def test_missing_groups_are_absent_and_404(tmp_path: Path) -> None:
    with KubeApiDouble(
        OBJECTS, crds_installed=False, missing_groups=ISTIO_GROUPS | {KSERVE_GROUP}
    ) as d:
        kube = _client(d, tmp_path)
        groups = {g["name"] for g in kube.json("/apis")["groups"]}
        assert "mlops.seldon.io" not in groups and not groups & ISTIO_GROUPS
        assert KSERVE_GROUP not in groups and "apps" in groups
        for path in (
            "/apis/mlops.seldon.io/v1alpha1",
            "/apis/mlops.seldon.io/v1alpha1/models",
            "/apis/mlops.seldon.io/v1alpha1/namespaces/app-a/models",
        ):
            body = kube.json(path)
            assert body["_status"] == 404
            assert body | {"kind": "Status", "status": "Failure", "reason": "NotFound"} == body


def test_seldon_served_at_two_versions(tmp_path: Path) -> None:
    versions = {"mlops.seldon.io": ["v1alpha2", "v1alpha1"]}
    with KubeApiDouble(OBJECTS, group_versions=versions) as d:
        kube = _client(d, tmp_path)
        group = next(g for g in kube.json("/apis")["groups"] if g["name"] == "mlops.seldon.io")
        assert [v["version"] for v in group["versions"]] == ["v1alpha2", "v1alpha1"]
        assert group["preferredVersion"]["version"] == "v1alpha2"
        for version in ("v1alpha1", "v1alpha2"):
            listed = kube.json(f"/apis/mlops.seldon.io/{version}/models")
            assert listed["apiVersion"] == f"mlops.seldon.io/{version}"
            assert [m["metadata"]["name"] for m in listed["items"]] == ["iris", "wine"]
        one = kube.json("/apis/mlops.seldon.io/v1alpha2/namespaces/app-a/models/iris")
        assert one["apiVersion"] == "mlops.seldon.io/v1alpha2" and one["kind"] == "Model"
        assert kube.json("/apis/mlops.seldon.io/v1beta1/models")["_status"] == 404


def test_list_shape_pagination_and_no_item_kind(double: KubeApiDouble, kube: Client) -> None:
    full = kube.json("/api/v1/pods")
    assert full["kind"] == "PodList" and full["apiVersion"] == "v1"
    assert "continue" not in full["metadata"] and full["metadata"]["resourceVersion"]
    assert all("kind" not in i and "apiVersion" not in i for i in full["items"])
    names = [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in full["items"]]
    assert names == sorted(names) and len(names) == 9

    pages, token = [], None
    while True:
        query: list[tuple[str, Any]] = [("limit", 4)] + ([("continue", token)] if token else [])
        page = kube.json("/api/v1/pods", query)
        pages.append(page)
        token = page["metadata"].get("continue")
        if not token:
            break
        assert page["metadata"]["remainingItemCount"] == 9 - 4 * len(pages)
    assert [len(p["items"]) for p in pages] == [4, 4, 1]
    paged = [(i["metadata"]["namespace"], i["metadata"]["name"]) for p in pages for i in p["items"]]
    assert paged == names
    assert double.count("/api/v1/pods", verb="list") == 4
    assert double.count(verb="get") == 0


def test_page_size_cap_and_namespaced_list(tmp_path: Path) -> None:
    with KubeApiDouble(OBJECTS, page_size_cap=2) as d:
        kube = _client(d, tmp_path)
        page = kube.json("/api/v1/namespaces/app-a/pods", [("limit", 500)])
        assert len(page["items"]) == 2 and page["metadata"]["continue"]
        assert {i["metadata"]["namespace"] for i in page["items"]} == {"app-a"}
        assert len(kube.json("/api/v1/pods")["items"]) == 2  # no limit: capped anyway
        assert kube.json("/api/v1/namespaces/app-a/namespaces")["_status"] == 404
        assert kube.json("/api/v1/namespaces/nowhere/pods")["items"] == []


def test_continue_is_a_consistent_snapshot_until_compacted(
    double: KubeApiDouble, kube: Client
) -> None:
    first = kube.json("/api/v1/namespaces/app-b/pods", [("limit", 2)])
    token = first["metadata"]["continue"]
    double.put(_pod("app-b", "p9"))
    rest = kube.json("/api/v1/namespaces/app-b/pods", [("limit", 2), ("continue", token)])
    assert [i["metadata"]["name"] for i in rest["items"]] == ["p2"]  # p9 is newer
    assert rest["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert len(kube.json("/api/v1/namespaces/app-b/pods")["items"]) == 4

    double.compact()
    expired = kube.json("/api/v1/namespaces/app-b/pods", [("limit", 2), ("continue", token)])
    assert expired["_status"] == 410 and expired["reason"] == "Expired"
    bogus = kube.json("/api/v1/pods", [("continue", "not-a-token")])
    assert bogus["_status"] == 400


def test_selectors(kube: Client) -> None:
    def names(query: list[tuple[str, Any]]) -> list[str]:
        return [
            i["metadata"]["name"]
            for i in kube.json("/api/v1/namespaces/app-a/pods", query)["items"]
        ]

    assert names([("labelSelector", "app=web")]) == ["p1", "p3"]
    assert names([("labelSelector", "app!=web,tier")]) == ["p0", "p2", "p4"]
    assert names([("labelSelector", "tier in (1,4),app==web")]) == ["p1"]
    assert names([("labelSelector", "!tier")]) == ["multi"]
    assert names([("fieldSelector", "metadata.name=p2")]) == ["p2"]
    assert names([("fieldSelector", "metadata.namespace!=app-a")]) == []
    bad = kube.json("/api/v1/pods", [("fieldSelector", "spec.nodeName=x")])
    assert bad["_status"] == 400 and "field label not supported" in bad["message"]
    with pytest.raises(ValueError):
        parse_label_selector("a=(b")


def test_get_one_object_is_recorded(double: KubeApiDouble, kube: Client) -> None:
    pod = kube.json("/api/v1/namespaces/app-a/pods/p1")
    assert pod["kind"] == "Pod" and pod["apiVersion"] == "v1"
    ns = kube.json("/api/v1/namespaces/app-a")
    assert ns["kind"] == "Namespace"
    missing = kube.json("/api/v1/namespaces/app-a/pods/nope")
    assert missing["_status"] == 404 and missing["message"] == 'pods "nope" not found'
    assert double.count(verb="get") == 3
    assert double.count(verb="get", resource="pods", status=200) == 1


def test_token_is_required_and_sent(double: KubeApiDouble, tmp_path: Path) -> None:
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(double.url + "/api/v1/pods", timeout=5)
    assert raised.value.code == 401
    wrong = urllib.request.Request(double.url + "/api", headers={"Authorization": "Bearer wrong"})
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(wrong, timeout=5)
    assert raised.value.code == 401

    kube = _client(double, tmp_path)
    assert kube.json("/api/v1/pods")["_status"] == 200
    sent = double.requests[-1]
    assert sent.authorization == f"Bearer {double.token}" and sent.user_agent


def test_two_contexts_in_one_kubeconfig(tmp_path: Path) -> None:
    with KubeApiDouble(OBJECTS[:3]) as one, KubeApiDouble(OBJECTS[3:5]) as two:
        path = write_kubeconfig(tmp_path / "k", {"c1": one, "c2": two}, current="c2")
        contexts, current = config.list_kube_config_contexts(config_file=str(path))
        assert [c["name"] for c in contexts] == ["c1", "c2"] and current["name"] == "c2"
        for name, d in (("c1", one), ("c2", two)):
            Client(path, name).json("/api/v1/pods")
            assert d.count("/api/v1/pods") == 1


def test_forbidden_cluster_wide_and_per_namespace(tmp_path: Path) -> None:
    with KubeApiDouble(OBJECTS, forbidden={("pods", "app-b"), "secrets"}) as d:
        kube = _client(d, tmp_path)
        wide = kube.json("/api/v1/pods")
        assert wide["_status"] == 403 and wide["reason"] == "Forbidden"
        assert wide["message"] == (
            f'pods is forbidden: User "{DEFAULT_USER}" cannot list resource "pods" '
            'in API group "" at the cluster scope'
        )
        assert kube.json("/api/v1/namespaces/app-a/pods")["_status"] == 200
        denied = kube.json("/api/v1/namespaces/app-b/pods")
        assert denied["_status"] == 403 and denied["message"].endswith('in the namespace "app-b"')
        assert kube.json("/api/v1/namespaces/app-a/secrets")["_status"] == 403

    with KubeApiDouble(OBJECTS, cluster_scope_forbidden={"models"}) as d:
        kube = _client(d, tmp_path)
        wide = kube.json("/apis/mlops.seldon.io/v1alpha1/models")
        assert wide["_status"] == 403
        assert wide["message"].startswith("models.mlops.seldon.io is forbidden")
        assert 'in API group "mlops.seldon.io" at the cluster scope' in wide["message"]
        per_ns = kube.json("/apis/mlops.seldon.io/v1alpha1/namespaces/app-a/models")
        assert [m["metadata"]["name"] for m in per_ns["items"]] == ["iris"]


def test_429_then_success_and_500s_by_request_index(tmp_path: Path) -> None:
    faults = [
        Fault(plural="models", status=429, times=2, retry_after=1),
        Fault(plural="pods", namespace="app-a", status=500, after=1, times=1),
    ]
    with KubeApiDouble(OBJECTS, faults=faults) as d:
        kube = _client(d, tmp_path)
        for _ in range(2):
            status, headers, data = kube.call("/apis/mlops.seldon.io/v1alpha1/models")
            assert status == 429 and headers["Retry-After"] == "1"
            assert json.loads(data)["reason"] == "TooManyRequests"
        assert kube.json("/apis/mlops.seldon.io/v1alpha1/models")["_status"] == 200

        statuses = [kube.json("/api/v1/namespaces/app-a/pods")["_status"] for _ in range(3)]
        assert statuses == [200, 500, 200]
        assert kube.json("/api/v1/namespaces/app-b/pods")["_status"] == 200
        assert [r.status for r in d.requests if r.resource == "models"] == [429, 429, 200]
        d.reset()
        assert d.requests == []
        assert kube.call("/apis/mlops.seldon.io/v1alpha1/models")[0] == 429


def test_truncated_body_is_cut_mid_json(tmp_path: Path) -> None:
    with KubeApiDouble(OBJECTS, truncate={"pods"}) as d:
        kube = _client(d, tmp_path)
        status, headers, data = kube.call("/api/v1/pods")
        assert status == 200 and int(headers["Content-Length"]) == len(data)
        assert data.startswith(b'{"kind":"PodList"')
        with pytest.raises(json.JSONDecodeError):
            json.loads(data)
        assert kube.json("/apis/mlops.seldon.io/v1alpha1/models")["_status"] == 200


def test_reset_closes_without_response(tmp_path: Path) -> None:
    with KubeApiDouble(OBJECTS, reset={("pods", "app-a")}) as d:
        kube = _client(d, tmp_path)
        with pytest.raises(urllib3.exceptions.ProtocolError):
            kube.call("/api/v1/namespaces/app-a/pods")
        assert kube.call("/api/v1/namespaces/app-b/pods")[0] == 200
        assert d.count("/api/v1/namespaces/app-a/pods", status=0) == 1


def test_hang_outlasts_the_client_and_stop_is_prompt(tmp_path: Path) -> None:
    d = KubeApiDouble(OBJECTS, hang={"pods"}).start()
    kube = _client(d, tmp_path)
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        kube.call("/api/v1/pods", timeout=0.2)
    outcome: list[BaseException | int] = []

    def hang() -> None:
        try:
            outcome.append(kube.call("/api/v1/pods")[0])
        except Exception as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=hang)
    waiter.start()
    time.sleep(0.1)
    started = time.monotonic()
    d.stop()
    waiter.join(timeout=5)
    assert time.monotonic() - started < 2 and not waiter.is_alive()
    assert outcome and isinstance(outcome[0], Exception)


def test_latency_does_not_serialise_requests(tmp_path: Path) -> None:
    with KubeApiDouble(OBJECTS, latency=0.2) as d:
        kube = _client(d, tmp_path)
        threads = [
            threading.Thread(target=kube.call, args=("/api/v1/namespaces/app-a/pods",))
            for _ in range(8)
        ]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        assert 0.2 <= elapsed < 0.2 * 8 / 2
        assert d.count(status=200) == 8


def test_writes_get_405_and_are_recorded(double: KubeApiDouble, kube: Client) -> None:
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        request = kube.api.param_serialize(
            method,
            "/api/v1/namespaces/app-a/pods/p1",
            body={},
            header_params={"Content-Type": "application/json"},
            auth_settings=["BearerToken"],
        )
        response = kube.api.call_api(*request)
        response.read()
        assert response.status == 405
    assert double.count(verb="write") == 4 and double.count(method="GET") == 0
    assert {r.method for r in double.requests} == {"POST", "PUT", "PATCH", "DELETE"}


def test_pod_logs(tmp_path: Path) -> None:
    logs: dict[LogKey, str] = {
        ("app-a", "p1", "main"): "one\ntwo\nthree\n",
        ("app-a", "multi", "agent"): "agent says hi\n",
    }
    with KubeApiDouble(OBJECTS, logs=logs) as d:
        kube = _client(d, tmp_path)
        status, headers, data = kube.call(
            "/api/v1/namespaces/app-a/pods/p1/log", [("tailLines", 2)]
        )
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        assert data == b"two\nthree\n"
        assert kube.call("/api/v1/namespaces/app-a/pods/p1/log")[2] == b"one\ntwo\nthree\n"
        assert kube.call("/api/v1/namespaces/app-a/pods/p2/log")[:1] == (200,)
        query = [("container", "agent"), ("sinceSeconds", 60)]
        assert kube.call("/api/v1/namespaces/app-a/pods/multi/log", query)[2] == b"agent says hi\n"
        status, _, data = kube.call("/api/v1/namespaces/app-a/pods/multi/log")
        assert status == 400 and b"choose one of: [server agent]" in data
        assert kube.call("/api/v1/namespaces/app-a/pods/gone/log")[0] == 404
        assert d.count(verb="log", resource="pods/log") == 6


def test_secrets_are_served_and_counted(double: KubeApiDouble, kube: Client) -> None:
    assert [s["metadata"]["name"] for s in kube.json("/api/v1/secrets")["items"]] == ["s"]
    assert double.count(resource="secrets") == 1


def test_typed_call_with_raw_response(kube: Client) -> None:
    pods = client.CoreV1Api(kube.api)
    raw = cast(Any, pods.list_namespaced_pod("app-b", _preload_content=False))
    assert json.loads(raw.data)["kind"] == "PodList"


def test_from_paths_loads_only_kubernetes_objects(tmp_path: Path) -> None:
    with KubeApiDouble.from_paths([SCENARIO]) as d:
        assert d.unserved == []
        kube = _client(d, tmp_path)
        runtimes = kube.json("/apis/mlops.seldon.io/v1alpha1/seldonruntimes")["items"]
        assert [(r["metadata"]["namespace"], r["metadata"]["name"]) for r in runtimes] == [
            ("seldon-mesh", "seldon")
        ]
        namespaces = {n["metadata"]["name"] for n in kube.json("/api/v1/namespaces")["items"]}
        assert {"app-a", "app-b", "seldon-mesh"} <= namespaces


# ---- port-forward (the WebSocket protocol of kubernetes.stream.portforward) ---------------


@pytest.fixture
def echo_server() -> Iterator[int]:
    """A TCP echo server on 127.0.0.1 (one thread per connection); yields its port."""
    import socket

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)

    def serve(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        listener.close()


def _forward(kube: Client, pod: str, ports: str, ns: str = "app-a") -> Any:
    from kubernetes.stream import portforward

    core = client.CoreV1Api(kube.api)
    return portforward(core.connect_get_namespaced_pod_portforward, pod, ns, ports=ports)


def _recv_exactly(sock: Any, size: int) -> bytes:
    got = b""
    while len(got) < size:
        chunk = sock.recv(1 << 20)
        if not chunk:
            break
        got += chunk
    return got


def test_portforward_relays_both_ways_to_a_local_server(echo_server: int, tmp_path: Path) -> None:
    forwards = {("app-a", "p0", 9901): ("127.0.0.1", echo_server)}
    with KubeApiDouble(OBJECTS, port_forwards=forwards) as d:
        kube = _client(d, tmp_path)
        forward = _forward(kube, "p0", "9901")
        sock = forward.socket(9901)
        sock.settimeout(5)
        sock.sendall(b"hello")
        assert _recv_exactly(sock, 5) == b"hello"
        big = bytes(range(256)) * 1200  # 300 kB: many frames each way
        sock.sendall(big)
        assert _recv_exactly(sock, len(big)) == big
        forward.close()
        assert forward.error(9901) is None
        kube.close()
        (request,) = d.requests
        assert (request.method, request.verb, request.resource) == (
            "GET",
            "portforward",
            "pods/portforward",
        )
        assert request.path == "/api/v1/namespaces/app-a/pods/p0/portforward"
        assert request.query == {"ports": "9901"} and request.status == 101
        assert request.namespace == "app-a" and request.authorization == f"Bearer {d.token}"
        assert d.count(verb="portforward") == 1


def test_portforward_several_ports_and_an_unmapped_one(echo_server: int, tmp_path: Path) -> None:
    forwards = {
        ("app-a", "p1", 9004): ("127.0.0.1", echo_server),
        ("app-a", "p1", 9002): ("127.0.0.1", echo_server),
    }
    with KubeApiDouble(OBJECTS, port_forwards=forwards) as d:
        kube = _client(d, tmp_path)
        forward = _forward(kube, "p1", "9004,9002,9901")
        for port in (9004, 9002):
            sock = forward.socket(port)
            sock.settimeout(5)
            sock.sendall(f"port {port}".encode())
            assert _recv_exactly(sock, 9) == f"port {port}".encode()
        unmapped = forward.socket(9901)
        unmapped.settimeout(5)
        assert unmapped.recv(10) == b""  # the error channel closes it, as kubelet's refusal does
        error = forward.error(9901)
        assert error is not None and "error forwarding port 9901 to pod p1" in error
        assert "connection refused" in error
        forward.close()
        kube.close()


def test_portforward_unknown_pod_404_forbidden_403_no_token_401(tmp_path: Path) -> None:
    from kubernetes.client.rest import ApiException

    with KubeApiDouble(OBJECTS, forbidden=[("pods/portforward", "app-b")]) as d:
        kube = _client(d, tmp_path)
        with pytest.raises(ApiException, match="404"):
            _forward(kube, "nope", "9901")
        with pytest.raises(ApiException, match="403"):
            _forward(kube, "p0", "9901", ns="app-b")
        kube.close()
        statuses = [(r.verb, r.resource, r.status) for r in d.requests]
        assert statuses == [
            ("portforward", "pods/portforward", 404),
            ("portforward", "pods/portforward", 403),
        ]
        # A plain GET (no Upgrade) of the subresource is refused, and so is a missing token.
        request = urllib.request.Request(
            d.url + "/api/v1/namespaces/app-a/pods/p0/portforward?ports=9901",
            headers={"Authorization": f"Bearer {d.token}"},
        )
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, timeout=5)
        assert err.value.code == 400
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(
                d.url + "/api/v1/namespaces/app-a/pods/p0/portforward", timeout=5
            )
        assert err.value.code == 401


def test_portforward_ends_when_the_upstream_closes_and_stop_is_prompt(tmp_path: Path) -> None:
    import socket

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def greet_and_close() -> None:
        conn, _ = listener.accept()
        conn.sendall(b"bye")
        conn.close()

    threading.Thread(target=greet_and_close, daemon=True).start()
    port = int(listener.getsockname()[1])
    # 81: accepted by the listener's backlog and never answered.
    forwards = {("app-a", "p0", 80): ("127.0.0.1", port), ("app-a", "p0", 81): ("127.0.0.1", port)}
    d = KubeApiDouble(OBJECTS, port_forwards=forwards).start()
    try:
        kube = _client(d, tmp_path)
        forward = _forward(kube, "p0", "80")
        sock = forward.socket(80)
        sock.settimeout(5)
        assert _recv_exactly(sock, 10) == b"bye"  # then EOF: the WebSocket was closed
        # A stream left open does not keep stop() waiting.
        idle = _forward(kube, "p0", "81")
        assert d.count(verb="portforward", status=101) == 2
        started = time.monotonic()
    finally:
        d.stop()
        listener.close()
    assert time.monotonic() - started < 3
    idle.close()
    kube.close()
