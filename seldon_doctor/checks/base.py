"""What a check is: an id, the inputs it reads, and a pure function of the graph."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from seldon_doctor.catalog import CheckDoc, load_docs
from seldon_doctor.findings import Evidence, Finding, Location, ResourceRef, Severity
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Node
from seldon_doctor.redact import redact_value

ENVOY = "envoy"  # observation: at least one Envoy config dump
PROBE = "probe"  # observation: at least one inference probe (seldon-doctor probe)


@dataclass(slots=True)
class NotEvaluated:
    """A check, or part of it, that could not run because an input was absent.

    ``reason`` is a stable template: the engine merges every item of one check with the same
    reason into one SD002 entry with a count, so it must not name the object concerned — that
    goes in ``subject`` (``Model fraud/iris``, shown as one of up to three examples).
    ``input`` names the kind of input that was missing (``crds``, ``memory``, ``envoy``,
    ``probe``, ``scheduler``, ``xds``, ``read``, ``manifests``) and selects the SD002
    playbook's variant; None lets the engine infer it from the check.
    """

    check_id: str
    reason: str
    namespace: str | None = None
    subject: str | None = None
    input: str | None = None
    # Where the missing input is captured (the Envoy's or scheduler's namespace), when it is
    # not ``namespace`` (a central Envoy serving many namespaces).
    input_namespace: str | None = None


@dataclass(slots=True)
class CheckContext:
    """What a check may use: the graph, and a way to say what it could not evaluate."""

    graph: DeploymentGraph
    not_evaluated: list[NotEvaluated] = field(default_factory=list)


class Check(ABC):
    """One diagnostic. Subclasses set ``id``, ``reads`` (kinds) and ``needs``, and ``run``."""

    id: ClassVar[str]
    # Kubernetes kinds read; the live source lists exactly these, and RBAC is derived from them.
    reads: ClassVar[frozenset[str]]
    # Narrower set for a live API server, when some declared kinds matter only for manifests
    # (SD003 validates built-in kinds only in manifest mode); None means ``reads``.
    live_reads: ClassVar[frozenset[str] | None] = None
    # Observations beyond Kubernetes objects (``envoy``) without which the check cannot run.
    needs: ClassVar[frozenset[str]] = frozenset()

    @property
    def doc(self) -> CheckDoc:
        return load_docs()[self.id]

    @abstractmethod
    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield findings; read only ``ctx.graph``."""

    def skip(
        self,
        ctx: CheckContext,
        reason: str,
        namespace: str | None = None,
        *,
        subject: str | None = None,
        input: str | None = None,
        input_namespace: str | None = None,
    ) -> None:
        """Record that part of this check was not evaluated, and why.

        Keep object names out of ``reason`` (pass them as ``subject``): items with the same
        reason are reported once, with a count and a few subjects as examples.
        """
        ctx.not_evaluated.append(
            NotEvaluated(self.id, reason, namespace, subject, input, input_namespace)
        )

    def finding(
        self,
        subject: Node | ResourceRef,
        message: str,
        *,
        evidence: Iterable[Evidence] = (),
        params: Mapping[str, str] | None = None,
        severity: Severity | None = None,
        dedupe_key: str | None = None,
    ) -> Finding:
        """A finding with this check's id, slug and catalog severity."""
        doc = self.doc
        if isinstance(subject, Node):
            ref = subject.ref()
            origin = subject.origin
            location = Location(origin.file, origin.line) if origin and origin.file else None
        else:
            ref, location = subject, None
        return Finding(
            check_id=self.id,
            slug=doc.slug,
            severity=severity or doc.severity,
            resource=ref,
            message=message,
            evidence=tuple(evidence),
            params=tuple(sorted((params or {}).items())),
            location=location,
            dedupe_key=dedupe_key,
        )


def node_evidence(
    node: Node, field_path: str | None = None, value: object = None, note: str | None = None
) -> Evidence:
    """Evidence naming a node (and where it was declared, when known).

    The value goes through :func:`seldon_doctor.redact.redact_value` (every string in it
    through the text rules too: a ``Bearer`` token in a condition reason, a password in a
    storageUri, credential-like env values, flags, Secret payloads): evidence is printed by
    every renderer, so it must never carry a credential.
    """
    subject = node.label()
    if node.origin is not None and node.origin.file:
        subject += f" [{node.origin.describe()}]"
    return Evidence(subject, field_path, redact_value(value), note)
