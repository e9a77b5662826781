"""Near misses: the name a user probably meant (capabilities, fields, Servers, namespaces)."""

from __future__ import annotations

from collections.abc import Sequence


def edit_distance(left: str, right: str, limit: int = 3) -> int:
    """Levenshtein distance, stopping early once it exceeds ``limit``."""
    if abs(len(left) - len(right)) > limit:
        return limit + 1
    previous = list(range(len(right) + 1))
    for i, lch in enumerate(left, 1):
        current = [i]
        for j, rch in enumerate(right, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (lch != rch)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def did_you_mean(word: str, candidates: Sequence[str]) -> str | None:
    """The known field an unknown one was probably meant to be."""
    for candidate in candidates:
        if candidate.casefold() == word.casefold():
            return candidate
    limit = 1 if len(word) <= 4 else 2 if len(word) <= 8 else 3
    best = min(candidates, key=lambda c: (edit_distance(word, c, limit), c), default=None)
    if best is not None and edit_distance(word, best, limit) <= limit:
        return best
    return None
