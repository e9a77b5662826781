"""``seldon-doctor serve`` wired together: the state, the scan thread, the HTTP server, signals.

SIGTERM/SIGINT stop scheduling, close the listening socket and give a scan in progress
``grace`` seconds to finish; one still running after that is abandoned (its thread is a daemon:
a live read can take its whole ``--timeout``, more than a pod's termination grace). Exit 0.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from seldon_doctor.errors import InputError
from seldon_doctor.serve.collector import exporter_registry
from seldon_doctor.serve.endpoints import ExporterServer
from seldon_doctor.serve.job import ScanJob
from seldon_doctor.serve.schedule import Scheduler
from seldon_doctor.serve.state import ExporterState

if TYPE_CHECKING:
    from seldon_doctor.app.request import ScanRequest

DEFAULT_PORT = 9469  # the exporter's default (issue 18); --port picks another
GRACE = 10.0


@dataclass(slots=True)
class ServeConfig:
    """The exporter's settings: what each scan is, its cluster label, when, and where to listen."""

    request: ScanRequest
    cluster: str
    interval: float
    host: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    grace: float = GRACE


def run_exporter(
    config: ServeConfig,
    log: Callable[[str], None],
    stop: threading.Event | None = None,
) -> int:
    """Serve until SIGTERM/SIGINT (or ``stop`` is set); returns the exit code (0)."""
    stop = stop or threading.Event()
    state = ExporterState(config.cluster, config.interval)
    job = ScanJob(config.request, state, log)
    scheduler = Scheduler(config.interval, job, stop=stop)
    worker = threading.Thread(target=scheduler.run, name="seldon-doctor-scan", daemon=True)
    try:
        server = ExporterServer(
            (config.host, config.port), state, exporter_registry(state), worker.is_alive
        )
    except OSError as exc:
        raise InputError(
            f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}"
        ) from None
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    http_thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="seldon-doctor-http"
    )
    worker.start()
    http_thread.start()
    host, port = server.server_address[:2]
    log(
        f"serving http://{host!s}:{port}/metrics (cluster {config.cluster}, a scan every "
        f"{config.interval:g}s)"
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        http_thread.join(timeout=config.grace)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    worker.join(timeout=config.grace)
    log("stopped" if not worker.is_alive() else "stopped (the scan in progress was abandoned)")
    return 0
