"""``render.metric_families`` as prometheus_client families, and the exporter's own families.

prometheus_client escapes label values for the exposition; control characters are made visible
first (``safe_line``), as ``-o prometheus`` does, so a hostile name cannot drive a terminal
that shows a scrape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from seldon_doctor.render.metric_families import Family
from seldon_doctor.render.safe import safe_line

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric

    from seldon_doctor.serve.state import ExporterState


def client_families(families: Iterable[Family]) -> Iterator[Metric]:
    """Each family as a prometheus_client ``Metric`` (a counter's samples end in ``_total``)."""
    from prometheus_client.metrics_core import Metric

    for family in families:
        metric = Metric(family.name, family.help, family.type)
        sample = f"{family.name}_total" if family.type == "counter" else family.name
        for labels, value in family.samples:
            metric.add_sample(sample, {k: safe_line(v) for k, v in labels}, float(value))
        yield metric


class FamiliesCollector:
    """A prometheus_client collector over a function that gives the families at scrape time."""

    def __init__(self, families: Callable[[], Iterable[Family]]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from client_families(self.families())


def exporter_families(state: ExporterState) -> list[Family]:
    """What /metrics serves: the last good report's families (none before the first good
    scan) and the exporter's own (readiness, interval, scans and errors by reason)."""
    scans, errors, ready = state.counters()
    good = state.last_good()
    base = (("cluster", state.cluster),)
    own = [
        Family(
            "seldon_doctor_ready",
            "gauge",
            "1 after the first good scan while the most recent scan succeeded (as /readyz).",
            [(base, 1 if ready else 0)],
        ),
        Family(
            "seldon_doctor_scan_interval_seconds",
            "gauge",
            "Configured seconds between scans (each jittered by up to 10 %).",
            [(base, state.interval)],
        ),
        Family("seldon_doctor_scans", "counter", "Scans attempted.", [(base, scans)]),
        Family(
            "seldon_doctor_scan_errors",
            "counter",
            "Scans that produced no report, by reason (unreachable, input, internal).",
            [((*base, ("reason", reason)), count) for reason, count in errors.items()],
        ),
    ]
    return [*(good.families if good is not None else ()), *own]


def exporter_registry(state: ExporterState) -> CollectorRegistry:
    """A registry of the exporter's families plus the process/platform/GC collectors."""
    from prometheus_client import (
        CollectorRegistry,
        GCCollector,
        PlatformCollector,
        ProcessCollector,
    )

    registry = CollectorRegistry()
    collector: Any = FamiliesCollector(lambda: exporter_families(state))
    registry.register(collector)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry
