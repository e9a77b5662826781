"""Wait for a gRPC channel, failing fast when nothing listens at its target.

A gRPC channel to a closed port does not fail: it reconnects with backoff until the caller's
deadline, so every refused scheduler or xDS read cost the whole ``--dataplane-timeout``
(issue 16). While waiting for the channel, a plain TCP connect now and then tells "connection
refused" apart from a slow server; a port-forward whose relay failed closes its local port, so
a read through it ends within one such check too (and no gRPC call outlives the read, which
would abort the interpreter at exit).
"""

from __future__ import annotations

import socket
import time
from typing import Any

from seldon_doctor.clients.errors import DataplaneUnavailable

RECHECK = 0.25  # seconds between reachability checks while the channel is not ready


def refuse_fast(target: str, subject: str, timeout: float) -> None:
    """DataplaneUnavailable at once if ``target`` (``host:port``) refuses a TCP connection.

    Anything else (a timeout, an unresolvable name, an address that takes the connection) is
    left to the gRPC channel, which waits by its own deadline and says what it saw.
    """
    host, _, port = target.rpartition(":")
    try:
        address = (host.strip("[]") or "127.0.0.1", int(port))
    except ValueError:
        return
    try:
        with socket.create_connection(address, timeout=max(timeout, 0.001)):
            return
    except ConnectionRefusedError:
        raise DataplaneUnavailable(
            f"{subject} {target} is unreachable: connection refused", target=target
        ) from None
    except OSError:
        return


def wait_ready(channel: Any, target: str, subject: str, deadline: float, timeout: float) -> None:
    """Wait until ``channel`` connects; DataplaneUnavailable when the target refuses, or when
    it has not connected by ``deadline`` (``timeout`` is the budget named in the reason)."""
    import grpc

    ready = grpc.channel_ready_future(channel)
    connected = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left > 0:
                refuse_fast(target, subject, min(left, 1.0))
                left = deadline - time.monotonic()
            if left <= 0:
                raise DataplaneUnavailable(
                    f"{subject} {target} is unreachable (no connection within {timeout:g}s)",
                    target=target,
                )
            try:
                ready.result(timeout=min(left, RECHECK))
                connected = True
                return
            except grpc.FutureTimeoutError:
                continue
    finally:
        ready.cancel()
        if not connected:
            _poller_stopped(channel)


def _poller_stopped(channel: Any) -> None:
    """Wait (at most 1 s) for grpc's connectivity poller to see it has no subscriber left.

    The caller closes the channel next, and a poller still watching a closed channel dies with
    a traceback on stderr; it looks every 0.2 s. ``_connectivity_state`` is grpc's own state:
    without it, a fixed pause does.
    """
    state = getattr(channel, "_connectivity_state", None)
    if state is None or not hasattr(state, "polling"):
        time.sleep(0.3)
        return
    end = time.monotonic() + 1.0
    while state.polling and time.monotonic() < end:
        time.sleep(0.02)
