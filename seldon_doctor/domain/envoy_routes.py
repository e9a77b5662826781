"""Envoy route matching: which route a request would take (or Envoy's 404, ``NR``).

:func:`route_matches` and :func:`find_route` follow Envoy: virtual host by domain precedence
(exact, then longest ``*suffix``, then longest ``prefix*``, then ``*``), then the first route
whose path specifier and all header matchers match. A virtual host without routes is invisible
here (the model only carries routes); header ``range_match`` (kind ``"other"``) never matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from seldon_doctor.domain.envoy_config import EnvoyConfig, EnvoyRoute, HeaderMatcher
from seldon_doctor.domain.regex import re2_fullmatch

__all__ = [
    "INTERNAL_HEADER",
    "MAIN_LISTENER",
    "MAIN_ROUTE_CONFIG",
    "cluster_target",
    "find_route",
    "main_routes",
    "request_path",
    "route_matches",
    "route_target",
]


# Seldon's Envoy layout (scheduler xDS naming): every inference request enters through the
# listener ``seldon_http`` (port 9000), whose route configuration is ``listener_0``.
MAIN_LISTENER = "seldon_http"
MAIN_ROUTE_CONFIG = "listener_0"


def request_path(kind: str, name: str) -> str:
    """The Open Inference Protocol path a client would use for a Model, Experiment or Pipeline."""
    if kind == "Pipeline":
        return f"/v2/pipelines/{name}/infer"
    return f"/v2/models/{name}/infer"


INTERNAL_HEADER = "seldon-internal-model"
_VERSIONED = re.compile(r"^(?P<name>.+)_(?P<version>\d+)$")
_CLUSTER = re.compile(r"^(?P<name>.+)_(?P<version>\d+)_(?:http|grpc)$")


def route_target(route: Any) -> tuple[str, str] | None:
    """(kind, name) a Seldon route serves, from its ``seldon-model`` exact matcher."""
    for matcher in route.headers:
        if matcher.name == "seldon-model" and matcher.kind == "exact" and matcher.value:
            value = str(matcher.value)
            if value.endswith(".experiment"):
                return "Experiment", value[: -len(".experiment")]
            if value.endswith(".pipeline"):
                return "Pipeline", value[: -len(".pipeline")]
            return "Model", value
    return None


def cluster_target(cluster: Any) -> str:
    """The Model/Pipeline a weighted cluster sends to: its ``seldon-internal-model`` header
    (``<model>_<version>`` or ``<pipeline>.pipeline``), else the cluster name's pattern."""
    name = str(cluster.name)
    for key, raw in cluster.request_headers_to_add:
        value = str(raw)
        if str(key).lower() == INTERNAL_HEADER and value:
            if value.endswith(".pipeline"):
                return value[: -len(".pipeline")]
            match = _VERSIONED.match(value)
            return match.group("name") if match else value
    match = _CLUSTER.match(name)
    if match:
        return match.group("name")
    for suffix in ("_pipeline_http", "_pipeline_grpc"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def main_routes(config: Any) -> tuple[Any, ...]:
    """Routes of the route configs listener ``seldon_http`` uses (``listener_0``)."""
    return tuple(config.routes_for_listener(MAIN_LISTENER))


def _domain_rank(domain: str, host: str) -> tuple[int, int] | None:
    """Envoy's virtual-host precedence: (class, length); lower class wins, longer wins."""
    d = domain.lower()
    if d == "*":
        return (3, 0)
    if d == host:
        return (0, len(d))
    if d.startswith("*") and len(host) > len(d) - 1 and host.endswith(d[1:]):
        return (1, len(d))
    if d.endswith("*") and len(host) > len(d) - 1 and host.startswith(d[:-1]):
        return (2, len(d))
    return None


def _best_domain_rank(domains: Iterable[str], authority: str) -> tuple[int, int] | None:
    if authority == "*":
        return (3, 0)
    host = authority.lower()
    ranks = [r for d in domains if (r := _domain_rank(d, host)) is not None]
    if not ranks:
        return None
    return min(ranks, key=lambda r: (r[0], -r[1]))


def _path_matches(route: EnvoyRoute, path: str) -> bool:
    bare = path.split("?", 1)[0].split("#", 1)[0]
    if route.prefix is not None:
        if route.case_sensitive:
            return path.startswith(route.prefix)
        return path.lower().startswith(route.prefix.lower())
    if route.path is not None:
        if route.case_sensitive:
            return bare == route.path
        return bare.lower() == route.path.lower()
    if route.regex is not None:
        # Envoy's safe_regex is RE2: a pattern RE2 refuses matches nothing (Envoy rejects it).
        return re2_fullmatch(route.regex, bare) is True
    if route.path_separated_prefix is not None:
        psp = route.path_separated_prefix
        return bare == psp or bare.startswith(psp.rstrip("/") + "/")
    return False


def _header_matches(m: HeaderMatcher, headers: Mapping[str, str]) -> bool:
    value = headers.get(m.name)
    if value is None:
        # Envoy: a missing header only satisfies "absent", or "present" when inverted.
        return (m.kind == "absent" and not m.invert) or (m.kind == "present" and m.invert)
    result: bool
    if m.kind == "present":
        result = True
    elif m.kind in ("absent", "other") or m.value is None:
        result = False
    elif m.kind == "regex":
        result = re2_fullmatch(m.value, value) is True
    else:
        have, want = (value.lower(), m.value.lower()) if m.ignore_case else (value, m.value)
        if m.kind == "exact":
            result = have == want
        elif m.kind == "prefix":
            result = have.startswith(want)
        elif m.kind == "suffix":
            result = have.endswith(want)
        else:
            result = want in have
    return result != m.invert


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def route_matches(
    route: EnvoyRoute, path: str, headers: Mapping[str, str], authority: str = "*"
) -> bool:
    """Whether a request would match ``route`` (domains, path specifier, all header matchers).

    ``authority="*"`` means "any host" and skips the domain check. Header names are compared
    case-insensitively, values case-sensitively unless the matcher has ``ignore_case``.
    """
    if _best_domain_rank(route.domains, authority) is None:
        return False
    if not _path_matches(route, path):
        return False
    lowered = _lower_headers(headers)
    return all(_header_matches(m, lowered) for m in route.headers)


def find_route(
    config: EnvoyConfig, listener_name: str, path: str, headers: Mapping[str, str]
) -> EnvoyRoute | None:
    """The route Envoy would pick on ``listener_name``, or None (Envoy's 404 / ``NR``).

    The virtual host is chosen by the ``:authority`` (or ``host``) header with Envoy's domain
    precedence; without either header the first virtual host is used. Within it the first
    route whose path and headers match wins.
    """
    lowered = _lower_headers(headers)
    authority = lowered.get(":authority") or lowered.get("host") or "*"
    routes = config.routes_for_listener(listener_name)
    # Group by (route config, virtual host) preserving order.
    groups: dict[tuple[str, str], list[EnvoyRoute]] = {}
    for r in routes:
        groups.setdefault((r.route_config, r.virtual_host), []).append(r)
    for rc_name in dict.fromkeys(r.route_config for r in routes):
        best: tuple[tuple[int, int], list[EnvoyRoute]] | None = None
        for (rc, _vh), vh_routes in groups.items():
            if rc != rc_name:
                continue
            rank = _best_domain_rank(vh_routes[0].domains, authority)
            if rank is not None and (
                best is None or (rank[0], -rank[1]) < (best[0][0], -best[0][1])
            ):
                best = (rank, vh_routes)
        if best is None:
            continue
        for r in best[1]:
            if _path_matches(r, path) and all(_header_matches(m, lowered) for m in r.headers):
                return r
        return None
    return None
