"""The demo data plane: the test harness's real Envoy and MLServer, up for a bounded time.

    python -m tests.dataplane.demo [--seconds 300]

Everything listens on 127.0.0.1: the xDS server (plays the scheduler), Envoy (listener
``seldon_http``), the agent proxy and MLServer with models ``iris_1``, ``iris2_1`` and ``slow_1``
(150 ms per request). Routes: Models ``iris``, ``iris2``, ``slow`` and Experiment ``ab-test``
(70 % iris / 30 % iris2). It prints the endpoint and stops by itself after ``--seconds`` (or on
Ctrl-C), stopping every process it started. Needs ``scripts/setup-dataplane.sh``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from tests.dataplane.conftest import (
    INTERNAL_MODEL,
    MODEL,
    NODE_ID,
    SECOND_INTERNAL,
    SECOND_MODEL,
    SLOW_DELAY_MS,
    SLOW_INTERNAL,
    SLOW_MODEL,
)
from tests.dataplane.procs import (
    AgentProxy,
    EnvoyProcess,
    MLServerProcess,
    find_envoy,
    find_mlserver,
    free_port,
    wait_until,
)
from tests.dataplane.xds_server import XdsTestServer, seldon_resources

EXPERIMENT = "ab-test"
MAX_SECONDS = 3600


def resources(listener_port: int, upstream_port: int) -> dict[str, list[dict[str, object]]]:
    return seldon_resources(
        listener_port=listener_port,
        upstream_port=upstream_port,
        models={
            MODEL: {INTERNAL_MODEL: 100},
            SECOND_MODEL: {SECOND_INTERNAL: 100},
            SLOW_MODEL: {SLOW_INTERNAL: 100},
            f"{EXPERIMENT}.experiment": {INTERNAL_MODEL: 70, SECOND_INTERNAL: 30},
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="lifetime (max 3600)")
    args = parser.parse_args(argv)
    seconds = min(max(args.seconds, 1.0), MAX_SECONDS)
    envoy_binary, mlserver_binary = find_envoy(), find_mlserver()
    if envoy_binary is None or mlserver_binary is None:
        print("demo: Envoy or MLServer missing; run scripts/setup-dataplane.sh", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="seldon-doctor-demo-"))
    listener_port = free_port()
    proxy = AgentProxy().start()
    xds = XdsTestServer()
    mlserver = MLServerProcess(
        mlserver_binary,
        workdir / "mlserver",
        model_names=[INTERNAL_MODEL, SECOND_INTERNAL, SLOW_INTERNAL],
        delays_ms={SLOW_INTERNAL: SLOW_DELAY_MS},
    )
    envoy: EnvoyProcess | None = None
    try:
        xds.replace(resources(listener_port, proxy.port))
        xds.start()
        mlserver.start_and_wait(timeout=90.0)
        proxy.upstream_port = mlserver.http_port
        envoy = EnvoyProcess(envoy_binary, workdir / "envoy", node_id=NODE_ID, xds_port=xds.port)
        envoy.start_and_wait(timeout=20.0)
        wait_until(lambda: envoy.ready_state() == "LIVE", timeout=20.0, what="Envoy LIVE")
        xds.wait_acked(timeout=10.0)
        endpoint = f"http://127.0.0.1:{listener_port}"
        print(f"demo data plane up for {seconds:g} s: endpoint {endpoint}", flush=True)
        print(
            f"  seldon-doctor probe {EXPERIMENT} --kind experiment --endpoint {endpoint} "
            f"--weights {MODEL}=70,{SECOND_MODEL}=30 --requests 200\n"
            f"  seldon-doctor probe {SLOW_MODEL} --endpoint {endpoint} --slo-p95 100ms",
            flush=True,
        )
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            dead = envoy.dead() or mlserver.dead()
            if dead:
                print(f"demo: {dead}", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        pass
    finally:
        if envoy is not None:
            envoy.stop()
        mlserver.stop()
        xds.stop()
        proxy.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
