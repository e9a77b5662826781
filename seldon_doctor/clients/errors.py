"""The one error type of the data-plane layer."""

from __future__ import annotations


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
