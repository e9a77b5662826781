"""The check catalog (``checks/SDxxx.md``) and playbooks (``playbooks/SDxxx.yaml``).

The catalog is data shipped with the package: in a wheel under ``seldon_doctor/_data``, in a
source checkout at the repository root. Both loaders are strict: an unknown key, a missing
heading or a bad severity is an error the meta-tests catch.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from seldon_doctor.findings import Severity

REQUIRED_HEADINGS = ("What it checks", "Why it matters", "Example", "Known false positives")
DOC_KEYS = frozenset({"id", "slug", "title", "severity", "category", "since"})
PLAYBOOK_KEYS = frozenset(
    {"check", "summary", "order", "steps", "verify", "risk", "rollback", "references", "variants"}
)
# A variant replaces some of its playbook's parts when the finding's params match ``when``.
VARIANT_KEYS = frozenset({"when", "summary", "steps", "verify", "risk", "rollback"})
STEP_KEYS = frozenset({"title", "run", "manifest", "note"})
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.DOTALL)


class CatalogError(Exception):
    """A catalog or playbook file is malformed."""


@dataclass(frozen=True, slots=True)
class CheckDoc:
    """Metadata and prose for one check id."""

    id: str
    slug: str
    title: str
    severity: Severity
    category: str
    since: str
    body: str

    def section(self, heading: str) -> str:
        match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", self.body, re.M | re.S)
        return match.group(1).strip() if match else ""


@dataclass(frozen=True, slots=True)
class Step:
    """One remediation step: a command to paste, a manifest to apply, or a note."""

    title: str
    run: str | None = None
    manifest: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Variant:
    """Parts of a playbook that replace the default when every ``when`` param matches."""

    when: tuple[tuple[str, str], ...]
    summary: str | None = None
    steps: tuple[Step, ...] | None = None
    verify: Step | None = None
    risk: str | None = None
    rollback: str | None = None

    def matches(self, params: Mapping[str, str]) -> bool:
        return all(params.get(key) == value for key, value in self.when)


@dataclass(frozen=True, slots=True)
class Playbook:
    """The remediation plan template for one check id."""

    check: str
    summary: str
    order: int
    steps: tuple[Step, ...]
    verify: Step
    risk: str
    rollback: str
    references: tuple[str, ...] = ()
    variants: tuple[Variant, ...] = ()

    def for_params(self, params: Mapping[str, str]) -> Playbook:
        """This playbook with the first variant whose ``when`` matches ``params`` applied."""
        for variant in self.variants:
            if variant.matches(params):
                return replace(
                    self,
                    summary=variant.summary if variant.summary is not None else self.summary,
                    steps=variant.steps if variant.steps is not None else self.steps,
                    verify=variant.verify or self.verify,
                    risk=variant.risk if variant.risk is not None else self.risk,
                    rollback=variant.rollback if variant.rollback is not None else self.rollback,
                    variants=(),
                )
        return self

    def placeholders(self) -> set[str]:
        """Placeholders of the default parts (each variant: ``for_params(...)``)."""
        names: set[str] = set()
        texts = [self.summary, self.risk, self.rollback]
        for step in (*self.steps, self.verify):
            texts.extend(t for t in (step.title, step.run, step.manifest, step.note) if t)
        for text in texts:
            for match in string.Template.pattern.finditer(text):
                name = match.group("named") or match.group("braced")
                if name:
                    names.add(name)
        return names


def data_root() -> Path:
    """Folder holding ``checks/`` and ``playbooks/``: the wheel's _data, or the repo root."""
    # The package's own folder rather than importlib.resources (10-25 ms to import, on every
    # command that loads the catalog): the wheel installs as plain files.
    here = Path(__file__).resolve().parent
    packaged = here / "_data"
    return packaged if packaged.is_dir() else here.parent


def _load_yaml(text: str, where: str) -> Any:
    """Packaged docs and playbooks go through the one bounded YAML loader too."""
    from seldon_doctor.errors import InputError
    from seldon_doctor.safeyaml import load_one

    try:
        return load_one(text, where)
    except InputError as exc:
        raise CatalogError(exc.message) from None


def _parse_doc(path: Path) -> CheckDoc:
    text = path.read_text(encoding="utf-8")
    match = _FRONT_MATTER.match(text)
    if not match:
        raise CatalogError(f"{path}: missing YAML front matter")
    meta = _load_yaml(match.group(1), str(path))
    if not isinstance(meta, dict):
        raise CatalogError(f"{path}: front matter is not a mapping")
    unknown = set(meta) - DOC_KEYS
    missing = DOC_KEYS - set(meta)
    if unknown or missing:
        raise CatalogError(f"{path}: unknown keys {sorted(unknown)}, missing {sorted(missing)}")
    try:
        severity = Severity(meta["severity"])
    except ValueError:
        raise CatalogError(f"{path}: bad severity {meta['severity']!r}") from None
    return CheckDoc(
        id=str(meta["id"]),
        slug=str(meta["slug"]),
        title=str(meta["title"]),
        severity=severity,
        category=str(meta["category"]),
        since=str(meta["since"]),
        body=match.group(2),
    )


def _parse_step(raw: Any, where: str) -> Step:
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: a step must be a mapping")
    unknown = set(raw) - STEP_KEYS
    if unknown:
        raise CatalogError(f"{where}: unknown step keys {sorted(unknown)}")
    if "title" not in raw:
        raise CatalogError(f"{where}: a step needs a title")
    return Step(
        title=str(raw["title"]),
        run=raw.get("run"),
        manifest=raw.get("manifest"),
        note=raw.get("note"),
    )


def _parse_playbook(path: Path) -> Playbook:
    raw = _load_yaml(path.read_text(encoding="utf-8"), str(path))
    if not isinstance(raw, dict):
        raise CatalogError(f"{path}: not a mapping")
    unknown = set(raw) - PLAYBOOK_KEYS
    missing = {"check", "summary", "order", "steps", "verify", "risk", "rollback"} - set(raw)
    if unknown or missing:
        raise CatalogError(f"{path}: unknown keys {sorted(unknown)}, missing {sorted(missing)}")
    steps = tuple(_parse_step(s, f"{path} step {i}") for i, s in enumerate(raw["steps"] or ()))
    variants = tuple(
        _parse_variant(v, f"{path} variant {i}") for i, v in enumerate(raw.get("variants") or ())
    )
    return Playbook(
        check=str(raw["check"]),
        summary=str(raw["summary"]),
        order=int(raw["order"]),
        steps=steps,
        verify=_parse_step(raw["verify"], f"{path} verify"),
        risk=str(raw["risk"]),
        rollback=str(raw["rollback"]),
        references=tuple(str(r) for r in raw.get("references") or ()),
        variants=variants,
    )


def _parse_variant(raw: Any, where: str) -> Variant:
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: a variant must be a mapping")
    unknown = set(raw) - VARIANT_KEYS
    when = raw.get("when")
    if unknown or not isinstance(when, dict) or not when:
        raise CatalogError(f"{where}: needs a non-empty 'when' mapping; unknown {sorted(unknown)}")
    steps = raw.get("steps")
    return Variant(
        when=tuple(sorted((str(k), str(v)) for k, v in when.items())),
        summary=str(raw["summary"]) if "summary" in raw else None,
        steps=(
            tuple(_parse_step(s, f"{where} step {i}") for i, s in enumerate(steps))
            if steps is not None
            else None
        ),
        verify=_parse_step(raw["verify"], f"{where} verify") if "verify" in raw else None,
        risk=str(raw["risk"]) if "risk" in raw else None,
        rollback=str(raw["rollback"]) if "rollback" in raw else None,
    )


@cache
def load_docs() -> dict[str, CheckDoc]:
    """Every ``checks/SDxxx.md``, keyed by id (from the compiled catalog when there is one)."""
    compiled = _compiled()
    if compiled is not None:
        return {i: _doc_from(entry) for i, entry in compiled["docs"].items()}
    return parse_docs()


def parse_docs() -> dict[str, CheckDoc]:
    """Every ``checks/SDxxx.md`` parsed from its source file."""
    docs = {}
    for path in sorted((data_root() / "checks").glob("SD*.md")):
        doc = _parse_doc(path)
        if doc.id != path.stem:
            raise CatalogError(f"{path}: id {doc.id} does not match the file name")
        docs[doc.id] = doc
    return docs


@cache
def load_playbooks() -> dict[str, Playbook]:
    """Every ``playbooks/SDxxx.yaml``, keyed by check id (from the compiled catalog when there
    is one: parsing them all was 5 % of a small scan)."""
    compiled = _compiled()
    if compiled is not None:
        return {i: _playbook_from(entry) for i, entry in compiled["playbooks"].items()}
    return parse_playbooks()


def parse_playbooks() -> dict[str, Playbook]:
    """Every ``playbooks/SDxxx.yaml`` parsed from its source file."""
    books = {}
    for path in sorted((data_root() / "playbooks").glob("SD*.yaml")):
        book = _parse_playbook(path)
        if book.check != path.stem:
            raise CatalogError(f"{path}: check {book.check} does not match the file name")
        books[book.check] = book
    return books


def _one_doc(check_id: str) -> CheckDoc | None:
    """``checks/<id>.md`` alone: ``explain SD102`` need not parse the other docs."""
    compiled = _compiled()
    if compiled is not None:
        entry = compiled["docs"].get(check_id)
        return None if entry is None else _doc_from(entry)
    path = data_root() / "checks" / f"{check_id}.md"
    if not re.fullmatch(r"SD\d{3}", check_id) or not path.is_file():
        return None
    doc = _parse_doc(path)
    if doc.id != path.stem:
        raise CatalogError(f"{path}: id {doc.id} does not match the file name")
    return doc


def load_playbook(check_id: str) -> Playbook | None:
    """``playbooks/<id>.yaml`` alone (None if the check has none)."""
    compiled = _compiled()
    if compiled is not None:
        entry = compiled["playbooks"].get(check_id)
        return None if entry is None else _playbook_from(entry)
    path = data_root() / "playbooks" / f"{check_id}.yaml"
    if not re.fullmatch(r"SD\d{3}", check_id) or not path.is_file():
        return None
    book = _parse_playbook(path)
    if book.check != path.stem:
        raise CatalogError(f"{path}: check {book.check} does not match the file name")
    return book


def lookup(id_or_slug: str) -> CheckDoc | None:
    """Find a check by id (``SD102``, case-insensitive) or slug."""
    key = id_or_slug.strip()
    one = _one_doc(key.upper())
    if one is not None:
        return one
    docs = load_docs()
    if key.upper() in docs:
        return docs[key.upper()]
    for doc in docs.values():
        if doc.slug == key.lower():
            return doc
    return None


def check_reads(check_id: str) -> list[str]:
    """What check ``check_id`` reads (its ``reads`` and ``needs``, sorted; [] for the engine's
    own ids), from ``checks/reads.txt``: importing the checks to ask them was a quarter of
    ``explain``'s start-up. ``scripts/generate.py --check`` keeps the file equal to the code."""
    path = Path(__file__).parent / "checks" / "reads.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words and words[0] == check_id:
            return words[1:]
    return []


# ----------------------------------------------------------------------------- compiled
# ``_catalog.json``: every doc and playbook as parsed above, written by scripts/generate.py
# (``--check`` keeps it equal to the sources). ``explain`` reads its one entry from it instead
# of importing the YAML loader and parsing two files (issue 17: ~40 ms of a 0.4 s command), and
# a scan reads every doc and playbook from it instead of parsing 90 files (~15 % of a small scan).
COMPILED = Path(__file__).parent / "_catalog.json"


_SOURCES_ONLY: list[bool] = []  # non-empty after use_sources()


def use_sources() -> None:
    """Parse the sources from now on, never the compiled catalog: for scripts/generate.py,
    which writes it (a new check's doc is not in it yet)."""
    _SOURCES_ONLY.append(True)
    for cached in (_compiled, load_docs, load_playbooks):
        cached.cache_clear()


@cache
def _compiled() -> dict[str, Any] | None:
    import json

    if _SOURCES_ONLY:
        return None
    try:
        data: dict[str, Any] = json.loads(COMPILED.read_text(encoding="utf-8"))
    except FileNotFoundError:  # a checkout before its first generate.py: parse the sources
        return None
    return data


def compiled_catalog() -> str:
    """The text of ``_catalog.json`` from the sources (scripts/generate.py)."""
    import json

    docs = {i: {**asdict(d), "severity": d.severity.value} for i, d in parse_docs().items()}
    books = {i: asdict(b) for i, b in parse_playbooks().items()}
    return json.dumps({"docs": docs, "playbooks": books}, indent=1, sort_keys=True) + "\n"


def _doc_from(entry: dict[str, Any]) -> CheckDoc:
    return CheckDoc(**{**entry, "severity": Severity(entry["severity"])})


def _step_from(entry: dict[str, Any] | None) -> Step | None:
    return None if entry is None else Step(**entry)


def _steps_from(entries: list[dict[str, Any]] | None) -> tuple[Step, ...] | None:
    return None if entries is None else tuple(Step(**e) for e in entries)


def _playbook_from(entry: dict[str, Any]) -> Playbook:
    variants = tuple(
        Variant(
            when=tuple((str(k), str(v)) for k, v in v["when"]),
            summary=v["summary"],
            steps=_steps_from(v["steps"]),
            verify=_step_from(v["verify"]),
            risk=v["risk"],
            rollback=v["rollback"],
        )
        for v in entry["variants"]
    )
    return Playbook(
        check=entry["check"],
        summary=entry["summary"],
        order=entry["order"],
        steps=_steps_from(entry["steps"]) or (),
        verify=Step(**entry["verify"]),
        risk=entry["risk"],
        rollback=entry["rollback"],
        references=tuple(entry["references"]),
        variants=variants,
    )
