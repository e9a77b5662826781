"""The what-if gate (issue 12 item 2): ``scan -f CHANGES --against-cluster|--against-snapshot``.

The cluster is served by the API double and read with the real kubernetes client; the same
cluster captured with ``seldon-doctor snapshot`` is the bundle. Each case proves that only what
the change introduces is reported (and gates), and what it resolves is listed as fixed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from seldon_doctor.cli import cli
from seldon_doctor.engine import run_checks
from seldon_doctor.graph.build import build_graph
from seldon_doctor.snapshot import KubeObject, Snapshot
from seldon_doctor.whatif import compare, finding_key, overlay
from tests.conftest import FIXTURES
from tests.kube_api_double import KubeApiDouble, write_kubeconfig

CLUSTERS = FIXTURES / "clusters"
MISMATCH = CLUSTERS / "capability-mismatch"


def _scan(*args: str) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(cli, ["scan", "-o", "json", "--quiet", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    try:
        data = json.loads(result.stdout)
    except ValueError:
        data = {}
    return result.exit_code, data, result.stderr


def _ids(findings: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(f["id"], f"{f['resource']['kind']}/{f['resource']['name']}") for f in findings}


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Any]:
    """A kubeconfig for an API double serving the given folders (stopped afterwards)."""
    doubles: list[KubeApiDouble] = []

    def make(*paths: Path, **options: Any) -> str:
        double = KubeApiDouble.from_paths(paths, name="prod", **options)
        double.start()
        doubles.append(double)
        config = tmp_path / "kubeconfig"
        write_kubeconfig(config, double)
        return str(config)

    yield make
    for double in doubles:
        double.stop()


def _write(tmp_path: Path, name: str, *docs: dict[str, Any]) -> str:
    folder = tmp_path / "change"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(yaml.safe_dump_all(docs))
    return str(folder)


def _model(name: str, *requirements: str, namespace: str = "fraud") -> dict[str, Any]:
    return {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Model",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "storageUri": f"gs://ml-artifacts-prod/fraud/{name}",
            "requirements": list(requirements),
            "memory": "100Ki",
        },
    }


def _bundle(tmp_path: Path, config: str) -> str:
    target = tmp_path / "bundle.tar.gz"
    result = CliRunner().invoke(cli, ["snapshot", "--kubeconfig", config, "-q", "-o", str(target)])
    assert result.exit_code == 0, result.stderr
    return str(target)


@pytest.fixture(params=["cluster", "snapshot"])
def against(request: pytest.FixtureRequest, cluster: Any, tmp_path: Path) -> Any:
    """``--against-cluster`` through the API double, or ``--against-snapshot`` of it."""

    def make(*paths: Path, **options: Any) -> list[str]:
        config = cluster(*paths, **options)
        if request.param == "cluster":
            return ["--against-cluster", "--kubeconfig", config]
        return ["--against-snapshot", _bundle(tmp_path, config)]

    return make


def test_a_new_model_with_a_capability_no_server_offers_is_introduced(
    against: Any, tmp_path: Path
) -> None:
    # The cluster already has fraud-detector requiring scikit-learn (SD102): not reported.
    # SD102's real behaviour: exact, case-sensitive match, with the near miss as a hint.
    base = against(MISMATCH)
    change = _write(tmp_path, "model.yaml", _model("new-scorer", "scikit-learn"))
    code, report, err = _scan("-f", change, *base)
    assert code == 1, err
    assert _ids(report["findings"]) == {("SD102", "Model/new-scorer")}
    assert "did you mean 'sklearn'" in report["findings"][0]["message"]
    assert report["fixed"] == []
    assert report["whatif"]["introduced"] == 1 and report["whatif"]["unchanged"] >= 1
    assert report["summary"]["exit_code"] == 1


def test_a_change_that_fixes_the_requirement_is_listed_as_fixed(
    against: Any, tmp_path: Path
) -> None:
    base = against(MISMATCH)
    change = _write(tmp_path, "model.yaml", _model("fraud-detector", "sklearn"))
    code, report, err = _scan("-f", change, *base)
    assert ("SD102", "Model/fraud-detector") in _ids(report["fixed"])
    assert not [f for f in report["findings"] if f["severity"] == "error"], report["findings"]
    assert code == 0, err


def test_a_no_op_change_introduces_and_fixes_nothing(against: Any, tmp_path: Path) -> None:
    base = against(MISMATCH)
    change = _write(tmp_path, "model.yaml", _model("fraud-rules", "sklearn"))
    code, report, err = _scan("-f", change, *base)
    assert (code, report["findings"], report["fixed"]) == (0, [], []), err
    assert report["whatif"]["introduced"] == 0 and report["whatif"]["fixed"] == 0


def _split_brain_base(tmp_path: Path) -> tuple[list[Path], dict[str, Any]]:
    """Central scheduler; app-a's agents are pinned to it by FQDN and its aliases point there.
    The change: a SeldonRuntime in app-a (its controller takes over app-a's seldon-scheduler)."""
    folder = CLUSTERS / "central-scheduler-split-brain"
    paths = [
        p for p in folder.glob("*.yaml") if p.name not in ("10-runtime-app-a.yaml", "scenario.yaml")
    ]
    paths.append(CLUSTERS / "central-scheduler-healthy" / "20-app-app-a.yaml")
    items = yaml.safe_load((folder / "10-runtime-app-a.yaml").read_text())["items"]
    runtime = next(i for i in items if i["kind"] == "SeldonRuntime")
    manifest = {k: runtime[k] for k in ("apiVersion", "kind", "spec")}
    manifest["metadata"] = {"name": runtime["metadata"]["name"], "namespace": "app-a"}
    return paths, manifest


def test_a_second_seldon_runtime_introduces_split_brain(against: Any, tmp_path: Path) -> None:
    paths, runtime = _split_brain_base(tmp_path)
    base = against(*paths)
    if base[0] == "--against-cluster":
        code, before, _ = _scan("--fail-on", "never", *base[1:])
    else:
        code, before, _ = _scan("--fail-on", "never", "--snapshot", base[1])
    assert "SD501" not in {f["id"] for f in before["findings"]}, "the cluster starts healthy"
    change = _write(tmp_path, "runtime.yaml", runtime)
    code, report, err = _scan("-f", change, *base)
    assert code == 1, err
    assert "SD501" in {f["id"] for f in report["findings"]}, report["findings"]
    assert report["fixed"] == []


def test_exit_codes_come_from_introduced_findings_and_gaps(cluster: Any, tmp_path: Path) -> None:
    change = _write(tmp_path, "model.yaml", _model("new-scorer", "scikit-learn"))
    config = cluster(MISMATCH, forbidden={"networkpolicies"})
    base = ["--against-cluster", "--kubeconfig", config]
    assert _scan("-f", change, *base)[0] == 1
    assert _scan("-f", change, *base, "--fail-on", "never")[0] == 3  # the read had a gap
    noop = _write(tmp_path, "model.yaml", _model("fraud-rules", "sklearn"))
    code, report, _ = _scan("-f", noop, *base)
    assert code == 3 and report["gaps"] and report["findings"] == []


@pytest.mark.parametrize(
    "extra", [["--dataplane"], ["--probe"], ["--wait", "1m"], ["--envoy-config-dump", "x.json"]]
)
def test_data_plane_flags_are_not_combinable(extra: list[str], tmp_path: Path) -> None:
    change = _write(tmp_path, "model.yaml", _model("m", "sklearn"))
    code, _, err = _scan("-f", change, "--against-cluster", *extra)
    assert code == 2
    assert "cannot be combined with --against-*" in err


def test_against_without_a_change_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = _scan("--against-snapshot", str(tmp_path))
    assert code == 2 and "give it with -f" in err


def test_sarif_and_table_show_only_introduced_and_the_fixed_section(
    cluster: Any, tmp_path: Path
) -> None:
    config = cluster(MISMATCH)
    change = _write(
        tmp_path,
        "models.yaml",
        _model("fraud-detector", "sklearn"),
        _model("new-scorer", "scikit-learn"),
    )
    args = ["scan", "-q", "-f", change, "--against-cluster", "--kubeconfig", config]
    sarif = json.loads(CliRunner().invoke(cli, [*args, "-o", "sarif"]).stdout)
    run = sarif["runs"][0]
    assert {r["ruleId"] for r in run["results"]} == {"SD102"}
    assert len([r for r in run["results"] if r["ruleId"] == "SD102"]) == 1
    assert run["properties"]["whatif"]["fixed"] >= 1
    table = CliRunner().invoke(cli, [*args, "-o", "table", "--no-color"]).stdout
    assert "Fixed by this change" in table and "fraud-detector" in table
    assert "What-if against cluster" in table


def _objects(*docs: dict[str, Any]) -> list[KubeObject]:
    return [KubeObject(d) for d in docs]


def test_overlay_replaces_by_group_kind_namespace_name_and_keeps_status() -> None:
    live = _model("a", "sklearn")
    live["status"] = {"conditions": [{"type": "ModelReady", "status": "False"}]}
    other_group = {**_model("a", "x"), "apiVersion": "other.io/v1"}
    base = Snapshot(objects=_objects(live, other_group, _model("b", "sklearn")), live=True)
    change = Snapshot(objects=_objects(_model("a", "xgboost"), _model("c", "sklearn")))
    after = overlay(base, change)
    by = {(o.group, o.name): o for o in after.objects}
    assert len(after.objects) == 4
    assert by[("mlops.seldon.io", "a")].spec["requirements"] == ["xgboost"]
    assert by[("mlops.seldon.io", "a")].status == live["status"]  # until the controller acts
    assert by[("other.io", "a")].spec["requirements"] == ["x"]
    assert after.pending == {("Model", "fraud", "a"), ("Model", "fraud", "c")}
    assert len(base.objects) == 3 and not base.pending  # pure


def test_identity_ignores_numbers_in_messages() -> None:
    snap = Snapshot(objects=_objects(_model("a", "scikit-learn")))
    report = run_checks(build_graph(snap))
    (finding,) = [f for f in report.findings if f.check_id == "SD102"]
    from dataclasses import replace

    reworded = replace(finding, message=finding.message.replace("Model", "Model", 1) + " 42")
    renumbered = replace(finding, message=finding.message + " 17")
    assert finding_key(reworded) == finding_key(renumbered)
    diff = compare(
        replace(report, findings=[reworded]), replace(report, findings=[renumbered]), "x"
    )
    assert diff.findings == [] and diff.fixed == []
