"""Findings: what a check concluded, about which resource, and the evidence for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


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
