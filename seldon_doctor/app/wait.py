"""``scan --wait``: re-read a live cluster until its transient states settle."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from seldon_doctor.findings import counted

if TYPE_CHECKING:
    from seldon_doctor.snapshot import Snapshot


def wait_seconds(value: str) -> float:
    """``--wait``: ``90``, ``90s``, ``5m``, ``1h``, ``500ms`` -> seconds (the message is
    click's for a bad parameter value, as every other duration flag's)."""
    from seldon_doctor.domain import durations
    from seldon_doctor.errors import RequestError

    try:
        seconds = durations.parse_duration(value)
    except ValueError:
        raise RequestError(f"Invalid value: {value!r} is not a duration (e.g. 90s, 5m)") from None
    if seconds < 0:
        raise RequestError(f"Invalid value: {value!r} is negative")
    return seconds


def wait_until_settled(
    snapshots: dict[str, Snapshot],
    read: Callable[[], dict[str, Snapshot]],
    seconds: float,
    note: Callable[[str], None],
) -> dict[str, Snapshot]:
    """Re-read until no transient state is left or ``seconds`` have passed.

    Re-reads every tenth of the wait (0.5 s to 5 s apart): often enough to end soon after the
    rollout settles, rarely enough not to load the API server.
    """
    interval = min(5.0, max(0.5, seconds / 10))
    from seldon_doctor.settle import transient_states

    deadline = time.monotonic() + seconds
    while True:
        settling = [s for snap in snapshots.values() for s in transient_states(snap)]
        left = deadline - time.monotonic()
        if not settling:
            return snapshots
        if left <= 0:
            message = (
                f"--wait ended after {seconds:g} s with {counted(len(settling), 'object')} still "
                f"settling (e.g. {settling[0]}); judged as they were"
            )
            for snapshot in snapshots.values():  # reaches every report's warnings (JSON too)
                if transient_states(snapshot):
                    snapshot.warnings.append(message)
            note(f"note: {message}")
            return snapshots
        note(f"waiting: {counted(len(settling), 'object')} settling, e.g. {settling[0]}")
        time.sleep(min(interval, left))
        snapshots = read()
