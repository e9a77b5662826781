"""Tier 2: whole cluster scenarios through every check and renderer, compared with goldens.

Regenerate goldens after an intended change with ``pytest tests/test_scenarios.py
--update-goldens`` and review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from seldon_doctor.engine import run_checks
from seldon_doctor.findings import Severity
from seldon_doctor.graph.build import build_graph
from seldon_doctor.render import RenderOptions, get_renderer
from tests.conftest import FIXTURES, ROOT, case_inputs

GOLDEN = ROOT / "tests" / "golden"
SCENARIOS = sorted(p.parent for p in (FIXTURES / "clusters").glob("*/scenario.yaml"))


def _scan(folder: Path):  # type: ignore[no-untyped-def]
    from seldon_doctor.sources.collect import collect_files

    meta = yaml.safe_load((folder / "scenario.yaml").read_text())
    inputs = case_inputs(folder)
    inputs.envoy_dumps = [
        f"{ns}={folder / path}" for ns, path in (meta.get("envoy_dumps") or {}).items()
    ]
    # Paths relative to the checkout before rendering: the table wraps long lines, so an
    # absolute path would make the goldens depend on where the repository was cloned.
    inputs.display_root = str(ROOT)
    snapshot = collect_files(inputs)
    return meta, run_checks(build_graph(snapshot))


def _normalise(text: str) -> str:
    return text.replace(str(ROOT) + "/", "").replace(str(ROOT), ".")


@pytest.mark.parametrize("folder", SCENARIOS, ids=lambda p: p.name)
def test_scenario_expectations(folder: Path) -> None:
    meta, report = _scan(folder)
    fired = {f.check_id for f in report.findings}
    errors = [f for f in report.findings if f.severity == Severity.ERROR]
    if meta.get("healthy"):
        assert not errors, "healthy scenario has errors:\n" + "\n".join(f.message for f in errors)
    for check_id in meta.get("expect") or []:
        assert check_id in fired, f"{check_id} did not fire in {folder.name}"
    internal = [f for f in report.findings if f.check_id == "SD001"]
    assert not internal, internal


@pytest.mark.parametrize("folder", SCENARIOS, ids=lambda p: p.name)
@pytest.mark.parametrize("fmt", ["json", "table"])
def test_scenario_goldens(folder: Path, fmt: str, request: pytest.FixtureRequest) -> None:
    _, report = _scan(folder)
    exit_code = 1 if any(f.severity == Severity.ERROR for f in report.findings) else 0
    text = _normalise(get_renderer(fmt)(report, RenderOptions(exit_code=exit_code, show_plan=True)))
    if fmt == "json":
        data = json.loads(text)
        data["tool"]["version"] = "<version>"
        text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    golden = GOLDEN / f"{folder.name}.{'json' if fmt == 'json' else 'txt'}"
    if request.config.getoption("--update-goldens"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    if not golden.exists():
        pytest.fail(f"no golden {golden.name}: run pytest --update-goldens and review it")
    assert text == golden.read_text()


def test_healthy_scenarios_keep_every_check_quiet() -> None:
    healthy = [
        f for f in SCENARIOS if yaml.safe_load((f / "scenario.yaml").read_text()).get("healthy")
    ]
    if not healthy:
        pytest.skip("no healthy scenarios yet")
    for folder in healthy:
        _, report = _scan(folder)
        assert not [f for f in report.findings if f.severity != Severity.INFO], folder.name
