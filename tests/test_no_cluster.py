"""Without a cluster: every hint names only options the command accepts, and `snapshot` can
still be tried (from the demo or from files) and its bundle scans like the input (issue 16)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from seldon_doctor.cli import cli
from tests.conftest import FIXTURES

CASE = FIXTURES / "clusters" / "experiment-routes-missing"
DUMP = f"recsys={CASE / 'envoy' / 'recsys.config_dump.json'}"


def _run(
    *args: str, cwd: Path | None = None, home: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("KUBERNETES_SERVICE_HOST", None)
    if home is not None:
        env.update(HOME=str(home), KUBECONFIG=str(home / "no-such-kubeconfig"))
    return subprocess.run(
        [sys.executable, "-m", "seldon_doctor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )


def _accepted(command: str) -> set[str]:
    found = cli.commands[command]
    return {opt for p in found.params if isinstance(p, click.Option) for opt in p.opts}


@pytest.mark.parametrize(
    "args",
    [
        ("scan",),
        ("scan", "-f", str(CASE), "--against-cluster"),
        ("snapshot", "-o", "out.tgz"),
        ("trace", "iris", "-n", "seldon-mesh"),
        ("probe", "iris", "-n", "seldon-mesh"),
    ],
)
def test_no_kubeconfig_hint_names_only_options_the_command_accepts(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    result = _run(*args, cwd=tmp_path, home=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "no kubeconfig at" in result.stderr
    named = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", result.stderr.split("(see", 1)[0]))
    assert named, result.stderr
    assert named <= _accepted(args[0]), (named - _accepted(args[0]), result.stderr)
    # Every hint offers a way forward without a cluster.
    assert named - {"--kubeconfig", "--context"}, result.stderr


def _findings(report: str) -> list[dict[str, object]]:
    return list(json.loads(report)["findings"])


@pytest.mark.parametrize(
    "inputs",
    [("--demo",), ("-f", str(CASE), "--envoy-config-dump", DUMP)],
    ids=["demo", "files"],
)
def test_snapshot_without_a_cluster_scans_like_its_input(
    inputs: tuple[str, ...], tmp_path: Path
) -> None:
    bundle = tmp_path / "b.tar.gz"
    written = _run("snapshot", *inputs, "-o", str(bundle), "-q")
    assert written.returncode == 0 and bundle.is_file(), written.stderr
    direct = _run("scan", *inputs, "-o", "json", "-q")
    again = _run("scan", "--snapshot", str(bundle), "-o", "json", "-q")
    assert direct.returncode == again.returncode == 1, again.stderr
    assert _findings(direct.stdout), "the input has findings to compare"
    assert _findings(again.stdout) == _findings(direct.stdout)
    manifest = json.loads(_run_tar_manifest(bundle))
    assert manifest["format"] == "seldon-doctor-snapshot"
    assert [s["live"] for s in manifest["snapshots"]] == [False]


def _run_tar_manifest(bundle: Path) -> str:
    import tarfile

    with tarfile.open(bundle) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        return member.read().decode()


def test_snapshot_from_files_refuses_live_flags(tmp_path: Path) -> None:
    result = _run("snapshot", "--demo", "--logs", "-o", str(tmp_path / "x.tgz"))
    assert result.returncode == 2 and "do not combine them with -f or --demo" in result.stderr
    result = _run("snapshot", "--envoy-config-dump", DUMP, "-o", str(tmp_path / "y.tgz"))
    assert result.returncode == 2 and "go with -f" in result.stderr


def test_envoy_dumps_found_by_the_directory_walk_are_not_noted_as_skipped(tmp_path: Path) -> None:
    """A dump given with --envoy-config-dump is not "no Kubernetes objects" when -f DIR walks
    over it; other non-manifests are, in a section named input notes, not "warnings"."""
    outputs = {fmt: tmp_path / f"r.{fmt}" for fmt in ("json", "markdown", "html")}
    args = [f"-o{fmt}={path}" for fmt, path in outputs.items()]
    result = _run("scan", "-f", str(CASE), "--envoy-config-dump", DUMP, "-o", "table", *args)
    assert result.returncode == 1, result.stderr
    assert "recsys.config_dump.json" not in result.stderr
    report = json.loads(outputs["json"].read_text())
    assert report["input_notes"] == report["warnings"]
    assert [n for n in report["input_notes"] if "skipped" in n] == [
        f"{CASE / 'scenario.yaml'}: no Kubernetes objects, skipped"
    ]
    assert "input notes (1)" in result.stdout and "warnings (" not in result.stdout
    assert "<summary>Input notes (1)</summary>" in outputs["markdown"].read_text()
    html = outputs["html"].read_text()
    assert '<section id="input-notes"><h2>Input notes (1)</h2>' in html
    assert "recsys.config_dump.json: no Kubernetes" not in html
