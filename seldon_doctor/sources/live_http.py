"""GETs against one API server for the live source: retries with backoff on 429/5xx and
transport errors, the scan's deadline, and one-line reasons for what failed."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from seldon_doctor.sources.kubeconfig import Target, _one_line

MAX_ATTEMPTS = 4
MAX_BACKOFF = 4.0
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class ReadFailed(Exception):
    """One request (after its retries) failed; ``status`` is the HTTP status, 0 for transport."""

    def __init__(self, reason: str, status: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class DeadlineExceeded(ReadFailed):
    """The scan's --timeout ran out before this request could finish."""


# --------------------------------------------------------------------------- requests


class ApiReader:
    """GETs against one API server, with retries, backoff and the scan's deadline."""

    def __init__(self, target: Target, deadline: float, workers: int) -> None:
        from kubernetes import client

        configuration = target.configuration
        # Retries are ours (status-aware, deadline-bound); urllib3's own would multiply
        # timeouts against a hung server.
        configuration.retries = 0
        configuration.connection_pool_maxsize = max(workers, 1)
        self.api = client.ApiClient(configuration)
        self.api.user_agent = "seldon-doctor (read-only)"
        self.target = target
        self.deadline = deadline
        self.requests = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def close(self) -> None:
        self._stop.set()
        self.api.rest_client.close()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def get_json(
        self, path: str, query: Sequence[tuple[str, str]] = (), *, within: float | None = None
    ) -> dict[str, Any]:
        """GET ``path`` and return its JSON object; ReadFailed after the retries.

        ``within`` bounds this request (retries included) below the scan's deadline.
        """
        data = self._get(path, query, accept="application/json", parse=_json_object, within=within)
        assert isinstance(data, dict)
        return data

    def get_text(self, path: str, query: Sequence[tuple[str, str]] = ()) -> str:
        text = self._get(path, query, accept="text/plain", parse=_text)
        assert isinstance(text, str)
        return text

    def _get(
        self,
        path: str,
        query: Sequence[tuple[str, str]],
        *,
        accept: str,
        parse: Callable[[bytes], object],
        within: float | None = None,
    ) -> object:
        """One GET with bounded retries: on 429/5xx, transport errors and unparsable bodies
        (a connection cut mid-list), with backoff (or Retry-After), never past the deadline."""
        deadline = self.deadline
        if within is not None:
            deadline = min(deadline, time.monotonic() + within)
        last = ReadFailed(f"GET {path}: not attempted")
        for attempt in range(MAX_ATTEMPTS):
            left = deadline - time.monotonic()
            if left <= 0 or self._stop.is_set():
                if within is not None and attempt:
                    raise last
                raise DeadlineExceeded(f"GET {path}: not finished before the deadline")
            retry_after = None
            try:
                status, headers, body = self._once(path, query, accept, left)
            except ReadFailed as exc:  # transport: reset, refused, timed out
                last = exc
            else:
                if 200 <= status < 300:
                    try:
                        return parse(body)
                    except ValueError as exc:
                        last = ReadFailed(f"GET {path}: {exc}")
                else:
                    last = ReadFailed(f"GET {path}: {_status_reason(status, body)}", status)
                    if status not in RETRYABLE_STATUSES:
                        raise last
                    retry_after = _retry_after(headers)
            if attempt + 1 < MAX_ATTEMPTS:
                pause = retry_after if retry_after is not None else _backoff(attempt)
                if pause >= deadline - time.monotonic():
                    break
                self._stop.wait(pause)
        raise last

    def _once(
        self, path: str, query: Sequence[tuple[str, str]], accept: str, left: float
    ) -> tuple[int, dict[str, str], bytes]:
        import urllib3

        with self._lock:
            self.requests += 1
        method, url, headers, body, post = self.api.param_serialize(
            method="GET",
            resource_path=path,
            query_params=list(query),
            header_params={"Accept": accept},
            auth_settings=["BearerToken"],
        )
        try:
            response = self.api.call_api(
                method,
                url,
                header_params=headers,
                body=body,
                post_params=post,
                _request_timeout=max(0.05, left),
            )
            raw = response.response
            try:
                data = raw.read(decode_content=True)
            finally:
                raw.release_conn()
        except urllib3.exceptions.HTTPError as exc:
            raise ReadFailed(f"GET {path}: {_transport_reason(exc)}") from None
        except OSError as exc:
            raise ReadFailed(f"GET {path}: {type(exc).__name__}: {exc}") from None
        return int(response.status), {k.lower(): v for k, v in raw.headers.items()}, data


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = decode_json(body)
    except ValueError:
        raise ValueError("the response is not valid JSON (cut short?)") from None
    if not isinstance(data, dict):
        raise ValueError("the response is not a JSON object")
    return data


def decode_json(body: bytes) -> Any:
    """The JSON value of an API server's response body, as :func:`json.loads` reads it.

    orjson, where it takes the body, parses a 1,000-namespace scan's LIST pages (about 20 MB)
    in half the time of the standard parser. Where it refuses (NaN, numbers beyond a float,
    lone surrogates, a byte-order mark, deep nesting) the standard parser decides, so the
    value or the error is the standard parser's. The one difference left: orjson reads an
    integer beyond 64 bits as a float, and an API server never sends one (it decodes every
    number into an int64 or a float64 before it serves the object).
    """
    try:
        import orjson
    except ImportError:  # a dependency, but the standard parser gives the same answer
        return json.loads(body)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def _text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def _transport_reason(exc: BaseException) -> str:
    import urllib3

    cause: BaseException = exc
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        cause = exc.reason
    # urllib3 2.x makes NewConnectionError a subclass of ConnectTimeoutError (a TimeoutError):
    # test it first, or a refused connection reads as a timeout.
    if isinstance(cause, urllib3.exceptions.NewConnectionError):
        return _connection_failure(cause)
    if isinstance(cause, urllib3.exceptions.ConnectTimeoutError):
        return "timed out connecting"
    if isinstance(cause, (urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.TimeoutError)):
        return "timed out"
    if isinstance(cause, urllib3.exceptions.ProtocolError):
        return "connection reset (protocol error)"
    if isinstance(cause, urllib3.exceptions.IncompleteRead):
        return "response cut short"
    return _one_line(cause)


def _connection_failure(exc: BaseException) -> str:
    """'connection refused', 'no route to host', a DNS failure… from the socket's own errno."""
    import errno

    error = exc.__cause__ or exc.__context__
    while error is not None and not isinstance(error, OSError):
        error = error.__cause__ or error.__context__
    if isinstance(error, ConnectionRefusedError) or (
        isinstance(error, OSError) and error.errno == errno.ECONNREFUSED
    ):
        return "connection refused"
    text = str(exc)
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "host name not found"
    if isinstance(error, OSError) and error.strerror:
        return f"could not connect ({error.strerror.lower()})"
    return "could not connect"


def _status_reason(status: int, body: bytes) -> str:
    message = ""
    try:
        data = json.loads(body)
        if isinstance(data, dict):
            message = str(data.get("message") or data.get("reason") or "")
    except ValueError:
        message = body[:200].decode("utf-8", errors="replace").strip()
    text = f"HTTP {status}"
    return f"{text}: {message}" if message else text


def _retry_after(headers: dict[str, str]) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return min(max(float(value), 0.0), MAX_BACKOFF)
    except ValueError:
        return None


def _backoff(attempt: int) -> float:
    base = min(0.1 * (2.0**attempt), MAX_BACKOFF)
    return base * (0.5 + random.random() / 2)  # jitter: clients retrying together spread out
