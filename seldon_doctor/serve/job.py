"""One scan of the exporter: ``app.scan.run_scan`` into the state, and one line on stderr.

A scan that fails keeps the last good report: it counts an error by reason and marks the
exporter not ready, and nothing it raises reaches the scan thread (which must outlive it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from seldon_doctor.serve.state import ExporterState, GoodScan

if TYPE_CHECKING:
    from seldon_doctor.app.request import ScanRequest, ScanResult


@dataclass(slots=True)
class ScanJob:
    """Callable by ``Scheduler``: one scan of ``request`` per call."""

    request: ScanRequest
    state: ExporterState
    log: Callable[[str], None]
    wall_clock: Callable[[], float] = time.time
    clock: Callable[[], float] = time.monotonic
    _notes: list[str] = field(default_factory=list)

    def __call__(self) -> None:
        from seldon_doctor.app.scan import run_scan
        from seldon_doctor.errors import InputError, RequestError

        number = self.state.begin()
        started = self.clock()
        try:
            result = run_scan(self.request)
        except (InputError, RequestError) as exc:
            self._failed(number, started, "input", exc.message)
            return
        except Exception as exc:  # a bug must not end the exporter: count it, keep serving
            self._failed(number, started, "internal", f"{type(exc).__name__}: {exc}")
            return
        unread = result.report.unread_clusters
        if unread:  # its notes say the same as the failure line
            detail = "; ".join(f"{gap.what.split(':', 1)[1]}: {gap.reason}" for gap in unread)
            self._failed(number, started, "unreachable", f"could not read {detail}")
            return
        self._log_new_notes(result.notes)
        self._succeeded(number, started, result)

    def _succeeded(self, number: int, started: float, result: ScanResult) -> None:
        from seldon_doctor.render import RenderOptions
        from seldon_doctor.render.metric_families import ScanFacts, report_families

        duration = self.clock() - started
        finished = self.wall_clock()
        options = RenderOptions(
            exit_code=int(result.exit_code),
            graph=result.graph,
            duration=duration,
            timestamp=finished,
            fail_on=self.request.fail_on,
            config=result.applied,
            cluster=self.state.cluster,
            multi_cluster=len(result.clusters) > 1,
        )
        facts = ScanFacts.of(options, cluster=self.state.cluster)
        self.state.succeed(GoodScan(result, options, report_families(result.report, facts)))
        report = result.report
        counts = report.counts()
        # serve may not import findings (tests/test_architecture.py), so not findings.counted.
        gaps, objects = len(report.gaps), report.object_count
        self.log(
            f"scan {number} ok in {duration:.2f}s: {counts['error']} error, "
            f"{counts['warning']} warning, {counts['info']} info, "
            f"{gaps} {'gap' if gaps == 1 else 'gaps'}, "
            f"{objects} {'object' if objects == 1 else 'objects'}, "
            f"exit code {int(result.exit_code)}"
        )

    def _failed(self, number: int, started: float, reason: str, detail: str) -> None:
        self.state.fail(reason)
        good = self.state.last_good()
        kept = "no report yet" if good is None else "keeping the last good report"
        self.log(
            f"scan {number} failed ({reason}) after {self.clock() - started:.2f}s: {detail}; {kept}"
        )

    def _log_new_notes(self, notes: list[str]) -> None:
        """A scan's notes (config applied, partial input), once: every scan repeats them."""
        if notes != self._notes:
            for note in notes:
                if note not in self._notes:
                    self.log(note.removeprefix("note: "))
            self._notes = list(notes)
