"""Errors that end a run with a clear one-line message and a distinct exit code."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The one exit-code table shared by every output format."""

    OK = 0
    FINDINGS = 1
    USAGE = 2
    INCOMPLETE = 3
    INTERNAL = 4  # a bug in seldon-doctor itself; never expected


class InputError(Exception):
    """Bad input (unreadable file, broken YAML, no Kubernetes objects): exit 2, one line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NoKubeconfigError(InputError):
    """No kubeconfig to read a live cluster with. The source does not know which command asked,
    so the message names only the kubeconfig; each command adds its own alternatives (options
    it accepts), so a hint never names an option the command would refuse."""


class RequestError(Exception):
    """A request that cannot run as given (flags that do not combine, nothing to scan): exit 2.

    Raised by the application layer (``seldon_doctor.app``), which knows no front end; the
    command line turns it into a usage error, so the message ends with "(see --help)".
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
