"""Statistics for probe results: quantiles, Wilson intervals, chi-square goodness of fit.

Standard library only (no scipy), so the checks and the CLI can import it cheaply.

The split test asks: are the responses per candidate consistent with the configured weights?

* two candidates: a Wilson score interval for the first candidate's share at the chosen
  confidence; the split is *consistent* when the configured share lies inside it;
* more candidates: Pearson's chi-square goodness-of-fit against the configured shares; the split
  is *consistent* when the p-value is at least ``1 - confidence``.

Each candidate also gets its own Wilson interval for display.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

from seldon_doctor.domain.durations import parse_duration

DEFAULT_CONFIDENCE = 0.99
_VERSIONED = re.compile(r"^(?P<model>.+)_(?P<version>\d+)$")


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile of already sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q * len(sorted_values)))
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


def latency_summary(values_ms: Sequence[float]) -> dict[str, float]:
    """min/p50/p95/p99/max/mean in milliseconds, rounded to 0.01 ms."""
    ordered = sorted(values_ms)
    if not ordered:
        return {}
    out = {
        "min": ordered[0],
        "p50": quantile(ordered, 0.50),
        "p95": quantile(ordered, 0.95),
        "p99": quantile(ordered, 0.99),
        "max": ordered[-1],
        "mean": sum(ordered) / len(ordered),
    }
    return {k: round(float(v), 2) for k, v in out.items()}


def histogram(values: Sequence[float], buckets: int = 10) -> list[tuple[float, float, int]]:
    """``(low, high, count)`` over equal-width buckets between min and max."""
    if not values:
        return []
    low, high = min(values), max(values)
    if high <= low:
        return [(low, high, len(values))]
    width = (high - low) / buckets
    counts = [0] * buckets
    for value in values:
        counts[min(int((value - low) / width), buckets - 1)] += 1
    return [(low + i * width, low + (i + 1) * width, counts[i]) for i in range(buckets)]


def wilson_interval(successes: int, trials: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion."""
    if trials <= 0:
        return (0.0, 1.0)
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def _gamma_q(a: float, x: float) -> float:
    """Regularised upper incomplete gamma Q(a, x) (series / continued fraction)."""
    if x <= 0:
        return 1.0
    gln = math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        ap = a
        for _ in range(1000):
            ap += 1
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(-x + a * math.log(x) - gln))
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return min(1.0, math.exp(-x + a * math.log(x) - gln) * h)


def chi_square_p_value(statistic: float, dof: int) -> float:
    """P(X >= statistic) for a chi-square distribution with ``dof`` degrees of freedom."""
    if dof <= 0:
        return 1.0
    return _gamma_q(dof / 2.0, statistic / 2.0)


def candidate_of(route: str) -> str:
    """``:iris_3:`` / ``iris_3`` → ``iris``; ``:chain.pipeline:`` → ``chain``."""
    value = route.strip().strip(":")
    if value.endswith(".pipeline"):
        return value[: -len(".pipeline")]
    match = _VERSIONED.match(value)
    return match.group("model") if match else value


def version_of(route: str) -> str | None:
    """``:iris_3:`` → ``3`` (None when the name carries no version)."""
    match = _VERSIONED.match(route.strip().strip(":"))
    return match.group("version") if match else None


@dataclass(frozen=True, slots=True)
class CandidateShare:
    name: str
    observed: int
    share: float
    low: float
    high: float
    configured_weight: int | None
    configured_share: float | None


@dataclass(frozen=True, slots=True)
class SplitAnalysis:
    """Observed responses per candidate against the configured weights."""

    candidates: tuple[CandidateShare, ...]
    total: int
    unexpected: dict[str, int] = field(default_factory=dict)  # answered, but no candidate
    confidence: float = DEFAULT_CONFIDENCE
    method: str = "wilson"  # wilson | chi-square | none
    statistic: float | None = None
    p_value: float | None = None
    consistent: bool | None = None  # None: nothing configured, or no responses

    def percentages(self, configured: bool = False) -> str:
        values = [(c.configured_share if configured else c.share) or 0.0 for c in self.candidates]
        return "/".join(f"{round(v * 100):d}" for v in values)

    def verdict(self) -> str:
        """``observed 58/42, configured 70/30: inconsistent at 99 %``."""
        level = f"{self.confidence * 100:g} %"
        names = "/".join(c.name for c in self.candidates)
        if self.total == 0:
            return f"no response named a candidate ({names}); the split cannot be judged"
        observed = f"observed {self.percentages()}"
        if self.consistent is None:
            return f"{observed} ({names}); no configured weights to compare with"
        state = "consistent" if self.consistent else "inconsistent"
        text = f"{observed}, configured {self.percentages(True)} ({names}): {state} at {level}"
        if self.unexpected:
            others = ", ".join(f"{k} ×{v}" for k, v in sorted(self.unexpected.items()))
            text += f"; answers from outside the experiment: {others}"
        return text


def analyse_split(
    routes: Mapping[str, int],
    weights: Mapping[str, int] | None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> SplitAnalysis:
    """Compare responses per internal route (``iris_1`` → ``iris``) with candidate weights."""
    counts: dict[str, int] = {}
    for route, count in routes.items():
        name = candidate_of(route)
        counts[name] = counts.get(name, 0) + count
    configured = {k: int(v) for k, v in (weights or {}).items()}
    weight_total = sum(configured.values())
    names = list(configured) if configured else sorted(counts)
    unexpected = {k: v for k, v in counts.items() if configured and k not in configured}
    total = sum(counts.get(n, 0) for n in names)
    shares = []
    for name in names:
        observed = counts.get(name, 0)
        low, high = wilson_interval(observed, total, confidence)
        shares.append(
            CandidateShare(
                name=name,
                observed=observed,
                share=observed / total if total else 0.0,
                low=low,
                high=high,
                configured_weight=configured.get(name),
                configured_share=(configured[name] / weight_total)
                if name in configured and weight_total
                else None,
            )
        )
    analysis = SplitAnalysis(tuple(shares), total, unexpected, confidence, "none")
    if not configured or not weight_total or total == 0:
        return analysis
    if len(shares) == 2:
        first = shares[0]
        expected = first.configured_share or 0.0
        consistent = first.low <= expected <= first.high and not unexpected
        return SplitAnalysis(
            tuple(shares), total, unexpected, confidence, "wilson", None, None, consistent
        )
    statistic = 0.0
    for share in shares:
        expected_count = (share.configured_share or 0.0) * total
        if expected_count > 0:
            statistic += (share.observed - expected_count) ** 2 / expected_count
        elif share.observed:
            statistic = math.inf
    p_value = 0.0 if math.isinf(statistic) else chi_square_p_value(statistic, len(shares) - 1)
    consistent = p_value >= (1 - confidence) and not unexpected
    return SplitAnalysis(
        tuple(shares),
        total,
        unexpected,
        confidence,
        "chi-square",
        round(statistic, 4),
        p_value,
        consistent,
    )


def parse_weights(text: str) -> dict[str, int]:
    """``a=70,b=30`` → ``{"a": 70, "b": 30}``; ValueError on anything else."""
    out: dict[str, int] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip().isdigit():
            raise ValueError(f"bad weight {part!r} (expected NAME=INTEGER)")
        out[name.strip()] = int(value)
    if not out:
        raise ValueError("no weights given")
    return out


def parse_duration_ms(text: str) -> float:
    """``100ms`` / ``0.25s`` / ``250`` (ms) → milliseconds."""
    try:
        return parse_duration(text, unit="ms")
    except ValueError:
        raise ValueError(f"bad duration {text!r} (e.g. 100ms or 0.25s)") from None
