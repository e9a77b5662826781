"""The deployment graph as a self-contained inline SVG (no Graphviz, no JavaScript).

A simple layered layout: one horizontal lane per namespace (cluster-scoped objects on top) and
one column per role, left to right in the direction most edges point — Seldon resources,
runtimes and Servers, workloads, Services, Pods, Namespaces. Broken nodes (a finding is about
them) and the edges touching them are red; objects a controller will create (manifest mode) are
dashed; referenced-but-missing objects are dashed red.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape as _html_escape
from typing import Any

from seldon_doctor.findings import Finding
from seldon_doctor.render.safe import safe_text


def escape(text: str) -> str:
    """Input text for SVG: control characters made visible, then XML-escaped."""
    return _html_escape(safe_text(text))


# Numerous, and obvious from their parents: kept out of the picture (as in graph_export).
HIDDEN_KINDS = frozenset({"EnvoyRoute", "Endpoints", "EndpointSlice", "ConfigMap"})
COLUMNS: tuple[tuple[str, frozenset[str]], ...] = (
    ("resources", frozenset({"Experiment", "Pipeline", "Model"})),
    ("runtime", frozenset({"SeldonConfig", "SeldonRuntime", "ServerConfig", "Server"})),
    ("workloads", frozenset({"Controller", "Deployment", "StatefulSet", "Envoy", "DaemonSet"})),
    ("services", frozenset({"Service"})),
    ("pods", frozenset({"Pod"})),
    ("namespaces", frozenset({"Namespace"})),
)
OTHER_COLUMN = "other"
CLUSTER_LANE = "(cluster-scoped)"

NODE_W = 168
NODE_H = 38
COL_GAP = 44
ROW_GAP = 10
LANE_HEAD = 24
LANE_PAD = 10
LEFT = 12
TOP = 8
MAX_NAME = 24

BROKEN = "#d0021b"
INVOLVED = "#d98300"
EDGE = "#8a94a6"


@dataclass(frozen=True, slots=True)
class Box:
    node: str
    kind: str
    name: str
    x: float
    y: float
    broken: bool
    missing: bool
    implied: bool
    involved: bool = False


EdgeKey = tuple[str, str, str]


def involvement(graph: Any, findings: Iterable[Finding]) -> tuple[set[str], set[EdgeKey]]:
    """Nodes and edges a finding's evidence names: who dials what, and the pods behind it.

    Evidence of the form ``subject="<role> Kind/ns/name", field="dials", value="host:port"``
    (the scheduler checks) marks that consumer's dial edge, the Service it reaches and the
    pods listed after ``=>`` in the note, so the picture shows the paths that split a brain.
    """
    nodes: set[str] = set()
    edges: set[EdgeKey] = set()
    for finding in findings:
        for item in finding.evidence:
            if item.field != "dials" or not isinstance(item.value, str):
                continue
            source = item.subject.split()[-1] if item.subject.split() else ""
            if source not in graph.g:
                continue
            for _, target, data in graph.g.out_edges(source, data=True):
                if data.get("type") != "dials":
                    continue
                if f"{data.get('host')}:{data.get('port')}" != item.value:
                    continue
                nodes.update((source, target))
                edges.add((source, target, "dials"))
                pods = (item.note or "").split("=>", 1)[1] if "=>" in (item.note or "") else ""
                for pod in pods.split(";", 1)[0].split(","):
                    pod = pod.strip().split(" ", 1)[0]
                    if pod.count("/") == 1:
                        pod_id = f"Pod/{pod}"
                        if graph.g.has_edge(target, pod_id):
                            nodes.add(pod_id)
                            edges.add((target, pod_id, "selects"))
    return nodes, edges


def _kind(node: str, data: Mapping[str, Any]) -> str:
    return str(data.get("kind") or node.split("/", 1)[0])


def _lane(node: str, kind: str) -> str:
    parts = node.split("/")
    if len(parts) == 3:
        return parts[1]
    if kind == "Namespace" and len(parts) == 2:
        return parts[1]
    return CLUSTER_LANE


def _column(kind: str) -> str:
    for name, kinds in COLUMNS:
        if kind in kinds:
            return name
    return OTHER_COLUMN


def broken_nodes(findings: Iterable[Finding]) -> tuple[set[str], set[str]]:
    """Node ids findings are about, and namespaces (lanes) a Namespace finding is about."""
    nodes: set[str] = set()
    lanes: set[str] = set()
    for finding in findings:
        ref = finding.resource
        nodes.add(
            f"{ref.kind}/{ref.namespace}/{ref.name}" if ref.namespace else f"{ref.kind}/{ref.name}"
        )
        if ref.kind == "Namespace":
            nodes.add(f"Namespace/{ref.name}")
            lanes.add(ref.name)
    return nodes, lanes


def _short(text: str) -> str:
    return text if len(text) <= MAX_NAME else text[: MAX_NAME - 1] + "…"


def layout(
    graph: Any, findings: Iterable[Finding] = ()
) -> tuple[list[Box], list[tuple[str, float, float]], float, float]:
    """Boxes, lanes (name, top, height), and the picture's width and height."""
    findings = list(findings)
    broken, _ = broken_nodes(findings)
    involved, _ = involvement(graph, findings)
    cells: dict[tuple[str, str], list[str]] = defaultdict(list)
    kinds: dict[str, str] = {}
    for node, data in graph.g.nodes(data=True):
        kind = _kind(node, data)
        if kind in HIDDEN_KINDS:
            continue
        kinds[node] = kind
        cells[(_lane(node, kind), _column(kind))].append(node)
    used = {column for _, column in cells}
    order = [name for name, _ in COLUMNS if name in used]
    if OTHER_COLUMN in used:
        order.append(OTHER_COLUMN)
    x_of = {column: LEFT + index * (NODE_W + COL_GAP) for index, column in enumerate(order)}
    lanes = sorted({lane for lane, _ in cells}, key=lambda n: (n != CLUSTER_LANE, n))
    boxes: list[Box] = []
    lane_rows: list[tuple[str, float, float]] = []
    y = TOP
    for lane in lanes:
        rows = max(len(cells.get((lane, column), ())) for column in order)
        height = LANE_HEAD + rows * (NODE_H + ROW_GAP) - ROW_GAP + 2 * LANE_PAD
        lane_rows.append((lane, y, height))
        for column in order:
            members = sorted(cells.get((lane, column), ()), key=lambda n: (kinds[n], n))
            for row, node in enumerate(members):
                data = graph.g.nodes[node]
                boxes.append(
                    Box(
                        node=node,
                        kind=kinds[node],
                        name=node.rsplit("/", 1)[-1],
                        x=x_of[column],
                        y=y + LANE_HEAD + LANE_PAD + row * (NODE_H + ROW_GAP),
                        broken=node in broken,
                        missing=bool(data.get("missing")),
                        implied=bool(data.get("implied")),
                        involved=node in involved,
                    )
                )
        y += height + 6
    width = LEFT * 2 + max(len(order), 1) * (NODE_W + COL_GAP) - COL_GAP
    return boxes, lane_rows, float(width), float(max(y, TOP + 40))


def _curve(sx: float, sy: float, c1: float, c2: float, dx: float, dy: float) -> str:
    return f"M{sx:.0f},{sy:.0f} C{c1:.0f},{sy:.0f} {c2:.0f},{dy:.0f} {dx:.0f},{dy:.0f}"


def _edge_path(src: Box, dst: Box) -> str:
    sy, dy = src.y + NODE_H / 2, dst.y + NODE_H / 2
    if dst.x > src.x:
        sx, dx = src.x + NODE_W, dst.x
        bend = max((dx - sx) / 2, 20)
        return _curve(sx, sy, sx + bend, dx - bend, dx, dy)
    if dst.x < src.x:
        sx, dx = src.x, dst.x + NODE_W
        bend = max((sx - dx) / 2, 20)
        return _curve(sx, sy, sx - bend, dx + bend, dx, dy)
    # Same column: loop out to the right.
    sx = dx = src.x + NODE_W
    bend = 26 + abs(dy - sy) / 6
    return (
        f"M{sx:.0f},{sy:.0f} C{sx + bend:.0f},{sy:.0f} {dx + bend:.0f},{dy:.0f} {dx:.0f},{dy:.0f}"
    )


def to_svg(
    graph: Any,
    findings: Iterable[Finding] = (),
    *,
    links: Mapping[str, str] | None = None,
) -> str:
    """Inline SVG markup; ``links`` maps node ids to in-page anchors (``#f-1``)."""
    findings = list(findings)
    boxes, lanes, width, height = layout(graph, findings)
    _, broken_lanes = broken_nodes(findings)
    _, involved_edges = involvement(graph, findings)
    by_id = {box.node: box for box in boxes}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" role="img" '
        f'aria-label="Deployment graph" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif">',
        "<defs>",
        f'<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        f'fill="{EDGE}"/></marker>',
        f'<marker id="arrow-broken" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        f'fill="{BROKEN}"/></marker>',
        "</defs>",
    ]
    for index, (lane, top, lane_height) in enumerate(lanes):
        fill = "#f4f6fa" if index % 2 == 0 else "#eaeef5"
        bad = lane in broken_lanes
        border = f' stroke="{BROKEN}" stroke-width="2"' if bad else ""
        out.append(
            f'<g class="lane{" broken" if bad else ""}" data-namespace="{escape(lane)}">'
            f'<rect x="2" y="{top:.0f}" width="{width - 4:.0f}" height="{lane_height:.0f}" '
            f'rx="6" fill="{fill}"{border}/>'
            f'<text x="{LEFT}" y="{top + 16:.0f}" font-size="12" font-weight="bold" '
            f'fill="{BROKEN if bad else "#3b4252"}">namespace {escape(lane)}</text></g>'
            if lane != CLUSTER_LANE
            else f'<g class="lane" data-namespace=""><rect x="2" y="{top:.0f}" '
            f'width="{width - 4:.0f}" height="{lane_height:.0f}" rx="6" fill="{fill}"/>'
            f'<text x="{LEFT}" y="{top + 16:.0f}" font-size="12" font-weight="bold" '
            f'fill="#3b4252">{CLUSTER_LANE}</text></g>'
        )
    out += _edges_svg(graph, by_id, involved_edges)  # red edges drawn last, on top
    out += [_box_svg(box, links) for box in boxes]
    out.append("</svg>")
    return "\n".join(out)


def _edges_svg(graph: Any, by_id: Mapping[str, Box], involved_edges: set[EdgeKey]) -> list[str]:
    """The edges between drawn boxes, broken ones (red) last so they are drawn on top."""
    edges = sorted(graph.g.edges(data=True), key=lambda e: (e[0], e[1], str(e[2].get("type", ""))))
    normal: list[str] = []
    red: list[str] = []
    for src, dst, data in edges:
        if src not in by_id or dst not in by_id or src == dst:
            continue
        # A broken owner does not make everything it creates broken: "implies" edges turn
        # red only between two broken objects; other edges when either end is broken.
        ends = (by_id[src].broken, by_id[dst].broken)
        touched = all(ends) if data.get("type") == "implies" else any(ends)
        named = (src, dst, str(data.get("type", ""))) in involved_edges
        is_broken = touched or named or data.get("ready") is False
        kind = escape(str(data.get("type", "")))
        title = f"<title>{escape(src)} {kind} {escape(dst)}</title>"
        path = _edge_path(by_id[src], by_id[dst])
        if is_broken:
            red.append(
                f'<path class="edge broken" data-type="{kind}" d="{path}" fill="none" '
                f'stroke="{BROKEN}" stroke-width="2.2" marker-end="url(#arrow-broken)">'
                f"{title}</path>"
            )
        else:
            normal.append(
                f'<path class="edge" data-type="{kind}" d="{path}" fill="none" '
                f'stroke="{EDGE}" stroke-width="1.2" stroke-opacity="0.8" '
                f'marker-end="url(#arrow)">{title}</path>'
            )
    return normal + red


def _box_svg(box: Box, links: Mapping[str, str] | None) -> str:
    """One node's box, linked to its finding when ``links`` names one."""
    if box.broken:
        stroke, fill, width_px, dash = BROKEN, "#fde8ea", 3.0, ""
    elif box.missing:
        stroke, fill, width_px, dash = BROKEN, "#ffffff", 1.5, ' stroke-dasharray="5,3"'
    elif box.involved:
        stroke, fill, width_px, dash = INVOLVED, "#fff6e5", 2.2, ""
    elif box.implied:
        stroke, fill, width_px, dash = "#7b8496", "#ffffff", 1.2, ' stroke-dasharray="4,3"'
    else:
        stroke, fill, width_px, dash = "#4c566a", "#ffffff", 1.2, ""
    classes = "node" + (" broken" if box.broken else "") + (" missing" if box.missing else "")
    classes += " implied" if box.implied else ""
    classes += " involved" if box.involved and not box.broken else ""
    suffix = " (missing)" if box.missing else " (implied)" if box.implied else ""
    group = (
        f'<g class="{classes}" data-id="{escape(box.node)}">'
        f"<title>{escape(box.node)}{suffix}</title>"
        f'<rect x="{box.x:.0f}" y="{box.y:.0f}" width="{NODE_W}" height="{NODE_H}" rx="5" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="{width_px}"{dash}/>'
        f'<text x="{box.x + 8:.0f}" y="{box.y + 14:.0f}" font-size="10" '
        f'fill="{BROKEN if box.broken else "#6b7385"}">{escape(box.kind)}{suffix}</text>'
        f'<text x="{box.x + 8:.0f}" y="{box.y + 30:.0f}" font-size="12.5" '
        f'font-weight="{"bold" if box.broken else "normal"}" '
        f'fill="{BROKEN if box.broken else "#1f2430"}">{escape(_short(box.name))}</text>'
        "</g>"
    )
    anchor = (links or {}).get(box.node)
    if anchor:
        group = f'<a href="{escape(anchor)}">{group}</a>'
    return group
