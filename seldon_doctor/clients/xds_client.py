"""Fetch what an xDS server serves to an Envoy node, over Delta ADS, as JSON-able dicts.

Seldon's scheduler serves xDS on port 9002 and its Envoys subscribe with ``DELTA_GRPC`` ADS
under node id ``test-id`` (routes are keyed on that id). :func:`fetch_xds` connects as such a
node, subscribes to listeners and clusters (wildcard) and to the route configurations
``listener_0`` / ``listener_1`` by name, ACKs every response, and collects resources until the
stream goes quiet or the deadline passes. It never applies anything: it is an observer.

Resources come back in the same snake_case protojson shape as an Envoy ``/config_dump``
(nested ``Any`` values expanded with an ``@type`` key), so the same walkers can read both.

grpc and envoy_data_plane are imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

import importlib
import queue
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from seldon_doctor.clients.errors import DataplaneUnavailable, grpc_reason
from seldon_doctor.clients.reach import wait_ready
from seldon_doctor.domain.xds_state import CLUSTER_TYPE, LISTENER_TYPE, ROUTE_TYPE, XdsSnapshot

DELTA_ADS_METHOD = "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources"
DEFAULT_NODE_ID = "test-id"
DEFAULT_NODE_CLUSTER = "test-cluster"
DEFAULT_ROUTE_NAMES: tuple[str, ...] = ("listener_0", "listener_1")
DEFAULT_TIMEOUT = 5.0
DEFAULT_QUIET = 0.5
MAX_MESSAGE_BYTES = 256 * 1024 * 1024

_TYPE_MODULES = {
    LISTENER_TYPE: ("envoy_data_plane.envoy.config.listener.v3", "Listener"),
    CLUSTER_TYPE: ("envoy_data_plane.envoy.config.cluster.v3", "Cluster"),
    ROUTE_TYPE: ("envoy_data_plane.envoy.config.route.v3", "RouteConfiguration"),
}
# Extensions Seldon's scheduler puts inside listeners and clusters; anything else is imported on
# demand from its type URL by ``_import_for_type_url``.
_PRELOAD = (
    "envoy_data_plane.envoy.extensions.filters.network.http_connection_manager.v3",
    "envoy_data_plane.envoy.extensions.filters.http.router.v3",
    "envoy_data_plane.envoy.extensions.filters.http.lua.v3",
    "envoy_data_plane.envoy.extensions.filters.http.tap.v3",
    "envoy_data_plane.envoy.extensions.access_loggers.file.v3",
    "envoy_data_plane.envoy.extensions.upstreams.http.v3",
)


def _quiet_imports() -> None:
    """Import the envoy_data_plane modules we need, hiding their pydantic deprecation noise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        importlib.import_module("envoy_data_plane.envoy.service.discovery.v3")
        for module, _ in _TYPE_MODULES.values():
            importlib.import_module(module)
        for module in _PRELOAD:
            try:
                importlib.import_module(module)
            except ImportError:  # pragma: no cover - depends on the envoy-data-plane build
                continue


def _import_for_type_url(type_url: str) -> bool:
    """Import the envoy_data_plane module defining ``type_url``; True if something was found."""
    full_name = type_url.rsplit("/", 1)[-1]
    package = full_name.rsplit(".", 1)[0]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            importlib.import_module("envoy_data_plane." + package)
    except ImportError:
        return False
    return True


def decode_resource(type_url: str, value: bytes) -> dict[str, Any]:
    """Decode one serialised Listener / Cluster / RouteConfiguration into a snake_case dict.

    Nested ``Any`` values whose type is not loaded yet are imported from their type URL; a type
    envoy-data-plane does not know raises ``ValueError`` with the type URL.
    """
    import betterproto2

    _quiet_imports()
    if type_url not in _TYPE_MODULES:
        raise ValueError(f"unexpected resource type {type_url}")
    module_name, class_name = _TYPE_MODULES[type_url]
    cls = getattr(importlib.import_module(module_name), class_name)
    message = cls.parse(value)
    tried: set[str] = set()
    for _ in range(32):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result: dict[str, Any] = message.to_dict(casing=betterproto2.Casing.SNAKE)
            return result
        except TypeError as err:
            text = str(err)
            marker = "unregistered type: "
            if marker not in text:
                raise ValueError(f"cannot render {class_name}: {text}") from None
            missing = text.split(marker, 1)[1].strip()
            if missing in tried or not _import_for_type_url(missing):
                raise ValueError(f"unknown embedded type {missing}") from None
            tried.add(missing)
    raise ValueError(f"too many embedded types in {class_name}")  # pragma: no cover


def fetch_xds(
    target: str,
    *,
    node_id: str = DEFAULT_NODE_ID,
    node_cluster: str = DEFAULT_NODE_CLUSTER,
    route_names: Sequence[str] = DEFAULT_ROUTE_NAMES,
    timeout: float = DEFAULT_TIMEOUT,
    quiet: float = DEFAULT_QUIET,
) -> XdsSnapshot:
    """Open one Delta ADS stream to ``target`` (``host:port``) and collect what it serves.

    Returns when no response arrived for ``quiet`` seconds and every subscribed type has been
    answered (or, if some type is never answered, ``quiet`` seconds after the first
    ``min(2 s, timeout/2)``), or when ``timeout`` seconds have passed in total, whichever is
    first. Raises :class:`DataplaneUnavailable` if the server cannot be reached or sends
    nothing at all before the deadline.
    """
    import grpc

    start = time.monotonic()
    deadline = start + timeout
    snapshot = XdsSnapshot(target=target, node_id=node_id)
    subscriptions: list[tuple[str, list[str]]] = [
        (CLUSTER_TYPE, []),
        (LISTENER_TYPE, []),
        (ROUTE_TYPE, list(route_names)),
    ]
    outgoing: queue.Queue[bytes | None] = queue.Queue()
    incoming: queue.Queue[object] = queue.Queue()
    end_of_stream = object()

    def request_stream() -> Iterator[bytes]:
        while True:
            item = outgoing.get()
            if item is None:
                return
            yield item

    channel = grpc.insecure_channel(
        target,
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.enable_retries", 0),
        ],
    )
    call: Any = None
    reader: threading.Thread | None = None
    try:
        wait_ready(channel, target, "xDS server", deadline, timeout)
        # Connected before importing envoy-data-plane (~1 s), so a refused target fails at
        # once; as before, the import does not count against the read's deadline.
        before = time.monotonic()
        node = _node(node_id, node_cluster)
        imported = time.monotonic() - before
        start, deadline = start + imported, deadline + imported
        _subscribe(outgoing, subscriptions, node)
        method = channel.stream_stream(DELTA_ADS_METHOD)
        call = method(request_stream(), timeout=max(deadline - time.monotonic(), 0.001))
        reader = _start_reader(call, incoming, end_of_stream)

        wanted = {type_url for type_url, _ in subscriptions}
        last_message = _receive(
            snapshot, incoming, outgoing, end_of_stream, wanted, start, deadline, timeout, quiet
        )
        if last_message is None:
            raise DataplaneUnavailable(
                f"xDS server {target} sent nothing to node {node_id!r} within {timeout:g}s",
                target=target,
            )
    finally:
        outgoing.put(None)
        if call is not None:
            call.cancel()
        channel.close()
        if reader is not None:
            reader.join(timeout=1.0)
    snapshot.elapsed = time.monotonic() - start
    return snapshot


def _node(node_id: str, node_cluster: str) -> Any:
    _quiet_imports()
    from envoy_data_plane.envoy.config.core.v3 import Node

    return Node(id=node_id, cluster=node_cluster, user_agent_name="seldon-doctor")


def _subscribe(
    outgoing: queue.Queue[bytes | None], subscriptions: list[tuple[str, list[str]]], node: Any
) -> None:
    """Queue one subscribe request per type; the first one names the node."""
    from envoy_data_plane.envoy.service.discovery.v3 import DeltaDiscoveryRequest

    for index, (type_url, names) in enumerate(subscriptions):
        request = DeltaDiscoveryRequest(type_url=type_url, resource_names_subscribe=names)
        if index == 0:
            request.node = node
        outgoing.put(bytes(request))


def _start_reader(
    call: Any, incoming: queue.Queue[object], end_of_stream: object
) -> threading.Thread:
    """A daemon thread moving the stream's responses (or its error, then ``end_of_stream``)
    onto ``incoming``."""

    def read() -> None:
        try:
            for raw in call:
                incoming.put(raw)
        except Exception as err:  # grpc.RpcError or anything else: the caller reports it
            incoming.put(err)
        finally:
            incoming.put(end_of_stream)

    reader = threading.Thread(target=read, name="xds-reader", daemon=True)
    reader.start()
    return reader


def _receive(
    snapshot: XdsSnapshot,
    incoming: queue.Queue[object],
    outgoing: queue.Queue[bytes | None],
    end_of_stream: object,
    wanted: set[str],
    start: float,
    deadline: float,
    timeout: float,
    quiet: float,
) -> float | None:
    """Fold responses into ``snapshot`` (ACKing each) until the stream settles, ends or the
    deadline passes; the time of the last response, None when none came."""
    from envoy_data_plane.envoy.service.discovery.v3 import (
        DeltaDiscoveryRequest,
        DeltaDiscoveryResponse,
    )

    target = snapshot.target
    grace = min(2.0, timeout / 2)
    last_message: float | None = None
    while True:
        now = time.monotonic()
        if now >= deadline:
            break
        wait = deadline - now
        if last_message is not None:
            settled = wanted <= snapshot.answered or now - start >= grace
            quiet_left = last_message + quiet - now
            if settled and quiet_left <= 0:
                snapshot.complete = True
                break
            wait = min(wait, max(quiet_left, 0.02))
        try:
            item = incoming.get(timeout=wait)
        except queue.Empty:
            continue
        if item is end_of_stream:
            snapshot.complete = last_message is not None
            break
        if isinstance(item, BaseException):
            if last_message is None:
                raise DataplaneUnavailable(
                    grpc_reason(
                        item,
                        f"xDS server {target}",
                        timeout,
                        unimplemented="does not serve Delta ADS (DeltaAggregatedResources)",
                    ),
                    target=target,
                ) from None
            break  # the stream failed after we had data: return what we have
        assert isinstance(item, bytes)
        response = DeltaDiscoveryResponse.parse(item)
        last_message = time.monotonic()
        _apply(snapshot, response)
        ack = DeltaDiscoveryRequest(type_url=response.type_url, response_nonce=response.nonce)
        outgoing.put(bytes(ack))
    return last_message


def _apply(snapshot: XdsSnapshot, response: Any) -> None:
    """Fold one DeltaDiscoveryResponse into the snapshot."""
    type_url: str = response.type_url
    snapshot.responses += 1
    snapshot.answered.add(type_url)
    if response.system_version_info:
        snapshot.system_versions[type_url] = response.system_version_info
    if type_url not in _TYPE_MODULES:
        return
    bucket = snapshot.by_type(type_url)
    versions = snapshot.versions.setdefault(type_url, {})
    for resource in response.resources:
        name: str = resource.name
        packed = resource.resource
        if packed is None:
            continue
        try:
            body = decode_resource(packed.type_url or type_url, packed.value)
        except ValueError as err:
            snapshot.decode_errors[name] = str(err)
            continue
        bucket[name or str(body.get("name", ""))] = body
        versions[name] = resource.version
    for name in response.removed_resources:
        bucket.pop(name, None)
        versions.pop(name, None)
