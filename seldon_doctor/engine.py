"""Run checks over a graph: skip those whose inputs are absent, contain those that raise."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from seldon_doctor.catalog import load_docs
from seldon_doctor.causes import link_causes
from seldon_doctor.checks import ALL_CHECKS
from seldon_doctor.checks.base import ENVOY, PROBE, Check, CheckContext, NotEvaluated, Unresolved
from seldon_doctor.errors import InputError
from seldon_doctor.findings import Evidence, Finding, ResourceRef, Severity
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.live_kinds import live_reads
from seldon_doctor.redact import redact_finding, redact_text
from seldon_doctor.snapshot import Gap

INTERNAL_ERROR = "SD001"
NOT_EVALUATED = "SD002"
UNRESOLVED = "SD005"


@dataclass(frozen=True, slots=True)
class SuppressedFinding:
    """A finding silenced by a config suppression or a resource annotation (kept for audit)."""

    finding: Finding
    kind: str  # "config" (.seldon-doctor.yaml) or "annotation" (seldon-doctor.io/ignore)
    reason: str
    expires: str | None = None  # YYYY-MM-DD, config suppressions only

    def as_dict(self) -> dict[str, str | None]:
        return {"kind": self.kind, "reason": self.reason, "expires": self.expires}


@dataclass(slots=True)
class Report:
    """Everything a renderer needs: findings, what was not evaluated, and what was not read."""

    findings: list[Finding]
    not_evaluated: list[Finding]
    gaps: list[Gap]
    checks_run: list[str]
    warnings: list[str] = field(default_factory=list)
    object_count: int = 0
    namespaces: list[str] = field(default_factory=list)
    mode: str = "manifest"
    # Set after the checks ran by seldon_doctor.suppress (never by checks): suppressed findings
    # are not in ``findings``; ``baselined`` counts findings dropped by --baseline (they do
    # not fail the gate), ``hidden`` those below --min-severity (the gate counted them).
    suppressed: list[SuppressedFinding] = field(default_factory=list)
    baselined: int = 0
    hidden: int = 0
    # What-if gate (seldon_doctor.whatif): ``findings`` are then only what the change
    # introduces; ``fixed`` what it resolves; ``whatif`` what it was judged against and counts.
    fixed: list[Finding] = field(default_factory=list)
    whatif: dict[str, Any] | None = None

    @property
    def incomplete(self) -> bool:
        return bool(self.gaps)

    @property
    def unread_clusters(self) -> list[Gap]:
        """Clusters of which nothing could be read (unreachable, credentials refused)."""
        return [gap for gap in self.gaps if gap.what.startswith("cluster:")]

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Severity}
        for finding in self.findings:
            out[finding.severity.value] += 1
        return out


def select_checks(select: Iterable[str] = (), ignore: Iterable[str] = ()) -> list[Check]:
    """Checks to run: all, or those selected by id/slug, minus ignored ones."""
    docs = load_docs()
    slug_to_id = {doc.slug: doc.id for doc in docs.values()}

    def normalise(values: Iterable[str]) -> set[str]:
        out = set()
        for value in values:
            for part in value.split(","):
                part = part.strip()
                if part:
                    out.add(slug_to_id.get(part.lower(), part.upper()))
        return out

    chosen, dropped = normalise(select), normalise(ignore)
    known = {cls.id for cls in ALL_CHECKS}
    unknown = sorted((chosen | dropped) - known)
    if unknown:
        # A typo in --select would otherwise narrow the gate silently to what was spelt right.
        raise InputError(
            f"unknown check id or slug: {', '.join(unknown)} (see seldon-doctor checks)"
        )
    return [
        cls() for cls in ALL_CHECKS if (not chosen or cls.id in chosen) and cls.id not in dropped
    ]


# Kinds whose absence the graph itself accounts for: without the Namespace list a live scan
# treats unseen namespaces as unknown (as in manifest mode) instead of skipping every check.
DEGRADES_GRACEFULLY = frozenset({"Namespace"})


def run_checks(
    graph: DeploymentGraph, checks: Sequence[Check] | None = None, *, debug: bool = False
) -> Report:
    """Run each check, turning absent inputs into SD002 and exceptions into SD001."""
    checks = list(checks) if checks is not None else select_checks()
    snapshot = graph.snapshot
    if any(gap.what.startswith("cluster:") for gap in snapshot.gaps):
        # Nothing of the cluster was read: judging an empty graph would print an all-clear,
        # and listing every check as not evaluated would repeat one cause dozens of times.
        return Report(
            findings=[],
            not_evaluated=[],
            gaps=list(snapshot.gaps),
            checks_run=[],
            warnings=list(snapshot.warnings),
            mode="observed",
        )
    ctx = CheckContext(graph=graph)
    findings: list[Finding] = []
    gap_kinds = {g.what.split(":", 1)[1]: g for g in snapshot.gaps if g.what.startswith("kind:")}
    for check in checks:
        reads = live_reads(check) if snapshot.live else check.reads
        missing = sorted(
            k
            for k in reads
            if k in gap_kinds and gap_kinds[k].namespace is None and k not in DEGRADES_GRACEFULLY
        )
        if missing:
            reasons = "; ".join(f"{k}: {gap_kinds[k].reason}" for k in missing)
            ctx.not_evaluated.append(
                NotEvaluated(check.id, f"could not read {reasons}", input="read")
            )
            continue
        if ENVOY in check.needs and not snapshot.envoys:
            ctx.not_evaluated.append(
                NotEvaluated(
                    check.id,
                    "no Envoy was read (live: --dataplane; files: --envoy-config-dump "
                    "NAMESPACE=PATH)"
                    if snapshot.live
                    else "no Envoy config dump was given (--envoy-config-dump NAMESPACE=PATH)",
                    input="envoy",
                )
            )
            continue
        if PROBE in check.needs and not snapshot.probes:
            ctx.not_evaluated.append(
                NotEvaluated(
                    check.id,
                    "no inference probe ran (seldon-doctor probe, or scan --probe)",
                    input="probe",
                )
            )
            continue
        try:
            # Checks quote input (condition messages, URIs): one redactor for all of it.
            findings.extend(redact_finding(f) for f in check.run(ctx))
        except Exception as exc:
            findings.append(_internal_error(check, exc, debug))
    not_evaluated = _dedupe_not_evaluated(ctx.not_evaluated)
    # Unresolved references are listed with the not-evaluated notes: informational, apart
    # from findings, never failing a gate (docs/completeness.md).
    not_evaluated = sorted([*not_evaluated, *_unresolved(ctx.unresolved)], key=Finding.sort_key)
    not_evaluated = [redact_finding(f) for f in not_evaluated]
    warnings = [redact_text(w) for w in (*snapshot.warnings, *graph.duplicates, *graph.input_notes)]
    return Report(
        # Consequences name their root causes (caused_by), read off the graph.
        findings=link_causes(sorted(_unique(findings), key=Finding.sort_key), graph),
        not_evaluated=not_evaluated,
        gaps=[
            g if (reason := redact_text(g.reason)) is g.reason else replace(g, reason=reason)
            for g in snapshot.gaps
        ],
        checks_run=[c.id for c in checks],
        warnings=warnings,
        object_count=len(snapshot.objects),
        namespaces=sorted(graph.all_namespaces()),
        mode="observed" if graph.observed else "manifest",
    )


def _unique(findings: Iterable[Finding]) -> list[Finding]:
    seen: set[tuple[str, ResourceRef, str]] = set()
    out = []
    for finding in findings:
        key = (finding.check_id, finding.resource, finding.message)
        if key not in seen:
            seen.add(key)
            out.append(finding)
    return out


def _internal_error(check: Check, exc: Exception, debug: bool) -> Finding:
    doc = load_docs()[INTERNAL_ERROR]
    evidence = [Evidence(f"check {check.id}", "exception", f"{type(exc).__name__}: {exc}")]
    if debug:
        import traceback  # only for a check that crashed: 10-20 ms of every start-up otherwise

        evidence.append(Evidence("traceback", None, "".join(traceback.format_exception(exc))))
    return Finding(
        check_id=INTERNAL_ERROR,
        slug=doc.slug,
        severity=doc.severity,
        resource=ResourceRef("Check", "", check.id),
        message=(
            f"Check {check.id} failed with {type(exc).__name__}: {exc}. Its findings are "
            "missing from this report; every other check ran."
        ),
        evidence=tuple(evidence),
        params=(("check", check.id),),
    )


# The input a check's skip() is missing when the call does not say (selects the SD002
# playbook's variant: what to give the doctor so the check runs).
MISSING_INPUT = {
    "SD003": "crds",
    "SD104": "memory",
    "SD601": "envoy",
    "SD602": "envoy",
    "SD603": "envoy",
    "SD604": "envoy",
    "SD605": "envoy",
    "SD606": "xds",
    "SD607": "scheduler",
}
MAX_EXAMPLES = 3
PLACEHOLDER_NS = {
    "envoy": "<envoy-namespace>",
    "scheduler": "<scheduler-namespace>",
    "xds": "<scheduler-namespace>",
}


def _input_of(item: NotEvaluated) -> str:
    if item.input:
        return item.input
    if item.check_id.startswith("SD8"):
        return "probe"
    return MISSING_INPUT.get(item.check_id, "manifests")


def _dedupe_not_evaluated(items: Iterable[NotEvaluated]) -> list[Finding]:
    """One SD002 entry per (check, reason): how many cases, in which namespaces, examples.

    A check that skips per object (SD104 on an estate without MEMORY_REQUEST) would otherwise
    repeat the same sentence thousands of times; the count and three examples say as much.
    """
    docs = load_docs()
    doc = docs[NOT_EVALUATED]
    groups: dict[tuple[str, str], list[NotEvaluated]] = {}
    for item in items:
        groups.setdefault((item.check_id, item.reason), []).append(item)
    out: list[Finding] = []
    for (check_id, reason), group in groups.items():
        slug = docs[check_id].slug if check_id in docs else check_id
        cases = sorted({(i.namespace or "", i.subject or "") for i in group})
        namespaces = sorted({ns for ns, _ in cases if ns})
        examples = [subject or ns for ns, subject in cases if subject or ns][:MAX_EXAMPLES]
        count = len(cases)
        namespace = namespaces[0] if len(namespaces) == 1 else ""
        if len(namespaces) == 1:
            where = f" in namespace {namespaces[0]}"
        elif namespaces:
            where = f" in {len(namespaces)} namespaces"
        else:
            where = ""
        if count == 1 and not any(i.subject for i in group):
            message = f"{check_id} {slug} not evaluated{where}: {reason}"
        else:
            more = f"; and {count - len(examples)} more" if count > len(examples) else ""
            message = (
                f"{check_id} {slug} not evaluated for {count} case{'s' if count > 1 else ''}"
                f"{where}: {reason} "
                f"(e.g. {'; '.join(examples)}{more})"
            )
        missing = _input_of(group[0])
        # Where to capture it (the Envoy's or scheduler's namespace); a placeholder in angle
        # brackets when the items span several namespaces, never an empty `kubectl -n`.
        targets = {i.input_namespace or i.namespace or "" for i in group}
        (target,) = targets if len(targets) == 1 else ("",)
        input_ns = target or PLACEHOLDER_NS.get(missing, "<namespace>")
        evidence = [Evidence(f"check {check_id}", None, None, reason)]
        evidence += [Evidence(example) for example in examples]
        out.append(
            Finding(
                check_id=NOT_EVALUATED,
                slug=doc.slug,
                severity=doc.severity,
                resource=ResourceRef("Check", namespace, check_id),
                message=message,
                evidence=tuple(evidence),
                params=(
                    ("check", check_id),
                    ("input", missing),
                    ("input_namespace", input_ns),
                    ("reason", reason),
                ),
                extra=(("count", count), ("examples", tuple(examples))),
            )
        )
    return sorted(out, key=Finding.sort_key)


def _unresolved(items: Iterable[Unresolved]) -> list[Finding]:
    """SD005 notes: what a closed-world check looked for and where the input is partial."""
    docs = load_docs()
    doc = docs[UNRESOLVED]
    seen: set[Unresolved] = set()
    out: list[Finding] = []
    for item in items:
        if item in seen:
            continue
        seen.add(item)
        slug = docs[item.check_id].slug if item.check_id in docs else item.check_id
        where = (
            f"{item.kind}s of namespace {item.namespace}"
            if item.namespace
            else f"the cluster's {item.kind}s"
        )
        message = (
            f"{item.check_id} {slug} unresolved: {item.looked_for} is not in the input, which "
            f"holds only part of the {where} (manifests, not a full export), so it may exist "
            "elsewhere. Scan the whole set, a captured List or the cluster, or pass --complete "
            "if these files are all there is."
        )
        out.append(
            Finding(
                check_id=UNRESOLVED,
                slug=doc.slug,
                severity=doc.severity,
                resource=item.subject,
                message=message,
                evidence=(Evidence(item.looked_for, None, None, f"not in the input; {where}"),),
                params=(
                    ("check", item.check_id),
                    ("looked_for", item.looked_for),
                    ("partial_kind", item.kind),
                    ("partial_namespace", item.namespace or "(cluster)"),
                ),
                location=item.location,
            )
        )
    return out


def _tagged(finding: Finding, cluster: str) -> Finding:
    # caused_by names findings by key; a key gains the cluster with its finding's resource.
    causes = tuple(
        k if k.startswith(f"{cluster}:") else f"{cluster}:{k}" for k in finding.caused_by
    )
    if finding.resource.cluster:
        return replace(finding, caused_by=causes) if causes != finding.caused_by else finding
    return replace(finding, resource=replace(finding.resource, cluster=cluster), caused_by=causes)


def tag_cluster(report: Report, cluster: str) -> Report:
    """Name the cluster on every finding (namespace-level findings have no object to carry it)."""
    report.findings = [_tagged(f, cluster) for f in report.findings]
    report.not_evaluated = [_tagged(f, cluster) for f in report.not_evaluated]
    report.fixed = [_tagged(f, cluster) for f in report.fixed]
    return report


def merge_reports(reports: Mapping[str, Report]) -> Report:
    """One report over several clusters: findings keep their cluster, gaps and notes name it."""
    merged = Report(findings=[], not_evaluated=[], gaps=[], checks_run=[], mode="observed")
    for cluster, report in sorted(reports.items()):
        merged.findings.extend(_tagged(f, cluster) for f in report.findings)
        merged.not_evaluated.extend(_tagged(f, cluster) for f in report.not_evaluated)
        merged.gaps.extend(Gap(g.what, f"{cluster}: {g.reason}", g.namespace) for g in report.gaps)
        merged.warnings.extend(f"{cluster}: {w}" for w in report.warnings)
        merged.namespaces.extend(f"{cluster}/{ns}" for ns in report.namespaces)
        merged.object_count += report.object_count
        merged.suppressed.extend(report.suppressed)
        merged.baselined += report.baselined
        merged.hidden += report.hidden
        for check_id in report.checks_run:
            if check_id not in merged.checks_run:
                merged.checks_run.append(check_id)
        if report.mode != "observed":
            merged.mode = report.mode
    merged.findings.sort(key=Finding.sort_key)
    merged.not_evaluated.sort(key=Finding.sort_key)
    return merged
