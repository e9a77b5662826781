"""Every plan's `seldon-doctor scan …` verify step must still fail on the unfixed input.

For each firing check fixture and each cluster scenario: render the plan, take every verify
step that is a ``seldon-doctor scan`` command, and run it in-process against the same broken
input. The input flags are substituted: ``-n NS`` (live: the namespace and what it depends on)
becomes ``--scope NS``, a ``-f`` placeholder becomes the fixture's files, ``--envoy-admin``
becomes the fixture's Envoy dumps. A verify that reported "no problems" here would tell the
on-call engineer the fix worked while the problem is still there.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from seldon_doctor.cli import cli
from tests.conftest import FIXTURES, case_inputs

# Options that read a live data plane (a port-forward): an offline fixture cannot stand in.
LIVE_ONLY = {"--scheduler", "--scheduler-xds"}
# Options whose value the fixture's own input replaces.
REPLACED = {"-f", "--file", "--envoy-admin", "--envoy-config-dump"}


def _cases() -> list[Path]:
    fires = sorted(p for p in (FIXTURES / "checks").glob("*/fires*"))
    scenarios = sorted(p.parent for p in (FIXTURES / "clusters").glob("*/scenario.yaml"))
    return [*fires, *scenarios]


def _input_args(case: Path) -> list[str]:
    inputs = case_inputs(case)
    dumps = list(inputs.envoy_dumps)
    meta_file = case / "scenario.yaml" if case.is_dir() else None
    if meta_file is not None and meta_file.exists():
        meta = yaml.safe_load(meta_file.read_text())
        dumps = [f"{ns}={case / p}" for ns, p in (meta.get("envoy_dumps") or {}).items()]
    args: list[str] = []
    for file in inputs.files:
        args += ["-f", file]
    for dump in dumps:
        args += ["--envoy-config-dump", dump]
    return args


def _invoke(args: list[str]) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["scan", *args, "-o", "json", "--quiet"])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, json.loads(result.stdout)


def rewrite(command: str, input_args: list[str]) -> list[str] | None:
    """The verify command's arguments against the fixture, or None if it needs a live cluster."""
    tokens = shlex.split(command)
    assert tokens[:2] == ["seldon-doctor", "scan"], command
    out: list[str] = []
    rest = iter(tokens[2:])
    for token in rest:
        if token in LIVE_ONLY:
            return None
        if token in ("-n", "--namespace"):
            out += ["--scope", next(rest)]
        elif token in REPLACED or token in ("-o", "--output"):
            next(rest)
        else:
            out.append(token)
    return [*out, *input_args]


def _verify_steps(case: Path) -> list[tuple[str, str]]:
    input_args = _input_args(case)
    if not input_args:
        return []
    _, data = _invoke(input_args)
    return [
        (entry["check"], entry["verify"]["run"])
        for entry in data["plan"]
        if entry["verify"].get("run", "").startswith("seldon-doctor scan")
    ]


@pytest.mark.parametrize(
    "case",
    _cases(),
    ids=lambda p: f"{p.parent.name}/{p.name}" if p.name.startswith("fires") else p.name,
)
def test_verify_steps_still_fail_on_the_broken_input(case: Path) -> None:
    input_args = _input_args(case)
    for check_id, command in _verify_steps(case):
        args = rewrite(command, input_args)
        if args is None:
            continue
        code, data = _invoke(args)
        found = {f["id"] for f in data["findings"]}
        assert check_id in found, (
            f"verify `{command}` reports no {check_id} on the unfixed {case.name} "
            f"(exit {code}; found {sorted(found)}; not evaluated: "
            f"{[f['message'] for f in data['not_evaluated']]})"
        )


def test_the_demo_plans_verify_steps_still_fail_on_the_demo() -> None:
    _, data = _invoke(["--demo"])
    commands = [
        (e["check"], e["verify"]["run"])
        for e in data["plan"]
        if e["verify"].get("run", "").startswith("seldon-doctor scan")
    ]
    assert ("SD501", "seldon-doctor scan --select SD501,SD601 -n app-a") in commands
    for check_id, command in commands:
        args = rewrite(command, ["--demo"])
        assert args is not None
        code, report = _invoke(args)
        assert code == 1 and check_id in {f["id"] for f in report["findings"]}, command


def test_demo_plan_commands_act_where_the_objects_live() -> None:
    _, data = _invoke(["--demo"])
    (entry,) = [e for e in data["plan"] if e["check"] == "SD502"]
    runs = [s.get("run", "") for e in data["plan"] for s in e["steps"]]
    assert not [r for r in runs if "-n app-a patch seldonruntimes" in r]
    # The only SeldonRuntime is seldon-mesh/seldon; the Envoy runs in seldon-mesh.
    split = [e for e in data["plan"] if e["check"] == "SD501"]
    assert split and all(e.get("resolves_with") for e in split)
    assert entry["steps"]


def test_scope_reports_a_namespace_with_what_it_depends_on() -> None:
    from seldon_doctor.graph.build import build_graph
    from seldon_doctor.scope import scope_namespaces
    from seldon_doctor.sources.collect import collect_files, demo_inputs

    graph = build_graph(collect_files(demo_inputs()))
    # app-a aliases seldon-mesh's scheduler and Envoy; the controller runs in seldon-system.
    assert scope_namespaces(graph, ["app-a"]) == {"app-a", "seldon-mesh", "seldon-system"}
    code, data = _invoke(["--demo", "--scope", "app-a"])
    namespaces = {f["resource"]["namespace"] for f in data["findings"]}
    assert code == 1 and namespaces == {"app-a", "seldon-mesh"}  # app-b's are left out
    assert any("about other namespaces are not reported" in w for w in data["warnings"])
