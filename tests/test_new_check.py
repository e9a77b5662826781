"""``scripts/new_check.py`` scaffolds a check the registry and the catalog accept, and refuses
to overwrite one: run against a temporary copy of what it touches (``--root``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "new_check.py"
COPIED = ("seldon_doctor", "checks", "playbooks", "deploy", "scripts", "README.md")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("repo")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)
    return root


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--root", str(root)],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
        timeout=120,
    )


@pytest.fixture(scope="module")
def scaffolded(tree: Path) -> Path:
    done = _run(tree, "SD399", "pipeline-step-unknown", "--title", "A Pipeline step names nothing")
    assert done.returncode == 0, done.stderr
    return tree


def test_it_writes_every_file(scaffolded: Path) -> None:
    for rel in (
        "seldon_doctor/checks/pipeline/__init__.py",
        "seldon_doctor/checks/pipeline/sd399_pipeline_step_unknown.py",
        "checks/SD399.md",
        "playbooks/SD399.yaml",
        "fixtures/checks/SD399/fires.yaml",
        "fixtures/checks/SD399/quiet.yaml",
    ):
        assert (scaffolded / rel).is_file(), rel
    fires = (scaffolded / "fixtures/checks/SD399/fires.yaml").read_text()
    assert "# expect: SD399\n" in fires
    readme = (scaffolded / "README.md").read_text()
    assert "| SD399 | pipeline-step-unknown | warning | A Pipeline step names nothing |" in readme


def test_registry_and_catalog_accept_it(scaffolded: Path) -> None:
    """What tests/test_registry.py and tests/test_catalog.py ask, asked in the copy."""
    probe = textwrap.dedent(
        """
        import re
        from seldon_doctor.catalog import REQUIRED_HEADINGS, load_docs, load_playbooks
        from seldon_doctor.checks import ALL_CHECKS, ENGINE_CHECK_IDS
        from seldon_doctor.checks.pipeline.sd399_pipeline_step_unknown import (
            PipelineStepUnknown,
        )
        from seldon_doctor.plan import fill
        ids = [cls.id for cls in ALL_CHECKS]
        assert PipelineStepUnknown in ALL_CHECKS and ids == sorted(ids), ids
        assert len(ids) == len(set(ids))
        docs, books = load_docs(), load_playbooks()
        assert set(docs) == set(books) == set(ids) | set(ENGINE_CHECK_IDS)
        doc = docs["SD399"]
        assert doc.slug == "pipeline-step-unknown" and doc.category == "pipeline"
        assert all(doc.section(h) for h in REQUIRED_HEADINGS)
        book = books["SD399"]
        plan = fill(book, dict.fromkeys(book.placeholders(), "x"))
        assert plan.steps and plan.verify.title and plan.risk and plan.rollback
        assert list(PipelineStepUnknown().run(None)) == []
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=False,
        cwd=scaffolded,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(scaffolded)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    registry = (scaffolded / "seldon_doctor/checks/__init__.py").read_text()
    assert (
        "from seldon_doctor.checks.pipeline.sd399_pipeline_step_unknown import "
        "PipelineStepUnknown\n" in registry
    )
    stale = subprocess.run(
        [sys.executable, str(scaffolded / "scripts" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(scaffolded)},
        timeout=120,
    )
    assert stale.returncode == 0, stale.stdout + stale.stderr


def test_the_scaffold_is_lint_clean(scaffolded: Path) -> None:
    ruff = Path(sys.executable).parent / "ruff"
    if not ruff.exists():
        pytest.skip("ruff is not installed next to this Python")
    files = [
        str(scaffolded / "seldon_doctor/checks/pipeline/sd399_pipeline_step_unknown.py"),
        str(scaffolded / "seldon_doctor/checks/__init__.py"),
    ]
    config = ["--config", str(ROOT / "pyproject.toml")]
    for command in (["check", *config], ["format", "--check", *config]):
        done = subprocess.run([str(ruff), *command, *files], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("SD399", "pipeline-step-other"), "SD399 exists already"),
        (("SD398", "pipeline-step-unknown"), "slug pipeline-step-unknown is taken by SD399"),
        (("SD398", "model-not-ready"), "slug model-not-ready is taken by SD105"),
        (("SD39", "x"), "malformed id"),
        (("SD998", "x"), "malformed id"),
        (("SD398", "Bad_Slug"), "malformed slug"),
    ],
)
def test_it_refuses(scaffolded: Path, args: tuple[str, str], says: str) -> None:
    before = (scaffolded / "seldon_doctor/checks/__init__.py").read_text()
    done = _run(scaffolded, *args)
    assert done.returncode == 2
    assert says in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert (scaffolded / "seldon_doctor/checks/__init__.py").read_text() == before
