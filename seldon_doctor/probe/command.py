"""What ``seldon-doctor probe`` and ``scan --probe`` do, kept out of cli.py (imported lazily)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from seldon_doctor.errors import InputError

if TYPE_CHECKING:
    from seldon_doctor.domain.oip import ProbeRun, ProbeSettings
    from seldon_doctor.findings import Finding
    from seldon_doctor.graph.build import DeploymentGraph
    from seldon_doctor.snapshot import ProbeObservation, Snapshot

PROBE_CHECKS = ("SD801", "SD802", "SD803", "SD804")
#: scan --probe: a light probe per target, every target sharing one global pace.
SCAN_REQUESTS = 5
SCAN_RATE = 20.0
SCAN_PARALLEL = 4
#: scan --probe of files without --probe-endpoint: nothing to send the requests to.
NO_ENDPOINT = (
    "no endpoint: give --probe-endpoint URL (seldon-mesh, e.g. after kubectl port-forward "
    "-n {namespace} svc/seldon-mesh 8080:80 use http://127.0.0.1:8080)"
)


def experiment_weights(snapshot: Snapshot | None, namespace: str, name: str) -> dict[str, int]:
    if snapshot is None:
        return {}
    for obj in snapshot.of_kind("Experiment"):
        if obj.namespace == namespace and obj.name == name:
            return {
                str(c["name"]): int(c.get("weight") or 0)
                for c in obj.spec.get("candidates") or []
                if isinstance(c, dict) and c.get("name")
            }
    return {}


def judge(observations: Sequence[ProbeObservation], snapshot: Snapshot | None) -> list[Finding]:
    """Run SD801-SD804 over the observations (with the CRs of ``snapshot`` when given)."""
    from seldon_doctor.engine import run_checks, select_checks
    from seldon_doctor.graph.build import build_graph
    from seldon_doctor.snapshot import Snapshot

    base = snapshot or Snapshot()
    probe_snapshot = Snapshot(objects=list(base.objects), probes=list(observations))
    report = run_checks(build_graph(probe_snapshot), select_checks(PROBE_CHECKS))
    return list(report.findings)


def _live_target(kubeconfig: str | None, context: str | None) -> Any:
    """The kubeconfig target to port-forward through (InputError names --endpoint too)."""
    from seldon_doctor.app.live import live_request, resolve_target

    request = live_request(
        kubeconfig=kubeconfig, contexts=(context,) if context else (), read_kinds=False
    )
    try:
        return resolve_target(request)
    except InputError as exc:
        raise InputError(
            "no endpoint: give --endpoint URL (seldon-mesh), or a cluster whose seldon-mesh "
            f"to reach through an API-server port-forward with --kubeconfig/--context "
            f"({exc.message})"
        ) from None


@contextlib.contextmanager
def live_mesh_endpoint(
    namespace: str, target: Any, graph: DeploymentGraph | None = None
) -> Iterator[str]:
    """``seldon-mesh`` of ``namespace`` through an API-server port-forward to the Envoy pod
    behind it (``sources.dataplane.mesh_endpoint``: the pod ``graph.mesh.mesh_envoy`` picks in
    ``graph``, a live scan's, else in what is read along seldon-mesh's alias chain). Raises
    DataplaneUnavailable when no pod or the port-forward is refused."""
    from seldon_doctor.sources.dataplane import mesh_endpoint
    from seldon_doctor.sources.live import api_client_for

    with mesh_endpoint(namespace, api_client_for(target), graph) as url:
        yield url


def _progress_run(target: Any, settings: ProbeSettings) -> ProbeRun:
    from seldon_doctor.probe.runner import run_probe

    if not sys.stderr.isatty():
        return run_probe(target, settings)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(file=sys.stderr),
        transient=True,
    ) as progress:
        task = progress.add_task(f"probing {target.label()}", total=settings.requests)
        return run_probe(target, settings, on_sample=lambda _s: progress.advance(task))


def probe_command(
    *,
    name: str,
    namespace: str,
    kind: str,
    endpoint: str | None,
    requests: int,
    concurrency: int,
    payload: str | None,
    slo_p95: str | None,
    timeout: float,
    max_duration: float,
    grpc: bool,
    weights: str | None,
    expect_version: str | None,
    max_error_rate: float,
    files: Sequence[str],
    output: str,
    kubeconfig: str | None = None,
    context: str | None = None,
) -> int:
    """Run one probe, print the report; the exit code is 1 when an error finding fired.

    Without ``endpoint`` the requests go through an API-server port-forward to the Envoy pod
    behind ``seldon-mesh`` of ``namespace`` in the cluster of ``kubeconfig``/``context``
    (default: the current context); exit 3 when that cannot be opened.
    """
    from seldon_doctor.clients.errors import DataplaneUnavailable
    from seldon_doctor.domain.oip import ProbeSettings, ProbeTarget
    from seldon_doctor.domain.probe_stats import parse_duration_ms, parse_weights
    from seldon_doctor.probe.runner import observation

    try:
        slo = parse_duration_ms(slo_p95) if slo_p95 else None
        configured = parse_weights(weights) if weights else None
    except ValueError as exc:
        raise InputError(str(exc)) from None
    body = _read_payload(payload)
    snapshot = None
    if files:
        from seldon_doctor.sources.collect import ScanInputs, collect_files

        snapshot = collect_files(ScanInputs(files=files, namespace=namespace))
    target = ProbeTarget(name=name, namespace=namespace, kind=kind)  # type: ignore[arg-type]
    if kind == "experiment" and configured is None:
        configured = experiment_weights(snapshot, namespace, name) or None
    opener: contextlib.AbstractContextManager[str]
    if endpoint:
        opener = contextlib.nullcontext(endpoint)
    else:
        opener = live_mesh_endpoint(namespace, _live_target(kubeconfig, context))
    try:
        with opener as url:
            settings = ProbeSettings(
                endpoint=url,
                requests=requests,
                concurrency=concurrency,
                timeout=timeout,
                max_duration=max_duration,
                payload=body,
                grpc=grpc,
                slo_p95_ms=slo,
                max_error_rate=max_error_rate,
            ).validated()
            run = _progress_run(target, settings)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    except DataplaneUnavailable as exc:
        sys.stderr.write(f"seldon-doctor: probe {name}: {exc.reason}\n")
        return 3
    obs = observation(run, configured_weights=configured, expected_version=expect_version)
    findings = judge([obs], snapshot)
    _print_probe(output, run, obs, findings)
    return 1 if any(f.severity.value == "error" for f in findings) else 0


def _read_payload(payload: str | None) -> bytes | None:
    """The --payload file's bytes (bounded, checked to be JSON), or None without one."""
    body = None
    if payload:
        from seldon_doctor.safeio import MAX_PAYLOAD_BYTES, load_json, read_bounded

        body = read_bounded(payload, MAX_PAYLOAD_BYTES, f"--payload {payload}")
        load_json(body, f"--payload {payload}")
    return body


def _print_probe(
    output: str, run: ProbeRun, obs: ProbeObservation, findings: list[Finding]
) -> None:
    """Print one probe's report as ``output`` (json, prometheus or text)."""
    from seldon_doctor.render import probe_report

    if output == "json":
        import json

        sys.stdout.write(json.dumps(probe_report.probe_dict(obs, findings), indent=2) + "\n")
    elif output == "prometheus":
        sys.stdout.write("\n".join(probe_report.metric_lines([obs])) + "\n")
    else:
        sys.stdout.write(probe_report.render_text(run, obs, findings))


def scan_probes(
    snapshot: Snapshot,
    endpoint: str | None,
    *,
    timeout: float = 5.0,
    live_target: Any = None,
) -> list[ProbeObservation]:
    """``scan --probe``: a light probe for every Ready Model and Experiment in the snapshot.

    Without ``endpoint``, a snapshot read live (``live_target``: the ``sources.live.Target`` it
    was read through) is probed through an API-server port-forward to each namespace's Envoy
    (the pod behind ``seldon-mesh``); a namespace whose Envoy cannot be reached that way is a
    ``probe:<ns>`` gap.
    """
    from seldon_doctor.clients.errors import DataplaneUnavailable
    from seldon_doctor.domain.oip import ProbeSettings, ProbeTarget
    from seldon_doctor.graph.seldon import is_ready
    from seldon_doctor.probe.runner import observation, probe_many
    from seldon_doctor.snapshot import Gap

    targets = [
        ProbeTarget(
            obj.name, obj.namespace or "default", "model" if obj.kind == "Model" else "experiment"
        )
        for obj in snapshot.of_kind("Model", "Experiment")
        if is_ready(obj)
    ]
    if not targets:
        return []
    by_namespace: dict[str, list[ProbeTarget]] = {}
    for target in targets:
        by_namespace.setdefault(target.namespace, []).append(target)
    live = live_target if not endpoint else None
    graph = None
    if live is not None:
        from seldon_doctor.graph.build import build_graph

        graph = build_graph(snapshot)
    out = []
    for namespace, group in sorted(by_namespace.items()):
        opener: contextlib.AbstractContextManager[str]
        if live is not None:
            opener = live_mesh_endpoint(namespace, live, graph)
        elif endpoint:
            opener = contextlib.nullcontext(endpoint)
        else:
            raise InputError(f"scan --probe: {NO_ENDPOINT.format(namespace=namespace)}")
        try:
            with opener as url:
                settings = ProbeSettings(
                    endpoint=url,
                    requests=SCAN_REQUESTS,
                    concurrency=2,
                    timeout=timeout,
                    max_duration=30.0,
                )
                runs = probe_many(group, settings, rate=SCAN_RATE, parallel=SCAN_PARALLEL)
        except ValueError as exc:
            raise InputError(f"scan --probe: {exc}") from None
        except DataplaneUnavailable as exc:
            snapshot.gaps.append(Gap(f"probe:{namespace}", exc.reason, namespace))
            continue
        for run in runs:
            weights = None
            if run.target.kind == "experiment":
                weights = experiment_weights(snapshot, run.target.namespace, run.target.name)
            out.append(observation(run, configured_weights=weights or None))
    return out
