"""``seldon-doctor probe``: real inference requests through Envoy (``probe.command``)."""

from __future__ import annotations

from typing import Any

import click

from seldon_doctor.cli.options import request_target_options


@click.command(short_help="Send real inference requests through Envoy.")
@click.argument("name")
@request_target_options
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
def probe(use_grpc: bool, **flags: Any) -> None:
    """Send real inference requests to NAME through Envoy and report what answered.

    Success rate, status codes classified (Envoy's own 404 vs the model server's, 503s),
    latency quantiles and histogram, an Experiment's split against its weights, the versions
    that answered; then SD801-SD804. Bounded in requests and time; sends nothing else.
    """
    from seldon_doctor.probe.command import probe_command

    raise SystemExit(probe_command(grpc=use_grpc, **flags))
