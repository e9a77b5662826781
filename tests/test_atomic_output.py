"""Output files are written whole or not at all, and never through a symlink.

``scan -o FORMAT=PATH`` and snapshot tarballs share seldon_doctor.atomic: temp file in the
target directory + os.replace; a symlink, a directory or a non-regular file at the target is
refused with exit code 2; an existing regular file is replaced.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from seldon_doctor.atomic import atomic_writer, write_atomic
from seldon_doctor.bundle import BundleMeta, write_bundle
from seldon_doctor.errors import InputError
from tests.conftest import FIXTURES, load_case

CASE = FIXTURES / "checks" / "SD102" / "fires.yaml"


def _scan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "seldon_doctor", "scan", "-f", str(CASE), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_report_to_a_symlink_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    link = tmp_path / "report.json"
    link.symlink_to(victim)
    result = _scan("-o", f"json={link}")
    assert result.returncode == 2, result.stderr
    assert "symlink" in result.stderr
    assert victim.read_text() == "keep me\n"
    assert link.is_symlink()


def test_report_replaces_a_regular_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old report that is much longer than nothing " * 1000)
    result = _scan("-o", f"json={target}")
    assert result.returncode == 1, result.stderr
    assert target.read_text().startswith("{") and target.read_text().endswith("}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]  # no temp file left
    assert target.stat().st_mode & 0o777 == 0o666 & ~_umask()


def test_a_directory_is_refused(tmp_path: Path) -> None:
    result = _scan("-o", f"json={tmp_path}")
    assert result.returncode == 2
    assert "directory" in result.stderr


def test_failure_leaves_the_old_file_and_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_writer(target) as handle:
        handle.write(b"half a rep")
        raise RuntimeError("killed")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_disk_errors_are_input_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.json"
    target.write_text("old\n")

    def full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(InputError, match="No space left"):
        write_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_bundles_follow_the_same_rules(tmp_path: Path) -> None:
    snapshot = load_case(CASE)
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    for name in ("bundle.tar.gz", "bundle-dir"):
        link = tmp_path / name
        link.symlink_to(victim)
        with pytest.raises(InputError, match="symlink"):
            write_bundle(snapshot, link, meta=BundleMeta())
    assert victim.read_text() == "keep me\n"
    tarball = tmp_path / "real.tar.gz"
    write_bundle(snapshot, tarball, meta=BundleMeta())
    first = tarball.read_bytes()
    write_bundle(snapshot, tarball, meta=BundleMeta())  # an existing tarball is replaced
    assert tarball.read_bytes() == first


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
