"""Small-input benchmark (issue 17 target 3): CLI commands on a CI gate's input, against --help.

Each command runs as ``python -m seldon_doctor ...`` in a fresh process (start-up, imports and
the work itself), best of N, interleaved with ``--help`` so that load changes hit both alike.
The figure is the ratio to ``seldon-doctor --help`` measured in the same run; targets:
``scan`` of 5 manifest files plus an Envoy dump <= 5x, ``explain``, ``checks``, ``graph`` and an
offline ``trace`` <= 3x.

    python bench/bench_small.py [--runs 7]

Prints one line per figure, ``  <figure>: <measured> (target <target>: ok|MISSED)``, under a
header with the load average (bench/bench_scan.py prints these lines too).
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures" / "clusters" / "capability-mismatch"
MANIFESTS = [
    FIXTURE / name
    for name in (
        "00-namespaces.yaml",
        "01-controller.yaml",
        "10-runtime-fraud.yaml",
        "30-servers-fraud.yaml",
        "40-models-fraud.yaml",
    )
]
DUMP = FIXTURE / "envoy" / "fraud.config_dump.json"


def _files() -> list[str]:
    return [a for m in MANIFESTS for a in ("-f", str(m))]


# (figure, argv after `python -m seldon_doctor`, target ratio to --help)
COMMANDS: list[tuple[str, list[str], float]] = [
    (
        "scan of 5 manifest files + an Envoy dump",
        ["scan", *_files(), "--envoy-config-dump", f"fraud={DUMP}"],
        5.0,
    ),
    ("explain SD501", ["explain", "SD501"], 3.0),
    ("checks", ["checks"], 3.0),
    ("graph -f (5 files)", ["graph", *_files()], 3.0),
    (
        "offline trace (5 files + dump)",
        ["trace", "-n", "fraud", *_files(), "--envoy-config-dump", str(DUMP), "fraud-detector"],
        3.0,
    ),
]


def _env() -> dict[str, str]:
    # An installed tool runs from bytecode (pip compiles on install); this machine's
    # PYTHONDONTWRITEBYTECODE would otherwise make every run compile ~200 modules (~0.25 s).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}


def _time(argv: list[str]) -> float:
    env = _env()
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "seldon_doctor", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        sys.stderr.write(result.stderr.decode(errors="replace"))
        raise SystemExit(f"{' '.join(argv[:2])} exited {result.returncode}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="best of N per command")
    args = parser.parse_args()

    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "seldon_doctor")],
        check=True,
        env=_env(),
        stdout=subprocess.DEVNULL,
    )
    load_before = os.getloadavg()[0]
    best = {name: math.inf for name, _, _ in COMMANDS}
    best_help = math.inf
    for _ in range(args.runs):
        for name, argv, _target in COMMANDS:
            best_help = min(best_help, _time(["--help"]))
            best[name] = min(best[name], _time(argv))
    print(
        f"small inputs, fresh process each (from bytecode), best of {args.runs} (load average "
        f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after, on {os.cpu_count()} CPUs)"
    )
    print(f"  seldon-doctor --help: {best_help * 1000:.0f} ms (the unit of the ratios below)")
    for name, _argv, target in COMMANDS:
        ratio = best[name] / best_help
        verdict = "ok" if ratio <= target else "MISSED"
        print(
            f"  {name}: {ratio:.1f}x --help, {best[name] * 1000:.0f} ms "
            f"(target <= {target:.0f}x: {verdict})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
