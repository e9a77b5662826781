"""Remediation plans: playbooks filled from findings, deduplicated, ordered by dependency.

Playbooks carry an ``order``: topology first (controllers, schedulers, Services), then
scheduling, then routes — routes come from the scheduler, so chasing a missing route before
the scheduler topology is fixed wastes the on-call engineer's time.

Root causes come before their consequences (``Finding.caused_by``, set by
``seldon_doctor.causes``): an entry whose every finding leads back to roots that have a plan
of their own is moot — it keeps its summary and verification but no steps, and says which
root it resolves with (``PlanEntry.resolves_with``).

Plans are pasted into a shell, and their values come from the input (a requirement, a file
name, a resource name): every value placed in a ``run:`` line is made inert there. Outside
quotes it is shell-quoted (:func:`shlex.quote`, which leaves ordinary names as they are); inside
a quoted part of the line (a JSON patch literal, a jsonpath, a header) quoting cannot help, so
the value must match :data:`INERT` (names, versions, lists of them) or it is withheld: the line
shows ``<placeholder>`` and the step's note says "value withheld: not safe to paste". Values in
a ``manifest:`` follow the same charset rule (a newline or a quote would change the YAML).
"""

from __future__ import annotations

import re
import shlex
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from seldon_doctor.catalog import Playbook, Step, load_playbooks
from seldon_doctor.findings import Finding, ResourceRef, root_keys


@dataclass(frozen=True, slots=True)
class FilledPlan:
    """One finding's playbook with every placeholder filled."""

    check_id: str
    order: int
    summary: str
    steps: tuple[Step, ...]
    verify: Step
    risk: str
    rollback: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "steps": [_step_dict(s) for s in self.steps],
            "verify": _step_dict(self.verify),
            "risk": self.risk,
            "rollback": self.rollback,
        }


@dataclass(frozen=True, slots=True)
class PlanEntry:
    """A plan entry: one filled playbook, and every resource it fixes."""

    plan: FilledPlan
    resources: tuple[ResourceRef, ...]
    # Keys of the root findings whose plans fix this one; set, the entry has no steps.
    resolves_with: tuple[str, ...] = ()


# A value that means the same in any quoted position of a shell line, a JSON string, a
# regular expression and a YAML scalar: no quotes, backslash, $, backtick, !, space, newline.
INERT = re.compile(r"[A-Za-z0-9._:/@+=,-]*")
WITHHELD = "value withheld: not safe to paste"
_PLACEHOLDER = re.compile(
    r"\$(?:(?P<dollar>\$)|\{(?P<braced>[_a-z][_a-z0-9]*)\}|(?P<named>[_a-z][_a-z0-9]*))", re.I
)


def _fill(text: str | None, params: Mapping[str, str]) -> str | None:
    if text is None:
        return None
    return string.Template(text).substitute(params)


def fill_shell(line: str, params: Mapping[str, str], withheld: list[str]) -> str:
    """``line`` (a ``run:`` template) with every placeholder filled so that it stays inert when
    pasted: shell-quoted outside quotes, checked against :data:`INERT` inside them (else
    ``<name>``, and ``name`` appended to ``withheld``); an empty value is shown as ``<name>``
    for the reader to fill in. A missing parameter raises KeyError."""
    out: list[str] = []
    quote: str | None = None  # the quote character the scan is inside of, if any
    i = 0
    while i < len(line):
        char = line[i]
        match = _PLACEHOLDER.match(line, i) if char == "$" else None
        if match is not None:
            if match["dollar"]:
                out.append("$")
            else:
                key = match["braced"] or match["named"]
                value = str(params[key])
                if not value:  # unknown to the input: the reader fills it in, as <runtime>
                    out.append(f"<{key}>")
                elif quote is None:
                    out.append(shlex.quote(value))
                elif INERT.fullmatch(value):
                    out.append(value)
                else:
                    out.append(f"<{key}>")
                    withheld.append(key)
            i = match.end()
            continue
        if char == "\\" and quote != "'":
            out.append(line[i : i + 2])
            i += 2
            continue
        if quote is None and char in "'\"":
            quote = char
        elif quote == char:
            quote = None
        out.append(char)
        i += 1
    return "".join(out)


def _fill_manifest(text: str, params: Mapping[str, str], withheld: list[str]) -> str:
    def one(match: re.Match[str]) -> str:
        if match["dollar"]:
            return "$"
        key = match["braced"] or match["named"]
        value = str(params[key])
        if re.fullmatch(r"[A-Za-z0-9._:/@+=, -]*", value):
            return value
        withheld.append(key)
        return f"<{key}>"

    return _PLACEHOLDER.sub(one, text)


def _fill_step(step: Step, params: Mapping[str, str]) -> Step:
    withheld: list[str] = []
    run = None if step.run is None else fill_shell(step.run, params, withheld)
    manifest = None if step.manifest is None else _fill_manifest(step.manifest, params, withheld)
    note = _fill(step.note, params)
    if withheld:
        names = ", ".join(dict.fromkeys(withheld))
        note = f"{note} ({WITHHELD}: {names})" if note else f"{WITHHELD}: {names}"
    return Step(title=_fill(step.title, params) or "", run=run, manifest=manifest, note=note)


def fill(book: Playbook, params: Mapping[str, str]) -> FilledPlan:
    """Fill a playbook (its variant matching ``params``, if any); a missing parameter raises
    KeyError (caught by the meta-tests)."""
    book = book.for_params(params)
    return FilledPlan(
        check_id=book.check,
        order=book.order,
        summary=_fill(book.summary, params) or "",
        steps=tuple(_fill_step(s, params) for s in book.steps),
        verify=_fill_step(book.verify, params),
        risk=_fill(book.risk, params) or "",
        rollback=_fill(book.rollback, params) or "",
    )


def plan_for(finding: Finding) -> FilledPlan | None:
    book = load_playbooks().get(finding.check_id)
    return fill(book, finding.param_dict()) if book else None


def build_plan(findings: Iterable[Finding]) -> list[PlanEntry]:
    """Merge identical filled plans and order them: roots first, topology before routes."""
    findings = list(findings)
    by_key: dict[str, Finding] = {}
    for finding in findings:
        by_key.setdefault(finding.key, finding)
    planned: set[str] = set()  # keys of findings that have a plan
    merged: dict[FilledPlan, list[Finding]] = {}
    for finding in findings:
        plan = plan_for(finding)
        if plan is None:
            continue
        planned.add(finding.key)
        members = merged.setdefault(plan, [])
        if all(m.resource != finding.resource for m in members):
            members.append(finding)
    entries = []
    for plan, members in merged.items():
        roots_per_member = [[k for k in root_keys(m, by_key) if k in planned] for m in members]
        resolves: tuple[str, ...] = ()
        if all(roots_per_member):
            resolves = tuple(sorted({k for keys in roots_per_member for k in keys}))
            plan = FilledPlan(
                plan.check_id, plan.order, plan.summary, (), plan.verify, plan.risk, plan.rollback
            )
        refs = tuple(sorted({m.resource for m in members}))
        entries.append(PlanEntry(plan, refs, resolves))
    return sorted(
        entries,
        key=lambda e: (
            bool(e.resolves_with),
            e.plan.order,
            e.plan.check_id,
            [str(r) for r in e.resources],
            e.plan.summary,
        ),
    )


def _step_dict(step: Step) -> dict[str, str]:
    out = {"title": step.title}
    for key in ("run", "manifest", "note"):
        value = getattr(step, key)
        if value is not None:
            out[key] = value
    return out
