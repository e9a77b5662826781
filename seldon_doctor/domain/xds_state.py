"""What an xDS server served to one Envoy node: :class:`XdsSnapshot` and the xDS type URLs.

Filled by the Delta ADS client (:mod:`seldon_doctor.clients.xds_client`), by JSON files and
by snapshot bundles (:func:`xds_snapshot_from_dict`, the inverse of
:meth:`XdsSnapshot.to_dict`). Pure data: no I/O, no grpc, no envoy-data-plane.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LISTENER_TYPE = "type.googleapis.com/envoy.config.listener.v3.Listener"
CLUSTER_TYPE = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
ROUTE_TYPE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"


@dataclass(slots=True)
class XdsSnapshot:
    """What one xDS server served to one node during one bounded Delta ADS session.

    ``listeners`` / ``clusters`` / ``routes`` map resource name to its protojson dict (snake_case,
    like ``/config_dump``). ``versions`` maps type URL to ``{name: version}``.
    ``answered`` holds the type URLs the server sent at least one response for: a type it never
    answered (e.g. routes for an unknown node id) is absent, which is different from "answered
    with nothing". ``complete`` is true when the stream went quiet before the deadline.
    """

    target: str
    node_id: str
    listeners: dict[str, dict[str, Any]] = field(default_factory=dict)
    clusters: dict[str, dict[str, Any]] = field(default_factory=dict)
    routes: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, dict[str, str]] = field(default_factory=dict)
    system_versions: dict[str, str] = field(default_factory=dict)
    answered: set[str] = field(default_factory=set)
    decode_errors: dict[str, str] = field(default_factory=dict)
    responses: int = 0
    complete: bool = False
    elapsed: float = 0.0

    def by_type(self, type_url: str) -> dict[str, dict[str, Any]]:
        """The resource dict for one of the three type URLs."""
        if type_url == LISTENER_TYPE:
            return self.listeners
        if type_url == CLUSTER_TYPE:
            return self.clusters
        if type_url == ROUTE_TYPE:
            return self.routes
        raise KeyError(type_url)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (for ``--output json`` and snapshot bundles)."""
        return {
            "target": self.target,
            "node_id": self.node_id,
            "listeners": self.listeners,
            "clusters": self.clusters,
            "routes": self.routes,
            "versions": self.versions,
            "system_versions": self.system_versions,
            "answered": sorted(self.answered),
            "decode_errors": self.decode_errors,
            "responses": self.responses,
            "complete": self.complete,
            "elapsed": round(self.elapsed, 3),
        }


def xds_snapshot_from_dict(data: dict[str, Any]) -> XdsSnapshot:
    """Inverse of ``XdsSnapshot.to_dict()``."""
    return XdsSnapshot(
        target=str(data.get("target") or ""),
        node_id=str(data.get("node_id") or "test-id"),
        listeners=dict(data.get("listeners") or {}),
        clusters=dict(data.get("clusters") or {}),
        routes=dict(data.get("routes") or {}),
        versions=dict(data.get("versions") or {}),
        system_versions=dict(data.get("system_versions") or {}),
        answered=set(data.get("answered") or ()),
        decode_errors=dict(data.get("decode_errors") or {}),
        responses=int(data.get("responses") or 0),
        complete=bool(data.get("complete", True)),
    )
