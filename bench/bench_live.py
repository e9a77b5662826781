"""Live-scan benchmark: a 1,000-namespace estate behind the API server double, 20 ms per request.

Prints the request count (by verb), pages, objects read and wall time of a full live scan
(``seldon-doctor scan --kubeconfig K -o json``, in a subprocess, so start-up and the real
``kubernetes`` client are included), against the target of the live-cluster issue: under 5 s.

    python bench/bench_live.py [--namespaces 1000] [--latency 0.02] [--runs 3]

The double (tests/kube_api_double.py) serves the estate that bench/make_estate.py generates,
over plain HTTP on 127.0.0.1, with ``latency`` seconds added to every request; requests run
in parallel threads there, as a real API server's would.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 5.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--namespaces", type=int, default=1000)
    parser.add_argument("--models", type=int, default=5000)
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per request")
    parser.add_argument("--runs", type=int, default=3, help="best of N scans")
    args = parser.parse_args()

    from seldon_doctor.sources.files import load_paths
    from tests.kube_api_double import KubeApiDouble, write_kubeconfig

    with tempfile.TemporaryDirectory(prefix="seldon-doctor-bench-live-") as work:
        out = Path(work) / "estate"
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "make_estate.py"),
                str(out),
                "--namespaces",
                str(args.namespaces),
                "--models",
                str(args.models),
                "--servers",
                str(args.servers),
                "--server-replicas",
                "1",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        objects = [o.body for o in load_paths([str(out / "manifests")]).objects]
        double = KubeApiDouble(objects, name="estate", latency=args.latency).start()
        try:
            kubeconfig = write_kubeconfig(Path(work) / "kubeconfig", double)
            argv = [
                sys.executable,
                "-m",
                "seldon_doctor",
                "scan",
                "--kubeconfig",
                str(kubeconfig),
                "--quiet",
                "-o",
                "json",
                "--timeout",
                "120",
            ]
            best = math.inf
            counts: Counter[str] = Counter()
            for _ in range(args.runs):
                double.reset()
                started = time.perf_counter()
                result = subprocess.run(
                    argv,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                    check=False,
                    env={**os.environ, "PYTHONPATH": str(ROOT)},
                )
                elapsed = time.perf_counter() - started
                if result.returncode not in (0, 1):
                    print(result.stderr, file=sys.stderr)
                    raise SystemExit(f"scan exited {result.returncode}")
                if elapsed < best:
                    best = elapsed
                    counts = Counter(r.verb for r in double.requests)
            lists = [r for r in double.requests if r.verb == "list"]
        finally:
            double.stop()

    kinds = len({r.resource for r in lists})
    pages = len(lists)
    verdict = "ok" if best <= TARGET_SECONDS else "NOT MET"
    print(
        f"live scan of {args.namespaces} namespaces, {len(objects)} objects, "
        f"{args.latency * 1000:.0f} ms injected per request (load average "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)"
    )
    print(
        f"  requests: {sum(counts.values())} "
        f"({', '.join(f'{v} {k}' for k, v in sorted(counts.items()))})"
    )
    print(
        f"  LIST pages: {pages} over {kinds} kinds (no per-namespace requests: "
        f"{not any(r.namespace for r in lists)})"
    )
    print(
        f"  wall time, best of {args.runs}: {best:.2f} s "
        f"(target < {TARGET_SECONDS:.0f} s: {verdict})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
