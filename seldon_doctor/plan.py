"""Remediation plans: playbooks filled from findings, deduplicated, ordered by dependency.

Playbooks carry an ``order``: topology first (controllers, schedulers, Services), then
scheduling, then routes — routes come from the scheduler, so chasing a missing route before
the scheduler topology is fixed wastes the on-call engineer's time.

Root causes come before their consequences (``Finding.caused_by``, set by
``seldon_doctor.causes``): an entry whose every finding leads back to roots that have a plan
of their own is moot — it keeps its summary and verification but no steps, and says which
root it resolves with (``PlanEntry.resolves_with``).
"""

from __future__ import annotations

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


def _fill(text: str | None, params: Mapping[str, str]) -> str | None:
    if text is None:
        return None
    return string.Template(text).substitute(params)


def _fill_step(step: Step, params: Mapping[str, str]) -> Step:
    return Step(
        title=_fill(step.title, params) or "",
        run=_fill(step.run, params),
        manifest=_fill(step.manifest, params),
        note=_fill(step.note, params),
    )


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
