#!/usr/bin/env python3
"""Regenerate every artefact derived from the code, or check that none is stale.

    python scripts/generate.py          # rewrite what is stale
    python scripts/generate.py --check  # exit 1 and show a diff when anything is stale (CI)

The artefacts:

* ``deploy/serviceaccount.yaml``, ``clusterrole.yaml``, ``clusterrolebinding.yaml``,
  ``role-namespaced.yaml``: ``seldon-doctor rbac``'s output (``seldon_doctor.rbac``), derived
  from the checks' declared ``reads``;
* the resource table of ``deploy/README.md`` (``seldon_doctor.rbac.reads_table()``);
* the check table of ``README.md``: id, slug and severity from ``checks/SDxxx.md``, one row per
  check in id order; the hand-written "fires when" column is kept (a new check starts with its
  doc's title there).

``scripts/test.sh`` (what CI runs) calls ``--check`` before pytest, and
``tests/test_generated.py`` does the same so a local pytest run fails too.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # this checkout's package, not whatever is installed
    sys.path.insert(0, str(ROOT))

RBAC_TABLE_HEADER = "| API group | resource | scope | why | read by |"
CHECK_TABLE_HEADER = "| id | slug | severity | fires when |"


class GenerateError(Exception):
    """A file the generator edits no longer has the shape it expects."""


def _table_span(lines: list[str], header: str, where: Path) -> tuple[int, int]:
    """[start, end) of the Markdown table whose first line is ``header``."""
    starts = [i for i, line in enumerate(lines) if line.strip() == header]
    if len(starts) != 1:
        raise GenerateError(f"{where}: expected one table headed {header!r}, found {len(starts)}")
    end = starts[0] + 1
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return starts[0], end


def _replace_table(text: str, header: str, table: list[str], where: Path) -> str:
    lines = text.split("\n")
    start, end = _table_span(lines, header, where)
    return "\n".join([*lines[:start], *table, *lines[end:]])


def deploy_readme(text: str) -> str:
    from seldon_doctor.rbac import reads_table

    table = reads_table().rstrip("\n").split("\n")
    return _replace_table(text, RBAC_TABLE_HEADER, table, Path("deploy/README.md"))


def readme(text: str) -> str:
    from seldon_doctor.catalog import load_docs

    lines = text.split("\n")
    start, end = _table_span(lines, CHECK_TABLE_HEADER, Path("README.md"))
    fires_when: dict[str, str] = {}
    for row in lines[start + 2 : end]:
        cells = row.strip().removeprefix("|").removesuffix("|").strip().split(" | ", 3)
        if len(cells) == 4:
            fires_when[cells[0].strip()] = cells[3].strip()
    table = [lines[start], lines[start + 1]]
    for check_id, doc in sorted(load_docs().items()):
        fires = fires_when.get(check_id) or doc.title
        table.append(f"| {check_id} | {doc.slug} | {doc.severity.value} | {fires} |")
    return "\n".join([*lines[:start], *table, *lines[end:]])


def artefacts() -> dict[Path, Callable[[str | None], str]]:
    """Each generated file, and how to produce it from its current text (None: absent)."""
    from seldon_doctor.rbac import deploy_files

    out: dict[Path, Callable[[str | None], str]] = {}
    for name, text in deploy_files().items():
        out[ROOT / "deploy" / name] = lambda _old, text=text: text
    out[ROOT / "deploy" / "README.md"] = lambda old: deploy_readme(old or "")
    out[ROOT / "README.md"] = lambda old: readme(old or "")
    return out


def stale() -> list[tuple[Path, str | None, str]]:
    """(path, current text or None, wanted text) of every artefact that differs."""
    out = []
    for path, produce in artefacts().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        wanted = produce(current)
        if current != wanted:
            out.append((path, current, wanted))
    return out


def _diff(path: Path, current: str | None, wanted: str) -> str:
    rel = path.relative_to(ROOT).as_posix()
    return "".join(
        difflib.unified_diff(
            (current or "").splitlines(keepends=True),
            wanted.splitlines(keepends=True),
            f"a/{rel}",
            f"b/{rel}",
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 with a diff if stale"
    )
    args = parser.parse_args(argv)
    try:
        changes = stale()
    except GenerateError as err:
        print(f"generate: {err}", file=sys.stderr)
        return 2
    for path, current, wanted in changes:
        rel = path.relative_to(ROOT).as_posix()
        if args.check:
            print(f"stale: {rel}", file=sys.stderr)
            sys.stderr.write(_diff(path, current, wanted))
        else:
            path.write_text(wanted, encoding="utf-8")
            print(f"wrote {rel}")
    if args.check and changes:
        print(
            f"{len(changes)} generated file(s) are stale; run: python scripts/generate.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
