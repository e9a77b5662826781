"""``seldon-doctor snapshot``: capture a live read (or files, or the demo) into a bundle."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import click

from seldon_doctor.cli.options import live_options
from seldon_doctor.cli.output import err, usage_errors, without_cluster
from seldon_doctor.errors import ExitCode
from seldon_doctor.findings import counted


@click.command("snapshot", short_help="Capture a live read into a bundle to scan offline.")
@live_options
@click.option(
    "-f",
    "--filename",
    "files",
    multiple=True,
    metavar="PATH",
    help="Write the bundle from manifests or captured state instead (file, directory or -; "
    "repeatable).",
)
@click.option(
    "--envoy-config-dump",
    "envoy_dumps",
    multiple=True,
    metavar="[NAMESPACE=]PATH",
    help="With -f: an Envoy /config_dump to include, as for scan.",
)
@click.option(
    "--crds",
    multiple=True,
    metavar="PATH",
    help="With -f: CustomResourceDefinitions to include, as for scan.",
)
@click.option("--demo", is_flag=True, help="Write the bundle from the bundled demo cluster.")
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
    help="Live: capture only these namespaces (repeatable; default all). With -f: the "
    "namespace of objects that name none (default 'default').",
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

    With -f PATH or --demo it writes the same bundle from manifests or the bundled demo
    instead of a cluster: 'scan --snapshot' of it reports what 'scan -f' / 'scan --demo' does.
    """
    from datetime import UTC, datetime

    from seldon_doctor.bundle import BundleMeta, meta_from_live, write_bundle

    files, dumps, crds, demo = (flags.pop(k) for k in ("files", "envoy_dumps", "crds", "demo"))
    if files or demo:
        from seldon_doctor.app.inputs import offline_capture

        with usage_errors():
            snapshots: Any = offline_capture(files, dumps, crds, demo, **flags)
        meta = BundleMeta()
    else:
        from seldon_doctor.app.live import live_request, read_clusters

        if dumps or crds:
            raise click.UsageError("--envoy-config-dump and --crds go with -f")
        hint = "write a bundle from files with -f PATH, or from the bundled demo with --demo"
        with without_cluster(hint):
            live = read_clusters(live_request(quiet=quiet, **flags))
        snapshots = live.snapshots
        meta = meta_from_live(live.clusters)
    if created is None:
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        moment = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
        created = moment.isoformat(timespec="seconds")
    written = write_bundle(snapshots, output, meta=replace(meta, created=created))
    sections = snapshots.values() if isinstance(snapshots, dict) else [snapshots]
    gaps = sum(len(s.gaps) for s in sections)
    objects = sum(len(s.objects) for s in sections)
    if not quiet:
        partial = f"; {counted(gaps, 'input')} could not be read (partial)" if gaps else ""
        offline = "the demo" if demo else "files"
        where = counted(len(sections), "cluster") if isinstance(snapshots, dict) else offline
        err(f"wrote {written}: {where}, {counted(objects, 'object')}{partial}")
    raise SystemExit(int(ExitCode.INCOMPLETE if gaps else ExitCode.OK))
