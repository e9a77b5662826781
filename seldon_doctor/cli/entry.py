"""The entry point: run the command line, one stderr line and a distinct exit code per failure."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from seldon_doctor.cli.output import fail
from seldon_doctor.cli.root import cli
from seldon_doctor.errors import ExitCode, InputError, RequestError


def prog_name(argv0: str) -> str:
    """The name usage lines show: kubectl runs the ``kubectl-seldon_doctor`` script for
    ``kubectl seldon-doctor`` (its plugin naming maps ``_`` to ``-``), so say that."""
    base = os.path.basename(argv0)
    if base.startswith("kubectl-"):
        return "kubectl " + base.removeprefix("kubectl-").replace("_", "-")
    return "seldon-doctor"


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: one line on stderr and a distinct exit code for every failure."""
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
