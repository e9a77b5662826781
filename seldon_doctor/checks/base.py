"""What a check is: an id, the inputs it reads, and a pure function of the graph."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from seldon_doctor.catalog import CheckDoc, load_docs
from seldon_doctor.domain.scheduler_reasons import MODEL_STATES
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


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A closed-world conclusion ("X does not exist") the input is too partial to assert.

    ``looked_for`` names what was not found (``Model recsys/ranker-c``), ``kind`` and
    ``namespace`` where the input holds only some objects. The engine reports it as SD005, an
    informational note listed apart from findings, never failing a gate.
    """

    check_id: str
    subject: ResourceRef
    looked_for: str
    kind: str
    namespace: str
    location: Location | None = None


@dataclass(slots=True)
class CheckContext:
    """What a check may use: the graph, and ways to say what it could not evaluate or
    could not resolve."""

    graph: DeploymentGraph
    not_evaluated: list[NotEvaluated] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ObservedStatus:
    """What a resource's own status says right now: working (serving) or failing, and the
    evidence line that shows it."""

    working: bool
    summary: str
    evidence: Evidence


def observed_status(node: Node) -> ObservedStatus | None:
    """The status a controller recorded on ``node``; None when the input holds no status.

    A Model works when ``ModelReady`` (or ``Ready``) is True, or when replicas are available
    (``status.availableReplicas`` > 0: it serves while a new version fails to place). The
    controller stores the scheduler state in the condition's *message* and the text in its
    *reason*; a tool that swapped them back is tolerated. Other kinds: their ``Ready``
    condition.
    """
    if node.obj is None:
        return None
    status = node.status
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    wanted = ("ModelReady", "Ready") if node.kind == "Model" else ("Ready",)
    cond = next((c for t in wanted for c in conditions if c.get("type") == t), None)
    available = status.get("availableReplicas") if node.kind == "Model" else None
    available = available if isinstance(available, int) and available > 0 else 0
    if cond is None and not available:
        return None
    ctype = str(cond.get("type")) if cond else "Ready"
    is_true = cond is not None and str(cond.get("status")) == "True"
    message = str((cond or {}).get("message") or "").strip()
    reason = str((cond or {}).get("reason") or "").strip()
    if message not in MODEL_STATES and reason in MODEL_STATES:
        message, reason = reason, message
    state = str((cond or {}).get("status", "absent"))
    if message:
        state += f" ({message}{': ' + reason if reason and not is_true else ''})"
    elif reason and not is_true:
        state += f" ({reason})"
    if available:
        state += f", status.availableReplicas {available}"
    working = is_true or bool(available)
    note = "observed working now" if working else "observed failing now"
    return ObservedStatus(
        working, state, node_evidence(node, f"status.conditions[{ctype}]", state, note)
    )


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

    def unresolved(
        self,
        ctx: CheckContext,
        subject: Node | ResourceRef,
        looked_for: str,
        kind: str,
        namespace: str,
    ) -> None:
        """Record a closed-world conclusion the input cannot support: ``looked_for`` is not
        in the input, but the input holds only part of ``kind`` in ``namespace`` (check
        ``ctx.graph.complete`` first). Reported as SD005, info, never failing a gate."""
        if isinstance(subject, Node):
            ref = subject.ref()
            origin = subject.origin
            location = Location(origin.file, origin.line) if origin and origin.file else None
        else:
            ref, location = subject, None
        ctx.unresolved.append(Unresolved(self.id, ref, looked_for, kind, namespace, location))

    def finding(
        self,
        subject: Node | ResourceRef,
        message: str,
        *,
        evidence: Iterable[Evidence] = (),
        params: Mapping[str, str] | None = None,
        severity: Severity | None = None,
        dedupe_key: str | None = None,
        predicts_failure_of: Node | Sequence[Node] | None = None,
    ) -> Finding:
        """A finding with this check's id, slug and catalog severity.

        ``predicts_failure_of``: the resources this finding says will fail (a Model that will
        not be placed). Observed state outranks inference: when every one of them is observed
        working now, the finding becomes a latent risk (an error turns into a warning, and the
        message says "loaded now; would not be placed again because …"); the observed status
        is added to the evidence either way, so a failing one names its status.
        """
        doc = self.doc
        if predicts_failure_of is not None:
            targets = (
                [predicts_failure_of]
                if isinstance(predicts_failure_of, Node)
                else list(predicts_failure_of)
            )
            statuses = [(t, observed_status(t)) for t in targets]
            evidence = [*evidence, *(st.evidence for _, st in statuses if st is not None)]
            if statuses and all(st is not None and st.working for _, st in statuses):
                names = ", ".join(f"{t.kind} {t.namespace}/{t.name}" for t, _ in statuses)
                verb = "is" if len(statuses) == 1 else "are"
                message = (
                    f"{names} {verb} loaded now; would not be placed again because: {message} "
                    "Latent risk: the status shows it serving, so this bites on the next "
                    "placement (a scheduler or Server restart, a rollout, a scale-down)."
                )
                if (severity or doc.severity) == Severity.ERROR:
                    severity = Severity.WARNING
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
