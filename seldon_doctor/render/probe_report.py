"""The ``seldon-doctor probe`` report: terminal text, JSON and Prometheus figures."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from seldon_doctor.domain.oip import OK
from seldon_doctor.domain.probe_stats import SplitAnalysis, analyse_split, histogram

if TYPE_CHECKING:
    from seldon_doctor.domain.oip import ProbeRun
    from seldon_doctor.findings import Finding
    from seldon_doctor.snapshot import ProbeObservation

BAR = 40


def split_of(obs: ProbeObservation) -> SplitAnalysis | None:
    """The split analysis an Experiment's probe calls for (None for Models and Pipelines)."""
    if obs.kind != "Experiment":
        return None
    return analyse_split(obs.routes, obs.configured_weights)


def _counts(counts: dict[str, int]) -> str:
    return "  ".join(f"{k} ×{v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))


def _latency_lines(obs: ProbeObservation, run: ProbeRun) -> list[str]:
    """Latency of the successful requests, the SLO verdict and a histogram."""
    out: list[str] = []
    lat = obs.latency_ms
    if not lat and obs.slo_p95_ms is not None:
        out.append(
            f"  latency    SLO p95 ≤ {obs.slo_p95_ms:g} ms: not measured (no successful request)"
        )
    if lat:
        slo = ""
        if obs.slo_p95_ms is not None:
            state = "met" if lat["p95"] <= obs.slo_p95_ms else "BREACHED"
            slo = f"   SLO p95 ≤ {obs.slo_p95_ms:g} ms: {state}"
        out.append(
            "  latency    "
            + "  ".join(f"{k} {lat[k]:.1f}" for k in ("min", "p50", "p95", "p99", "max"))
            + " ms"
            + slo
        )
        buckets = histogram(run.latencies_ms(only_ok=True))
        top = max(count for _, _, count in buckets) or 1
        for low, high, count in buckets:
            bar = "#" * max(1 if count else 0, round(BAR * count / top))
            out.append(f"  {low:9.1f} – {high:8.1f} ms | {bar:<{BAR}} {count}")
    return out


def render_text(run: ProbeRun, obs: ProbeObservation, findings: Sequence[Finding] = ()) -> str:
    settings = run.settings
    lines: list[str] = []
    proto = "gRPC" if settings.grpc else "REST"
    lines.append(
        f"Probe {run.target.label()} via {settings.endpoint} ({proto}, seldon-model: "
        f"{run.target.seldon_model})"
    )
    rate = obs.requests / obs.duration_s if obs.duration_s else 0.0
    lines.append(
        f"  requests   {obs.requests}/{settings.requests} in {obs.duration_s:.2f} s "
        f"({rate:.1f}/s, concurrency {settings.concurrency}); "
        + (
            "stopped by itself"
            if obs.stopped == "done"
            else f"stopped at the {settings.max_duration:g} s time bound"
        )
    )
    pct = 100.0 * obs.ok / obs.requests if obs.requests else 0.0
    lines.append(f"  success    {obs.ok}/{obs.requests} ({pct:.1f} %)")
    lines.append(f"  statuses   {_counts(obs.statuses)}")
    lines.append(f"  verdicts   {_counts(obs.verdicts)}")
    details: dict[str, str] = {}
    for sample in run.samples:
        if sample.verdict != OK and sample.verdict not in details:
            details[sample.verdict] = sample.detail
    for verdict, detail in sorted(details.items()):
        lines.append(f"             {verdict}: {detail}")
    lines.extend(_latency_lines(obs, run))
    split = split_of(obs)
    if split is not None:
        level = f"{split.confidence * 100:g} %"
        lines.append(f"  split (x-seldon-route, {level} Wilson intervals)")
        for c in split.candidates:
            configured = (
                f"configured {c.configured_weight} ({(c.configured_share or 0) * 100:.1f} %)"
                if c.configured_weight is not None
                else "not configured"
            )
            lines.append(
                f"    {c.name:<20} {c.observed:6d}  {c.share * 100:5.1f} %  "
                f"[{c.low * 100:5.1f} – {c.high * 100:5.1f}]  {configured}"
            )
        if split.method == "chi-square" and split.p_value is not None:
            lines.append(f"    chi-square {split.statistic:g}, p = {split.p_value:.3g}")
        lines.append(f"  {split.verdict()}")
    elif obs.routes:
        lines.append(f"  served by  {_counts({f':{k}:': v for k, v in obs.routes.items()})}")
    if obs.versions:
        expected = f" (expected {obs.expected_version})" if obs.expected_version else ""
        lines.append(f"  versions   model_version {_counts(obs.versions)}{expected}")
    if findings:
        lines.append("Findings")
        for finding in findings:
            lines.append(
                f"  {finding.severity.value:<7} {finding.check_id} {finding.slug}: "
                f"{finding.message}"
            )
    else:
        lines.append("Findings: none (SD801-SD804 passed)")
    return "\n".join(lines) + "\n"


def probe_dict(obs: ProbeObservation, findings: Iterable[Finding] = ()) -> dict[str, Any]:
    from seldon_doctor.snapshot import observation_dict

    out: dict[str, Any] = {"observation": observation_dict(obs)}
    out["success_rate"] = round(obs.ok / obs.requests, 6) if obs.requests else None
    split = split_of(obs)
    if split is not None:
        out["split"] = {
            "method": split.method,
            "confidence": split.confidence,
            "total": split.total,
            "consistent": split.consistent,
            "statistic": split.statistic,
            "p_value": split.p_value,
            "unexpected": split.unexpected,
            "verdict": split.verdict(),
            "candidates": [
                {
                    "name": c.name,
                    "observed": c.observed,
                    "share": round(c.share, 6),
                    "interval": [round(c.low, 6), round(c.high, 6)],
                    "configured_weight": c.configured_weight,
                    "configured_share": c.configured_share,
                }
                for c in split.candidates
            ],
        }
    out["findings"] = [
        {
            "id": f.check_id,
            "check": f.slug,
            "severity": f.severity.value,
            "resource": f.resource.as_dict(),
            "message": f.message,
        }
        for f in findings
    ]
    return out


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def metric_lines(observations: Sequence[ProbeObservation]) -> list[str]:
    """Prometheus families for probe figures (gauges, one sample set per target)."""
    if not observations:
        return []
    families: dict[str, tuple[str, list[str]]] = {
        "seldon_doctor_probe_requests": ("Inference requests sent by the last probe.", []),
        "seldon_doctor_probe_success_ratio": ("Share of probe requests answered OK.", []),
        "seldon_doctor_probe_responses": (
            "Probe responses by HTTP status (grpc:CODE for gRPC, error = no answer).",
            [],
        ),
        "seldon_doctor_probe_verdicts": (
            "Probe responses by verdict (ok, envoy_no_route, model_not_loaded, ...).",
            [],
        ),
        "seldon_doctor_probe_latency_ms": ("Probe latency quantiles in milliseconds.", []),
        "seldon_doctor_probe_route_responses": (
            "OK probe responses by the internal model that served them (x-seldon-route).",
            [],
        ),
        "seldon_doctor_probe_split_consistent": (
            "1 when an Experiment's observed split is consistent with its weights, else 0.",
            [],
        ),
        "seldon_doctor_probe_duration_seconds": ("Wall-clock seconds the probe took.", []),
    }

    def add(name: str, labels: list[tuple[str, str]], value: float) -> None:
        inner = ",".join(f'{k}="{_label(v)}"' for k, v in labels)
        families[name][1].append(f"{name}{{{inner}}} {value:g}")

    for obs in observations:
        base = [("kind", obs.kind), ("namespace", obs.namespace), ("name", obs.name)]
        add("seldon_doctor_probe_requests", base, obs.requests)
        if obs.requests:
            add("seldon_doctor_probe_success_ratio", base, round(obs.ok / obs.requests, 6))
        for status, count in sorted(obs.statuses.items()):
            add("seldon_doctor_probe_responses", [*base, ("status", status)], count)
        for verdict, count in sorted(obs.verdicts.items()):
            add("seldon_doctor_probe_verdicts", [*base, ("verdict", verdict)], count)
        for quantile, value in obs.latency_ms.items():
            add("seldon_doctor_probe_latency_ms", [*base, ("quantile", quantile)], value)
        for route, count in sorted(obs.routes.items()):
            add("seldon_doctor_probe_route_responses", [*base, ("route", route)], count)
        split = split_of(obs)
        if split is not None and split.consistent is not None:
            add("seldon_doctor_probe_split_consistent", base, 1 if split.consistent else 0)
        add("seldon_doctor_probe_duration_seconds", base, obs.duration_s)
    lines: list[str] = []
    for name, (help_text, samples) in families.items():
        if samples:
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", *samples]
    return lines
