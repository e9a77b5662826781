"""Durations (``90s``, ``5m``, ``500ms``) and Kubernetes timestamps (RFC 3339).

One duration parser for every option that takes one (``scan --wait``, ``probe --slo-p95``);
callers choose the unit of a bare number and wrap the ``ValueError`` in their own error type.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

# Milliseconds per unit (integers, so the ratio of two units is one exact division).
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


def parse_duration(value: str, *, unit: str = "s") -> float:
    """``90``, ``90s``, ``5m``, ``1h``, ``500ms`` → a number of ``unit`` (``s`` or ``ms``);
    a bare number is already in ``unit``.

    Raises ValueError for text that is not a duration.
    """
    text = value.strip().lower()
    for suffix in sorted(_UNIT_MS, key=len, reverse=True):
        if text.endswith(suffix):
            number, scale = text[: -len(suffix)], _UNIT_MS[suffix] / _UNIT_MS[unit]
            break
    else:
        number, scale = text, 1.0
    return float(number) * scale


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (or a datetime YAML already parsed) as an aware datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def collect_times(value: Any, out: list[datetime]) -> None:
    """Append every timestamp under ``*Timestamp``/``*Time``/``time`` keys of a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and (key.endswith(("Timestamp", "Time")) or key == "time"):
                parsed = parse_time(item)
                if parsed is not None:
                    out.append(parsed)
            elif isinstance(item, dict | list):
                collect_times(item, out)
    elif isinstance(value, list):
        for item in value:
            collect_times(item, out)
