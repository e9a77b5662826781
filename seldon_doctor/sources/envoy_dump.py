"""Read an Envoy admin ``/config_dump`` file and parse it (the I/O around ``domain.envoy_parse``).

The Envoy config model, the parser of decoded dumps and the route matching are pure and live in
:mod:`seldon_doctor.domain.envoy_config`, :mod:`~seldon_doctor.domain.envoy_parse` and
:mod:`~seldon_doctor.domain.envoy_routes`. Importing this module does not import
envoy-data-plane (a test checks it in a subprocess).
"""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

from seldon_doctor.domain.envoy_config import DumpError, EnvoyConfig
from seldon_doctor.domain.envoy_parse import json_kind, parse_config_dump

__all__ = ["DumpError", "load_config_dump"]


def load_config_dump(path: str | Path) -> tuple[dict[str, Any], EnvoyConfig]:
    """Read and parse a ``/config_dump`` file; every failure is a one-line DumpError."""
    from seldon_doctor.errors import InputError
    from seldon_doctor.safeio import MAX_ENVOY_DUMP_BYTES, json_loads, json_problem, read_bounded

    p = Path(path)
    try:
        blob = read_bounded(p, MAX_ENVOY_DUMP_BYTES, str(p))
    except InputError as exc:
        raise DumpError(exc.message) from None
    if not blob.strip():
        raise DumpError(f"{p}: empty file, not an Envoy config dump")
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DumpError(f"{p}: not UTF-8 text (byte {exc.start}); is it binary?") from None
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        raw = json_loads(text)
    except json.JSONDecodeError as exc:
        tail = text.rstrip()
        # A cut-off download ends mid-document: the error sits at the end, or the text does not
        # close its top-level object.
        truncated = exc.pos >= len(tail) or not tail.endswith(("}", "]"))
        hint = " (truncated?)" if truncated else ""
        raise DumpError(
            f"{p}: invalid JSON{hint} at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except (ValueError, RecursionError) as exc:  # 5000-digit integers, Infinity, nesting
        raise DumpError(f"{p}: {json_problem(exc)}") from None
    finally:
        if was_enabled:
            gc.enable()
    if not isinstance(raw, dict):
        raise DumpError(f"{p}: not an Envoy config dump: top level is {json_kind(raw)}")
    try:
        return raw, parse_config_dump(raw)
    except DumpError as exc:
        raise DumpError(f"{p}: {exc}") from None
