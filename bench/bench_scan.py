"""Benchmark the offline scan on synthetic estates and print every figure with its target.

Not a timed unit test: run it by hand (or in a scheduled job) on the machine the figures are
for. Estates come from ``bench/make_estate.py`` (deterministic from ``--seed``); the scan runs
as the real CLI in a subprocess, so interpreter start-up, imports and rendering are counted.

Figures:
  (a) 10,000 Models / 1,000 Servers / 500 namespaces (~40,000 objects, YAML): ``scan -o json``
      wall time (best of N) and its ratio to PyYAML's C loader parsing the same files;
  (b) scaling at 1x, 2x, 4x, 8x of an eighth of that, with the fitted growth exponent;
  (c) peak memory (max RSS of the scan process) at 10,000 Models;
  (d) ``seldon-doctor --help`` and ``seldon-doctor checks`` start-up (best of N);
  (e) a 20,000-route Envoy config dump parsed (delegated to ``bench/bench_envoy_dump.py``).

Run from the repository root (about 3-4 minutes on 2 cores)::

    python bench/bench_scan.py
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_estate  # noqa: E402

FULL = {"namespaces": 500, "models": 10_000, "servers": 1_000}
FAULTS = "capability-typo=5,split-brain=3,missing-route=5,dangling-alias=2,replicas-2=2"
TARGETS = {
    "total": 10.0,
    "ratio": 1.5,
    "exponent": 1.1,
    "memory_mib": 1024.0,
    "startup_ms": 150.0,
    "dump_s": 2.0,
}


def _cli() -> list[str]:
    script = shutil.which("seldon-doctor")
    return [script] if script else [sys.executable, "-m", "seldon_doctor"]


def _verdict(ok: bool) -> str:
    return "ok" if ok else "NOT MET"


CPU: dict[str, float] = {}  # best child CPU seconds per command, for the shared-machine note


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time_run(argv: Sequence[str], runs: int) -> float:
    """Best wall time of ``runs`` runs (stdout discarded; exit 0/1/3 are all fine)."""
    best = math.inf
    key = " ".join(argv)
    for _ in range(runs):
        cpu_before = _child_cpu()
        started = time.perf_counter()
        result = subprocess.run(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False
        )
        elapsed = time.perf_counter() - started
        if result.returncode not in (0, 1, 3):
            raise SystemExit(f"{' '.join(argv[:4])} ... failed: {result.stderr.strip()}")
        best = min(best, elapsed)
        CPU[key] = min(CPU.get(key, math.inf), _child_cpu() - cpu_before)
    return best


def _cpu(argv: Sequence[str]) -> float:
    return CPU.get(" ".join(argv), math.nan)


def _peak_rss_mib(argv: Sequence[str]) -> float:
    """Max RSS of one run of ``argv``, measured by a wrapper process (RUSAGE_CHILDREN)."""
    wrapper = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=False)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper, *argv], capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip()) / 1024


def _yaml_parse_time(manifests: Path, runs: int) -> float:
    files = sorted(glob.glob(str(manifests / "**" / "*.yaml"), recursive=True))
    best = math.inf
    for _ in range(runs):
        started = time.perf_counter()
        for name in files:
            with open(name, "rb") as handle:
                for _document in yaml.load_all(handle.read(), Loader=yaml.CSafeLoader):
                    pass
        best = min(best, time.perf_counter() - started)
    return best


def _scan_argv(root: Path, dumps: bool = False) -> list[str]:
    argv = [*_cli(), "scan", "-f", str(root / "manifests"), "-o", "json", "-q"]
    if dumps:
        for path in sorted((root / "envoy").glob("*.config_dump.json")):
            argv += ["--envoy-config-dump", f"{path.name.split('.', 1)[0]}={path}"]
    return argv


def _fit_exponent(sizes: Sequence[float], times: Sequence[float]) -> float:
    xs = [math.log(s) for s in sizes]
    ys = [math.log(t) for t in times]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="best of N for the full scan")
    parser.add_argument("--startup-runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, help="keep estates here (default: a temp dir)")
    args = parser.parse_args(argv)
    bench_started = time.perf_counter()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="seldon-doctor-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"seldon-doctor benchmark ({sys.executable}, {work}; load average "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)"
    )
    try:
        # ------------------------------------------------------------ estates
        estates: dict[int, Path] = {}
        for factor in (1, 2, 4, 8):
            root = work / f"estate-{factor}x"
            if not (root / "faults.json").exists():
                make_estate.generate(
                    root,
                    namespaces=FULL["namespaces"] * factor // 8,
                    models=FULL["models"] * factor // 8,
                    servers=FULL["servers"] * factor // 8,
                    seed=args.seed,
                    faults=FAULTS if factor == 8 else "",
                )
            estates[factor] = root
        full = estates[8]
        manifest = json.loads((full / "faults.json").read_text())
        objects = manifest["objects"]
        size_mb = sum(p.stat().st_size for p in (full / "manifests").glob("*.yaml")) / 1e6
        print(
            f"estate: {objects} objects, {FULL['models']} Models, {FULL['servers']} Servers, "
            f"{FULL['namespaces']} namespaces, {size_mb:.1f} MB of YAML "
            f"(generated in {time.perf_counter() - bench_started:.1f} s)"
        )

        # ------------------------------------------------------------ (a)
        parse = _yaml_parse_time(full / "manifests", args.runs)
        scan = _time_run(_scan_argv(full), args.runs)
        ratio = scan / parse
        print(
            f"(a) full scan -o json, {objects} objects: {scan:.2f} s "
            f"(target <= {TARGETS['total']:.0f} s: {_verdict(scan <= TARGETS['total'])})"
        )
        print(f"    CPU time of that scan (user+sys, best run): {_cpu(_scan_argv(full)):.2f} s")
        print(f"    yaml.load_all(CSafeLoader) of the same files: {parse:.2f} s")
        print(
            f"    ratio scan / parse: {ratio:.2f} "
            f"(target <= {TARGETS['ratio']}: {_verdict(ratio <= TARGETS['ratio'])})"
        )
        with_dumps = _time_run(_scan_argv(full, dumps=True), 1)
        print(
            f"    with the {FULL['namespaces']} Envoy config dumps as well (SD6xx evaluated): "
            f"{with_dumps:.2f} s (one run; no target)"
        )

        # ------------------------------------------------------------ (b)
        times = []
        for factor in (1, 2, 4, 8):
            best = scan if factor == 8 else _time_run(_scan_argv(estates[factor]), 2)
            times.append(best)
        startup = _time_run([*_cli(), "--help"], args.startup_runs)
        exponent = _fit_exponent([1, 2, 4, 8], times)
        net = [max(t - startup, 1e-3) for t in times]
        net_exponent = _fit_exponent([1, 2, 4, 8], net)
        row = ", ".join(f"{f}x {t:.2f} s" for f, t in zip((1, 2, 4, 8), times, strict=True))
        print(f"(b) scaling (1x = {FULL['models'] // 8} Models): {row}")
        print(
            f"    growth exponent {exponent:.2f} "
            f"(target <= {TARGETS['exponent']}: {_verdict(exponent <= TARGETS['exponent'])}); "
            f"{net_exponent:.2f} net of interpreter start-up"
        )

        # ------------------------------------------------------------ (c)
        rss = _peak_rss_mib(_scan_argv(full))
        print(
            f"(c) peak memory (max RSS) of the full scan: {rss:.0f} MiB "
            f"(target <= {TARGETS['memory_mib']:.0f} MiB: "
            f"{_verdict(rss <= TARGETS['memory_mib'])})"
        )

        # ------------------------------------------------------------ (d)
        checks = _time_run([*_cli(), "checks"], args.startup_runs)
        for label, value in (("--help", startup), ("checks", checks)):
            ms = value * 1000
            cpu_ms = _cpu([*_cli(), label]) * 1000
            print(
                f"(d) seldon-doctor {label}: {ms:.0f} ms best of {args.startup_runs}, "
                f"{cpu_ms:.0f} ms CPU "
                f"(target <= {TARGETS['startup_ms']:.0f} ms: "
                f"{_verdict(ms <= TARGETS['startup_ms'])})"
            )

        # ------------------------------------------------------------ (e)
        envoy_bench = HERE / "bench_envoy_dump.py"
        if envoy_bench.exists():
            result = subprocess.run(
                [sys.executable, str(envoy_bench)], capture_output=True, text=True, check=False
            )
            lines = (result.stdout + result.stderr).strip().splitlines()
            print("(e) 20,000-route Envoy config dump (bench/bench_envoy_dump.py):")
            for line in lines:
                print(f"    {line}")
        else:
            print("(e) bench/bench_envoy_dump.py not present: not measured")
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(
        f"benchmark took {time.perf_counter() - bench_started:.0f} s (target < 300 s); "
        f"load average now {os.getloadavg()[0]:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
