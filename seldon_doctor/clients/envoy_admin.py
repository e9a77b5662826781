"""Read an Envoy's admin interface: ``/config_dump``, ``/ready`` and ``/stats`` counters.

Stdlib (``urllib``) and the pure ``domain`` parser only, so importing this module is cheap.
Every call has one overall deadline (not just a per-socket timeout: a server that drips bytes
is cut off too) and a size cap; every failure, whatever its cause, is raised as
:class:`DataplaneUnavailable` with a one-line reason. System HTTP proxies are ignored: an admin
URL is a loopback port-forward or an in-cluster address, never something a corporate proxy
should see.

Results are raw (``dict`` from JSON, ``str``, ``dict[str, int]``); interpreting the dump is
``seldon_doctor.domain.envoy_parse.parse_config_dump``, reachable through :func:`parse_dump`.

Seldon binds the admin interface to ``127.0.0.1:9901`` inside the Envoy pod (2.8.5+), so in
live mode the caller reaches it through a port-forward; ``:9003`` on the pod serves only
``/ready`` and ``/stats``.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from seldon_doctor.clients.errors import DataplaneUnavailable
from seldon_doctor.domain.envoy_config import EnvoyConfig
from seldon_doctor.domain.envoy_parse import parse_config_dump

DEFAULT_TIMEOUT = 5.0
#: 20,000 Seldon routes dump to roughly 60 MB; anything far beyond that is not an Envoy we can use.
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
#: The router counters that tell "no route" (404, NR) and "route to a missing cluster" (503, NC).
ROUTE_COUNTERS = ("no_route", "no_cluster")
SELDON_STAT_PREFIX = "seldon_http"
_CHUNK = 1 << 16


def normalize_admin_url(url: str) -> str:
    """``127.0.0.1:9901`` → ``http://127.0.0.1:9901``; trailing slashes dropped."""
    url = url.strip()
    if not url:
        raise DataplaneUnavailable("empty Envoy admin URL")
    if "://" not in url:
        url = "http://" + url
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DataplaneUnavailable(f"invalid Envoy admin URL {url!r}", target=url)
    return url.rstrip("/")


@dataclass(frozen=True, slots=True)
class AdminResponse:
    """One HTTP answer: status, body text and lower-cased response headers."""

    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


def http_get(
    base_url: str,
    path: str,
    *,
    timeout: float,
    max_bytes: int = DEFAULT_MAX_BYTES,
    accept_status: tuple[int, ...] | None = (200,),
    headers: dict[str, str] | None = None,
    what: str = "Envoy admin",
) -> AdminResponse:
    """GET ``base_url + path`` within ``timeout`` seconds in total, never through a proxy.

    ``accept_status=None`` returns any status; otherwise another status is a
    :class:`DataplaneUnavailable`. ``what`` names the endpoint in error reasons.
    """
    base = normalize_admin_url(base_url)
    url = base + path
    what = f"{what} {base}{path.split('?', 1)[0]}"
    deadline = time.monotonic() + timeout
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(
        url, headers={"Accept": "*/*", **(headers or {})}, method="GET"
    )
    try:
        try:
            response = opener.open(request, timeout=max(timeout, 0.001))
        except urllib.error.HTTPError as err:
            # Envoy answers /ready with 503 while not LIVE: that is an answer, not a failure.
            response = err
        with response:
            status = int(response.status if response.status is not None else 0)
            response_headers = {k.lower(): v for k, v in response.headers.items()}
            chunks: list[bytes] = []
            size = 0
            # read1: return what has arrived instead of blocking for a full chunk, so a
            # server that drips bytes cannot stretch the call past the deadline.
            read = getattr(response, "read1", None) or response.read
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                _shrink_socket_timeout(response, left)
                chunk = read(_CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise DataplaneUnavailable(
                        f"{what} sent more than {max_bytes} bytes; refusing to read on",
                        target=base,
                    )
                chunks.append(chunk)
    except DataplaneUnavailable:
        raise
    except TimeoutError:
        raise DataplaneUnavailable(
            f"{what} did not answer within {timeout:g}s", target=base
        ) from None
    except urllib.error.URLError as err:
        reason = err.reason
        if isinstance(reason, TimeoutError):
            text = f"did not answer within {timeout:g}s"
        else:
            text = f"is unreachable: {_describe(reason)}"
        raise DataplaneUnavailable(f"{what} {text}", target=base) from None
    except (OSError, ValueError, http.client.HTTPException) as err:
        raise DataplaneUnavailable(f"{what} failed: {_describe(err)}", target=base) from None
    body = b"".join(chunks).decode("utf-8", errors="replace")
    if accept_status is not None and status not in accept_status:
        first = body.strip().splitlines()[0][:200] if body.strip() else "empty body"
        raise DataplaneUnavailable(f"{what} answered HTTP {status}: {first}", target=base)
    return AdminResponse(status=status, body=body, headers=response_headers)


def _shrink_socket_timeout(response: Any, seconds: float) -> None:
    """Best effort: make the next recv() wait at most ``seconds`` (the time left)."""
    fp = getattr(response, "fp", None)
    for _ in range(3):  # HTTPError -> HTTPResponse -> BufferedReader -> SocketIO
        raw = getattr(fp, "raw", None)
        sock = getattr(raw, "_sock", None)
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.settimeout(max(seconds, 0.001))
            return
        fp = getattr(fp, "fp", None)


def _describe(err: object) -> str:
    if isinstance(err, OSError) and err.strerror:
        return str(err.strerror)
    text = " ".join(str(err).split())
    return text or type(err).__name__


def fetch_config_dump(
    admin_url: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    include_eds: bool = True,
    resource: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> dict[str, Any]:
    """``GET /config_dump?include_eds`` as a dict (``{"configs": [...]}``)."""
    params: list[tuple[str, str]] = []
    if resource:
        params.append(("resource", resource))
    query = urllib.parse.urlencode(params)
    if include_eds:
        query = "include_eds" + ("&" + query if query else "")
    path = "/config_dump" + ("?" + query if query else "")
    response = http_get(admin_url, path, timeout=timeout, max_bytes=max_bytes)
    try:
        dump = json.loads(response.body)
    except ValueError as err:
        where = normalize_admin_url(admin_url) + "/config_dump"
        raise DataplaneUnavailable(
            f"Envoy admin {where} returned invalid JSON: {err}", target=admin_url
        ) from None
    if not isinstance(dump, dict):
        raise DataplaneUnavailable(
            f"Envoy admin {normalize_admin_url(admin_url)}/config_dump returned a"
            f" {type(dump).__name__}, not an object",
            target=admin_url,
        )
    return dump


def fetch_ready(admin_url: str, *, timeout: float = DEFAULT_TIMEOUT) -> str:
    """The server state from ``GET /ready``: ``LIVE``, ``PRE_INITIALIZING``, ``DRAINING``, ...

    Envoy answers 200 when LIVE and 503 otherwise; both are answers, so both return the state.
    """
    response = http_get(
        admin_url, "/ready", timeout=timeout, max_bytes=4096, accept_status=(200, 503)
    )
    state = response.body.strip()
    if not state:
        raise DataplaneUnavailable(
            f"Envoy admin {normalize_admin_url(admin_url)}/ready answered HTTP"
            f" {response.status} with an empty body",
            target=admin_url,
        )
    return state.splitlines()[0].strip()


def parse_stats_text(text: str) -> dict[str, int]:
    """Parse the plain ``/stats`` format (``name: value`` lines); histograms are skipped."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        name, sep, value = line.rpartition(": ")
        if not sep:
            continue
        try:
            out[name.strip()] = int(value.strip())
        except ValueError:
            continue
    return out


def fetch_stats(
    admin_url: str, stat_filter: str | None = None, *, timeout: float = DEFAULT_TIMEOUT
) -> dict[str, int]:
    """Counters and gauges from ``GET /stats?filter=<regex>`` as ``{name: value}``."""
    path = "/stats"
    if stat_filter:
        path += "?" + urllib.parse.urlencode({"filter": stat_filter})
    return parse_stats_text(http_get(admin_url, path, timeout=timeout, max_bytes=64 << 20).body)


def fetch_route_counters(
    admin_url: str,
    *,
    stat_prefix: str = SELDON_STAT_PREFIX,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, int]:
    """``{"no_route": n, "no_cluster": m}`` for ``http.<stat_prefix>.`` (Seldon: ``seldon_http``).

    A counter Envoy does not report (no such listener yet) is absent from the result, not 0.
    """
    names = "|".join(ROUTE_COUNTERS)
    regex = rf"^http\.{re.escape(stat_prefix)}\.({names})$"
    stats = fetch_stats(admin_url, regex, timeout=timeout)
    prefix = f"http.{stat_prefix}."
    return {name[len(prefix) :]: value for name, value in stats.items() if name.startswith(prefix)}


def parse_dump(dump: dict[str, Any]) -> EnvoyConfig:
    """Parse a dump with :func:`seldon_doctor.domain.envoy_parse.parse_config_dump`.

    Its errors (``DumpError``) propagate.
    """
    return parse_config_dump(dump)


@dataclass(frozen=True, slots=True)
class EnvoyObservation:
    """Everything read from one Envoy admin endpoint in one go."""

    admin_url: str
    ready: str
    config_dump: dict[str, Any]
    counters: dict[str, int]


def observe(admin_url: str, *, timeout: float = DEFAULT_TIMEOUT) -> EnvoyObservation:
    """``/ready``, ``/config_dump?include_eds`` and the route counters, each within ``timeout``."""
    url = normalize_admin_url(admin_url)
    ready = fetch_ready(url, timeout=timeout)
    dump = fetch_config_dump(url, timeout=timeout)
    counters = fetch_route_counters(url, timeout=timeout)
    return EnvoyObservation(admin_url=url, ready=ready, config_dump=dump, counters=counters)
