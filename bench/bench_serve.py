"""Memory of ``seldon-doctor serve`` over 100 scan cycles of the demo (issue 18).

Runs the exporter's own parts in this process, back to back without the interval's wait: the
scan job (``app.scan.run_scan`` into the exporter state), then what a scrape and a reader do
after each scan (``/metrics`` through the exporter's registry, ``/report.json`` and
``/report.html`` rendered). Prints the resident set size after cycles 1, 10, 50 and 100 and the
growth after warm-up (cycle 10 to 100). Target: flat, i.e. at most 5 % or 10 MiB.

``--live`` scans a cluster instead of the demo: the test suite's Kubernetes API server double
(tests/kube_api_double.py, plain HTTP on 127.0.0.1) serving fixtures/clusters/capability-mismatch,
read through the real ``kubernetes`` client. A live read pauses the cyclic GC and freezes what it
decoded (issue 17), so this is the form that would show a leak across scans if a later read did
not unfreeze and collect first.

    python bench/bench_serve.py [--cycles 100] [--live]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MIB = 1024 * 1024


def rss_bytes() -> int:
    """The current resident set size (not the peak: growth is what a leak shows)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--live", action="store_true", help="scan the API server double")
    args = parser.parse_args()
    if args.live:
        import tempfile

        from tests.kube_api_double import KubeApiDouble, write_kubeconfig

        root = Path(__file__).resolve().parent.parent
        double = KubeApiDouble.from_paths(
            [root / "fixtures" / "clusters" / "capability-mismatch"], name="bench"
        )
        double.start()
        workdir = tempfile.TemporaryDirectory()
        kubeconfig = str(write_kubeconfig(Path(workdir.name) / "kubeconfig", double))
        try:
            # The double records every request it serves; that list is the double's memory, not
            # the exporter's, so it is emptied between cycles.
            measure(args.cycles, kubeconfig, double._requests.clear)
        finally:
            double.stop()
            workdir.cleanup()
    else:
        measure(args.cycles, None)


def measure(cycles: int, kubeconfig: str | None, between: Callable[[], None] | None = None) -> None:
    """Run ``cycles`` scans (the demo, or the cluster of ``kubeconfig``) and print the RSS."""

    from prometheus_client import generate_latest

    from seldon_doctor.app.scan import ScanRequest
    from seldon_doctor.serve.collector import exporter_registry
    from seldon_doctor.serve.job import ScanJob
    from seldon_doctor.serve.state import ExporterState

    what = "live (API server double)" if kubeconfig else "demo"
    state = ExporterState("bench" if kubeconfig else "demo", 300.0)
    registry = exporter_registry(state)
    logs: list[str] = []
    job = ScanJob(
        ScanRequest(kubeconfig=kubeconfig, timeout=10.0) if kubeconfig else ScanRequest(demo=True),
        state,
        logs.append,
    )
    marks = {1, 10, 50, cycles}
    rss: dict[int, int] = {}
    started = time.monotonic()
    for cycle in range(1, cycles + 1):
        job()
        assert state.ready, logs[-1]
        generate_latest(registry)
        state.rendered("json")
        state.rendered("html")
        logs.clear()
        if between is not None:
            between()
        if cycle in marks:
            gc.collect()
            rss[cycle] = rss_bytes()
    elapsed = time.monotonic() - started
    load = os.getloadavg()[0]
    print(f"serve memory over {cycles} {what} scan cycles (load average {load:.2f})")
    for cycle in sorted(rss):
        print(f"  RSS after cycle {cycle:>3}: {rss[cycle] / MIB:7.1f} MiB")
    warm, last = rss[10 if cycles >= 10 else 1], rss[cycles]
    growth = last - warm
    share = growth / warm * 100
    flat = growth <= 10 * MIB or share <= 5
    print(
        f"  growth after warm-up (cycle 10 -> {cycles}): {growth / MIB:+.1f} MiB "
        f"({share:+.1f} %) (target <= 5 % or <= 10 MiB: {'ok' if flat else 'MISSED'})"
    )
    print(f"  {elapsed:.1f} s, {elapsed / cycles * 1000:.0f} ms a cycle")


if __name__ == "__main__":
    main()
