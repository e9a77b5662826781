"""Prometheus text exposition (format 0.0.4), e.g. for node_exporter's textfile collector.

Everything is deterministic except ``seldon_doctor_scan_duration_seconds`` and
``seldon_doctor_last_success_timestamp_seconds``, which come from RenderOptions and are left
out when it has none. "Success" means the scan ran to a report (exit code 0, 1 or 3); a run
that ends with a usage or input error writes no metrics, so the timestamp goes stale and an
alert on ``time() - seldon_doctor_last_success_timestamp_seconds`` catches it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from seldon_doctor.engine import Report
from seldon_doctor.render import RenderOptions
from seldon_doctor.render.safe import safe_line


def _label(value: str) -> str:
    """A label value: one line, control characters visible, quotes and backslashes escaped."""
    return safe_line(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{key}="{_label(value)}"' for key, value in pairs)
    return "{" + inner + "}" if inner else ""


def _number(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


def _family(
    name: str, help_text: str, samples: list[tuple[tuple[tuple[str, str], ...], float]]
) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    lines += [f"{name}{_labels(labels)} {_number(value)}" for labels, value in samples]
    return lines


def render_metrics(report: Report, options: RenderOptions) -> str:
    not_evaluated = Counter(dict(f.params).get("check", f.check_id) for f in report.not_evaluated)
    lines = _finding_families(report)
    lines += _family(
        "seldon_doctor_baselined_findings",
        "Findings left out because the --baseline report already had them.",
        [((), report.baselined)],
    )
    lines += _family(
        "seldon_doctor_not_evaluated",
        "Checks (or parts of them) that could not be evaluated, by check.",
        [((("check", c),), value) for c, value in sorted(not_evaluated.items())],
    )
    lines += _family(
        "seldon_doctor_gaps",
        "Inputs that could not be read; non-zero means the scan was partial.",
        [((), len(report.gaps))],
    )
    lines += _family(
        "seldon_doctor_checks_run",
        "Checks that ran in the last scan.",
        [((), len(report.checks_run))],
    )
    lines += _family(
        "seldon_doctor_objects",
        "Kubernetes objects read by the last scan.",
        [((), report.object_count)],
    )
    lines += _family(
        "seldon_doctor_exit_code",
        "Exit code of the last scan (0 clean, 1 gate failed, 3 partial).",
        [((), options.exit_code)],
    )
    probes = getattr(getattr(options.graph, "snapshot", None), "probes", None)
    if probes:  # scan --probe: the probe figures too
        from seldon_doctor.render.probe_report import metric_lines

        lines += metric_lines(probes)
    if options.duration is not None:
        lines += _family(
            "seldon_doctor_scan_duration_seconds",
            "Wall-clock seconds the last scan took.",
            [((), round(float(options.duration), 6))],
        )
    if options.timestamp is not None:
        lines += _family(
            "seldon_doctor_last_success_timestamp_seconds",
            "Unix time the last scan that produced a report finished.",
            [((), round(float(options.timestamp), 3))],
        )
    return "\n".join(lines) + "\n"


def _finding_families(report: Report) -> list[str]:
    """The findings families: by check/severity/namespace(/cluster), by severity, suppressed."""
    findings = Counter(
        (f.check_id, f.severity.value, f.resource.namespace, f.resource.cluster or "")
        for f in report.findings
    )
    suppressed = Counter((s.finding.check_id, s.kind) for s in report.suppressed)
    counts = report.counts()
    lines: list[str] = []
    lines += _family(
        "seldon_doctor_findings",
        "Findings of the last scan by check, severity and namespace, and by cluster in a "
        "live scan (suppressed, baselined and hidden findings excluded).",
        [
            # cluster only when the scan read clusters: several contexts share one text file.
            (
                (
                    ("check", c),
                    ("severity", s),
                    ("namespace", n),
                    *((("cluster", k),) if k else ()),
                ),
                value,
            )
            for (c, s, n, k), value in sorted(findings.items())
        ],
    )
    lines += _family(
        "seldon_doctor_findings_by_severity",
        "Findings of the last scan by severity, zero included.",
        [((("severity", s),), counts[s]) for s in ("error", "warning", "info")],
    )
    lines += _family(
        "seldon_doctor_suppressed_findings",
        "Findings silenced by .seldon-doctor.yaml (kind=config) or a seldon-doctor.io/ignore "
        "annotation (kind=annotation).",
        [((("check", c), ("kind", k)), value) for (c, k), value in sorted(suppressed.items())],
    )
    return lines


def render(report: Report, options: RenderOptions) -> str:
    """Renderer entry point (see seldon_doctor.render.FORMATS)."""
    return render_metrics(report, options)
