#!/usr/bin/env python3
"""Scaffold a new check: everything but its logic, in one command.

    python scripts/new_check.py SD109 model-storage-unreachable \\
        [--title "A Model's storageUri cannot be read by its Server"] [--severity warning]

Writes, under the repository root (``--root``, this checkout by default):

* ``seldon_doctor/checks/<area>/sd109_model_storage_unreachable.py``: a ``Check`` subclass with
  ``id``, ``reads`` and a ``run`` that yields nothing yet (the folder follows the id range:
  SD0xx input, SD1xx model, SD2xx server, SD3xx pipeline, SD4xx experiment, SD5xx controlplane,
  SD6xx dataplane, SD7xx serving, SD8xx probe);
* ``checks/SD109.md``: front matter and every heading the catalog requires, to fill in;
* ``playbooks/SD109.yaml``: a minimal playbook (look, then scan again);
* ``fixtures/checks/SD109/fires.yaml`` (with its ``# expect: SD109``) and ``quiet.yaml``;

registers the class in ``seldon_doctor/checks/__init__.py`` (import and ``ALL_CHECKS`` entry,
both in order) and runs ``scripts/generate.py`` for the README row. Then write the logic: until
``run`` yields the finding ``fires.yaml`` expects, ``tests/test_check_fixtures.py`` fails, which
is the point. An existing id, slug or class name, or a malformed id or slug, is refused (exit 2,
one line on stderr) before anything is written.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: First digit of the id -> (folder under seldon_doctor/checks, the doc's category).
AREAS: dict[str, tuple[str, str]] = {
    "0": ("input", "manifests"),
    "1": ("model", "scheduling"),
    "2": ("server", "servers"),
    "3": ("pipeline", "pipeline"),
    "4": ("experiment", "experiment"),
    "5": ("controlplane", "control-plane"),
    "6": ("dataplane", "routing"),
    "7": ("serving", "serving"),
    "8": ("probe", "probe"),
}
SEVERITIES = ("error", "warning", "info")
_ID = re.compile(r"SD[0-8]\d\d")
_SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_PACKAGE = "seldon_doctor.checks."


class Refused(Exception):
    """The request cannot be honoured; the message is the one line to print."""


def module_name(check_id: str, slug: str) -> str:
    """``SD109``, ``model-storage-unreachable`` -> ``sd109_model_storage_unreachable``."""
    return f"sd{check_id[2:]}_{slug.replace('-', '_')}"


def class_name(slug: str) -> str:
    return "".join(part.capitalize() for part in slug.split("-"))


def _front_matter(doc: Path) -> dict[str, str]:
    text = doc.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return {}
    head = text.split("---\n", 2)[1]
    return {k.strip(): v.strip() for k, _, v in (ln.partition(":") for ln in head.splitlines())}


def _refuse_existing(root: Path, check_id: str, slug: str, cls: str) -> None:
    if (root / "checks" / f"{check_id}.md").exists():
        raise Refused(f"{check_id} exists already (checks/{check_id}.md)")
    if (root / "playbooks" / f"{check_id}.yaml").exists():
        raise Refused(f"{check_id} exists already (playbooks/{check_id}.yaml)")
    checks = root / "seldon_doctor" / "checks"
    taken = sorted(checks.rglob(f"sd{check_id[2:]}_*.py"))
    if taken:
        raise Refused(f"{check_id} exists already ({taken[0].relative_to(root).as_posix()})")
    for doc in sorted((root / "checks").glob("SD*.md")):
        if _front_matter(doc).get("slug") == slug:
            raise Refused(f"slug {slug} is taken by {doc.stem}")
    if re.search(rf"\b{cls}\b", (checks / "__init__.py").read_text(encoding="utf-8")):
        raise Refused(f"class name {cls} is in the registry already")


def module_text(check_id: str, slug: str, title: str, cls: str) -> str:
    summary = f'"""{check_id} {slug}: {title.rstrip(".")}."""'
    if len(summary) > 99:
        summary = f'"""{check_id} {slug}.\n\n{title.rstrip(".")}.\n"""'
    return f'''{summary}

from __future__ import annotations

from collections.abc import Iterator

from seldon_doctor.checks.base import Check, CheckContext
from seldon_doctor.findings import Finding


class {cls}(Check):
    """{check_id}: see checks/{check_id}.md."""

    id = "{check_id}"
    # The kinds run() reads from the graph: they decide the live LIST and the generated RBAC,
    # and a gap in one of them reports this check as not evaluated (SD002).
    reads = frozenset[str]()

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        # For each problem in ctx.graph: yield self.finding(node, message, evidence=[...],
        # params={{...}}) with the params playbooks/{check_id}.yaml fills in. Helpers only this
        # check uses stay in this module; shared ones are in seldon_doctor/checks/helpers/.
        yield from ()
'''


def doc_text(root: Path, check_id: str, slug: str, title: str, severity: str, category: str) -> str:
    from_package = re.search(
        r'^__version__ = "([^"]+)"',
        (root / "seldon_doctor" / "__init__.py").read_text(encoding="utf-8"),
        re.M,
    )
    since = from_package.group(1) if from_package else "0.1.0"
    return f"""---
id: {check_id}
slug: {slug}
title: {title}
severity: {severity}
category: {category}
since: {since}
---
## What it checks
TODO: which objects and fields {check_id} reads, and the exact condition that fires it.

## Why it matters
TODO: what the user sees when this is wrong (status, error text, traffic).

## Example
```yaml
# TODO: the smallest manifest that fires {check_id}
```

## Known false positives
TODO: when it fires although nothing is wrong, or "None known."

## References
TODO: the upstream Seldon Core file(s) the rule follows (a path such as
`scheduler/pkg/scheduler/filters/replicamemory.go`) and the releases it applies to (2.9+);
see tests/test_check_references.py for a check that follows no Seldon rule.
"""


def playbook_text(check_id: str, title: str) -> str:
    order = int(check_id[2]) * 10
    return f"""check: {check_id}
summary: "TODO: the fix for ${{namespace}}/${{name}} ({title.rstrip(".")})."
order: {order}
steps:
  - title: Look at the object the finding names
    run: kubectl -n ${{namespace}} get models,servers,experiments,pipelines
verify:
  title: Scan again; {check_id} no longer fires
  run: seldon-doctor scan --select {check_id} -n ${{namespace}}
risk: none — diagnosis only
rollback: nothing to roll back
"""


def fixture_texts(check_id: str) -> tuple[str, str]:
    fires = f"""# {check_id} fires: TODO replace with the smallest input that shows the problem.
# expect: {check_id}
apiVersion: mlops.seldon.io/v1alpha1
kind: Model
metadata: {{name: broken, namespace: demo}}
spec: {{storageUri: "gs://models/broken"}}
"""
    quiet = f"""# {check_id} stays quiet: TODO the same input with the problem fixed.
apiVersion: mlops.seldon.io/v1alpha1
kind: Model
metadata: {{name: healthy, namespace: demo}}
spec: {{storageUri: "gs://models/healthy"}}
"""
    return fires, quiet


def _import_lines(module: str, cls: str) -> list[str]:
    line = f"from {module} import {cls}"
    if len(line) <= 99:
        return [line]
    return [f"from {module} import (", f"    {cls},", ")"]


def register(init: Path, module: str, cls: str, check_id: str) -> None:
    """Insert the import (by module) and the ALL_CHECKS entry (by id) into the registry."""
    text = init.read_text(encoding="utf-8")
    lines = text.split("\n")
    tree = ast.parse(text)
    imports = [
        node
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith(_PACKAGE)
        and node.module not in (f"{_PACKAGE}base", f"{_PACKAGE}helpers")
    ]
    ids = {
        alias.name: f"SD{m.group(1)}"
        for node in imports
        if (m := re.search(r"\.sd(\d{3})_", node.module or ""))
        for alias in node.names
    }
    entries = next(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and node.target.id == "ALL_CHECKS"
    )
    elts = next(n.elts for n in ast.walk(entries) if isinstance(n, ast.Tuple) and len(n.elts) > 1)
    after = [e for e in elts if isinstance(e, ast.Name) and ids.get(e.id, "") > check_id]
    at = after[0].lineno - 1 if after else (elts[-1].end_lineno or elts[-1].lineno)
    indent = lines[elts[0].lineno - 1][: elts[0].col_offset]
    lines.insert(at, f"{indent}{cls},")
    later = [n for n in imports if (n.module or "") > module]
    at = later[0].lineno - 1 if later else (imports[-1].end_lineno or imports[-1].lineno)
    lines[at:at] = _import_lines(module, cls)
    init.write_text("\n".join(lines), encoding="utf-8")


def scaffold(root: Path, check_id: str, slug: str, title: str, severity: str) -> list[Path]:
    if not _ID.fullmatch(check_id):
        raise Refused(f"malformed id {check_id!r}: want SD followed by three digits, SD0xx-SD8xx")
    if not _SLUG.fullmatch(slug):
        raise Refused(f"malformed slug {slug!r}: want lowercase words joined by '-'")
    if severity not in SEVERITIES:
        raise Refused(f"unknown severity {severity!r}: want one of {', '.join(SEVERITIES)}")
    if len(title) > 100 or title.lower().startswith(("ensure", "check")):
        raise Refused("the title must be at most 100 characters and not start 'Ensure'/'Check'")
    cls = class_name(slug)
    _refuse_existing(root, check_id, slug, cls)
    folder, category = AREAS[check_id[2]]
    package = root / "seldon_doctor" / "checks" / folder
    module = module_name(check_id, slug)
    fires, quiet = fixture_texts(check_id)
    doc = doc_text(root, check_id, slug, title, severity, category)
    files = {
        package / f"{module}.py": module_text(check_id, slug, title, cls),
        root / "checks" / f"{check_id}.md": doc,
        root / "playbooks" / f"{check_id}.yaml": playbook_text(check_id, title),
        root / "fixtures" / "checks" / check_id / "fires.yaml": fires,
        root / "fixtures" / "checks" / check_id / "quiet.yaml": quiet,
    }
    if not (package / "__init__.py").exists():
        area_doc = f'"""{folder.capitalize()} checks (SD{check_id[2]}xx)."""\n'
        files[package / "__init__.py"] = area_doc
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    init = root / "seldon_doctor" / "checks" / "__init__.py"
    register(init, f"{_PACKAGE}{folder}.{module}", cls, check_id)
    return [*files, init]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("id", help="SDxxx; the hundreds digit picks the folder")
    parser.add_argument("slug", help="lowercase-words-with-dashes, a public contract")
    parser.add_argument("--title", help="one line, what is wrong (default: from the slug)")
    parser.add_argument("--severity", default="warning", help="error, warning or info")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root to write in")
    args = parser.parse_args(argv)
    title = args.title or args.slug.replace("-", " ").capitalize()
    root = args.root.resolve()
    try:
        written = scaffold(root, args.id, args.slug, title, args.severity)
    except Refused as refused:
        print(f"new_check: {refused}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path.relative_to(root).as_posix()}")
    done = subprocess.run([sys.executable, str(root / "scripts" / "generate.py")], check=False)
    if done.returncode:
        print("new_check: scripts/generate.py failed; run it by hand", file=sys.stderr)
        return 1
    print(f"next: write {args.id}'s run() until tests/test_check_fixtures.py passes, then the doc")
    return 0


if __name__ == "__main__":
    sys.exit(main())
