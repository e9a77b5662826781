"""The one error type of the data-plane layer."""

from __future__ import annotations

from typing import Any


class DataplaneUnavailable(Exception):
    """An Envoy admin endpoint, xDS server or scheduler API could not be read.

    ``reason`` is one line, meant to be shown to the user as is (the scan records it as a gap,
    SD002); it never carries a traceback. ``target`` is the address that was tried.
    """

    def __init__(self, reason: str, *, target: str = "") -> None:
        reason = " ".join(str(reason).split()) or "unknown error"
        super().__init__(reason)
        self.reason = reason
        self.target = target

    def __str__(self) -> str:
        return self.reason


def grpc_reason(
    err: Any, subject: str, timeout: float, *, rpc: str = "", unimplemented: str = ""
) -> str:
    """One line for a failed gRPC call to ``subject`` (``scheduler HOST:PORT``): a deadline,
    an unreachable server, or the status code and its details."""
    import grpc

    code = err.code() if hasattr(err, "code") else None
    details = " ".join(str(err.details() if hasattr(err, "details") else err).split())
    call = f" {rpc}" if rpc else ""
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"{subject} did not answer{call} within {timeout:g}s"
    if code == grpc.StatusCode.UNIMPLEMENTED and unimplemented:
        return f"{subject} {unimplemented}"
    if code == grpc.StatusCode.UNAVAILABLE:
        return f"{subject} is unreachable: {details or 'unavailable'}"
    name = code.name if code is not None else type(err).__name__
    return f"{subject}{call} failed: {name}: {details}"
