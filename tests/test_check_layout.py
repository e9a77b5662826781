"""One module per check (issue 14, move 6): ``seldon_doctor/checks/<area>/sd<id>_<slug>.py``,
the area following the id range, one ``Check`` subclass each, nothing long.

Checked statically (``ast``), so a misplaced module fails here with its path rather than as an
import error elsewhere. ``scripts/new_check.py`` writes modules this test accepts.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from seldon_doctor.catalog import load_docs
from seldon_doctor.checks import ALL_CHECKS

CHECKS = Path(__file__).resolve().parent.parent / "seldon_doctor" / "checks"
#: The hundreds digit of an id -> the folder its module lives in.
AREAS = {
    "0": "input",
    "1": "model",
    "2": "server",
    "3": "pipeline",
    "4": "experiment",
    "5": "controlplane",
    "6": "dataplane",
    "7": "serving",
    "8": "probe",
}
#: Modules of ``checks`` that are not check modules.
NOT_CHECKS = {"__init__.py", "base.py"}
SHARED = "helpers"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
_MODULE = re.compile(r"sd(\d{3})_([a-z0-9_]+)\.py")


def _check_modules() -> list[Path]:
    return sorted(
        p
        for p in CHECKS.rglob("*.py")
        if p.name not in NOT_CHECKS and SHARED not in p.relative_to(CHECKS).parts
    )


def _check_classes(tree: ast.Module) -> list[tuple[str, str]]:
    """(class name, id) of each class of the module that sets ``id = "SDxxx"``."""
    found = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        for stmt in node.body:
            if (
                isinstance(stmt, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "id" for t in stmt.targets)
                and isinstance(stmt.value, ast.Constant)
            ):
                found.append((node.name, str(stmt.value.value)))
    return found


def _rel(path: Path) -> str:
    return path.relative_to(CHECKS.parent.parent).as_posix()


def test_no_check_module_at_the_top_of_checks() -> None:
    top = sorted(p.name for p in CHECKS.glob("*.py") if p.name not in NOT_CHECKS)
    assert top == [], "check modules go in checks/<area>/, shared helpers in checks/helpers/"


@pytest.mark.parametrize("path", _check_modules(), ids=_rel)
def test_module_is_named_by_id_and_slug_in_its_area(path: Path) -> None:
    match = _MODULE.fullmatch(path.name)
    assert match, f"{_rel(path)}: a check module is named sd<id>_<slug>.py"
    classes = _check_classes(ast.parse(path.read_text(encoding="utf-8")))
    assert len(classes) == 1, f"{_rel(path)}: defines {len(classes)} checks, not exactly one"
    _, check_id = classes[0]
    assert check_id == f"SD{match.group(1)}", f"{_rel(path)}: the class's id is {check_id}"
    slug = load_docs()[check_id].slug
    assert match.group(2) == slug.replace("-", "_"), f"{_rel(path)}: the doc's slug is {slug}"
    assert path.parent.parent == CHECKS and path.parent.name == AREAS[check_id[2]], (
        f"{_rel(path)}: {check_id} belongs in checks/{AREAS[check_id[2]]}/"
    )


def test_every_registered_check_has_its_own_module() -> None:
    for cls in ALL_CHECKS:
        slug = load_docs()[cls.id].slug.replace("-", "_")
        module = f"seldon_doctor.checks.{AREAS[cls.id[2]]}.sd{cls.id[2:]}_{slug}"
        assert cls.__module__ == module, f"{cls.__name__} is in {cls.__module__}, not {module}"


@pytest.mark.parametrize("path", sorted(CHECKS.rglob("*.py")), ids=_rel)
def test_nothing_is_long(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = text.count("\n")
    assert lines <= MAX_MODULE_LINES, f"{_rel(path)}: {lines} lines; split out shared helpers"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == [], f"{_rel(path)}: functions over {MAX_FUNCTION_LINES} lines: {long}"
