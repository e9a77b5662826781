"""A small Delta-ADS xDS server (grpcio) that serves Seldon-shaped resources to real Envoys.

It plays the part of the Seldon scheduler's xDS port (9002): Envoy connects with
``api_type: DELTA_GRPC`` and subscribes to clusters and listeners (wildcard) and, once it has the
``seldon_http`` listener, to the route configuration ``listener_0`` by name. A test changes what
is served at runtime (:meth:`XdsTestServer.put`, :meth:`XdsTestServer.remove`,
:meth:`XdsTestServer.replace`); every connected stream is pushed the difference at once, and
:meth:`XdsTestServer.wait_acked` waits until every connected node has ACKed (or NACKed) it.

Resources are given as snake_case protojson dicts (the shape of ``/config_dump``); they are
turned into envoy-data-plane messages and serialised to bytes for the ``Any`` values.
:func:`seldon_resources` builds the shapes the scheduler serves (listener ``seldon_http`` →
RDS ``listener_0``, route ``<model>_http``, weighted clusters ``<model>_<version>_http``).
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

from seldon_doctor.clients.xds_client import CLUSTER_TYPE, LISTENER_TYPE, ROUTE_TYPE

JSON = dict[str, Any]
KINDS = {"listener": LISTENER_TYPE, "cluster": CLUSTER_TYPE, "route": ROUTE_TYPE}
_SERVICE = "envoy.service.discovery.v3.AggregatedDiscoveryService"

HCM_TYPE = (
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
    "HttpConnectionManager"
)
ROUTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"


def _messages() -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from envoy_data_plane.envoy.config.cluster.v3 import Cluster
        from envoy_data_plane.envoy.config.listener.v3 import Listener
        from envoy_data_plane.envoy.config.route.v3 import RouteConfiguration

        # Registers the typed_config types used inside listeners with the message pool.
        from envoy_data_plane.envoy.extensions.filters.http.router import v3 as _router  # noqa: F401
        from envoy_data_plane.envoy.extensions.filters.network.http_connection_manager import (  # noqa: F401
            v3 as _hcm,
        )
    return {LISTENER_TYPE: Listener, CLUSTER_TYPE: Cluster, ROUTE_TYPE: RouteConfiguration}


def encode(type_url: str, body: Mapping[str, Any]) -> bytes:
    """Serialise a protojson dict as the message ``type_url`` names."""
    cls = _messages()[type_url]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bytes(cls.from_dict(dict(body)))


# ---- Seldon-shaped resources --------------------------------------------------------------


def seldon_listener(port: int, *, address: str = "127.0.0.1") -> JSON:
    """Listener ``seldon_http`` on ``address:port`` → RDS ``listener_0`` over ADS (no Lua)."""
    return {
        "name": "seldon_http",
        "address": {"socket_address": {"address": address, "port_value": port}},
        "filter_chains": [
            {
                "filters": [
                    {
                        "name": "envoy.filters.network.http_connection_manager",
                        "typed_config": {
                            "@type": HCM_TYPE,
                            "stat_prefix": "seldon_http",
                            "rds": {
                                "config_source": {"ads": {}, "resource_api_version": "V3"},
                                "route_config_name": "listener_0",
                            },
                            "http_filters": [
                                {
                                    "name": "envoy.filters.http.router",
                                    "typed_config": {"@type": ROUTER_TYPE},
                                }
                            ],
                        },
                    }
                ]
            }
        ],
    }


def seldon_model_route(model: str, versions: Mapping[str, int]) -> JSON:
    """Route ``<model>_http``: prefix ``/v2``, ``seldon-model`` exact, ``x-seldon-route`` absent.

    ``versions`` maps ``<model>_<version>`` (the internal name) to its weight; each weighted
    cluster ``<internal>_http`` sets ``seldon-internal-model: <internal>`` on the request and
    ``x-seldon-route: :<internal>:`` on the response, as the scheduler does.
    """
    clusters = [
        {
            "name": f"{internal}_http",
            "weight": weight,
            "request_headers_to_add": [
                {"header": {"key": "seldon-internal-model", "value": internal}}
            ],
            "request_headers_to_remove": ["seldon-internal-model"],
            "response_headers_to_add": [
                {"header": {"key": "x-seldon-route", "value": f":{internal}:"}}
            ],
        }
        for internal, weight in versions.items()
    ]
    return {
        "name": f"{model}_http",
        "match": {
            "prefix": "/v2",
            "headers": [
                {"name": "seldon-model", "string_match": {"exact": model}},
                {"name": "x-seldon-route", "present_match": False},
            ],
        },
        "route": {"weighted_clusters": {"clusters": clusters}, "timeout": "0s"},
    }


def seldon_route_config(routes: Iterable[JSON], *, name: str = "listener_0") -> JSON:
    """Route configuration ``listener_0`` (virtual host ``seldon_service``, domains ``*``)."""
    vhost: JSON = {
        "name": "seldon_service" if name == "listener_0" else "seldon_mirror",
        "domains": ["*"],
    }
    routes = list(routes)
    if routes:  # protojson leaves empty lists out; keep served == decoded
        vhost["routes"] = routes
    return {"name": name, "virtual_hosts": [vhost]}


def seldon_cluster(name: str, host: str, port: int) -> JSON:
    """Model cluster ``<model>_<version>_http``: STRICT_DNS with an inline load assignment."""
    return {
        "name": name,
        "type": "STRICT_DNS",
        "connect_timeout": "5s",
        "lb_policy": "LEAST_REQUEST",
        "dns_lookup_family": "V4_ONLY",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": {"socket_address": {"address": host, "port_value": port}}
                            }
                        }
                    ]
                }
            ],
        },
    }


def seldon_resources(
    *,
    listener_port: int,
    upstream_port: int,
    models: Mapping[str, Mapping[str, int]] | None = None,
    upstream_host: str = "127.0.0.1",
) -> dict[str, list[JSON]]:
    """A whole Seldon-shaped set: ``{"listener": [...], "route": [...], "cluster": [...]}``.

    ``models`` maps model name to ``{internal_name: weight}``;
    default ``{"iris": {"iris_1": 100}}``.
    Every cluster points at ``upstream_host:upstream_port`` (the agent's reverse proxy).
    """
    models = {"iris": {"iris_1": 100}} if models is None else models
    routes = [seldon_model_route(model, versions) for model, versions in models.items()]
    clusters = [
        seldon_cluster(f"{internal}_http", upstream_host, upstream_port)
        for versions in models.values()
        for internal in versions
    ]
    return {
        "listener": [seldon_listener(listener_port)],
        "route": [seldon_route_config(routes), seldon_route_config([], name="listener_1")],
        "cluster": clusters,
    }


# ---- the server ---------------------------------------------------------------------------


@dataclass
class _Entry:
    version: str
    body: JSON
    payload: bytes


@dataclass
class AckRecord:
    """One ACK or NACK received from a node."""

    node_id: str
    type_url: str
    nonce: str
    error: str | None  # None for an ACK, the error_detail message for a NACK


@dataclass
class _Stream:
    node_id: str = ""
    subscriptions: dict[str, set[str] | None] = field(default_factory=dict)  # None = wildcard
    sent: dict[str, dict[str, str]] = field(default_factory=dict)  # type -> name -> version
    last_nonce: dict[str, str] = field(default_factory=dict)  # type -> nonce awaiting (N)ACK
    answered_nonce: dict[str, str] = field(default_factory=dict)
    outgoing: queue.Queue[bytes | None] = field(default_factory=queue.Queue)


class XdsTestServer:
    """A Delta ADS server on 127.0.0.1:<free port>. Use :meth:`start` / :meth:`stop`."""

    def __init__(
        self, *, host: str = "127.0.0.1", route_node_ids: Iterable[str] | None = ("test-id",)
    ) -> None:
        self.host = host
        # Like the scheduler's route SnapshotCache keyed by node id: other nodes get listeners
        # and clusters but no routes. None serves routes to every node.
        self.route_node_ids = None if route_node_ids is None else set(route_node_ids)
        self.port = 0
        self._lock = threading.Condition()
        self._store: dict[str, dict[str, _Entry]] = {t: {} for t in KINDS.values()}
        self._streams: list[_Stream] = []
        self._versions = itertools.count(1)
        self._nonces = itertools.count(1)
        self.acks: list[AckRecord] = []
        self.nodes_seen: list[str] = []
        self._server: Any = None

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def target(self) -> str:
        """``host:port`` for gRPC clients and the Envoy bootstrap."""
        return f"{self.host}:{self.port}"

    def start(self) -> XdsTestServer:
        import grpc

        _messages()  # import once, up front, outside any stream thread
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="xds"))
        handler = grpc.method_handlers_generic_handler(
            _SERVICE,
            {
                "DeltaAggregatedResources": grpc.stream_stream_rpc_method_handler(
                    self._delta, request_deserializer=None, response_serializer=None
                )
            },
        )
        server.add_generic_rpc_handlers((handler,))
        self.port = server.add_insecure_port(f"{self.host}:0")
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        with self._lock:
            for stream in self._streams:
                stream.outgoing.put(None)
        if self._server is not None:
            self._server.stop(grace=0.5).wait(2.0)
            self._server = None

    def __enter__(self) -> XdsTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what is served ---------------------------------------------------------------------

    def put(self, kind: str, *bodies: JSON) -> None:
        """Add or replace resources of ``kind`` (``listener`` / ``cluster`` / ``route``)."""
        type_url = KINDS[kind]
        with self._lock:
            for body in bodies:
                payload = encode(type_url, body)
                version = str(next(self._versions))
                self._store[type_url][str(body["name"])] = _Entry(version, dict(body), payload)
            self._push_all_locked()

    def remove(self, kind: str, *names: str) -> None:
        """Withdraw resources by name; connected nodes get them in ``removed_resources``."""
        type_url = KINDS[kind]
        with self._lock:
            for name in names:
                self._store[type_url].pop(name, None)
            self._push_all_locked()

    def replace(self, resources: Mapping[str, Iterable[JSON]]) -> None:
        """Serve exactly ``resources`` (``{"listener": [...], ...}``); kinds absent are emptied."""
        with self._lock:
            for kind, type_url in KINDS.items():
                wanted = {str(b["name"]): b for b in resources.get(kind, [])}
                current = self._store[type_url]
                for name in list(current):
                    if name not in wanted:
                        del current[name]
                for name, body in wanted.items():
                    old = current.get(name)
                    payload = encode(type_url, body)
                    if old is not None and old.payload == payload:
                        continue
                    current[name] = _Entry(str(next(self._versions)), dict(body), payload)
            self._push_all_locked()

    def served(self, kind: str) -> dict[str, JSON]:
        """The protojson bodies currently served for ``kind``, by name."""
        with self._lock:
            return {name: dict(e.body) for name, e in self._store[KINDS[kind]].items()}

    def wait_acked(self, timeout: float = 10.0) -> None:
        """Block until every connected stream has answered its latest response of every type."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                pending = [
                    (s.node_id, t)
                    for s in self._streams
                    for t, nonce in s.last_nonce.items()
                    if s.answered_nonce.get(t) != nonce
                ]
                if not pending:
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"xDS updates not ACKed within {timeout}s: {pending}")
                self._lock.wait(left)

    def wait_for_node(self, node_id: str, timeout: float = 10.0) -> None:
        """Block until a node with ``node_id`` has opened a stream."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not any(s.node_id == node_id for s in self._streams):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"node {node_id!r} did not connect within {timeout}s")
                self._lock.wait(left)

    @property
    def nacks(self) -> list[AckRecord]:
        return [a for a in self.acks if a.error is not None]

    @property
    def connected_nodes(self) -> list[str]:
        with self._lock:
            return [s.node_id for s in self._streams]

    # -- the Delta ADS stream ---------------------------------------------------------------

    def _delta(self, requests: Iterator[bytes], context: Any) -> Iterator[bytes]:
        stream = _Stream()
        with self._lock:
            self._streams.append(stream)
        reader = threading.Thread(
            target=self._read_requests, args=(stream, requests), name="xds-req", daemon=True
        )
        reader.start()
        try:
            while context.is_active():
                try:
                    item = stream.outgoing.get(timeout=0.25)
                except queue.Empty:
                    continue
                if item is None:
                    return
                yield item
        finally:
            with self._lock:
                if stream in self._streams:
                    self._streams.remove(stream)
                self._lock.notify_all()

    def _read_requests(self, stream: _Stream, requests: Iterator[bytes]) -> None:
        from envoy_data_plane.envoy.service.discovery.v3 import DeltaDiscoveryRequest

        try:
            for raw in requests:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    request = DeltaDiscoveryRequest.parse(raw)
                with self._lock:
                    self._handle_locked(stream, request)
        except Exception:  # the stream was cancelled or the peer went away
            pass
        finally:
            stream.outgoing.put(None)

    def _handle_locked(self, stream: _Stream, request: Any) -> None:
        if request.node is not None and request.node.id and not stream.node_id:
            stream.node_id = request.node.id
            self.nodes_seen.append(request.node.id)
        type_url = request.type_url
        if request.response_nonce:
            error = request.error_detail.message if request.error_detail is not None else None
            self.acks.append(AckRecord(stream.node_id, type_url, request.response_nonce, error))
            stream.answered_nonce[type_url] = request.response_nonce
        subscribe = list(request.resource_names_subscribe)
        unsubscribe = set(request.resource_names_unsubscribe)
        if type_url not in stream.subscriptions:
            wildcard = not subscribe or "*" in subscribe
            stream.subscriptions[type_url] = None if wildcard else set(subscribe)
            stream.sent.setdefault(type_url, {})
        else:
            current = stream.subscriptions[type_url]
            if current is not None:
                current.update(n for n in subscribe if n != "*")
                current.difference_update(unsubscribe)
                if "*" in subscribe:
                    stream.subscriptions[type_url] = None
        self._push_locked(stream, type_url)
        self._lock.notify_all()

    def _push_all_locked(self) -> None:
        for stream in self._streams:
            for type_url in list(stream.subscriptions):
                self._push_locked(stream, type_url)
        self._lock.notify_all()

    def _push_locked(self, stream: _Stream, type_url: str) -> None:
        from envoy_data_plane.envoy.service.discovery.v3 import DeltaDiscoveryResponse, Resource
        from envoy_data_plane.google.protobuf import Any as AnyMessage

        if (
            type_url == ROUTE_TYPE
            and self.route_node_ids is not None
            and stream.node_id not in self.route_node_ids
        ):
            return
        names = stream.subscriptions.get(type_url, set())
        store = self._store[type_url]
        wanted = set(store) if names is None else {n for n in names if n in store}
        sent = stream.sent.setdefault(type_url, {})
        changed = [n for n in sorted(wanted) if sent.get(n) != store[n].version]
        removed = sorted(n for n in sent if n not in wanted)
        if not changed and not removed:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            resources = [
                Resource(
                    name=n,
                    version=store[n].version,
                    resource=AnyMessage(type_url=type_url, value=store[n].payload),
                )
                for n in changed
            ]
            nonce = str(next(self._nonces))
            response = DeltaDiscoveryResponse(
                system_version_info=str(max((int(e.version) for e in store.values()), default=0)),
                type_url=type_url,
                resources=resources,
                removed_resources=removed,
                nonce=nonce,
            )
            payload = bytes(response)
        for n in changed:
            sent[n] = store[n].version
        for n in removed:
            del sent[n]
        stream.last_nonce[type_url] = nonce
        stream.outgoing.put(payload)
