"""Read the live data plane into a Snapshot: Envoy admin, scheduler status API, scheduler xDS.

The only module that calls the ``seldon_doctor.clients`` clients. Each option value is
``[NAMESPACE=]ADDRESS``; without a namespace the one namespace of the input that runs Envoy
(``sources.attribution.envoy_namespaces``) is used, else the scan's ``-n``. Every failure becomes a
:class:`~seldon_doctor.snapshot.Gap` (``envoy:<ns>``, ``scheduler:<ns>``,
``scheduler-xds:<ns>``) with the client's one-line reason: the scan goes on and reports it
(SD002, exit 3). Every call has a deadline (``timeout`` seconds per endpoint).

Fixtures and snapshot bundles carry the same observations as JSON files
(:func:`load_scheduler_files`, :func:`load_xds_files`): ``scheduler/<ns>.json`` is
``SchedulerState.to_dict()``, ``xds/<ns>.json`` is ``XdsSnapshot.to_dict()``.

Live mode reaches Envoy's admin (bound to 127.0.0.1:9901 inside the pod since 2.8.5) and the
scheduler's 9002/9004 through the API server: :func:`observe_via_portforward`.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from seldon_doctor.domain import scheduler_state
from seldon_doctor.domain.scheduler_state import SchedulerState
from seldon_doctor.domain.xds_state import xds_snapshot_from_dict
from seldon_doctor.errors import InputError
from seldon_doctor.snapshot import (
    EnvoyObservation,
    Gap,
    KubeObject,
    Origin,
    SchedulerObservation,
    Snapshot,
    XdsObservation,
)
from seldon_doctor.sources.attribution import envoy_namespaces, split_dump_arg

if TYPE_CHECKING:
    from seldon_doctor.graph.build import DeploymentGraph

DEFAULT_TIMEOUT = 5.0
ENVOY_ADMIN_PORT = 9901
SCHEDULER_XDS_PORT = 9002
SCHEDULER_API_PORT = 9004


@dataclass(slots=True)
class DataplaneInputs:
    """What the user asked to read from the data plane."""

    envoy_admin: Sequence[str] = ()
    schedulers: Sequence[str] = ()
    scheduler_xds: Sequence[str] = ()
    scheduler_files: Sequence[str] = ()  # NAMESPACE=PATH of SchedulerState JSON
    xds_files: Sequence[str] = ()  # NAMESPACE=PATH of XdsSnapshot JSON
    namespace: str = "default"
    timeout: float = DEFAULT_TIMEOUT
    node_id: str = "test-id"
    extra: dict[str, Any] = field(default_factory=dict)

    def any(self) -> bool:
        return bool(
            self.envoy_admin
            or self.schedulers
            or self.scheduler_xds
            or self.scheduler_files
            or self.xds_files
        )


def split_arg(value: str) -> tuple[str | None, str]:
    """``NAMESPACE=ADDRESS`` or a bare ``ADDRESS`` (URLs with ``=`` in a query stay whole)."""
    return split_dump_arg(value)


def _namespace_for(
    given: str | None, objects: Sequence[KubeObject], default: str, flag: str, value: str
) -> str:
    if given is not None:
        return given
    candidates = envoy_namespaces(objects)
    if len(candidates) == 1:
        return next(iter(candidates))
    if len(candidates) > 1:
        raise InputError(
            f"{flag} {value}: several namespaces run Envoy ({', '.join(sorted(candidates))}); "
            f"say which one with NAMESPACE={value}"
        )
    return default


# ---------------------------------------------------------------------------- live reads


def observe_envoy(url: str, namespace: str, *, timeout: float) -> EnvoyObservation:
    """``/ready``, ``/config_dump?include_eds`` and the route counters of one Envoy admin."""
    from seldon_doctor.clients import envoy_admin
    from seldon_doctor.clients.errors import DataplaneUnavailable
    from seldon_doctor.domain.envoy_parse import DumpError, parse_config_dump

    seen = envoy_admin.observe(url, timeout=timeout)
    try:
        config = parse_config_dump(seen.config_dump)
    except DumpError as exc:
        raise DataplaneUnavailable(f"Envoy admin {seen.admin_url}: {exc}") from None
    return EnvoyObservation(
        namespace=namespace,
        origin=Origin(file=f"{seen.admin_url}/config_dump"),
        raw=seen.config_dump,
        config=config,
        ready=seen.ready,
        counters=dict(seen.counters),
    )


def observe_scheduler(target: str, namespace: str, *, timeout: float) -> SchedulerObservation:
    from seldon_doctor.clients.scheduler_api import fetch_scheduler_state

    state = fetch_scheduler_state(_with_port(target, SCHEDULER_API_PORT), timeout)
    return SchedulerObservation(namespace, state.target, state, Origin(file=f"grpc://{target}"))


def observe_xds(target: str, namespace: str, *, timeout: float, node_id: str) -> XdsObservation:
    from seldon_doctor.clients.xds_client import fetch_xds

    snap = fetch_xds(_with_port(target, SCHEDULER_XDS_PORT), node_id=node_id, timeout=timeout)
    return XdsObservation(namespace, snap.target, snap, Origin(file=f"grpc://{target}"))


def _with_port(target: str, port: int) -> str:
    target = target.strip()
    if "://" in target:
        target = target.split("://", 1)[1]
    target = target.rstrip("/")
    if re.search(r":\d+$", target):
        return target
    return f"{target}:{port}"


def collect_dataplane(snapshot: Snapshot, inputs: DataplaneInputs) -> Snapshot:
    """Add every requested observation to ``snapshot``; failures become gaps, never raise."""
    from seldon_doctor.clients.errors import DataplaneUnavailable

    objects = snapshot.objects
    jobs: list[tuple[str, str, str, Callable[[], None]]] = []

    for value in inputs.envoy_admin:
        given, url = split_arg(value)
        ns = _namespace_for(given, objects, inputs.namespace, "--envoy-admin", value)

        def envoy_job(url: str = url, ns: str = ns) -> None:
            snapshot.envoys.append(observe_envoy(url, ns, timeout=inputs.timeout))

        jobs.append(("envoy", ns, url, envoy_job))
    for value in inputs.schedulers:
        given, target = split_arg(value)
        ns = given or inputs.namespace

        def scheduler_job(target: str = target, ns: str = ns) -> None:
            snapshot.schedulers.append(observe_scheduler(target, ns, timeout=inputs.timeout))

        jobs.append(("scheduler", ns, target, scheduler_job))
    for value in inputs.scheduler_xds:
        given, target = split_arg(value)
        ns = given or inputs.namespace

        def xds_job(target: str = target, ns: str = ns) -> None:
            snapshot.xds.append(
                observe_xds(target, ns, timeout=inputs.timeout, node_id=inputs.node_id)
            )

        jobs.append(("scheduler-xds", ns, target, xds_job))

    for what, ns, address, job in jobs:
        try:
            job()
        except DataplaneUnavailable as exc:
            snapshot.gaps.append(Gap(f"{what}:{ns}", exc.reason, ns))
        except Exception as exc:  # a client bug must not take the scan down
            reason = f"{address}: {type(exc).__name__}: {exc}".splitlines()[0]
            snapshot.gaps.append(Gap(f"{what}:{ns}", reason, ns))
    snapshot.schedulers.extend(load_scheduler_files(inputs.scheduler_files))
    snapshot.xds.extend(load_xds_files(inputs.xds_files))
    return snapshot


# ---------------------------------------------------------------------------- files


def _read_json(flag: str, value: str) -> tuple[str, str, dict[str, Any]]:
    ns, path = split_arg(value)
    if ns is None:
        raise InputError(f"{flag} {path}: say which namespace it belongs to with NAMESPACE={path}")
    from seldon_doctor.safeio import MAX_REPORT_BYTES, read_json_file

    data = read_json_file(path, MAX_REPORT_BYTES, f"{flag} {path}")
    if not isinstance(data, dict):
        raise InputError(f"{flag} {path}: expected a JSON object")
    return ns, path, data


def load_scheduler_files(args: Sequence[str]) -> list[SchedulerObservation]:
    """``NAMESPACE=PATH`` of ``SchedulerState.to_dict()`` JSON (fixtures, bundles)."""
    out = []
    for value in args:
        ns, path, data = _read_json("--scheduler-state", value)
        state = scheduler_state_from_dict(data)
        out.append(SchedulerObservation(ns, state.target, state, Origin(file=path)))
    return out


def load_xds_files(args: Sequence[str]) -> list[XdsObservation]:
    """``NAMESPACE=PATH`` of ``XdsSnapshot.to_dict()`` JSON (fixtures, bundles)."""
    out = []
    for value in args:
        ns, path, data = _read_json("--scheduler-xds-state", value)
        snap = xds_snapshot_from_dict(data)
        out.append(XdsObservation(ns, snap.target, snap, Origin(file=path)))
    return out


def scheduler_state_from_dict(data: dict[str, Any]) -> SchedulerState:
    """Inverse of ``SchedulerState.to_dict()``; a wrong shape is an :class:`InputError`."""
    try:
        return scheduler_state.scheduler_state_from_dict(data)
    except TypeError as exc:
        raise InputError(f"scheduler state: unexpected shape ({exc})") from None


# ---------------------------------------------------------------------------- live mode


def _forward_failure(namespace: str, pod: str, port: int, exc: BaseException) -> str:
    """One line for a port-forward the API server refused (the client's message is a dump of
    the handshake: status line, headers and the Status body)."""
    text = str(getattr(exc, "reason", "") or exc)
    status = re.search(r"Handshake status (\d{3}(?: [A-Za-z]+)*)", text)
    message = re.search(r'"message"\s*:\s*"((?:[^"\\]|\\.)*)"', text)
    detail = status.group(1) if status else text.splitlines()[0] if text else type(exc).__name__
    if message:
        detail += ": " + message.group(1).replace('\\"', '"')
    return f"port-forward to {namespace}/{pod}:{port} failed: {detail}"


class PortForwarder:
    """A local port that relays to ``pod:remote_port`` through the API server.

    Each local connection gets its own stream from the kubernetes client's ``portforward``
    (``connect_get_namespaced_pod_portforward``), as ``kubectl port-forward`` does; it lands
    on the pod's loopback, so Envoy's admin bound to 127.0.0.1:9901 is reachable. The first
    stream is opened at once, so a refused port-forward (403, unknown pod, no API server) is
    :class:`DataplaneUnavailable` here, before anything waits on the port.
    """

    def __init__(self, namespace: str, pod: str, remote_port: int, *, api: Any = None) -> None:
        import socket
        import threading

        from seldon_doctor.clients.errors import DataplaneUnavailable

        try:
            from kubernetes import client as k8s_client
            from kubernetes.stream import portforward
        except ImportError:
            raise DataplaneUnavailable("the kubernetes client is not installed") from None
        self.namespace, self.pod, self.remote_port = namespace, pod, remote_port
        self._portforward = portforward
        self._core = api or k8s_client.CoreV1Api()
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._spare: Any = self._open()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self._listener.settimeout(0.2)
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _open(self) -> Any:
        from seldon_doctor.clients.errors import DataplaneUnavailable

        try:
            return self._portforward(
                self._core.connect_get_namespaced_pod_portforward,
                self.pod,
                self.namespace,
                ports=str(self.remote_port),
            )
        except Exception as exc:
            reason = _forward_failure(self.namespace, self.pod, self.remote_port, exc)
            raise DataplaneUnavailable(reason) from None

    def _accept(self) -> None:
        import threading

        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: Any) -> None:
        import socket
        import threading

        from seldon_doctor.clients.errors import DataplaneUnavailable

        forward, self._spare = self._spare, None
        try:
            forward = forward or self._open()
            remote = forward.socket(self.remote_port)
        except DataplaneUnavailable as exc:
            self.errors.append(exc.reason)
            conn.close()
            return
        except Exception as exc:
            self.errors.append(_forward_failure(self.namespace, self.pod, self.remote_port, exc))
            conn.close()
            return

        def pump(src: Any, dst: Any, before_eof: Callable[[], None] | None = None) -> None:
            with contextlib.suppress(OSError):
                while not self._stop.is_set():
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            if before_eof is not None:
                before_eof()
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

        def note_refusal() -> None:
            # kubelet's word on the error channel (port closed in the pod), recorded before
            # the local client sees the connection end, so the read's failure can name it.
            with contextlib.suppress(Exception):
                refused = forward.error(self.remote_port)
                if refused:
                    where = f"{self.namespace}/{self.pod}:{self.remote_port}"
                    self.errors.append(f"port-forward to {where}: {refused}".splitlines()[0])

        back = threading.Thread(target=pump, args=(remote, conn, note_refusal), daemon=True)
        back.start()
        pump(conn, remote)
        back.join(timeout=1.0)
        conn.close()
        with contextlib.suppress(Exception):
            forward.close()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        spare, self._spare = self._spare, None
        if spare is not None:
            with contextlib.suppress(Exception):
                spare.close()

    def __enter__(self) -> PortForwarder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def forwarded_port(namespace: str, pod: str, port: int, api: Any = None) -> Iterator[str]:
    """``127.0.0.1:P`` relayed to ``pod:port`` through the API server while the block runs.

    Raises:
        DataplaneUnavailable: the API server refused the port-forward.
    """
    with PortForwarder(namespace, pod, port, api=api) as forwarder:
        yield forwarder.address


def observe_via_portforward(
    namespace: str, pod: str, remote_port: int, read: Callable[[str], Any], *, api: Any = None
) -> Any:
    """Relay a local port to ``pod:remote_port`` through the API server and call ``read``.

    ``read`` gets a local address (``127.0.0.1:<port>``), see :class:`PortForwarder`; the
    relay stops when ``read`` returns. Failures to open a stream are
    :class:`DataplaneUnavailable` (the API server's refusal, rather than ``read``'s own
    client seeing a dropped connection). Live mode (``observe_live``) calls this per Envoy pod
    with port 9901 and per scheduler pod with 9004 and 9002.
    """
    from seldon_doctor.clients.errors import DataplaneUnavailable

    with PortForwarder(namespace, pod, remote_port, api=api) as forwarder:
        try:
            return read(forwarder.address)
        except DataplaneUnavailable as exc:
            if forwarder.errors:
                raise DataplaneUnavailable(forwarder.errors[0].splitlines()[0]) from None
            raise exc


# ---- the seldon-mesh Service, for probes --------------------------------------------------

MESH_SERVICE = "seldon-mesh"


def _raw_json(response: Any) -> dict[str, Any]:
    """The JSON body of a ``_preload_content=False`` call."""
    data = json.loads(response.data)
    return data if isinstance(data, dict) else {}


def _read_optional(what: str, call: Callable[[], Any]) -> dict[str, Any] | None:
    """GET one object; None when the API server says 404."""
    from seldon_doctor.clients.errors import DataplaneUnavailable

    try:
        return _raw_json(call())
    except Exception as exc:
        if getattr(exc, "status", None) == 404:
            return None
        raise DataplaneUnavailable(f"reading {what}: {_forward_failure_line(exc)}") from None


def read_mesh_snapshot(namespace: str, api: Any) -> Snapshot:
    """What resolving ``seldon-mesh`` from ``namespace`` needs, read from the API server along
    its alias chain: per hop the Namespace and the Service (GET), then the Endpoints of the
    Service the chain ends at and the pods its selector picks (LIST). A live Snapshot, for
    :func:`seldon_doctor.graph.mesh.mesh_envoy` when no live read of the cluster is at hand.

    Raises:
        DataplaneUnavailable: the API server refused a read (other than 404).
    """
    from seldon_doctor.clients.errors import DataplaneUnavailable
    from seldon_doctor.graph.build import MAX_ALIAS_HOPS, parse_service_host

    snapshot = Snapshot(live=True)

    def keep(body: dict[str, Any] | None, kind: str, ns: str = "") -> dict[str, Any] | None:
        if body is not None:
            body.setdefault("kind", kind)
            body.setdefault("apiVersion", "v1")
            if ns:
                body.setdefault("metadata", {}).setdefault("namespace", ns)
            snapshot.objects.append(KubeObject(body))
        return body

    def get(what: str, method: Callable[..., Any], *args: str) -> dict[str, Any] | None:
        return _read_optional(what, lambda: method(*args, _preload_content=False))

    host, ns, seen = MESH_SERVICE, namespace, set()
    for _ in range(MAX_ALIAS_HOPS):
        target = parse_service_host(host, ns)
        if target is None or target in seen:
            break
        seen.add(target)
        name, ns = target
        try:
            keep(get(f"Namespace {ns}", api.read_namespace, ns), "Namespace")
        except DataplaneUnavailable as exc:  # e.g. only a namespaced Role: existence unknown
            snapshot.gaps.append(Gap("kind:Namespace", exc.reason, ns))
        service = keep(
            get(f"Service {ns}/{name}", api.read_namespaced_service, name, ns), "Service", ns
        )
        if service is None:
            break
        spec = service.get("spec") or {}
        if spec.get("type") == "ExternalName":
            host = str(spec.get("externalName") or "")
            continue
        keep(
            get(f"Endpoints {ns}/{name}", api.read_namespaced_endpoints, name, ns), "Endpoints", ns
        )
        selector = spec.get("selector") or {}
        if selector:
            try:
                listed = api.list_namespaced_pod(
                    ns,
                    label_selector=",".join(f"{k}={v}" for k, v in selector.items()),
                    _preload_content=False,
                )
            except Exception as exc:
                raise DataplaneUnavailable(
                    f"listing Envoy pods in {ns}: {_forward_failure_line(exc)}"
                ) from None
            for pod in _raw_json(listed).get("items") or []:
                if isinstance(pod, dict):
                    keep(pod, "Pod", ns)
        break
    return snapshot


def _forward_failure_line(exc: BaseException) -> str:
    status, reason = getattr(exc, "status", None), getattr(exc, "reason", None)
    if status:
        return f"{status} {reason or ''}".strip()
    return (str(exc).splitlines() or [type(exc).__name__])[0]


@contextlib.contextmanager
def mesh_endpoint(namespace: str, api: Any, graph: DeploymentGraph | None = None) -> Iterator[str]:
    """A base URL (``http://127.0.0.1:P``) for ``seldon-mesh`` of ``namespace`` through an
    API-server port-forward to the Envoy pod behind it (what ``kubectl port-forward
    svc/seldon-mesh`` does, following ExternalName aliases as a client in ``namespace``
    would). The pod is :func:`seldon_doctor.graph.mesh.mesh_envoy`'s choice in ``graph`` (a
    live read of the cluster) when it finds one there; else in the objects
    :func:`read_mesh_snapshot` reads along the alias chain.

    Raises:
        DataplaneUnavailable: no Envoy pod, or the port-forward was refused.
    """
    from seldon_doctor.clients.errors import DataplaneUnavailable
    from seldon_doctor.graph.build import build_graph
    from seldon_doctor.graph.mesh import MeshEnvoy, NoMeshEnvoy, mesh_envoy

    envoy: MeshEnvoy | None = None
    if graph is not None:
        with contextlib.suppress(NoMeshEnvoy):
            envoy = mesh_envoy(graph, namespace)
    if envoy is None:
        try:
            envoy = mesh_envoy(build_graph(read_mesh_snapshot(namespace, api)), namespace)
        except NoMeshEnvoy as exc:
            raise DataplaneUnavailable(exc.reason) from None
    with forwarded_port(envoy.namespace, envoy.pod, envoy.port, api) as address:
        yield f"http://{address}"


def observe_live(
    snapshot: Snapshot,
    *,
    api: Any = None,
    timeout: float = DEFAULT_TIMEOUT,
    node_id: str = "test-id",
    namespaces: Sequence[str] | None = None,
) -> Snapshot:
    """Live mode: read every running Envoy and scheduler pod of the snapshot through the API
    server (``observe_via_portforward``): Envoy admin 9901, scheduler status 9004 and xDS 9002.

    Pods are found by ``app.kubernetes.io/name`` = ``seldon-envoy`` / ``seldon-scheduler``.
    Each failure is a gap (``envoy:<ns>``, ``scheduler:<ns>``, ``scheduler-xds:<ns>``).
    """
    from seldon_doctor.clients.errors import DataplaneUnavailable

    wanted = set(namespaces) if namespaces is not None else None
    pods = [
        obj
        for obj in snapshot.objects
        if obj.kind == "Pod"
        and (wanted is None or obj.namespace in wanted)
        and str(obj.status.get("phase") or "Running") == "Running"
        and not obj.metadata.get("deletionTimestamp")
    ]
    for pod in pods:
        role = pod.labels.get("app.kubernetes.io/name")
        ns, name = pod.namespace, pod.name
        reads: list[tuple[str, int, Callable[[str], None]]] = []
        if role == "seldon-envoy":

            def envoy(addr: str, ns: str = ns, name: str = name) -> None:
                obs = observe_envoy("http://" + addr, ns, timeout=timeout)
                obs.pod = name
                obs.origin = Origin(file=f"pod {ns}/{name}:{ENVOY_ADMIN_PORT}/config_dump")
                snapshot.envoys.append(obs)

            reads.append(("envoy", ENVOY_ADMIN_PORT, envoy))
        elif role == "seldon-scheduler":

            def status(addr: str, ns: str = ns) -> None:
                snapshot.schedulers.append(observe_scheduler(addr, ns, timeout=timeout))

            def served(addr: str, ns: str = ns) -> None:
                snapshot.xds.append(observe_xds(addr, ns, timeout=timeout, node_id=node_id))

            reads.append(("scheduler", SCHEDULER_API_PORT, status))
            reads.append(("scheduler-xds", SCHEDULER_XDS_PORT, served))
        for what, port, read in reads:
            try:
                observe_via_portforward(ns, name, port, read, api=api)
            except DataplaneUnavailable as exc:
                snapshot.gaps.append(Gap(f"{what}:{ns}", f"pod {name}: {exc.reason}", ns))
            except Exception as exc:  # a client bug must not take the scan down
                reason = f"pod {name}:{port}: {type(exc).__name__}: {exc}".splitlines()[0]
                snapshot.gaps.append(Gap(f"{what}:{ns}", reason, ns))
    return snapshot
