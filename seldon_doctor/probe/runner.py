"""The load generator: send Open Inference Protocol requests and measure what answers.

``run_probe(target, settings)`` sends ``settings.requests`` inference requests (REST
``POST /v2/models/<name>/infer`` with the ``seldon-model`` header Seldon's Envoy routes on, or
gRPC ``ModelInfer`` with ``--grpc``) from ``settings.concurrency`` worker threads through one
endpoint (Envoy's ``seldon-mesh`` listener). Every run is bounded twice: by the request count
(at most :data:`~seldon_doctor.domain.oip.MAX_REQUESTS`) and by ``settings.max_duration``
seconds, after which no new request starts (one in flight ends within ``settings.timeout``).
Nothing is retried. The request and result types and the body encoding are pure and live in
:mod:`seldon_doctor.domain.oip`.

Each answer is classified with :func:`seldon_doctor.domain.oip.classify` (Envoy's own 404
vs the model server's, 503 flavours, ...), and :func:`observation` folds a run into a
:class:`~seldon_doctor.snapshot.ProbeObservation` for the SD8xx checks.

The requests themselves (REST, or gRPC with ``--grpc``) are sent by
:mod:`seldon_doctor.probe.wire`; only the standard library on the REST path, ``grpc`` is
imported only for ``--grpc``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from seldon_doctor.domain.oip import (
    KIND_NAMES,
    OK,
    ProbeRun,
    ProbeSettings,
    ProbeTarget,
    Sample,
    request_body,
)
from seldon_doctor.domain.probe_stats import latency_summary
from seldon_doctor.probe.wire import GrpcClient, RestClient
from seldon_doctor.snapshot import Origin, ProbeObservation, observation_from_dict


class RateLimiter:
    """A global pace shared by every worker: at most ``rate`` request starts per second."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self, deadline: float) -> bool:
        """Wait for the next slot; False when it would come after ``deadline``."""
        if self.interval <= 0:
            return time.monotonic() < deadline
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            if slot >= deadline:
                return False
            self._next = slot + self.interval
        delay = slot - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return True


# ---- the run --------------------------------------------------------------------------------


def run_probe(
    target: ProbeTarget,
    settings: ProbeSettings,
    *,
    on_sample: Callable[[Sample], None] | None = None,
    limiter: RateLimiter | None = None,
) -> ProbeRun:
    """Send the requests; return when all are answered or ``max_duration`` has passed."""
    settings.validated()
    body = request_body(settings, target)
    run = ProbeRun(target, settings)
    lock = threading.Lock()
    issued = 0
    start = time.monotonic()
    deadline = start + settings.max_duration
    client_cls: Callable[[str, float], Any] = GrpcClient if settings.grpc else RestClient

    def claim() -> bool:
        nonlocal issued
        with lock:
            if issued >= settings.requests or time.monotonic() >= deadline:
                return False
            issued += 1
            return True

    def worker() -> None:
        client = client_cls(settings.endpoint, settings.timeout)
        try:
            for _ in range(settings.requests):  # bounded even if claim() misbehaved
                if not claim():
                    return
                if limiter is not None and not limiter.acquire(deadline):
                    return
                sample = client.send(target, body)
                with lock:
                    run.samples.append(sample)
                if on_sample is not None:
                    on_sample(sample)
        finally:
            client.close()

    workers = min(settings.concurrency, settings.requests)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe") as pool:
        for future in [pool.submit(worker) for _ in range(workers)]:
            future.result()
    run.duration_s = time.monotonic() - start
    run.stopped = "done" if len(run.samples) >= settings.requests else "deadline"
    return run


def observation(
    run: ProbeRun,
    *,
    configured_weights: dict[str, int] | None = None,
    expected_version: str | None = None,
) -> ProbeObservation:
    """Fold a run into the figures the checks and reports use."""
    samples = run.samples
    ok = [s for s in samples if s.verdict == OK]
    statuses = Counter(str(s.status) if s.status else s.code or "error" for s in samples)
    return ProbeObservation(
        kind=KIND_NAMES[run.target.kind],
        namespace=run.target.namespace,
        name=run.target.name,
        endpoint=run.settings.endpoint,
        protocol="grpc" if run.settings.grpc else "rest",
        requests=len(samples),
        ok=len(ok),
        statuses=dict(sorted(statuses.items())),
        verdicts=dict(sorted(Counter(s.verdict for s in samples).items())),
        latency_ms=latency_summary(run.latencies_ms()),
        routes=dict(sorted(Counter(s.route.strip(":") for s in ok if s.route).items())),
        versions=dict(sorted(Counter(s.model_version for s in ok if s.model_version).items())),
        configured_weights=configured_weights,
        expected_version=expected_version,
        slo_p95_ms=run.settings.slo_p95_ms,
        max_error_rate=run.settings.max_error_rate,
        duration_s=round(run.duration_s, 3),
        stopped=run.stopped,
        origin=Origin(file=None, cluster=None),
    )


def probe_many(
    targets: Sequence[ProbeTarget],
    settings: ProbeSettings,
    *,
    rate: float = 20.0,
    parallel: int = 4,
) -> list[ProbeRun]:
    """Light probes for many targets at once, sharing one global rate limit (requests/s)."""
    limiter = RateLimiter(rate)
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(targets) or 1))) as pool:
        futures = [pool.submit(run_probe, t, settings, limiter=limiter) for t in targets]
        return [f.result() for f in futures]


def load_probe_files(paths: Sequence[Any]) -> list[ProbeObservation]:
    """Probe observations from JSON files: one observation, a list, or ``probe -o json``."""
    from pathlib import Path

    out = []
    for path in paths:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        items = data if isinstance(data, list) else [data]
        for item in items:
            body = item.get("observation", item) if isinstance(item, dict) else item
            if not isinstance(body, dict):
                raise ValueError(f"{path}: not a probe observation")
            out.append(observation_from_dict(body, Origin(file=str(path))))
    return out
