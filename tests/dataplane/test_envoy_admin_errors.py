"""envoy_admin never hangs and never leaks a traceback: every failure is one line."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from typing import ClassVar

import pytest

from seldon_doctor.clients import DataplaneUnavailable, envoy_admin
from tests.dataplane.procs import free_port


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, bytes]]] = {}

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/slow":
            self.send_response(200)
            self.send_header("content-length", "100000")
            self.end_headers()
            for _ in range(100):  # drip: each read succeeds, the whole never arrives in time
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.05)
            return
        status, body = self.routes.get(path, (404, b"not found"))
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def fake_admin() -> Iterator[str]:
    _Handler.routes = {}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2.0)


def test_connection_refused() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(DataplaneUnavailable, match="unreachable") as info:
        envoy_admin.fetch_config_dump(url, timeout=1.0)
    assert info.value.target == url
    assert "\n" not in info.value.reason


def test_silent_server_times_out() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        start = time.monotonic()
        with pytest.raises(DataplaneUnavailable, match=r"did not answer within 0\.5s"):
            envoy_admin.fetch_ready(f"127.0.0.1:{listener.getsockname()[1]}", timeout=0.5)
        assert time.monotonic() - start < 2.0
    finally:
        listener.close()


def test_dripping_server_is_cut_off_at_the_deadline(fake_admin: str) -> None:
    start = time.monotonic()
    with pytest.raises(DataplaneUnavailable, match="did not answer within"):
        envoy_admin.http_get(fake_admin, "/slow", timeout=0.5)
    assert time.monotonic() - start < 2.0


def test_ready_states(fake_admin: str) -> None:
    _Handler.routes["/ready"] = (503, b"PRE_INITIALIZING\n")
    assert envoy_admin.fetch_ready(fake_admin) == "PRE_INITIALIZING"
    _Handler.routes["/ready"] = (200, b"LIVE\n")
    assert envoy_admin.fetch_ready("http://" + fake_admin + "/") == "LIVE"


def test_bad_json_and_http_errors(fake_admin: str) -> None:
    _Handler.routes["/config_dump"] = (200, b"<html>not json</html>")
    with pytest.raises(DataplaneUnavailable, match="invalid JSON"):
        envoy_admin.fetch_config_dump(fake_admin)
    _Handler.routes["/config_dump"] = (200, b"[1, 2]")
    with pytest.raises(DataplaneUnavailable, match="not an object"):
        envoy_admin.fetch_config_dump(fake_admin)
    _Handler.routes["/config_dump"] = (403, b"forbidden\nsecond line")
    with pytest.raises(DataplaneUnavailable, match=r"HTTP 403: forbidden$"):
        envoy_admin.fetch_config_dump(fake_admin)


def test_size_cap(fake_admin: str) -> None:
    _Handler.routes["/config_dump"] = (200, b"{" + b" " * 5000 + b"}")
    with pytest.raises(DataplaneUnavailable, match="more than 1000 bytes"):
        envoy_admin.fetch_config_dump(fake_admin, max_bytes=1000)


def test_stats_parsing(fake_admin: str) -> None:
    _Handler.routes["/stats"] = (
        200,
        b"http.seldon_http.no_cluster: 2\nhttp.seldon_http.no_route: 7\n"
        b"cluster.x.upstream_rq_time: P0(nan,1) P25(nan,2)\n",
    )
    assert envoy_admin.fetch_route_counters(fake_admin) == {"no_cluster": 2, "no_route": 7}
    assert envoy_admin.parse_stats_text("a: 1\nbad line\nb: x\n") == {"a": 1}


@pytest.mark.parametrize("url", ["", "ftp://x", "http://"])
def test_invalid_urls(url: str) -> None:
    with pytest.raises(DataplaneUnavailable):
        envoy_admin.normalize_admin_url(url)


def test_module_import_is_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, seldon_doctor.clients.envoy_admin, seldon_doctor.clients.xds_client, "
        "seldon_doctor.clients.scheduler_api, seldon_doctor.clients.readiness, "
        "seldon_doctor.probe.runner, "
        "seldon_doctor.domain.xds_diff; "
        "heavy = [m for m in ('grpc', 'envoy_data_plane', 'google.protobuf', 'betterproto2') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
