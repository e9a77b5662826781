"""Reading live clusters: the one ``LiveRequest`` factory, the progress display, the read.

Every command that reads a cluster (``scan``, ``snapshot``, ``trace``, ``probe``) builds its
request with :func:`live_request`. The ``kubernetes`` client is imported only inside functions.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seldon_doctor.sources.live import LiveOptions, LiveScan

DEFAULT_TIMEOUT = 60.0


@dataclass(slots=True)
class LiveRequest:
    """Everything a live read needs, from any front end. Build it with :func:`live_request`."""

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

    def options(self) -> LiveOptions:
        """The source's options (``sources.live``) for this request."""
        from seldon_doctor.sources.live import LiveOptions

        kinds = self.kinds
        if self.dataplane and kinds is not None and all(k.kind != "Pod" for k in kinds):
            # --dataplane finds the Envoy and scheduler pods among the objects: read Pods even
            # when the selected checks do not (--select SD606 would otherwise read no data plane).
            from seldon_doctor.kinds import KINDS

            kinds = (*kinds, KINDS["Pod"])
        return LiveOptions(
            kubeconfig=self.kubeconfig,
            contexts=tuple(self.contexts),
            all_contexts=self.all_contexts,
            namespaces=tuple(self.namespaces),
            timeout=self.timeout,
            logs=self.logs,
            kinds=kinds,
            scope_closure=self.scope_closure,
        )


def live_request(
    *,
    kubeconfig: str | None,
    contexts: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
    checks: Any = None,
    read_kinds: bool = True,
    **extra: Any,
) -> LiveRequest:
    """The one place a ``LiveRequest`` is built: the kinds to read come from ``checks`` (every
    check when None; none at all with ``read_kinds=False``, for a request that only resolves
    its cluster), the rest from ``extra`` (``LiveRequest``'s other fields)."""
    kinds = None
    if read_kinds:
        from seldon_doctor.live_kinds import kinds_read

        kinds = tuple(kinds_read(checks))
    return LiveRequest(
        kubeconfig=kubeconfig, contexts=tuple(contexts), timeout=timeout, kinds=kinds, **extra
    )


def resolve_target(request: LiveRequest) -> Any:
    """The kubeconfig target of the one cluster ``request`` names (for port-forwards)."""
    from seldon_doctor.sources.live import resolve_targets

    return resolve_targets(request.options())[0]


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
    from seldon_doctor.sources.live import collect_live

    options = request.options()
    if request.dataplane:
        from seldon_doctor.sources.dataplane import preload_live_clients

        preload_live_clients()
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
