"""The fixture generators and their checker run in the suite.

``fixtures/clusters/`` is written by ``fixtures/tools/make_clusters.py`` (with the Envoy dumps
from ``make_envoy_dump.py``); a hand edit there, or a generator change without regenerating,
silently left the two apart. ``check_clusters.py`` (parse, scenario keys, CRD schemas, stale or
stray files) ran nowhere; now it runs here.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import FIXTURES, NEEDS_SHARED, SHARED_DATA

TOOLS = FIXTURES / "tools"
CRDS = SHARED_DATA / "seldon" / "crds"


def _tool(name: str) -> ModuleType:
    if str(TOOLS) not in sys.path:  # the tools import each other by bare name
        sys.path.insert(0, str(TOOLS))
    return importlib.import_module(name)


def test_check_clusters_finds_no_problem() -> None:
    """Generated scenarios are current, parse, and their Seldon CRs validate against the CRDs."""
    problems = _tool("check_clusters").check(CRDS)
    assert not problems, "\n".join(problems)


def test_envoy_dumps_are_current() -> None:
    stale = _tool("make_envoy_dump").write_all(FIXTURES / "clusters", check=True)
    assert not stale, f"stale Envoy dumps (run fixtures/tools/make_envoy_dump.py): {stale}"


def test_generator_output_is_byte_identical_to_the_committed_scenarios(tmp_path: Path) -> None:
    make_clusters = _tool("make_clusters")
    for build in make_clusters.SCENARIOS:
        scenario = build()
        make_clusters.write(scenario, tmp_path)
        fresh_root = tmp_path / scenario.name
        committed_root = FIXTURES / "clusters" / scenario.name
        fresh = {p.relative_to(fresh_root) for p in fresh_root.rglob("*") if p.is_file()}
        committed = {
            p.relative_to(committed_root) for p in committed_root.rglob("*") if p.is_file()
        }
        assert fresh == committed, (scenario.name, sorted(map(str, fresh ^ committed)))
        for rel in sorted(fresh):
            assert (fresh_root / rel).read_bytes() == (committed_root / rel).read_bytes(), (
                f"fixtures/clusters/{scenario.name}/{rel} is stale: run "
                "python fixtures/tools/make_clusters.py"
            )


def test_check_clusters_reports_a_hand_edit_a_stray_file_and_a_schema_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not CRDS.is_dir():
        pytest.skip(NEEDS_SHARED)
    check_clusters = _tool("check_clusters")
    make_clusters = _tool("make_clusters")
    name = make_clusters.SCENARIOS[0]().name
    copy = tmp_path / "clusters"
    shutil.copytree(FIXTURES / "clusters" / name, copy / name)
    victim = next(p for p in sorted((copy / name).glob("*.yaml")) if "kind: Model" in p.read_text())
    victim.write_text(
        victim.read_text().replace("kind: Model\n", "kind: Model\n  replicaz: 2\n", 1)
    )
    stray = copy / name / "stray.yaml"
    stray.write_text(
        "apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata: {name: bad}\n"
        "spec: {storageUri: 'gs://b/m', replicas: two}\n"
    )
    monkeypatch.setattr(check_clusters, "CLUSTERS", copy)
    monkeypatch.setattr(make_clusters, "SCENARIOS", make_clusters.SCENARIOS[:1])
    problems = check_clusters.check(CRDS)
    assert any(p.startswith(f"stale (run make_clusters.py): {victim}") for p in problems)
    assert f"not generated (delete it, or generate it): {stray}" in problems
    assert any(p.startswith(f"{stray}: Model/bad: ") for p in problems), problems


def test_check_clusters_script_exits_zero() -> None:
    result = subprocess.run(
        [sys.executable, str(TOOLS / "check_clusters.py"), "--crds", str(CRDS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok: 0 problem(s)"
