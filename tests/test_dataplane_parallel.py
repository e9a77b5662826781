"""Data-plane reads of N namespaces run in parallel, and a refused one fails at once (issue 16).

Real sockets throughout: closed ports (connection refused), a listener that accepts and never
answers, and the API server double's ``pods/portforward`` to pods where nothing listens.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seldon_doctor.cli import main
from seldon_doctor.snapshot import Snapshot
from seldon_doctor.sources.dataplane import DATAPLANE_WORKERS, DataplaneInputs, collect_dataplane
from tests.dataplane.procs import free_port
from tests.kube_api_double import KubeApiDouble, ready_pod, write_kubeconfig
from tests.sockets import SilentServer

N = 5


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    with SilentServer() as server:
        yield server


def test_refused_endpoints_fail_at_once_not_after_the_timeout() -> None:
    timeout = 5.0
    port = free_port()  # nothing listens: connecting is refused
    inputs = DataplaneInputs(
        envoy_admin=[f"ns{i}=http://127.0.0.1:{port}" for i in range(N)],
        schedulers=[f"ns{i}=127.0.0.1:{port}" for i in range(N)],
        scheduler_xds=[f"ns{i}=127.0.0.1:{port}" for i in range(N)],
        timeout=timeout,
    )
    started = time.monotonic()
    snapshot = collect_dataplane(Snapshot(), inputs)
    elapsed = time.monotonic() - started
    gaps = {g.what: g.reason for g in snapshot.gaps}
    expected = {f"{w}:ns{i}" for w in ("envoy", "scheduler", "scheduler-xds") for i in range(N)}
    assert set(gaps) == expected
    assert all("refused" in reason for reason in gaps.values()), gaps
    # Before: each scheduler and xDS read waited its whole timeout, 2 * N * 5 s = 50 s.
    assert elapsed < timeout, elapsed
    # Gaps keep the order of the options, whichever read finished first.
    assert [g.what for g in snapshot.gaps] == [
        f"{w}:ns{i}" for w in ("envoy", "scheduler", "scheduler-xds") for i in range(N)
    ]


def test_silent_endpoints_are_waited_for_together(silent: SilentServer) -> None:
    timeout = 2.0
    half = DATAPLANE_WORKERS // 2  # one pool's worth of reads: all start at once
    inputs = DataplaneInputs(
        envoy_admin=[f"ns{i}=http://127.0.0.1:{silent.port}" for i in range(half)],
        schedulers=[f"ns{i}=127.0.0.1:{silent.port}" for i in range(half)],
        timeout=timeout,
    )
    snapshot = collect_dataplane(Snapshot(), inputs)
    reasons = [g.reason for g in snapshot.gaps]
    assert len(reasons) == 2 * half
    assert all(f"within {timeout:g}s" in r for r in reasons), reasons
    # Overlap, not a stopwatch: one connection per Envoy read, one or more per scheduler read
    # (the reachability check, then gRPC's); read one after the other, the first connections
    # of the reads would lie at least a timeout apart each.
    assert len(silent.accepted) >= 2 * half
    first = sorted(silent.accepted)[: 2 * half]
    assert first[-1] - first[0] < timeout, [round(t - first[0], 2) for t in first]


def test_pods_whose_ports_refuse_cost_far_less_than_n_timeouts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through the double's port-forward, nothing listens in any pod (kubelet's error)."""
    timeout = 3.0
    objects: list[dict[str, Any]] = []
    for i in range(N):
        ns = f"app-{i}"
        objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        objects.append(ready_pod("seldon-envoy-0", ns, "seldon-envoy"))
        objects.append(ready_pod("seldon-scheduler-0", ns, "seldon-scheduler"))
    with KubeApiDouble(objects, port_forwards={}) as double:
        kubeconfig = str(write_kubeconfig(tmp_path / "kubeconfig", double))
        started = time.monotonic()
        with pytest.raises(SystemExit) as exit_:
            main(
                [
                    "scan",
                    "--kubeconfig",
                    kubeconfig,
                    "--dataplane",
                    "--dataplane-timeout",
                    str(timeout),
                    "--select",
                    "SD601,SD606,SD607",
                    "-o",
                    "json",
                    "-q",
                ]
            )
        elapsed = time.monotonic() - started
    report = json.loads(capsys.readouterr().out)
    gaps = {g["what"]: g["reason"] for g in report["gaps"]}
    expected = {f"{w}:app-{i}" for w in ("envoy", "scheduler", "scheduler-xds") for i in range(N)}
    assert expected <= set(gaps), gaps
    assert all("pod seldon-" in gaps[w] and "port-forward" in gaps[w] for w in expected), gaps
    assert exit_.value.code == 3
    # Before: 2 gRPC reads per namespace waited the whole timeout: 2 * N * 3 s = 30 s.
    assert elapsed < N * timeout * 0.6, elapsed
