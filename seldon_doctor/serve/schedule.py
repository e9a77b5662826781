"""When ``serve`` scans: back to back on one thread, an interval apart (jittered), never
overlapping.

The clock, the wait and the random source are injected so the tests can drive hours of
schedule in microseconds.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

JITTER = 0.10  # ± share of the interval: exporters started together drift apart


class Scheduler:
    """Runs ``scan`` now, then every ``interval`` seconds (± ``JITTER``) measured from each
    scan's start: the wait is the jittered interval minus what the scan took, and nothing when
    the scan took longer (the next starts at once; two never run at the same time, as one
    thread runs them all)."""

    def __init__(
        self,
        interval: float,
        scan: Callable[[], None],
        *,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[float], bool] | None = None,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        if interval <= 0:
            raise ValueError("the interval must be positive")
        self.interval = interval
        self.scan = scan
        self.stop = stop or threading.Event()
        self.clock = clock
        # wait(seconds) -> True when stopped meanwhile (threading.Event.wait's contract).
        self.wait = wait or self.stop.wait
        self.uniform = uniform

    def delay(self, elapsed: float) -> float:
        """Seconds to wait after a scan that took ``elapsed`` seconds."""
        period = self.interval * (1.0 + self.uniform(-JITTER, JITTER))
        return max(0.0, period - elapsed)

    def run(self, max_scans: int | None = None) -> int:
        """Scan until stopped (or ``max_scans`` ran); returns how many scans ran."""
        done = 0
        while not self.stop.is_set() and (max_scans is None or done < max_scans):
            started = self.clock()
            self.scan()
            done += 1
            if max_scans is not None and done >= max_scans:
                break
            if self.wait(self.delay(self.clock() - started)):
                break
        return done
