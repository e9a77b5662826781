"""How a scan judges a snapshot: the checks to run, config and annotation suppressions, the
baseline, and the exit code a report earns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from seldon_doctor.errors import ExitCode, RequestError

if TYPE_CHECKING:
    from seldon_doctor.engine import Report
    from seldon_doctor.snapshot import Snapshot


def exit_code_for(report: Report, fail_on: str) -> ExitCode:
    """0 clean, 1 findings at/above the threshold, 3 incomplete (gaps) and nothing failed."""
    if fail_on != "never":
        from seldon_doctor.findings import Severity

        threshold = Severity(fail_on).rank
        if any(f.severity.rank >= threshold for f in report.findings):
            return ExitCode.FINDINGS
    if report.incomplete:
        return ExitCode.INCOMPLETE
    return ExitCode.OK


@dataclass(slots=True)
class Judge:
    """The checks a scan runs and what narrows their findings (config, annotations, baseline)."""

    checks: Any
    config: Any = None
    strict: bool = False
    baselined: Any = None
    debug: bool = False
    applied: Any = None  # suppress.AppliedConfig: which config narrowed the scan, and how

    def analyse(self, snapshot: Snapshot) -> tuple[Any, Report]:
        """The graph of ``snapshot`` and its gated report."""
        from seldon_doctor.engine import run_checks
        from seldon_doctor.graph.build import build_graph

        graph = build_graph(snapshot)
        report = run_checks(graph, self.checks, debug=self.debug)
        return graph, self.gate(report, graph)

    def gate(self, report: Report, graph: Any) -> Report:
        """Suppressions (config, then annotations unless --strict), then the baseline."""
        from seldon_doctor.suppress import annotations_from_graph, apply_suppressions

        report = apply_suppressions(
            report, self.config, annotations_from_graph(graph), strict=self.strict
        )
        if self.baselined is not None:
            from seldon_doctor.baseline import apply_baseline

            report = apply_baseline(report, self.baselined)
        return report


def make_judge(
    *,
    config_path: str | None,
    baseline: str | None,
    select: Sequence[str],
    ignore: Sequence[str],
    strict: bool,
    debug: bool,
    note: Callable[[str], None],
) -> Judge:
    """Resolve the config (found upward unless named), the baseline and the checks to run."""
    from seldon_doctor.engine import select_checks
    from seldon_doctor.suppress import resolve_config

    config = resolve_config(config_path)
    baselined = None
    if baseline is not None:
        from seldon_doctor.baseline import load_baseline

        baselined = load_baseline(baseline)
    without_config = [c.id for c in select_checks(select, ignore)]
    if config is not None:
        select = select or config.select
        ignore = (*ignore, *config.ignore)
    checks = select_checks(select, ignore)
    applied = None
    if config is not None:  # every output says which config narrowed the scan, and how
        from seldon_doctor.suppress import applied_config

        applied = applied_config(config, [c.id for c in checks], without_config)
        note(f"note: {applied.describe()}")
    if not checks:
        raise RequestError("--select/--ignore left no checks to run (see seldon-doctor checks)")
    return Judge(checks, config, strict, baselined, debug, applied)
