"""The text form of a trace: the request's path as a tree, the first broken hop marked."""

from __future__ import annotations

from typing import Any

from seldon_doctor.redact import redact_text
from seldon_doctor.render.safe import safe_line
from seldon_doctor.trace import BROKEN, OK, UNKNOWN, Hop, TraceResult

_MARK = {OK: ("✔", "green"), BROKEN: ("✗", "bold red"), UNKNOWN: ("?", "yellow")}


def render_tree(result: TraceResult, console: Any) -> None:
    from rich.text import Text
    from rich.tree import Tree

    def text(hop: Hop) -> Text:
        icon, style = _MARK.get(hop.status, ("?", "yellow"))
        out = Text()
        out.append(f"{icon} ", style=style)
        out.append(safe_line(hop.label), style="bold" if hop.first_broken else "")
        if hop.detail:
            out.append(f": {safe_line(hop.detail)}", style="red" if hop.status == BROKEN else "dim")
        if hop.first_broken:
            out.append("  ◀ first broken hop", style="bold red")
        return out

    head = Text()
    head.append("trace ", style="bold")
    head.append(safe_line(f"{result.kind} {result.namespace}/{result.name}"))
    head.append(safe_line(f"  (seldon-model: {result.header}, {result.path})"), style="dim")
    tree = Tree(head)

    def add(parent: Any, hop: Hop) -> None:
        branch = parent.add(text(hop))
        for child in hop.children:
            add(branch, child)

    add(tree, result.root)
    console.print(tree)
    broken = result.first_broken
    summary = Text()
    if broken is None:
        summary.append("path is whole", style="bold green")
        if result.gaps:
            summary.append(
                " as far as the input shows; not read: "
                + safe_line("; ".join(f"{w} ({redact_text(r)})" for w, r in result.gaps)),
                style="yellow",
            )
    else:
        summary.append("broken at ", style="bold red")
        summary.append(safe_line(f"{broken.label}: {broken.detail}"))
    console.print(summary)
