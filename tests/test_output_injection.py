"""Input text cannot drive the terminal or break a format.

Names, requirements and condition text carrying escape sequences (clear screen, window title,
OSC 8 hyperlink), C1 controls, DEL, bidi overrides and carriage returns go through every text
renderer, the trace, and the CLI on a pipe; nothing of it may come out raw. JUnit and GraphML
stay well-formed XML; Markdown cannot grow a fake heading or table row.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from seldon_doctor.engine import Report, run_checks
from seldon_doctor.graph.build import DeploymentGraph, build_graph
from seldon_doctor.render import (
    FORMATS,
    RenderOptions,
    get_renderer,
    graph_export,
    graph_networkx,
)
from seldon_doctor.render.safe import safe_line, safe_text
from seldon_doctor.render.terminal import render_report
from seldon_doctor.render.trace_tree import render_tree
from seldon_doctor.snapshot import KubeObject, Snapshot
from seldon_doctor.trace import trace
from tests.conftest import FIXTURES, load_case

CLEAR = "\x1b[2J\x1b[H"
TITLE = "\x1b]0;pwned\x07"
LINK = "\x1b]8;;https://evil.example/\x1b\\click here\x1b]8;;\x1b\\"
C1 = "\x9b31m"
BIDI = "\u202egnp.exe\u202c\u2066x\u2069"
FAKE = "\r## ✅ gate passed\r\n# fake heading\n| fake | row |"
OTHER = "\x7f\x0c\x00\x08"
HOSTILE = CLEAR + TITLE + LINK + C1 + BIDI + FAKE + OTHER
EVIL_NAME = "evil" + CLEAR + "\x0c" + "\u202ename"
# Raw characters none of the outputs may carry (CR: a lone one rewrites the line).
RAW = ("\x1b", "\x9b", "\x07", "\x7f", "\x0c", "\x00", "\x08", "\r", "\u202e", "\u202c", "\u2066")


def _raw(text: str) -> list[str]:
    return [repr(c) for c in RAW if c in text]


def _planted() -> Snapshot:
    snapshot = load_case(FIXTURES / "clusters" / "central-scheduler-split-brain")
    model = next(o.body for o in snapshot.objects if o.kind == "Model" and o.name == "fraud-score")
    model["spec"]["requirements"] = ["sklearn", "req" + HOSTILE]
    model["status"]["conditions"] = [
        {"type": "ModelReady", "status": "False", "message": "ScheduleFailed", "reason": HOSTILE},
        {"type": "Ready", "status": "False", "reason": HOSTILE},
    ]
    snapshot.objects.append(
        KubeObject(
            {
                "apiVersion": "mlops.seldon.io/v1alpha1",
                "kind": "Model",
                "metadata": {"name": EVIL_NAME, "namespace": "app-a"},
                "spec": {"storageUri": "gs://m/x", "requirements": ["nothing-has-this"]},
            }
        )
    )
    return snapshot


@pytest.fixture(scope="module")
def scanned() -> tuple[DeploymentGraph, Report]:
    graph = build_graph(_planted())
    report = run_checks(graph)
    return graph, report


def test_the_hostile_text_is_quoted(scanned: tuple[DeploymentGraph, Report]) -> None:
    _, report = scanned
    dump = json.dumps(
        [f.message for f in report.findings] + [str(f.resource) for f in report.findings]
    )
    assert "gate passed" in dump and "evil" in dump, "the test must reach the renderers"


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_no_raw_control_characters_in_any_format(
    scanned: tuple[DeploymentGraph, Report], fmt: str
) -> None:
    graph, report = scanned
    text = get_renderer(fmt)(report, RenderOptions(exit_code=1, show_plan=True, graph=graph))
    assert not _raw(text), f"-o {fmt} carries {_raw(text)}"
    if fmt in ("json", "sarif"):
        json.loads(text)
    if fmt == "junit":
        ET.fromstring(text)  # well-formed
    if fmt == "markdown":
        lines = text.splitlines()
        assert not [line for line in lines if line.startswith("## ✅")]
        assert not [line for line in lines if line.startswith("# ")]
        assert not [line for line in lines if line.startswith("| fake")]


def test_graph_exports(scanned: tuple[DeploymentGraph, Report]) -> None:
    graph, report = scanned
    for export in (
        graph_export.to_dot,
        graph_export.to_mermaid,
        graph_export.to_json,
        graph_networkx.to_graphml,
    ):
        text = export(graph, report.findings)
        assert not _raw(text), f"{export.__name__} carries {_raw(text)}"
    ET.fromstring(graph_networkx.to_graphml(graph, report.findings).encode())


def test_tty_output_has_only_our_own_escapes(scanned: tuple[DeploymentGraph, Report]) -> None:
    _, report = scanned
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="truecolor", width=120)
    render_report(report, console, show_plan=True)
    text = re.sub(r"\x1b\[[0-9;]*m", "", buffer.getvalue())  # rich's own SGR styling
    assert not _raw(text), _raw(text)
    assert "\\x1b[2J" in text  # shown, inert


def test_trace(scanned: tuple[DeploymentGraph, Report]) -> None:
    graph, _ = scanned
    result = trace(graph, "Model", "app-a", "fraud-score")
    for force in (False, True):
        buffer = io.StringIO()
        render_tree(result, Console(file=buffer, force_terminal=force, width=200))
        text = re.sub(r"\x1b\[[0-9;]*m", "", buffer.getvalue())
        assert not _raw(text), _raw(text)
    assert not _raw(json.dumps(result.to_dict()))


def test_cli_on_a_pipe(tmp_path: Path) -> None:
    documents: list[Any] = [
        {
            "apiVersion": "mlops.seldon.io/v1alpha1",
            "kind": "Model",
            "metadata": {"name": "m", "namespace": "ns"},
            "spec": {"storageUri": "gs://m/x", "requirements": ["req" + HOSTILE]},
        }
    ]
    path = tmp_path / ("in" + "\x1b[2J" + ".yaml")
    path.write_text(yaml.safe_dump_all(documents))
    for args in (
        ["scan", "-f", str(path), "--plan"],
        ["trace", "m", "-n", "ns", "-f", str(path)],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "seldon_doctor", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode in (0, 1, 3), result.stderr
        out = result.stdout + result.stderr
        assert not _raw(out), (args[0], _raw(out))


def test_safe_text_keeps_ordinary_text() -> None:
    for text in ("iris", "docker.io/seldonio/mlserver:1.7.1", "a\tb\nc", "ünïcödé ✔", "🔴"):
        assert safe_text(text) is text
    assert safe_line("a\r\nb\rc\nd") == "a b c d"
    assert safe_text("a\r\nb\rc") == "a\nb\nc"
    assert safe_text("\x1b[2J\u202e\x9b") == "\\x1b[2J\\u202e\\x9b"
