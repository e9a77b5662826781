"""The ``seldon-doctor`` group and its commands (each in its own module of ``cli``)."""

from __future__ import annotations

import click

from seldon_doctor import __version__
from seldon_doctor.cli.catalog import explain, list_checks
from seldon_doctor.cli.completion import completion
from seldon_doctor.cli.graph import graph
from seldon_doctor.cli.probe import probe
from seldon_doctor.cli.scan import scan
from seldon_doctor.cli.serve import serve
from seldon_doctor.cli.snapshot import snapshot_command
from seldon_doctor.cli.trace import trace_command
from seldon_doctor.rbac import rbac_command


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


for command in (scan, serve, list_checks, explain, graph, probe, trace_command, snapshot_command):
    cli.add_command(command)
# `seldon-doctor rbac`: the minimal read-only RBAC from the checks' declared reads (rbac.py
# imports only click at import time).
cli.add_command(rbac_command)
cli.add_command(completion)
