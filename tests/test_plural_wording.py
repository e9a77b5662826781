"""Messages say "1 replica" and "3 replicas", never "replica(s)" (issue 16).

A lazy plural slips back in with any new f-string, and the goldens cover only the checks their
scenarios trigger, so every check's firing fixtures are run too (0.3 s for all of them).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from seldon_doctor.checks.base import CheckContext
from seldon_doctor.findings import counted, listed
from seldon_doctor.graph.build import build_graph
from tests.conftest import ROOT, load_case
from tests.test_check_fixtures import CHECKS, _cases

LAZY_PLURAL = re.compile(r"\w\(s\)")
# Other programs' words, quoted verbatim as evidence: not ours to reword.
QUOTED = ("Error adding/updating listener(s)",)  # Envoy's rejection of a listener update


def _lazy(text: str) -> list[str]:
    for quoted in QUOTED:
        text = text.replace(quoted, "")
    return [text[max(0, m.start() - 40) : m.end() + 10].strip() for m in LAZY_PLURAL.finditer(text)]


def test_helpers_agree_with_their_count() -> None:
    assert counted(1, "ready pod") == "1 ready pod" and counted(0, "ready pod") == "0 ready pods"
    assert listed("port", [9000]) == "port 9000"
    assert listed("port", [9000, 9001]) == "ports 9000, 9001"
    assert listed("key", ["a", "b"], "keys") == "keys a, b"


def test_no_golden_has_a_lazy_plural() -> None:
    goldens = sorted((ROOT / "tests" / "golden").iterdir())
    assert goldens
    found = {g.name: hits for g in goldens if (hits := _lazy(g.read_text()))}
    assert not found, found


@pytest.mark.parametrize(
    ("check_id", "case"),
    [(c, p) for c, p in _cases() if p.name.startswith("fires")],
    ids=lambda v: getattr(v, "name", v),
)
def test_no_finding_message_has_a_lazy_plural(check_id: str, case: Path) -> None:
    graph = build_graph(load_case(case))
    messages = [f.message for f in CHECKS[check_id]().run(CheckContext(graph=graph))]
    assert messages, f"{check_id} {case}: a fires fixture that does not fire"
    found = [hit for message in messages for hit in _lazy(message)]
    assert not found, found
