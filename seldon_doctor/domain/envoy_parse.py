"""Parse an Envoy admin ``/config_dump`` (and bare xDS resource lists) into plain dataclasses.

Pure: the input is already-decoded JSON (:mod:`seldon_doctor.sources.envoy_dump` reads files);
the model is :mod:`seldon_doctor.domain.envoy_config`, the matching
:mod:`seldon_doctor.domain.envoy_routes`.

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
    Measured on this shared 2-core machine (figures vary ~2x with load): importing its message
    modules costs 0.6-1.2 s (pydantic builds hundreds of dataclasses) and emits deprecation
    warnings; the first ``from_dict`` of a message class adds one-off schema set-up
    (``Listener`` 0.07-0.15 s, ``HttpConnectionManager`` ~0.17 s); an ``Any`` inside a message
    fails with ``TypeError: Can't unpack unregistered type`` unless the module of that
    ``@type`` was imported first. For the big sections message construction is far too slow:
    with the 2,000-route / 2,000-cluster dump made by ``bench/bench_envoy_dump.py --models
    1000``, ``RouteConfiguration.from_dict`` took 1.45 s against 0.03-0.06 s for the dict walk,
    ``ClustersConfigDump.from_dict`` 4.4 s against 0.01 s, ``ConfigDump.from_json`` 9.6 s; and
    one unknown extension (an Istio filter) makes a whole ``ConfigDump`` fail. A small CI scan
    (a few manifests and one dump) paid ~1.2 s for the import alone, 16x ``--help``.

    So :func:`parse_config_dump` (dump files, admin ``/config_dump``, bundles) never imports
    it: every section is walked as dicts by this project's walkers. What envoy-data-plane knew
    is kept as data or constants that tests check against it: the message types of Envoy's API
    (``envoy_types.txt``: a listener or bootstrap ``@type`` outside it, such as Istio's
    ``udpa.type.v1.TypedStruct``, gives a warning naming it), the ``ApiConfigSource.ApiType``
    numbers (protojson may write ``3`` for ``"DELTA_GRPC"``) and the cluster discovery types.
    :func:`parse_xds_resources` (bare ``Listener`` lists, the xDS wire shape) additionally
    sends each listener *without its typed extension configs* through ``Listener.from_dict``
    (field names, enums, address) and each HTTP connection manager's ``rds`` through
    ``Rds.from_dict``; a listener envoy-data-plane rejects (unknown field, bad enum) is read by
    the dict walker with a warning quoting the rejection, and without envoy-data-plane
    everything is read by the dict walker with a warning saying so.

Limits: an inline HCM ``route_config`` is read by the dict walker only; scoped routes (SRDS) and
``cluster_header`` routes are not evaluated; a virtual host without routes is invisible to
``envoy_routes.find_route`` (the result only carries routes). A dynamic listener is reported
once, in the first state it has of active, warming, draining (``error`` only when nothing else is
there); a cluster present as active and warming is reported as active. Header ``range_match``
becomes kind ``"other"`` and never matches; ``treat_missing_header_as_empty`` is not modelled.
Input must be JSON-decoded data: nested objects are expected to be ``dict``.

Matching (:mod:`seldon_doctor.domain.envoy_routes`) follows Envoy: virtual host by domain
precedence (exact, then longest ``*suffix``, then longest ``prefix*``, then ``*``), then the first
route whose path specifier and all header matchers match.
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from seldon_doctor.domain.envoy_config import (
    T_BOOTSTRAP,
    T_CLUSTERS,
    T_ECDS,
    T_ENDPOINTS,
    T_HCM,
    T_LISTENERS,
    T_ROUTES,
    T_SCOPED_ROUTES,
    T_SECRETS,
    DumpError,
    EnvoyCluster,
    EnvoyConfig,
    EnvoyListener,
    EnvoyRoute,
)
from seldon_doctor.domain.envoy_edp import (
    _edp_available,
    _edp_import,
    _nested_types,
    _strip_type,
    _without_any,
)
from seldon_doctor.domain.envoy_types import envoy_type_known
from seldon_doctor.domain.envoy_walk import (
    _dict,
    _dicts,
    _endpoints,
    _get,
    _int,
    _route_config,
    _socket_address,
    _str,
)

__all__ = ["DumpError", "json_kind", "parse_config_dump", "parse_xds_resources"]

# Sections this parser knows and deliberately ignores (nothing route-related in them).
_IGNORED_SECTIONS = frozenset({T_SECRETS, T_ECDS})

_LISTENER_STATES = (
    ("active_state", "active"),
    ("warming_state", "warming"),
    ("draining_state", "draining"),
)
# The members of envoy.config.cluster.v3.Cluster.DiscoveryType (a test checks them against
# envoy-data-plane's ClusterDiscoveryType).
_DISCOVERY_TYPES = frozenset({"STATIC", "STRICT_DNS", "LOGICAL_DNS", "EDS", "ORIGINAL_DST"})
# envoy.config.core.v3.ApiConfigSource.ApiType by number (a test checks it against
# envoy-data-plane's enum): protojson may write an enum as its number.
_API_TYPES = {
    0: "DEPRECATED_AND_UNAVAILABLE_DO_NOT_USE",
    1: "REST",
    2: "GRPC",
    3: "DELTA_GRPC",
    5: "AGGREGATED_GRPC",
    6: "AGGREGATED_DELTA_GRPC",
}


# --------------------------------------------------------------------------------------------
# Listeners.


class _Builder:
    """Accumulates one EnvoyConfig; every section parser writes here."""

    def __init__(self, validate: bool = False) -> None:
        # Bare xDS resources are validated against envoy-data-plane's messages; dumps read from
        # files and admin endpoints are not (its import alone costs ~1 s).
        self.validate = validate
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
        for cluster in self.clusters.values():
            ctype = cluster.type
            if ctype is not None and ctype.isupper() and ctype not in _DISCOVERY_TYPES:
                self.warn(f"cluster {cluster.name!r}: unknown discovery type {ctype!r}")

    # -- listeners ------------------------------------------------------------------------
    def add_listener(
        self, lst: dict[str, Any], state: str, error: str | None, fallback_name: str = ""
    ) -> None:
        name = _str(lst.get("name")) or fallback_name
        # Inline route configs without a name are called "<listener>/inline-<n>"; a listener
        # without a name (allowed for static ones) is labelled by its address.
        host, port = _socket_address(_dict(lst, "address"))
        label = name or f"{host}:{port}"
        types: set[str] = set()
        _nested_types(_strip_type(lst), types)
        unknown = sorted(t for t in types if not envoy_type_known(t))
        if unknown:
            self.warn(
                f"listener {label!r}: unknown extension types {', '.join(unknown)} (not in "
                "Envoy's API as envoy-data-plane ships it); read without message validation"
            )
        parsed = None
        if self.validate and not unknown and _edp_available(self.warn):
            parsed = self._listener_via_edp(lst, label)
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
        # `extensions` (hundreds of entries) holds nothing read here.
        types: set[str] = set()
        _nested_types({k: v for k, v in node.items() if k != "extensions"}, types)
        _nested_types(ads, types)
        unknown = sorted(t for t in types if not envoy_type_known(t))
        if unknown:
            self.warn(f"bootstrap: unknown extension types {', '.join(unknown)}")
        self._bootstrap_node(node)
        self._bootstrap_ads(ads, static)
        self._non_ads_xds_cluster(_dict(boot, "dynamic_resources"), static)

    def _xds_address(self, static: list[dict[str, Any]]) -> None:
        for c in static:
            if c.get("name") == self.xds_cluster:
                eps = _endpoints(_dict(c, "load_assignment"))
                if eps:
                    self.xds_address = eps[0]
                break

    def _bootstrap_node(self, node: dict[str, Any]) -> None:
        # Empty strings are proto3 defaults, i.e. unset.
        self.node_id = _str(node.get("id")) or None
        self.node_cluster = _str(node.get("cluster")) or None
        version = _dict(_dict(node, "user_agent_build_version"), "version")
        if version:
            parts = [_int(_get(version, k)) or 0 for k in ("major_number", "minor_number", "patch")]
            self.envoy_version = ".".join(str(p) for p in parts)
        elif _str(_get(node, "user_agent_version")):
            self.envoy_version = _str(_get(node, "user_agent_version"))

    def _bootstrap_ads(self, ads: dict[str, Any], static: list[dict[str, Any]]) -> None:
        api_type = _get(ads, "api_type")
        number = _int(api_type) if not isinstance(api_type, str) else None
        if number is not None:
            self.ads_api_type = _API_TYPES.get(number, str(number))
        else:
            self.ads_api_type = str(api_type) if api_type is not None else None
        for svc in _dicts(ads, "grpc_services"):
            self.xds_cluster = _str(_get(_dict(svc, "envoy_grpc"), "cluster_name")) or None
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
        raise DumpError(f"not an Envoy config dump: expected a JSON object, got {json_kind(data)}")
    configs = data.get("configs")
    if not isinstance(configs, list):
        raise DumpError("not an Envoy config dump: no 'configs' list")
    for i, sec in enumerate(configs):
        if not isinstance(sec, Mapping):
            raise DumpError(
                f"not an Envoy config dump: configs[{i}] is {json_kind(sec)}, not an object"
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
            raise DumpError(f"xDS {what}: expected a JSON array, got {json_kind(items)}")
        for i, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise DumpError(f"xDS {what}[{i}] is {json_kind(item)}, not an object")
    b = _Builder(validate=True)
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


def json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return f"a {type(value).__name__}"
