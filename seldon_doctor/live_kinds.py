"""What the doctor reads from an API server: derived from the checks' declarations.

The live source lists exactly these kinds and ``seldon-doctor rbac`` grants exactly these, so
the two cannot drift apart: both call :func:`kinds_read`.
"""

from __future__ import annotations

from collections.abc import Iterable

from seldon_doctor.checks.base import Check
from seldon_doctor.kinds import KINDS, KindInfo


def live_reads(check: Check | type[Check]) -> frozenset[str]:
    """The kinds ``check`` needs from a live API server (its ``live_reads``, else ``reads``)."""
    declared = getattr(check, "live_reads", None)
    return declared if declared is not None else check.reads


def kinds_read(checks: Iterable[Check | type[Check]] | None = None) -> list[KindInfo]:
    """The kinds to LIST for ``checks`` (default: every registered check), in ``KINDS`` order.

    Namespaces are always read: the graph needs them to tell an absent namespace (a dangling
    alias) from an empty one.
    """
    if checks is None:
        from seldon_doctor.checks import ALL_CHECKS

        checks = ALL_CHECKS
    wanted = {"Namespace"}
    for check in checks:
        wanted |= live_reads(check)
    unknown = wanted - KINDS.keys()
    if unknown:  # a typo in a declaration must fail loudly, not silently read nothing
        raise ValueError(f"checks declare unknown kinds: {', '.join(sorted(unknown))}")
    return [info for kind, info in KINDS.items() if kind in wanted]
