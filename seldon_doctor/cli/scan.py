"""``seldon-doctor scan``: flags -> ``app.scan.ScanRequest`` -> ``run_scan`` -> outputs."""

from __future__ import annotations

import time
from typing import Any

import click

from seldon_doctor.cli.options import (
    FAIL_ON,
    MIN_SEVERITY,
    apply_options,
    complete_checks,
    complete_outputs,
    dataplane_options,
    input_options,
    live_options,
    parse_outputs,
)
from seldon_doctor.cli.output import err, finish_scan, usage_errors, without_cluster

# Options serve shares with scan (click option decorators can be applied to several commands).
SNAPSHOT = click.option(
    "--snapshot",
    "snapshot_path",
    metavar="PATH",
    help="Scan a bundle written by 'seldon-doctor snapshot' (directory or .tar.gz), offline.",
)
COMPLETE = click.option(
    "--complete",
    is_flag=True,
    help="Files: they hold every object of every kind in the namespaces they touch (a "
    "full export), so an object they lack is missing, not just elsewhere "
    "(docs/completeness.md).",
)
FAIL_ON_OPTION = click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default="error",
    show_default=True,
    help="Lowest severity that makes the exit code 1 (independent of what is shown).",
)
CONFIG = click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="Config with select/ignore/suppressions (default: .seldon-doctor.yaml found "
    "upward from the working directory).",
)
STRICT = click.option(
    "--strict",
    is_flag=True,
    help="Ignore seldon-doctor.io/ignore annotations (config suppressions still apply).",
)
BASELINE = click.option(
    "--baseline",
    metavar="PATH",
    help="A previous -o json report: report (and gate on) only findings new since then.",
)
SCOPE = click.option(
    "--scope",
    "scope",
    multiple=True,
    metavar="NS",
    help="Report only findings about NS and what it depends on: its controller's, "
    "scheduler's and Envoy's namespaces (repeatable; any input; live -n implies it).",
)
SELECT = click.option(
    "--select",
    multiple=True,
    metavar="ID|SLUG[,...]",
    shell_complete=complete_checks,
    help="Run only these checks (ids or slugs). Repeatable, or comma-separated.",
)
IGNORE = click.option(
    "--ignore",
    multiple=True,
    metavar="ID|SLUG[,...]",
    shell_complete=complete_checks,
    help="Skip these checks (ids or slugs). Repeatable, or comma-separated.",
)
DEBUG = click.option("--debug", is_flag=True, help="Include tracebacks of failed checks (SD001).")
QUIET = click.option("-q", "--quiet", is_flag=True, help="No notes or progress on stderr.")
CLUSTER = click.option(
    "--cluster",
    metavar="NAME",
    help="The cluster label of the metrics (default: the kube context, in-cluster, demo or "
    "files; -o prometheus adds it only when given; docs/metrics.md).",
)


def push_options(func: Any) -> Any:
    """Where the scan's metrics go besides -o prometheus."""
    options = [
        CLUSTER,
        click.option(
            "--push-gateway",
            metavar="URL",
            help="Also PUT the metrics to this Prometheus Pushgateway (replacing the last push "
            "of the same --push-job and cluster). A failed push is exit 3 unless findings "
            "already make it 1.",
        ),
        click.option(
            "--push-job",
            default="seldon-doctor",
            show_default=True,
            metavar="NAME",
            help="The job of the pushed metrics' grouping key.",
        ),
    ]
    return apply_options(func, options)


def read_options(func: Any) -> Any:
    """Where a scan reads from besides files and clusters, and how long it waits."""
    options = [
        SNAPSHOT,
        click.option(
            "--against-cluster",
            is_flag=True,
            help="What-if gate: lay the -f manifests over the live cluster "
            "(--kubeconfig/--context) "
            "and report only the findings the change introduces, plus those it fixes.",
        ),
        click.option(
            "--against-snapshot",
            "against_snapshot",
            metavar="PATH",
            help="What-if gate over a bundle written by 'seldon-doctor snapshot' instead of the "
            "cluster.",
        ),
        COMPLETE,
        click.option(
            "--wait",
            "wait_for",
            metavar="DURATION",
            help="Live: re-read until transient states (ModelProgressing, pods starting, rollouts, "
            "Envoy not LIVE) settle or DURATION (e.g. 5m) ends, then judge. For post-deploy gates.",
        ),
    ]
    return apply_options(func, options)


def report_options(func: Any) -> Any:
    """What a scan reports and gates on."""
    options = [
        click.option(
            "-o",
            "--output",
            "outputs",
            multiple=True,
            metavar="FORMAT[=PATH]",
            shell_complete=complete_outputs,
            help="table (default), json, sarif, junit, markdown, prometheus or html; with =PATH "
            "the "
            "format is written to a file (replaced whole, atomically; a symlink is refused). "
            "Repeatable, or comma-separated.",
        ),
        FAIL_ON_OPTION,
        click.option(
            "--min-severity",
            type=click.Choice(MIN_SEVERITY),
            default="info",
            show_default=True,
            help="Lowest severity shown in the output (the exit code still follows --fail-on).",
        ),
        CONFIG,
        STRICT,
        BASELINE,
        SCOPE,
        click.option("--plan", "show_plan", is_flag=True, help="Print the full remediation plan."),
    ]
    return apply_options(func, options)


def run_options(func: Any) -> Any:
    """What a scan runs, and how it talks."""
    options = [
        click.option(
            "--probe",
            "probe_targets",
            is_flag=True,
            help="Also send a few inference requests to every Ready Model and Experiment "
            "(SD801-804).",
        ),
        click.option("--probe-endpoint", metavar="URL", help="seldon-mesh base URL for --probe."),
        SELECT,
        IGNORE,
        DEBUG,
        click.option("--no-color", is_flag=True, help="Plain output (NO_COLOR is honoured too)."),
        QUIET,
    ]
    return apply_options(func, options)


@click.command(short_help="Scan a cluster, manifests or a snapshot and report problems.")
@input_options
@dataplane_options
@live_options
@read_options
@report_options
@run_options
@push_options
@click.argument("paths", nargs=-1, metavar="[PATH]...")
def scan(
    paths: tuple[str, ...],
    outputs: tuple[str, ...],
    show_plan: bool,
    no_color: bool,
    cluster: str | None,
    push_gateway: str | None,
    push_job: str,
    **flags: Any,
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
      3  the analysis was incomplete, or --push-gateway failed, and nothing
         reached --fail-on (findings outrank both: 1)
      4  internal error in seldon-doctor (a bug: please report it)
    """
    from seldon_doctor.app.scan import ScanRequest, run_scan

    started = time.monotonic()
    targets = parse_outputs(outputs)
    if push_gateway and (flags["all_contexts"] or len(flags["contexts"]) > 1):
        # A Pushgateway group has one cluster label; a finding of another would be refused.
        raise click.UsageError("--push-gateway pushes one cluster: scan one --context per push")
    files = (*flags.pop("files"), *paths)
    request = ScanRequest(files=files, on_note=err, **flags)
    alternatives = (
        "judge the change against a bundle with --against-snapshot PATH"
        if request.against_cluster
        else "scan files with -f PATH, a bundle with --snapshot PATH, or the bundled demo with "
        "--demo"
    )
    with usage_errors(), without_cluster(alternatives):
        result = run_scan(request)
    push = None
    if push_gateway:
        from seldon_doctor.app.scan import cluster_label

        push = (push_gateway, push_job, cluster_label(request, cluster, result.clusters))
    finish_scan(
        result,
        targets,
        fail_on=request.fail_on,
        show_plan=show_plan,
        no_color=no_color,
        started=started,
        cluster=cluster,
        push=push,
    )
