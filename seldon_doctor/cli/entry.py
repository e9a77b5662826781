"""The entry point: run the command line, one stderr line and a distinct exit code per failure."""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

import click

# prog_name lives with err, which prefixes every stderr line with it; imported here for the
# usage lines.
from seldon_doctor.cli.output import fail, prog_name
from seldon_doctor.cli.root import cli
from seldon_doctor.errors import ExitCode, InputError, RequestError


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: one line on stderr and a distinct exit code for every failure.

    Run as the program (no ``argv``), it ends the process as soon as the command is done and
    its output flushed: freeing a large scan's objects one by one on the way out took 0.26 s of
    a 1,000-namespace live scan (issue 17), and nothing of it outlives the process. Called with
    ``argv`` (tests, embedding), or under a profiler or tracer (cProfile, coverage: they write
    their data at interpreter exit), it returns or raises ``SystemExit`` as usual.
    """
    if argv is not None or sys.getprofile() is not None or sys.gettrace() is not None:
        _main(argv)
        return
    try:
        _main(None)
    except SystemExit as exc:
        _exit_now(exc.code)
    _exit_now(0)


def _exit_now(code: object) -> NoReturn:
    """``sys.exit(code)`` without freeing every object, but with what exit must still do: the
    atexit handlers (the kubernetes client deletes there the temporary files it wrote a
    kubeconfig's client certificate and private key into) and flushing the standard streams."""
    atexit._run_exitfuncs()
    if isinstance(code, str):  # SystemExit("message"): printed, status 1, as Python does
        print(code, file=sys.stderr)
        code = 1
    status = code if isinstance(code, int) else 0 if code is None else 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream: nothing to add
            stream.flush()
    os._exit(status)


def _main(argv: Sequence[str] | None) -> None:
    try:
        cli.main(
            args=list(argv) if argv is not None else None,
            prog_name=prog_name(sys.argv[0]),
            # The completion script (`completion bash`) asks with this variable whatever the
            # program is called.
            complete_var="_SELDON_DOCTOR_COMPLETE",
            standalone_mode=False,
        )
    except SystemExit as exc:
        raise SystemExit(exc.code) from None
    except click.UsageError as exc:
        fail(f"{exc.format_message()} (see --help)")
    except RequestError as exc:
        fail(f"{exc.message} (see --help)")
    except click.Abort:
        fail("aborted", ExitCode.USAGE)
    except InputError as exc:
        fail(exc.message)
    except click.ClickException as exc:
        fail(exc.format_message())
    except BrokenPipeError:
        raise SystemExit(0) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception as exc:
        if os.environ.get("SELDON_DOCTOR_DEBUG"):
            raise
        fail(
            f"internal error: {type(exc).__name__}: {exc} (please report it; set "
            "SELDON_DOCTOR_DEBUG=1 for the traceback)",
            ExitCode.INTERNAL,
        )
    sys.exit(0)
