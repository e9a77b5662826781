"""Prometheus text exposition (format 0.0.4), e.g. for node_exporter's textfile collector.

The families are ``render/metric_families.py``'s, the ones ``serve`` and ``--push-gateway``
export too; this module only writes them as text.

Everything is deterministic except ``seldon_doctor_scan_duration_seconds`` and
``seldon_doctor_last_success_timestamp_seconds``, which come from RenderOptions and are left
out when it has none. "Success" means the scan ran to a report (exit code 0, 1 or 3); a run
that ends with a usage or input error writes no metrics, so the timestamp goes stale and an
alert on ``time() - seldon_doctor_last_success_timestamp_seconds`` catches it.
"""

from __future__ import annotations

from collections.abc import Iterable

from seldon_doctor.engine import Report
from seldon_doctor.render import RenderOptions
from seldon_doctor.render.metric_families import Family, ScanFacts, report_families
from seldon_doctor.render.safe import safe_line


def _label(value: str) -> str:
    """A label value: one line, control characters visible, quotes and backslashes escaped."""
    return safe_line(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{key}="{_label(value)}"' for key, value in pairs)
    return "{" + inner + "}" if inner else ""


def _number(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


def _family_lines(family: Family) -> list[str]:
    name = f"{family.name}_total" if family.type == "counter" else family.name
    lines = [f"# HELP {name} {family.help}", f"# TYPE {name} {family.type}"]
    lines += [f"{name}{_labels(labels)} {_number(value)}" for labels, value in family.samples]
    return lines


def render_metrics(report: Report, options: RenderOptions) -> str:
    facts = ScanFacts.of(options, cluster=options.cluster)
    lines = [line for family in report_families(report, facts) for line in _family_lines(family)]
    probes = getattr(getattr(options.graph, "snapshot", None), "probes", None)
    if probes:  # scan --probe: the probe figures too (text only: serve does not probe)
        from seldon_doctor.render.probe_report import metric_lines

        lines += metric_lines(probes)
    return "\n".join(lines) + "\n"


def render(report: Report, options: RenderOptions) -> str:
    """Renderer entry point (see seldon_doctor.render.FORMATS)."""
    return render_metrics(report, options)
