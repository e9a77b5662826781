"""The what-if gate: judge a change (manifests) over a cluster, report only what it changes.

``scan -f CHANGES/ --against-cluster`` (or ``--against-snapshot BUNDLE``) reads the cluster
once, lays the change's objects over it (:func:`overlay`), judges both the cluster as it is
and the cluster with the change, and keeps only the difference (:func:`compare`): findings
the change introduces (they gate, as ``findings``) and findings it resolves (``fixed``, never
gating). What the cluster already had is counted, not reported — as ``istioctl analyze -f``
does against a live mesh.

Assumptions, stated in the README and docs/ci.md:

* the change is applied as is: an object with the same API group, kind, namespace and name
  replaces the cluster's (a file object with no namespace takes ``-n``, default ``default``);
  nothing is deleted (a deletion is not expressible as a manifest);
* a replaced object keeps the cluster's ``status`` until its controller reconciles (a Model
  that is ScheduleFailed stays so; its requirements are judged from the new spec);
* SeldonRuntimes and Servers of the change are not running yet, so the graph adds what their
  controllers will create (scheduler, Envoy, Services, StatefulSets), as for manifests;
* the data plane (Envoy, scheduler views, logs) describes the cluster before the change, so
  data-plane inputs are not combined with the gate.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from seldon_doctor.engine import Report
from seldon_doctor.findings import Finding
from seldon_doctor.snapshot import KubeObject, Snapshot

ObjectKey = tuple[str, str, str, str]  # (API group, kind, namespace, name)
FindingKey = tuple[str, str, str, str, str]


def object_key(obj: KubeObject) -> ObjectKey:
    """Identity of an object across the cluster and the change (the version does not count:
    ``v1alpha1`` and ``v1`` of one group name the same object)."""
    return (obj.group, obj.kind, obj.namespace, obj.name)


def overlay(base: Snapshot, change: Snapshot) -> Snapshot:
    """The cluster with the change applied: same key wins, new objects are added.

    Pure: neither input is modified. Everything observed (data plane, logs, gaps, the capture
    time, the namespaces listed) is the base's; the change's objects are marked ``pending``.
    """
    incoming: dict[ObjectKey, KubeObject] = {}
    for obj in change.objects:
        incoming[object_key(obj)] = obj
    objects: list[KubeObject] = []
    replaced: dict[ObjectKey, KubeObject] = {}
    for obj in base.objects:
        key = object_key(obj)
        if key in incoming:
            replaced[key] = obj
        else:
            objects.append(obj)
    for key, obj in incoming.items():
        old = replaced.get(key)
        objects.append(_keep_status(obj, old) if old is not None else obj)
    listed = base.listed_namespaces
    if listed is not None:
        listed = listed | {o.namespace for o in change.objects if o.namespace}
    return replace(
        base,
        objects=objects,
        envoys=list(base.envoys),
        schedulers=list(base.schedulers),
        xds=list(base.xds),
        probes=list(base.probes),
        gaps=list(base.gaps),
        warnings=[*base.warnings, *change.warnings],
        logs=dict(base.logs),
        listed_namespaces=listed,
        pending=frozenset((o.kind, o.namespace, o.name) for o in incoming.values()),
    )


def _keep_status(new: KubeObject, old: KubeObject) -> KubeObject:
    """A manifest replacing a live object: the live status stays until the controller acts."""
    if "status" in new.body or "status" not in old.body:
        return new
    return KubeObject({**new.body, "status": old.body["status"]}, new.origin)


_NUMBER = re.compile(r"\d+(\.\d+)?")


def finding_key(finding: Finding) -> FindingKey:
    """Identity of a finding across before and after: check, resource, and the finding's
    dedupe key when the check gives one, else its message with numbers blanked (messages that
    embed counts, ages or sizes must not make an old problem new)."""
    res = finding.resource
    detail = finding.dedupe_key or _NUMBER.sub("#", finding.message)
    # Not the cluster: the gate judges one, and a changed object comes from a file.
    return (finding.check_id, res.kind, res.namespace, res.name, detail)


def _difference(left: Iterable[Finding], right: Iterable[Finding]) -> list[Finding]:
    """Findings of ``left`` not matched by one of ``right`` (a multiset difference).

    First on :func:`finding_key`; what is left is then matched on check and resource alone,
    as ``--baseline`` does, so a finding whose wording follows other findings (SD105 naming
    the check that explains it) is the same problem, while a second finding of one check on
    one resource is still new.
    """
    unmatched_right = Counter(finding_key(f) for f in right)
    unmatched_left = []
    for finding in left:
        key = finding_key(finding)
        if unmatched_right[key]:
            unmatched_right[key] -= 1
        else:
            unmatched_left.append(finding)
    loose: Counter[tuple[str, ...]] = Counter()
    for key, count in unmatched_right.items():
        loose[key[:4]] += count
    out = []
    for finding in unmatched_left:
        resource = finding_key(finding)[:4]
        if loose[resource]:
            loose[resource] -= 1
        else:
            out.append(finding)
    return out


def compare(before: Report, after: Report, against: str) -> Report:
    """The after-state report reduced to what the change introduces, plus what it fixes.

    Suppressed and baselined findings were already taken out of both reports, so a
    suppression applies to the gate as it does to a scan. Not-evaluated notes and gaps are
    the after-state's: they say what the verdict on the change could not cover.
    """
    introduced = sorted(_difference(after.findings, before.findings), key=Finding.sort_key)
    fixed = sorted(_difference(before.findings, after.findings), key=Finding.sort_key)
    unchanged = len(after.findings) - len(introduced)
    return replace(
        after,
        findings=introduced,
        fixed=fixed,
        whatif={
            "against": against,
            "introduced": len(introduced),
            "fixed": len(fixed),
            "unchanged": unchanged,
        },
    )


def judge(
    base: Snapshot,
    change: Snapshot,
    analyse: Callable[[Snapshot], tuple[Any, Report]],
    against: str,
) -> tuple[Any, Report]:
    """Judge the cluster and the cluster with the change (one read, two graphs)."""
    _, before = analyse(base)
    graph, after = analyse(overlay(base, change))
    return graph, compare(before, after, against)
