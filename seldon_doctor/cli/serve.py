"""``seldon-doctor serve``: flags -> ``serve.run.ServeConfig`` -> ``run_exporter``."""

from __future__ import annotations

from typing import Any

import click

from seldon_doctor.cli.options import (
    apply_options,
    dataplane_options,
    input_options,
    live_options,
)
from seldon_doctor.cli.output import err, usage_errors
from seldon_doctor.cli.scan import (
    BASELINE,
    CLUSTER,
    COMPLETE,
    CONFIG,
    DEBUG,
    FAIL_ON_OPTION,
    IGNORE,
    SCOPE,
    SELECT,
    SNAPSHOT,
    STRICT,
)


def exporter_options(func: Any) -> Any:
    """What ``serve`` judges (as ``scan``), its cluster label, and when and where it serves."""
    options = [
        SNAPSHOT,
        COMPLETE,
        FAIL_ON_OPTION,
        CONFIG,
        STRICT,
        BASELINE,
        SCOPE,
        SELECT,
        IGNORE,
        DEBUG,
        CLUSTER,
        click.option(
            "--interval",
            default="5m",
            show_default=True,
            metavar="DURATION",
            help="Time from the start of one scan to the next (jittered by up to 10 %; a scan "
            "that takes longer is followed at once, never overlapped). At least 1s.",
        ),
        click.option(
            "--host",
            default="0.0.0.0",
            show_default=True,
            help="Address to listen on (every interface: what a pod needs; 127.0.0.1 keeps "
            "it local).",
        ),
        click.option(
            "--port",
            type=click.IntRange(0, 65535),
            default=9469,
            show_default=True,
            help="Port to listen on (0: any free port, named in the first log line).",
        ),
    ]
    return apply_options(func, options)


@click.command(short_help="Scan on an interval and serve the findings as Prometheus metrics.")
@input_options
@dataplane_options
@live_options
@exporter_options
@click.argument("paths", nargs=-1, metavar="[PATH]...")
def serve(
    paths: tuple[str, ...],
    cluster: str | None,
    interval: str,
    host: str,
    port: int,
    **flags: Any,
) -> None:
    """Scan every --interval and serve the last good report, read-only, to Prometheus.

    \b
    Endpoints:
      /metrics       Prometheus text (docs/metrics.md: every series has a cluster label)
      /healthz       200 while the process and its scan thread are alive
      /readyz        200 after the first good scan, 503 while the latest scan failed
      /report.json   the last good report (as scan -o json)
      /report.html   the last good report (as scan -o html)

    \b
    It reads what scan reads: the live cluster by default (in a pod: its service account),
    or -f PATH, --snapshot PATH, --demo to try it. A scan that fails (cluster unreachable,
    bad input, a bug) keeps the last good report, counts
    seldon_doctor_scan_errors_total{reason} and makes /readyz 503; the process keeps
    running. One line per scan on stderr. SIGTERM or SIGINT: exit 0.
    """
    from seldon_doctor.app.scan import (
        ScanRequest,
        check_sources,
        cluster_label,
        live_cluster_names,
    )
    from seldon_doctor.serve.run import ServeConfig, run_exporter

    files = (*flags.pop("files"), *paths)
    request = ScanRequest(files=files, **flags)
    if "-" in files:
        raise click.UsageError("serve reads its input again every scan: -f - (stdin) cannot be")
    with usage_errors():
        seconds = _interval_seconds(interval)
        check_sources(request)
    names = [] if request.offline or cluster else live_cluster_names(request)
    config = ServeConfig(
        request=request,
        cluster=cluster_label(request, cluster, names),
        interval=seconds,
        host=host,
        port=port,
    )
    raise SystemExit(run_exporter(config, err))


def _interval_seconds(value: str) -> float:
    """``--interval``: the one duration parser (as ``--wait``), at least a second."""
    from seldon_doctor.app.wait import wait_seconds
    from seldon_doctor.errors import RequestError

    seconds = wait_seconds(value)
    if seconds < 1:
        raise RequestError(f"Invalid value for --interval: {value!r} is less than 1s")
    return seconds
