"""Baselines: report only findings that are new since a previous ``-o json`` report.

A finding is identified by its check id and resource, not its message, so rewording a message
(or a value inside it changing) does not make an old problem look new. When one check reports
several findings about one resource, the baseline is matched as a multiset: exact messages
first, then any remaining ones, so a second, new problem on the same resource still shows.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace
from typing import Any

from seldon_doctor.engine import Report
from seldon_doctor.errors import InputError
from seldon_doctor.findings import Finding, ResourceRef
from seldon_doctor.safeio import MAX_REPORT_BYTES, read_json_file

FINGERPRINT_VERSION = "v1"

Key = tuple[str, str, str, str, str]


def finding_key(check_id: str, resource: ResourceRef) -> Key:
    return (
        check_id,
        resource.kind,
        resource.namespace,
        resource.name,
        resource.cluster or "",
    )


def fingerprint(finding: Finding) -> str:
    """Stable, message-independent identity of a finding (SARIF partialFingerprints)."""
    raw = "\x1f".join(finding_key(finding.check_id, finding.resource))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def _key_from_json(item: Any, path: str) -> tuple[Key, str]:
    try:
        resource = item["resource"]
        key = (
            str(item["id"]),
            str(resource["kind"]),
            str(resource.get("namespace") or ""),
            str(resource["name"]),
            str(resource.get("cluster") or ""),
        )
        return key, str(item.get("message") or "")
    except (KeyError, TypeError, AttributeError, ValueError, RecursionError):
        raise InputError(
            f"{path}: not a seldon-doctor JSON report (a finding lacks id/resource)"
        ) from None


def load_baseline(path: str) -> list[tuple[Key, str]]:
    """(key, message) of every unsuppressed finding in a previous JSON report."""
    data = read_json_file(path, MAX_REPORT_BYTES, f"baseline {path}")
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise InputError(f"baseline {path}: not a seldon-doctor JSON report (no findings list)")
    # A finding suppressed back then was never accepted as "known": if its suppression lapses
    # it must fire again, so suppressed entries are not part of the baseline.
    return [
        _key_from_json(item, path)
        for item in data["findings"]
        if not (isinstance(item, dict) and item.get("suppressed"))
    ]


def apply_baseline(report: Report, baseline: list[tuple[Key, str]]) -> Report:
    """Drop findings present in the baseline; ``report.baselined`` says how many."""
    remaining = Counter(key for key, _ in baseline)
    messages = Counter(baseline)
    kept: list[Finding] = []
    # First pass: exact (key, message) matches; second: same key with another message.
    matched = [False] * len(report.findings)
    for index, finding in enumerate(report.findings):
        key = finding_key(finding.check_id, finding.resource)
        if messages[(key, finding.message)] > 0 and remaining[key] > 0:
            messages[(key, finding.message)] -= 1
            remaining[key] -= 1
            matched[index] = True
    for index, finding in enumerate(report.findings):
        if matched[index]:
            continue
        key = finding_key(finding.check_id, finding.resource)
        if remaining[key] > 0:
            remaining[key] -= 1
            matched[index] = True
        else:
            kept.append(finding)
    return replace(report, findings=kept, baselined=report.baselined + sum(matched))
