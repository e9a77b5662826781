"""Meta-test: every concrete ``Check`` subclass anywhere under ``seldon_doctor.checks`` is in
``ALL_CHECKS`` (a class that is written but not registered never runs and never fails a test).

The walk is recursive (``pkgutil.walk_packages``) because checks will move into subpackages.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import textwrap
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

import seldon_doctor.checks
from seldon_doctor.checks import ALL_CHECKS, ENGINE_CHECK_IDS
from seldon_doctor.checks.base import Check


def walk_modules(package: ModuleType) -> Iterator[ModuleType]:
    """The package and every module below it, imported (subpackages included)."""
    yield package
    for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
        yield importlib.import_module(info.name)


def concrete_checks(modules: Iterable[ModuleType]) -> set[type[Check]]:
    """Concrete Check subclasses *defined* in ``modules`` (re-exports are not counted twice)."""
    found: set[type[Check]] = set()
    for module in modules:
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(obj, Check)
                and obj is not Check
                and obj.__module__ == module.__name__
                and not inspect.isabstract(obj)
            ):
                found.add(obj)
    return found


def unregistered(modules: Iterable[ModuleType], registry: Iterable[type[Check]]) -> list[str]:
    """``module.Class`` of each concrete check not in ``registry``, sorted."""
    known = set(registry)
    return sorted(
        f"{cls.__module__}.{cls.__qualname__}" for cls in concrete_checks(modules) - known
    )


def test_every_check_class_is_registered() -> None:
    missing = unregistered(walk_modules(seldon_doctor.checks), ALL_CHECKS)
    assert not missing, (
        f"Check classes not in ALL_CHECKS (register them in seldon_doctor/checks/__init__.py): "
        f"{missing}"
    )


def test_registry_holds_only_check_classes_found_by_the_walk() -> None:
    found = concrete_checks(walk_modules(seldon_doctor.checks))
    assert set(ALL_CHECKS) <= found, "ALL_CHECKS names a class outside seldon_doctor.checks"
    assert len(ALL_CHECKS) == len(set(ALL_CHECKS)), "a class is registered twice"


def test_registry_ids_unique_sorted_and_disjoint_from_engine_ids() -> None:
    ids = [cls.id for cls in ALL_CHECKS]
    assert ids == sorted(ids), "ALL_CHECKS must be sorted by id"
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"check ids used twice: {duplicates}"
    assert not set(ids) & set(ENGINE_CHECK_IDS)
    for cls in ALL_CHECKS:
        assert isinstance(cls.reads, frozenset), f"{cls.id}: reads must be a frozenset"
        assert isinstance(cls.needs, frozenset), f"{cls.id}: needs must be a frozenset"


@pytest.fixture
def fake_checks_package(tmp_path: Path) -> Iterator[ModuleType]:
    """A throwaway package shaped like seldon_doctor.checks, with a check two levels down."""
    root = tmp_path / "fake_checks_pkg"
    nested = root / "area" / "deeper"
    nested.mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "area" / "__init__.py").write_text("")
    (nested / "__init__.py").write_text("")
    body = textwrap.dedent(
        """
        from seldon_doctor.checks.base import Check


        class Registered(Check):
            id = "SD990"
            reads = frozenset()

            def run(self, ctx):
                return iter(())


        class Forgotten(Check):
            id = "SD991"
            reads = frozenset()

            def run(self, ctx):
                return iter(())


        class StillAbstract(Check):  # no run(): not a check, must not be reported
            id = "SD992"
            reads = frozenset()
        """
    )
    (nested / "mod.py").write_text(body)
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("fake_checks_pkg")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.split(".")[0] == "fake_checks_pkg"]:
            del sys.modules[name]


def test_the_walk_finds_a_nested_unregistered_check(fake_checks_package: ModuleType) -> None:
    modules = list(walk_modules(fake_checks_package))
    assert "fake_checks_pkg.area.deeper.mod" in {m.__name__ for m in modules}
    mod = sys.modules["fake_checks_pkg.area.deeper.mod"]
    assert unregistered(modules, [mod.Registered]) == ["fake_checks_pkg.area.deeper.mod.Forgotten"]
    assert unregistered(modules, [mod.Registered, mod.Forgotten]) == []
