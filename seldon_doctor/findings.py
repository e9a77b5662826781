"""Findings: what a check concluded, about which resource, and the evidence for it."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``1 namespace``, ``2 namespaces``: the counts every report and note prints."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def listed(noun: str, items: Iterable[object], plural: str | None = None) -> str:
    """``port 9000``, ``ports 9000, 9001``: a noun that agrees with the list it introduces."""
    shown = [str(item) for item in items]
    return f"{noun if len(shown) == 1 else plural or noun + 's'} {', '.join(shown)}"


class Severity(StrEnum):
    """Three levels, as istio and SARIF use them."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


@dataclass(frozen=True, slots=True, order=True)
class ResourceRef:
    """The Kubernetes object a finding is about."""

    kind: str
    namespace: str
    name: str
    cluster: str | None = None

    def __str__(self) -> str:
        base = (
            f"{self.kind}/{self.namespace}/{self.name}"
            if self.namespace
            else f"{self.kind}/{self.name}"
        )
        return f"{self.cluster}:{base}" if self.cluster else base

    def as_dict(self) -> dict[str, str]:
        out = {"kind": self.kind, "namespace": self.namespace, "name": self.name}
        if self.cluster:
            out["cluster"] = self.cluster
        return out


@dataclass(frozen=True, slots=True)
class Evidence:
    """One fact that supports a finding: an object's field and its value, or a route."""

    subject: str
    field: str | None = None
    value: Any = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"subject": self.subject}
        if self.field is not None:
            out["field"] = self.field
        if self.value is not None:
            out["value"] = self.value
        if self.note is not None:
            out["note"] = self.note
        return out

    def describe(self) -> str:
        text = self.subject
        if self.field:
            text += f" {self.field}"
        if self.value is not None:
            text += f" = {self.value!r}" if not isinstance(self.value, str) else f" = {self.value}"
        if self.note:
            text += f" ({self.note})"
        return text


@dataclass(frozen=True, slots=True)
class Location:
    """Where in the input the resource was declared (file mode)."""

    file: str
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """A check's conclusion about one resource."""

    check_id: str
    slug: str
    severity: Severity
    resource: ResourceRef
    message: str
    evidence: tuple[Evidence, ...] = ()
    # Values for the playbook's ${placeholders}; every finding has namespace, name and kind.
    params: tuple[tuple[str, str], ...] = ()
    location: Location | None = None
    # Free-form grouping key so the planner can merge steps shared by several findings.
    dedupe_key: str | None = None
    extra: tuple[tuple[str, Any], ...] = field(default=())
    # Keys of the findings that cause this one (seldon_doctor.causes, after the checks ran).
    caused_by: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Stable identity: ``SD504/Service/ns/name``, ``cluster:`` first when the scan has one."""
        res = self.resource
        parts = [self.check_id, res.kind, *([res.namespace] if res.namespace else []), res.name]
        text = "/".join(parts)
        return f"{res.cluster}:{text}" if res.cluster else text

    def sort_key(self) -> tuple[int, str, str, str, str, str]:
        return (
            -self.severity.rank,
            self.check_id,
            self.resource.namespace,
            self.resource.kind,
            self.resource.name,
            self.message,
        )

    def param_dict(self) -> dict[str, str]:
        base = {
            "kind": self.resource.kind,
            "namespace": self.resource.namespace,
            "name": self.resource.name,
        }
        base.update(dict(self.params))
        return base


# ----------------------------------------------------------------------------- causal groups


def present_causes(finding: Finding, keys: Collection[str]) -> tuple[str, ...]:
    """The finding's causes that are in the report (a suppressed or baselined one is not)."""
    return tuple(k for k in finding.caused_by if k in keys and k != finding.key)


@dataclass(frozen=True, slots=True)
class CausalGroup:
    """A root finding and every finding it causes (directly or through others)."""

    root: Finding
    consequences: tuple[Finding, ...]


def causal_groups(findings: list[Finding]) -> list[CausalGroup]:
    """Roots in report order, each with the consequences it leads to.

    A finding whose causes are absent from ``findings`` is a root. A consequence of several
    roots is listed under the first of them (report order), so every finding appears once.
    """
    keys = {f.key for f in findings}
    by_key: dict[str, Finding] = {}
    for f in findings:
        by_key.setdefault(f.key, f)
    order = {f.key: i for i, f in enumerate(findings)}
    roots = [f for f in findings if not present_causes(f, keys)]
    members: dict[str, list[Finding]] = {r.key: [] for r in roots}
    orphans: list[Finding] = []
    for f in findings:
        if f.key in members:
            continue
        mine = sorted((k for k in root_keys(f, by_key) if k in members), key=order.__getitem__)
        if mine:
            members[mine[0]].append(f)
        else:  # a cycle without a root (never produced by seldon_doctor.causes)
            orphans.append(f)
    groups = [CausalGroup(r, tuple(members.pop(r.key, []))) for r in roots]
    groups.extend(CausalGroup(f, ()) for f in orphans)
    return groups


def root_keys(finding: Finding, by_key: dict[str, Finding]) -> list[str]:
    """Keys of the roots a finding leads back to, first cause first (cycle-safe)."""
    out: list[str] = []
    seen: set[str] = set()
    stack = [finding.key]
    while stack:
        key = stack.pop(0)
        if key in seen:
            continue
        seen.add(key)
        current = by_key.get(key)
        if current is None:
            continue
        causes = present_causes(current, by_key.keys())
        if not causes and key != finding.key:
            out.append(key)
        stack.extend(causes)
    return out


def causal_counts(findings: list[Finding]) -> tuple[int, int]:
    """(roots, consequences) among ``findings``."""
    keys = {f.key for f in findings}
    consequences = sum(1 for f in findings if present_causes(f, keys))
    return len(findings) - consequences, consequences
