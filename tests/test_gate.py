"""The CI gate: suppressions (config, annotations, expiry, --strict), baselines, thresholds,
config errors, shell completion, NO_COLOR, graph -o svg, and the pre-commit hook."""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from seldon_doctor.cli import main
from seldon_doctor.engine import Report
from seldon_doctor.findings import Finding, ResourceRef, Severity
from tests.conftest import FIXTURES, ROOT

SD102 = str(FIXTURES / "checks" / "SD102" / "fires.yaml")
SD102_QUIET = str(FIXTURES / "checks" / "SD102" / "quiet.yaml")
SD501 = str(FIXTURES / "checks" / "SD501" / "fires.yaml")
SD508 = str(FIXTURES / "checks" / "SD508" / "fires.yaml")
ANNOTATED = str(FIXTURES / "reports" / "annotated.yaml")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def scan_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    # The fixtures stand for full exports (# scan: --complete): absences are findings.
    code, out, err = run(capsys, "scan", "--complete", *args, "-o", "json")
    assert out, err
    return code, json.loads(out)


def write_config(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def by_name(report: dict[str, object]) -> dict[str, dict[str, object]]:
    findings = report["findings"]
    assert isinstance(findings, list)
    return {f"{f['id']} {f['resource']['name']}": f for f in findings}


# ------------------------------------------------------------------------ config suppressions
def test_config_suppression_and_expiry(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "c.yaml",
        "suppressions:\n"
        "  - check: SD102\n"
        "    resource: Model/fraud/fraud-*\n"
        "    reason: GPU pool arrives in Q3\n"
        "    expires: 2999-12-31\n"
        "  - check: model-requirements-unsatisfied\n"
        "    resource: Model/*/vision\n"
        "    reason: torch server was due in 2000\n"
        "    expires: 2000-01-01\n",
    )
    code, report = scan_json(capsys, "-f", SD102, "--config", config)
    assert code == 1
    found = by_name(report)
    assert found["SD102 fraud-detector"]["suppressed"] == {
        "kind": "config",
        "reason": "GPU pool arrives in Q3",
        "expires": "2999-12-31",
    }
    # Expired: fires again, and says the suppression expired.
    vision = found["SD102 vision"]
    assert "suppressed" not in vision
    assert "expired on 2000-01-01" in str(vision["message"])
    assert "torch server was due in 2000" in str(vision["message"])
    summary = report["summary"]
    assert isinstance(summary, dict)
    assert summary["suppressed"] == 1 and summary["errors"] == 3


def test_suppressed_findings_do_not_fail_the_gate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "c.yaml",
        "suppressions:\n  - {check: SD102, resource: 'Model/fraud/*', reason: known, "
        "expires: 2999-01-01}\n",
    )
    code, report = scan_json(capsys, "-f", SD102, "--config", config)
    assert code == 0
    assert report["summary"]["suppressed"] == 4  # type: ignore[index]
    assert report["summary"]["errors"] == 0  # type: ignore[index]
    assert len(report["findings"]) == 4  # type: ignore[arg-type]


def test_suppression_expiry_is_judged_against_today() -> None:
    from seldon_doctor.suppress import Config, Suppression, apply_suppressions

    finding = Finding(
        "SD102", "model-requirements-unsatisfied", Severity.ERROR,
        ResourceRef("Model", "fraud", "x"), "m",
    )  # fmt: skip
    rule = Suppression("SD102", "Model/fraud/x", "why", dt.date(2030, 6, 30))
    config = Config(path="c.yaml", suppressions=(rule,))
    report = Report(findings=[finding], not_evaluated=[], gaps=[], checks_run=["SD102"])
    last_day = apply_suppressions(report, config, today=dt.date(2030, 6, 30))
    day_after = apply_suppressions(report, config, today=dt.date(2030, 7, 1))
    assert len(last_day.suppressed) == 1 and not last_day.findings
    assert not day_after.suppressed and "expired on 2030-06-30" in day_after.findings[0].message


def test_config_select_and_ignore_by_slug(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = write_config(tmp_path / "c.yaml", "ignore: [model-requirements-unsatisfied]\n")
    code, report = scan_json(capsys, "-f", SD102, "--config", config)
    assert code == 0 and "SD102" not in report["summary"]["checks_run"]  # type: ignore[index]
    config = write_config(tmp_path / "c.yaml", "select: [SD102, scheduler-split-brain]\n")
    _, report = scan_json(capsys, "-f", SD102, "--config", config)
    assert report["summary"]["checks_run"] == ["SD102", "SD501"]  # type: ignore[index]
    # --select on the command line wins over the config's select.
    _, report = scan_json(capsys, "-f", SD102, "--config", config, "--select", "SD501")
    assert report["summary"]["checks_run"] == ["SD501"]  # type: ignore[index]


def test_config_is_found_upward_from_the_working_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".seldon-doctor.yaml").write_text(
        "suppressions:\n  - {check: SD102, resource: '*', reason: 'everything, for now'}\n"
    )
    (tmp_path / ".git").mkdir()  # the search stops at the repository root
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    code, report = scan_json(capsys, "-f", SD102)
    assert code == 0 and report["summary"]["suppressed"] == 4  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("suppressions:\n  - {check: SD102, resource: 'Model/a/b'}\n", "reason is required"),
        ("suppressions:\n  - {check: SD999, resource: 'Model/a/b', reason: r}\n", "unknown check"),
        ("suppressions:\n  - {check: SD102, resource: a/b, reason: r, expires: soon}\n",
         "expires must be a date"),
        ("suppressions:\n  - {check: SD102, resource: 'justaname', reason: r}\n",
         "not Kind/namespace/name"),
        ("suppressions:\n  - {check: SD102, resource: a/b, reason: r, until: x}\n", "unknown key"),
        ("ignroe: [SD102]\n", "unknown key ignroe"),
        ("select: {SD102: true}\n", "expected a list"),
        ("suppressions: [\n", "invalid YAML"),
        ("- just a list\n", "expected a mapping"),
    ],
)  # fmt: skip
def test_bad_config_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, fragment: str
) -> None:
    config = write_config(tmp_path / "bad.yaml", text)
    code, out, err = run(capsys, "scan", "--complete", "-f", SD102, "--config", config)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert fragment in err and "bad.yaml" in err


def test_missing_config_file_is_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(
        capsys, "scan", "--complete", "-f", SD102, "--config", str(tmp_path / "nope.yaml")
    )
    assert code == 2 and "no such file" in err


# ------------------------------------------------------------------- annotation suppressions
def test_annotation_suppression_and_strict(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = scan_json(capsys, "-f", ANNOTATED)
    found = by_name(report)
    assert found["SD102 fraud-detector"]["suppressed"] == {
        "kind": "annotation",
        "reason": "runs on the GPU pool's custom server (JIRA ML-42)",
        "expires": None,
    }
    # The implied scheduler StatefulSet inherits its SeldonRuntime's annotation (by slug).
    assert found["SD502 seldon-scheduler"]["suppressed"]["kind"] == "annotation"  # type: ignore[index]
    assert "suppressed" not in found["SD102 vision"]
    assert code == 1  # vision and the split brain still fail the gate
    code, strict = scan_json(capsys, "-f", ANNOTATED, "--strict")
    assert code == 1
    assert strict["summary"]["suppressed"] == 0  # type: ignore[index]
    assert all("suppressed" not in f for f in strict["findings"])  # type: ignore[attr-defined, union-attr]


def test_strict_keeps_config_suppressions(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "c.yaml",
        "suppressions:\n  - {check: SD102, resource: Model/payments/vision, reason: r}\n",
    )
    _, report = scan_json(capsys, "-f", ANNOTATED, "--strict", "--config", config)
    kinds = [f["suppressed"]["kind"] for f in report["findings"] if f.get("suppressed")]  # type: ignore[attr-defined, union-attr]
    assert kinds == ["config"]


def test_suppressed_json_validates_against_schema(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from importlib import resources

    schema = json.loads(
        (resources.files("seldon_doctor") / "schema" / "report.schema.json").read_text()
    )
    config = write_config(
        tmp_path / "c.yaml",
        "suppressions:\n  - {check: SD102, resource: 'Model/fraud/*', reason: r, "
        "expires: 2999-01-01}\n",
    )
    _, report = scan_json(capsys, "-f", SD102, "-f", ANNOTATED, "--config", config)
    jsonschema.validate(report, schema, format_checker=jsonschema.FormatChecker())
    assert report["summary"]["suppressed"] == 6  # type: ignore[index]


# ------------------------------------------------------------------------------- baselines
def test_baseline_reports_only_new_findings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    baseline = tmp_path / "previous.json"
    code, out, _ = run(capsys, "scan", "--complete", "-f", SD102, "-o", f"json={baseline}")
    assert code == 1
    # Same input: nothing new, the gate passes, and stderr says how many were baselined.
    code, out, err = run(
        capsys, "scan", "--complete", "-f", SD102, "--baseline", str(baseline), "-o", "json"
    )
    assert code == 0
    report = json.loads(out)
    assert report["findings"] == [] and report["summary"]["baselined"] == 4
    assert "4 findings already in" in err
    # New problems elsewhere: only those are reported and gate.
    code, out, _ = run(
        capsys,
        "scan",
        "--complete",
        "-f",
        SD102,
        "-f",
        SD501,
        "--baseline",
        str(baseline),
        "-o",
        "json",
    )
    report = json.loads(out)
    assert code == 1
    assert {f["id"] for f in report["findings"]} == {"SD501", "SD502"}
    assert report["summary"]["baselined"] == 4


def test_baseline_ignores_messages_but_counts_repeats(tmp_path: Path) -> None:
    from seldon_doctor.baseline import apply_baseline, load_baseline

    def finding(name: str, message: str) -> Finding:
        return Finding(
            "SD102", "model-requirements-unsatisfied", Severity.ERROR,
            ResourceRef("Model", "fraud", name), message,
        )  # fmt: skip

    previous = {
        "findings": [
            {"id": "SD102", "resource": {"kind": "Model", "namespace": "fraud", "name": "a"},
             "message": "old wording"},
            {"id": "SD102", "resource": {"kind": "Model", "namespace": "fraud", "name": "b"},
             "message": "first problem"},
        ]
    }  # fmt: skip
    path = tmp_path / "b.json"
    path.write_text(json.dumps(previous))
    report = Report(
        findings=[
            finding("a", "new wording"),  # same check and resource: baselined
            finding("b", "second problem"),  # b had one finding; now two: one is new
            finding("b", "first problem"),
            finding("c", "x"),  # new resource
        ],
        not_evaluated=[],
        gaps=[],
        checks_run=["SD102"],
    )
    after = apply_baseline(report, load_baseline(str(path)))
    assert after.baselined == 2
    assert [(f.resource.name, f.message) for f in after.findings] == [
        ("b", "second problem"),
        ("c", "x"),
    ]


def test_baseline_does_not_absorb_findings_that_were_suppressed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A suppression that lapses must fire again even when a baseline was taken meanwhile."""
    config = write_config(
        tmp_path / "c.yaml",
        "suppressions:\n  - {check: SD102, resource: Model/fraud/vision, reason: r}\n",
    )
    baseline = tmp_path / "previous.json"
    run(capsys, "scan", "--complete", "-f", SD102, "--config", config, "-o", f"json={baseline}")
    code, out, _ = run(
        capsys, "scan", "--complete", "-f", SD102, "--baseline", str(baseline), "-o", "json"
    )
    report = json.loads(out)
    assert code == 1
    assert [f["resource"]["name"] for f in report["findings"]] == ["vision"]
    assert report["summary"]["baselined"] == 3


def test_table_summary_counts_suppressed_and_baselined(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    baseline = tmp_path / "previous.json"
    run(capsys, "scan", "--complete", "-f", SD102, "-o", f"json={baseline}")
    _, out, _ = run(
        capsys, "scan", "--complete", "-f", SD102, "-f", ANNOTATED, "--baseline", str(baseline)
    )
    summary = [line for line in out.splitlines() if " errors, " in line or " error, " in line][-1]
    assert "2 suppressed" in summary and "4 baselined" in summary


@pytest.mark.parametrize(
    ("content", "fragment"),
    [("{not json", "not JSON"), ('{"a": 1}', "no findings list"),
     ('{"findings": [{"id": "SD1"}]}', "lacks id/resource")],
)  # fmt: skip
def test_bad_baseline_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, fragment: str
) -> None:
    path = tmp_path / "b.json"
    path.write_text(content)
    code, out, err = run(capsys, "scan", "--complete", "-f", SD102, "--baseline", str(path))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert fragment in err


# ------------------------------------------------------------------------------ thresholds
def test_min_severity_hides_without_changing_the_exit_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, full = scan_json(capsys, "-f", SD508, "-f", SD102_QUIET)
    warnings = full["summary"]["warnings"]  # type: ignore[index]
    assert warnings > 0 and full["summary"]["errors"] == 0  # type: ignore[index]
    code, shown = scan_json(
        capsys, "-f", SD508, "-f", SD102_QUIET, "--fail-on", "warning", "--min-severity", "error"
    )
    assert code == 1  # the gate still sees the warnings
    assert shown["findings"] == [] and shown["summary"]["hidden"] == warnings  # type: ignore[index]
    code, shown = scan_json(
        capsys, "-f", SD508, "-f", SD102_QUIET, "--fail-on", "error", "--min-severity", "warning"
    )
    assert code == 0 and len(shown["findings"]) == warnings  # type: ignore[arg-type]


def test_filter_min_severity_unit() -> None:
    from seldon_doctor.suppress import filter_min_severity

    def finding(sev: Severity) -> Finding:
        return Finding("SD102", "s", sev, ResourceRef("Model", "n", sev.value), "m")

    report = Report(
        findings=[finding(Severity.ERROR), finding(Severity.WARNING), finding(Severity.INFO)],
        not_evaluated=[],
        gaps=[],
        checks_run=["SD102"],
    )
    assert [f.severity for f in filter_min_severity(report, "warning").findings] == [
        Severity.ERROR,
        Severity.WARNING,
    ]
    assert filter_min_severity(report, "error").hidden == 2


# ------------------------------------------------------------------------------- ecosystem
def test_completion_scripts(capsys: pytest.CaptureFixture[str]) -> None:
    for shell, marker in (("bash", "complete -o"), ("zsh", "compdef"), ("fish", "complete")):
        code, out, _ = run(capsys, "completion", shell)
        assert code == 0 and "_SELDON_DOCTOR_COMPLETE" in out and marker in out, shell
    result = subprocess.run(
        [sys.executable, "-m", "seldon_doctor"],
        env={
            **os.environ,
            "_SELDON_DOCTOR_COMPLETE": "bash_complete",
            "COMP_WORDS": "seldon-doctor scan --min-s",
            "COMP_CWORD": "2",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and "--min-severity" in result.stdout


def _table_on_a_tty(*args: str, env: dict[str, str] | None = None) -> str:
    """Run ``scan`` with stdout on a pseudo-terminal (so the rich console is used)."""
    import pty

    master, slave = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    environment.update({"TERM": "xterm-256color", "COLUMNS": "100", **(env or {})})
    proc = subprocess.Popen(
        [sys.executable, "-m", "seldon_doctor", "scan", "-f", SD102, *args],
        stdout=slave,
        stderr=subprocess.DEVNULL,
        env=environment,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


def test_no_color_flag_and_env_give_plain_text() -> None:
    coloured = _table_on_a_tty()
    assert "\x1b[" in coloured and "SD102" in coloured  # the test can see colour at all
    for plain in (_table_on_a_tty("--no-color"), _table_on_a_tty(env={"NO_COLOR": "1"})):
        assert "SD102" in plain
        assert "\x1b[" not in plain


def test_graph_svg_with_and_without_graphviz(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if shutil.which("dot"):
        code, out, _ = run(capsys, "graph", "-f", SD501, "-o", "svg")
        assert code == 0 and "<svg" in out and 'stroke="red"' in out
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot here
    code, out, err = run(capsys, "graph", "-f", SD501, "-o", "svg")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Graphviz" in err


def test_kubectl_plugin_executable() -> None:
    """`kubectl seldon-doctor` runs the executable kubectl-seldon_doctor from PATH."""
    # Installed next to this interpreter (pip's scripts dir), whether or not it is on PATH.
    plugin = shutil.which(
        "kubectl-seldon_doctor",
        path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    )
    if plugin is None:
        pytest.skip("kubectl-seldon_doctor is not installed ([project.scripts] entry)")
    result = subprocess.run([plugin, "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "seldon-doctor" in result.stdout
    result = subprocess.run(
        [plugin, "scan", "-f", SD102_QUIET, "-q"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_positional_paths_are_scanned_like_dash_f(capsys: pytest.CaptureFixture[str]) -> None:
    _, both = scan_json(capsys, "-f", SD102, SD501)
    _, flags = scan_json(capsys, "-f", SD102, "-f", SD501)
    assert both == flags


# ------------------------------------------------------------------------------ pre-commit
def _hook() -> dict[str, object]:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = [h for h in hooks if h["id"] == "seldon-doctor"]
    assert isinstance(hook, dict)
    return hook


def _fixture_repo(path: Path, *, broken: bool) -> Path:
    (path / "deploy").mkdir(parents=True)
    shutil.copy(SD102_QUIET, path / "deploy" / "models.yaml")
    if broken:
        shutil.copy(SD501, path / "deploy" / "runtime.yaml")
    (path / "README.md").write_text("not YAML, not passed to the hook\n")
    return path


def test_pre_commit_hook_entry_as_pre_commit_runs_it(tmp_path: Path) -> None:
    """The hook's entry with the file names appended, as pre-commit invokes it."""
    hook = _hook()
    assert hook["types"] == ["yaml"] and hook["language"] == "python"
    entry = shlex.split(str(hook["entry"]))
    assert entry[0] == "seldon-doctor"
    command = [sys.executable, "-m", "seldon_doctor", *entry[1:]]
    for broken, expected in ((False, 0), (True, 1)):
        repo = _fixture_repo(tmp_path / f"repo-{broken}", broken=broken)
        files = sorted(str(p.relative_to(repo)) for p in repo.rglob("*.yaml"))
        result = subprocess.run(
            [*command, *files], cwd=repo, capture_output=True, text=True, check=False
        )
        assert result.returncode == expected, result.stdout + result.stderr
        if broken:
            assert "SD501" in result.stdout


@pytest.mark.slow
def test_pre_commit_try_repo(tmp_path: Path) -> None:
    """`pre-commit try-repo` installs this repository's hook in its own venv and runs it."""
    pytest.importorskip("pre_commit")
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("needs a git checkout of seldon-doctor")
    tracked = subprocess.run(
        ["git", "ls-files", ".pre-commit-hooks.yaml"], cwd=ROOT, capture_output=True, text=True
    )
    if not tracked.stdout.strip():
        pytest.skip(".pre-commit-hooks.yaml is not committed yet (try-repo reads tracked files)")
    repo = _fixture_repo(tmp_path / "repo", broken=True)
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    for command in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-qm", "x"]):
        subprocess.run(command, cwd=repo, env=env, check=True)

    def try_repo(*files: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "seldon-doctor",
             "--files", *files],
            cwd=repo, env=env, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip

    clean = try_repo("deploy/models.yaml", "README.md")
    assert clean.returncode == 0, clean.stdout[-3000:] + clean.stderr[-2000:]
    assert "seldon-doctor" in clean.stdout and "Passed" in clean.stdout
    dirty = try_repo("deploy/models.yaml", "deploy/runtime.yaml")
    assert dirty.returncode == 1, dirty.stdout[-3000:]
    assert "Failed" in dirty.stdout and "SD501" in dirty.stdout


# ------------------------------------------------------------------------------ docs/ci.md
def test_ci_doc_workflow_parses_and_uploads_sarif() -> None:
    import re

    text = (ROOT / "docs" / "ci.md").read_text()
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)]
    (workflow,) = [b for b in blocks if isinstance(b, dict) and "jobs" in b]
    steps = workflow["jobs"]["seldon-doctor"]["steps"]
    runs = "\n".join(str(step.get("run", "")) for step in steps)
    assert "helm template" in runs and "seldon-doctor scan -f -" in runs
    assert "-o sarif=results.sarif" in runs
    upload = [
        s for s in steps if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif")
    ]
    assert upload and upload[0]["with"]["sarif_file"] == "results.sarif"


def test_helm_template_on_stdin_to_sarif(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The recipe: `helm template … | seldon-doctor scan -f - -o sarif=…`, locations from
    Helm's `# Source:` comments."""
    chart = tmp_path / "fraud" / "templates"
    chart.mkdir(parents=True)
    manifest = Path(SD102).read_text()
    (chart / "models.yaml").write_text(manifest)
    # Helm prints a `# Source:` header before every document of a multi-document template.
    rendered = "".join(
        f"---\n# Source: fraud/templates/models.yaml\n{doc.strip()}\n"
        for doc in manifest.split("\n---\n")
    )
    monkeypatch.chdir(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "seldon_doctor", "scan", "-f", "-", "-o", "sarif=results.sarif",
         "-o", "markdown=summary.md"],
        input=rendered, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    log = json.loads((tmp_path / "results.sarif").read_text())
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in log["runs"][0]["results"]
    }
    assert uris == {"fraud/templates/models.yaml"}
    assert "SD102" in (tmp_path / "summary.md").read_text()


def test_namespace_suppression_in_its_documented_form_and_unused_ones_are_named() -> None:
    """`resource: Namespace/app-a` (Kind/name, cluster-scoped) matched nothing, silently:
    findings about a namespace are on Namespace/app-a/app-a."""
    from seldon_doctor.engine import Report
    from seldon_doctor.suppress import Config, Suppression, apply_suppressions

    finding = Finding(
        "SD503", "scheduler-service-missing", Severity.ERROR,
        ResourceRef("Namespace", "app-a", "app-a"), "no seldon-scheduler",
    )  # fmt: skip
    config = Config(
        path="c.yaml",
        suppressions=(
            Suppression("SD503", "Namespace/app-a", "platform team owns it"),
            Suppression("SD503", "Namespace/app-typo", "typo"),
        ),
    )
    report = Report(findings=[finding], not_evaluated=[], gaps=[], checks_run=["SD503"])
    out = apply_suppressions(report, config)
    assert out.findings == [] and len(out.suppressed) == 1
    (warning,) = out.warnings
    assert "Namespace/app-typo" in warning and "matched no finding" in warning
