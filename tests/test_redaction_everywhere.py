"""One redactor, every output: plant the secrets corpus everywhere input text can come from and
look for it in every renderer, the trace, a snapshot bundle and log evidence.

Planted in: env values (credential-like names and not), annotations, a Model's condition
reason, its storageUri, agent and scheduler log lines (a PEM key split over lines too), Envoy
route headers. Checked in: every ``-o`` format (table, json, sarif, junit, markdown,
prometheus, html), graph exports, ``trace`` (tree and JSON), a snapshot bundle's files, and log
evidence. Look-alikes (model names, image refs, URLs without credentials) must survive.
"""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest
from rich.console import Console

from seldon_doctor.bundle import BundleMeta, bundle_files
from seldon_doctor.engine import Report, run_checks
from seldon_doctor.graph.build import DeploymentGraph, build_graph
from seldon_doctor.logs import evidence, match_logs
from seldon_doctor.redact import REDACTED, redact_lines, redact_text, redact_value
from seldon_doctor.render import FORMATS, RenderOptions, get_renderer, graph_export
from seldon_doctor.render.trace_tree import render_tree
from seldon_doctor.snapshot import Snapshot
from seldon_doctor.trace import trace
from tests.conftest import FIXTURES, load_case
from tests.secrets_corpus import CORPUS, KEEP, all_texts, forbidden, leaks, one_line_texts

CASE = FIXTURES / "clusters" / "central-scheduler-split-brain"
STORAGE_PASSWORD = "seededStoragePassw0rd"
ENV_PASSWORD = "seededEnvPassw0rd"
ENVOY_SECRETS = ("seededEnvoyBearer99", "seededEnvoyApiKey77")
AGENT_LOG = "app-a/mlserver-a-0/agent"
SCHEDULER_LOG = "seldon-mesh/seldon-scheduler-0/scheduler"


def _all_forbidden() -> list[str]:
    return [*forbidden(), STORAGE_PASSWORD, ENV_PASSWORD, *ENVOY_SECRETS]


def _assert_clean(text: str, where: str) -> None:
    leaked = [s for s in _all_forbidden() if s in text]
    assert not leaked, f"{where} leaks {leaked}"


def _obj(snapshot: Snapshot, kind: str, namespace: str, name: str) -> dict[str, Any]:
    return next(
        o.body
        for o in snapshot.objects
        if o.kind == kind and o.namespace == namespace and o.name == name
    )


def _planted() -> Snapshot:
    snapshot = load_case(CASE)
    model = _obj(snapshot, "Model", "app-a", "fraud-score")
    model["metadata"]["annotations"] = {
        **{f"example.com/{e.name}": e.text for e in CORPUS},
        "example.com/docs": "https://models.example.com/fraud-score/v3",
        "example.com/source": "gs://ml-artifacts-prod/app-a/fraud-score/v3",
    }
    model["spec"]["storageUri"] = f"s3://minio:{STORAGE_PASSWORD}@minio.local/models/fraud-score"
    model["status"]["conditions"] = [
        {
            "type": "ModelReady",
            "status": "False",
            "message": "ModelFailed",
            "reason": "failed to download from s3 rclone: " + " ; ".join(all_texts()),
            "lastTransitionTime": "2026-11-20T08:03:00Z",
        },
        {"type": "Ready", "status": "False", "reason": " ; ".join(one_line_texts())},
    ]
    server = _obj(snapshot, "Server", "app-a", "mlserver-a")
    containers = server["spec"].setdefault("podSpec", {}).setdefault("containers", [])
    if not containers:
        containers.append({"name": "agent"})
    containers[0].setdefault("env", []).extend(
        [
            {"name": "DB_PASSWORD", "value": ENV_PASSWORD},
            *({"name": f"EXTRA_{i}", "value": text} for i, text in enumerate(all_texts())),
        ]
    )
    containers.append({"name": "mlserver", "image": "docker.io/seldonio/mlserver:1.7.1"})
    snapshot.logs[AGENT_LOG] = [
        *(f'level=error msg="Scheduler not ready" detail="{t}"' for t in one_line_texts()),
        *(f'level=error msg="Scheduler not ready" {t}' for t in one_line_texts()),
        *next(e for e in CORPUS if not e.one_line).text.splitlines(),
    ]
    snapshot.logs[SCHEDULER_LOG] = [
        'level=warning msg="Failed to schedule model as no matching servers are available" '
        f"model=fraud-score {t}"
        for t in one_line_texts()
    ]
    for envoy in snapshot.envoys:
        raw = copy.deepcopy(dict(envoy.raw))
        headers = [
            {"header": {"key": "authorization", "value": f"Bearer {ENVOY_SECRETS[0]}"}},
            {"header": {"key": "x-api-key", "value": ENVOY_SECRETS[1]}},
        ]
        for config in raw.get("configs", []):
            for route in config.get("dynamic_route_configs", []):
                route.get("route_config", {})["request_headers_to_add"] = headers
        envoy.raw = raw
    return snapshot


@pytest.fixture(scope="module")
def scanned() -> tuple[Snapshot, DeploymentGraph, Report]:
    snapshot = _planted()
    graph = build_graph(snapshot)
    report = run_checks(graph, debug=True)
    return snapshot, graph, report


def test_planted_secrets_reach_the_report_paths(
    scanned: tuple[Snapshot, DeploymentGraph, Report],
) -> None:
    # The test is only worth something if the planted text is quoted somewhere.
    _, _, report = scanned
    text = get_renderer("json")(report, RenderOptions(exit_code=1))
    assert REDACTED in text
    assert "storageUri" in text and "minio.local/models/fraud-score" in text
    assert "fraud-score" in text


def test_no_secret_in_any_format(scanned: tuple[Snapshot, DeploymentGraph, Report]) -> None:
    _, graph, report = scanned
    options = RenderOptions(exit_code=1, show_plan=True, graph=graph)
    for fmt in FORMATS:
        _assert_clean(get_renderer(fmt)(report, options), f"-o {fmt}")
    for export in (graph_export.to_dot, graph_export.to_mermaid, graph_export.to_json):
        _assert_clean(export(graph, report.findings), f"graph {export.__name__}")


def test_no_secret_in_trace(scanned: tuple[Snapshot, DeploymentGraph, Report]) -> None:
    _, graph, _ = scanned
    result = trace(graph, "Model", "app-a", "fraud-score")
    buffer = io.StringIO()
    render_tree(result, Console(file=buffer, no_color=True, width=200))
    tree = buffer.getvalue()
    assert "fraud-score" in tree
    _assert_clean(tree, "trace")
    _assert_clean(json.dumps(result.to_dict()), "trace -o json")


def test_no_secret_in_a_bundle(scanned: tuple[Snapshot, DeploymentGraph, Report]) -> None:
    snapshot, _, _ = scanned
    files = bundle_files(snapshot, BundleMeta(created="2026-01-01T00:00:00Z"))
    everything = b"\n".join(files.values()).decode("utf-8")
    _assert_clean(everything, "snapshot bundle")
    for keep in KEEP:
        assert keep in everything, f"the bundle lost {keep!r}"
    assert any(path.startswith("logs/") for path in files)


def test_no_secret_in_log_evidence(scanned: tuple[Snapshot, DeploymentGraph, Report]) -> None:
    snapshot, _, _ = scanned
    matches = match_logs(snapshot.logs)
    assert matches
    for match in matches:
        _assert_clean(match.text, "log match")
        _assert_clean(repr(match.fields), "log fields")
    _assert_clean(" ".join(e.describe() for e in evidence(matches, limit=100)), "log evidence")


@pytest.mark.parametrize("entry", CORPUS, ids=lambda e: e.name)
def test_each_corpus_entry_is_masked_by_every_entry_point(entry: Any) -> None:
    assert not leaks(redact_text(entry.text))
    assert not leaks(repr(redact_value({"a": [entry.text]})))
    assert not leaks("\n".join(redact_lines(entry.text.splitlines())))
    assert redact_text(redact_text(entry.text)) == redact_text(entry.text)  # idempotent


def test_look_alikes_are_kept() -> None:
    for text in (*KEEP, "seldon-authz:1.0", "https://auth.example.com:8443/x", "Basic auth"):
        assert redact_text(text) is text
    env = {"name": "SELDON_SCHEDULER_HOST", "value": "seldon-scheduler.seldon-mesh"}
    assert redact_value(env) is env
    refs = {"secretName": "s3-creds", "automountServiceAccountToken": True}
    assert redact_value(refs) is refs


def test_redaction_is_linear_on_hostile_input() -> None:
    """Every pattern is possessive or bounded: long hostile lines cannot hang a scan (these took
    seconds to minutes with the backtracking patterns)."""
    import time

    n = 50_000
    hostile = [
        "a" * n,
        "a." * (n // 2),
        "password" * (n // 8),
        "password=" * (n // 9),
        'password="' * (n // 10),
        "password: " * (n // 10),
        '"password":"' * (n // 12),
        "://a:" * (n // 5),
        "-----BEGIN " * (n // 11),
        "Bearer " * (n // 7),
        "-" * n,
    ]
    started = time.monotonic()
    for text in hostile:
        redact_text(text)
        redact_lines([text, text])
    assert time.monotonic() - started < 20  # ~1 s on a quiet machine
