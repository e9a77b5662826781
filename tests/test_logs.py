"""Log evidence (scan --logs): patterns, scrubbing, targets, and evidence on findings.

Every line below is written from a string the reference quotes (seldon-v2-facts.md §b, §g;
failure-cases.md C15, C16, C20, C30), in logrus TextFormatter shape where the component uses it.
"""

from __future__ import annotations

import json

import pytest
import yaml

from seldon_doctor.engine import run_checks
from seldon_doctor.graph.build import build_graph
from seldon_doctor.logs import (
    LOG_PATTERNS,
    LogMatch,
    evidence,
    log_targets,
    match_logs,
    scrub,
    select,
)
from seldon_doctor.redact import REDACTED
from seldon_doctor.render import RenderOptions, get_renderer
from seldon_doctor.snapshot import Snapshot
from seldon_doctor.sources.collect import collect_files
from tests.conftest import FIXTURES, case_inputs, shared_path

T = 'time="2025-10-20T09:14:03Z"'
AGENT = "app-a/mlserver-a-0/agent"
SCHEDULER_A = "app-a/seldon-scheduler-0/scheduler"
SCHEDULER_MESH = "seldon-mesh/seldon-scheduler-0/scheduler"

# Exact messages, one per pattern (and the version variants), in the component's line format.
LINES: list[tuple[str, str, str]] = [
    (
        AGENT,
        f'{T} level=info msg="Connecting (non-blocking) to scheduler at '
        'seldon-scheduler.seldon-mesh.svc.cluster.local:9005" Name=AgentServiceManager',
        "agent-connecting",
    ),
    (
        AGENT,
        f'{T} level=info msg="Subscribed to scheduler" Name=AgentServiceManager',
        "agent-subscribed",
    ),
    # <= 2.9.0: client.go, Name=Client
    (
        AGENT,
        'level=info msg="Subscribed to scheduler" Name=Client func=StartService',
        "agent-subscribed",
    ),
    (
        AGENT,
        f'{T} level=error msg="Scheduler not ready" Name=AgentServiceManager '
        'error="rpc error: code = Unavailable desc = connection error"',
        "agent-scheduler-not-ready",
    ),
    (
        AGENT,
        'level=info msg="Scheduler subscription ended" Name=AgentServiceManager',
        "agent-subscription-ended",
    ),
    (
        AGENT,
        'level=error msg="event recv failed" Name=Client error="rpc error: code = Unavailable desc '
        '= error reading from server: read: connection reset by peer" func=StartService',
        "agent-event-recv-failed",
    ),
    (
        AGENT,
        f"{T} level=error msg=\"failed waiting to check if pod's IP is published to endpoints: "
        'timed out" Name=AgentServiceManager',
        "agent-endpoints-not-published",
    ),
    (
        AGENT,
        f'{T} level=error msg="Failed to load model, sending error to scheduler" '
        'Name=AgentServiceManager error="Failed to download from gs://seldon-models/x any files"',
        "agent-load-failed",
    ),
    (
        AGENT,
        'level=error msg="Failed to handle load model iris:1" Name=Client '
        'error="lstat /mnt/agent/rclone/1495806312: no such file or directory"',
        "agent-load-failed",
    ),
    (
        AGENT,
        'level=error msg="Rclone not ready" Name=Client '
        'error="Post \\"http://0.0.0.0:5572/rc/noop\\": EOF"',
        "agent-rclone-not-ready",
    ),
    (
        SCHEDULER_A,
        f'{T} level=info msg="Received control-plane subscribe request from seldon manager"',
        "scheduler-controller-subscribed",
    ),
    # HEAD wording, then 2.8 to 2.10.0
    (
        SCHEDULER_A,
        f'{T} level=info msg="Received agent subscribe request from mlserver-a:0"',
        "scheduler-agent-subscribed",
    ),
    (
        SCHEDULER_A,
        f'{T} level=info msg="Received subscribe request from mlserver-a:1"',
        "scheduler-agent-subscribed",
    ),
    (
        SCHEDULER_A,
        f'{T} level=info msg="Client replica mlserver-a:0 has disconnected"',
        "scheduler-agent-disconnected",
    ),
    (
        SCHEDULER_A,
        f'{T} level=warning msg="Failed to schedule model as no matching server had enough '
        'suitable replicas, managed to schedule with min replicas" model=ltv',
        "scheduler-schedule-min-replicas",
    ),
    (
        SCHEDULER_A,
        f'{T} level=warning msg="Failed to schedule model as no matching servers are available" '
        "model=fraud-score",
        "scheduler-schedule-failed",
    ),
    (
        SCHEDULER_A,
        f'{T} level=warning msg="Failed to schedule model fraud-score" error="no servers"',
        "scheduler-schedule-failed",
    ),
    # <= 2.6
    (
        SCHEDULER_A,
        "failed to schedule model fraud-score. [failed server filter ServerRequirementsFilter "
        "for server replica mlserver : model requirements [scikit-learn]]",
        "scheduler-schedule-failed",
    ),
    (
        SCHEDULER_A,
        f'{T} level=debug msg="Rejecting server for model" Name=SimpleScheduler '
        "filter=ServerRequirementsFilter func=filterServer model=fraud-score "
        'reason="model requirements [scikit-learn], server capabilities [sklearn]" server=mlserver',
        "scheduler-rejecting-server",
    ),
    (
        "seldon-system/seldon-v2-controller-manager-x/manager",
        'schedulerClient.SubscribeModelEvents\tevent recv failed\t{"error": "rpc error: code = '
        'PermissionDenied desc = RBAC: access denied"}',
        "controller-rbac-denied",
    ),
    (
        "seldon-system/seldon-v2-controller-manager-x/manager",
        'ERROR\tReconciler error\t{"controller": "model", "controllerGroup": "mlops.seldon.io"}',
        "controller-reconciler-error",
    ),
    (
        "seldon-system/seldon-v2-controller-manager-x/manager",
        "INFO\tsetup\tClusterwide mode enabled, watching namespaces",
        "controller-watch-scope",
    ),
    (
        "seldon-system/seldon-v2-controller-manager-x/manager",
        "ERROR\tStartExperiment failed, retrying",
        "controller-start-experiment-failed",
    ),
    (
        "app-a/seldon-envoy-x/envoy",
        "[2025-10-20 09:14:03.120][1][warning][config] [source/common/config/grpc_subscription_"
        "impl.cc:128] gRPC config for type.googleapis.com/envoy.config.listener.v3.Listener "
        "rejected: Error adding/updating listener(s) seldon_mirrors: Didn't find a registered "
        "implementation for 'envoy.filters.http.router' with type URL: ''",
        "envoy-listener-rejected",
    ),
]

BENIGN = [
    f'{T} level=info msg="Starting xDS envoy server on port 9002 with secure: false"',
    f'{T} level=info msg="Scheduler is ready"',
    f'{T} level=info msg="Load model iris:1 success" Name=AgentServiceManager',
    f'{T} level=info msg="Call subscribe to scheduler" Name=AgentServiceManager',
]


def _scenario(name: str) -> Snapshot:
    folder = FIXTURES / "clusters" / name
    meta = yaml.safe_load((folder / "scenario.yaml").read_text())
    inputs = case_inputs(folder)
    inputs.envoy_dumps = [
        f"{ns}={folder / path}" for ns, path in (meta.get("envoy_dumps") or {}).items()
    ]
    return collect_files(inputs)


def _json(snapshot: Snapshot) -> dict:  # type: ignore[type-arg]
    report = run_checks(build_graph(snapshot))
    return json.loads(get_renderer("json")(report, RenderOptions(exit_code=1)))  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("key", "line", "pattern"), LINES, ids=[f"{p}-{i}" for i, (_, _, p) in enumerate(LINES)]
)
def test_each_reference_line_matches_its_pattern(key: str, line: str, pattern: str) -> None:
    matches = match_logs({key: [line]})
    assert [m.pattern for m in matches] == [pattern]


def test_every_pattern_is_exercised_and_supports_checks() -> None:
    assert {p for _, _, p in LINES} == {p.id for p in LOG_PATTERNS}
    assert all(p.supports and p.meaning for p in LOG_PATTERNS)


def test_benign_lines_match_nothing() -> None:
    assert match_logs({AGENT: BENIGN, SCHEDULER_A: BENIGN}) == []


def test_fields_and_line_numbers() -> None:
    lines = [line for key, line, _ in LINES if key == SCHEDULER_A]
    matches = match_logs({SCHEDULER_A: ["noise", *lines]})
    first = matches[0]
    assert (first.namespace, first.pod, first.container, first.line) == (
        "app-a",
        "seldon-scheduler-0",
        "scheduler",
        2,
    )
    assert first.subject == "log app-a/seldon-scheduler-0/scheduler:2"
    by_pattern: dict[str, list[LogMatch]] = {}
    for match in matches:
        by_pattern.setdefault(match.pattern, []).append(match)
    agents = by_pattern["scheduler-agent-subscribed"]
    assert [(m.field("server"), m.field("replica")) for m in agents] == [
        ("mlserver-a", "0"),
        ("mlserver-a", "1"),
    ]
    failed = by_pattern["scheduler-schedule-failed"]
    assert {m.field("model") for m in failed} == {"fraud-score"}
    rejecting = by_pattern["scheduler-rejecting-server"][0]
    assert rejecting.field("filter") == "ServerRequirementsFilter"
    assert rejecting.checks == ("SD102",)  # narrowed by the filter name
    assert match_logs({AGENT: [LINES[8][1]]})[0].field("model") == "iris"


def test_component_restricts_patterns() -> None:
    # An Envoy never says "Scheduler not ready"; an unknown container is searched with all.
    line = 'level=error msg="Scheduler not ready"'
    assert match_logs({"ns/seldon-envoy-x/envoy": [line]}) == []
    assert [m.pattern for m in match_logs({"ns/p/other": [line]})] == ["agent-scheduler-not-ready"]


def test_scrubbing() -> None:
    line = (
        'level=error msg="Scheduler not ready" token=abc123 password="hunter 2" '
        "uri=s3://minio:s3cr3t@minio.local/models Authorization: Bearer eyJhbGciOi.xyz "
        "key AKIAIOSFODNN7EXAMPLE"
    )
    match = match_logs({AGENT: [line]})[0]
    for secret in ("abc123", "hunter", "s3cr3t", "eyJhbGciOi", "AKIAIOSFODNN7EXAMPLE"):
        assert secret not in match.text
    assert REDACTED in match.text
    assert 'msg="Scheduler not ready"' in match.text
    assert (
        scrub('msg="Subscribed to scheduler" Name=Client')
        == 'msg="Subscribed to scheduler" Name=Client'
    )


def test_long_lines_are_truncated() -> None:
    line = 'level=error msg="Scheduler not ready" error="' + "x" * 500 + '"'
    assert len(match_logs({AGENT: [line]})[0].text) <= 200


def test_select_by_check_namespace_and_subject() -> None:
    logs = {
        SCHEDULER_A: [
            'msg="Failed to schedule model as no matching servers are available" model=a',
            'msg="Failed to schedule model as no matching servers are available" model=b',
        ],
        "app-a/mlserver-a-0/agent": ['msg="Scheduler not ready"'],
        "app-a/other-0/agent": ['msg="Scheduler not ready"'],
    }
    matches = match_logs(logs)
    assert {m.field("model") for m in select(matches, "SD105", subjects=["a"])} == {"a"}
    assert select(matches, "SD605") == []
    near = select(matches, "SD201", namespaces=["app-a"], subjects=["mlserver-a"])
    assert {m.pod for m in near} == {"mlserver-a-0"}


def test_targets_from_a_scenario() -> None:
    targets = log_targets(_scenario("central-scheduler-split-brain"))
    got = {
        (t.namespace, t.pod.split("-")[0] if "envoy" in t.pod else t.pod, t.container, t.component)
        for t in targets
    }
    assert ("app-a", "seldon-scheduler-0", "scheduler", "scheduler") in got
    assert ("seldon-mesh", "seldon-scheduler-0", "scheduler", "scheduler") in got
    assert ("app-a", "mlserver-a-0", "agent", "agent") in got
    assert ("app-a", "seldon", "envoy", "envoy") in got
    controllers = [t for t in targets if t.component == "controller"]
    assert [(t.namespace, t.container) for t in controllers] == [("seldon-system", "manager")]
    assert all(t.key == f"{t.namespace}/{t.pod}/{t.container}" for t in targets)


def test_split_brain_finding_carries_scheduler_logs() -> None:
    snapshot = _scenario("central-scheduler-split-brain")
    snapshot.logs = {
        SCHEDULER_MESH: [
            f'{T} level=info msg="Received control-plane subscribe request from seldon manager"',
            f'{T} level=info msg="Received agent subscribe request from mlserver-a:0"',
            f'{T} level=info msg="Received agent subscribe request from mlserver-b:0"',
        ],
        SCHEDULER_A: [
            f'{T} level=info msg="Received control-plane subscribe request from seldon manager"',
        ],
        "app-b/mlserver-b-0/agent": [f'{T} level=error msg="Scheduler not ready"'],
    }
    report = _json(snapshot)
    sd501 = [f for f in report["findings"] if f["id"] == "SD501"]
    assert sd501
    logs = [e for e in sd501[0]["evidence"] if e["subject"].startswith("log ")]
    subjects = {e["subject"] for e in logs}
    assert "log seldon-mesh/seldon-scheduler-0/scheduler:2" in subjects  # mlserver-a's agent
    assert "log app-a/seldon-scheduler-0/scheduler:1" in subjects  # the controller
    assert "log seldon-mesh/seldon-scheduler-0/scheduler:3" not in subjects  # app-b's server
    assert all(e["field"].startswith("scheduler-") for e in logs)
    assert all(e["value"] and e["note"] for e in logs)


def test_listener_rejected_finding_carries_envoy_log() -> None:
    snapshot = collect_files(case_inputs(FIXTURES / "checks" / "SD605" / "fires"))
    rejected = next(line for _, line, p in LINES if p == "envoy-listener-rejected")
    snapshot.logs = {"shop/seldon-envoy-abc/envoy": ["starting", rejected, rejected]}
    report = _json(snapshot)
    sd605 = [f for f in report["findings"] if f["id"] == "SD605"]
    assert sd605
    ev = [e for e in sd605[0]["evidence"] if e["subject"].startswith("log ")]
    assert [e["subject"] for e in ev] == ["log shop/seldon-envoy-abc/envoy:3"]
    assert ev[0]["field"] == "envoy-listener-rejected"
    assert "2 such lines" in ev[0]["note"]


def test_evidence_is_limited_with_a_count() -> None:
    snapshot = _scenario("capability-mismatch")
    line = (
        f'{T} level=warning msg="Failed to schedule model as no matching servers are available" '
        "model=fraud-detector"
    )
    schedulers = sorted(t.key for t in log_targets(snapshot) if t.component == "scheduler")
    assert schedulers
    snapshot.logs = {
        schedulers[0]: [line] * 4,
        **{f"fraud/mlserver-{i}/agent": ['msg="Scheduler not ready"'] for i in range(5)},
    }
    report = _json(snapshot)
    sd102 = [f for f in report["findings"] if f["id"] == "SD102"]
    ev = [e for e in sd102[0]["evidence"] if e["subject"].startswith("log")]
    # One entry per container and pattern (its latest line), agents' lines are not SD102's.
    assert [(e["subject"], e["field"]) for e in ev] == [
        (f"log {schedulers[0]}:4", "scheduler-schedule-failed")
    ]
    assert "4 such lines" in ev[0]["note"]


def test_evidence_limit_says_how_many_more() -> None:
    logs = {f"fraud/mlserver-{i}/agent": ['msg="Scheduler not ready"'] * 2 for i in range(5)}
    shown = evidence(select(match_logs(logs), "SD201"), limit=3)
    assert [e.subject for e in shown[:3]] == [
        "log fraud/mlserver-2/agent:2",
        "log fraud/mlserver-3/agent:2",
        "log fraud/mlserver-4/agent:2",
    ]
    assert shown[3].subject == "log" and shown[3].note == "and 4 more matching log lines"


def test_healthy_scenario_with_benign_logs_is_unchanged() -> None:
    snapshot = _scenario("central-scheduler-healthy")
    before = _json(snapshot)
    snapshot.logs = {
        t.key: [*BENIGN, f'{T} level=info msg="Subscribed to scheduler" Name=AgentServiceManager']
        for t in log_targets(snapshot)
    }
    assert _json(snapshot) == before


def test_no_logs_no_log_evidence() -> None:
    graph = build_graph(_scenario("central-scheduler-split-brain"))
    assert graph.log_evidence("SD501", "app-a") == []
    assert graph.snapshot.logs == {}


def test_matching_is_fast() -> None:
    import time

    lines = [
        f'{T} level=info msg="Load model m{i}:1 success" Name=AgentServiceManager'
        for i in range(5000)
    ]
    start = time.perf_counter()
    assert match_logs({AGENT: lines}) == []
    assert time.perf_counter() - start < 1.0  # ~0.05 s unloaded


def test_reference_strings_are_quoted_in_the_reference() -> None:
    reference = shared_path("reference")
    text = "".join(p.read_text() for p in reference.glob("*.md"))
    for needle in (
        "Subscribed to scheduler",
        "Scheduler not ready",
        "Received control-plane subscribe request from seldon manager",
        "Received agent subscribe request from",
        "Received subscribe request from",
        "rejected: Error adding/updating listener(s)",
        "Failed to load model, sending error to scheduler",
        "failed waiting to check if pod's IP is published to endpoints",
        "Rclone not ready",
        "StartExperiment failed, retrying",
    ):
        assert needle in text, needle


def test_controllers_overlap_finding_carries_reconciler_errors() -> None:
    snapshot = collect_files(case_inputs(FIXTURES / "checks" / "SD506" / "fires.yaml"))
    line = next(line for _, line, p in LINES if p == "controller-reconciler-error")
    snapshot.logs = {"team-b/seldon-v2-controller-manager-abc/manager": ["started", line]}
    report = _json(snapshot)
    sd506 = [f for f in report["findings"] if f["id"] == "SD506"]
    assert sd506
    ev = [e for f in sd506 for e in f["evidence"] if e["subject"].startswith("log ")]
    assert ev and ev[0]["field"] == "controller-reconciler-error"
    assert ev[0]["subject"] == "log team-b/seldon-v2-controller-manager-abc/manager:2"


def test_name_collision_finding_carries_the_shared_schedulers_lines() -> None:
    snapshot = collect_files(case_inputs(FIXTURES / "checks" / "SD512" / "fires.yaml"))
    # Both namespaces' Servers named mlserver register as the same server with the scheduler.
    snapshot.logs = {
        "seldon-central/seldon-scheduler-0/scheduler": [
            f'{T} level=info msg="Received agent subscribe request from mlserver:0"',
            f'{T} level=info msg="Received agent subscribe request from mlserver:0"',
        ]
    }
    report = _json(snapshot)
    servers = [
        f for f in report["findings"] if f["id"] == "SD512" and f["resource"]["kind"] == "Server"
    ]
    assert len(servers) == 2
    for finding in servers:
        ev = [e for e in finding["evidence"] if e["subject"].startswith("log ")]
        assert ev and ev[0]["field"] == "scheduler-agent-subscribed", finding["evidence"]
        assert "2 such lines" in ev[0]["note"]
