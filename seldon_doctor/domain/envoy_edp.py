"""envoy-data-plane, imported lazily to validate bare xDS listeners (see ``envoy_parse``).

Internal to :mod:`seldon_doctor.domain.envoy_parse`. envoy-data-plane is a data library (message
classes, no I/O), but importing it costs ~1 s, so this module never imports it at import time:
``seldon-doctor --help`` must not pay for it (``tests/test_architecture.py`` allows it in
``domain`` only inside function bodies).
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any

# --------------------------------------------------------------------------------------------
# envoy-data-plane (lazy).

_EDP_STATE: dict[str, Any] = {}


def _edp_import(module: str) -> Any:
    """Import an envoy_data_plane module with its pydantic deprecation noise silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module(module)


def _edp_available(warn: Callable[[str], None]) -> bool:
    ok = _EDP_STATE.get("ok")
    if ok is None:
        try:
            for mod in (
                "envoy_data_plane.envoy.config.core.v3",
                "envoy_data_plane.envoy.config.listener.v3",
                "envoy_data_plane.envoy.extensions.filters.network.http_connection_manager.v3",
            ):
                _edp_import(mod)
            ok = True
        except Exception as exc:  # any import failure: fall back to the dict walker
            _EDP_STATE["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
            ok = False
        _EDP_STATE["ok"] = ok
    if not ok:
        warn(f"envoy-data-plane unavailable ({_EDP_STATE['error']}); used the plain JSON walker")
    return bool(ok)


def _nested_types(obj: Any, out: set[str]) -> None:
    if isinstance(obj, dict):
        t = obj.get("@type")
        if isinstance(t, str):
            out.add(t)
        for value in obj.values():
            if isinstance(value, (dict, list)):
                _nested_types(value, out)
    elif isinstance(obj, list):
        for value in obj:
            if isinstance(value, (dict, list)):
                _nested_types(value, out)


def _without_any(obj: Any) -> Any:
    """A copy of ``obj`` without the ``Any`` values (objects carrying ``@type``) inside it."""
    if isinstance(obj, dict):
        return {
            k: _without_any(v) for k, v in obj.items() if not (isinstance(v, dict) and "@type" in v)
        }
    if isinstance(obj, list):
        return [_without_any(v) for v in obj if not (isinstance(v, dict) and "@type" in v)]
    return obj


def _strip_type(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != "@type"}
