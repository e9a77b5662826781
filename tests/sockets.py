"""Loopback sockets for the network failure tests and benchmarks: a server that never answers."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType


class SilentServer:
    """Accepts connections on 127.0.0.1 and never answers (a hung API server, Envoy admin or
    scheduler); records when each connection was accepted, so a test can prove reads overlapped
    without a stopwatch."""

    def __init__(self, backlog: int = 256) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(backlog)
        self.server.settimeout(0.1)
        self.port = int(self.server.getsockname()[1])
        self.accepted: list[float] = []
        self._conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            self.accepted.append(time.monotonic())
            self._conns.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self._conns:
            conn.close()
        self.server.close()

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
