"""The live-cluster half of the CLI: options, the progress display, and reading clusters.

Kept apart from ``cli.py`` so ``seldon-doctor --help`` never imports the ``kubernetes`` client:
everything heavy is imported inside the functions that need it.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from seldon_doctor.domain import durations

if TYPE_CHECKING:
    from seldon_doctor.sources.live import LiveScan


def parse_duration(value: str) -> float:
    """``90``, ``90s``, ``5m``, ``1h``, ``500ms`` -> seconds."""
    try:
        seconds = durations.parse_duration(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a duration (e.g. 90s, 5m)") from None
    if seconds < 0:
        raise click.BadParameter(f"{value!r} is negative")
    return seconds


def live_options(func: Any) -> Any:
    """Options of a live scan (``scan`` and ``snapshot``)."""
    options = [
        click.option(
            "--kubeconfig",
            metavar="PATH",
            help="Kubeconfig (default: KUBECONFIG, "
            "~/.kube/config, or the in-cluster service account).",
        ),
        click.option(
            "--context",
            "contexts",
            multiple=True,
            metavar="NAME",
            help="Kubeconfig context to scan. Repeatable: clusters are scanned "
            "concurrently and every finding names its cluster.",
        ),
        click.option("--all-contexts", is_flag=True, help="Scan every context of the kubeconfig."),
        click.option(
            "--timeout",
            type=click.FloatRange(0.5, 3600),
            default=60.0,
            show_default=True,
            metavar="SECONDS",
            help="Deadline for reading a cluster; what is not read by then is reported as a gap.",
        ),
        click.option(
            "--logs",
            is_flag=True,
            help="Also tail scheduler, agent, controller and "
            "Envoy logs for evidence (needs get on pods/log).",
        ),
        click.option(
            "--dataplane",
            is_flag=True,
            help="Also read each Envoy (admin 9901) and "
            "scheduler (9004, 9002) through API-server port-forwards (needs create "
            "on pods/portforward).",
        ),
    ]
    return apply_options(func, options)


def apply_options(func: Any, options: Sequence[Callable[[Any], Any]]) -> Any:
    """Decorate ``func`` with click options, listed in the order ``--help`` shows them."""
    for option in reversed(options):
        func = option(func)
    return func


@dataclass(slots=True)
class LiveRequest:
    """Everything a live read needs, from the command line."""

    kubeconfig: str | None
    contexts: Sequence[str]
    timeout: float
    all_contexts: bool = False
    namespaces: Sequence[str] = ()
    logs: bool = False
    dataplane: bool = False
    envoy_dumps: Sequence[str] = ()
    kinds: Any = None
    quiet: bool = False
    dataplane_timeout: float = 5.0  # each Envoy admin / scheduler / xDS read (--dataplane-timeout)
    # scan -n: list cluster-wide anyway (falling back to the namespaces on 403), so a namespace
    # is judged with what it depends on; the report is narrowed afterwards (scope.py).
    scope_closure: bool = False


@contextlib.contextmanager
def progress_display(quiet: bool) -> Iterator[Callable[[str, str, int, str], None] | None]:
    """A rich progress display on stderr (per cluster and kind, with counts), only on a TTY."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn

    console = Console(stderr=True)
    lock = threading.Lock()
    tasks: dict[tuple[str, str], Any] = {}
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.fields[count]:>6} objects"),
        TextColumn("{task.fields[state]}"),
        console=console,
        transient=True,
    ) as progress:

        def update(cluster: str, kind: str, count: int, state: str) -> None:
            with lock:
                key = (cluster, kind)
                if key not in tasks:
                    tasks[key] = progress.add_task(
                        f"{cluster}: {kind}", total=1, count=0, state="reading"
                    )
                mark = {"done": "[green]done", "failed": "[yellow]not read"}.get(state, "reading")
                progress.update(
                    tasks[key], count=count, state=mark, completed=1 if state != "reading" else 0
                )

        yield update


def read_clusters(request: LiveRequest) -> LiveScan:
    """Snapshots of every cluster asked for (and, with --dataplane, their Envoys/schedulers)."""
    from seldon_doctor.errors import InputError
    from seldon_doctor.sources.collect import load_envoy_dumps
    from seldon_doctor.sources.live import LiveOptions, collect_live

    kinds = request.kinds
    if request.dataplane and kinds is not None and all(k.kind != "Pod" for k in kinds):
        # --dataplane finds the Envoy and scheduler pods among the objects: read Pods even
        # when the selected checks do not (--select SD606 would otherwise read no data plane).
        from seldon_doctor.kinds import KINDS

        kinds = (*kinds, KINDS["Pod"])
    options = LiveOptions(
        kubeconfig=request.kubeconfig,
        contexts=tuple(request.contexts),
        all_contexts=request.all_contexts,
        namespaces=tuple(request.namespaces),
        timeout=request.timeout,
        logs=request.logs,
        kinds=kinds,
        scope_closure=request.scope_closure,
    )
    with progress_display(request.quiet) as progress:
        scan = collect_live(options, progress)
    if request.envoy_dumps:
        if len(scan.snapshots) != 1:
            raise InputError("--envoy-config-dump names one cluster's Envoy: scan one --context")
        (snapshot,) = scan.snapshots.values()
        snapshot.envoys.extend(load_envoy_dumps(request.envoy_dumps, snapshot.objects))
    if request.dataplane:
        from seldon_doctor.sources.dataplane import observe_live
        from seldon_doctor.sources.live import api_client_for

        for name, snapshot in scan.snapshots.items():
            observe_live(
                snapshot,
                api=api_client_for(scan.targets[name]),
                timeout=request.dataplane_timeout,
                namespaces=list(request.namespaces) or None,
            )
    return scan
