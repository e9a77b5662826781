"""The deployment graph as a networkx ``MultiDiGraph``, and as GraphML (yEd, Gephi, Cytoscape).

The graph keeps its nodes and edges in its own light store (``graph/store.py``) because importing
networkx costs 0.3-0.4 s, more than a small scan; networkx is imported here, inside the
functions, so only ``graph -o graphml`` (and a caller of :func:`to_networkx`) pays for it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from seldon_doctor.findings import Finding
from seldon_doctor.render.graph_export import broken_ids
from seldon_doctor.render.safe import json_safe, safe_line

if TYPE_CHECKING:
    import networkx as nx

    from seldon_doctor.graph.build import DeploymentGraph


def to_networkx(graph: DeploymentGraph) -> nx.MultiDiGraph[str]:
    """A networkx copy of the graph: the same nodes and keyed edges, attributes and order."""
    import networkx as nx

    out: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    out.add_nodes_from(graph.g.nodes(data=True))
    out.add_edges_from(graph.g.edges(data=True, keys=True))
    return out


def _scalars(attrs: dict[str, Any]) -> dict[str, Any]:
    """GraphML holds only scalars: a list or mapping becomes its sorted JSON text, ``None`` is
    left out; every text is made inert (XML 1.0 forbids most C0 controls and networkx does not
    escape them; a bidi override or an escape sequence would act when the file is printed)."""
    out: dict[str, Any] = {}
    for name, value in sorted(attrs.items()):
        if value is None:
            continue
        if isinstance(value, str):
            value = safe_line(value)
        elif not isinstance(value, bool | int | float):
            value = json_safe(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str))
        out[safe_line(name)] = value
    return out


def to_graphml(graph: DeploymentGraph, findings: Iterable[Finding] = ()) -> str:
    """Every node and edge (sorted, so the same input gives the same file), each node with
    ``broken`` set when a finding names it, as the other graph formats highlight it."""
    import networkx as nx

    broken = broken_ids(findings)
    source = to_networkx(graph)
    # Node ids go through safe_line like the DOT labels; a hostile name that only differs from
    # another by a control character and its visible escape would merge with it (as in DOT).
    out: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    for node in sorted(source.nodes):
        out.add_node(safe_line(node), **_scalars({**source.nodes[node], "broken": node in broken}))
    edges = sorted(source.edges(keys=True, data=True), key=lambda e: e[:3])
    for index, (src, dst, _key, data) in enumerate(edges):
        # networkx writes the key as the edge's id, which GraphML wants unique in the file
        # (Gephi drops an edge whose id it has seen); the graph keys edges by their type, which
        # every edge carries as its ``type`` attribute.
        out.add_edge(safe_line(src), safe_line(dst), key=f"e{index}", **_scalars(data))
    buffer = io.BytesIO()
    nx.write_graphml(out, buffer, encoding="utf-8")
    return _xsd_booleans(buffer.getvalue().decode("utf-8")).rstrip("\n") + "\n"


def _xsd_booleans(xml: str) -> str:
    """networkx writes booleans as Python prints them (``True``) under ``attr.type="boolean"``,
    which XML Schema spells ``true``/``false``: strict GraphML readers refuse the former."""
    import xml.etree.ElementTree as ET

    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    ET.register_namespace("", ns["g"])
    root = ET.fromstring(xml)
    booleans = {k.get("id") for k in root.findall("g:key", ns) if k.get("attr.type") == "boolean"}
    for data in root.iter(f"{{{ns['g']}}}data"):
        if data.get("key") in booleans and data.text in ("True", "False"):
            data.text = data.text.lower()
    return ET.tostring(root, encoding="unicode", xml_declaration=True)
