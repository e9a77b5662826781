"""``seldon-doctor trace``: flags -> ``app.trace.TraceRequest`` -> ``run_trace`` -> the tree."""

from __future__ import annotations

import sys
from typing import Any

import click

from seldon_doctor.cli.options import dataplane_options, request_target_options
from seldon_doctor.cli.output import console, usage_errors, without_cluster

LIVE_PROBE = "live"  # app.trace.LIVE_PROBE (not imported: --help stays light)


@click.command("trace", short_help="One request's path, hop by hop, to the first break.")
@click.argument("name")
@request_target_options
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
@dataplane_options
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
def trace_command(fmt: str, no_color: bool, **flags: Any) -> None:
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
    from seldon_doctor.app.trace import TraceRequest, run_trace

    offline = (
        "trace files with -f PATH (and --envoy-config-dump PATH), or Envoy's admin with "
        "--envoy-admin URL"
    )
    with usage_errors(), without_cluster(offline):
        result = run_trace(TraceRequest(**flags))
    if fmt == "json":
        import json

        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    else:
        from seldon_doctor.render.trace_tree import render_tree

        render_tree(result, console(no_color=no_color))
    raise SystemExit(result.exit_code())
