"""Suppressions that stay auditable: ``.seldon-doctor.yaml`` and resource annotations.

The config file is found upward from the working directory, up to the repository root (a
folder with ``.git``) or $HOME, whichever comes first (or given with ``--config``); every
output says which config was applied and what it removed (:class:`AppliedConfig`)::

    select: [SD501, scheduler-replicas-above-one]   # run only these (ids or slugs)
    ignore: [SD601]                                   # never run these
    suppressions:
      - check: SD102                  # id or slug
        resource: Model/fraud/*       # Kind/namespace/name (Kind/name if cluster-scoped); globs
        reason: GPU pool arrives in Q3 # required
        expires: 2026-12-31           # optional; from the day after, the finding fires again

A resource can also silence checks about itself::

    metadata:
      annotations:
        seldon-doctor.io/ignore: "SD102,SD601"      # ids or slugs, or "*"
        seldon-doctor.io/ignore-reason: "pinned to the GPU pool on purpose"

Objects a controller creates (a SeldonRuntime's scheduler StatefulSet) inherit the annotation
of the object that implies them. ``--strict`` ignores annotations, so a platform team can keep
application teams from silencing the gate; config suppressions still apply.

Suppressed findings leave ``report.findings`` (so they never fail the gate) and go to
``report.suppressed`` with their kind and reason; every renderer shows or counts them.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seldon_doctor.engine import Report, SuppressedFinding
from seldon_doctor.errors import InputError
from seldon_doctor.findings import Evidence, Finding, ResourceRef, counted, listed

if TYPE_CHECKING:
    from seldon_doctor.graph.build import DeploymentGraph

CONFIG_NAME = ".seldon-doctor.yaml"
IGNORE_ANNOTATION = "seldon-doctor.io/ignore"
REASON_ANNOTATION = "seldon-doctor.io/ignore-reason"
_CONFIG_KEYS = frozenset({"select", "ignore", "suppressions"})
_SUPPRESSION_KEYS = frozenset({"check", "resource", "reason", "expires"})

AnnotationLookup = Callable[[ResourceRef], Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class Suppression:
    """One ``suppressions:`` entry."""

    check: str  # check id, normalised from id or slug
    resource: str  # glob over Kind/namespace/name
    reason: str
    expires: dt.date | None = None

    def matches(self, finding: Finding) -> bool:
        return finding.check_id == self.check and any(
            fnmatch.fnmatchcase(text, self.resource) for text in resource_texts(finding.resource)
        )

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and today > self.expires


@dataclass(frozen=True, slots=True)
class Config:
    """A parsed ``.seldon-doctor.yaml``."""

    path: str
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    suppressions: tuple[Suppression, ...] = ()


def resource_texts(ref: ResourceRef) -> list[str]:
    """The spellings a ``resource:`` pattern is matched against."""
    full = f"{ref.kind}/{ref.namespace}/{ref.name}"
    texts = [full] if ref.namespace else [f"{ref.kind}/{ref.name}", f"{ref.kind}//{ref.name}"]
    if ref.kind == "Namespace" and ref.namespace == ref.name:
        # Namespace findings carry the namespace twice; the documented cluster-scoped form
        # Kind/name (Namespace/app-a) must match them too.
        texts.append(f"Namespace/{ref.name}")
    if ref.cluster:
        texts += [f"{ref.cluster}:{t}" for t in texts]
    return texts


def _boundary(folder: Path, home: Path | None) -> bool:
    """Whether the upward search stops at ``folder``: a repository root or $HOME."""
    return (folder / ".git").exists() or (home is not None and folder == home)


def find_config(start: Path | None = None, home: Path | None = None) -> Path | None:
    """The nearest ``.seldon-doctor.yaml`` from ``start`` (default: cwd) upward, stopping at
    the repository root (a folder holding ``.git``) or $HOME, whichever comes first.

    A config in a folder above that (``/tmp``, ``/``, a parent of every checkout) is someone
    else's and would silently narrow the scan, so it is never used; when no repository root or
    $HOME is above ``start``, only ``start`` itself is searched.
    """
    folder = (start or Path.cwd()).resolve()
    if home is None:
        env_home = os.environ.get("HOME")
        home = Path(env_home).resolve() if env_home else None
    chain = (folder, *folder.parents)
    stop = next((i for i, f in enumerate(chain) if _boundary(f, home)), 0)
    for candidate in chain[: stop + 1]:
        path = candidate / CONFIG_NAME
        if path.is_file():
            return path
    return None


@dataclass(frozen=True, slots=True)
class AppliedConfig:
    """Which config a scan applied and what it took away: every output says so."""

    path: str
    select: tuple[str, ...]  # the config's select (run only these), as check ids
    ignore: tuple[str, ...]  # the config's ignore, as check ids
    removed: tuple[str, ...]  # checks that would have run without the config and did not
    suppressions: int  # suppressions: entries in the file

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "select": list(self.select),
            "ignore": list(self.ignore),
            "checks_removed": list(self.removed),
            "suppressions": self.suppressions,
        }

    def describe(self, suppressed: int | None = None) -> str:
        """One line: the file, and what it removed (``Config …`` : it starts a sentence)."""
        parts = [f"Config {self.path} applied"]
        if self.removed:
            parts.append(
                f"removed {counted(len(self.removed), 'check')}: {', '.join(self.removed)}"
            )
        else:
            parts.append("removed no checks")
        if suppressed is not None:
            parts.append(f"suppressed {counted(suppressed, 'finding')}")
        return "; ".join(parts)


def applied_config(
    config: Config, with_config: Sequence[str], without: Sequence[str]
) -> AppliedConfig:
    """What ``config`` changed: the check ids run with it vs. without it."""
    kept = set(with_config)
    return AppliedConfig(
        path=config.path,
        select=config.select,
        ignore=config.ignore,
        removed=tuple(c for c in without if c not in kept),
        suppressions=len(config.suppressions),
    )


def _check_id(value: Any, where: str) -> str:
    from seldon_doctor.catalog import lookup

    doc = lookup(str(value)) if isinstance(value, str) else None
    if doc is None:
        raise InputError(f"{where}: unknown check {value!r} (see seldon-doctor checks)")
    return doc.id


def _id_list(raw: Any, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [part for part in raw.split(",") if part.strip()]
    if not isinstance(raw, list):
        raise InputError(f"{where}: expected a list of check ids or slugs")
    return tuple(_check_id(str(item).strip(), where) for item in raw)


def _date(raw: Any, where: str) -> dt.date | None:
    if raw is None:
        return None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw).strip())
    except ValueError:
        raise InputError(f"{where}: expires must be a date YYYY-MM-DD, not {raw!r}") from None


def _suppression(raw: Any, where: str) -> Suppression:
    if not isinstance(raw, dict):
        raise InputError(f"{where}: a suppression must be a mapping with check, resource, reason")
    unknown = set(raw) - _SUPPRESSION_KEYS
    if unknown:
        raise InputError(f"{where}: unknown {listed('key', sorted(map(str, unknown)))}")
    for key in ("check", "resource", "reason"):
        if raw.get(key) in (None, ""):
            raise InputError(f"{where}: {key} is required")
    resource = str(raw["resource"]).strip()
    if resource.count("/") not in (1, 2) and resource != "*":
        raise InputError(
            f"{where}: resource {resource!r} is not Kind/namespace/name (globs allowed)"
        )
    return Suppression(
        check=_check_id(raw["check"], where),
        resource=resource,
        reason=str(raw["reason"]).strip(),
        expires=_date(raw.get("expires"), where),
    )


def load_config(path: Path) -> Config:
    """Parse and validate a config file; any problem is an InputError (one line, exit 2)."""
    name = str(path)
    from seldon_doctor.safeio import MAX_CONFIG_BYTES, read_text_bounded
    from seldon_doctor.safeyaml import load_one

    # Bounded read and the one bounded YAML loader (alias bombs, nesting, long integers).
    raw = load_one(read_text_bounded(path, MAX_CONFIG_BYTES, f"config {name}"), f"config {name}")
    if raw is None:
        return Config(path=name)
    if not isinstance(raw, dict):
        raise InputError(f"config {name}: expected a mapping with select, ignore, suppressions")
    unknown = set(raw) - _CONFIG_KEYS
    if unknown:
        raise InputError(
            f"config {name}: unknown {listed('key', sorted(map(str, unknown)))} "
            "(allowed: select, ignore, suppressions)"
        )
    entries = raw.get("suppressions") or []
    if not isinstance(entries, list):
        raise InputError(f"config {name}: suppressions must be a list")
    return Config(
        path=name,
        select=_id_list(raw.get("select"), f"config {name}: select"),
        ignore=_id_list(raw.get("ignore"), f"config {name}: ignore"),
        suppressions=tuple(
            _suppression(item, f"config {name}: suppressions[{index}]")
            for index, item in enumerate(entries)
        ),
    )


def resolve_config(explicit: str | None, start: Path | None = None) -> Config | None:
    """``--config PATH`` (must exist), else the nearest ``.seldon-doctor.yaml``, else None."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise InputError(f"config {explicit}: no such file")
        return load_config(path)
    found = find_config(start)
    return load_config(found) if found else None


def annotations_from_graph(graph: DeploymentGraph) -> AnnotationLookup:
    """Annotations of a finding's resource, or of the object that implies it."""

    def lookup(ref: ResourceRef) -> Mapping[str, str]:
        node = graph.get(ref.kind, ref.namespace, ref.name, record=False)
        if node is None and ref.namespace:
            node = graph.get(ref.kind, "", ref.name, record=False)
        seen = 0
        while node is not None and seen < 8:
            if IGNORE_ANNOTATION in node.annotations:
                return node.annotations
            if not node.implied_by:
                break
            parts = node.implied_by.split("/")
            owner = (parts[0], parts[1], parts[2]) if len(parts) == 3 else (parts[0], "", parts[-1])
            node = graph.get(*owner, record=False)
            seen += 1
        return {}

    return lookup


def _annotation_ids(value: str) -> set[str]:
    from seldon_doctor.catalog import lookup

    out = set()
    for part in value.split(","):
        part = part.strip()
        if part == "*":
            out.add("*")
        elif part:
            doc = lookup(part)
            out.add(doc.id if doc else part.upper())
    return out


def _expired(finding: Finding, rule: Suppression, config_path: str) -> Finding:
    assert rule.expires is not None
    note = (
        f"A suppression for this finding in {config_path} expired on "
        f"{rule.expires.isoformat()} (reason given: {rule.reason})."
    )
    return replace(
        finding,
        message=f"{finding.message} {note}",
        evidence=(
            *finding.evidence,
            Evidence(config_path, "suppressions[].expires", rule.expires.isoformat(), note),
        ),
    )


def apply_suppressions(
    report: Report,
    config: Config | None,
    annotations: AnnotationLookup | None = None,
    *,
    strict: bool = False,
    today: dt.date | None = None,
) -> Report:
    """Move suppressed findings to ``report.suppressed``; expired ones fire again and say so."""
    today = today or dt.date.today()
    rules = config.suppressions if config else ()
    active: list[Finding] = []
    suppressed = list(report.suppressed)
    used: set[int] = set()
    for finding in report.findings:
        rule = next((r for r in rules if r.matches(finding)), None)
        if rule is not None:
            used.add(id(rule))
        if rule is not None and not rule.expired(today):
            suppressed.append(
                SuppressedFinding(
                    finding,
                    "config",
                    rule.reason,
                    rule.expires.isoformat() if rule.expires else None,
                )
            )
            continue
        if not strict and annotations is not None:
            notes = annotations(finding.resource)
            ids = _annotation_ids(notes.get(IGNORE_ANNOTATION, ""))
            if "*" in ids or finding.check_id in ids:
                reason = notes.get(REASON_ANNOTATION, "").strip() or (
                    f"no reason given ({REASON_ANNOTATION} is not set)"
                )
                suppressed.append(SuppressedFinding(finding, "annotation", reason))
                continue
        if rule is not None:
            assert config is not None
            finding = _expired(finding, rule, config.path)
        active.append(finding)
    # A suppression that silences nothing is a typo or a fixed problem: either way, say so.
    unused = [
        f"suppression {r.check} {r.resource} in {config.path if config else '?'} matched no "
        "finding (resources are Kind/namespace/name, or Kind/name when cluster-scoped)"
        for r in rules
        if id(r) not in used and r.check in set(report.checks_run)
    ]
    return replace(
        report,
        findings=sorted(active, key=Finding.sort_key),
        suppressed=sorted(suppressed, key=lambda s: s.finding.sort_key()),
        warnings=[*report.warnings, *unused],
    )


def filter_min_severity(report: Report, min_severity: str) -> Report:
    """What is shown: drop findings below ``min_severity`` (the gate was judged before)."""
    from seldon_doctor.findings import Severity

    threshold = Severity(min_severity).rank
    shown = [f for f in report.findings if f.severity.rank >= threshold]
    return replace(
        report,
        findings=shown,
        suppressed=[s for s in report.suppressed if s.finding.severity.rank >= threshold],
        hidden=report.hidden + len(report.findings) - len(shown),
    )
