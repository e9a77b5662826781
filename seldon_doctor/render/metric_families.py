"""The one definition of the report's metric families (docs/metrics.md is their contract).

``-o prometheus`` (``render/prometheus.py``, text written here), ``seldon-doctor serve`` and
``scan --push-gateway`` (``serve/collector.py``, prometheus_client families) all consume
:func:`report_families`, so a family cannot mean one thing in a file and another on /metrics.
Only the serve-only families (readiness, interval, scan counters) are defined in ``serve/``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from seldon_doctor.engine import Report
from seldon_doctor.render import RenderOptions

Labels = tuple[tuple[str, str], ...]
Sample = tuple[Labels, float]

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True, slots=True)
class Family:
    """One metric family: name (without ``_total`` for a counter), type, help, samples."""

    name: str
    type: str  # "gauge" or "counter"
    help: str
    samples: Sequence[Sample]


@dataclass(frozen=True, slots=True)
class ScanFacts:
    """What the families need besides the report.

    ``cluster`` labels every series (None: no label, ``-o prometheus`` without ``--cluster``);
    ``multi_cluster`` says the scan read several clusters, whose findings keep their own
    cluster instead (a single-context scan tags findings with its context name, which
    ``--cluster`` must override or one exporter's series would name two clusters).
    ``duration``/``timestamp`` None leave their families out (deterministic output).
    """

    exit_code: int
    cluster: str | None = None
    multi_cluster: bool = False
    duration: float | None = None
    timestamp: float | None = None

    @classmethod
    def of(cls, options: RenderOptions, *, cluster: str | None) -> ScanFacts:
        """The facts a renderer's options hold, under the cluster label ``cluster``."""
        return cls(
            exit_code=options.exit_code,
            cluster=cluster,
            multi_cluster=options.multi_cluster,
            duration=options.duration,
            timestamp=options.timestamp,
        )


def _gauge(name: str, help_text: str, samples: Sequence[Sample]) -> Family:
    return Family(name, "gauge", help_text, samples)


def report_families(report: Report, facts: ScanFacts) -> list[Family]:
    """Every family of the report, in the order ``-o prometheus`` writes them."""
    base: Labels = (("cluster", facts.cluster),) if facts.cluster is not None else ()

    def scalar(value: float) -> list[Sample]:
        return [(base, value)]

    families = _finding_families(report, facts, base)
    families += [
        _gauge(
            "seldon_doctor_baselined_findings",
            "Findings left out because the --baseline report already had them.",
            scalar(report.baselined),
        ),
        _gauge(
            "seldon_doctor_not_evaluated",
            "Checks (or parts of them) that could not be evaluated, by check.",
            _by_check_and_cluster(
                (
                    (dict(f.params).get("check", f.check_id), f.resource.cluster)
                    for f in report.not_evaluated
                ),
                facts,
            ),
        ),
        _gauge(
            "seldon_doctor_gaps",
            "Inputs that could not be read; non-zero means the scan was partial.",
            scalar(len(report.gaps)),
        ),
        _gauge(
            "seldon_doctor_checks_run",
            "Checks that ran in the last scan.",
            scalar(len(report.checks_run)),
        ),
        _gauge(
            "seldon_doctor_objects",
            "Kubernetes objects read by the last scan.",
            scalar(report.object_count),
        ),
        _gauge(
            "seldon_doctor_exit_code",
            "Exit code of the last scan (0 clean, 1 gate failed, 3 partial).",
            scalar(facts.exit_code),
        ),
    ]
    if facts.duration is not None:
        families.append(
            _gauge(
                "seldon_doctor_scan_duration_seconds",
                "Wall-clock seconds the last scan took.",
                scalar(round(float(facts.duration), 6)),
            )
        )
    if facts.timestamp is not None:
        families.append(
            _gauge(
                "seldon_doctor_last_success_timestamp_seconds",
                "Unix time the last scan that produced a report finished.",
                scalar(round(float(facts.timestamp), 3)),
            )
        )
    return families


def _cluster_of(own: str | None, facts: ScanFacts) -> str | None:
    """A finding's cluster label: its own in a multi-cluster scan (or when no label is set),
    else the scan's."""
    if own and (facts.multi_cluster or facts.cluster is None):
        return own
    return facts.cluster


def _by_check_and_cluster(keys: Iterable[tuple[str, str | None]], facts: ScanFacts) -> list[Sample]:
    counts = Counter((check, _cluster_of(own, facts)) for check, own in keys)
    return [
        ((("check", check), *((("cluster", k),) if k is not None else ())), value)
        for (check, k), value in sorted(
            counts.items(), key=lambda item: (item[0][0], item[0][1] or "")
        )
    ]


def _finding_families(report: Report, facts: ScanFacts, base: Labels) -> list[Family]:
    """Findings by check/severity/namespace/cluster/role, by severity, and suppressed."""
    findings = Counter(
        (
            f.check_id,
            f.severity.value,
            f.resource.namespace,
            _cluster_of(f.resource.cluster, facts),
            "consequence" if f.caused_by else "root",
        )
        for f in report.findings
    )
    suppressed = Counter(
        (s.finding.check_id, s.kind, _cluster_of(s.finding.resource.cluster, facts))
        for s in report.suppressed
    )
    counts = report.counts()
    return [
        _gauge(
            "seldon_doctor_findings",
            "Findings of the last scan by check, severity, namespace, cluster and role (root, or "
            "consequence of another finding); suppressed, baselined and hidden ones excluded.",
            [
                (
                    (
                        ("check", c),
                        ("severity", s),
                        ("namespace", n),
                        *((("cluster", k),) if k is not None else ()),
                        ("role", r),
                    ),
                    value,
                )
                for (c, s, n, k, r), value in sorted(
                    findings.items(), key=lambda item: tuple(v or "" for v in item[0])
                )
            ],
        ),
        _gauge(
            "seldon_doctor_findings_by_severity",
            "Findings of the last scan by severity, zero included.",
            [((("severity", s), *base), counts[s]) for s in SEVERITIES],
        ),
        _gauge(
            "seldon_doctor_suppressed_findings",
            "Findings silenced by .seldon-doctor.yaml (kind=config) or a seldon-doctor.io/ignore "
            "annotation (kind=annotation).",
            [
                (
                    (("check", c), ("kind", kind), *((("cluster", k),) if k is not None else ())),
                    value,
                )
                for (c, kind, k), value in sorted(
                    suppressed.items(), key=lambda item: tuple(v or "" for v in item[0])
                )
            ],
        ),
    ]
