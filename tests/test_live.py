"""Live mode: the real ``kubernetes`` client against the HTTP API server double.

What the issue asks to prove: a live scan gives the file-mode findings for the same objects;
requests grow with kinds and pages, not namespaces; only read verbs are sent (no Secrets, no
per-object GETs, no watches); a 403 on one kind leaves every other finding intact; faults
(429/5xx, truncated bodies, resets, hangs) become retries or gaps within the deadline.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from seldon_doctor.cli import cli
from tests.conftest import FIXTURES
from tests.kube_api_double import Fault, KubeApiDouble, write_kubeconfig

SCENARIOS = sorted(p.parent for p in (FIXTURES / "clusters").glob("*/scenario.yaml"))
READ_VERBS = {"GET"}


def _envoy_args(folder: Path) -> list[str]:
    meta = yaml.safe_load((folder / "scenario.yaml").read_text())
    args = []
    for ns, path in (meta.get("envoy_dumps") or {}).items():
        args += ["--envoy-config-dump", f"{ns}={folder / path}"]
    return args


def _scan(args: list[str]) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(cli, ["scan", "-o", "json", "--quiet", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    try:
        data = json.loads(result.stdout)
    except ValueError:
        data = {}
    return result.exit_code, data, result.stderr


# A live scan knows the time, so SD105 says how long a Model has been progressing; from files
# it cannot (the input's own newest timestamp is its clock). That sentence is all that differs.
_AGE = re.compile(r" (It has been \w+ for \d+ minutes|If this persists)[^.]*\.")


def _comparable(report: dict[str, Any]) -> list[tuple[str, ...]]:
    """What a finding says, without where it was read from (file:line vs cluster)."""
    out = []
    for f in report["findings"]:
        res = f["resource"]
        message = _AGE.sub("", f["message"])
        out.append((f["id"], res["kind"], res["namespace"], res["name"], message))
    return sorted(out)


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Iterator[Any]:
    doubles: list[KubeApiDouble] = []

    def make(double: KubeApiDouble, **contexts: KubeApiDouble) -> str:
        started = [double, *contexts.values()]
        for d in started:
            d.start()
            doubles.append(d)
        path = tmp_path / "kubeconfig"
        write_kubeconfig(path, contexts or double)
        return str(path)

    yield make
    for double in doubles:
        double.stop()


@pytest.mark.parametrize("folder", SCENARIOS, ids=lambda p: p.name)
def test_live_scan_reproduces_file_mode_findings(folder: Path, kubeconfig: Any) -> None:
    double = KubeApiDouble.from_paths([folder], name="scenario")
    config = kubeconfig(double)
    file_code, file_report, _ = _scan(["-f", str(folder), *_envoy_args(folder)])
    live_code, live_report, err = _scan(["--kubeconfig", config, *_envoy_args(folder)])
    assert live_code == file_code, err
    assert _comparable(live_report) == _comparable(file_report)
    assert live_report["summary"]["mode"] == "observed" or "mode" not in live_report["summary"]
    # Every finding names the cluster it came from.
    assert all(f["resource"].get("cluster") == "scenario" for f in live_report["findings"])
    methods = {r.method for r in double.requests}
    assert methods <= READ_VERBS, methods
    resources = {r.resource for r in double.requests}
    assert "secrets" not in resources and "configmaps" not in resources
    assert not [r for r in double.requests if r.verb in ("get", "watch", "write")], (
        "per-object GETs, watches or writes were sent"
    )


def _estate_objects(namespaces: int) -> list[dict[str, Any]]:
    """A small multi-namespace cluster: a runtime's Services plus a Server/Model per namespace."""
    objects: list[dict[str, Any]] = []
    for i in range(namespaces):
        ns = f"team-{i:03d}"
        objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        objects.append(
            {
                "apiVersion": "mlops.seldon.io/v1alpha1",
                "kind": "Model",
                "metadata": {"name": f"m{i}", "namespace": ns},
                "spec": {"storageUri": "gs://x", "requirements": ["sklearn"]},
            }
        )
    return objects


def test_requests_grow_with_kinds_and_pages_not_namespaces(kubeconfig: Any) -> None:
    small = KubeApiDouble(_estate_objects(5), name="small")
    big = KubeApiDouble(_estate_objects(200), name="big")
    config = kubeconfig(small, small=small, big=big)
    _scan(["--kubeconfig", config, "--context", "small"])
    _scan(["--kubeconfig", config, "--context", "big"])
    lists_small = [r for r in small.requests if r.verb == "list"]
    lists_big = [r for r in big.requests if r.verb == "list"]
    # 200 models and 200 namespaces fit one 500-item page: exactly one LIST per kind either way.
    assert len(lists_small) == len(lists_big)
    assert len({r.path for r in lists_big}) == len(lists_big)
    assert not any("/namespaces/" in r.path for r in lists_big)


def test_pagination_follows_continue_tokens(kubeconfig: Any) -> None:
    double = KubeApiDouble(_estate_objects(30), name="paged", page_size_cap=7)
    config = kubeconfig(double)
    code, report, err = _scan(["--kubeconfig", config])
    assert code in (0, 1), err
    model_lists = [r for r in double.requests if r.resource == "models" and r.verb == "list"]
    assert len(model_lists) == 5  # 30 models, 7 per page
    assert sum(1 for r in model_lists if "continue" in r.query) == 4
    assert report["summary"]["objects"] == 60 if "objects" in report["summary"] else True


def test_forbidden_kind_leaves_every_other_finding_intact(kubeconfig: Any) -> None:
    folder = FIXTURES / "clusters" / "central-scheduler-split-brain"
    full = KubeApiDouble.from_paths([folder], name="full")
    denied = KubeApiDouble.from_paths([folder], name="denied", forbidden={"networkpolicies"})
    config = kubeconfig(full, full=full, denied=denied)
    _, whole, _ = _scan(["--kubeconfig", config, "--context", "full", *_envoy_args(folder)])
    code, partial, _ = _scan(["--kubeconfig", config, "--context", "denied", *_envoy_args(folder)])
    gaps = partial["gaps"]
    assert [g["what"] for g in gaps] == ["kind:NetworkPolicy"]
    assert "forbidden" in gaps[0]["reason"]
    # Exactly the checks that need NetworkPolicies from a live cluster say why they did not run.
    from seldon_doctor.checks import ALL_CHECKS
    from seldon_doctor.live_kinds import live_reads

    netpol_checks = {c.id for c in ALL_CHECKS if "NetworkPolicy" in live_reads(c)}
    blocked = {
        f["message"].split()[0]
        for f in partial["not_evaluated"]
        if "could not read NetworkPolicy" in f["message"]
    }
    assert blocked == netpol_checks == {"SD509"}
    assert "cluster scope" in gaps[0]["reason"]  # the cluster-wide refusal, not a namespace's
    # Every finding of a check that does not read NetworkPolicy is still there.
    kept = [f for f in _comparable(whole) if f[0] not in netpol_checks]
    assert kept and set(kept) <= set(_comparable(partial))
    assert code == 1  # errors were still found; the partial scan says so in the summary
    assert partial["summary"]["gaps"] == 1


def test_cluster_wide_forbidden_falls_back_to_per_namespace_lists(kubeconfig: Any) -> None:
    folder = FIXTURES / "clusters" / "central-scheduler-healthy"
    double = KubeApiDouble.from_paths(
        [folder], name="scoped", cluster_scope_forbidden={"pods", "services"}
    )
    config = kubeconfig(double)
    file_code, file_report, _ = _scan(["-f", str(folder), *_envoy_args(folder)])
    code, report, err = _scan(["--kubeconfig", config, *_envoy_args(folder)])
    assert code == file_code, err
    assert _comparable(report) == _comparable(file_report)
    assert report["gaps"] == []
    per_ns = [r for r in double.requests if r.resource == "pods" and r.namespace]
    namespaces = {r.namespace for r in per_ns}
    assert len(per_ns) == len(namespaces) > 1


def test_a_refused_kind_waits_for_the_namespace_list_read_alongside_it(kubeconfig: Any) -> None:
    # The Namespace LIST runs with the other kinds; one refused cluster-wide needs its
    # names: here the Namespace LIST is retried after two 503s (and so ends last), and pods
    # are still read namespace by namespace.
    folder = FIXTURES / "clusters" / "central-scheduler-healthy"
    double = KubeApiDouble.from_paths(
        [folder],
        name="slow-namespaces",
        cluster_scope_forbidden={"pods"},
        faults=[Fault(plural="namespaces", status=503, times=2)],
    )
    code, report, err = _scan(["--kubeconfig", kubeconfig(double)])
    assert code in (0, 1), err
    assert report["gaps"] == []
    per_ns = {r.namespace for r in double.requests if r.resource == "pods" and r.namespace}
    assert len(per_ns) > 1


def test_with_namespaces_unreadable_a_refused_kind_is_a_gap_without_waiting(
    kubeconfig: Any,
) -> None:
    folder = FIXTURES / "clusters" / "central-scheduler-healthy"
    double = KubeApiDouble.from_paths(
        [folder], name="no-namespaces", forbidden={"namespaces"}, cluster_scope_forbidden={"pods"}
    )
    started = time.monotonic()
    _code, report, err = _scan(["--kubeconfig", kubeconfig(double), "--timeout", "60"])
    # Bounded far below --timeout: nothing waits for a Namespace list that will never come.
    assert time.monotonic() - started < 30, err
    assert {g["what"] for g in report["gaps"]} >= {"kind:Pod"}
    assert not [g for g in report["gaps"] if "deadline" in g["reason"]]


def test_retries_429_and_5xx_then_succeeds(kubeconfig: Any) -> None:
    folder = FIXTURES / "clusters" / "central-scheduler-split-brain"
    double = KubeApiDouble.from_paths(
        [folder],
        name="flaky",
        faults=[
            Fault(plural="models", status=429, times=2, retry_after=0.05),
            Fault(plural="services", status=503, times=1),
        ],
    )
    config = kubeconfig(double)
    _, file_report, _ = _scan(["-f", str(folder), *_envoy_args(folder)])
    _, report, _ = _scan(["--kubeconfig", config, *_envoy_args(folder)])
    assert report["gaps"] == [], report["gaps"]
    assert _comparable(report) == _comparable(file_report)
    statuses = [r.status for r in double.requests if r.resource == "models"]
    assert statuses[:3] == [429, 429, 200]


@pytest.mark.parametrize("fault", ["truncate", "reset"])
def test_garbage_mid_list_is_a_gap_not_a_crash(kubeconfig: Any, fault: str) -> None:
    folder = FIXTURES / "clusters" / "central-scheduler-healthy"
    double = KubeApiDouble.from_paths([folder], name="broken", **{fault: {"endpoints"}})
    config = kubeconfig(double)
    code, report, err = _scan(["--kubeconfig", config])
    assert code in (1, 3), err
    whats = [g["what"] for g in report["gaps"]]
    assert whats == ["kind:Endpoints"], report["gaps"]
    attempts = [r for r in double.requests if r.resource == "endpoints"]
    assert 1 < len(attempts) <= 4  # retried, boundedly


def test_timeout_is_a_real_deadline(kubeconfig: Any) -> None:
    folder = FIXTURES / "clusters" / "central-scheduler-healthy"
    double = KubeApiDouble.from_paths([folder], name="hung", hang={"statefulsets"})
    config = kubeconfig(double)
    started = time.monotonic()
    code, report, err = _scan(["--kubeconfig", config, "--timeout", "1.5"])
    elapsed = time.monotonic() - started
    assert elapsed < 5.0, elapsed
    assert code in (1, 3), err
    gap = next(g for g in report["gaps"] if g["what"] == "kind:StatefulSet")
    assert "deadline" in gap["reason"] or "timed out" in gap["reason"]
    assert report["summary"]["gaps"] >= 1


def test_missing_seldon_crds_are_gaps(kubeconfig: Any) -> None:
    folder = FIXTURES / "clusters" / "central-scheduler-healthy"
    double = KubeApiDouble.from_paths([folder], name="nocrd", crds_installed=False)
    config = kubeconfig(double)
    code, report, _ = _scan(["--kubeconfig", config])
    assert code == 3
    whats = {g["what"] for g in report["gaps"]}
    assert {"kind:Model", "kind:Server", "kind:SeldonRuntime"} <= whats
    assert all("mlops.seldon.io" in g["reason"] for g in report["gaps"])


def test_unreachable_api_server_is_a_gap_with_exit_3(tmp_path: Path) -> None:
    double = KubeApiDouble([], name="gone")
    double.start()
    config = write_kubeconfig(tmp_path / "kubeconfig", double)
    double.stop()
    started = time.monotonic()
    code, report, err = _scan(["--kubeconfig", str(config), "--timeout", "5"])
    assert time.monotonic() - started < 8
    assert code == 3, err
    assert any(g["what"] == "cluster:gone" for g in report["gaps"])


def test_several_contexts_are_scanned_concurrently_and_findings_name_their_cluster(
    kubeconfig: Any,
) -> None:
    broken = KubeApiDouble.from_paths(
        [FIXTURES / "clusters" / "capability-mismatch"], name="prod", latency=0.05
    )
    healthy = KubeApiDouble.from_paths(
        [FIXTURES / "clusters" / "dedicated-mlserver-healthy"], name="staging", latency=0.05
    )
    config = kubeconfig(broken, prod=broken, staging=healthy)
    code, report, err = _scan(["--kubeconfig", config, "--context", "prod", "--context", "staging"])
    assert code == 1, err
    clusters = {f["resource"].get("cluster") for f in report["findings"]}
    assert clusters == {"prod"}
    _, report_all, _ = _scan(["--kubeconfig", config, "--all-contexts"])
    assert _comparable(report_all) == _comparable(report)


def test_unknown_context_and_bad_kubeconfig_are_one_line_errors(
    kubeconfig: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_cli import run

    config = kubeconfig(KubeApiDouble([], name="only"))
    code, out, err = run(capsys, "scan", "--kubeconfig", config, "--context", "nope")
    assert code == 2 and out == ""
    assert "no context nope" in err and len(err.strip().splitlines()) == 1
    bad = tmp_path / "bad"
    bad.write_text("clusters: [1, 2\n")
    code, out, err = run(capsys, "scan", "--kubeconfig", str(bad))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    code, _, err = run(capsys, "scan", "--kubeconfig", str(tmp_path / "absent"))
    assert code == 2 and "no kubeconfig" in err


def test_namespace_scope_judges_what_the_namespace_depends_on(kubeconfig: Any) -> None:
    # Scope closure: app-a's split brain is only visible with the schedulers in seldon-mesh,
    # so -n lists cluster-wide (as many requests as an unscoped scan) and narrows the report.
    folder = FIXTURES / "clusters" / "central-scheduler-split-brain"
    double = KubeApiDouble.from_paths([folder], name="scoped")
    config = kubeconfig(double)
    _, whole, _ = _scan(["--kubeconfig", config, *_envoy_args(folder)])
    unscoped = len(double.requests)
    code, report, err = _scan(["--kubeconfig", config, "-n", "app-a", *_envoy_args(folder)])
    assert code == 1, err
    scoped = double.requests[unscoped:]
    assert len(scoped) == unscoped  # 2 discovery + one LIST per kind, either way
    assert not [r for r in scoped if r.verb == "list" and r.namespace]
    found = {(f["id"], f["resource"]["namespace"]) for f in report["findings"]}
    assert ("SD501", "app-a") in found and ("SD601", "app-a") in found
    # app-a depends on seldon-mesh (its agents' scheduler): findings there are reported too;
    # nothing about a namespace app-a does not lead to.
    assert {ns for _, ns in found} <= {"app-a", "seldon-mesh", ""}
    left = len(whole["findings"]) - len(report["findings"])
    assert left == 0 or any("not reported" in w for w in report["warnings"])


def test_namespace_scope_falls_back_to_its_namespaces_when_cluster_lists_are_forbidden(
    kubeconfig: Any,
) -> None:
    folder = FIXTURES / "clusters" / "central-scheduler-split-brain"
    double = KubeApiDouble.from_paths(
        [folder], name="scoped", cluster_scope_forbidden={"pods", "services"}
    )
    config = kubeconfig(double)
    code, report, err = _scan(["--kubeconfig", config, "-n", "app-a"])
    assert code in (0, 1, 3), err
    per_ns = [r for r in double.requests if r.verb == "list" and r.namespace]
    assert per_ns and {r.namespace for r in per_ns} == {"app-a"}
    # Findings stay within what was read; nothing claims seldon-mesh objects are missing.
    assert all(f["resource"]["namespace"] in ("app-a", "") for f in report["findings"])


def test_logs_are_read_only_when_asked(kubeconfig: Any) -> None:
    folder = FIXTURES / "clusters" / "central-scheduler-split-brain"
    line = (
        'time="2026-12-01T10:00:00Z" level=info msg="Received control-plane subscribe request '
        'from seldon manager" func=SubscribeControlPlane'
    )
    double = KubeApiDouble.from_paths(
        [folder], name="logs", logs={("app-a", "seldon-scheduler-0", "scheduler"): line}
    )
    config = kubeconfig(double)
    _scan(["--kubeconfig", config, *_envoy_args(folder)])
    assert not [r for r in double.requests if r.resource == "pods/log"]
    _, report, _ = _scan(["--kubeconfig", config, "--logs", *_envoy_args(folder)])
    log_reads = [r for r in double.requests if r.resource == "pods/log"]
    assert log_reads and all(r.method == "GET" for r in log_reads)
    assert all(r.query.get("tailLines") for r in log_reads)
    evidence = [
        e for f in report["findings"] for e in f["evidence"] if e["subject"].startswith("log ")
    ]
    assert evidence, "the scheduler's log line should be evidence for a finding"


def test_snapshot_round_trips_byte_for_byte(
    kubeconfig: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_cli import run

    folder = FIXTURES / "clusters" / "central-scheduler-split-brain"
    line = 'time="2026-12-01T10:00:00Z" level=info msg="Subscribed to scheduler" token=abc123secret'
    double = KubeApiDouble.from_paths(
        [folder], name="prod", logs={("app-a", "mlserver-a-0", "agent"): line}
    )
    config = kubeconfig(double)
    for target in (tmp_path / "bundle", tmp_path / "bundle.tar.gz"):
        code, _, err = run(capsys, "snapshot", "--kubeconfig", config, "--logs", "-o", str(target))
        assert code == 0, err
        assert "wrote" in err
        # The clock of age-based checks is the capture time, recorded in the bundle; a live
        # scan at the same instant says the same (its own capture time differs by a second
        # at most, so compare on what does not depend on the minute).
        _, offline, _ = _scan(["--snapshot", str(target)])
        _, again, _ = _scan(["--snapshot", str(target)])
        assert json.dumps(offline, sort_keys=True) == json.dumps(again, sort_keys=True)
        _, live, _ = _scan(["--kubeconfig", config, "--logs"])
        strip = lambda r: {k: v for k, v in r.items() if k != "summary"}  # noqa: E731
        assert _comparable(offline) == _comparable(live)
        assert strip(offline)["gaps"] == strip(live)["gaps"]
        bundle_bytes = (
            b"".join(p.read_bytes() for p in sorted(target.rglob("*")) if p.is_file())
            if target.is_dir()
            else target.read_bytes()
        )
        assert b"abc123secret" not in bundle_bytes


def test_snapshot_of_a_partial_read_exits_3(
    kubeconfig: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_cli import run

    folder = FIXTURES / "clusters" / "central-scheduler-healthy"
    double = KubeApiDouble.from_paths([folder], name="p", forbidden={"networkpolicies"})
    config = kubeconfig(double)
    code, _, err = run(capsys, "snapshot", "--kubeconfig", config, "-o", str(tmp_path / "b"))
    assert code == 3 and "partial" in err
    _, report, _ = _scan(["--snapshot", str(tmp_path / "b")])
    assert [g["what"] for g in report["gaps"]] == ["kind:NetworkPolicy"]


def _first_model(folder: Path) -> dict[str, Any]:
    from seldon_doctor.sources.files import load_paths

    return next(o.body for o in load_paths([str(folder)]).objects if o.kind == "Model")


def _progressing(body: dict[str, Any]) -> dict[str, Any]:
    model = json.loads(json.dumps(body))
    model["status"]["conditions"] = [
        {"type": t, "status": "False", "message": "ModelProgressing", "reason": "loading"}
        for t in ("ModelReady", "Ready")
    ]
    return model


def test_wait_rereads_until_transient_states_settle(kubeconfig: Any) -> None:
    import threading

    folder = FIXTURES / "clusters" / "central-scheduler-healthy"
    double = KubeApiDouble.from_paths([folder], name="rollout")
    model = _first_model(folder)
    double.put(_progressing(model))
    config = kubeconfig(double)
    stop = threading.Event()

    def settle_after_first_read() -> None:
        # Settle only once the progressing Model was seen: a fixed delay raced a slow first read.
        while not stop.wait(0.05):
            if any(r.resource == "models" for r in double.requests):
                double.put(model)
                return

    thread = threading.Thread(target=settle_after_first_read, daemon=True)
    thread.start()
    try:
        code, report, err = _scan(["--kubeconfig", config, "--wait", "20s"])
    finally:
        stop.set()
        thread.join()
    assert "waiting: 1 object settling" in err or err == "", err
    assert code == 0, report["findings"]
    assert report["findings"] == []
    lists = [r for r in double.requests if r.resource == "models"]
    assert len(lists) >= 2  # read again after the first look


def test_wait_judges_when_the_duration_ends(kubeconfig: Any) -> None:
    folder = FIXTURES / "clusters" / "central-scheduler-healthy"
    double = KubeApiDouble.from_paths([folder], name="stuck")
    model = _first_model(folder)
    double.put(_progressing(model))
    config = kubeconfig(double)
    started = time.monotonic()
    result = CliRunner().invoke(
        cli, ["scan", "--kubeconfig", config, "--wait", "1.5s", "-o", "json"]
    )
    assert time.monotonic() - started < 8
    assert "still settling" in result.stderr
    report = json.loads(result.stdout)
    assert report["findings"], "a Model still progressing after the wait is judged"
    assert any("--wait ended after 1.5 s" in w for w in report["warnings"])


def test_one_live_read_and_its_bundle_give_the_same_report_bytes(
    kubeconfig: Any, tmp_path: Path
) -> None:
    """The same read, judged live and from its bundle: identical JSON, byte for byte."""
    from seldon_doctor.bundle import meta_from_live, read_bundle_clusters, write_bundle
    from seldon_doctor.engine import run_checks, tag_cluster
    from seldon_doctor.graph.build import build_graph
    from seldon_doctor.render import RenderOptions, get_renderer
    from seldon_doctor.sources.live import LiveOptions, collect_live

    folder = FIXTURES / "clusters" / "central-scheduler-dangling-alias"
    config = kubeconfig(KubeApiDouble.from_paths([folder], name="prod", forbidden={"pods/log"}))
    scan = collect_live(LiveOptions(kubeconfig=config, logs=True))

    def report_bytes(snapshots: dict[str, Any]) -> str:
        ((name, snapshot),) = snapshots.items()
        report = tag_cluster(run_checks(build_graph(snapshot)), name)
        return get_renderer("json")(report, RenderOptions(exit_code=1, show_plan=True))

    live = report_bytes(scan.snapshots)
    assert "SD105" in live and "It has been ModelProgressing" in live  # the age sentence
    for target in (tmp_path / "dir", tmp_path / "b.tar.gz"):
        write_bundle(scan.snapshots, target, meta=meta_from_live(scan.clusters, created="x"))
        assert report_bytes(read_bundle_clusters(target)) == live


def test_progress_shows_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    from seldon_doctor.app.live import progress_display

    with progress_display(quiet=False) as update:  # stderr is not a TTY under pytest
        assert update is None
    terminal = io.StringIO()
    terminal.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_display(quiet=True) as update:
        assert update is None
    with progress_display(quiet=False) as update:
        assert update is not None
        update("prod", "Model", 0, "reading")
        update("prod", "Model", 500, "reading")
        update("prod", "Model", 731, "done")
        update("prod", "Pod", 0, "failed")
    shown = terminal.getvalue()
    assert "prod: Model" in shown and "731" in shown and "not read" in shown


def test_metrics_of_several_clusters_keep_them_apart(kubeconfig: Any) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    prod = KubeApiDouble.from_paths([FIXTURES / "clusters" / "capability-mismatch"], name="prod")
    staging = KubeApiDouble.from_paths(
        [FIXTURES / "clusters" / "capability-mismatch"], name="staging"
    )
    config = kubeconfig(prod, prod=prod, staging=staging)
    result = CliRunner().invoke(
        cli, ["scan", "--kubeconfig", config, "--all-contexts", "-q", "-o", "prometheus"]
    )
    assert result.exit_code == 1, result.stderr
    families = {f.name: f for f in text_string_to_metric_families(result.stdout)}
    samples = families["seldon_doctor_findings"].samples
    sd102 = {s.labels["cluster"]: s.value for s in samples if s.labels["check"] == "SD102"}
    assert sd102 == {"prod": 1.0, "staging": 1.0}


def test_refused_credentials_are_one_cluster_gap(kubeconfig: Any) -> None:
    good = KubeApiDouble.from_paths([FIXTURES / "clusters" / "capability-mismatch"], name="good")
    stale = KubeApiDouble([], name="stale")
    config = kubeconfig(good, good=good, stale=stale)
    stale.token = "rotated"  # the kubeconfig's token no longer works there
    code, report, _ = _scan(["--kubeconfig", config, "--all-contexts"])
    assert code == 1  # the good cluster's findings still count
    gaps = [g for g in report["gaps"] if g["what"] == "cluster:stale"]
    assert gaps and "refused the credentials" in gaps[0]["reason"] and "401" in gaps[0]["reason"]
    assert len([r for r in stale.requests if r.status == 401]) == 1  # no retries, no lists


def test_kubeconfig_env_with_several_files_is_merged(
    kubeconfig: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = KubeApiDouble.from_paths([FIXTURES / "clusters" / "capability-mismatch"], name="a")
    second = KubeApiDouble([], name="b")
    first.start()
    second.start()
    try:
        path_a = write_kubeconfig(tmp_path / "a.yaml", first)
        path_b = write_kubeconfig(tmp_path / "b.yaml", second)
        monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing.yaml'}:{path_a}:{path_b}")
        code, report, err = _scan(["--context", "b"])
        assert code == 0 and report["findings"] == [], err
        code, report, _ = _scan(["--context", "a"])
        assert code == 1 and report["findings"]
    finally:
        first.stop()
        second.stop()


def test_built_in_kinds_read_live_skip_the_shape_walk_custom_resources_keep_it(
    kubeconfig: Any,
) -> None:
    from seldon_doctor.app.live import live_request, read_clusters

    experiment = {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Experiment",
        "metadata": {"name": "e", "namespace": "app-a"},
        "spec": {"candidates": [{"name": "a", "weight": 50}, 3]},
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s", "namespace": "app-a"},
        "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]},
    }
    objects = [*_estate_objects(2), experiment, service]
    config = kubeconfig(KubeApiDouble(objects, name="typed"))
    live = read_clusters(live_request(kubeconfig=config, quiet=True))
    (snapshot,) = live.snapshots.values()
    typed = {o.kind for o in snapshot.objects if o.origin.typed}
    untyped = {o.kind for o in snapshot.objects if not o.origin.typed}
    # kube-apiserver decodes built-in kinds into Go structs: their shape is right already.
    assert typed == {"Namespace", "Service"}
    assert untyped == {"Model", "Experiment"}
    # A custom resource's wrong container is still dropped, with its note.
    _, report, _ = _scan(["--kubeconfig", config])
    assert [w for w in report["warnings"] if w.startswith("Experiment app-a/e: ")], report


def _experiment_crd(spec_schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "experiments.mlops.seldon.io"},
        "spec": {
            "group": "mlops.seldon.io",
            "names": {"kind": "Experiment", "plural": "experiments", "singular": "experiment"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {"spec": spec_schema, "status": {"type": "object"}},
                        }
                    },
                }
            ],
        },
    }


_CANDIDATES = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "weight": {"type": "integer"}},
    },
}


@pytest.mark.parametrize(
    ("spec_schema", "typed"),
    [
        # Every field the walk visits is typed as it expects: the server has checked them all.
        (
            {
                "type": "object",
                "properties": {
                    "default": {"type": "string"},
                    "candidates": _CANDIDATES,
                    "mirror": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}, "percent": {"type": "integer"}},
                    },
                },
            },
            True,
        ),
        # The spec keeps unknown fields: what comes back under it is unchecked.
        ({"type": "object", "x-kubernetes-preserve-unknown-fields": True}, False),
    ],
)
def test_custom_resources_skip_the_shape_walk_only_when_their_crd_schema_guarantees_it(
    kubeconfig: Any, spec_schema: dict[str, Any], typed: bool
) -> None:
    from seldon_doctor.app.live import live_request, read_clusters

    experiment = {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Experiment",
        "metadata": {"name": "e", "namespace": "app-a"},
        "spec": {"default": "a", "candidates": [{"name": "a", "weight": 50}]},
    }
    objects = [*_estate_objects(1), experiment, _experiment_crd(spec_schema)]
    config = kubeconfig(KubeApiDouble(objects, name="crd-schema"))
    live = read_clusters(live_request(kubeconfig=config, quiet=True))
    (snapshot,) = live.snapshots.values()
    assert {o.origin.typed for o in snapshot.objects if o.kind == "Experiment"} == {typed}
    # Models' CRD is synthesized without a schema by the double: they keep the walk.
    assert {o.origin.typed for o in snapshot.objects if o.kind == "Model"} == {False}
