"""Parse an Envoy admin ``/config_dump`` (and bare xDS resource lists) into plain dataclasses.

What comes in
    * ``/config_dump`` (optionally ``?include_eds``): ``{"configs": [Any, ...]}``. Sections are
      chosen by ``@type``, never by position. Unknown section types are skipped with a warning.
    * Seldon's xDS golden files: bare JSON arrays of ``RouteConfiguration`` / ``Cluster`` (and
      optionally ``Listener``) in camelCase protojson, via :func:`parse_xds_resources`.

Both spellings of every field are accepted (``virtual_hosts`` / ``virtualHosts``): each lookup
tries the proto (snake_case) name and then its protojson (camelCase) name. Nothing is rewritten,
so header values, ``typed_extension_protocol_options`` keys, metadata keys and other map keys that
are data are never touched.

Where envoy-data-plane (PyPI ``envoy-data-plane`` 2.2, betterproto2 + pydantic) is used, and why
    Measured on this shared 2-core machine (figures vary ~2x with load): importing the message
    modules costs 0.4-0.9 s and emits pydantic deprecation warnings (suppressed locally); the
    first ``from_dict`` of a message class adds one-off pydantic schema set-up (``Listener``
    0.07-0.15 s, ``HttpConnectionManager`` ~0.17 s, whole ``Bootstrap`` with its ``extensions``
    list ~0.36 s); an ``Any`` inside a message is packed to bytes and fails with ``TypeError:
    Can't unpack unregistered type`` unless the module of that ``@type`` was imported first.
    For the big sections message construction is far too slow: with the 2,000-route /
    2,000-cluster dump made by ``bench/bench_envoy_dump.py --models 1000``,
    ``RouteConfiguration.from_dict`` took 1.45 s against 0.03-0.06 s for the dict walk,
    ``RoutesConfigDump.from_dict`` (route configs as ``Any``) 9.2 s,
    ``ClustersConfigDump.from_dict`` 4.4 s against 0.01 s, and ``ConfigDump.from_json`` of that
    dump 9.6 s; a 20,000-route dump would take minutes, and one unknown extension (an Istio
    filter) makes the whole ``ConfigDump`` fail. So envoy-data-plane is never imported when this
    module is (a test checks it in a subprocess) and is used, lazily, only where it is cheap:

    * **Bootstrap**: ``node`` (minus its long ``extensions`` list) goes through
      ``core.v3.Node.from_dict`` and ``dynamic_resources.ads_config`` through
      ``ApiConfigSource.from_dict``: node id/cluster, the build version from ``BuildVersion``,
      the ADS ``grpc_services`` cluster, and ``api_type`` normalised to its enum name the way
      protojson allows (``3`` and ``"DELTA_GRPC"`` both give ``"DELTA_GRPC"``). The ADS
      cluster's address is then read from ``static_resources`` by the dict walker.
    * **Listeners** (``ListenersConfigDump`` and bare ``Listener`` lists): every nested
      ``@type`` must be a message envoy-data-plane ships (its module is imported on demand);
      unknown ones (Istio's ``udpa.type.v1.TypedStruct``, ``xds.type.matcher.v3.IPMatcher``)
      produce a warning naming them. Then the listener *without its typed extension configs*
      goes through ``Listener.from_dict`` (field names, enums, address), and each HTTP
      connection manager's ``rds`` through ``Rds.from_dict`` for ``route_config_name``. The
      whole HCM is deliberately not unpacked: that alone costs ~0.2 s of one-off set-up and the
      20,000-route budget cannot afford it. A listener envoy-data-plane rejects (unknown field,
      bad enum) is read by the dict walker, with a warning quoting the rejection.
    * **Cluster discovery types**: a ``Cluster.type`` outside the five everyday names (which a
      test checks against the enum) is looked up in ``ClusterDiscoveryType``; an unknown name
      produces a warning. The five skip the lookup because importing ``cluster.v3`` costs ~0.07 s.

    Routes, clusters and endpoints are walked as dicts. Section type URLs are constants; a test
    checks them against envoy-data-plane's message pool. If envoy-data-plane cannot be imported
    at all, everything is read by the dict walker and a warning says so.

Limits: an inline HCM ``route_config`` is read by the dict walker only; scoped routes (SRDS) and
``cluster_header`` routes are not evaluated; a virtual host without routes is invisible to
:func:`find_route` (the result only carries routes). A dynamic listener is reported once, in the
first state it has of active, warming, draining (``error`` only when nothing else is there); a
cluster present as active and warming is reported as active. Header ``range_match`` becomes kind
``"other"`` and never matches; ``treat_missing_header_as_empty`` is not modelled. Input must be
JSON-decoded data: nested objects are expected to be ``dict``.

Matching (:func:`route_matches`, :func:`find_route`) follows Envoy: virtual host by domain
precedence (exact, then longest ``*suffix``, then longest ``prefix*``, then ``*``), then the first
route whose path specifier and all header matchers match.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = [
    "DumpError",
    "EnvoyCluster",
    "EnvoyConfig",
    "EnvoyListener",
    "EnvoyRoute",
    "HeaderMatcher",
    "WeightedCluster",
    "find_route",
    "load_config_dump",
    "parse_config_dump",
    "parse_xds_resources",
    "route_matches",
]

_TYPE_PREFIX = "type.googleapis.com/"
_ADMIN = _TYPE_PREFIX + "envoy.admin.v3."
T_BOOTSTRAP = _ADMIN + "BootstrapConfigDump"
T_CLUSTERS = _ADMIN + "ClustersConfigDump"
T_ENDPOINTS = _ADMIN + "EndpointsConfigDump"
T_LISTENERS = _ADMIN + "ListenersConfigDump"
T_ROUTES = _ADMIN + "RoutesConfigDump"
T_SCOPED_ROUTES = _ADMIN + "ScopedRoutesConfigDump"
T_SECRETS = _ADMIN + "SecretsConfigDump"
T_ECDS = _ADMIN + "EcdsConfigDump"
T_HCM = (
    _TYPE_PREFIX
    + "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
)
# Sections this parser knows and deliberately ignores (nothing route-related in them).
_IGNORED_SECTIONS = frozenset({T_SECRETS, T_ECDS})

_LISTENER_STATES = (
    ("active_state", "active"),
    ("warming_state", "warming"),
    ("draining_state", "draining"),
)
# Members of envoy.config.cluster.v3.Cluster.DiscoveryType (a test checks them against
# envoy-data-plane's ClusterDiscoveryType); other names are looked up in the enum itself.
_COMMON_DISCOVERY_TYPES = frozenset({"STATIC", "STRICT_DNS", "LOGICAL_DNS", "EDS", "ORIGINAL_DST"})
_MIRROR_DENOMINATORS = {"HUNDRED": 1, "TEN_THOUSAND": 100, "MILLION": 10_000}


class DumpError(Exception):
    """The input is not an Envoy config dump; the message is one line meant for users."""


@dataclass(frozen=True, slots=True)
class HeaderMatcher:
    name: str
    kind: str
    value: str | None
    invert: bool = False
    ignore_case: bool = False


@dataclass(frozen=True, slots=True)
class WeightedCluster:
    name: str
    weight: int
    request_headers_to_add: tuple[tuple[str, str], ...] = ()
    response_headers_to_add: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class EnvoyRoute:
    name: str
    route_config: str
    virtual_host: str
    domains: tuple[str, ...]
    prefix: str | None
    path: str | None
    regex: str | None
    headers: tuple[HeaderMatcher, ...]
    clusters: tuple[WeightedCluster, ...]
    mirror_clusters: tuple[tuple[str, int], ...]
    direct_response_status: int | None = None
    case_sensitive: bool = True
    path_separated_prefix: str | None = None


@dataclass(frozen=True, slots=True)
class EnvoyListener:
    name: str
    address: str | None
    port: int | None
    route_config_names: tuple[str, ...]
    state: str
    error: str | None


@dataclass(frozen=True, slots=True)
class EnvoyCluster:
    name: str
    type: str | None
    endpoints: tuple[tuple[str, int], ...]
    state: str
    error: str | None


@dataclass(frozen=True, slots=True)
class EnvoyConfig:
    node_id: str | None
    node_cluster: str | None
    envoy_version: str | None
    xds_cluster: str | None
    xds_address: tuple[str, int] | None
    ads_api_type: str | None
    listeners: tuple[EnvoyListener, ...]
    route_configs: Mapping[str, tuple[EnvoyRoute, ...]]
    clusters: Mapping[str, EnvoyCluster]
    warnings: tuple[str, ...] = field(default=())

    def routes_for_listener(self, listener_name: str) -> tuple[EnvoyRoute, ...]:
        """All routes of the route configs the named listener uses, in Envoy's order."""
        out: list[EnvoyRoute] = []
        for listener in self.listeners:
            if listener.name != listener_name:
                continue
            for rc_name in listener.route_config_names:
                out.extend(self.route_configs.get(rc_name, ()))
            break
        return tuple(out)


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


def _edp_type_known(type_url: str) -> bool:
    """Whether envoy-data-plane has a message for ``type_url`` (importing its module if needed)."""
    cache: dict[str, bool] = _EDP_STATE.setdefault("types", {})
    known = cache.get(type_url)
    if known is not None:
        return known
    pool = _edp_import("envoy_data_plane.message_pool").default_message_pool
    known = type_url in pool.url_to_type
    if not known and type_url.startswith(_TYPE_PREFIX):
        package = type_url[len(_TYPE_PREFIX) :].rpartition(".")[0]
        if package and re.fullmatch(r"[a-z0-9_.]+", package):
            with contextlib.suppress(Exception):  # not shipped by envoy-data-plane
                _edp_import("envoy_data_plane." + package)
            known = type_url in pool.url_to_type
    cache[type_url] = known
    return known


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


def _enum_name(value: Any) -> str | None:
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else None


# --------------------------------------------------------------------------------------------
# Listeners.


class _Builder:
    """Accumulates one EnvoyConfig; every section parser writes here."""

    def __init__(self) -> None:
        self.node_id: str | None = None
        self.node_cluster: str | None = None
        self.envoy_version: str | None = None
        self.xds_cluster: str | None = None
        self.xds_address: tuple[str, int] | None = None
        self.ads_api_type: str | None = None
        self.listeners: list[EnvoyListener] = []
        self.route_configs: dict[str, tuple[EnvoyRoute, ...]] = {}
        self.clusters: dict[str, EnvoyCluster] = {}
        self.eds: dict[str, list[tuple[str, int]]] = {}
        self.eds_service: dict[str, str] = {}
        self.rc_raw: dict[str, dict[str, Any]] = {}
        self.unnamed_rcs: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self._warned: set[str] = set()

    def warn(self, msg: str) -> None:
        if msg not in self._warned:
            self._warned.add(msg)
            self.warnings.append(msg)

    # -- routes ---------------------------------------------------------------------------
    def add_route_config(self, rc: dict[str, Any], fallback_name: str = "") -> str:
        name = _str(rc.get("name")) or fallback_name
        body = _strip_type(rc)
        seen = self.rc_raw.get(name)
        if seen is not None:
            # Envoy dumps a listener's inline route config again under static_route_configs:
            # the same content twice is one route config. Different content is a real clash.
            if seen != body:
                self.warn(f"two different route configs named {name!r}; kept the first")
            return name
        self.rc_raw[name] = body
        self.route_configs[name] = tuple(_route_config(rc, name)[1])
        return name

    def routes_section(self, sec: dict[str, Any]) -> None:
        for key in ("static_route_configs", "dynamic_route_configs"):
            for entry in _dicts(sec, key):
                rc = _dict(entry, "route_config")
                if not rc:
                    continue
                if _str(rc.get("name")):
                    self.add_route_config(rc)
                else:  # an unnamed inline route config: linked to its listener in build()
                    self.unnamed_rcs.append(_strip_type(rc))

    def resolve_unnamed_route_configs(self) -> None:
        known = list(self.rc_raw.values())
        for i, body in enumerate(self.unnamed_rcs):
            if body not in known:
                self.add_route_config(body, f"(unnamed route config #{i})")

    # -- clusters -------------------------------------------------------------------------
    def add_cluster(self, c: dict[str, Any], state: str, error: str | None) -> None:
        name = _str(c.get("name"))
        if name is None:
            return
        if name in self.clusters and state in ("warming", "error"):
            old = self.clusters[name]
            if error and not old.error:
                self.clusters[name] = EnvoyCluster(
                    old.name, old.type, old.endpoints, old.state, error
                )
            return
        ctype = _str(c.get("type"))
        if ctype is None:
            custom = _dict(c, "cluster_type")
            ctype = _str(custom.get("name")) if custom else None
        eds_cfg = _dict(c, "eds_cluster_config")
        service = _str(_get(eds_cfg, "service_name")) if eds_cfg else None
        if service:
            self.eds_service[name] = service
        endpoints = tuple(_endpoints(_dict(c, "load_assignment")))
        self.clusters[name] = EnvoyCluster(name, ctype, endpoints, state, error)

    def clusters_section(self, sec: dict[str, Any]) -> None:
        for entry in _dicts(sec, "static_clusters"):
            self.add_cluster(_dict(entry, "cluster"), "static", None)
        for key, state in (
            ("dynamic_active_clusters", "active"),
            ("dynamic_warming_clusters", "warming"),
        ):
            for entry in _dicts(sec, key):
                err_state = _dict(entry, "error_state")
                error = _str(err_state.get("details")) if err_state else None
                cluster = _dict(entry, "cluster")
                if cluster:
                    self.add_cluster(cluster, state, error)
                elif err_state:
                    failed = _dict(err_state, "failed_configuration")
                    if failed:
                        self.add_cluster(failed, "error", error or "update rejected")

    def endpoints_section(self, sec: dict[str, Any]) -> None:
        for key in ("static_endpoint_configs", "dynamic_endpoint_configs"):
            for entry in _dicts(sec, key):
                cla = _dict(entry, "endpoint_config")
                name = _str(_get(cla, "cluster_name"))
                if name:
                    self.eds.setdefault(name, []).extend(_endpoints(cla))

    def merge_eds(self) -> None:
        for name, cluster in list(self.clusters.items()):
            eds = self.eds.get(self.eds_service.get(name, name))
            if not eds:
                continue
            merged = list(cluster.endpoints)
            seen = set(merged)
            for ep in eds:
                if ep not in seen:
                    seen.add(ep)
                    merged.append(ep)
            self.clusters[name] = EnvoyCluster(
                cluster.name, cluster.type, tuple(merged), cluster.state, cluster.error
            )

    def check_cluster_types(self) -> None:
        # `cluster_type` extension names (e.g. envoy.clusters.aggregate) are lower-case: skip.
        odd = {
            c.type
            for c in self.clusters.values()
            if c.type is not None and c.type.isupper() and c.type not in _COMMON_DISCOVERY_TYPES
        }
        # Only names outside the everyday five need envoy-data-plane's enum (and its import).
        if not odd or not _edp_available(self.warn):
            return
        mod = _edp_import("envoy_data_plane.envoy.config.cluster.v3")
        known = {m.name for m in mod.ClusterDiscoveryType}
        for cluster in self.clusters.values():
            if cluster.type in odd and cluster.type not in known:
                self.warn(f"cluster {cluster.name!r}: unknown discovery type {cluster.type!r}")

    # -- listeners ------------------------------------------------------------------------
    def add_listener(
        self, lst: dict[str, Any], state: str, error: str | None, fallback_name: str = ""
    ) -> None:
        name = _str(lst.get("name")) or fallback_name
        # Inline route configs without a name are called "<listener>/inline-<n>"; a listener
        # without a name (allowed for static ones) is labelled by its address.
        host, port = _socket_address(_dict(lst, "address"))
        label = name or f"{host}:{port}"
        parsed = self._listener_via_edp(lst, label) if _edp_available(self.warn) else None
        if parsed is None:
            parsed = self._listener_via_dict(lst, label)
        address, port, rc_names = parsed
        self.listeners.append(EnvoyListener(name, address, port, rc_names, state, error))

    def _hcm_dicts(self, lst: dict[str, Any]) -> Iterator[dict[str, Any]]:
        chains = list(_dicts(lst, "filter_chains"))
        default = _dict(lst, "default_filter_chain")
        if default:
            chains.append(default)
        for chain in chains:
            for flt in _dicts(chain, "filters"):
                typed = _dict(flt, "typed_config")
                if typed.get("@type") == T_HCM:
                    yield typed

    def _inline_route_configs(self, lst: dict[str, Any], name: str) -> list[str]:
        names: list[str] = []
        for i, hcm in enumerate(self._hcm_dicts(lst)):
            rc = _dict(hcm, "route_config")
            if rc:
                names.append(self.add_route_config(rc, f"{name}/inline-{i}"))
        return names

    def _listener_via_dict(
        self, lst: dict[str, Any], name: str
    ) -> tuple[str | None, int | None, tuple[str, ...]]:
        address, port = _socket_address(_dict(lst, "address"))
        rc_names: list[str] = []
        inline = iter(self._inline_route_configs(lst, name))
        for hcm in self._hcm_dicts(lst):
            rds = _dict(hcm, "rds")
            rc_name = _str(_get(rds, "route_config_name")) if rds else None
            if rc_name is not None:
                rc_names.append(rc_name)
            elif _dict(hcm, "route_config"):
                rc_names.append(next(inline))
            elif _dict(hcm, "scoped_routes"):
                self.warn(f"listener {name!r}: scoped routes are not evaluated")
        return address, port, tuple(dict.fromkeys(rc_names))

    def _listener_via_edp(
        self, lst: dict[str, Any], name: str
    ) -> tuple[str | None, int | None, tuple[str, ...]] | None:
        types: set[str] = set()
        _nested_types(_strip_type(lst), types)
        unknown = sorted(t for t in types if not _edp_type_known(t))
        if unknown:
            self.warn(
                f"listener {name!r}: envoy-data-plane does not know {', '.join(unknown)}; "
                "read it without message validation"
            )
            return None
        listener_cls = _edp_import("envoy_data_plane.envoy.config.listener.v3").Listener
        rds_cls = _edp_import(
            "envoy_data_plane.envoy.extensions.filters.network.http_connection_manager.v3"
        ).Rds
        hcm_dicts = list(self._hcm_dicts(lst))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # The listener without its typed extension configs: from_dict of an Any packs
                # the whole nested message, which for the HCM costs ~0.2 s of one-off class
                # set-up. The HCM's route specifier is validated on its own (Rds) instead.
                msg = listener_cls.from_dict(_without_any(_strip_type(lst)))
                rds_msgs = [
                    rds_cls.from_dict(rds) if (rds := _dict(hcm, "rds")) else None
                    for hcm in hcm_dicts
                ]
        except Exception as exc:  # invalid field/enum: say so and use the dict walker
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.warn(f"listener {name!r}: envoy-data-plane rejected it ({detail})")
            return None
        address: str | None = None
        port: int | None = None
        sock = msg.address.socket_address if msg.address is not None else None
        if sock is not None:
            address, port = sock.address or None, sock.port_value
        elif msg.address is not None and msg.address.pipe is not None:
            address = msg.address.pipe.path
        rc_names: list[str] = []
        inline = iter(self._inline_route_configs(lst, name))
        for hcm, rds_msg in zip(hcm_dicts, rds_msgs, strict=True):
            if rds_msg is not None:
                rc_names.append(rds_msg.route_config_name)
            elif _dict(hcm, "route_config"):
                rc_names.append(next(inline))
            elif _dict(hcm, "scoped_routes"):
                self.warn(f"listener {name!r}: scoped routes are not evaluated")
        return address, port, tuple(dict.fromkeys(rc_names))

    def listeners_section(self, sec: dict[str, Any]) -> None:
        for entry in _dicts(sec, "static_listeners"):
            lst = _dict(entry, "listener")
            if lst:
                self.add_listener(lst, "static", None)
        for entry in _dicts(sec, "dynamic_listeners"):
            entry_name = _str(entry.get("name")) or ""
            err_state = _dict(entry, "error_state")
            error = _str(err_state.get("details")) if err_state else None
            for key, state in _LISTENER_STATES:
                lst = _dict(_dict(entry, key), "listener")
                if lst:
                    self.add_listener(lst, state, error, entry_name)
                    break
            else:
                if err_state:
                    failed = _dict(err_state, "failed_configuration")
                    self.add_listener(failed, "error", error or "update rejected", entry_name)

    # -- bootstrap ------------------------------------------------------------------------
    def bootstrap_section(self, sec: dict[str, Any]) -> None:
        boot = _dict(sec, "bootstrap")
        node = _dict(boot, "node")
        ads = _dict(_dict(boot, "dynamic_resources"), "ads_config")
        static = list(_dicts(_dict(boot, "static_resources"), "clusters"))
        if not self._bootstrap_via_edp(node, ads, static):
            self._bootstrap_via_dict(node, ads, static)
        self._non_ads_xds_cluster(_dict(boot, "dynamic_resources"), static)

    def _xds_address(self, static: list[dict[str, Any]]) -> None:
        for c in static:
            if c.get("name") == self.xds_cluster:
                eps = _endpoints(_dict(c, "load_assignment"))
                if eps:
                    self.xds_address = eps[0]
                break

    def _bootstrap_via_dict(
        self, node: dict[str, Any], ads: dict[str, Any], static: list[dict[str, Any]]
    ) -> None:
        self.node_id = _str(node.get("id"))
        self.node_cluster = _str(node.get("cluster"))
        version = _dict(_dict(node, "user_agent_build_version"), "version")
        if version:
            parts = [_int(_get(version, k)) or 0 for k in ("major_number", "minor_number", "patch")]
            self.envoy_version = ".".join(str(p) for p in parts)
        elif _str(_get(node, "user_agent_version")):
            self.envoy_version = _str(_get(node, "user_agent_version"))
        api_type = _get(ads, "api_type")
        self.ads_api_type = str(api_type) if api_type is not None else None
        for svc in _dicts(ads, "grpc_services"):
            self.xds_cluster = _str(_get(_dict(svc, "envoy_grpc"), "cluster_name"))
            if self.xds_cluster:
                break
        self._xds_address(static)

    def _non_ads_xds_cluster(self, dynamic: dict[str, Any], static: list[dict[str, Any]]) -> None:
        """Without ADS (e.g. envoy-gateway), the cluster CDS/LDS read from is the xDS source."""
        if self.xds_cluster is not None:
            return
        for key in ("cds_config", "lds_config"):
            source = _dict(_dict(dynamic, key), "api_config_source")
            for svc in _dicts(source, "grpc_services"):
                cluster = _str(_get(_dict(svc, "envoy_grpc"), "cluster_name"))
                if cluster:
                    self.xds_cluster = cluster
                    self._xds_address(static)
                    return

    def _bootstrap_via_edp(
        self, node: dict[str, Any], ads: dict[str, Any], static: list[dict[str, Any]]
    ) -> bool:
        if not (node or ads) or not _edp_available(self.warn):
            return False
        # Only the parts read here: `extensions` (hundreds of entries) adds nothing but cost.
        node_in = {k: v for k, v in node.items() if k != "extensions"}
        ads_in = dict(ads)
        types: set[str] = set()
        _nested_types(node_in, types)
        _nested_types(ads_in, types)
        if not all(_edp_type_known(t) for t in types):
            self.warn("bootstrap: unknown extension types; read without message validation")
            return False
        core = _edp_import("envoy_data_plane.envoy.config.core.v3")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                node_msg = core.Node.from_dict(node_in)
                ads_msg = core.ApiConfigSource.from_dict(ads_in)
        except Exception as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.warn(f"bootstrap: envoy-data-plane rejected it ({detail})")
            return False
        self.node_id = node_msg.id or None
        self.node_cluster = node_msg.cluster or None
        build = node_msg.user_agent_build_version
        if build is not None and build.version is not None:
            v = build.version
            self.envoy_version = f"{v.major_number}.{v.minor_number}.{v.patch}"
        elif node_msg.user_agent_version:
            self.envoy_version = node_msg.user_agent_version
        # An absent api_type would read as enum value 0; report it as unknown, like the walker.
        has_api_type = _get(ads, "api_type") is not None
        self.ads_api_type = _enum_name(ads_msg.api_type) if has_api_type else None
        for svc in ads_msg.grpc_services or []:
            if svc.envoy_grpc is not None and svc.envoy_grpc.cluster_name:
                self.xds_cluster = svc.envoy_grpc.cluster_name
                break
        self._xds_address(static)
        return True

    # -- result ---------------------------------------------------------------------------
    def build(self) -> EnvoyConfig:
        self.resolve_unnamed_route_configs()
        self.merge_eds()
        self.check_cluster_types()
        return EnvoyConfig(
            node_id=self.node_id,
            node_cluster=self.node_cluster,
            envoy_version=self.envoy_version,
            xds_cluster=self.xds_cluster,
            xds_address=self.xds_address,
            ads_api_type=self.ads_api_type,
            listeners=tuple(self.listeners),
            route_configs=MappingProxyType(dict(self.route_configs)),
            clusters=MappingProxyType(dict(self.clusters)),
            warnings=tuple(self.warnings),
        )


# --------------------------------------------------------------------------------------------
# Public entry points.


def parse_config_dump(data: Mapping[str, Any]) -> EnvoyConfig:
    """Parse a decoded ``/config_dump`` document. Raises DumpError on a wrong overall shape."""
    if not isinstance(data, Mapping):
        raise DumpError(f"not an Envoy config dump: expected a JSON object, got {_kind(data)}")
    configs = data.get("configs")
    if not isinstance(configs, list):
        raise DumpError("not an Envoy config dump: no 'configs' list")
    for i, sec in enumerate(configs):
        if not isinstance(sec, Mapping):
            raise DumpError(
                f"not an Envoy config dump: configs[{i}] is {_kind(sec)}, not an object"
            )
    b = _Builder()
    handlers = {
        T_BOOTSTRAP: b.bootstrap_section,
        T_CLUSTERS: b.clusters_section,
        T_ENDPOINTS: b.endpoints_section,
        T_LISTENERS: b.listeners_section,
        T_ROUTES: b.routes_section,
    }
    was_enabled = gc.isenabled()
    gc.disable()  # millions of short-lived containers: the cyclic GC only costs time here
    try:
        for sec in configs:
            kind = sec.get("@type")
            handler = handlers.get(kind) if isinstance(kind, str) else None
            if handler is not None:
                handler(sec if isinstance(sec, dict) else dict(sec))
            elif kind == T_SCOPED_ROUTES:
                if len(sec) > 1:
                    b.warn("scoped route configs present; they are not evaluated")
            elif not isinstance(kind, str):
                b.warn("skipped unknown section (no @type)")
            elif kind not in _IGNORED_SECTIONS:
                b.warn(f"skipped unknown section {kind}")
        return b.build()
    except RecursionError:
        raise DumpError("not an Envoy config dump: nested too deeply") from None
    finally:
        if was_enabled:
            gc.enable()


def parse_xds_resources(
    routes: Sequence[Mapping[str, Any]],
    clusters: Sequence[Mapping[str, Any]],
    listeners: Sequence[Mapping[str, Any]] = (),
) -> EnvoyConfig:
    """Parse bare xDS resources (``RouteConfiguration``/``Cluster``/``Listener`` lists)."""
    for what, items in (("routes", routes), ("clusters", clusters), ("listeners", listeners)):
        if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Sequence):
            raise DumpError(f"xDS {what}: expected a JSON array, got {_kind(items)}")
        for i, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise DumpError(f"xDS {what}[{i}] is {_kind(item)}, not an object")
    b = _Builder()
    try:
        for lst in listeners:
            b.add_listener(dict(lst), "active", None)
        for rc in routes:
            b.add_route_config(dict(rc))
        for c in clusters:
            b.add_cluster(dict(c), "active", None)
        return b.build()
    except RecursionError:
        raise DumpError("xDS resources nested too deeply") from None


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
        raise DumpError(f"{p}: not an Envoy config dump: top level is {_kind(raw)}")
    try:
        return raw, parse_config_dump(raw)
    except DumpError as exc:
        raise DumpError(f"{p}: {exc}") from None


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return f"a {type(value).__name__}"


# --------------------------------------------------------------------------------------------
# Matching.


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


_REGEX_CACHE: dict[str, re.Pattern[str] | None] = {}


def _regex(pattern: str) -> re.Pattern[str] | None:
    if pattern not in _REGEX_CACHE:
        try:
            _REGEX_CACHE[pattern] = re.compile(pattern)
        except re.error:
            _REGEX_CACHE[pattern] = None
    return _REGEX_CACHE[pattern]


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
        rx = _regex(route.regex)
        return rx is not None and rx.fullmatch(bare) is not None
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
        rx = _regex(m.value)
        result = rx is not None and rx.fullmatch(value) is not None
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
