"""Open Inference Protocol (OIP) helpers: requests, verdicts and the probe result types.

Pure: building request bodies (REST JSON, gRPC ``ModelInferRequest`` encoded by hand), the
``seldon-model`` header and paths Seldon's Envoy routes on, and :func:`classify`, which turns
one answer into a verdict (``envoy_no_route``, ``model_not_loaded``, ...). Sending the requests
is :mod:`seldon_doctor.clients.readiness` (one readiness probe) and :mod:`seldon_doctor.probe`
(a measured run).
"""

from __future__ import annotations

import json
import struct
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["model", "experiment", "pipeline"]

OK = "ok"
ENVOY_NO_ROUTE = "envoy_no_route"
ENVOY_NO_CLUSTER = "envoy_no_cluster"
ENVOY_NO_HEALTHY_UPSTREAM = "envoy_no_healthy_upstream"
ENVOY_UPSTREAM_CONNECT_ERROR = "envoy_upstream_connect_error"
MODEL_NOT_LOADED = "model_not_loaded"
BYPASSED_ENVOY = "bypassed_envoy"
HTTP_ERROR = "http_error"

VERDICTS = (
    OK,
    ENVOY_NO_ROUTE,
    ENVOY_NO_CLUSTER,
    ENVOY_NO_HEALTHY_UPSTREAM,
    ENVOY_UPSTREAM_CONNECT_ERROR,
    MODEL_NOT_LOADED,
    BYPASSED_ENVOY,
    HTTP_ERROR,
)


def seldon_model_header(name: str, kind: Kind = "model") -> str:
    """The ``seldon-model`` value Seldon's routes match: ``iris``, ``exp.experiment``, ..."""
    if kind == "experiment":
        return f"{name}.experiment"
    if kind == "pipeline":
        return f"{name}.pipeline"
    return name


def ready_path(name: str, kind: Kind = "model") -> str:
    quoted = urllib.parse.quote(name, safe="")
    if kind == "pipeline":
        return f"/v2/pipelines/{quoted}/ready"
    return f"/v2/models/{quoted}/ready"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One probe: what was sent, what came back, and the verdict (one of :data:`VERDICTS`)."""

    url: str
    seldon_model: str
    status: int
    verdict: str
    detail: str
    body: str = ""
    seldon_route: str | None = None  # the x-seldon-route response header: which version served
    server: str | None = None
    elapsed: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.verdict == OK

    @property
    def via_envoy(self) -> bool:
        """True when Envoy evidently handled the request (its header or its local reply)."""
        return self.seldon_route is not None or (self.server or "").lower() == "envoy"


def classify(
    status: int, body: str, headers: dict[str, str], *, seldon_model: str
) -> tuple[str, str]:
    """``(verdict, one-line detail)`` for an answer to a readiness probe."""
    route = headers.get("x-seldon-route")
    server = (headers.get("server") or "").lower()
    text = body.strip()
    if 200 <= status < 300:
        where = f" via route {route}" if route else ""
        return OK, f"HTTP {status}{where}"
    if status == 404:
        if not text and route is None:
            return (
                ENVOY_NO_ROUTE,
                f"Envoy has no route for seldon-model: {seldon_model} "
                "(its own 404 with an empty body, response flag NR)",
            )
        first = text.splitlines()[0][:200] if text else "empty body"
        if route is not None:
            return (
                MODEL_NOT_LOADED,
                f"Envoy routed to {route.strip(':')} but the model server answered 404: {first}",
            )
        return (
            BYPASSED_ENVOY,
            "the model server answered 404 without passing a Seldon route (no x-seldon-route; "
            f"the public name was not rewritten to <model>_<version>): {first}",
        )
    if status == 503 and server == "envoy":
        if not text:
            return (
                ENVOY_NO_CLUSTER,
                "Envoy matched a route whose cluster it does not have (503, response flag NC)",
            )
        if text.startswith("no healthy upstream"):
            return ENVOY_NO_HEALTHY_UPSTREAM, "Envoy's cluster has no healthy endpoint (503, UH)"
        if text.startswith("upstream connect error"):
            return (
                ENVOY_UPSTREAM_CONNECT_ERROR,
                f"Envoy could not reach the model server: {text.splitlines()[0][:200]}",
            )
    first = text.splitlines()[0][:200] if text else "empty body"
    return HTTP_ERROR, f"HTTP {status}: {first}"


KIND_NAMES = {"model": "Model", "experiment": "Experiment", "pipeline": "Pipeline"}
MAX_REQUESTS = 10_000
MAX_CONCURRENCY = 64
TRANSPORT_ERROR = "transport_error"
TIMEOUT = "timeout"
#: A tiny OIP request MLServer's runtimes accept: one FP32 tensor of shape [1, 4].
DEFAULT_PAYLOAD: dict[str, Any] = {
    "inputs": [{"name": "predict", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]
}


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    name: str
    namespace: str = "default"
    kind: Kind = "model"

    @property
    def seldon_model(self) -> str:
        return seldon_model_header(self.name, self.kind)

    @property
    def path(self) -> str:
        quoted = urllib.parse.quote(self.name, safe="")
        if self.kind == "pipeline":
            return f"/v2/pipelines/{quoted}/infer"
        return f"/v2/models/{quoted}/infer"

    def label(self) -> str:
        return f"{KIND_NAMES[self.kind]} {self.namespace}/{self.name}"


@dataclass(slots=True)
class ProbeSettings:
    endpoint: str
    requests: int = 20
    concurrency: int = 4
    timeout: float = 5.0
    max_duration: float = 60.0
    payload: bytes | None = None
    grpc: bool = False
    slo_p95_ms: float | None = None
    max_error_rate: float = 0.0

    def validated(self) -> ProbeSettings:
        if not 1 <= self.requests <= MAX_REQUESTS:
            raise ValueError(f"--requests must be between 1 and {MAX_REQUESTS}")
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise ValueError(f"--concurrency must be between 1 and {MAX_CONCURRENCY}")
        if not 0 < self.timeout <= 300:
            raise ValueError("--timeout must be between 0 and 300 seconds")
        if not 0 < self.max_duration <= 3600:
            raise ValueError("--max-duration must be between 0 and 3600 seconds")
        return self


@dataclass(frozen=True, slots=True)
class Sample:
    """One request: HTTP status (0 without an answer), verdict, latency, who answered."""

    status: int
    verdict: str
    elapsed_ms: float
    route: str | None = None  # x-seldon-route, e.g. ":iris_1:"
    model_name: str | None = None
    model_version: str | None = None
    detail: str = ""
    code: str | None = None  # gRPC status ("grpc:NOT_FOUND") when there is no HTTP status


@dataclass(slots=True)
class ProbeRun:
    target: ProbeTarget
    settings: ProbeSettings
    samples: list[Sample] = field(default_factory=list)
    duration_s: float = 0.0
    stopped: str = "done"  # done | deadline

    @property
    def ok(self) -> int:
        return sum(1 for s in self.samples if s.verdict == OK)

    def latencies_ms(self, only_ok: bool = False) -> list[float]:
        return [s.elapsed_ms for s in self.samples if not only_ok or s.verdict == OK]


# ---- gRPC (ModelInfer, hand-encoded; no generated code) --------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def encode_model_infer(model_name: str, payload: dict[str, Any]) -> bytes:
    """``ModelInferRequest`` (OIP ``grpc_predict_v2.proto``) for FP32/FP64/INT inputs."""
    out = _field(1, model_name.encode())
    for tensor in payload.get("inputs") or []:
        datatype = str(tensor.get("datatype", "FP32"))
        shape = [int(v) for v in tensor.get("shape") or []]
        data = _flatten(tensor.get("data") or [])
        body = _field(1, str(tensor.get("name", "input")).encode())
        body += _field(2, datatype.encode())
        body += _field(3, b"".join(_varint(v) for v in shape))
        if datatype == "FP32":
            contents = _field(6, b"".join(struct.pack("<f", float(v)) for v in data))
        elif datatype == "FP64":
            contents = _field(7, b"".join(struct.pack("<d", float(v)) for v in data))
        elif datatype.startswith("INT"):
            number = 3 if datatype == "INT64" else 2
            contents = _field(number, b"".join(_varint(int(v) & (2**64 - 1)) for v in data))
        else:
            raise ValueError(f"--grpc supports FP32, FP64 and INT inputs, not {datatype}")
        body += _field(5, contents)
        out += _field(5, body)
    return out


def _flatten(values: Any) -> list[Any]:
    if isinstance(values, list):
        return [item for value in values for item in _flatten(value)]
    return [values]


def decode_strings(message: bytes, wanted: Sequence[int]) -> dict[int, str]:
    """Top-level string fields of a protobuf message (other fields skipped)."""
    out: dict[int, str] = {}
    pos = 0

    def varint() -> int:
        nonlocal pos
        shift = result = 0
        while True:
            byte = message[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7

    while pos < len(message):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            varint()
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length = varint()
            if number in wanted:
                out[number] = message[pos : pos + length].decode("utf-8", errors="replace")
            pos += length
        else:
            break
    return out


# ---- request bodies -------------------------------------------------------------------------


def request_body(settings: ProbeSettings, target: ProbeTarget) -> bytes:
    payload = json.loads(settings.payload) if settings.payload else DEFAULT_PAYLOAD
    if settings.grpc:
        return encode_model_infer(target.name, payload)
    return json.dumps(payload).encode() if not settings.payload else settings.payload
