"""Send one Open Inference Protocol readiness request and say who answered, and why.

``probe(base_url, name)`` GETs ``/v2/models/<name>/ready`` (``/v2/pipelines/<name>/ready`` for a
pipeline) with the ``seldon-model`` header Seldon's Envoy routes on, and classifies the answer.
A 404 is the interesting case; there are two very different ones:

* **Envoy's own** (response flag NR): empty body, ``server: envoy``, and no ``x-seldon-route``
  response header, because no route matched the header (``no_route`` counter +1).
* **The model server's**: a JSON body such as ``{"error":"Model iris not found"}``. With
  ``x-seldon-route`` present, Envoy did route the request but the server does not have the
  internal model (``model_not_loaded``); without it, the request never went through a Seldon
  route, so nobody rewrote the public name into ``<model>_<version>`` (``bypassed_envoy``).

The classification uses only what the client sees; the caller can add the counter delta from
:func:`seldon_doctor.dataplane.envoy_admin.fetch_route_counters` as evidence.
"""

from __future__ import annotations

import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Literal

from seldon_doctor.dataplane.envoy_admin import http_get

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


def probe(
    base_url: str,
    name: str,
    *,
    kind: Kind = "model",
    timeout: float = 5.0,
    path: str | None = None,
    send_header: bool = True,
) -> ProbeResult:
    """GET the readiness path for ``name`` at ``base_url`` (Envoy's listener or a server).

    ``send_header=False`` leaves ``seldon-model`` out (what a client relying on Seldon's Lua
    path derivation, or a gRPC client without metadata, sends). Unreachable or hung endpoints
    raise :class:`~seldon_doctor.dataplane.errors.DataplaneUnavailable`.
    """
    header_value = seldon_model_header(name, kind)
    request_path = path or ready_path(name, kind)
    headers = {"seldon-model": header_value} if send_header else {}
    start = time.monotonic()
    response = http_get(
        base_url,
        request_path,
        timeout=timeout,
        max_bytes=1 << 20,
        accept_status=None,
        headers=headers,
        what="inference endpoint",
    )
    elapsed = time.monotonic() - start
    verdict, detail = classify(
        response.status, response.body, response.headers, seldon_model=header_value
    )
    return ProbeResult(
        url=base_url.rstrip("/") + request_path,
        seldon_model=header_value if send_header else "",
        status=response.status,
        verdict=verdict,
        detail=detail,
        body=response.body[:2000],
        seldon_route=response.headers.get("x-seldon-route"),
        server=response.headers.get("server"),
        elapsed=elapsed,
        headers=response.headers,
    )
