"""Fail fast when nothing listens at a gRPC target.

A gRPC channel to a closed port does not fail: it reconnects with backoff until the caller's
deadline, so every refused scheduler or xDS read cost the whole ``--dataplane-timeout``
(issue 16). One plain TCP connect first tells "connection refused" apart from a slow server.
"""

from __future__ import annotations

import socket

from seldon_doctor.clients.errors import DataplaneUnavailable


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
