"""``seldon-doctor snapshot``: capture a live read into a bundle to scan offline."""

from __future__ import annotations

import os
from typing import Any

import click

from seldon_doctor.cli.options import live_options
from seldon_doctor.cli.output import err
from seldon_doctor.errors import ExitCode


@click.command("snapshot", short_help="Capture a live read into a bundle to scan offline.")
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
    output: str,
    created: str | None,
    quiet: bool,
    **flags: Any,
) -> None:
    """Capture what a live scan reads, to scan it later offline with 'scan --snapshot PATH'.

    Objects (the kinds the checks read), logs (--logs), Envoy and scheduler views
    (--dataplane), gaps and versions. Secret payloads and credential-like values are redacted
    before anything is written. Exit 0 when everything was read, 3 when the capture is partial.
    """
    from datetime import UTC, datetime

    from seldon_doctor.app.live import live_request, read_clusters
    from seldon_doctor.bundle import meta_from_live, write_bundle

    live = read_clusters(live_request(quiet=quiet, **flags))
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
        err(f"wrote {written}: {len(snapshots)} cluster(s), {objects} objects{partial}")
    raise SystemExit(int(ExitCode.INCOMPLETE if gaps else ExitCode.OK))
