"""Walk Envoy protojson dicts: field access in both spellings, routes and endpoints.

Internal to :mod:`seldon_doctor.domain.envoy_parse` (which documents the input shapes). Every
lookup tries the proto (snake_case) name and then its protojson (camelCase) name; nothing is
rewritten, so map keys that are data are never touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from seldon_doctor.domain.envoy_config import EnvoyRoute, HeaderMatcher, WeightedCluster

_MIRROR_DENOMINATORS = {"HUNDRED": 1, "TEN_THOUSAND": 100, "MILLION": 10_000}


# --------------------------------------------------------------------------------------------
# Key access accepting snake_case and camelCase.


class _CamelNames(dict[str, str]):
    """snake_case field name -> protojson camelCase name, computed once per name."""

    def __missing__(self, key: str) -> str:
        head, *rest = key.split("_")
        camel = head + "".join(part[:1].upper() + part[1:] for part in rest)
        self[key] = camel
        return camel


_CAMEL = _CamelNames()
# Shared empty results; never mutated.
_NO_DICT: dict[str, Any] = {}
_NO_LIST: list[Any] = []


def _get(obj: dict[str, Any], key: str) -> Any:
    value = obj.get(key)
    if value is None:
        value = obj.get(_CAMEL[key])
    return value


def _dict(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    if value is None:
        value = obj.get(_CAMEL[key])
    return value if isinstance(value, dict) else _NO_DICT


def _list(obj: dict[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        value = obj.get(_CAMEL[key])
    return value if isinstance(value, list) else _NO_LIST


def _dicts(obj: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = obj.get(key)
    if value is None:
        value = obj.get(_CAMEL[key])
    if not isinstance(value, list):
        return _NO_LIST
    return [item for item in value if isinstance(item, dict)]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):  # protojson writes 64-bit integers as strings
        try:
            return int(value)
        except ValueError:
            return None
    if isinstance(value, dict):  # google.protobuf.UInt32Value written as a message
        return _int(value.get("value"))
    return None


def _bool(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _socket_address(address: dict[str, Any]) -> tuple[str | None, int | None]:
    sock = _dict(address, "socket_address")
    if sock:
        return _str(_get(sock, "address")), _int(_get(sock, "port_value"))
    pipe = _dict(address, "pipe")
    if pipe:
        return _str(_get(pipe, "path")), None
    return None, None


def _endpoints(load_assignment: dict[str, Any]) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for locality in _dicts(load_assignment, "endpoints"):
        for lb in _dicts(locality, "lb_endpoints"):
            host, port = _socket_address(_dict(_dict(lb, "endpoint"), "address"))
            if host is not None and port is not None:
                out.append((host, port))
    return out


def _header_pairs(items: Iterable[Any]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        header = _dict(item, "header")
        key = _str(header.get("key"))
        if key is not None:
            value = header.get("value")
            if value is None:
                value = _get(header, "raw_value")
            out.append((key, value if isinstance(value, str) else ""))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Routes (dict walk: the big section).

_STRING_KINDS = ("exact", "prefix", "suffix", "contains")


def _string_matcher(sm: dict[str, Any]) -> tuple[str, str | None, bool]:
    ignore_case = _bool(_get(sm, "ignore_case"))
    for kind in _STRING_KINDS:
        value = sm.get(kind)
        if value is not None:
            return kind, str(value), ignore_case
    regex = _dict(sm, "safe_regex")
    if regex:
        return "regex", _str(regex.get("regex")), ignore_case
    return "other", ",".join(sorted(str(k) for k in sm)) or None, ignore_case


def _header_matcher(hm: dict[str, Any]) -> HeaderMatcher:
    name = str(hm.get("name", "")).lower()
    invert = _bool(_get(hm, "invert_match"))
    sm = _get(hm, "string_match")
    if isinstance(sm, dict):
        kind, value, ignore_case = _string_matcher(sm)
        return HeaderMatcher(name, kind, value, invert, ignore_case)
    present = _get(hm, "present_match")
    if present is not None:
        return HeaderMatcher(name, "present" if _bool(present) else "absent", None, invert)
    for kind in _STRING_KINDS:
        value = _get(hm, kind + "_match")
        if value is not None:
            return HeaderMatcher(name, kind, str(value), invert)
    regex = _dict(hm, "safe_regex_match")
    if regex:
        return HeaderMatcher(name, "regex", _str(regex.get("regex")), invert)
    rng = _dict(hm, "range_match")
    if rng:
        value = f"[{_int(rng.get('start'))},{_int(rng.get('end'))})"
        return HeaderMatcher(name, "other", value, invert)
    # Envoy treats a matcher without a specifier as "header is present".
    return HeaderMatcher(name, "present", None, invert)


def _mirror_percent(policy: dict[str, Any]) -> int:
    fraction = _dict(_dict(policy, "runtime_fraction"), "default_value")
    if not _dict(policy, "runtime_fraction"):
        return 100
    numerator = _int(fraction.get("numerator")) or 0
    denominator = fraction.get("denominator", "HUNDRED")
    divisor = _MIRROR_DENOMINATORS.get(str(denominator), 1)
    if isinstance(denominator, int):
        divisor = {0: 1, 1: 100, 2: 10_000}.get(denominator, 1)
    return numerator // divisor


def _weighted(wc: dict[str, Any]) -> WeightedCluster:
    weight = wc.get("weight")
    req = wc.get("request_headers_to_add") or wc.get("requestHeadersToAdd")
    resp = wc.get("response_headers_to_add") or wc.get("responseHeadersToAdd")
    return WeightedCluster(
        str(wc.get("name", "")),
        weight if type(weight) is int else (_int(weight) or 0),
        _header_pairs(req) if isinstance(req, list) else (),
        _header_pairs(resp) if isinstance(resp, list) else (),
    )


def _route(r: dict[str, Any], rc_name: str, vh_name: str, domains: tuple[str, ...]) -> EnvoyRoute:
    match = _dict(r, "match")
    headers = tuple([_header_matcher(h) for h in _dicts(match, "headers")])
    action = _dict(r, "route")
    clusters: tuple[WeightedCluster, ...] = ()
    mirrors: tuple[tuple[str, int], ...] = ()
    if action:
        single = action.get("cluster")
        if isinstance(single, str):
            clusters = (WeightedCluster(single, 100),)
        else:
            clusters = tuple(
                [_weighted(wc) for wc in _dicts(_dict(action, "weighted_clusters"), "clusters")]
            )
        policies = _dicts(action, "request_mirror_policies")
        single_policy = _dict(action, "request_mirror_policy")
        if single_policy:
            policies = [*policies, single_policy]
        if policies:
            mirrors = tuple(
                [
                    (c, _mirror_percent(p))
                    for p in policies
                    if isinstance(c := p.get("cluster"), str)
                ]
            )
    regex = _dict(match, "safe_regex")
    case_sensitive = match.get("case_sensitive", match.get("caseSensitive", True))
    psp = _get(match, "path_separated_prefix")
    # `route`, `redirect` and `direct_response` are one oneof: a route action rules out the rest.
    direct = _dict(r, "direct_response") if "route" not in r else _NO_DICT
    return EnvoyRoute(
        str(r.get("name", "")),
        rc_name,
        vh_name,
        domains,
        _str(match.get("prefix")),
        _str(match.get("path")),
        _str(regex.get("regex")) if regex else None,
        headers,
        clusters,
        mirrors,
        _int(direct.get("status")) if direct else None,
        case_sensitive is not False,
        _str(psp),
    )


def _route_config(rc: dict[str, Any], fallback_name: str = "") -> tuple[str, list[EnvoyRoute]]:
    name = _str(rc.get("name")) or fallback_name
    routes: list[EnvoyRoute] = []
    for vh in _dicts(rc, "virtual_hosts"):
        vh_name = str(vh.get("name", ""))
        domains = tuple(str(d) for d in _list(vh, "domains"))
        routes.extend(_route(r, name, vh_name, domains) for r in _dicts(vh, "routes"))
    return name, routes
