"""Every check's doc names the upstream rule it follows (issue 13, item 4).

A check that recomputes Seldon Core behaviour cites the upstream file(s) under
``## References`` (a path such as ``scheduler/pkg/scheduler/filters/replicamemory.go``) and the
releases it applies to; a check that follows Kubernetes, Envoy or the tool's own semantics says
``No upstream Seldon rule`` instead.
"""

from __future__ import annotations

import re

import pytest

from seldon_doctor.checks import ALL_CHECKS, ENGINE_CHECK_IDS
from tests.conftest import ROOT

CHECK_IDS = sorted({cls.id for cls in ALL_CHECKS} | set(ENGINE_CHECK_IDS))

_UPSTREAM_PATH = re.compile(r"`[\w.-]+(?:/[\w.*<>-]+)+\.(?:go|proto|yaml|md|json)`")
_RELEASE = re.compile(r"v?2\.(?:[5-9]|10)(?:\.\d+)?")


def _references(check_id: str) -> str:
    text = (ROOT / "checks" / f"{check_id}.md").read_text()
    match = re.search(r"^## References\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"checks/{check_id}.md has no '## References' section"
    return match.group(1)


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_check_doc_cites_its_upstream_rule(check_id: str) -> None:
    refs = _references(check_id)
    if "no upstream seldon rule" in refs.lower():
        return
    assert _UPSTREAM_PATH.search(refs), (
        f"checks/{check_id}.md: References name no upstream path (or say 'No upstream Seldon "
        "rule: ...')"
    )
    assert _RELEASE.search(refs), f"checks/{check_id}.md: References name no release"
