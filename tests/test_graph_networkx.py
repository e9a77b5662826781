"""networkx for the graph's standard exports: the conversion, GraphML, and who imports networkx.

The graph lives in its own store so that scans and ``explain`` start without networkx; only
``graph -o graphml`` imports it. GraphML read back by networkx must hold the graph: the same
node ids and edges, the attributes, the broken nodes flagged.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence

import networkx as nx
import pytest

from seldon_doctor.app.graph import judged_graph
from seldon_doctor.findings import Finding
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.render.graph_export import broken_ids, to_json
from seldon_doctor.render.graph_networkx import to_graphml, to_networkx
from tests.conftest import FIXTURES

SD501_FIRES = str(FIXTURES / "checks" / "SD501" / "fires.yaml")
INPUTS = {"sd501-fires": ((SD501_FIRES,), False), "demo": ((), True)}


@pytest.fixture(params=sorted(INPUTS))  # per test: one test adds a hostile node
def judged(request: pytest.FixtureRequest) -> tuple[DeploymentGraph, Sequence[Finding]]:
    files, demo = INPUTS[request.param]
    return judged_graph(files, (), (), demo, ())


def test_to_networkx_holds_the_store(judged: tuple[DeploymentGraph, Sequence[Finding]]) -> None:
    graph, _ = judged
    converted = to_networkx(graph)
    assert isinstance(converted, nx.MultiDiGraph)
    assert list(converted.nodes(data=True)) == list(graph.g.nodes(data=True))
    assert list(converted.edges(keys=True, data=True)) == list(graph.g.edges(data=True, keys=True))
    first = next(iter(converted.nodes))
    converted.nodes[first]["kind"] = "changed"
    assert graph.g.nodes[first].get("kind") != "changed", "a copy, not the graph's own dicts"


def test_graphml_round_trip(judged: tuple[DeploymentGraph, Sequence[Finding]]) -> None:
    graph, findings = judged
    text = to_graphml(graph, findings)
    read = nx.read_graphml(io.BytesIO(text.encode()), force_multigraph=True)
    assert isinstance(read, nx.MultiDiGraph) and read.is_directed()
    assert set(read.nodes) == set(graph.g.nodes)
    assert read.number_of_edges() == graph.g.number_of_edges()
    assert Counter((s, t, d["type"]) for s, t, d in read.edges(data=True)) == Counter(
        (s, t, d["type"]) for s, t, d in graph.g.edges(data=True)
    )
    for node, data in read.nodes(data=True):
        # Pod slots and the controller added as edge ends carry no attributes in the graph.
        assert set(data) == set(graph.g.nodes[node]) | {"broken"}
        assert data.get("kind") == graph.g.nodes[node].get("kind")
    assert sum("kind" in data for _, data in read.nodes(data=True)) > len(read) / 2
    dials = [d for _, _, d in read.edges(data=True) if d["type"] == "dials"]
    assert dials and all(isinstance(d["port"], int) and d["host"] for d in dials)
    flagged = {node for node, data in read.nodes(data=True) if data["broken"]}
    assert flagged == broken_ids(findings) & set(graph.g.nodes)
    assert flagged, "the scenario's findings must name graph nodes"
    assert text == to_graphml(graph, findings), "the same graph gives the same file"
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    root = ET.fromstring(text)
    booleans = {k.get("id") for k in root.findall("g:key", ns) if k.get("attr.type") == "boolean"}
    values = {d.text for d in root.iter(f"{{{ns['g']}}}data") if d.get("key") in booleans}
    assert booleans and values <= {"true", "false"}, "XML Schema booleans, not Python's True"


def test_graphml_flattens_non_scalars_and_makes_hostile_text_inert(
    judged: tuple[DeploymentGraph, Sequence[Finding]],
) -> None:
    graph, findings = judged
    hostile = "evil\x1b[2J\x00\x0c\u202ename\r\nline"
    graph.g.add_node(
        f"Model/app/{hostile}",
        kind="Model",
        requirements=["sklearn", hostile],
        labels={"b": "2", "a": hostile},
        unset=None,
    )
    text = to_graphml(graph, findings)
    ET.fromstring(text.encode())  # well-formed XML 1.0 despite NUL, ESC and form feed
    for raw in ("\x1b", "\x00", "\x0c", "\u202e", "\r"):
        assert raw not in text
    read = nx.read_graphml(io.BytesIO(text.encode()))
    node = r"Model/app/evil\x1b[2J\x00\x0c\u202ename line"
    data = read.nodes[node]
    assert json.loads(data["labels"]) == {"a": hostile, "b": "2"}
    assert list(json.loads(data["labels"])) == ["a", "b"]  # sorted JSON text
    assert json.loads(data["requirements"]) == ["sklearn", hostile]
    assert "unset" not in data


def test_json_is_already_node_link(judged: tuple[DeploymentGraph, Sequence[Finding]]) -> None:
    """Why there is no ``-o node-link``: ``-o json`` loads with networkx's own reader."""
    graph, findings = judged
    read = nx.node_link_graph(
        json.loads(to_json(graph, findings)), directed=True, multigraph=True, edges="edges"
    )
    assert set(read.nodes) == set(graph.g.nodes)
    assert read.number_of_edges() == graph.g.number_of_edges()
    assert {d["type"] for _, _, d in read.edges(data=True)} == {
        d["type"] for _, _, d in graph.g.edges(data=True)
    }


_IMPORTS = (
    "import sys\n"
    "from seldon_doctor.cli import main\n"
    "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
    "print('NETWORKX=' + str('networkx' in sys.modules), file=sys.stderr)\n"
)


@pytest.mark.parametrize(
    ("args", "imports"),
    [
        (("scan", "-f", SD501_FIRES), False),
        (("explain", "SD501"), False),
        (("graph", "-f", SD501_FIRES, "-o", "dot"), False),
        (("graph", "-f", SD501_FIRES, "-o", "graphml"), True),
    ],
)
def test_only_graphml_imports_networkx(args: tuple[str, ...], imports: bool) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _IMPORTS, *args], capture_output=True, text=True, check=True
    )
    assert result.stderr.strip().splitlines()[-1] == f"NETWORKX={imports}"
    if "graphml" in args:
        assert nx.read_graphml(io.BytesIO(result.stdout.encode())).number_of_nodes() > 0
