"""The deployment graph as DOT, Mermaid or JSON, with broken nodes highlighted."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from seldon_doctor.findings import Finding
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.render.safe import safe_line

_SHAPES = {
    "Namespace": "folder",
    "Deployment": "box3d",
    "StatefulSet": "box3d",
    "Service": "hexagon",
    "Pod": "ellipse",
    "Model": "component",
    "Experiment": "diamond",
    "Pipeline": "cds",
    "Server": "cylinder",
    "Envoy": "doubleoctagon",
    "EnvoyRoute": "note",
    "SeldonRuntime": "tab",
}
# Envoy routes and Endpoints are numerous and obvious from their parents; kept out of pictures.
_HIDDEN_IN_PICTURES = frozenset({"EnvoyRoute", "Endpoints", "EndpointSlice", "ConfigMap"})


def broken_ids(findings: Iterable[Finding]) -> set[str]:
    out = set()
    for finding in findings:
        ref = finding.resource
        out.add(
            f"{ref.kind}/{ref.namespace}/{ref.name}" if ref.namespace else f"{ref.kind}/{ref.name}"
        )
    return out


def _visible(graph: DeploymentGraph) -> list[str]:
    return sorted(
        n for n, data in graph.g.nodes(data=True) if data.get("kind") not in _HIDDEN_IN_PICTURES
    )


def _quote(text: str) -> str:
    """A DOT string: one line, control characters visible, quotes and backslashes escaped."""
    return '"' + safe_line(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: DeploymentGraph, findings: Iterable[Finding] = ()) -> str:
    broken = broken_ids(findings)
    nodes = _visible(graph)
    keep = set(nodes)
    lines = ["digraph seldon {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];']
    by_ns: dict[str, list[str]] = {}
    for node in nodes:
        parts = node.split("/")
        by_ns.setdefault(parts[1] if len(parts) == 3 else "", []).append(node)
    for index, (ns, members) in enumerate(sorted(by_ns.items())):
        indent = "  "
        if ns:
            lines.append(f"  subgraph cluster_{index} {{")
            lines.append(f"    label={_quote(ns)}; style=rounded; color=grey;")
            indent = "    "
        for node in members:
            data = graph.g.nodes[node]
            kind = data.get("kind", "")
            # DOT's \n is a line break inside a label; the parts themselves are quoted safely.
            label = _quote(kind)[:-1] + "\\n" + _quote(node.rsplit("/", 1)[-1])[1:]
            attrs = [f"label={label}", f"shape={_SHAPES.get(kind, 'box')}"]
            if node in broken:
                attrs += ["color=red", "penwidth=2", "fontcolor=red"]
            elif data.get("missing"):
                attrs += ["style=dashed", "color=red"]
            elif data.get("implied"):
                attrs.append("style=dashed")
            lines.append(f"{indent}{_quote(node)} [{', '.join(attrs)}];")
        if ns:
            lines.append("  }")
    for src, dst, data in sorted(
        graph.g.edges(data=True), key=lambda e: (e[0], e[1], e[2].get("type", ""))
    ):
        if src not in keep or dst not in keep:
            continue
        attrs = [f"label={_quote(str(data.get('type', '')))}"]
        if src in broken or dst in broken or data.get("ready") is False:
            attrs.append("color=red")
        lines.append(f"  {_quote(src)} -> {_quote(dst)} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(graph: DeploymentGraph, findings: Iterable[Finding] = ()) -> str:
    broken = broken_ids(findings)
    nodes = _visible(graph)
    ids = {node: f"n{index}" for index, node in enumerate(nodes)}
    lines = ["flowchart LR"]
    for node in nodes:
        label = re.sub(r'["<>]', "", safe_line(node))
        lines.append(f'  {ids[node]}["{label}"]')
    for src, dst, data in sorted(
        graph.g.edges(data=True), key=lambda e: (e[0], e[1], e[2].get("type", ""))
    ):
        if src in ids and dst in ids:
            lines.append(f"  {ids[src]} -->|{data.get('type', '')}| {ids[dst]}")
    for node in nodes:
        if node in broken:
            lines.append(f"  style {ids[node]} stroke:#d00,stroke-width:3px")
    return "\n".join(lines) + "\n"


def to_json(graph: DeploymentGraph, findings: Iterable[Finding] = ()) -> str:
    broken = broken_ids(findings)
    nodes = [
        {"id": node, **dict(sorted(graph.g.nodes[node].items())), "broken": node in broken}
        for node in sorted(graph.g.nodes)
    ]
    edges = [
        {"source": src, "target": dst, **dict(sorted(data.items()))}
        for src, dst, data in sorted(
            graph.g.edges(data=True), key=lambda e: (e[0], e[1], e[2].get("type", ""))
        )
    ]
    return json.dumps({"nodes": nodes, "edges": edges}, indent=2, sort_keys=True) + "\n"
