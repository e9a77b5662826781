"""Active verification: send Open Inference Protocol requests and measure what answers.

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

Only the standard library on the REST path; ``grpc`` is imported only for ``--grpc``.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from seldon_doctor.domain.oip import (
    BYPASSED_ENVOY,
    ENVOY_NO_ROUTE,
    KIND_NAMES,
    MODEL_NOT_LOADED,
    OK,
    TIMEOUT,
    TRANSPORT_ERROR,
    ProbeRun,
    ProbeSettings,
    ProbeTarget,
    Sample,
    classify,
    decode_strings,
    request_body,
)
from seldon_doctor.domain.probe_stats import latency_summary
from seldon_doctor.snapshot import Origin, ProbeObservation

MAX_BODY = 1 << 20


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


# ---- REST -----------------------------------------------------------------------------------


class _RestClient:
    """One keep-alive connection per worker thread."""

    def __init__(self, endpoint: str, timeout: float) -> None:
        url = endpoint if "://" in endpoint else "http://" + endpoint
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"invalid endpoint {endpoint!r}")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            self.conn = cls(self.host, self.port, timeout=self.timeout)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def send(self, target: ProbeTarget, body: bytes) -> Sample:
        headers = {"content-type": "application/json", "seldon-model": target.seldon_model}
        start = time.monotonic()
        try:
            conn = self._connection()
            conn.request("POST", self.prefix + target.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read(MAX_BODY + 1)
            status = response.status
            response_headers = {k.lower(): v for k, v in response.getheaders()}
            if len(data) > MAX_BODY or response.will_close:
                self.close()
        except TimeoutError:
            self.close()
            return Sample(0, TIMEOUT, _ms(start), detail=f"no answer within {self.timeout:g}s")
        except (OSError, http.client.HTTPException) as err:
            self.close()
            return Sample(0, TRANSPORT_ERROR, _ms(start), detail=_one_line(err))
        elapsed = _ms(start)
        text = data[:MAX_BODY].decode("utf-8", errors="replace")
        verdict, detail = classify(status, text, response_headers, seldon_model=target.seldon_model)
        name = version = None
        if verdict == OK:
            try:
                answer = json.loads(text)
            except ValueError:
                answer = None
            if isinstance(answer, dict):
                name = _str_or_none(answer.get("model_name"))
                version = _str_or_none(answer.get("model_version"))
        return Sample(
            status, verdict, elapsed, response_headers.get("x-seldon-route"), name, version, detail
        )


def _ms(start: float) -> float:
    return (time.monotonic() - start) * 1000.0


def _one_line(err: BaseException) -> str:
    return " ".join(f"{type(err).__name__}: {err}".split())[:200]


def _str_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


# ---- gRPC (ModelInfer, hand-encoded; no generated code) --------------------------------------

GRPC_INFER = "/inference.GRPCInferenceService/ModelInfer"


class _GrpcClient:
    def __init__(self, endpoint: str, timeout: float) -> None:
        import grpc

        url = endpoint if "://" in endpoint else "http://" + endpoint
        parts = urllib.parse.urlsplit(url)
        self.grpc = grpc
        self.channel = grpc.insecure_channel(
            f"{parts.hostname}:{parts.port or 80}", options=[("grpc.enable_http_proxy", 0)]
        )
        self.call = self.channel.unary_unary(GRPC_INFER)
        self.timeout = timeout

    def close(self) -> None:
        self.channel.close()

    def send(self, target: ProbeTarget, body: bytes) -> Sample:
        grpc = self.grpc
        start = time.monotonic()
        try:
            raw, call = self.call.with_call(
                body, timeout=self.timeout, metadata=(("seldon-model", target.seldon_model),)
            )
        except grpc.RpcError as err:
            code = err.code()
            metadata = dict(err.initial_metadata() or ()) | dict(err.trailing_metadata() or ())
            route = metadata.get("x-seldon-route")
            verdict = f"grpc_{code.name.lower()}"
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                verdict = TIMEOUT
            elif code == grpc.StatusCode.UNIMPLEMENTED and route is None:
                verdict = ENVOY_NO_ROUTE  # Envoy's 404 (NR) surfaces as UNIMPLEMENTED
            elif code == grpc.StatusCode.NOT_FOUND:  # the model server's "model not found"
                verdict = MODEL_NOT_LOADED if route is not None else BYPASSED_ENVOY
            elif code == grpc.StatusCode.UNAVAILABLE and not metadata:
                verdict = TRANSPORT_ERROR
            return Sample(
                0,
                verdict,
                _ms(start),
                route,
                detail=" ".join(f"gRPC {code.name}: {err.details()}".split())[:200],
                code=f"grpc:{code.name}",
            )
        elapsed = _ms(start)
        metadata = dict(call.initial_metadata() or ())
        fields = decode_strings(raw, (1, 2))
        return Sample(
            200,
            OK,
            elapsed,
            metadata.get("x-seldon-route"),
            fields.get(1) or None,
            fields.get(2) or None,
            "gRPC OK",
        )


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
    client_cls: Callable[[str, float], Any] = _GrpcClient if settings.grpc else _RestClient

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
        # Latency (and so the SLO) is of successful requests: a fast 404 is not a fast answer.
        latency_ms=latency_summary(run.latencies_ms(only_ok=True)),
        routes=dict(sorted(Counter(s.route.strip(":") for s in ok if s.route).items())),
        versions=dict(sorted(Counter(s.model_version for s in ok if s.model_version).items())),
        names=dict(sorted(Counter(s.model_name for s in ok if s.model_name).items())),
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
