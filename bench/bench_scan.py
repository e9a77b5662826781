"""Benchmark the offline scan on synthetic estates: every issue-17 figure next to its target.

Not a timed unit test: run it by hand on the machine the figures are for. Estates come from
``bench/make_estate.py`` (deterministic from ``--seed``); every scan runs as the real CLI
(``seldon-doctor scan -f DIR -o json``) in a fresh process, so interpreter start-up, imports
and rendering are counted, and its wall time, CPU time (user+sys) and peak RSS are read from
that process alone (``os.wait4``). Each figure is the best of N runs; scans and the libyaml
parse they are compared with are interleaved, so both see the same load.

Figures (issue 17; the targets are in ``TARGETS``):
  light estate  10,000 small Models, 1,000 Servers, 500 namespaces, no Pods (~21,500
                objects): scan / ``yaml.load_all(CSafeLoader)`` of the same files, wall and CPU;
  heavy estate  10,000 Models, 1,000 Servers, 500 namespaces with every workload, Pod,
                Service and Endpoints (~39,500 objects): the same two ratios;
  scale         light estates of 1x..8x, 8x = 50,000 Models / 5,000 Servers / 2,500
                namespaces (~107,000 objects): growth exponent of wall and CPU time, peak RSS
                at 8x, and report JSON size against the entries it reports;
  start-up      ``--help`` and ``checks`` (issue 7);
then ``bench_envoy_dump.py``, ``bench_small.py`` and ``bench_live.py`` run as subprocesses
(those present) and their lines are printed as they are.

Run from the repository root (9 minutes at a load average of 2.5 on 2 cores; ``--quick`` 1.5)::

    python bench/bench_scan.py [--quick] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_estate  # noqa: E402

FAULTS = "capability-typo=5,split-brain=3,missing-route=5,dangling-alias=2,replicas-2=2"
# 20 Models and 2 Servers a namespace, as in the namespace-per-team platform.
MODELS_PER_NS, SERVERS_PER_NS = 20, 2
FULL = {"scale_ns": 2500, "light_ns": 500, "heavy_ns": 500}
QUICK = {"scale_ns": 400, "light_ns": 100, "heavy_ns": 100}
FACTORS = (1, 2, 4, 8)
TARGETS = {
    "ratio": 1.3,
    "exponent": 1.05,
    "rss_mib": 1024.0,
    # Report bytes per reported entry (finding or not-evaluated note), at every size: a
    # constant bound, so the report grows with what it reports, never with the objects read.
    "json_entry_bytes": 4096,
    "startup_ms": 150.0,
}


@dataclass(slots=True)
class Run:
    """One process: wall and CPU seconds, peak RSS (MiB), what it printed."""

    wall: float
    cpu: float
    rss_mib: float
    out: bytes = b""


@dataclass(slots=True)
class Best:
    """Best wall and best CPU over runs (taken separately), peak RSS over all of them."""

    wall: float = math.inf
    cpu: float = math.inf
    rss_mib: float = 0.0
    out: bytes = b""

    def add(self, run: Run) -> None:
        if run.wall < self.wall:
            self.wall, self.out = run.wall, run.out
        self.cpu = min(self.cpu, run.cpu)
        self.rss_mib = max(self.rss_mib, run.rss_mib)


def _cli() -> list[str]:
    script = shutil.which("seldon-doctor")
    return [script] if script else [sys.executable, "-m", "seldon_doctor"]


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def run_process(argv: Sequence[str], keep_output: bool = False) -> Run:
    """Run ``argv``; its own wall, CPU and max RSS (exit 0, 1 and 3 are all fine)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in (0, 1, 3):
            err.seek(0)
            problem = err.read().decode(errors="replace").strip()
            raise SystemExit(f"{' '.join(argv[:4])} ... exited {proc.returncode}: {problem}")
        out.seek(0)
        data = out.read() if keep_output else b""
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, data)


def parse_files(manifests: Path) -> Run:
    """``yaml.load_all(CSafeLoader)`` over every file, in this process (no start-up)."""
    files = sorted(glob.glob(str(manifests / "*.yaml")))
    wall, cpu = time.perf_counter(), time.process_time()
    for name in files:
        with open(name, "rb") as handle:
            for _document in yaml.load_all(handle.read(), Loader=yaml.CSafeLoader):
                pass
    return Run(time.perf_counter() - wall, time.process_time() - cpu, 0.0)


def scan_argv(manifests: Path) -> list[str]:
    return [*_cli(), "scan", "-f", str(manifests), "-o", "json", "-q"]


def count_objects(manifests: Path) -> tuple[int, float]:
    """(objects, MB of YAML): make_estate starts every document with ``apiVersion:``."""
    objects, size = 0, 0
    for path in manifests.glob("*.yaml"):
        text = path.read_text()
        size += len(text)
        objects += text.count("\napiVersion: ") + text.startswith("apiVersion: ")
    return objects, size / 1e6


def subset(source: Path, target: Path, namespaces: int) -> Path:
    """The first ``namespaces`` namespaces of an estate (hard links: no copy, same bytes)."""
    manifests = target / "manifests"
    if manifests.exists():
        return manifests
    manifests.mkdir(parents=True)
    chosen = [source / f"{make_estate.CONTROLLER_NS}.yaml"]
    chosen += [source / f"ns-{i:04d}.yaml" for i in range(namespaces)]
    for path in chosen:
        try:
            os.link(path, manifests / path.name)
        except OSError:
            shutil.copyfile(path, manifests / path.name)
    return manifests


def make_estates(work: Path, sizes: dict[str, int], seed: int) -> dict[str, Path]:
    """Manifest folders: heavy, light, and the scale points (subsets of the largest one)."""
    largest, heavy = work / "light-all", work / "heavy"
    for folder, ns, light in (
        (largest, sizes["scale_ns"], True),
        (heavy, sizes["heavy_ns"], False),
    ):
        if not (folder / "faults.json").exists():
            make_estate.generate(
                folder,
                namespaces=ns,
                models=ns * MODELS_PER_NS,
                servers=ns * SERVERS_PER_NS,
                seed=seed,
                faults=FAULTS,
                light=light,
            )
    out = {"heavy": heavy / "manifests"}
    out["light"] = subset(largest / "manifests", work / "light", sizes["light_ns"])
    for factor in FACTORS:
        ns = sizes["scale_ns"] * factor // FACTORS[-1]
        out[f"{factor}x"] = subset(largest / "manifests", work / f"scale-{factor}x", ns)
    return out


def ratio_figures(label: str, manifests: Path, runs: int) -> None:
    objects, size = count_objects(manifests)
    parse, scan = Best(), Best()
    for _ in range(runs):
        parse.add(parse_files(manifests))
        scan.add(run_process(scan_argv(manifests)))
    print(f"{label}: {objects} objects, {size:.1f} MB of YAML")
    print(
        f"    scan wall {scan.wall:.2f} s, CPU {scan.cpu:.2f} s; "
        f"yaml.load_all(CSafeLoader) wall {parse.wall:.2f} s, CPU {parse.cpu:.2f} s "
        f"(best of {runs})"
    )
    for kind, ratio in (("wall", scan.wall / parse.wall), ("CPU", scan.cpu / parse.cpu)):
        print(
            f"    ratio scan / parse ({kind}): {ratio:.2f} "
            f"(target <= {TARGETS['ratio']}: {_verdict(ratio <= TARGETS['ratio'])})"
        )


def fit_exponent(sizes: Sequence[float], times: Sequence[float]) -> float:
    xs = [math.log(s) for s in sizes]
    ys = [math.log(t) for t in times]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


def report_entries(out: bytes) -> tuple[int, int]:
    """(findings, not-evaluated entries) of a JSON report."""
    report = json.loads(out)
    return len(report.get("findings", [])), len(report.get("not_evaluated", []))


def scale_figures(estates: dict[str, Path], runs: int) -> None:
    best = {f: Best() for f in FACTORS}
    for _ in range(runs):  # rounds over every size, so a burst of load hits them all alike
        for factor in FACTORS:
            best[factor].add(run_process(scan_argv(estates[f"{factor}x"]), keep_output=True))
    counts = {f: count_objects(estates[f"{f}x"])[0] for f in FACTORS}
    row = ", ".join(
        f"{f}x {counts[f]} obj {best[f].wall:.2f} s ({best[f].cpu:.2f} CPU)" for f in FACTORS
    )
    print(f"scale (best of {runs}): {row}")
    objects = [counts[f] for f in FACTORS]
    for kind in ("wall", "cpu"):
        exponent = fit_exponent(objects, [getattr(best[f], kind) for f in FACTORS])
        print(
            f"    growth exponent ({'CPU' if kind == 'cpu' else kind}, 1x..8x): {exponent:.2f} "
            f"(target <= {TARGETS['exponent']}: {_verdict(exponent <= TARGETS['exponent'])})"
        )
    top = best[FACTORS[-1]]
    print(
        f"    peak RSS at 8x ({counts[FACTORS[-1]]} objects): {top.rss_mib:.0f} MiB "
        f"(target <= {TARGETS['rss_mib']:.0f} MiB: {_verdict(top.rss_mib <= TARGETS['rss_mib'])})"
    )
    per_entry, sizes = [], []
    for factor in FACTORS:
        findings, not_evaluated = report_entries(best[factor].out)
        per_entry.append(len(best[factor].out) / max(1, findings + not_evaluated))
        sizes.append(f"{factor}x {len(best[factor].out) / 1e3:.0f} kB/{findings}+{not_evaluated}")
    print(f"    report JSON (size / findings + not-evaluated entries): {', '.join(sizes)}")
    worst = max(per_entry)
    print(
        f"    JSON bytes per reported entry {min(per_entry):.0f}..{worst:.0f} while objects grow "
        f"{objects[-1] / objects[0]:.1f}x (size proportional to findings, target <= "
        f"{TARGETS['json_entry_bytes']} B an entry at every size: "
        f"{_verdict(worst <= TARGETS['json_entry_bytes'])})"
    )


def startup_figures(runs: int) -> None:
    for command in ("--help", "checks"):
        best = Best()
        for _ in range(runs):
            best.add(run_process([*_cli(), command]))
        ms = best.wall * 1000
        print(
            f"start-up: seldon-doctor {command}: {ms:.0f} ms wall, {best.cpu * 1000:.0f} ms "
            f"CPU, best of {runs} (issue 7 target <= {TARGETS['startup_ms']:.0f} ms: "
            f"{_verdict(ms <= TARGETS['startup_ms'])})"
        )


def other_benchmarks(names: Sequence[str]) -> None:
    """The other bench scripts, in subprocesses, their lines printed as they are."""
    for name in names:
        script = HERE / name
        if not script.exists():
            print(f"bench/{name}: not present, not run")
            continue
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, check=False
        )
        print(f"bench/{name} ({time.perf_counter() - started:.0f} s, exit {result.returncode}):")
        for line in (result.stdout + result.stderr).strip().splitlines():
            print(f"    {line}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller estates, fewer runs")
    parser.add_argument("--runs", type=int, help="best of N (default 3; --quick 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, help="keep estates here (default: a temp dir)")
    args = parser.parse_args(argv)
    runs = args.runs or (1 if args.quick else 3)
    sizes = QUICK if args.quick else FULL
    started = time.perf_counter()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="seldon-doctor-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"seldon-doctor scan benchmark ({sys.executable}); before: {_load()}")
    # Start-up counts, as on an installed copy: bytecode compiled once (PYTHONDONTWRITEBYTECODE
    # would otherwise make every scan compile the whole package again, ~0.3 s).
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(HERE.parent / "seldon_doctor")],
        check=False,
        stdout=subprocess.DEVNULL,
    )
    try:
        estates = make_estates(work, sizes, args.seed)
        print(f"estates ready in {time.perf_counter() - started:.0f} s ({work})")
        ratio_figures("light estate", estates["light"], runs)
        ratio_figures("heavy estate", estates["heavy"], runs)
        scale_figures(estates, max(1, runs - 1))
        startup_figures(3 if args.quick else 10)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.quick:
        print("--quick: bench_envoy_dump.py, bench_small.py and bench_live.py not run")
    else:
        other_benchmarks(("bench_envoy_dump.py", "bench_small.py", "bench_live.py"))
    print(f"benchmark took {time.perf_counter() - started:.0f} s; after: {_load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
