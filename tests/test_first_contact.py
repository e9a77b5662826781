"""First contact: the messages a newcomer meets are true and point somewhere (issue 16)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from seldon_doctor.cli import cli


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "seldon_doctor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_bare_command_prints_help_and_where_to_start_with_exit_0() -> None:
    result = CliRunner().invoke(cli, [])
    assert result.exit_code == 0
    assert "Commands:" in result.output and "seldon-doctor scan --demo" in result.output
    assert "error" not in result.output.lower().split("commands:")[0]


def test_unknown_check_ids_are_refused_not_silently_dropped() -> None:
    for args in (["--select", "SD501,SD999"], ["--ignore", "SD9999"], ["--select", "SD999"]):
        result = _run("scan", "--demo", "-o", "json", *args)
        assert result.returncode == 2, args
        assert result.stderr.count("\n") == 1 and "unknown check id or slug" in result.stderr


def test_a_slug_is_accepted_where_an_id_is() -> None:
    result = CliRunner().invoke(
        cli, ["scan", "--demo", "--select", "scheduler-split-brain", "-o", "json", "--quiet"]
    )
    assert result.exit_code == 1
    assert '"SD501"' in result.stdout


def test_scan_help_documents_every_exit_code() -> None:
    text = CliRunner().invoke(cli, ["scan", "--help"]).output
    for code in ("0  nothing", "1  findings", "2  usage", "3  the analysis", "4  internal"):
        assert code in text


def test_command_descriptions_are_not_cut_off() -> None:
    text = CliRunner(env={"COLUMNS": "80"}).invoke(cli, ["--help"]).output
    commands = text.split("Commands:", 1)[1]
    assert "..." not in commands


def test_a_closed_pipe_is_not_a_finding() -> None:
    """`explain SD501 | head -1` must exit 0, not rich's 1 for a broken pipe."""
    shell = f"{sys.executable} -m seldon_doctor explain SD501 | head -1; exit ${{PIPESTATUS[0]}}"
    result = subprocess.run(
        ["bash", "-c", shell], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("SD501")


def test_two_formats_on_stdout_are_refused() -> None:
    result = _run("scan", "--demo", "-o", "json", "-o", "sarif")
    assert result.returncode == 2
    assert "json and sarif would both go to standard output" in result.stderr


def test_one_format_on_stdout_and_others_in_files_is_fine(tmp_path: Path) -> None:
    result = _run("scan", "--demo", "-q", "-o", "json", "-o", f"sarif={tmp_path / 'r.sarif'}")
    assert result.returncode == 1 and result.stdout.startswith("{")
    assert (tmp_path / "r.sarif").is_file()


def test_demo_refuses_an_envoy_dump_it_would_ignore(tmp_path: Path) -> None:
    dump = tmp_path / "d.json"
    dump.write_text("{}")
    result = _run("scan", "--demo", "--envoy-config-dump", str(dump))
    assert result.returncode == 2 and "--demo brings its own Envoy dump" in result.stderr


def test_scan_probe_without_endpoint_names_the_scan_option() -> None:
    from seldon_doctor.probe.command import NO_ENDPOINT

    assert "--probe-endpoint URL" in NO_ENDPOINT


def test_slo_against_a_dead_endpoint_is_not_measured_not_met() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: every request is refused
    result = _run(
        "probe", "iris", "-n", "seldon-mesh", "--endpoint", f"http://127.0.0.1:{port}",
        "--requests", "3", "--timeout", "1", "--slo-p95", "100ms",
    )  # fmt: skip
    assert "success    0/3" in result.stdout, result.stdout + result.stderr
    assert "not measured (no successful request)" in result.stdout
    assert ": met" not in result.stdout


def test_the_program_ends_without_teardown_but_with_all_its_output_and_its_code() -> None:
    """The entry point leaves with os._exit (no teardown of a big scan's objects): what it
    printed must still be whole, and the exit code the command's."""
    import json

    result = _run("scan", "--demo", "-o", "json")
    assert result.returncode == 1  # the demo has findings
    in_process = CliRunner().invoke(cli, ["scan", "--demo", "-o", "json"])
    assert json.loads(result.stdout) == json.loads(in_process.stdout)
    usage = _run("scan", "--no-such-flag")
    assert usage.returncode == 2 and usage.stderr.count("\n") == 1, usage.stderr


def test_a_profiled_run_still_writes_its_profile(tmp_path: Path) -> None:
    """cProfile writes at interpreter exit: the entry point must not skip that (bench_live)."""
    out = tmp_path / "scan.prof"
    result = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "seldon_doctor", "checks"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 0


def test_the_fast_exit_still_deletes_the_client_key_files_the_kubernetes_client_wrote(
    tmp_path: Path,
) -> None:
    """The kubernetes client writes a kubeconfig's client certificate and private key into
    temporary files and deletes them in an atexit handler; leaving with os._exit must not
    leave a private key behind in the temporary directory."""
    import base64
    import os

    key = b"-----BEGIN PRIVATE KEY-----\nTk9ULUEtUkVBTC1LRVk=\n-----END PRIVATE KEY-----\n"
    cert = b"-----BEGIN CERTIFICATE-----\nTk9ULUEtUkVBTC1DRVJU\n-----END CERTIFICATE-----\n"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        # https: only then does the client write the certificate files; port 1 refuses at once.
        "clusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\n"
        "contexts:\n- name: c\n  context: {cluster: c, user: u}\n"
        "users:\n- name: u\n  user:\n"
        f"    client-certificate-data: {base64.b64encode(cert).decode()}\n"
        f"    client-key-data: {base64.b64encode(key).decode()}\n",
        encoding="utf-8",
    )
    temp = tmp_path / "tmp"
    temp.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "seldon_doctor", "scan", "--kubeconfig", str(kubeconfig), "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "TMPDIR": str(temp)},
    )
    assert result.returncode == 3, result.stdout + result.stderr  # refused: partial, not a crash
    assert list(temp.iterdir()) == []
