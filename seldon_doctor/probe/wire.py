"""The probe's wire formats: one Open Inference Protocol infer request, over REST or gRPC.

:class:`RestClient` POSTs ``/v2/models/<name>/infer`` (the body from
:func:`seldon_doctor.domain.oip.request_body`) with the ``seldon-model`` header Seldon's Envoy
routes on, over one keep-alive connection, and reads at most :data:`MAX_BODY` bytes of the
answer. :class:`GrpcClient` calls ``ModelInfer`` with the same header as metadata (the message
is hand-encoded; no generated code). Each ``send`` returns one classified
:class:`~seldon_doctor.domain.oip.Sample` and never raises for what the endpoint does; the
concurrency, pace and bounds are :mod:`seldon_doctor.probe.runner`'s.

Only the standard library on the REST path; ``grpc`` is imported only by :class:`GrpcClient`.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from typing import Any

from seldon_doctor.domain.oip import (
    BYPASSED_ENVOY,
    ENVOY_NO_ROUTE,
    MODEL_NOT_LOADED,
    OK,
    TIMEOUT,
    TRANSPORT_ERROR,
    ProbeTarget,
    Sample,
    classify,
    decode_strings,
)

MAX_BODY = 1 << 20


# ---- REST -----------------------------------------------------------------------------------


class RestClient:
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


class GrpcClient:
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
