"""Meta-tests: the catalog, playbooks and check classes agree, and names stay a contract."""

from __future__ import annotations

import re

import pytest

from seldon_doctor.catalog import (
    DOC_KEYS,
    REQUIRED_HEADINGS,
    data_root,
    load_docs,
    load_playbooks,
    lookup,
)
from seldon_doctor.checks import ALL_CHECKS, ENGINE_CHECK_IDS
from seldon_doctor.plan import fill

# Every id the tool can emit, from the registry (never a hand-kept list): a new check is
# covered by every rule below the moment it is registered.
ALL_IDS = sorted({cls.id for cls in ALL_CHECKS} | set(ENGINE_CHECK_IDS))

# Ids and slugs are a public contract: changing one breaks users' suppressions and dashboards.
CONTRACT = {
    "SD001": "internal-error",
    "SD002": "not-evaluated",
    "SD003": "manifest-schema-invalid",
    "SD004": "resource-name-invalid",
    "SD005": "reference-unresolved",
    "SD101": "model-server-not-found",
    "SD102": "model-requirements-unsatisfied",
    "SD103": "model-replicas-exceed-server",
    "SD104": "model-memory-exceeds-server",
    "SD105": "model-not-ready",
    "SD106": "model-stuck-terminating",
    "SD201": "server-no-ready-replicas",
    "SD202": "server-over-advertises-capabilities",
    "SD203": "server-capabilities-diverge",
    "SD204": "server-container-not-merged",
    "SD401": "experiment-reference-missing",
    "SD402": "experiment-invalid",
    "SD501": "scheduler-split-brain",
    "SD502": "scheduler-replicas-above-one",
    "SD503": "scheduler-service-missing",
    "SD504": "service-without-endpoints",
    "SD505": "externalname-alias-dangling",
    "SD506": "controllers-overlap",
    "SD507": "namespace-not-watched",
    "SD508": "component-version-skew",
    "SD509": "scheduler-port-blocked",
    "SD510": "dataflow-unavailable",
    "SD511": "envoy-not-ready-gated",
    "SD512": "shared-scheduler-name-collision",
    "SD513": "component-not-running",
    "SD601": "route-missing",
    "SD602": "route-orphaned",
    "SD603": "route-cluster-without-endpoints",
    "SD604": "experiment-weights-drift",
    "SD605": "listener-rejected",
    "SD606": "envoy-xds-stale",
    "SD607": "scheduler-state-diverged",
    "SD608": "experiment-mirror-drift",
    "SD701": "serving-image-mutable",
    "SD702": "canary-weights-invalid",
    "SD703": "inferenceservice-not-ready",
    "SD801": "probe-failures",
    "SD802": "latency-slo-breached",
    "SD803": "split-off-weights",
    "SD804": "version-unexpected",
}


def test_contract_ids_and_slugs_are_stable() -> None:
    docs = load_docs()
    for check_id, slug in CONTRACT.items():
        assert check_id in ALL_IDS, f"{check_id} is in the contract but no longer emitted"
        assert docs[check_id].slug == slug


def test_registry_sorted_unique_and_documented() -> None:
    ids = [cls.id for cls in ALL_CHECKS]
    assert ids == sorted(ids)
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"SD\d{3}", i) for i in ids)
    docs, books = load_docs(), load_playbooks()
    known = set(ids) | set(ENGINE_CHECK_IDS)
    assert set(docs) == known, "every check has a doc and every doc a check"
    assert set(books) == known, "every check has a playbook and every playbook a check"


@pytest.mark.parametrize("check_id", ALL_IDS)
def test_doc_file_has_front_matter_and_headings(check_id: str) -> None:
    path = data_root() / "checks" / f"{check_id}.md"
    assert path.is_file(), f"{check_id} has no checks/{check_id}.md"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), f"checks/{check_id}.md lacks YAML front matter"
    front = text.split("---\n", 2)[1]
    keys = {line.split(":", 1)[0] for line in front.splitlines() if ":" in line}
    assert keys >= DOC_KEYS, f"checks/{check_id}.md front matter lacks {sorted(DOC_KEYS - keys)}"
    for heading in REQUIRED_HEADINGS:
        assert f"\n## {heading}\n" in text, f"checks/{check_id}.md lacks '## {heading}'"


@pytest.mark.parametrize("check_id", ALL_IDS)
def test_playbook_file_exists(check_id: str) -> None:
    path = data_root() / "playbooks" / f"{check_id}.yaml"
    assert path.is_file(), f"{check_id} has no playbooks/{check_id}.yaml"
    assert load_playbooks()[check_id].check == check_id


@pytest.mark.parametrize(("folder", "suffix"), [("checks", ".md"), ("playbooks", ".yaml")])
def test_no_orphan_docs_or_playbooks(folder: str, suffix: str) -> None:
    """A file for an id nothing emits (or misnamed, so the loaders' SD*.md/SD*.yaml glob
    silently skips it) is an orphan."""
    names = sorted(p.name for p in (data_root() / folder).iterdir() if not p.name.startswith("."))
    expected = sorted(f"{check_id}{suffix}" for check_id in ALL_IDS)
    orphans = sorted(set(names) - set(expected))
    assert not orphans, f"{folder}/ holds files for no registered check: {orphans}"
    assert names == expected


@pytest.mark.parametrize("check_id", ALL_IDS)
def test_doc_is_complete(check_id: str) -> None:
    doc = load_docs()[check_id]
    for heading in REQUIRED_HEADINGS:
        assert doc.section(heading), f"{check_id} lacks '## {heading}'"
    assert len(doc.title) <= 100
    assert not doc.title.lower().startswith(("ensure", "check"))
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", doc.slug)


@pytest.mark.parametrize("check_id", ALL_IDS)
def test_playbook_fills_with_every_placeholder(check_id: str) -> None:
    book = load_playbooks()[check_id]
    params = dict.fromkeys(book.placeholders(), "x")
    plan = fill(book, params)
    assert plan.steps and plan.verify.title and plan.risk and plan.rollback
    if book.placeholders():
        with pytest.raises(KeyError):
            fill(book, {})


def test_lookup_by_id_or_slug() -> None:
    assert lookup("sd102") is not None
    assert lookup("route-missing").id == "SD601"  # type: ignore[union-attr]
    assert lookup("nope") is None


def test_readme_check_table_matches_catalog() -> None:
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    for doc in load_docs().values():
        row = f"| {doc.id} | {doc.slug} | {doc.severity.value} |"
        assert row in readme, f"README check table lacks or misstates {doc.id}"


def test_check_reads_are_the_checks_own_and_explain_imports_no_check() -> None:
    import subprocess
    import sys

    from seldon_doctor.catalog import check_reads

    assert {c.id: check_reads(c.id) for c in ALL_CHECKS} == {
        c.id: sorted(c.reads | c.needs) for c in ALL_CHECKS
    }
    assert [check_reads(i) for i in ENGINE_CHECK_IDS] == [[]] * len(ENGINE_CHECK_IDS)
    # explain prints one check's reads from the generated table (issue 17: importing every
    # check to ask one was a quarter of its start-up).
    code = (
        "import contextlib, io, sys\n"
        "from seldon_doctor.cli import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    cli(['explain', 'SD501'], standalone_mode=False)\n"
        "assert 'Deployment' in out.getvalue()\n"
        "print(sorted(m for m in sys.modules if m.startswith('seldon_doctor.checks')))\n"
        "print('yaml' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # Nor the YAML loader: its doc and playbook come from the compiled _catalog.json.
    assert done.stdout.split("\n")[:2] == ["[]", "False"], done.stdout


def test_the_compiled_catalog_is_the_parsed_sources() -> None:
    from seldon_doctor import catalog

    assert catalog._compiled() is not None, "run scripts/generate.py"
    docs, books = catalog.parse_docs(), catalog.parse_playbooks()
    assert load_docs() == docs and catalog.load_playbooks() == books
    assert {i: catalog._one_doc(i) for i in docs} == docs
    assert {i: catalog.load_playbook(i) for i in books} == books
    assert catalog._one_doc("SD999") is None and catalog.load_playbook("SD999") is None
