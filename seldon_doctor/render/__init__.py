"""Output formats: each renders a finished Report to text. Renderers never compute findings."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seldon_doctor.engine import Report
    from seldon_doctor.suppress import AppliedConfig


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """What a renderer may use besides the report."""

    exit_code: int
    show_plan: bool = False
    # The DeploymentGraph, for formats that draw it (HTML); None when not built.
    graph: Any = None
    # Seconds the scan took, for metrics; None keeps output deterministic.
    duration: float | None = None
    # Unix time the scan finished, for metrics; None keeps output deterministic.
    timestamp: float | None = None
    # The --fail-on threshold (JUnit marks findings at/above it as failures).
    fail_on: str = "error"
    # The .seldon-doctor.yaml (or --config) the scan applied, and what it removed; None: none.
    config: AppliedConfig | None = None
    # Metrics: the cluster label of every series (--cluster; None: only findings of a live
    # scan name theirs), and whether the scan read several clusters (findings keep their own).
    cluster: str | None = None
    multi_cluster: bool = False


Renderer = Callable[["Report", RenderOptions], str]

# format name -> "module:function"; modules are imported only when the format is asked for.
FORMATS: dict[str, str] = {
    "table": "seldon_doctor.render.terminal:render_text",
    "json": "seldon_doctor.render.json_report:render",
    "sarif": "seldon_doctor.render.sarif:render",
    "junit": "seldon_doctor.render.junit:render",
    "markdown": "seldon_doctor.render.markdown:render",
    "prometheus": "seldon_doctor.render.prometheus:render",
    "html": "seldon_doctor.render.html:render",
}


def get_renderer(fmt: str) -> Renderer:
    module, _, name = FORMATS[fmt].partition(":")
    renderer: Renderer = getattr(importlib.import_module(module), name)
    return renderer
