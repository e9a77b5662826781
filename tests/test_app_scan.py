"""The application layer without click: ``run_scan(ScanRequest)`` gives the report, graph and
exit code that ``seldon-doctor scan`` prints, for files, the demo, a live cluster (through the
API double) and the what-if gate; and its errors are plain ``RequestError``s."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from seldon_doctor.app.scan import ScanRequest, ScanResult, run_scan
from seldon_doctor.cli import cli
from seldon_doctor.errors import ExitCode, RequestError
from seldon_doctor.render import RenderOptions, get_renderer
from tests.conftest import FIXTURES
from tests.kube_api_double import KubeApiDouble, write_kubeconfig

CLUSTERS = FIXTURES / "clusters"
MISMATCH = CLUSTERS / "capability-mismatch"


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["scan", "-o", "json", "--quiet", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def _json(result: ScanResult, fail_on: str = "error") -> str:
    options = RenderOptions(
        exit_code=int(result.exit_code),
        graph=result.graph,
        fail_on=fail_on,
        config=result.applied,
    )
    return get_renderer("json")(result.report, options)


def _same_as_cli(request: ScanRequest, *args: str) -> ScanResult:
    result = run_scan(request)
    code, stdout = _cli(*args)
    assert int(result.exit_code) == code
    assert _json(result, request.fail_on) == stdout
    return result


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Iterator[Any]:
    doubles: list[KubeApiDouble] = []

    def make(*paths: Path) -> str:
        double = KubeApiDouble.from_paths(paths, name="prod")
        double.start()
        doubles.append(double)
        config = tmp_path / "kubeconfig"
        write_kubeconfig(config, double)
        return str(config)

    yield make
    for double in doubles:
        double.stop()


def test_a_files_scan_matches_the_cli() -> None:
    folder = str(CLUSTERS / "central-scheduler-split-brain")
    result = _same_as_cli(ScanRequest(files=(folder,), quiet=True), "-f", folder)
    assert result.exit_code == ExitCode.FINDINGS
    assert result.graph is not None and result.report.findings


def test_the_demo_matches_the_cli_with_gating_flags() -> None:
    request = ScanRequest(demo=True, quiet=True, fail_on="never", min_severity="warning")
    result = _same_as_cli(request, "--demo", "--fail-on", "never", "--min-severity", "warning")
    assert result.exit_code == ExitCode.OK
    assert all(f.severity.value != "info" for f in result.report.findings)


def test_a_live_scan_through_the_api_double_matches_the_cli(kubeconfig: Any) -> None:
    config = kubeconfig(MISMATCH)
    result = _same_as_cli(ScanRequest(kubeconfig=config, quiet=True), "--kubeconfig", config)
    assert all(f.resource.cluster == "prod" for f in result.report.findings)


def test_a_whatif_run_matches_the_cli(kubeconfig: Any, tmp_path: Path) -> None:
    config = kubeconfig(MISMATCH)
    change = tmp_path / "change.yaml"
    model = {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Model",
        "metadata": {"name": "scorer", "namespace": "fraud"},
        "spec": {"storageUri": "gs://m/scorer", "requirements": ["no-such-runtime"]},
    }
    change.write_text(yaml.safe_dump(model))
    request = ScanRequest(files=(str(change),), against_cluster=True, kubeconfig=config, quiet=True)
    args = ("-f", str(change), "--against-cluster", "--kubeconfig", config)
    result = _same_as_cli(request, *args)
    assert result.report.whatif is not None


def test_notes_are_returned_and_handed_over_as_they_happen(tmp_path: Path) -> None:
    seen: list[str] = []
    folder = str(CLUSTERS / "central-scheduler-split-brain")
    result = run_scan(ScanRequest(files=(folder,), baseline=None, on_note=seen.append))
    assert result.notes == seen
    quiet = run_scan(ScanRequest(files=(folder,), quiet=True, on_note=seen.append))
    assert quiet.notes == []


def test_requests_that_do_not_combine_are_request_errors() -> None:
    with pytest.raises(RequestError, match="do not combine"):
        run_scan(ScanRequest(demo=True, kubeconfig="k", quiet=True))
    with pytest.raises(RequestError, match="give it with -f"):
        run_scan(ScanRequest(against_snapshot="x", quiet=True))
    with pytest.raises(RequestError, match="is not a duration"):
        run_scan(ScanRequest(wait_for="soon", quiet=True))


def test_cyclic_gc_is_paused_during_a_scan_and_restored_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gc

    from seldon_doctor.app import scan as app_scan

    states: list[bool] = []
    read = app_scan._read

    def spy(*args: Any) -> Any:
        states.append(gc.isenabled())
        return read(*args)

    monkeypatch.setattr(app_scan, "_read", spy)
    folder = str(CLUSTERS / "central-scheduler-split-brain")
    assert gc.isenabled()
    run_scan(ScanRequest(files=(folder,), quiet=True))
    assert states == [False] and gc.isenabled()
    with pytest.raises(RequestError):  # restored on the way out of a failed scan too
        run_scan(ScanRequest(files=(folder,), quiet=True, wait_for="soon"))
    assert gc.isenabled()
    gc.disable()  # and a caller that had it off keeps it off
    try:
        run_scan(ScanRequest(files=(folder,), quiet=True))
        assert not gc.isenabled()
    finally:
        gc.enable()
