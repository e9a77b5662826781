"""The scan's request and result (``app.scan.run_scan``), and the notes a run collects."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seldon_doctor.engine import Report
    from seldon_doctor.errors import ExitCode


@dataclass(slots=True)
class ScanRequest:
    """Everything a scan needs, from any front end (the flags of ``seldon-doctor scan``)."""

    # Inputs: files (-f and PATH arguments), the demo, a bundle; none of them means live.
    files: Sequence[str] = ()
    envoy_dumps: Sequence[str] = ()
    namespaces: Sequence[str] = ()
    demo: bool = False
    crds: Sequence[str] = ()
    snapshot_path: str | None = None
    # --complete: the files are a full export (an absent object is missing, not elsewhere).
    complete: bool = False
    # The data plane read by address (--envoy-admin, --scheduler, --scheduler-xds).
    envoy_admin: Sequence[str] = ()
    schedulers: Sequence[str] = ()
    scheduler_xds: Sequence[str] = ()
    dataplane_timeout: float = 5.0
    # Live clusters.
    kubeconfig: str | None = None
    contexts: Sequence[str] = ()
    all_contexts: bool = False
    timeout: float = 60.0
    logs: bool = False
    dataplane: bool = False
    wait_for: str | None = None  # --wait: a duration (90s, 5m) to let transient states settle
    # The what-if gate: -f is the change, laid over the cluster or a bundle.
    against_cluster: bool = False
    against_snapshot: str | None = None
    # Judging and gating.
    fail_on: str = "error"
    min_severity: str = "info"
    config_path: str | None = None
    strict: bool = False
    baseline: str | None = None
    scope: Sequence[str] = ()
    select: Sequence[str] = ()
    ignore: Sequence[str] = ()
    debug: bool = False
    probe_targets: bool = False
    probe_endpoint: str | None = None
    # Notes: none with quiet; otherwise each is also handed to on_note as it happens.
    quiet: bool = False
    on_note: Callable[[str], None] | None = None

    @property
    def offline(self) -> bool:
        return bool(self.files or self.demo or self.snapshot_path)

    @property
    def namespace(self) -> str:
        return self.namespaces[0] if self.namespaces else "default"


@dataclass(slots=True)
class ScanResult:
    """What a scan found: the report as shown (after --min-severity), the graph of a single
    cluster (None for several), the exit code, the applied config, the notes and the
    clusters read."""

    report: Report
    graph: Any
    exit_code: ExitCode
    applied: Any = None
    notes: list[str] = field(default_factory=list)
    # The clusters read, by name (live contexts, a bundle's clusters; empty for files/demo).
    clusters: tuple[str, ...] = ()


class Notes:
    """The notes of one run: kept (unless quiet) and handed to the request's ``on_note``."""

    def __init__(self, request: ScanRequest) -> None:
        self.quiet = request.quiet
        self.sink = request.on_note
        self.lines: list[str] = []

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        self.lines.append(message)
        if self.sink is not None:
            self.sink(message)
