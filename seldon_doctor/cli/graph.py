"""``seldon-doctor graph``: the deployment graph as DOT, Mermaid, JSON, GraphML or SVG."""

from __future__ import annotations

import sys
from typing import Any

import click

from seldon_doctor.cli.options import GRAPH_FORMATS, file_input_options
from seldon_doctor.cli.output import usage_errors
from seldon_doctor.errors import InputError


@click.command(short_help="The deployment graph as DOT, Mermaid, JSON, GraphML or SVG.")
@file_input_options
@click.option(
    "-o", "--output", "fmt", type=click.Choice(GRAPH_FORMATS), default="dot", show_default=True
)
def graph(
    files: tuple[str, ...],
    envoy_dumps: tuple[str, ...],
    namespaces: tuple[str, ...],
    demo: bool,
    crds: tuple[str, ...],
    fmt: str,
) -> None:
    """Print the deployment graph (broken nodes highlighted) as DOT, Mermaid, JSON, GraphML or SVG.

    It reads manifests or captured state (-f) or the demo (--demo), never a cluster: capture
    one first with kubectl get ... -o yaml (see README). GraphML opens in yEd, Gephi and
    Cytoscape. SVG needs Graphviz's dot on PATH.
    """
    from seldon_doctor.app.graph import judged_graph
    from seldon_doctor.render import graph_export, graph_networkx

    if fmt == "svg":
        import shutil

        if shutil.which("dot") is None:
            raise InputError(
                "graph -o svg needs Graphviz's dot on PATH (apt-get install graphviz); "
                "-o dot, -o mermaid and -o json work without it"
            )
    with usage_errors():
        built, findings = judged_graph(files, envoy_dumps, namespaces, demo, crds)
    render: dict[str, Any] = {
        "dot": graph_export.to_dot,
        "mermaid": graph_export.to_mermaid,
        "json": graph_export.to_json,
        "graphml": graph_networkx.to_graphml,
        "svg": _dot_to_svg,
    }
    sys.stdout.write(render[fmt](built, findings))


def _dot_to_svg(built: Any, findings: Any) -> str:
    import subprocess

    from seldon_doctor.render.graph_export import to_dot

    try:
        result = subprocess.run(
            ["dot", "-Tsvg"],
            input=to_dot(built, findings),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(f"graph -o svg: running Graphviz dot failed: {exc}") from None
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise InputError(f"graph -o svg: Graphviz dot exited {result.returncode}: {detail}")
    return result.stdout
