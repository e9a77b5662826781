"""Command line: ``scan``, ``checks``, ``explain``, ``graph``.

The CLI only orchestrates: sources → snapshot → graph → checks → findings → plan → renderers.
Heavy modules (kubernetes, grpc, envoy_data_plane, networkx) are imported inside commands so
``--help`` stays instant.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import click

from seldon_doctor import __version__
from seldon_doctor.errors import ExitCode, InputError
from seldon_doctor.live_cli import apply_options, live_options, parse_duration
from seldon_doctor.rbac import rbac_command
from seldon_doctor.render import FORMATS, RenderOptions, get_renderer

if TYPE_CHECKING:
    from rich.console import Console

    from seldon_doctor.engine import Report
    from seldon_doctor.snapshot import Snapshot

FAIL_ON = ("error", "warning", "info", "never")
LIVE_PROBE = "live"  # trace --probe without a URL: through a port-forward to seldon-mesh
MIN_SEVERITY = ("error", "warning", "info")
GRAPH_FORMATS = ("dot", "mermaid", "json", "svg")


def _console(file: Any = None, *, no_color: bool = False) -> Console:
    from rich.console import Console

    class _PipeTolerantConsole(Console):
        def on_broken_pipe(self) -> None:
            # The reader went away (`explain SD501 | head -1`): stop writing, but let the
            # command end with its own exit code. rich's default exits 1, which reads as
            # "findings" to a gate.
            self.quiet = True
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())

    stream = file or sys.stdout
    return _PipeTolerantConsole(
        file=stream,
        no_color=no_color or bool(os.environ.get("NO_COLOR")),
        # --no-color / NO_COLOR mean plain text: no bold or underline escapes either.
        color_system=None if no_color or os.environ.get("NO_COLOR") else "auto",
        highlight=False,
        soft_wrap=False,
        width=None if stream.isatty() else int(os.environ.get("COLUMNS", "100")),
    )


def _err(message: str) -> None:
    """One note on stderr; input text in it (file names, warnings) cannot drive the terminal."""
    from seldon_doctor.render.safe import safe_text

    click.echo(f"seldon-doctor: {safe_text(message)}", err=True)


def _fail(message: str, code: ExitCode = ExitCode.USAGE) -> NoReturn:
    _err(f"error: {message}")
    raise SystemExit(int(code))


def _parse_outputs(values: Sequence[str]) -> list[tuple[str, str | None]]:
    outputs = []
    for value in values or ("table",):
        for part in value.split(","):
            fmt, _, path = part.partition("=")
            fmt = fmt.strip().lower()
            if fmt not in FORMATS:
                raise click.UsageError(
                    f"unknown output format {fmt!r} (choose from {', '.join(sorted(FORMATS))})"
                )
            outputs.append((fmt, path or None))
    return outputs


def exit_code_for(report: Report, fail_on: str) -> ExitCode:
    """0 clean, 1 findings at/above the threshold, 3 incomplete (gaps) and nothing failed."""
    if fail_on != "never":
        from seldon_doctor.findings import Severity

        threshold = Severity(fail_on).rank
        if any(f.severity.rank >= threshold for f in report.findings):
            return ExitCode.FINDINGS
    if report.incomplete:
        return ExitCode.INCOMPLETE
    return ExitCode.OK


def _input_options(func: Any) -> Any:
    options = [
        click.option(
            "-f",
            "--filename",
            "files",
            multiple=True,
            metavar="PATH",
            help="Manifest file, directory (walked recursively) or - for stdin. Repeatable.",
        ),
        click.option(
            "--envoy-config-dump",
            "envoy_dumps",
            multiple=True,
            metavar="[NAMESPACE=]PATH",
            help="An Envoy /config_dump, one per Envoy instance, with the namespace it runs in.",
        ),
        click.option(
            "-n",
            "--namespace",
            "namespaces",
            multiple=True,
            metavar="NS",
            help="Files: the namespace of objects that name none (as kubectl apply -n; default "
            "'default'). Live: report only these namespaces and what they depend on (their "
            "controller, scheduler and Envoy namespaces; repeatable; default all).",
        ),
        click.option("--demo", is_flag=True, help="Scan the bundled demo cluster instead."),
        click.option(
            "--crds",
            multiple=True,
            metavar="PATH",
            help="CustomResourceDefinitions (file or folder) to validate manifests against.",
        ),
    ]
    return apply_options(func, options)


def _snapshot(
    files: Sequence[str],
    envoy_dumps: Sequence[str],
    namespace: str,
    demo: bool,
    crds: Sequence[str] = (),
    complete: bool = False,
) -> Snapshot:
    from seldon_doctor.sources.collect import ScanInputs, collect_files, demo_inputs

    if demo:
        if files:
            raise click.UsageError("--demo scans the bundled cluster; do not combine it with -f")
        inputs = demo_inputs()
    elif files:
        inputs = ScanInputs(files=files, envoy_dumps=envoy_dumps, namespace=namespace)
    else:
        raise click.UsageError(
            "nothing to scan: give -f PATH (manifests or captured state) or --demo"
        )
    if not demo:
        inputs.envoy_dumps = envoy_dumps
    inputs.crds = crds
    inputs.complete = complete
    return collect_files(inputs)


def _dataplane_options(func: Any) -> Any:
    options = [
        click.option(
            "--envoy-admin",
            "envoy_admin",
            multiple=True,
            metavar="[NAMESPACE=]URL",
            help="An Envoy admin address (e.g. a port-forward to 9901): read /config_dump, "
            "/ready and the no_route counter live. Repeatable.",
        ),
        click.option(
            "--scheduler",
            "schedulers",
            multiple=True,
            metavar="[NAMESPACE=]HOST:PORT",
            help="A scheduler's status API (9004): compare its view with the CRs. Repeatable.",
        ),
        click.option(
            "--scheduler-xds",
            "scheduler_xds",
            multiple=True,
            metavar="[NAMESPACE=]HOST:PORT",
            help="A scheduler's xDS server (9002): compare what it serves with each Envoy.",
        ),
        click.option(
            "--dataplane-timeout",
            type=click.FloatRange(0.1, 600),
            default=5.0,
            show_default=True,
            metavar="SECONDS",
            help="Deadline for each Envoy admin, scheduler or xDS read.",
        ),
    ]
    return apply_options(func, options)


def _observe_dataplane(
    snapshot: Snapshot,
    namespace: str,
    envoy_admin: Sequence[str],
    schedulers: Sequence[str],
    scheduler_xds: Sequence[str],
    timeout: float,
) -> Snapshot:
    """Read the live data plane into the snapshot (unreachable endpoints become gaps)."""
    if not (envoy_admin or schedulers or scheduler_xds):
        return snapshot
    from seldon_doctor.sources.dataplane import DataplaneInputs, collect_dataplane

    inputs = DataplaneInputs(
        envoy_admin=envoy_admin,
        schedulers=schedulers,
        scheduler_xds=scheduler_xds,
        namespace=namespace,
        timeout=timeout,
    )
    return collect_dataplane(snapshot, inputs)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    invoke_without_command=True,
)
@click.version_option(__version__, prog_name="seldon-doctor")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Diagnose Seldon Core v2 deployments: split-brain schedulers, capability mismatches,
    Services without endpoints, and Models Ready in Kubernetes but missing from Envoy.

    Read-only: it reads manifests, captured state and Envoy config dumps, and prints findings
    and a remediation plan. It never changes a cluster.
    """
    if ctx.invoked_subcommand is None:
        # A bare command is a newcomer asking what this is: the help and where to start.
        click.echo(ctx.get_help())
        click.echo("\nStart with: seldon-doctor scan --demo --plan")
        ctx.exit(0)


@cli.command(short_help="Scan a cluster, manifests or a snapshot and report problems.")
@_input_options
@_dataplane_options
@live_options
@click.option(
    "--snapshot",
    "snapshot_path",
    metavar="PATH",
    help="Scan a bundle written by 'seldon-doctor snapshot' (directory or .tar.gz), offline.",
)
@click.option(
    "--against-cluster",
    is_flag=True,
    help="What-if gate: lay the -f manifests over the live cluster (--kubeconfig/--context) "
    "and report only the findings the change introduces, plus those it fixes.",
)
@click.option(
    "--against-snapshot",
    "against_snapshot",
    metavar="PATH",
    help="What-if gate over a bundle written by 'seldon-doctor snapshot' instead of the cluster.",
)
@click.option(
    "--complete",
    is_flag=True,
    help="Files: they hold every object of every kind in the namespaces they touch (a full "
    "export), so an object they lack is missing, not just elsewhere (docs/completeness.md).",
)
@click.option(
    "--wait",
    "wait_for",
    metavar="DURATION",
    help="Live: re-read until transient states (ModelProgressing, pods starting, rollouts, "
    "Envoy not LIVE) settle or DURATION (e.g. 5m) ends, then judge. For post-deploy gates.",
)
@click.option(
    "-o",
    "--output",
    "outputs",
    multiple=True,
    metavar="FORMAT[=PATH]",
    help="table (default), json, sarif, junit, markdown, prometheus or html; with =PATH the "
    "format is written to a file (replaced whole, atomically; a symlink is refused). "
    "Repeatable, or comma-separated.",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default="error",
    show_default=True,
    help="Lowest severity that makes the exit code 1 (independent of what is shown).",
)
@click.option(
    "--min-severity",
    type=click.Choice(MIN_SEVERITY),
    default="info",
    show_default=True,
    help="Lowest severity shown in the output (the exit code still follows --fail-on).",
)
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="Config with select/ignore/suppressions (default: .seldon-doctor.yaml found upward "
    "from the working directory).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Ignore seldon-doctor.io/ignore annotations (config suppressions still apply).",
)
@click.option(
    "--baseline",
    metavar="PATH",
    help="A previous -o json report: report (and gate on) only findings new since then.",
)
@click.option(
    "--scope",
    "scope",
    multiple=True,
    metavar="NS",
    help="Report only findings about NS and what it depends on: its controller's, scheduler's "
    "and Envoy's namespaces (repeatable; any input; live -n implies it).",
)
@click.option("--plan", "show_plan", is_flag=True, help="Print the full remediation plan.")
@click.option(
    "--probe",
    "probe_targets",
    is_flag=True,
    help="Also send a few inference requests to every Ready Model and Experiment (SD801-804).",
)
@click.option("--probe-endpoint", metavar="URL", help="seldon-mesh base URL for --probe.")
@click.option("--select", multiple=True, metavar="ID|SLUG", help="Run only these checks.")
@click.option("--ignore", multiple=True, metavar="ID|SLUG", help="Skip these checks.")
@click.option("--debug", is_flag=True, help="Include tracebacks of failed checks (SD001).")
@click.option("--no-color", is_flag=True, help="Plain output (NO_COLOR is honoured too).")
@click.option("-q", "--quiet", is_flag=True, help="No notes or progress on stderr.")
@click.argument("paths", nargs=-1, metavar="[PATH]...")
def scan(
    files: tuple[str, ...],
    envoy_dumps: tuple[str, ...],
    namespaces: tuple[str, ...],
    demo: bool,
    crds: tuple[str, ...],
    envoy_admin: tuple[str, ...],
    schedulers: tuple[str, ...],
    scheduler_xds: tuple[str, ...],
    dataplane_timeout: float,
    kubeconfig: str | None,
    contexts: tuple[str, ...],
    all_contexts: bool,
    timeout: float,
    logs: bool,
    dataplane: bool,
    snapshot_path: str | None,
    against_cluster: bool,
    against_snapshot: str | None,
    complete: bool,
    wait_for: str | None,
    outputs: tuple[str, ...],
    fail_on: str,
    min_severity: str,
    config_path: str | None,
    strict: bool,
    baseline: str | None,
    scope: tuple[str, ...],
    show_plan: bool,
    probe_targets: bool,
    probe_endpoint: str | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    debug: bool,
    no_color: bool,
    quiet: bool,
    paths: tuple[str, ...],
) -> None:
    """Scan a cluster, manifests, captured state or a snapshot bundle, and report problems.

    \b
    Where it reads from:
      -f PATH / PATH...   manifests or captured YAML/JSON (offline)
      --demo              the bundled broken demo cluster
      --snapshot PATH     a bundle written by 'seldon-doctor snapshot'
      (none of these)     the live cluster of the current kube context (read-only)
      -f CHANGES --against-cluster | --against-snapshot PATH
                          what-if: only what the change introduces (and fixes)

    \b
    Exit codes (the same for every output format):
      0  nothing at or above --fail-on
      1  findings at or above --fail-on
      2  usage or input error
      3  the analysis was incomplete and nothing reached --fail-on
      4  internal error in seldon-doctor (a bug: please report it)
    """
    from seldon_doctor.engine import merge_reports, select_checks, tag_cluster
    from seldon_doctor.suppress import resolve_config

    started = time.monotonic()
    targets = _parse_outputs(outputs)
    config = resolve_config(config_path)
    baselined = _load_baseline(baseline)
    without_config = [c.id for c in select_checks(select, ignore)]
    if config is not None:
        select = select or config.select
        ignore = (*ignore, *config.ignore)
    checks = select_checks(select, ignore)
    applied = None
    if config is not None:  # every output says which config narrowed the scan, and how
        from seldon_doctor.suppress import applied_config

        applied = applied_config(config, [c.id for c in checks], without_config)
        if not quiet:
            _err(f"note: {applied.describe()}")
    if not checks:
        raise click.UsageError("--select/--ignore left no checks to run (see seldon-doctor checks)")
    if against_cluster or against_snapshot:
        # --- what-if gate (seldon_doctor.whatif): one read, two judgements, the difference.
        graph, report = _whatif(
            files=(*files, *paths),
            namespaces=namespaces,
            crds=crds,
            against_cluster=against_cluster,
            against_snapshot=against_snapshot,
            kubeconfig=kubeconfig,
            contexts=contexts,
            timeout=timeout,
            quiet=quiet,
            checks=checks,
            analyse=lambda snap: _analyse(snap, checks, debug, config, strict, baselined),
            forbidden={
                "--demo": demo,
                "--snapshot": bool(snapshot_path),
                "--all-contexts": all_contexts,
                "--logs": logs,
                "--dataplane": dataplane,
                "--wait": bool(wait_for),
                "--probe": probe_targets,
                "--envoy-config-dump": bool(envoy_dumps),
                "--envoy-admin": bool(envoy_admin),
                "--scheduler": bool(schedulers),
                "--scheduler-xds": bool(scheduler_xds),
            },
        )
        _finish(
            report, graph, targets, fail_on, min_severity, show_plan, no_color, started, applied
        )
    offline = bool(files or paths or demo or snapshot_path)
    live_flags = kubeconfig or contexts or all_contexts or logs or dataplane or wait_for
    if offline and live_flags:
        raise click.UsageError(
            "--kubeconfig/--context/--all-contexts/--logs/--dataplane/--wait read a live "
            "cluster; do not combine them with -f, --demo or --snapshot"
        )
    if snapshot_path and (files or paths or demo):
        raise click.UsageError("--snapshot scans a bundle; do not combine it with -f or --demo")
    if complete and not (files or paths):
        raise click.UsageError(
            "--complete describes manifest files (-f); a live scan, the demo and a snapshot "
            "bundle already know where they are complete"
        )
    if offline and len(namespaces) > 1:
        raise click.UsageError("with files, -n names one namespace (for objects that name none)")
    wait_seconds = parse_duration(wait_for) if wait_for else 0.0

    # The kubeconfig target each live snapshot was read through (scan --probe port-forwards).
    live_targets: dict[str, Any] = {}

    def read() -> dict[str, Snapshot]:
        if snapshot_path:
            from seldon_doctor.bundle import read_bundle_clusters

            return read_bundle_clusters(snapshot_path)
        if offline:
            namespace = namespaces[0] if namespaces else "default"
            snapshot = _snapshot((*files, *paths), envoy_dumps, namespace, demo, crds, complete)
            return {"": snapshot}
        from seldon_doctor.live_cli import LiveRequest, read_clusters
        from seldon_doctor.live_kinds import kinds_read

        request = LiveRequest(
            kubeconfig=kubeconfig,
            contexts=contexts,
            all_contexts=all_contexts,
            namespaces=namespaces,
            timeout=timeout,
            logs=logs,
            dataplane=dataplane,
            envoy_dumps=envoy_dumps,
            kinds=tuple(kinds_read(checks)),
            quiet=quiet,
            dataplane_timeout=dataplane_timeout,
            scope_closure=True,
        )
        live = read_clusters(request)
        live_targets.update(live.targets)
        return live.snapshots

    snapshots = read()
    if wait_seconds:
        snapshots = _wait_until_settled(snapshots, read, wait_seconds, quiet)
    for cluster, snapshot in snapshots.items():
        namespace = namespaces[0] if namespaces else "default"
        _observe_dataplane(
            snapshot, namespace, envoy_admin, schedulers, scheduler_xds, dataplane_timeout
        )
        if not quiet:
            for warning in snapshot.warnings:
                _err(f"note: {warning}")
        if probe_targets:
            from seldon_doctor.probe.command import scan_probes

            snapshot.probes.extend(
                scan_probes(snapshot, probe_endpoint, live_target=live_targets.get(cluster))
            )
    graphs, reports = {}, {}
    # Scope closure: live -n (and --scope with any input) judges everything read and reports
    # the namespaces asked for plus what they depend on (seldon_doctor/scope.py).
    scoped = (*scope, *(() if offline else namespaces))
    for name, snapshot in snapshots.items():
        graphs[name], reports[name] = _analyse(snapshot, checks, debug, config, strict, baselined)
        if scoped:
            from seldon_doctor.scope import filter_scope

            reports[name] = filter_scope(reports[name], graphs[name], scoped)
    if len(reports) == 1:
        (name,), (graph,), (report,) = reports.keys(), graphs.values(), reports.values()
        if name:
            report = tag_cluster(report, name)
    else:
        graph, report = None, merge_reports(reports)
    if not quiet and baseline is not None:
        _err(f"note: {report.baselined} finding(s) already in {baseline} are not reported")
    if not quiet and report.gaps and not offline:
        for gap in report.unread_clusters:
            _err(f"note: cluster {gap.what.split(':', 1)[1]} could not be read: {gap.reason}")
        if len(report.gaps) > len(report.unread_clusters):
            _err(f"note: the scan is partial: {len(report.gaps)} input(s) could not be read")
    _finish(report, graph, targets, fail_on, min_severity, show_plan, no_color, started, applied)


def _finish(
    report: Report,
    graph: Any,
    targets: Sequence[tuple[str, str | None]],
    fail_on: str,
    min_severity: str,
    show_plan: bool,
    no_color: bool,
    started: float,
    applied: Any = None,
) -> NoReturn:
    """Exit code from the report, then every output asked for (naming the applied config)."""
    code = exit_code_for(report, fail_on)
    if min_severity != "info":
        from seldon_doctor.suppress import filter_min_severity

        report = filter_min_severity(report, min_severity)
    options = RenderOptions(
        exit_code=int(code),
        show_plan=show_plan,
        graph=graph,
        duration=time.monotonic() - started,
        timestamp=time.time(),
        fail_on=fail_on,
        config=applied,
    )
    for fmt, path in targets:
        _emit(fmt, path, report, options, no_color)
    raise SystemExit(int(code))


def _whatif(
    *,
    files: Sequence[str],
    namespaces: Sequence[str],
    crds: Sequence[str],
    against_cluster: bool,
    against_snapshot: str | None,
    kubeconfig: str | None,
    contexts: Sequence[str],
    timeout: float,
    quiet: bool,
    checks: Any,
    analyse: Any,
    forbidden: dict[str, bool],
) -> tuple[Any, Report]:
    """``scan -f CHANGES --against-cluster|--against-snapshot``: the change over one cluster."""
    from seldon_doctor.whatif import judge

    if against_cluster and against_snapshot:
        raise click.UsageError("give --against-cluster or --against-snapshot, not both")
    if not files:
        raise click.UsageError("--against-* judges a change: give it with -f PATH")
    used = [flag for flag, on in forbidden.items() if on]
    if used:
        raise click.UsageError(
            f"{', '.join(used)} cannot be combined with --against-*: the change is not applied, "
            "so the data plane, logs and waits describe the cluster before it (see docs/ci.md)"
        )
    if against_snapshot and (kubeconfig or contexts):
        raise click.UsageError("--kubeconfig/--context read a cluster; --against-snapshot a bundle")
    if len(contexts) > 1:
        raise click.UsageError("the what-if gate judges one cluster: give one --context")
    if len(namespaces) > 1:
        raise click.UsageError("with files, -n names one namespace (for objects that name none)")
    namespace = namespaces[0] if namespaces else "default"
    change = _snapshot(files, (), namespace, False, crds)
    if against_snapshot:
        from seldon_doctor.bundle import read_bundle_clusters

        bases = read_bundle_clusters(against_snapshot)
        against = f"snapshot {against_snapshot}"
    else:
        from seldon_doctor.live_cli import LiveRequest, read_clusters
        from seldon_doctor.live_kinds import kinds_read

        request = LiveRequest(
            kubeconfig=kubeconfig,
            contexts=contexts,
            timeout=timeout,
            kinds=tuple(kinds_read(checks)),
            quiet=quiet,
        )
        bases = read_clusters(request).snapshots
        against = "cluster"
    if len(bases) != 1:
        raise InputError(
            f"the what-if gate judges one cluster; {against} holds {len(bases)} "
            f"({', '.join(sorted(bases))})"
        )
    ((cluster, base),) = bases.items()
    if cluster:
        against = f"{against} {cluster}" if against == "cluster" else f"{against} ({cluster})"
    if not quiet:
        for warning in change.warnings:
            _err(f"note: {warning}")
        if base.gaps:
            _err(f"note: the cluster read is partial: {len(base.gaps)} input(s) could not be read")
    graph, report = judge(base, change, analyse, against)
    if cluster:
        from seldon_doctor.engine import tag_cluster

        report = tag_cluster(report, cluster)
    return graph, report


def _analyse(
    snapshot: Snapshot, checks: Any, debug: bool, config: Any, strict: bool, baselined: Any
) -> tuple[Any, Report]:
    from seldon_doctor.engine import run_checks
    from seldon_doctor.graph.build import build_graph

    graph = build_graph(snapshot)
    report = run_checks(graph, checks, debug=debug)
    return graph, _gate_report(report, graph, config, strict, baselined)


def _wait_until_settled(
    snapshots: dict[str, Snapshot],
    read: Any,
    seconds: float,
    quiet: bool,
) -> dict[str, Snapshot]:
    """Re-read until no transient state is left or ``seconds`` have passed.

    Re-reads every tenth of the wait (0.5 s to 5 s apart): often enough to end soon after the
    rollout settles, rarely enough not to load the API server.
    """
    interval = min(5.0, max(0.5, seconds / 10))
    from seldon_doctor.settle import transient_states

    deadline = time.monotonic() + seconds
    while True:
        settling = [s for snap in snapshots.values() for s in transient_states(snap)]
        left = deadline - time.monotonic()
        if not settling:
            return snapshots
        if left <= 0:
            note = (
                f"--wait ended after {seconds:g} s with {len(settling)} object(s) still "
                f"settling (e.g. {settling[0]}); judged as they were"
            )
            for snapshot in snapshots.values():  # reaches every report's warnings (JSON too)
                if transient_states(snapshot):
                    snapshot.warnings.append(note)
            if not quiet:
                _err(f"note: {note}")
            return snapshots
        if not quiet:
            _err(f"waiting: {len(settling)} object(s) settling, e.g. {settling[0]}")
        time.sleep(min(interval, left))
        snapshots = read()


def _load_baseline(path: str | None) -> Any:
    if path is None:
        return None
    from seldon_doctor.baseline import load_baseline

    return load_baseline(path)


def _gate_report(report: Report, graph: Any, config: Any, strict: bool, baselined: Any) -> Report:
    """Suppressions (config, then annotations unless --strict), then the baseline."""
    from seldon_doctor.suppress import annotations_from_graph, apply_suppressions

    report = apply_suppressions(report, config, annotations_from_graph(graph), strict=strict)
    if baselined is not None:
        from seldon_doctor.baseline import apply_baseline

        report = apply_baseline(report, baselined)
    return report


def _emit(
    fmt: str, path: str | None, report: Report, options: RenderOptions, no_color: bool
) -> None:
    if fmt == "table" and path is None and sys.stdout.isatty():
        from seldon_doctor.render.terminal import render_report

        render_report(
            report, _console(no_color=no_color), show_plan=options.show_plan, config=options.config
        )
        return
    text = get_renderer(fmt)(report, options)
    if path:
        _write(path, text)
    else:
        sys.stdout.write(text)


def _write(path: str, text: str) -> None:
    """``-o FORMAT=PATH``: replace PATH whole (temp file + rename; an existing regular file is
    overwritten), never through a symlink, never half-written (seldon_doctor.atomic)."""
    from seldon_doctor.atomic import write_atomic

    write_atomic(path, text)


@cli.command("checks")
@click.option("-o", "--output", "fmt", type=click.Choice(("table", "json")), default="table")
def list_checks(fmt: str) -> None:
    """List the check catalog: id, slug, severity, title."""
    from seldon_doctor.catalog import load_docs

    docs = sorted(load_docs().values(), key=lambda d: d.id)
    if fmt == "json":
        import json

        payload = [
            {
                "id": d.id,
                "slug": d.slug,
                "severity": d.severity.value,
                "title": d.title,
                "category": d.category,
            }
            for d in docs
        ]
        click.echo(json.dumps(payload, indent=2))
        return
    from seldon_doctor.render.terminal import render_catalog

    render_catalog(docs, {}, _console())


@cli.command(short_help="A check's documentation and playbook (by id or slug).")
@click.argument("check")
def explain(check: str) -> None:
    """Show a check's documentation and remediation playbook (by id or slug)."""
    from seldon_doctor.catalog import load_playbooks, lookup
    from seldon_doctor.render.terminal import render_explain

    doc = lookup(check)
    if doc is None:
        raise InputError(f"no check {check!r} (see seldon-doctor checks)")
    from seldon_doctor.checks import ALL_CHECKS

    reads = next((sorted(c.reads | c.needs) for c in ALL_CHECKS if c.id == doc.id), [])
    render_explain(doc, load_playbooks().get(doc.id), reads, _console())


@cli.command(short_help="The deployment graph as DOT, Mermaid, JSON or SVG.")
@_input_options
@click.option(
    "-o", "--output", "fmt", type=click.Choice(GRAPH_FORMATS), default="dot", show_default=True
)
def graph(
    files: tuple[str, ...],
    envoy_dumps: tuple[str, ...],
    namespaces: tuple[str, ...],
    demo: bool,
    crds: tuple[str, ...],
    fmt: str,
) -> None:
    """Print the deployment graph (broken nodes highlighted) as DOT, Mermaid, JSON or SVG.

    SVG needs Graphviz's dot on PATH.
    """
    from seldon_doctor.engine import run_checks
    from seldon_doctor.graph.build import build_graph
    from seldon_doctor.render import graph_export

    if fmt == "svg":
        import shutil

        if shutil.which("dot") is None:
            raise InputError(
                "graph -o svg needs Graphviz's dot on PATH (apt-get install graphviz); "
                "-o dot, -o mermaid and -o json work without it"
            )
    if len(namespaces) > 1:
        raise click.UsageError("-n names one namespace (for objects that name none)")
    namespace = namespaces[0] if namespaces else "default"
    snapshot = _snapshot(files, envoy_dumps, namespace, demo, crds)
    built = build_graph(snapshot)
    findings = run_checks(built).findings
    render: dict[str, Any] = {
        "dot": graph_export.to_dot,
        "mermaid": graph_export.to_mermaid,
        "json": graph_export.to_json,
        "svg": _dot_to_svg,
    }
    sys.stdout.write(render[fmt](built, findings))


def _dot_to_svg(built: Any, findings: Any) -> str:
    import subprocess

    from seldon_doctor.render.graph_export import to_dot

    try:
        result = subprocess.run(
            ["dot", "-Tsvg"],
            input=to_dot(built, findings),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(f"graph -o svg: running Graphviz dot failed: {exc}") from None
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise InputError(f"graph -o svg: Graphviz dot exited {result.returncode}: {detail}")
    return result.stdout


@cli.command(short_help="Send real inference requests through Envoy.")
@click.argument("name")
@click.option("-n", "--namespace", default="default", show_default=True)
@click.option(
    "--kind",
    type=click.Choice(("model", "experiment", "pipeline")),
    default="model",
    show_default=True,
    help="What NAME is: sets seldon-model to NAME, NAME.experiment or NAME.pipeline.",
)
@click.option(
    "--endpoint",
    metavar="URL",
    help="seldon-mesh (Envoy) base URL, e.g. http://127.0.0.1:8080 after kubectl port-forward. "
    "Default: through an API-server port-forward to the Envoy pod behind seldon-mesh of -n "
    "(needs create on pods/portforward).",
)
@click.option("--kubeconfig", metavar="PATH", help="Kubeconfig for the port-forward.")
@click.option("--context", metavar="NAME", help="Kubeconfig context for the port-forward.")
@click.option("--requests", default=20, show_default=True, help="Requests to send (max 10000).")
@click.option("--concurrency", default=4, show_default=True, help="Requests in flight (max 64).")
@click.option("--payload", metavar="FILE", help="OIP JSON request body (default: 1x4 FP32).")
@click.option("--slo-p95", metavar="DURATION", help="p95 latency SLO, e.g. 100ms (SD802).")
@click.option("--timeout", default=5.0, show_default=True, help="Seconds per request.")
@click.option(
    "--max-duration", default=60.0, show_default=True, help="Seconds before no new request starts."
)
@click.option("--grpc", "use_grpc", is_flag=True, help="gRPC ModelInfer instead of REST.")
@click.option("--weights", metavar="A=70,B=30", help="Experiment weights (else from -f's CR).")
@click.option("--expect-version", metavar="V", help="The model_version that should answer.")
@click.option(
    "--max-error-rate", default=0.0, show_default=True, help="Failure share tolerated (SD801)."
)
@click.option(
    "-f", "--filename", "files", multiple=True, metavar="PATH", help="Manifests or captured state."
)
@click.option("-o", "--output", type=click.Choice(("table", "json", "prometheus")), default="table")
def probe(
    name: str,
    namespace: str,
    kind: str,
    endpoint: str | None,
    kubeconfig: str | None,
    context: str | None,
    requests: int,
    concurrency: int,
    payload: str | None,
    slo_p95: str | None,
    timeout: float,
    max_duration: float,
    use_grpc: bool,
    weights: str | None,
    expect_version: str | None,
    max_error_rate: float,
    files: tuple[str, ...],
    output: str,
) -> None:
    """Send real inference requests to NAME through Envoy and report what answered.

    Success rate, status codes classified (Envoy's own 404 vs the model server's, 503s),
    latency quantiles and histogram, an Experiment's split against its weights, the versions
    that answered; then SD801-SD804. Bounded in requests and time; sends nothing else.
    """
    from seldon_doctor.probe.command import probe_command

    raise SystemExit(
        probe_command(
            name=name,
            namespace=namespace,
            kind=kind,
            endpoint=endpoint,
            requests=requests,
            concurrency=concurrency,
            payload=payload,
            slo_p95=slo_p95,
            timeout=timeout,
            max_duration=max_duration,
            grpc=use_grpc,
            weights=weights,
            expect_version=expect_version,
            max_error_rate=max_error_rate,
            files=files,
            output=output,
            kubeconfig=kubeconfig,
            context=context,
        )
    )


@cli.command("trace", short_help="One request's path, hop by hop, to the first break.")
@click.argument("name")
@click.option("-n", "--namespace", default="default", show_default=True)
@click.option(
    "--kind",
    type=click.Choice(("model", "experiment", "pipeline")),
    default="model",
    show_default=True,
)
@click.option(
    "-f",
    "--filename",
    "files",
    multiple=True,
    metavar="PATH",
    help="Manifests or captured state (file, directory or -); optional with --envoy-admin.",
)
@click.option(
    "--envoy-config-dump",
    "envoy_dumps",
    multiple=True,
    metavar="[NAMESPACE=]PATH",
    help="An Envoy /config_dump (bare PATH: the Envoy of -n).",
)
@_dataplane_options
@click.option(
    "--probe",
    "probe_url",
    metavar="[URL]",
    is_flag=False,
    flag_value=LIVE_PROBE,
    help="Send a real OIP readiness request (GET /v2/models/NAME/ready, header seldon-model) "
    "to URL (Envoy's listener, e.g. a port-forward to seldon-mesh:80) and classify the answer; "
    "in a live trace, --probe alone goes through an API-server port-forward to that Envoy.",
)
@click.option("--kubeconfig", metavar="PATH", help="Live trace: the kubeconfig to use.")
@click.option("--context", metavar="NAME", help="Live trace: the kubeconfig context.")
@click.option(
    "--timeout",
    type=click.FloatRange(0.5, 3600),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="Live trace: deadline for reading the cluster.",
)
@click.option("-o", "--output", "fmt", type=click.Choice(("table", "json")), default="table")
@click.option("--no-color", is_flag=True, help="Plain output (NO_COLOR is honoured too).")
def trace_command(
    name: str,
    namespace: str,
    kind: str,
    files: tuple[str, ...],
    envoy_dumps: tuple[str, ...],
    envoy_admin: tuple[str, ...],
    schedulers: tuple[str, ...],
    scheduler_xds: tuple[str, ...],
    dataplane_timeout: float,
    probe_url: str | None,
    kubeconfig: str | None,
    context: str | None,
    timeout: float,
    fmt: str,
    no_color: bool,
) -> None:
    """Walk the path of one request for NAME and mark the first broken hop.

    seldon-mesh Service -> Envoy -> listener seldon_http -> the route matched on the
    seldon-model header -> weighted clusters -> endpoints -> server pod and agent -> the
    scheduler's replica state (with --scheduler); --probe sends a real request through Envoy.

    With no -f, --envoy-config-dump, --envoy-admin or --scheduler, the trace reads the live
    cluster (current kube context, read-only) and, through API-server port-forwards, the Envoy
    and the scheduler that NAMESPACE's seldon-mesh and seldon-scheduler lead to.

    \b
    Exit codes: 0 the path is whole, 1 a hop is broken, 2 bad input,
                3 nothing broken but an input could not be read.
    """
    from seldon_doctor.graph.build import build_graph
    from seldon_doctor.render.trace_tree import render_tree
    from seldon_doctor.trace import KINDS, trace

    offline = bool(files or envoy_dumps or envoy_admin or schedulers or scheduler_xds)
    live = not offline and (probe_url in (None, LIVE_PROBE))
    if not live and (kubeconfig or context):
        raise click.UsageError("--kubeconfig/--context trace a live cluster; drop -f and friends")
    if not live and probe_url == LIVE_PROBE:
        raise click.UsageError("--probe without URL goes through the live cluster; give a URL")
    target: Any = None
    if live:
        snapshot, target = _live_trace_snapshot(
            namespace, kubeconfig, context, timeout, dataplane_timeout
        )
    elif files:
        snapshot = _snapshot(files, envoy_dumps, namespace, False)
    else:
        from seldon_doctor.snapshot import Snapshot
        from seldon_doctor.sources.collect import load_envoy_dumps

        dumps = [d if "=" in d else f"{namespace}={d}" for d in envoy_dumps]
        snapshot = Snapshot(envoys=load_envoy_dumps(dumps, []))
    _observe_dataplane(
        snapshot, namespace, envoy_admin, schedulers, scheduler_xds, dataplane_timeout
    )
    built = build_graph(snapshot)
    probe_result, probe_error = None, None
    if probe_url:
        from seldon_doctor.clients.errors import DataplaneUnavailable
        from seldon_doctor.clients.readiness import probe
        from seldon_doctor.sources.dataplane import mesh_endpoint
        from seldon_doctor.sources.live import api_client_for

        kind_arg: Any = kind
        try:
            if probe_url == LIVE_PROBE:
                with mesh_endpoint(namespace, api_client_for(target), built) as url:
                    probe_result = probe(url, name, kind=kind_arg, timeout=dataplane_timeout)
            else:
                probe_result = probe(probe_url, name, kind=kind_arg, timeout=dataplane_timeout)
        except DataplaneUnavailable as exc:
            probe_error = exc.reason
            from seldon_doctor.snapshot import Gap

            snapshot.gaps.append(Gap(f"probe:{namespace}", exc.reason, namespace))
    result = trace(
        built,
        KINDS[kind],
        namespace,
        name,
        probe_result=probe_result,
        probe_error=probe_error,
    )
    if fmt == "json":
        import json

        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    else:
        render_tree(result, _console(no_color=no_color))
    raise SystemExit(result.exit_code())


def _live_trace_snapshot(
    namespace: str,
    kubeconfig: str | None,
    context: str | None,
    timeout: float,
    dataplane_timeout: float,
) -> tuple[Snapshot, Any]:
    """The cluster as the trace needs it: every kind the checks read, then the Envoy and the
    scheduler that ``namespace``'s seldon-mesh and seldon-scheduler resolve to (port-forwards
    only to those pods, however many namespaces the cluster has)."""
    from seldon_doctor.graph.build import build_graph
    from seldon_doctor.live_cli import LiveRequest, read_clusters
    from seldon_doctor.live_kinds import kinds_read
    from seldon_doctor.sources.dataplane import observe_live
    from seldon_doctor.sources.live import api_client_for

    request = LiveRequest(
        kubeconfig=kubeconfig,
        contexts=(context,) if context else (),
        timeout=timeout,
        kinds=tuple(kinds_read()),
        quiet=True,
    )
    live = read_clusters(request)
    (cluster,) = live.snapshots
    snapshot, target = live.snapshots[cluster], live.targets[cluster]
    graph = build_graph(snapshot)
    wanted = {namespace}
    for host in ("seldon-mesh", "seldon-scheduler"):
        wanted.update(b.namespace for b in graph.resolve(host, namespace).backends)
    observe_live(
        snapshot,
        api=api_client_for(target),
        timeout=dataplane_timeout,
        namespaces=sorted(wanted),
    )
    return snapshot, target


@cli.command("snapshot", short_help="Capture a live read into a bundle to scan offline.")
@live_options
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    metavar="PATH",
    help="Where to write: a directory (new or empty), or PATH.tar.gz for one file.",
)
@click.option(
    "-n",
    "--namespace",
    "namespaces",
    multiple=True,
    metavar="NS",
    help="Capture only these namespaces (repeatable; default all).",
)
@click.option(
    "--created",
    metavar="ISO-8601",
    help="Timestamp recorded in the bundle (default: now, or SOURCE_DATE_EPOCH when set).",
)
@click.option("-q", "--quiet", is_flag=True, help="No notes or progress on stderr.")
def snapshot_command(
    kubeconfig: str | None,
    contexts: tuple[str, ...],
    all_contexts: bool,
    timeout: float,
    logs: bool,
    dataplane: bool,
    output: str,
    namespaces: tuple[str, ...],
    created: str | None,
    quiet: bool,
) -> None:
    """Capture what a live scan reads, to scan it later offline with 'scan --snapshot PATH'.

    Objects (the kinds the checks read), logs (--logs), Envoy and scheduler views
    (--dataplane), gaps and versions. Secret payloads and credential-like values are redacted
    before anything is written. Exit 0 when everything was read, 3 when the capture is partial.
    """
    from datetime import UTC, datetime

    from seldon_doctor.bundle import meta_from_live, write_bundle
    from seldon_doctor.live_cli import LiveRequest, read_clusters
    from seldon_doctor.live_kinds import kinds_read

    request = LiveRequest(
        kubeconfig=kubeconfig,
        contexts=contexts,
        all_contexts=all_contexts,
        namespaces=namespaces,
        timeout=timeout,
        logs=logs,
        dataplane=dataplane,
        kinds=tuple(kinds_read()),
        quiet=quiet,
    )
    live = read_clusters(request)
    snapshots = live.snapshots
    if created is None:
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        moment = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
        created = moment.isoformat(timespec="seconds")
    written = write_bundle(snapshots, output, meta=meta_from_live(live.clusters, created=created))
    gaps = sum(len(s.gaps) for s in snapshots.values())
    objects = sum(len(s.objects) for s in snapshots.values())
    if not quiet:
        partial = f"; {gaps} input(s) could not be read (partial)" if gaps else ""
        _err(f"wrote {written}: {len(snapshots)} cluster(s), {objects} objects{partial}")
    raise SystemExit(int(ExitCode.INCOMPLETE if gaps else ExitCode.OK))


# `seldon-doctor rbac`: the minimal read-only RBAC from the checks' declared reads (rbac.py
# imports only click at import time).
cli.add_command(rbac_command)


@cli.command(short_help="Shell completion script for bash, zsh or fish.")
@click.argument("shell", type=click.Choice(("bash", "zsh", "fish")))
def completion(shell: str) -> None:
    """Print the shell completion script for bash, zsh or fish.

    \b
    bash:  eval "$(seldon-doctor completion bash)"     (e.g. in ~/.bashrc)
    zsh:   eval "$(seldon-doctor completion zsh)"      (e.g. in ~/.zshrc)
    fish:  seldon-doctor completion fish > ~/.config/fish/completions/seldon-doctor.fish
    """
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None
    sys.stdout.write(cls(cli, {}, "seldon-doctor", "_SELDON_DOCTOR_COMPLETE").source() + "\n")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: one line on stderr and a distinct exit code for every failure."""
    try:
        cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="seldon-doctor",
            standalone_mode=False,
        )
    except SystemExit as exc:
        raise SystemExit(exc.code) from None
    except click.UsageError as exc:
        _fail(f"{exc.format_message()} (see --help)")
    except click.Abort:
        _fail("aborted", ExitCode.USAGE)
    except InputError as exc:
        _fail(exc.message)
    except click.ClickException as exc:
        _fail(exc.format_message())
    except BrokenPipeError:
        raise SystemExit(0) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception as exc:
        if os.environ.get("SELDON_DOCTOR_DEBUG"):
            raise
        _fail(
            f"internal error: {type(exc).__name__}: {exc} (please report it; set "
            "SELDON_DOCTOR_DEBUG=1 for the traceback)",
            ExitCode.INTERNAL,
        )
    sys.exit(0)
