"""Shared helpers: load fixture cases, read `# expect:` annotations, locate ../shared/data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from seldon_doctor.snapshot import Snapshot
from seldon_doctor.sources.collect import ScanInputs, collect_files

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED_DATA = ROOT.parent / "shared" / "data"
#: The one skip reason for tests that read ../shared (upstream data, references): CI has it.
NEEDS_SHARED = "needs ../shared (present in CI)"
_EXPECT = re.compile(r"^\s*(?:-\s*)?#\s*expect:\s*(SD\d{3})(?:\s+(\S+))?\s*$")


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, skipping the test when that folder is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(NEEDS_SHARED)
    return path


def shared_path(*parts: str) -> Path:
    """A path under ../shared (e.g. ``reference``), skipping the test when it is absent."""
    path = ROOT.parent.joinpath("shared", *parts)
    if not path.exists():
        pytest.skip(NEEDS_SHARED)
    return path


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say once how many tests did not run for want of ../shared, instead of per location."""
    skipped = terminalreporter.stats.get("skipped", [])
    count = sum(1 for report in skipped if NEEDS_SHARED in str(report.longrepr))
    if count:
        terminalreporter.write_line(f"{count} test(s) skipped: {NEEDS_SHARED}")


def case_inputs(case: Path) -> ScanInputs:
    """A fixture case: a YAML file, or a folder of YAML plus envoy/<namespace>.config_dump.json
    (and scheduler/<namespace>.json, xds/<namespace>.json: a scheduler's state, what it served)."""
    if case.is_file():
        return ScanInputs(files=[str(case)], complete=_marked_complete([case]))
    files = sorted(str(p) for p in case.glob("*.yaml") if p.name != "scenario.yaml")
    dumps = sorted(
        f"{p.name.split('.', 1)[0]}={p}" for p in (case / "envoy").glob("*.config_dump.json")
    )
    states = sorted(f"{p.stem}={p}" for p in (case / "scheduler").glob("*.json"))
    served = sorted(f"{p.stem}={p}" for p in (case / "xds").glob("*.json"))
    return ScanInputs(
        files=files,
        envoy_dumps=dumps,
        scheduler_states=states,
        xds_states=served,
        complete=_marked_complete([Path(f) for f in files]),
    )


def _marked_complete(files: list[Path]) -> bool:
    """A fixture that stands for a full export says so with a ``# scan: --complete`` line:
    it is scanned as ``scan --complete`` would (docs/completeness.md)."""
    return any(
        line.strip() == "# scan: --complete"
        for file in files
        for line in file.read_text(encoding="utf-8").splitlines()
    )


def load_case(case: Path) -> Snapshot:
    snapshot = collect_files(case_inputs(case))
    if case.is_dir():  # probes/*.json: inference probe observations (SD8xx)
        from seldon_doctor.sources.probe_files import load_probe_files

        snapshot.probes.extend(load_probe_files(sorted((case / "probes").glob("*.json"))))
    return snapshot


def expected_findings(case: Path, snapshot: Snapshot) -> set[tuple[str, str]]:
    """(check id, Kind/ns/name) from `# expect: SDxxx [Kind/ns/name]` comments.

    Without an explicit resource, an annotation applies to the first object that starts after
    it in the same file (a document or a List item).
    """
    files = [case] if case.is_file() else sorted(case.glob("*.yaml"))
    expected: set[tuple[str, str]] = set()
    for file in files:
        objects = sorted(
            (obj for obj in snapshot.objects if obj.origin.file == str(file)),
            key=lambda o: o.origin.line or 0,
        )
        for number, line in enumerate(file.read_text().splitlines(), 1):
            match = _EXPECT.match(line)
            if not match:
                continue
            check_id, explicit = match.groups()
            if explicit:
                expected.add((check_id, explicit))
                continue
            following = next((o for o in objects if (o.origin.line or 0) > number), None)
            assert following is not None, f"{file}:{number}: no object after the annotation"
            expected.add((check_id, following.ref()))
    return expected


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens", action="store_true", help="rewrite tests/golden/* from current output"
    )


@pytest.fixture
def silent_server() -> Iterator[int]:
    """The port of a loopback socket that accepts connections and never answers."""
    from tests.sockets import SilentServer

    with SilentServer() as server:
        yield server.port
