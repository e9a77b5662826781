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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
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
from seldon_doctor.sources.portforward import (
    forwarded_port,
    observe_via_portforward,
)

if TYPE_CHECKING:
    from seldon_doctor.graph.build import DeploymentGraph

DEFAULT_TIMEOUT = 5.0
# Data-plane reads at once: each mostly waits on its endpoint, a port-forward costs 3-5 threads.
# Endpoints that never answer cost one --dataplane-timeout per this many (~10 namespaces).
DATAPLANE_WORKERS = 32
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


@dataclass(slots=True)
class _Read:
    """One data-plane read: its gap's subject, where its observation goes, the call."""

    what: str  # envoy, scheduler, scheduler-xds
    namespace: str
    into: list[Any]  # snapshot.envoys, .schedulers or .xds
    call: Callable[[], Any]
    label: str  # names the endpoint in a client bug's gap
    prefix: str = ""  # before the client's reason in a gap (``pod NAME: ``)


def _read_all(snapshot: Snapshot, reads: Sequence[_Read]) -> None:
    """Run ``reads`` in parallel (a bounded pool: each waits on its own endpoint and deadline,
    so N namespaces cost about one deadline, not N) and add their observations or gaps to
    ``snapshot`` in the order of ``reads``, whichever finished first."""
    from seldon_doctor.clients.errors import DataplaneUnavailable

    def one(read: _Read) -> Any:
        try:
            return read.call()
        except DataplaneUnavailable as exc:
            return Gap(f"{read.what}:{read.namespace}", read.prefix + exc.reason, read.namespace)
        except Exception as exc:  # a client bug must not take the scan down
            reason = f"{read.label}: {type(exc).__name__}: {exc}".splitlines()[0]
            return Gap(f"{read.what}:{read.namespace}", reason, read.namespace)

    if len(reads) > 1:
        with ThreadPoolExecutor(
            max_workers=min(DATAPLANE_WORKERS, len(reads)), thread_name_prefix="seldon-doctor-dp"
        ) as pool:
            results = list(pool.map(one, reads))
    else:
        results = [one(read) for read in reads]
    for read, result in zip(reads, results, strict=True):
        if isinstance(result, Gap):
            snapshot.gaps.append(result)
        else:
            read.into.append(result)


def collect_dataplane(snapshot: Snapshot, inputs: DataplaneInputs) -> Snapshot:
    """Add every requested observation to ``snapshot``; failures become gaps, never raise."""
    objects = snapshot.objects
    reads: list[_Read] = []
    call: Callable[[], Any]
    for value in inputs.envoy_admin:
        given, url = split_arg(value)
        ns = _namespace_for(given, objects, inputs.namespace, "--envoy-admin", value)
        call = partial(observe_envoy, url, ns, timeout=inputs.timeout)
        reads.append(_Read("envoy", ns, snapshot.envoys, call, url))
    for value in inputs.schedulers:
        given, target = split_arg(value)
        ns = given or inputs.namespace
        call = partial(observe_scheduler, target, ns, timeout=inputs.timeout)
        reads.append(_Read("scheduler", ns, snapshot.schedulers, call, target))
    for value in inputs.scheduler_xds:
        given, target = split_arg(value)
        ns = given or inputs.namespace
        call = partial(observe_xds, target, ns, timeout=inputs.timeout, node_id=inputs.node_id)
        reads.append(_Read("scheduler-xds", ns, snapshot.xds, call, target))
    _read_all(snapshot, reads)
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


def preload_live_clients() -> None:
    """Import the port-forward client in the background while the cluster is being read.

    ``kubernetes``' CoreV1Api (with its model classes) and gRPC take 0.5-1 s to import, and
    the LISTs before ``observe_live`` mostly wait on the network; the modules are disjoint from
    what the main thread imports meanwhile.
    """
    import importlib
    import threading

    def load() -> None:
        for module in ("kubernetes.client.api.core_v1_api", "kubernetes.stream", "grpc"):
            with contextlib.suppress(Exception):  # the real import reports it later
                importlib.import_module(module)

    threading.Thread(target=load, daemon=True, name="seldon-doctor-preload").start()


def observe_live(
    snapshot: Snapshot,
    *,
    api: Any = None,
    timeout: float = DEFAULT_TIMEOUT,
    node_id: str = "test-id",
    namespaces: Sequence[str] | None = None,
) -> Snapshot:
    """Live mode: read every running Envoy and scheduler pod of the snapshot through the API
    server (``observe_via_portforward``): Envoy admin 9901, scheduler status 9004 and xDS 9002,
    all pods in parallel (``_read_all``); a refused forward fails its read at once.

    Pods are found by ``app.kubernetes.io/name`` = ``seldon-envoy`` / ``seldon-scheduler``.
    Each failure is a gap (``envoy:<ns>``, ``scheduler:<ns>``, ``scheduler-xds:<ns>``).
    """
    wanted = set(namespaces) if namespaces is not None else None
    pods = [
        obj
        for obj in snapshot.objects
        if obj.kind == "Pod"
        and (wanted is None or obj.namespace in wanted)
        and str(obj.status.get("phase") or "Running") == "Running"
        and not obj.metadata.get("deletionTimestamp")
    ]
    reads: list[_Read] = []
    for pod in pods:
        role = pod.labels.get("app.kubernetes.io/name")
        ns, name = pod.namespace, pod.name
        ports: list[tuple[str, int, list[Any], Callable[[str], Any]]] = []
        if role == "seldon-envoy":

            def envoy(addr: str, ns: str = ns, name: str = name) -> EnvoyObservation:
                obs = observe_envoy("http://" + addr, ns, timeout=timeout)
                obs.pod = name
                obs.origin = Origin(file=f"pod {ns}/{name}:{ENVOY_ADMIN_PORT}/config_dump")
                return obs

            ports.append(("envoy", ENVOY_ADMIN_PORT, snapshot.envoys, envoy))
        elif role == "seldon-scheduler":
            status = partial(_scheduler_at, ns=ns, timeout=timeout)
            served = partial(_xds_at, ns=ns, timeout=timeout, node_id=node_id)
            ports.append(("scheduler", SCHEDULER_API_PORT, snapshot.schedulers, status))
            ports.append(("scheduler-xds", SCHEDULER_XDS_PORT, snapshot.xds, served))
        for what, port, into, read in ports:
            call = partial(observe_via_portforward, ns, name, port, read, api=api)
            reads.append(_Read(what, ns, into, call, f"pod {name}:{port}", f"pod {name}: "))
    _read_all(snapshot, reads)
    return snapshot


def _scheduler_at(addr: str, *, ns: str, timeout: float) -> SchedulerObservation:
    return observe_scheduler(addr, ns, timeout=timeout)


def _xds_at(addr: str, *, ns: str, timeout: float, node_id: str) -> XdsObservation:
    return observe_xds(addr, ns, timeout=timeout, node_id=node_id)
