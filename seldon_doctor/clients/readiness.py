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

The classification (:func:`seldon_doctor.domain.oip.classify`) uses only what the client sees;
the caller can add the counter delta from
:func:`seldon_doctor.clients.envoy_admin.fetch_route_counters` as evidence.
"""

from __future__ import annotations

import time

from seldon_doctor.clients.envoy_admin import http_get
from seldon_doctor.domain.oip import Kind, ProbeResult, classify, ready_path, seldon_model_header


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
    raise :class:`~seldon_doctor.clients.errors.DataplaneUnavailable`.
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
