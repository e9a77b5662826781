"""``seldon-doctor checks`` and ``explain``: the check catalog and one check's playbook."""

from __future__ import annotations

import click

from seldon_doctor.cli.options import complete_checks
from seldon_doctor.cli.output import console
from seldon_doctor.errors import InputError


@click.command("checks")
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

    render_catalog(docs, {}, console())


@click.command(short_help="A check's documentation and playbook (by id or slug).")
@click.argument("check", shell_complete=complete_checks)
def explain(check: str) -> None:
    """Show a check's documentation and remediation playbook (by id or slug)."""
    from seldon_doctor.catalog import check_reads, load_playbook, lookup
    from seldon_doctor.render.terminal import render_explain

    doc = lookup(check)
    if doc is None:
        raise InputError(f"no check {check!r} (see seldon-doctor checks)")
    render_explain(doc, load_playbook(doc.id), check_reads(doc.id), console())
