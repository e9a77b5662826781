"""Remediation plans stay inert when pasted, whatever the input put in them.

Every placeholder of every playbook is filled with a hostile value; every ``run:`` line must
still parse (``shlex.split`` and ``bash -n``), keep the value as data inside one word (or
withhold it with a note), and, run through bash with every command stubbed, execute nothing
of it. Manifests never carry a value that could change the YAML.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from seldon_doctor.catalog import Playbook, load_playbooks
from seldon_doctor.plan import WITHHELD, fill, fill_shell

BOOKS = sorted(load_playbooks().values(), key=lambda b: b.check)
STUBBED = [
    *("kubectl", "seldon-doctor", "curl", "grpcurl", "helm", "istioctl", "grep", "head", "tail"),
    *("sort", "jq", "sleep", "xargs", "awk", "sed", "wc", "cut", "tr", "base64", "openssl"),
    *("sh", "bash"),
]


def _hostile(pwn: Path) -> str:
    return f"x; touch {pwn} $(id) `id` 'q' \"d\""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PATH with a stub for every command a playbook runs, plus touch and id (what the
    hostile value would run if it escaped)."""
    root = tmp_path_factory.mktemp("plan-sandbox")
    bin_dir = root / "bin"
    bin_dir.mkdir()
    for name in STUBBED:
        stub = bin_dir / name
        stub.write_text("#!/bin/sh\ncat >/dev/null 2>&1 </dev/null\nexit 0\n")
        stub.chmod(0o755)
    for name in ("touch", "id"):
        real = shutil.which(name)
        assert real, name
        (bin_dir / name).symlink_to(real)
    return root


def _lines(
    book: Playbook, params: dict[str, str]
) -> list[tuple[bool, str, str | None, str | None]]:
    """(the template line has placeholders, filled run, filled manifest, filled note)."""
    plan = fill(book, params)
    templates = (*book.steps, book.verify)
    return [
        ("$" in (t.run or ""), s.run or "", s.manifest, s.note)
        for t, s in zip(templates, (*plan.steps, plan.verify), strict=True)
    ]


@pytest.mark.parametrize("book", BOOKS, ids=lambda b: b.check)
def test_hostile_values_stay_inert(book: Playbook, sandbox: Path, tmp_path: Path) -> None:
    pwn = tmp_path / "pwn"
    value = _hostile(pwn)
    params = dict.fromkeys(book.placeholders(), value)
    bash = shutil.which("bash")
    assert bash
    for filled, run, manifest, note in _lines(book, params):
        if manifest is not None:
            assert "touch" not in manifest and "$(id)" not in manifest, manifest
            if "<" in manifest and ">" in manifest and value not in manifest:
                assert note and WITHHELD in note
        if not run:
            continue
        words = shlex.split(run)
        for word in words:
            if "touch" in word or "$(id)" in word or "`id`" in word:
                assert value in word, f"{book.check}: the value is split: {run}"
        if filled and "touch" not in run:
            assert note and WITHHELD in note, f"{book.check}: withheld without a note: {run}"
        check = subprocess.run([bash, "-n", "-c", run], capture_output=True, text=True, check=False)
        assert check.returncode == 0, f"{book.check}: {run}: {check.stderr}"
        env = {"PATH": str(sandbox / "bin"), "HOME": str(tmp_path)}
        subprocess.run(
            [bash, "-c", run],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            timeout=20,
            check=False,
        )
        assert not pwn.exists(), f"{book.check}: pasting ran the value: {run}"


def test_ordinary_values_are_unchanged() -> None:
    line = "kubectl -n ${namespace} get models.mlops.seldon.io/${name} -o jsonpath='{.x}'"
    got = fill_shell(line, {"namespace": "team-a", "name": "iris"}, [])
    assert got == "kubectl -n team-a get models.mlops.seldon.io/iris -o jsonpath='{.x}'"


def test_quoted_positions_withhold_what_they_cannot_carry() -> None:
    withheld: list[str] = []
    line = """kubectl patch m ${name} -p '{"spec":{"requirements":["${req}"]}}'"""
    got = fill_shell(line, {"name": "a b", "req": "x\"]}}'; id; echo '"}, withheld)
    assert got == """kubectl patch m 'a b' -p '{"spec":{"requirements":["<req>"]}}'"""
    assert withheld == ["req"]
    ok = fill_shell(line, {"name": "iris", "req": "sklearn"}, [])
    assert ok.endswith('["sklearn"]}}\'')


def test_empty_values_ask_the_reader() -> None:
    got = fill_shell("kubectl -n ${namespace} get pods", {"namespace": ""}, [])
    assert got == "kubectl -n <namespace> get pods"


def test_sandbox_really_catches_an_injection(sandbox: Path, tmp_path: Path) -> None:
    """The stubbed run above is a real test: an unquoted fill would have run touch."""
    pwn = tmp_path / "pwn"
    bash = shutil.which("bash")
    assert bash
    naive = "kubectl -n " + _hostile(pwn)
    env = {"PATH": str(sandbox / "bin"), "HOME": str(tmp_path)}
    subprocess.run([bash, "-c", naive], cwd=tmp_path, env=env, capture_output=True, check=False)
    assert pwn.exists()
    os.unlink(pwn)
