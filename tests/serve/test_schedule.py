"""The exporter's schedule with an injected clock: hours of scans in microseconds."""

from __future__ import annotations

import itertools
import random
import threading
import time

import pytest

from seldon_doctor.serve.schedule import JITTER, Scheduler


class FakeTime:
    """A clock that only moves when a scan works or the scheduler waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        assert seconds >= 0
        self.waits.append(seconds)
        self.now += seconds
        return False


def _run(durations: list[float], interval: float, uniform: object) -> list[tuple[float, float]]:
    fake = FakeTime()
    spans: list[tuple[float, float]] = []
    remaining = list(durations)

    def scan() -> None:
        start = fake.now
        fake.now += remaining.pop(0)
        spans.append((start, fake.now))

    scheduler = Scheduler(
        interval,
        scan,
        clock=fake.clock,
        wait=fake.wait,
        uniform=uniform,  # type: ignore[arg-type]
    )
    assert scheduler.run(max_scans=len(durations)) == len(durations)
    return spans


def test_next_scan_starts_one_jittered_interval_after_the_last_started() -> None:
    factors = iter([0.1, -0.1, 0.0])
    spans = _run([10.0, 20.0, 5.0, 1.0], 300.0, lambda lo, hi: next(factors))
    starts = [start for start, _ in spans]
    # Interval measured from each start: 300 * 1.1, 300 * 0.9, 300 * 1.0.
    assert starts == [0.0, 330.0, 600.0, 900.0]


def test_a_scan_longer_than_the_interval_is_followed_at_once_never_overlapped() -> None:
    spans = _run([700.0, 10.0, 650.0, 10.0], 300.0, lambda lo, hi: 0.0)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end  # one after the other
    assert spans[1][0] == spans[0][1]  # no wait after an overrun
    assert spans[2][0] == 700.0 + 300.0  # the second started at 700 and took 10
    assert spans[3][0] == spans[2][1]


def test_jitter_stays_within_ten_percent_and_spreads() -> None:
    scheduler = Scheduler(300.0, lambda: None, uniform=random.Random(18).uniform)
    delays = [scheduler.delay(elapsed=0.0) for _ in range(2000)]
    assert min(delays) >= 300.0 * (1 - JITTER) and max(delays) <= 300.0 * (1 + JITTER)
    assert max(delays) - min(delays) > 300.0 * JITTER  # it does jitter
    assert scheduler.delay(elapsed=400.0) == 0.0


def test_stop_ends_the_loop_during_a_wait() -> None:
    stop = threading.Event()
    ran: list[int] = []

    def scan() -> None:
        ran.append(1)
        if len(ran) == 3:
            stop.set()

    # Real threads and waits: an interval of an hour must not hold up the stop.
    scheduler = Scheduler(3600.0, scan, stop=stop, wait=lambda s: stop.wait(0 if ran else s))
    worker = threading.Thread(target=scheduler.run)
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive() and len(ran) == 3


def test_scans_on_the_real_clock_never_run_concurrently() -> None:
    running, most = [0], [0]
    lock = threading.Lock()

    def scan() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02)  # longer than the interval: the next is due before this ends
        with lock:
            running[0] -= 1

    scheduler = Scheduler(0.005, scan)
    assert scheduler.run(max_scans=10) == 10
    assert most[0] == 1


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Scheduler(0, lambda: None)
