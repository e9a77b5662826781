"""``seldon-doctor serve`` as a real subprocess on loopback, and the real Prometheus binaries.

The exporter listens on ``--port 0`` and names its port in its first stderr line, so no port is
guessed; every wait is bounded; every process is stopped in ``finally`` (terminate, then kill).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.dataplane.procs import LOOPBACK, free_port, wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
NEEDS_PROMETHEUS = "needs prometheus (scripts/setup-monitoring.sh)"
_SERVING = re.compile(r"serving http://[\d.]+:(\d+)/metrics")
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    """Status and body of a GET (an HTTP error status is an answer, not an exception)."""
    try:
        with _NO_PROXY.open(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8")


class Exporter:
    """A running ``seldon-doctor serve``: its port, its stderr lines, GETs, and stop()."""

    def __init__(self, args: Sequence[str], env: dict[str, str] | None = None) -> None:
        command = [sys.executable, "-m", "seldon_doctor", "serve", "--host", LOOPBACK]
        command += ["--port", "0", *args]
        self.process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.port = int(
            wait_until(
                lambda: next((m[1] for m in map(_SERVING.search, self.lines) if m), None),
                timeout=20,
                what="the exporter's serving line",
                alive=self._dead,
            )
        )

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def _dead(self) -> str | None:
        code = self.process.poll()
        return None if code is None else f"exited {code}: {self.lines[-5:]}"

    def get(self, path: str) -> tuple[int, str]:
        return http_get(f"http://{LOOPBACK}:{self.port}{path}")

    def wait_for_line(self, pattern: str, *, after: int = 0, timeout: float = 20) -> str:
        regex = re.compile(pattern)
        return wait_until(
            lambda: next((line for line in self.lines[after:] if regex.search(line)), None),
            timeout=timeout,
            what=f"a log line matching {pattern!r}",
            alive=self._dead,
        )

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM, and the exit code (killing it if it does not exit within ``timeout``)."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
            raise
        finally:
            self._reader.join(timeout=5)


@contextlib.contextmanager
def exporter(*args: str, env: dict[str, str] | None = None) -> Iterator[Exporter]:
    running = Exporter(args, env)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(timeout=5)


def binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        pytest.skip(NEEDS_PROMETHEUS)
    return path


@contextlib.contextmanager
def daemon(command: Sequence[str], ready_url: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A Prometheus/Pushgateway process, ready when ``ready_url`` answers 200."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            list(command), stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:

        def dead() -> str | None:
            code = process.poll()
            return None if code is None else f"exited {code}: {log.read_text()[-800:]}"

        wait_until(
            lambda: http_get(ready_url, timeout=1)[0] == 200,
            timeout=20,
            what=ready_url,
            alive=dead,
        )
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextlib.contextmanager
def pushgateway(tmp_path: Path) -> Iterator[str]:
    """A real Pushgateway on loopback; yields its base URL. Debian's build persists to
    /var/lib/prometheus/pushgateway.data by default: each test gets its own file instead."""
    url = f"http://{LOOPBACK}:{free_port()}"
    command = [
        binary("prometheus-pushgateway"),
        f"--web.listen-address={url[7:]}",
        f"--persistence.file={tmp_path / 'pushgateway.data'}",
    ]
    with daemon(command, f"{url}/-/ready", tmp_path / "pushgateway.log"):
        yield url


@contextlib.contextmanager
def prometheus(tmp_path: Path, target_port: int) -> Iterator[str]:
    """A real Prometheus scraping ``127.0.0.1:target_port`` every second; yields its base URL."""
    url = f"http://{LOOPBACK}:{free_port()}"
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: seldon-doctor\n"
        f"    static_configs: [{{targets: ['{LOOPBACK}:{target_port}']}}]\n"
    )
    command = [
        binary("prometheus"),
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address={url[7:]}",
    ]
    with daemon(command, f"{url}/-/ready", tmp_path / "prometheus.log"):
        yield url
