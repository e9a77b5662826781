"""What the exporter knows between scans: the last good scan, counters, readiness."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from seldon_doctor.app.request import ScanResult
    from seldon_doctor.render import RenderOptions
    from seldon_doctor.render.metric_families import Family

# Why a scan did not produce a good report (seldon_doctor_scan_errors_total{reason}):
# unreachable: a cluster could not be read at all; input: the scan's input or config is
# unusable; internal: a bug in seldon-doctor.
REASONS = ("unreachable", "input", "internal")


@dataclass(slots=True)
class GoodScan:
    """A scan that produced a report: what /report.* and the report families show."""

    result: ScanResult
    options: RenderOptions  # exit code, duration, finish time, fail-on, config: as scan's
    families: list[Family]
    rendered: dict[str, str] = field(default_factory=dict)  # format -> text, made on demand


class ExporterState:
    """Shared by the scan thread (writes) and the HTTP threads (read), under one lock."""

    def __init__(self, cluster: str, interval: float) -> None:
        self.cluster = cluster
        self.interval = interval
        self._lock = threading.Lock()
        self.scans = 0
        self.errors = dict.fromkeys(REASONS, 0)
        self.good: GoodScan | None = None
        self.failing = False  # the most recent scan failed

    def begin(self) -> int:
        """Count a scan attempt; returns its number (1 for the first)."""
        with self._lock:
            self.scans += 1
            return self.scans

    def succeed(self, good: GoodScan) -> None:
        with self._lock:
            self.good, self.failing = good, False

    def fail(self, reason: str) -> None:
        if reason not in self.errors:
            raise ValueError(f"unknown scan error reason {reason!r}")
        with self._lock:
            self.errors[reason] += 1
            self.failing = True

    @property
    def ready(self) -> bool:
        """After the first good scan, and while the most recent one succeeded (as /readyz)."""
        with self._lock:
            return self.good is not None and not self.failing

    def counters(self) -> tuple[int, dict[str, int], bool]:
        """Scans attempted, errors by reason, ready: one consistent view."""
        with self._lock:
            return self.scans, dict(self.errors), self.good is not None and not self.failing

    def last_good(self) -> GoodScan | None:
        with self._lock:
            return self.good

    def rendered(self, fmt: str) -> str | None:
        """The last good report in ``fmt`` (json, html) by its renderer; None before one."""
        from seldon_doctor.render import get_renderer

        good = self.last_good()
        if good is None:
            return None
        text = good.rendered.get(fmt)
        if text is None:
            # Rendered outside the lock (HTML takes a while); two requests racing both render
            # the same text, and a newer scan replaces ``good`` with a fresh cache.
            text = get_renderer(fmt)(good.result.report, good.options)
            good.rendered[fmt] = text
        return text
