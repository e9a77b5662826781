"""The Envoy configuration model: what one Envoy holds, as frozen dataclasses.

Produced by :mod:`seldon_doctor.domain.envoy_parse` from an admin ``/config_dump`` or bare xDS
resources, matched by :mod:`seldon_doctor.domain.envoy_routes`. Also the type URLs of the dump
sections the parser reads, and :class:`DumpError`, its one-line complaint about input that is
not a dump. Pure data: no I/O, no heavy imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

TYPE_PREFIX = "type.googleapis.com/"
_ADMIN = TYPE_PREFIX + "envoy.admin.v3."
T_BOOTSTRAP = _ADMIN + "BootstrapConfigDump"
T_CLUSTERS = _ADMIN + "ClustersConfigDump"
T_ENDPOINTS = _ADMIN + "EndpointsConfigDump"
T_LISTENERS = _ADMIN + "ListenersConfigDump"
T_ROUTES = _ADMIN + "RoutesConfigDump"
T_SCOPED_ROUTES = _ADMIN + "ScopedRoutesConfigDump"
T_SECRETS = _ADMIN + "SecretsConfigDump"
T_ECDS = _ADMIN + "EcdsConfigDump"
T_HCM = (
    TYPE_PREFIX
    + "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
)


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
