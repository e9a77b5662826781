"""The exporter's endpoints on a stdlib ``ThreadingHTTPServer`` (read-only: GET and HEAD).

``/metrics`` (Prometheus text), ``/healthz`` (the process and its scan thread are alive),
``/readyz`` (a good scan happened and the latest one succeeded), ``/report.json`` and
``/report.html`` (the last good report, by the renderers ``scan -o`` uses); 404 otherwise.
"""

from __future__ import annotations

import http.server
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from seldon_doctor.serve.state import ExporterState

TEXT = "text/plain; charset=utf-8"
REPORTS = {
    "/report.json": ("json", "application/json; charset=utf-8"),
    "/report.html": ("html", "text/html; charset=utf-8"),
}


class ExporterServer(http.server.ThreadingHTTPServer):
    daemon_threads = True  # a slow client must not hold up shutdown

    def __init__(
        self,
        address: tuple[str, int],
        state: ExporterState,
        registry: CollectorRegistry,
        scanning: Callable[[], bool],
    ) -> None:
        self.state = state
        self.registry = registry
        self.scanning = scanning  # is the scan thread alive?
        super().__init__(address, _Handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: ExporterServer
    server_version = "seldon-doctor"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """No line per request: a scrape every 15 s would bury the one line per scan."""

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def do_GET(self) -> None:
        self._answer(head=False)

    def _answer(self, *, head: bool) -> None:
        path = self.path.split("?", 1)[0]
        try:
            status, content_type, body = self._route(path)
        except Exception as exc:  # a bug in one answer must not reach the server's traceback
            status, content_type = 500, TEXT
            body = f"internal error: {type(exc).__name__}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _route(self, path: str) -> tuple[int, str, bytes]:
        state = self.server.state
        if path == "/metrics":
            from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

            return 200, CONTENT_TYPE_LATEST, generate_latest(self.server.registry)
        if path == "/healthz":
            if self.server.scanning():
                return 200, TEXT, b"ok\n"
            return 503, TEXT, b"the scan thread has stopped\n"
        if path == "/readyz":
            if state.ready:
                return 200, TEXT, b"ready\n"
            why = "no good scan yet" if state.last_good() is None else "the last scan failed"
            return 503, TEXT, f"not ready: {why}\n".encode()
        if path in REPORTS:
            fmt, content_type = REPORTS[path]
            text = state.rendered(fmt)
            if text is None:
                return 503, TEXT, b"no report yet: the first scan has not finished\n"
            return 200, content_type, text.encode("utf-8")
        if path == "/":
            links = "\n".join(["/metrics", "/healthz", "/readyz", *REPORTS])
            return 200, TEXT, f"seldon-doctor exporter\n{links}\n".encode()
        return 404, TEXT, b"not found\n"
