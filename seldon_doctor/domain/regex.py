"""Regular expressions that come from input, evaluated with RE2 semantics in linear time.

The API server checks a CRD's ``pattern`` with Go's ``regexp`` (RE2 syntax) and Envoy evaluates
``safe_regex`` with Google RE2: both are linear-time engines that refuse backreferences and
lookaround. Python's ``re`` backtracks, so an input pattern such as ``(a+)+$`` against a
41-character value runs for hours. Every pattern read from input goes through here instead:

* :func:`compile_re2` gives a :class:`Re2Pattern`, or ``None`` when RE2 refuses the pattern
  (the API server and Envoy refuse it too: a CRD with it is rejected, Envoy NACKs the route).
* :func:`re2_fullmatch` / :func:`re2_search` answer ``True``/``False``, or ``None`` for a
  pattern RE2 refuses.

The engine is the ``google-re2`` binding (a dependency). Where it cannot be imported, a
fallback on ``re`` refuses what RE2 refuses (backreferences, lookaround, conditionals, atomic
groups, possessive quantifiers) and, since ``re`` still backtracks, also refuses nested
unbounded quantifiers (``(a+)+``), alternation under an unbounded quantifier (``(a|a)*``) and
values longer than :data:`MAX_FALLBACK_VALUE`; it answers ``None`` rather than risk a hang.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Protocol

# Patterns longer than this are refused (RE2 bounds its program size too; real ones are short).
MAX_PATTERN_LENGTH = 16 * 1024
# Fallback engine only: values longer than this are not matched (answer None).
MAX_FALLBACK_VALUE = 1024


@functools.cache
def _engine() -> tuple[Any, Any] | None:
    """The RE2 binding and its options, imported on the first pattern (most scans have none,
    and the import is a few milliseconds of every start-up); None without google-re2."""
    try:  # pragma: no branch - which engine is installed decides
        import re2  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:  # pragma: no cover - google-re2 is a dependency
        return None
    options: Any = re2.Options()
    options.log_errors = False  # a refused pattern is an answer here, not a log line
    return re2, options


class Re2Pattern(Protocol):
    """What callers use of a compiled pattern (both engines' objects have it)."""

    def fullmatch(self, value: str) -> Any: ...

    def search(self, value: str) -> Any: ...


@functools.lru_cache(maxsize=1024)
def compile_re2(pattern: str) -> Re2Pattern | None:
    """``pattern`` compiled with RE2 semantics, or ``None`` when RE2 would refuse it."""
    if not isinstance(pattern, str) or len(pattern) > MAX_PATTERN_LENGTH:
        return None
    engine = _engine()
    if engine is not None:
        try:
            compiled: Re2Pattern = engine[0].compile(pattern, options=engine[1])
        except Exception:  # re2.error, and TypeError/ValueError for odd input
            return None
        return compiled
    return _fallback_compile(pattern)


def re2_fullmatch(pattern: str, value: str) -> bool | None:
    """Whether all of ``value`` matches ``pattern`` (Envoy ``safe_regex``); ``None`` if RE2
    refuses the pattern."""
    compiled = compile_re2(pattern)
    if compiled is None or (len(value) > MAX_FALLBACK_VALUE and _engine() is None):
        return None
    return compiled.fullmatch(value) is not None


def re2_search(pattern: str, value: str) -> bool | None:
    """Whether ``pattern`` matches somewhere in ``value`` (OpenAPI ``pattern``, unanchored);
    ``None`` if RE2 refuses the pattern."""
    compiled = compile_re2(pattern)
    if compiled is None or (len(value) > MAX_FALLBACK_VALUE and _engine() is None):
        return None
    return compiled.search(value) is not None


# ----------------------------------------------------------------------------- fallback


def _fallback_compile(pattern: str) -> Re2Pattern | None:
    from re import _parser  # type: ignore[attr-defined]

    try:
        tree = _parser.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return None
    if not _fallback_safe(tree, _parser, 0):
        return None
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return None


_REFUSED = {"GROUPREF", "GROUPREF_EXISTS", "ASSERT", "ASSERT_NOT", "ATOMIC_GROUP"}
_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}


def _fallback_safe(tree: Any, parser: Any, unbounded_above: int) -> bool:
    """No construct RE2 refuses, and no unbounded repeat inside another (catastrophic
    backtracking); ``unbounded_above`` counts the enclosing unbounded repeats."""
    for op, arg in tree:
        name = str(op)
        if name in _REFUSED or name == "POSSESSIVE_REPEAT":
            return False
        if name in _REPEATS:
            _low, high, body = arg
            unbounded = high == parser.MAXREPEAT or high > 1000
            if unbounded and unbounded_above:
                return False
            if not _fallback_safe(body, parser, unbounded_above + (1 if unbounded else 0)):
                return False
        elif name == "SUBPATTERN":
            if not _fallback_safe(arg[-1], parser, unbounded_above):
                return False
        elif name == "BRANCH":
            if unbounded_above:  # (a|a)* backtracks exponentially
                return False
            if not all(_fallback_safe(branch, parser, unbounded_above) for branch in arg[1]):
                return False
    return True
