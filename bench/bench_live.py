"""Live benchmark (issue 17 target 4, issue 16): a 1,000-namespace scan and the data-plane reads.

Prints, under a header with the load average, one line per figure
(``  <figure>: <measured> (target <target>: ok|MISSED)``):

* a full live scan (``seldon-doctor scan --kubeconfig K -o json``, a fresh process: start-up,
  the real ``kubernetes`` client, discovery, every LIST, graph and checks) of a 1,000-namespace
  estate behind the API server double with 20 ms per request, serving the upstream Seldon CRDs
  with their schemas as a real cluster does (from ../shared/data/seldon/crds), best of N:
  target <= 3 s; with
  the request count and, from one profiled run, the share of reading, graph and checks;
* ``scan --dataplane`` of N namespaces whose Envoy and scheduler pods (reached through the
  double's ``pods/portforward``) accept and never answer: the data-plane reads' extra wall time
  over the same scan without ``--dataplane``, target about one ``--dataplane-timeout`` (not N);
* the same with nothing listening in the pods (kubelet's "connection refused"): target far
  below one timeout;
* ``trace MODEL -n app-a`` of fixtures/clusters/central-scheduler-healthy with the pods' ports
  closed (issue 16 measured 23.8 s for exit 3): target under one ``--dataplane-timeout`` (5 s).

    python bench/bench_live.py [--namespaces 1000] [--latency 0.02] [--runs 3]

The double (tests/kube_api_double.py) serves over plain HTTP on 127.0.0.1 from this process,
with ``latency`` seconds added to every request; requests run in parallel threads there, as a
real API server's would.
"""

from __future__ import annotations

import argparse
import math
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 3.0
CRDS = ROOT.parent / "shared" / "data" / "seldon" / "crds"
DATAPLANE_TIMEOUT = 2.0
DATAPLANE_NAMESPACES = 10
TRACE_TIMEOUT = 5.0  # --dataplane-timeout's default
# Profile shares: (label, function name as pstats prints it, in its file).
PHASES = (
    ("reading (collect_live)", "live.py", "collect_live"),
    ("graph (build_graph)", "build.py", "build_graph"),
    ("checks (run_checks)", "engine.py", "run_checks"),
)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPATH": str(ROOT)}


def _doctor(argv: list[str], *, profile: str | None = None) -> tuple[float, int]:
    """Wall time and exit code of ``python -m seldon_doctor ARGV`` in a fresh process."""
    prefix = ["-m", "cProfile", "-o", profile] if profile else []
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, *prefix, "-m", "seldon_doctor", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        env=_env(),
    )
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1, 3):
        print(result.stderr, file=sys.stderr)
        raise SystemExit(f"{' '.join(argv[:2])} exited {result.returncode}")
    return elapsed, result.returncode


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def _shares(profile: str) -> str:
    stats: Any = pstats.Stats(profile)
    total = max(t[3] for t in stats.stats.values())  # the outermost call's cumulative time
    parts = []
    for label, filename, name in PHASES:
        cum = sum(
            t[3] for (f, _, n), t in stats.stats.items() if n == name and f.endswith(filename)
        )
        parts.append(f"{label} {100 * cum / total:.0f}%")
    return ", ".join(parts) + f" (of {total:.1f} s under cProfile; the rest: imports, render)"


def bench_scan(args: argparse.Namespace, work: Path) -> list[str]:
    from seldon_doctor.sources.files import load_paths
    from tests.kube_api_double import KubeApiDouble, write_kubeconfig

    out = work / "estate"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "make_estate.py"),
            str(out),
            *("--namespaces", str(args.namespaces), "--models", str(args.models)),
            *("--servers", str(args.servers), "--server-replicas", "1"),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    objects = [o.body for o in load_paths([str(out / "manifests")]).objects]
    # A real cluster serves the Seldon CRDs with their full schemas: SD003 validates every
    # custom resource against them and the graph trusts their shapes. Without ../shared the
    # double synthesizes CRDs without schemas, and the figure says so.
    crds = [o.body for o in load_paths([str(CRDS)]).objects] if CRDS.is_dir() else []
    double = KubeApiDouble([*objects, *crds], name="estate", latency=args.latency).start()
    try:
        kubeconfig = write_kubeconfig(work / "kubeconfig", double)
        argv = ["scan", "--kubeconfig", str(kubeconfig), "--quiet", "-o", "json"]
        argv += ["--timeout", "120"]
        best, counts = math.inf, Counter[str]()
        for _ in range(args.runs):
            double.reset()
            elapsed, _code = _doctor(argv)
            if elapsed < best:
                best, counts = elapsed, Counter(r.verb for r in double.requests)
        lists = [r for r in double.requests if r.verb == "list"]
        double.reset()
        _doctor(argv, profile=str(work / "scan.prof"))
    finally:
        double.stop()
    requests = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    return [
        f"  live scan of {args.namespaces} namespaces ({len(objects)} objects, "
        f"{f'the {len(crds)} upstream CRDs' if crds else 'CRDs without schemas: no ../shared'}, "
        f"{args.latency * 1000:.0f} ms per request), best of {args.runs}: {best:.2f} s "
        f"(target <= {TARGET_SECONDS:.0f} s: {_verdict(best <= TARGET_SECONDS)})",
        f"    requests: {sum(counts.values())} ({requests}); LIST pages: {len(lists)} over "
        f"{len({r.resource for r in lists})} kinds, per-namespace: "
        f"{sum(1 for r in lists if r.namespace)}",
        f"    profile shares: {_shares(str(work / 'scan.prof'))}",
    ]


def bench_dataplane(work: Path) -> list[str]:
    from tests.kube_api_double import KubeApiDouble, ready_pod, write_kubeconfig
    from tests.sockets import SilentServer

    n, timeout = DATAPLANE_NAMESPACES, DATAPLANE_TIMEOUT
    objects: list[dict[str, Any]] = []
    for i in range(n):
        ns = f"app-{i}"
        objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        objects.append(ready_pod("seldon-envoy-0", ns, "seldon-envoy"))
        objects.append(ready_pod("seldon-scheduler-0", ns, "seldon-scheduler"))
    silent = SilentServer()
    extra: dict[str, tuple[float, int]] = {}
    try:
        for case, forwards in (
            (
                "silent",
                {
                    (f"app-{i}", pod, port): ("127.0.0.1", silent.port)
                    for i in range(n)
                    for pod, port in (
                        ("seldon-envoy-0", 9901),
                        ("seldon-scheduler-0", 9004),
                        ("seldon-scheduler-0", 9002),
                    )
                },
            ),
            ("refused", {}),
        ):
            with KubeApiDouble(objects, port_forwards=forwards) as double:
                kubeconfig = str(write_kubeconfig(work / "kubeconfig-dp", double))
                base = ["scan", "--kubeconfig", kubeconfig, "--select", "SD601,SD606,SD607"]
                base += ["-o", "json", "-q"]
                without = min(_doctor(base)[0] for _ in range(2))
                dataplane = [*base, "--dataplane", "--dataplane-timeout", str(timeout)]
                with_dp, code = min(_doctor(dataplane) for _ in range(2))
            extra[case] = (with_dp - without, code)
    finally:
        silent.close()
    refused, refused_code = extra["refused"]
    waited = extra["silent"][0] - refused
    sequential = 2 * n * timeout  # the scheduler and xDS reads each waited their timeout
    return [
        f"  data-plane reads of {n} namespaces ({3 * n} reads), nothing listening in the pods: "
        f"+{refused:.2f} s over the scan without --dataplane, exit {refused_code} (imports, "
        f"{3 * n} port-forwards); one after the other >= {sequential:g} s (target <= "
        f"{0.2 * sequential:g} s, a fifth of that: {_verdict(refused <= 0.2 * sequential)})",
        f"  data-plane reads of {n} namespaces whose pods never answer, {timeout:g} s timeout: "
        f"{waited:.2f} s of waiting (their extra time minus the refused run's); one after the "
        f"other {3 * n * timeout:g} s (target about one timeout, <= {1.5 * timeout:g} s: "
        f"{_verdict(waited <= 1.5 * timeout)})",
    ]


def bench_trace(work: Path) -> list[str]:
    from seldon_doctor.sources.files import load_paths
    from tests.kube_api_double import KubeApiDouble, write_kubeconfig

    folder = ROOT / "fixtures" / "clusters" / "central-scheduler-healthy"
    objects = [o.body for o in load_paths([str(folder)]).objects if o.kind]
    with KubeApiDouble(objects, port_forwards={}) as double:
        kubeconfig = str(write_kubeconfig(work / "kubeconfig-trace", double))
        argv = ["trace", "fraud-score", "-n", "app-a", "--kubeconfig", kubeconfig, "-o", "json"]
        elapsed, code = min(_doctor(argv) for _ in range(2))
    return [
        f"  live trace fraud-score -n app-a, Envoy and scheduler ports closed (issue 16: 23.8 s): "
        f"{elapsed:.2f} s, exit {code} (target < {TRACE_TIMEOUT:g} s, one --dataplane-timeout: "
        f"{_verdict(elapsed < TRACE_TIMEOUT)})"
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--namespaces", type=int, default=1000)
    parser.add_argument("--models", type=int, default=5000)
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per request")
    parser.add_argument("--runs", type=int, default=3, help="best of N scans")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="seldon-doctor-bench-live-") as tmp:
        work = Path(tmp)
        lines = bench_scan(args, work) + bench_dataplane(work) + bench_trace(work)
    print(
        f"live (API server double in this process, fresh doctor process per run; load average "
        f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after, on {os.cpu_count()} CPUs)"
    )
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
