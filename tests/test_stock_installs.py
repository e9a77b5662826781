"""A stock Seldon install scans clean: no error and no warning on the install manifests of
each release (../shared/data/seldon/releases/<tag>/: components, runtime, servers).

A check that fires on what upstream ships is a false positive for every user of that release.
When one does, list it in KNOWN_STOCK_FINDINGS (release tag -> reason naming the finding) so
the case is an xfail(strict=True) until the check is fixed, and then fails loudly once fixed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seldon_doctor.cli import main
from tests.conftest import SHARED_DATA, shared_data

RELEASES = SHARED_DATA / "seldon" / "releases"
MANIFESTS = ("components.yaml", "runtime.yaml", "servers.yaml")
# The namespaces a stock install is applied to: the documented one, and kubectl's default.
NAMESPACES = ("seldon-mesh", "default")

# release tag -> why it is expected to fail (check id, resource, message). Empty: all clean.
KNOWN_STOCK_FINDINGS: dict[str, str] = {}


def _release_tags() -> list[str]:
    if not RELEASES.is_dir():
        return ["(absent)"]  # the test body skips cleanly through shared_data()
    return sorted(p.name for p in RELEASES.iterdir() if p.is_dir())


def _cases() -> list[object]:
    cases: list[object] = []
    for tag in _release_tags():
        for namespace in NAMESPACES:
            marks = []
            if tag in KNOWN_STOCK_FINDINGS:
                marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_STOCK_FINDINGS[tag]))
            cases.append(pytest.param(tag, namespace, marks=marks, id=f"{tag}-{namespace}"))
    return cases


def _ref(resource: dict[str, str]) -> str:
    return "/".join(resource.get(k) or "" for k in ("kind", "namespace", "name"))


@pytest.mark.parametrize(("tag", "namespace"), _cases())
def test_stock_install_scans_clean(
    tag: str, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = shared_data("seldon", "releases", tag)
    crds = shared_data("seldon", "crds")
    args = ["scan", "-o", "json", "-n", namespace, "--crds", str(crds)]
    for name in MANIFESTS:
        path: Path = folder / name
        assert path.is_file(), f"{path} missing from the release folder"
        args += ["-f", str(path)]
    with pytest.raises(SystemExit):
        main(args)
    report = json.loads(capsys.readouterr().out)
    raised = [
        f"{f['check_id']} {_ref(f['resource'])}: {f['message']}"
        for f in report["findings"]
        if f["severity"] in ("error", "warning")
    ]
    assert not raised, f"stock {tag} install (namespace {namespace}) raises:\n" + "\n".join(raised)
    assert report["summary"]["errors"] == 0 and report["summary"]["warnings"] == 0
    assert report["summary"]["objects"] > 0
