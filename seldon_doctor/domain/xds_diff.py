"""Compare what an xDS server serves with what an Envoy holds (the SD606 evidence).

:func:`resources_from_config_dump` reduces an Envoy ``/config_dump`` to the same shape as an
:class:`~seldon_doctor.domain.xds_state.XdsSnapshot` (name → snake_case protojson, without
the ``@type`` of the outer ``Any``), so the two can be compared as plain dicts.
:func:`diff_resources` then names what is only on one side and what differs. Everything here is
pure data: no I/O, no heavy imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from seldon_doctor.domain.xds_state import XdsSnapshot

KINDS = ("listeners", "clusters", "routes")
_LISTENERS = "type.googleapis.com/envoy.admin.v3.ListenersConfigDump"
_CLUSTERS = "type.googleapis.com/envoy.admin.v3.ClustersConfigDump"
_ROUTES = "type.googleapis.com/envoy.admin.v3.RoutesConfigDump"

Resources = dict[str, dict[str, dict[str, Any]]]


def _strip(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        return {}
    return {k: v for k, v in body.items() if k != "@type"}


def resources_from_config_dump(dump: dict[str, Any]) -> Resources:
    """``{"listeners": {...}, "clusters": {...}, "routes": {...}}`` from a ``/config_dump``.

    Only *dynamic, active* resources count (what xDS delivered and Envoy accepted): static
    bootstrap clusters such as ``xds_cluster`` and warming or errored listeners are left out.
    """
    out: Resources = {kind: {} for kind in KINDS}
    for section in dump.get("configs", []) if isinstance(dump, dict) else []:
        if not isinstance(section, dict):
            continue
        kind = section.get("@type")
        if kind == _LISTENERS:
            for entry in section.get("dynamic_listeners", []):
                listener = _strip((entry.get("active_state") or {}).get("listener"))
                if listener:
                    out["listeners"][str(entry.get("name") or listener.get("name"))] = listener
        elif kind == _CLUSTERS:
            for entry in section.get("dynamic_active_clusters", []):
                cluster = _strip(entry.get("cluster"))
                if cluster:
                    out["clusters"][str(cluster.get("name", ""))] = cluster
        elif kind == _ROUTES:
            for entry in section.get("dynamic_route_configs", []):
                route = _strip(entry.get("route_config"))
                if route:
                    out["routes"][str(route.get("name", ""))] = route
    return out


def resources_from_snapshot(snapshot: XdsSnapshot) -> Resources:
    return {
        "listeners": dict(snapshot.listeners),
        "clusters": dict(snapshot.clusters),
        "routes": dict(snapshot.routes),
    }


@dataclass(frozen=True, slots=True)
class KindDiff:
    only_served: tuple[str, ...] = ()  # the xDS server has it, the Envoy does not
    only_in_envoy: tuple[str, ...] = ()  # the Envoy has it, the xDS server no longer serves it
    different: tuple[str, ...] = ()  # both have it, with different content

    @property
    def empty(self) -> bool:
        return not (self.only_served or self.only_in_envoy or self.different)


@dataclass(frozen=True, slots=True)
class XdsDiff:
    """Per kind (``listeners`` / ``clusters`` / ``routes``) differences, plus route names."""

    kinds: dict[str, KindDiff] = field(default_factory=dict)
    routes_only_served: tuple[str, ...] = ()  # route (not route-config) names, e.g. iris_http
    routes_only_in_envoy: tuple[str, ...] = ()

    @property
    def in_sync(self) -> bool:
        return all(d.empty for d in self.kinds.values())


def route_names(route_configs: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    """Route configuration name → names of its routes (``listener_0`` → {``iris_http``, ...})."""
    names: dict[str, set[str]] = {}
    for config_name, config in route_configs.items():
        bucket = names.setdefault(config_name, set())
        for vhost in config.get("virtual_hosts", []) or []:
            for route in vhost.get("routes", []) or []:
                if isinstance(route, dict) and route.get("name"):
                    bucket.add(str(route["name"]))
    return names


def diff_resources(
    served: Resources, envoy: Resources, *, route_configs: tuple[str, ...] | None = None
) -> XdsDiff:
    """What the xDS server serves versus what the Envoy holds.

    ``route_configs`` limits the comparison of route configurations (e.g. to ``listener_0``):
    an ADS client subscribes to ``listener_1`` by name even if no listener uses it.
    """
    kinds: dict[str, KindDiff] = {}
    for kind in KINDS:
        a = served.get(kind, {})
        b = envoy.get(kind, {})
        if kind == "routes" and route_configs is not None:
            a = {k: v for k, v in a.items() if k in route_configs}
            b = {k: v for k, v in b.items() if k in route_configs}
        kinds[kind] = KindDiff(
            only_served=tuple(sorted(set(a) - set(b))),
            only_in_envoy=tuple(sorted(set(b) - set(a))),
            different=tuple(sorted(n for n in set(a) & set(b) if a[n] != b[n])),
        )
    served_routes = route_names(served.get("routes", {}))
    envoy_routes = route_names(envoy.get("routes", {}))
    scope = route_configs if route_configs is not None else tuple(served_routes | envoy_routes)
    only_served: set[str] = set()
    only_envoy: set[str] = set()
    for config_name in scope:
        s = served_routes.get(config_name, set())
        e = envoy_routes.get(config_name, set())
        only_served |= s - e
        only_envoy |= e - s
    return XdsDiff(
        kinds=kinds,
        routes_only_served=tuple(sorted(only_served)),
        routes_only_in_envoy=tuple(sorted(only_envoy)),
    )
