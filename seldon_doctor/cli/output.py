"""What the commands write: the console, notes and errors on stderr, report outputs, and the
application layer's request errors turned into click usage errors."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, cast

import click

from seldon_doctor.errors import ExitCode, InputError, NoKubeconfigError, RequestError
from seldon_doctor.render import RenderOptions, get_renderer

if TYPE_CHECKING:
    from rich.console import Console

    from seldon_doctor.app.scan import ScanResult
    from seldon_doctor.engine import Report


def console(file: Any = None, *, no_color: bool = False) -> Console:
    from rich.console import Console

    class _PipeTolerantConsole(Console):
        def on_broken_pipe(self) -> None:
            # The reader went away (`explain SD501 | head -1`): stop writing, but let the
            # command end with its own exit code. rich's default exits 1, which reads as
            # "findings" to a gate.
            self.quiet = True
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())

    from seldon_doctor.render.terminal import PIPE_WIDTH, StripTrailing

    stream = file or sys.stdout
    tty = stream.isatty()
    return _PipeTolerantConsole(
        file=stream if tty else cast(Any, StripTrailing(stream)),
        no_color=no_color or bool(os.environ.get("NO_COLOR")),
        # --no-color / NO_COLOR mean plain text: no bold or underline escapes either.
        color_system=None if no_color or os.environ.get("NO_COLOR") else "auto",
        highlight=False,
        soft_wrap=False,
        # A pipe is not hard-wrapped (render.terminal.PIPE_WIDTH says why).
        width=None if tty else PIPE_WIDTH,
    )


def prog_name(argv0: str) -> str:
    """The name usage lines and stderr lines show: kubectl runs the ``kubectl-seldon_doctor``
    script for ``kubectl seldon-doctor`` (its plugin naming maps ``_`` to ``-``), so say that."""
    base = os.path.basename(argv0)
    if base.startswith("kubectl-"):
        return "kubectl " + base.removeprefix("kubectl-").replace("_", "-")
    return "seldon-doctor"


def err(message: str) -> None:
    """One note on stderr; input text in it (file names, warnings) cannot drive the terminal.

    It starts with the name the usage line shows, so the plugin's errors name the command the
    user typed (``kubectl seldon-doctor: error: ...``)."""
    from seldon_doctor.render.safe import safe_text

    name = prog_name(sys.argv[0] if sys.argv else "")
    click.echo(f"{name}: {safe_text(message)}", err=True)


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> NoReturn:
    err(f"error: {message}")
    raise SystemExit(int(code))


@contextlib.contextmanager
def usage_errors() -> Iterator[None]:
    """The application layer's RequestError is a click usage error on the command line."""
    try:
        yield
    except RequestError as exc:
        raise click.UsageError(exc.message) from None


@contextlib.contextmanager
def without_cluster(alternatives: str) -> Iterator[None]:
    """No kubeconfig: name what else this command can read (only options it accepts)."""
    try:
        yield
    except NoKubeconfigError as exc:
        raise InputError(f"{exc.message}; or {alternatives}") from None


def finish_scan(
    result: ScanResult,
    targets: Sequence[tuple[str, str | None]],
    *,
    fail_on: str,
    show_plan: bool,
    no_color: bool,
    started: float,
    cluster: str | None = None,
    push: tuple[str, str, str] | None = None,
) -> NoReturn:
    """Every output asked for (naming the applied config), the push (URL, job, cluster label)
    if asked for, then the scan's exit code: a failed push makes 0 a 3 (the report was made but
    not delivered) and leaves 1 and 3 as they are (findings outrank it, as they outrank gaps)."""
    options = RenderOptions(
        exit_code=int(result.exit_code),
        show_plan=show_plan,
        graph=result.graph,
        duration=time.monotonic() - started,
        timestamp=time.time(),
        fail_on=fail_on,
        config=result.applied,
        cluster=cluster,
        multi_cluster=len(result.clusters) > 1,
    )
    for fmt, path in targets:
        emit(fmt, path, result.report, options, no_color)
    code = int(result.exit_code)
    if push is not None and not _pushed(result, options, *push):
        code = code or int(ExitCode.INCOMPLETE)
    raise SystemExit(code)


def _pushed(result: ScanResult, options: RenderOptions, url: str, job: str, label: str) -> bool:
    """``scan --push-gateway``: the report's families, labelled ``label``; False (and one line
    on stderr) when the push failed."""
    from seldon_doctor.render.metric_families import ScanFacts, report_families
    from seldon_doctor.serve.push import PushError, push_families

    families = report_families(result.report, ScanFacts.of(options, cluster=label))
    if options.multi_cluster:  # a bundle of several clusters
        err(
            "error: metrics not pushed: a Pushgateway group holds one cluster; this scan read "
            f"{len(result.clusters)}"
        )
        return False
    try:
        push_families(url, job, label, families)
    except PushError as exc:
        err(f"error: metrics not pushed: {exc}")
        return False
    return True


def emit(
    fmt: str, path: str | None, report: Report, options: RenderOptions, no_color: bool
) -> None:
    """One output: the rich table on a terminal, else the renderer's text to stdout or PATH."""
    if fmt == "table" and path is None and sys.stdout.isatty():
        from seldon_doctor.render.terminal import render_report

        render_report(
            report, console(no_color=no_color), show_plan=options.show_plan, config=options.config
        )
        return
    text = get_renderer(fmt)(report, options)
    if path:
        write(path, text)
    else:
        sys.stdout.write(text)


def write(path: str, text: str) -> None:
    """``-o FORMAT=PATH``: replace PATH whole (temp file + rename; an existing regular file is
    overwritten), never through a symlink, never half-written (seldon_doctor.atomic)."""
    from seldon_doctor.atomic import write_atomic

    write_atomic(path, text)
