"""The alerts and the Grafana dashboard of ``deploy/``, checked with the real ``promtool``.

``deploy/monitoring/*.rules.yml`` are plain Prometheus rule files; each form's PrometheusRule
wraps them (``scripts/generate.py``). promtool checks them, runs the unit tests of
``tests/monitoring/`` (every alert fires on the series it is about and stays quiet on others),
and parses every dashboard query as a recording rule. Metric names are held against the
exporter's metric contract below, not against the exporter's code, so the two can be built
apart and still have to agree.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
MONITORING = DEPLOY / "monitoring"
UNIT_TESTS = ROOT / "tests" / "monitoring"
DASHBOARD = DEPLOY / "grafana" / "seldon-doctor.json"
RULE_FILES = sorted(MONITORING.glob("*.rules.yml"))
FORMS = {
    "exporter": ("findings.rules.yml", "exporter.rules.yml"),
    "cronjob": ("findings.rules.yml", "cronjob.rules.yml"),
}
RUNBOOK_BASE = "https://github.com/YOUR-ORG/seldon-doctor/blob/main/"
SEVERITIES = {"critical", "warning", "info"}

# The metric contract of `seldon-doctor serve` and `scan --push-gateway` (every series has
# `cluster`): name -> its labels besides `cluster`.
CONTRACT: dict[str, set[str]] = {
    "seldon_doctor_findings": {"check", "severity", "namespace", "role"},
    "seldon_doctor_findings_by_severity": {"severity"},
    "seldon_doctor_suppressed_findings": {"check", "kind"},
    "seldon_doctor_baselined_findings": set(),
    "seldon_doctor_not_evaluated": {"check"},
    "seldon_doctor_gaps": set(),
    "seldon_doctor_checks_run": set(),
    "seldon_doctor_objects": set(),
    "seldon_doctor_exit_code": set(),
    "seldon_doctor_scan_duration_seconds": set(),
    "seldon_doctor_last_success_timestamp_seconds": set(),
    "seldon_doctor_ready": set(),
    "seldon_doctor_scan_interval_seconds": set(),
    "seldon_doctor_scans_total": set(),
    "seldon_doctor_scan_errors_total": {"reason"},
}
# Labels a scrape or the Pushgateway adds.
SCRAPE_LABELS = {"cluster", "job", "instance"}

_PROMQL_KEYWORDS = {
    "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
    "group_left", "group_right", "inf", "nan",
}  # fmt: skip
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"(?<![0-9A-Za-z_:.$])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?")
_SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*\{([^}]*)\}")
_MATCHER_LABEL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, keywords, labels left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = _GROUPING.sub(" ", text)
    return {
        name
        for name, call in _IDENT.findall(text)
        if not call and name.lower() not in _PROMQL_KEYWORDS
    }


def matcher_labels(expr: str) -> dict[str, set[str]]:
    """Per selected metric, the label names its matchers use."""
    out: dict[str, set[str]] = {}
    for name, matchers in _SELECTOR.findall(expr):
        out.setdefault(name, set()).update(_MATCHER_LABEL.findall(matchers))
    return out


def assert_in_contract(expr: str) -> None:
    names = metric_names(expr)
    assert names, f"no metric in {expr!r}"
    assert names <= set(CONTRACT), f"{sorted(names - set(CONTRACT))} not in the contract: {expr}"
    for name, labels in matcher_labels(expr).items():
        unknown = labels - CONTRACT[name] - SCRAPE_LABELS
        assert not unknown, f"{name} has no label {sorted(unknown)}: {expr}"


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("needs promtool (scripts/setup-monitoring.sh)")
    return path


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_promtool(), *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def _rules(path: Path) -> list[dict[str, Any]]:
    groups = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


ALERTS = {rule["alert"]: rule for path in RULE_FILES for rule in _rules(path)}


# --- the rule files ------------------------------------------------------------------------


def test_rule_files_and_prometheus_rules_pass_promtool_check(tmp_path: Path) -> None:
    specs = []
    for form in FORMS:
        doc = yaml.safe_load((DEPLOY / form / "prometheusrule.yaml").read_text())
        spec = tmp_path / f"{form}.spec.yml"
        spec.write_text(yaml.safe_dump(doc["spec"]), encoding="utf-8")
        specs.append(spec)
    result = _run("check", "rules", *RULE_FILES, *specs)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_FILES) + len(specs)


def test_promtool_check_rejects_a_broken_expression(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "groups:\n- name: x\n  rules:\n  - alert: X\n    expr: sum by (cluster (up)\n",
        encoding="utf-8",
    )
    result = _run("check", "rules", broken)
    assert result.returncode != 0 and "FAILED" in result.stdout + result.stderr


def test_alert_unit_tests_pass() -> None:
    tests = sorted(UNIT_TESTS.glob("*.test.yml"))
    assert len(tests) == 3
    result = _run("test", "rules", *tests)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(tests)


def test_every_alert_is_tested_firing_and_quiet() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in UNIT_TESTS.glob("*.test.yml"):
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for check in case["alert_rule_test"]:
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert firing == set(ALERTS), f"never seen firing: {sorted(set(ALERTS) - firing)}"
    assert quiet == set(ALERTS), f"never seen quiet: {sorted(set(ALERTS) - quiet)}"


@pytest.mark.parametrize("rules", [p.name for p in RULE_FILES])
def test_unit_tests_catch_a_rule_without_its_for(rules: str, tmp_path: Path) -> None:
    """The unit tests are not vacuous: dropping every `for:` of a file makes them fail."""
    (tmp_path / "deploy" / "monitoring").mkdir(parents=True)
    (tmp_path / "tests" / "monitoring").mkdir(parents=True)
    text = (MONITORING / rules).read_text(encoding="utf-8")
    mutated = re.sub(r"(?m)^\s+for: .*\n", "", text)
    assert mutated != text
    (tmp_path / "deploy" / "monitoring" / rules).write_text(mutated, encoding="utf-8")
    test = rules.replace(".rules.yml", ".test.yml")
    shutil.copy(UNIT_TESTS / test, tmp_path / "tests" / "monitoring" / test)
    result = _run("test", "rules", tmp_path / "tests" / "monitoring" / test)
    assert result.returncode != 0 and "FAILED" in result.stdout + result.stderr, result.stdout


@pytest.mark.parametrize("form", sorted(FORMS))
def test_prometheus_rule_wraps_the_rule_files(form: str) -> None:
    doc = yaml.safe_load((DEPLOY / form / "prometheusrule.yaml").read_text())
    assert doc["apiVersion"] == "monitoring.coreos.com/v1" and doc["kind"] == "PrometheusRule"
    assert doc["metadata"]["namespace"] == "seldon-doctor"
    wanted = []
    for name in FORMS[form]:
        wanted += yaml.safe_load((MONITORING / name).read_text())["groups"]
    assert doc["spec"]["groups"] == wanted


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_alert_is_actionable(alert: str) -> None:
    rule = ALERTS[alert]
    assert rule["labels"]["severity"] in SEVERITIES
    assert re.fullmatch(r"\d+[mh]", rule["for"]), "a `for:` keeps one bad scrape from paging"
    annotations = rule["annotations"]
    assert set(annotations) == {"summary", "description", "runbook_url"}
    assert_in_contract(rule["expr"])
    if not rule["expr"].startswith("absent("):  # absent() has no labels to name
        assert "$labels.cluster" in annotations["summary"] + annotations["description"]
        assert "cluster" in rule["expr"]
    if "namespace" in rule["expr"]:
        assert "$labels.namespace" in annotations["summary"]


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_runbook_url_points_into_this_repository(alert: str) -> None:
    rule = ALERTS[alert]
    url = rule["annotations"]["runbook_url"]
    assert url.startswith(RUNBOOK_BASE), url
    path = url.removeprefix(RUNBOOK_BASE)
    if "{{ $labels.check }}" in path:  # one alert for several checks: each has its doc
        checks = re.findall(r"SD\d{3}", rule["expr"])
        assert checks
        targets = [path.replace("{{ $labels.check }}", c) for c in checks]
    else:
        targets = [path]
    for target in targets:
        file, _, anchor = target.partition("#")
        assert (ROOT / file).is_file(), target
        if anchor:
            headings = re.findall(r"(?m)^#+ (.+)$", (ROOT / file).read_text(encoding="utf-8"))
            slugs = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}
            assert anchor in slugs, f"{file} has no heading for #{anchor}"
    # a finding's alert links its check's doc, the doctor's own alerts their README section
    checks_in_expr = set(re.findall(r'check=~?"([^"]+)"', rule["expr"]))
    assert bool(checks_in_expr) == path.startswith("checks/"), url


def test_findings_alerts_cover_the_checks_on_call_needs() -> None:
    checked = {c for r in ALERTS.values() for c in re.findall(r"SD\d{3}", r["expr"])}
    assert {"SD501", "SD601", "SD102", "SD504", "SD505", "SD606"} <= checked
    for check in checked:
        assert (ROOT / "checks" / f"{check}.md").is_file(), check


def test_metric_names_reads_promql() -> None:
    expr = (
        'time() - max by (cluster) (a_seconds{job="x", y=~"a|b"}) > 3 * on (cluster) '
        "sum without (pod) (increase(b_total[5m] offset 1h)) and c"
    )
    assert metric_names(expr) == {"a_seconds", "b_total", "c"}
    assert matcher_labels(expr) == {"a_seconds": {"job", "y"}}
    with pytest.raises(AssertionError, match="not in the contract"):
        assert_in_contract("seldon_doctor_findingz > 0")
    with pytest.raises(AssertionError, match="has no label"):
        assert_in_contract('seldon_doctor_gaps{namespace="x"} > 0')


# --- the dashboard -------------------------------------------------------------------------


def _dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def _panels() -> list[dict[str, Any]]:
    out = []
    for panel in _dashboard()["panels"]:
        out += panel.get("panels", []) if panel["type"] == "row" else [panel]
    return out


# What Grafana puts in place of its variables, so promtool sees the query Prometheus gets.
SUBSTITUTIONS = {
    "${cluster}": "prod-eu-1|staging",
    "$cluster": "prod-eu-1|staging",
    "${namespace}": ".*",
    "$namespace": ".*",
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
}


def _substitute(expr: str) -> str:
    for var, value in SUBSTITUTIONS.items():
        expr = expr.replace(var, value)
    assert "$" not in expr, f"unknown variable in {expr!r}"
    return expr


def test_dashboard_has_cluster_and_datasource_variables() -> None:
    variables = {v["name"]: v for v in _dashboard()["templating"]["list"]}
    source = variables["datasource"]
    assert source["type"] == "datasource" and source["query"] == "prometheus"
    cluster = variables["cluster"]
    assert cluster["type"] == "query" and cluster["multi"] is True
    assert cluster["query"]["query"] == "label_values(seldon_doctor_checks_run, cluster)"
    assert cluster["datasource"]["uid"] == "${datasource}"


def test_every_panel_queries_the_selected_clusters() -> None:
    panels = _panels()
    assert len(panels) >= 12
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            assert 'cluster=~"$cluster"' in target["expr"], (panel["title"], target["expr"])
            assert_in_contract(target["expr"])


def test_dashboard_shows_what_the_brief_of_each_panel_promises() -> None:
    exprs = " ".join(t["expr"] for p in _panels() for t in p["targets"])
    for grouping in ("by (check)", "by (cluster, namespace)", "by (role)", "by (severity)"):
        assert grouping in exprs
    used = {name for p in _panels() for t in p["targets"] for name in metric_names(t["expr"])}
    assert used >= {
        "seldon_doctor_findings",
        "seldon_doctor_findings_by_severity",
        "seldon_doctor_gaps",
        "seldon_doctor_scan_duration_seconds",
        "seldon_doctor_last_success_timestamp_seconds",
        "seldon_doctor_scan_errors_total",
    }


def test_every_dashboard_query_parses(tmp_path: Path) -> None:
    rules = []
    variables = _dashboard()["templating"]["list"]
    queries = [
        (f"panel_{p['id']}_{t['refId']}", t["expr"]) for p in _panels() for t in p["targets"]
    ]
    for variable in variables:
        if variable["type"] == "query":  # label_values(SELECTOR, label): its selector
            inner = re.fullmatch(r"label_values\((.+),\s*\w+\)", variable["query"]["query"])
            assert inner, variable["query"]
            queries.append((f"variable_{variable['name']}", inner.group(1)))
    for name, expr in queries:
        rules.append({"record": f"dashboard:{name}", "expr": _substitute(expr)})
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = _run("check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_promql_in_the_docs_parses(tmp_path: Path) -> None:
    blocks = []
    for doc in (ROOT / "docs" / "fleets.md", DEPLOY / "README.md"):
        blocks += re.findall(r"```promql\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    assert blocks
    rules = []
    for i, block in enumerate(blocks):
        assert_in_contract(block)
        rules.append({"record": f"docs:query_{i}", "expr": block})
    path = tmp_path / "docs.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "docs", "rules": rules}]}))
    result = _run("check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr
