"""A Kubernetes API server double that speaks real HTTP/JSON, for testing the live source.

No kube-apiserver can run in the test environment, so this serves what the real one would for
the read paths the doctor uses, to the real ``kubernetes`` client over plain HTTP:

* discovery (``/version``, ``/api``, ``/api/v1``, ``/apis``, ``/apis/{g}``, ``/apis/{g}/{v}``),
  from a resource table built from ``seldon_doctor.kinds.KINDS`` plus Secret and ConfigMap;
  groups can be made absent (CRDs not installed) or served at several versions;
* LIST (cluster-wide and per namespace) shaped like the real thing: ``<Kind>List``, items
  WITHOUT ``kind``/``apiVersion``, ``limit``/``continue`` pagination over a consistent
  snapshot (``remainingItemCount`` only without selectors, as upstream), label and field
  selectors, items sorted by namespace/name; GET of one object; pod logs (text/plain);
* bearer-token authentication (401 otherwise), RBAC-like 403s with upstream's messages,
  405 for every write verb, and fault injection (status codes with ``Retry-After``, truncated
  bodies, reset connections, hangs that end promptly on ``stop()``, latency, page-size caps);
* the pod ``portforward`` subresource as the WebSocket protocol ``kubernetes.stream.portforward``
  speaks (``v4.channel.k8s.io``): each pod port maps to a real local TCP server
  (``port_forwards``) and the double relays bytes both ways.

Every request is recorded (``requests``, ``count()``), so tests can assert what the client did
and did not ask for (no writes, no Secrets, no per-object GETs).

Standard library only for the server; ``yaml`` (a project dependency) writes kubeconfigs.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import contextlib
import copy
import hashlib
import http.server
import json
import re
import secrets
import socket
import struct
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from seldon_doctor.kinds import KINDS, SELDON_GROUP

JSONDict = dict[str, Any]

# Groups whose resources are compiled into kube-apiserver (never "not installed").
BUILTIN_GROUPS = frozenset(
    {"", "apps", "discovery.k8s.io", "networking.k8s.io", "apiextensions.k8s.io"}
)
ISTIO_GROUPS = frozenset({"networking.istio.io", "security.istio.io"})
KSERVE_GROUP = "serving.kserve.io"

# What a real server lists for a resource that supports every standard verb.
ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
DEFAULT_USER = "system:serviceaccount:seldon-doctor:seldon-doctor"
_EXPIRED_MESSAGE = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list."
)


@dataclass(frozen=True, slots=True)
class Resource:
    """One served resource: the discovery entry and where its objects live."""

    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool = True
    singular: str = ""
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()


def default_resources() -> tuple[Resource, ...]:
    """The resource table: every kind in ``KINDS`` plus Secret and ConfigMap (core/v1)."""
    table = [
        Resource(info.kind, info.group, info.version, info.plural, info.namespaced)
        for info in KINDS.values()
    ]
    have = {(r.group, r.plural) for r in table}
    for extra in (
        Resource("Secret", "", "v1", "secrets"),
        Resource("ConfigMap", "", "v1", "configmaps"),
    ):
        if (extra.group, extra.plural) not in have:
            table.append(extra)
    return tuple(table)


FaultAction = Literal["status", "truncate", "reset", "hang"]


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault rule: which requests it hits, and what happens to them.

    A request matches when ``plural`` (``None``/``"*"`` = any; ``"pods/log"`` for logs),
    ``namespace`` (``None`` = any, ``""`` = cluster-scope requests only) and ``verb``
    (``"list"``, ``"get"``, ``"log"``; ``None`` = any) all match. Of the matching requests the
    first ``after`` pass untouched, the next ``times`` (``None`` = all of them) get the fault.

    ``action``: ``"status"`` answers ``status`` with a Status body (429/503 carry
    ``Retry-After: retry_after`` when set); ``"truncate"`` sends the real body cut mid-JSON
    (Content-Length matches the cut body); ``"reset"`` closes the connection without a
    response; ``"hang"`` holds the request until the double stops (or ``hang_seconds``).
    """

    plural: str | None = None
    status: int = 500
    times: int | None = 1
    retry_after: float | None = None
    namespace: str | None = None
    verb: str | None = None
    after: int = 0
    action: FaultAction = "status"
    message: str | None = None


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the double received (status 0: no response was sent: reset or hang)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    user_agent: str
    verb: str = ""  # "list", "get", "log", "discovery", "watch", "write", "other"
    resource: str | None = None  # plural, "pods/log" for logs; None for non-resource paths
    namespace: str | None = None
    authorization: str | None = None


@dataclass(slots=True)
class _Target:
    """A parsed resource path."""

    resource: Resource
    namespace: str | None
    name: str | None
    subresource: str | None
    version: str

    @property
    def plural(self) -> str:
        if self.subresource:
            return f"{self.resource.plural}/{self.subresource}"
        return self.resource.plural

    @property
    def verb(self) -> str:
        if self.subresource == "log":
            return "log"
        return "get" if self.name else "list"


@dataclass(slots=True)
class _Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    action: FaultAction = "status"


_StoreKey = tuple[str, str]  # (group, plural)
_ObjKey = tuple[str, str]  # (namespace or "", name)
_Store = dict[_StoreKey, dict[_ObjKey, JSONDict]]


def status_body(code: int, reason: str, message: str, details: JSONDict | None = None) -> JSONDict:
    """A ``Status`` failure body, as kube-apiserver writes it."""
    body: JSONDict = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        body["details"] = details
    return body


def _json(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def _status_reply(code: int, reason: str, message: str, details: JSONDict | None = None) -> _Reply:
    return _Reply(code, _json(status_body(code, reason, message, details)))


def _not_found_path() -> _Reply:
    return _status_reply(404, "NotFound", "the server could not find the requested resource", {})


def _api_version(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


# ---------------------------------------------------------------------------------- selectors

_KEY = r"[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?"
_SET_TERM = re.compile(rf"^\s*({_KEY})\s+(in|notin)\s+\(([^)]*)\)\s*$")
_NOT_EXISTS = re.compile(rf"^\s*!\s*({_KEY})\s*$")
_EQ_TERM = re.compile(rf"^\s*({_KEY})\s*(==|=|!=)\s*([-A-Za-z0-9_.]*)\s*$")
_EXISTS = re.compile(rf"^\s*({_KEY})\s*$")


@dataclass(frozen=True, slots=True)
class Requirement:
    """One selector term: ``op`` is ``=``, ``!=``, ``in``, ``notin``, ``exists`` or ``!exists``.

    ``key`` is a label key, or for field selectors ``metadata.name`` / ``metadata.namespace``.
    """

    key: str
    op: str
    values: frozenset[str] = frozenset()
    field: bool = False

    def matches(self, obj: Mapping[str, Any]) -> bool:
        metadata = obj.get("metadata") or {}
        if self.field:
            value: Any = str(metadata.get(self.key.partition(".")[2]) or "")
            present = True
        else:
            labels = metadata.get("labels") or {}
            present = self.key in labels
            value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        return not present or value not in self.values  # "!=", "notin"


def _split_terms(selector: str) -> list[str]:
    terms, depth, start = [], 0, 0
    for i, ch in enumerate(selector):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            terms.append(selector[start:i])
            start = i + 1
    terms.append(selector[start:])
    return [t for t in terms if t.strip()]


def parse_label_selector(selector: str) -> list[Requirement]:
    """Parse ``a=b``, ``a==b``, ``a!=b``, ``a``, ``!a``, ``a in (x,y)``, ``a notin (x,y)``.

    Raises:
        ValueError: a term does not parse (the server answers 400).
    """
    out: list[Requirement] = []
    for term in _split_terms(selector):
        if m := _SET_TERM.match(term):
            values = frozenset(v.strip() for v in m.group(3).split(",") if v.strip())
            out.append(Requirement(m.group(1), m.group(2), values))
        elif m := _NOT_EXISTS.match(term):
            out.append(Requirement(m.group(1), "!exists"))
        elif m := _EQ_TERM.match(term):
            op = "!=" if m.group(2) == "!=" else "="
            out.append(Requirement(m.group(1), op, frozenset({m.group(3)})))
        elif m := _EXISTS.match(term):
            out.append(Requirement(m.group(1), "exists"))
        else:
            raise ValueError(f"unable to parse requirement: {term.strip()!r}")
    return out


_FIELD_TERM = re.compile(r"^\s*([A-Za-z.]+)\s*(==|=|!=)\s*(.*?)\s*$")
_FIELDS = frozenset({"metadata.name", "metadata.namespace"})


def parse_field_selector(selector: str) -> list[Requirement]:
    """Parse ``metadata.name`` / ``metadata.namespace`` terms (``=``, ``==``, ``!=``).

    Raises:
        ValueError: an unsupported field or a term that does not parse (the server answers 400).
    """
    out: list[Requirement] = []
    for term in selector.split(","):
        if not term.strip():
            continue
        m = _FIELD_TERM.match(term)
        if not m:
            raise ValueError(f"invalid selector: {term.strip()!r}; can't understand")
        name, op, value = m.groups()
        if name not in _FIELDS:
            raise ValueError(f"field label not supported: {name}")
        out.append(Requirement(name, "!=" if op == "!=" else "=", frozenset({value}), field=True))
    return out


# ------------------------------------------------------------------------------------- server


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    double: KubeApiDouble


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall
    server: _Server
    server_version = "KubeApiDouble"

    def setup(self) -> None:
        super().setup()
        self.server.double._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.double._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        self.server.double._serve(self)

    def _write_verb(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.double._serve(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _write_verb


# (namespace, pod, container) or (namespace, pod, container, "previous").
LogKey = tuple[str, str, str] | tuple[str, str, str, str]
# Plural|(plural, namespace|None) as accepted by the fault-set options.
ResourceSpec = str | tuple[str, str | None]


def _normalise(specs: Iterable[ResourceSpec] | None) -> set[tuple[str, str | None]]:
    out: set[tuple[str, str | None]] = set()
    for spec in specs or ():
        out.add((spec, None) if isinstance(spec, str) else (spec[0], spec[1]))
    return out


class KubeApiDouble:
    """A threaded HTTP server that answers like kube-apiserver for read-only clients.

    Args:
        objects: plain Kubernetes objects (apiVersion, kind, metadata). Kinds not in the
            resource table are kept in ``unserved`` and not served.
        token: the bearer token every request must carry (401 otherwise); ``None`` turns
            authentication off. Default: a random token.
        name: the context/cluster/user name used by ``write_kubeconfig`` for a single double.
        user: the user named in 403 messages.
        resources: the resource table (default ``default_resources()``).
        crds_installed: ``False`` removes the Seldon group (``mlops.seldon.io``).
        missing_groups: further groups to remove (e.g. ``ISTIO_GROUPS | {KSERVE_GROUP}``):
            absent from discovery, their paths 404 and their objects are not served.
        group_versions: served versions per group, preferred first, e.g.
            ``{"mlops.seldon.io": ["v1alpha2", "v1alpha1"]}``; objects of the group are served
            at every version (``apiVersion`` rewritten, as a conversion would).
        forbidden: 403s. ``"pods"`` or ``("pods", None)``: everywhere; ``("pods", "app-a")``:
            in namespace ``app-a`` and — as RBAC cannot grant cluster-wide access minus one
            namespace — at the cluster scope too. ``"*"`` means every resource. Logs are the
            resource ``"pods/log"``.
        cluster_scope_forbidden: plurals forbidden only at the cluster scope (all-namespaces
            LIST and cluster-scoped kinds), namespaced requests allowed: the per-namespace
            fallback case.
        latency: seconds added to every request (requests still overlap: one thread each).
        faults: ``Fault`` rules, counted per rule in arrival order.
        truncate / reset / hang: sugar for ``Fault(action=...)`` on every LIST of those
            resources (``"services"`` or ``("services", "ns")``).
        hang_seconds: how long a hang lasts at most (it ends at once when the double stops).
        page_size_cap: most items per LIST page whatever ``limit`` says (forces pagination even
            for requests without ``limit``).
        logs: ``{(ns, pod, container): text}``; ``(ns, pod, container, "previous")`` for
            ``previous=true``. A pod is known if it is among the objects or in ``logs``.
        server_version: ``gitVersion`` served at ``/version``.
        synthesize_crds: add a CustomResourceDefinition object for each served non-built-in
            resource (as a real cluster has), unless the objects already hold one.
        synthesize_namespaces: add a Namespace object for each namespace that objects use.
        port_forwards: ``{(ns, pod, pod_port): (host, port)}``: where a port-forward to
            ``pod:pod_port`` lands (a real local TCP server). The pod must be among the objects
            (404 otherwise); an unmapped or refused port gets kubelet's error on the port's error
            channel. ``forbidden={"pods/portforward"}`` answers 403. Mutable after start.
    """

    def __init__(
        self,
        objects: Iterable[Mapping[str, Any]] = (),
        *,
        token: str | None = "",
        name: str = "double",
        user: str = DEFAULT_USER,
        resources: Sequence[Resource] | None = None,
        crds_installed: bool = True,
        missing_groups: Iterable[str] = (),
        group_versions: Mapping[str, Sequence[str]] | None = None,
        forbidden: Iterable[ResourceSpec] = (),
        cluster_scope_forbidden: Iterable[str] = (),
        latency: float = 0.0,
        faults: Iterable[Fault] = (),
        truncate: Iterable[ResourceSpec] = (),
        reset: Iterable[ResourceSpec] = (),
        hang: Iterable[ResourceSpec] = (),
        hang_seconds: float = 3600.0,
        page_size_cap: int | None = None,
        logs: Mapping[LogKey, str] | None = None,
        server_version: str = "v1.31.4",
        synthesize_crds: bool = False,
        synthesize_namespaces: bool = False,
        port_forwards: Mapping[tuple[str, str, int], tuple[str, int]] | None = None,
    ) -> None:
        self.token = secrets.token_urlsafe(16) if token == "" else token
        # id(obj) -> (obj, cached value); the obj reference keeps the id from being reused.
        self._json_cache: dict[int, tuple[JSONDict, bytes]] = {}
        self._keys_cache: dict[int, tuple[Mapping[_ObjKey, JSONDict], list[_ObjKey]]] = {}
        self.name = name
        self.user = user
        self.latency = latency
        self.hang_seconds = hang_seconds
        self.page_size_cap = page_size_cap
        self.server_version = server_version
        self.logs: dict[LogKey, str] = dict(logs or {})
        self.port_forwards: dict[tuple[str, str, int], tuple[str, int]] = dict(port_forwards or {})
        self.forbidden = _normalise(forbidden)
        self.cluster_scope_forbidden = set(cluster_scope_forbidden)

        missing = set(missing_groups)
        if not crds_installed:
            missing.add(SELDON_GROUP)
        missing -= {""}
        self.missing_groups = frozenset(missing)

        table = tuple(resources) if resources is not None else default_resources()
        self.resources = tuple(r for r in table if r.group not in self.missing_groups)
        # group -> served versions (preferred first)
        self.group_versions: dict[str, list[str]] = {}
        for r in self.resources:
            versions = self.group_versions.setdefault(r.group, [])
            if r.version not in versions:
                versions.append(r.version)
        for group, wanted in (group_versions or {}).items():
            if group in self.group_versions:
                self.group_versions[group] = list(wanted)
        self._by_plural = {(r.group, r.plural): r for r in self.resources}
        self._by_kind = {(r.group, r.kind): r for r in self.resources}

        rules = list(faults)
        sugar: tuple[tuple[FaultAction, Iterable[ResourceSpec]], ...] = (
            ("truncate", truncate),
            ("reset", reset),
            ("hang", hang),
        )
        for action, specs in sugar:
            for plural, namespace in sorted(_normalise(specs), key=str):
                rules.append(
                    Fault(
                        plural=plural, namespace=namespace, verb="list", times=None, action=action
                    )
                )
        self.faults: list[Fault] = rules
        self._fault_hits = [0] * len(rules)

        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self.unserved: list[JSONDict] = []
        self._rv = 1000
        self._store: _Store = {}
        self._snapshots: dict[int, _Store] = {}
        self._issued_tokens = 0
        bodies = [copy.deepcopy(dict(obj)) for obj in objects]
        if synthesize_namespaces:
            bodies.extend(self._namespaces_for(bodies))
        if synthesize_crds:
            bodies.extend(self._crds_for(bodies))
        for body in bodies:
            self._insert(body)
        self._snapshots[self._rv] = self._store

        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # ---------------------------------------------------------------------------- building

    @classmethod
    def from_paths(
        cls, paths: Iterable[str | Path], *, default_namespace: str = "default", **options: Any
    ) -> KubeApiDouble:
        """A double serving the Kubernetes objects in YAML/JSON files or folders.

        Uses the file source's loader, which skips documents without apiVersion/kind, so a
        scenario folder (``scenario.yaml``, ``envoy/*.json``) can be passed whole.
        """
        from seldon_doctor.sources.files import load_paths

        loaded = load_paths([str(p) for p in paths], default_namespace=default_namespace)
        return cls([obj.body for obj in loaded.objects], **options)

    def _namespaces_for(self, bodies: list[JSONDict]) -> list[JSONDict]:
        have = {
            (b.get("metadata") or {}).get("name") for b in bodies if b.get("kind") == "Namespace"
        }
        used = sorted(
            {
                ns
                for b in bodies
                if (ns := (b.get("metadata") or {}).get("namespace")) and ns not in have
            }
        )
        return [
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }
            for ns in used
        ]

    def _crds_for(self, bodies: list[JSONDict]) -> list[JSONDict]:
        have = {
            (b.get("metadata") or {}).get("name")
            for b in bodies
            if b.get("kind") == "CustomResourceDefinition"
        }
        out = []
        for r in self.resources:
            if r.group in BUILTIN_GROUPS or f"{r.plural}.{r.group}" in have:
                continue
            versions = self.group_versions[r.group]
            out.append(
                {
                    "apiVersion": "apiextensions.k8s.io/v1",
                    "kind": "CustomResourceDefinition",
                    "metadata": {"name": f"{r.plural}.{r.group}"},
                    "spec": {
                        "group": r.group,
                        "names": {
                            "kind": r.kind,
                            "listKind": f"{r.kind}List",
                            "plural": r.plural,
                            "singular": r.singular_name,
                        },
                        "scope": "Namespaced" if r.namespaced else "Cluster",
                        "versions": [
                            {"name": v, "served": True, "storage": i == 0}
                            for i, v in enumerate(versions)
                        ],
                    },
                    "status": {
                        "acceptedNames": {"kind": r.kind, "plural": r.plural},
                        "storedVersions": [versions[0]],
                    },
                }
            )
        return out

    def _resource_of(self, body: Mapping[str, Any]) -> Resource | None:
        api_version = str(body.get("apiVersion") or "")
        group = api_version.rpartition("/")[0]
        return self._by_kind.get((group, str(body.get("kind") or "")))

    def _insert(self, body: JSONDict) -> bool:
        resource = self._resource_of(body)
        if resource is None:
            self.unserved.append(body)
            return False
        if body.get("kind") == "CustomResourceDefinition":
            group = (body.get("spec") or {}).get("group")
            if group in self.missing_groups:
                self.unserved.append(body)
                return False
        metadata = body.setdefault("metadata", {})
        name = str(metadata.get("name") or "")
        namespace = str(metadata.get("namespace") or "") if resource.namespaced else ""
        if not resource.namespaced:
            metadata.pop("namespace", None)
        self._rv += 1
        metadata.setdefault("resourceVersion", str(self._rv))
        metadata.setdefault(
            "uid", str(uuid.uuid5(uuid.NAMESPACE_URL, f"{resource.plural}/{namespace}/{name}"))
        )
        bucket = self._store.setdefault((resource.group, resource.plural), {})
        bucket[(namespace, name)] = body
        return True

    # ------------------------------------------------------------------ changing the state

    def put(self, obj: Mapping[str, Any]) -> None:
        """Add or replace an object (a new resourceVersion; open continue tokens stay valid)."""
        body = copy.deepcopy(dict(obj))
        body.setdefault("metadata", {}).pop("resourceVersion", None)
        with self._lock:
            self._store = {key: dict(bucket) for key, bucket in self._store.items()}
            self._insert(body)
            self._snapshots[self._rv] = self._store

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Remove an object; returns whether it existed."""
        resource = self._by_kind.get((api_version.rpartition("/")[0], kind))
        if resource is None:
            return False
        with self._lock:
            key = (namespace or "" if resource.namespaced else "", name)
            bucket = self._store.get((resource.group, resource.plural), {})
            if key not in bucket:
                return False
            self._store = {k: dict(b) for k, b in self._store.items()}
            del self._store[(resource.group, resource.plural)][key]
            self._rv += 1
            self._snapshots[self._rv] = self._store
            return True

    def compact(self) -> None:
        """Forget old snapshots, like etcd compaction: every open continue token expires (410)."""
        with self._lock:
            self._rv += 1
            self._snapshots = {self._rv: self._store}

    # ------------------------------------------------------------------------- lifecycle

    def start(self) -> KubeApiDouble:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.double = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> KubeApiDouble:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("KubeApiDouble is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    # ----------------------------------------------------------------------- recording

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the requests received so far, in completion order."""
        with self._lock:
            return list(self._requests)

    def count(
        self,
        path_prefix: str | None = None,
        method: str | None = None,
        *,
        resource: str | None = None,
        verb: str | None = None,
        status: int | None = None,
    ) -> int:
        """How many recorded requests match every given filter."""
        return sum(
            1
            for r in self.requests
            if (path_prefix is None or r.path.startswith(path_prefix))
            and (method is None or r.method == method.upper())
            and (resource is None or r.resource == resource)
            and (verb is None or r.verb == verb)
            and (status is None or r.status == status)
        )

    def reset(self) -> None:
        """Forget recorded requests and restart the fault counters."""
        with self._lock:
            self._requests.clear()
            self._fault_hits = [0] * len(self.faults)

    # ------------------------------------------------------------------------- serving

    def _serve(self, handler: _Handler) -> None:
        split = urlsplit(handler.path)
        path = unquote(split.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        method = handler.command
        auth = handler.headers.get("Authorization")
        record: dict[str, Any] = {"verb": "other", "resource": None, "namespace": None}

        if self.latency > 0:
            self._stopping.wait(self.latency)
        forward = _PORTFORWARD_PATH.match(path)
        if forward is not None and method == "GET":
            self._portforward(handler, forward.group(1), forward.group(2), query, auth)
            return
        try:
            reply = self._dispatch(method, path, query, auth, record)
        except Exception as exc:  # a bug in the double: say so rather than hang the client
            reply = _status_reply(500, "InternalError", f"KubeApiDouble: {exc!r}")

        sent_status = reply.status if reply.action in ("status", "truncate") else 0
        with self._lock:
            self._requests.append(
                RecordedRequest(
                    method=method,
                    path=path,
                    query=query,
                    status=sent_status,
                    user_agent=handler.headers.get("User-Agent", ""),
                    verb=record["verb"],
                    resource=record["resource"],
                    namespace=record["namespace"],
                    authorization=auth,
                )
            )

        if reply.action == "hang":
            self._stopping.wait(self.hang_seconds)
            handler.close_connection = True
            return
        if reply.action == "reset":
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return
        body = reply.body
        if reply.action == "truncate":
            body = body[: max(1, len(body) // 2)]
        handler.send_response(reply.status)
        handler.send_header("Content-Type", reply.content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Cache-Control", "no-cache, private")
        handler.send_header("Audit-Id", str(uuid.uuid4()))
        for key, value in reply.headers.items():
            handler.send_header(key, value)
        if reply.action == "truncate" or self._stopping.is_set():
            # Announced, so a pooling client does not reuse a socket that is about to close.
            handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(body)
        handler.wfile.flush()

    def _dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        auth: str | None,
        record: dict[str, Any],
    ) -> _Reply:
        if self.token is not None and auth != f"Bearer {self.token}":
            return _status_reply(401, "Unauthorized", "Unauthorized")

        path = path.rstrip("/") or "/"
        if method != "GET":
            record["verb"] = "write"
            return _status_reply(
                405, "MethodNotAllowed", f"the server does not allow this method ({method})", {}
            )

        if path in ("/healthz", "/livez", "/readyz"):
            return _Reply(200, b"ok", "text/plain; charset=utf-8")
        discovery = self._discovery(path)
        if discovery is not None:
            record["verb"] = "discovery"
            return discovery

        target = self._parse(path)
        if target is None:
            return _not_found_path()
        record["resource"] = target.plural
        record["namespace"] = target.namespace
        record["verb"] = target.verb
        if query.get("watch") in ("1", "true"):
            record["verb"] = "watch"
            return _status_reply(400, "BadRequest", "KubeApiDouble does not support watch")

        denied = self._authorize(target)
        if denied is not None:
            return denied

        fault = self._fault_for(target)
        reply: _Reply
        if fault is not None and fault.action == "status":
            reply = self._fault_reply(fault, target)
        elif target.verb == "log":
            reply = self._log(target, query)
        elif target.verb == "get":
            reply = self._get(target)
        else:
            reply = self._list(target, query)
        if fault is not None and fault.action != "status":
            reply.action = fault.action
        return reply

    # ----------------------------------------------------------------------- discovery

    def _discovery(self, path: str) -> _Reply | None:
        if path == "/version":
            major, minor = self.server_version.lstrip("v").split(".")[:2]
            return _Reply(
                200,
                _json(
                    {
                        "major": major,
                        "minor": minor,
                        "gitVersion": self.server_version,
                        "gitCommit": "0" * 40,
                        "gitTreeState": "clean",
                        "buildDate": "2025-01-01T00:00:00Z",
                        "goVersion": "go1.22.10",
                        "compiler": "gc",
                        "platform": "linux/amd64",
                    }
                ),
            )
        if path == "/api":
            return _Reply(
                200,
                _json(
                    {
                        "kind": "APIVersions",
                        "versions": ["v1"],
                        "serverAddressByClientCIDRs": [
                            {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.port}"}
                        ],
                    }
                ),
            )
        if path == "/api/v1":
            return _Reply(200, _json(self._resource_list("", "v1")))
        if path == "/apis":
            groups = [self._group(g) for g in sorted(self.group_versions) if g]
            return _Reply(
                200, _json({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
            )
        parts = path.split("/")[1:]
        if parts[0] == "apis" and len(parts) in (2, 3):
            group = parts[1]
            if group not in self.group_versions or not group:
                return _not_found_path()
            if len(parts) == 2:
                body = self._group(group)
                body.update(kind="APIGroup", apiVersion="v1")
                return _Reply(200, _json(body))
            if parts[2] not in self.group_versions[group]:
                return _not_found_path()
            return _Reply(200, _json(self._resource_list(group, parts[2])))
        return None

    def _group(self, group: str) -> JSONDict:
        versions = [
            {"groupVersion": f"{group}/{v}", "version": v} for v in self.group_versions[group]
        ]
        return {"name": group, "versions": versions, "preferredVersion": versions[0]}

    def _resource_list(self, group: str, version: str) -> JSONDict:
        entries: list[JSONDict] = []
        for r in sorted((r for r in self.resources if r.group == group), key=lambda r: r.plural):
            entry: JSONDict = {
                "name": r.plural,
                "singularName": r.singular_name,
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": list(r.verbs),
                "storageVersionHash": base64.b64encode(f"{group}/{r.plural}".encode()).decode()[
                    :11
                ],
            }
            if r.short_names:
                entry["shortNames"] = list(r.short_names)
            entries.append(entry)
            if group == "" and r.plural == "pods":
                entries.append(
                    {
                        "name": "pods/log",
                        "singularName": "",
                        "namespaced": True,
                        "kind": "Pod",
                        "verbs": ["get"],
                    }
                )
            if group not in BUILTIN_GROUPS:
                entries.append(
                    {
                        "name": f"{r.plural}/status",
                        "singularName": "",
                        "namespaced": r.namespaced,
                        "kind": r.kind,
                        "verbs": ["get", "patch", "update"],
                    }
                )
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": _api_version(group, version),
            "resources": entries,
        }

    # ------------------------------------------------------------------------ resources

    def _parse(self, path: str) -> _Target | None:
        parts = path.split("/")[1:]
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif parts[0] == "apis" and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
            if version not in self.group_versions.get(group, ()):
                return None
        else:
            return None
        namespace: str | None = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            return None
        resource = self._by_plural.get((group, rest[0]))
        if resource is None:
            return None
        if namespace is not None and not resource.namespaced:
            return None
        name = rest[1] if len(rest) >= 2 else None
        if name is not None and namespace is None and resource.namespaced:
            return None
        sub = rest[2] if len(rest) == 3 else None
        if sub is not None and not (
            (sub == "log" and resource.plural == "pods" and group == "")
            or (sub == "status" and group not in BUILTIN_GROUPS)
        ):
            return None
        if sub == "status":
            sub = None  # served as the object itself
        return _Target(resource, namespace, name, sub, version)

    def _authorize(self, target: _Target) -> _Reply | None:
        plural = target.plural
        ns = target.namespace
        if ns is None:
            denied = (
                (plural, None) in self.forbidden
                or ("*", None) in self.forbidden
                or plural in self.cluster_scope_forbidden
                or "*" in self.cluster_scope_forbidden
                or any(p in (plural, "*") for p, _ in self.forbidden)
            )
        else:
            denied = bool({(plural, None), (plural, ns), ("*", None), ("*", ns)} & self.forbidden)
        if not denied:
            return None
        group = target.resource.group
        resource = target.resource.plural
        qualified = f"{resource}.{group}" if group else resource
        who = f"{qualified} {target.name!r}".replace("'", '"') if target.name else qualified
        scope = f'in the namespace "{ns}"' if ns is not None else "at the cluster scope"
        verb = "get" if target.verb in ("get", "log") else "list"
        message = (
            f'{who} is forbidden: User "{self.user}" cannot {verb} resource "{plural}" '
            f'in API group "{group}" {scope}'
        )
        details: JSONDict = {"kind": resource}
        if target.name:
            details["name"] = target.name
        if group:
            details["group"] = group
        return _status_reply(403, "Forbidden", message, details)

    def _fault_for(self, target: _Target) -> Fault | None:
        with self._lock:
            for i, fault in enumerate(self.faults):
                if fault.plural not in (None, "*", target.plural):
                    continue
                if fault.namespace is not None and (target.namespace or "") != fault.namespace:
                    continue
                if fault.verb is not None and fault.verb != target.verb:
                    continue
                seen = self._fault_hits[i]
                self._fault_hits[i] = seen + 1
                if seen < fault.after:
                    continue
                if fault.times is not None and seen >= fault.after + fault.times:
                    continue
                return fault
        return None

    def _fault_reply(self, fault: Fault, target: _Target) -> _Reply:
        reasons = {
            400: "BadRequest",
            404: "NotFound",
            409: "Conflict",
            410: "Expired",
            429: "TooManyRequests",
            500: "InternalError",
            503: "ServiceUnavailable",
            504: "Timeout",
        }
        reason = reasons.get(fault.status, "Unknown")
        message = fault.message or {
            429: "Too many requests, please try again later.",
            500: f'an error on the server ("{target.plural}") has prevented the request '
            "from succeeding",
            503: "the server is currently unable to handle the request",
        }.get(fault.status, f"injected fault {fault.status}")
        details: JSONDict = {}
        if fault.retry_after is not None:
            details["retryAfterSeconds"] = int(fault.retry_after)
        reply = _status_reply(fault.status, reason, message, details)
        if fault.retry_after is not None:
            reply.headers["Retry-After"] = f"{fault.retry_after:g}"
        return reply

    def _convert(self, body: JSONDict, target: _Target) -> JSONDict:
        out = dict(body)
        out["apiVersion"] = _api_version(target.resource.group, target.version)
        return out

    def _get(self, target: _Target) -> _Reply:
        with self._lock:
            bucket = self._store.get((target.resource.group, target.resource.plural), {})
            body = bucket.get((target.namespace or "", target.name or ""))
        if body is None:
            return _status_reply(
                404,
                "NotFound",
                f'{self._qualified(target)} "{target.name}" not found',
                {"name": target.name, "kind": target.resource.plural}
                | ({"group": target.resource.group} if target.resource.group else {}),
            )
        return _Reply(200, _json(self._convert(body, target)))

    @staticmethod
    def _qualified(target: _Target) -> str:
        r = target.resource
        return f"{r.plural}.{r.group}" if r.group else r.plural

    def _list(self, target: _Target, query: dict[str, str]) -> _Reply:
        try:
            predicates = parse_label_selector(query.get("labelSelector", ""))
            predicates += parse_field_selector(query.get("fieldSelector", ""))
        except ValueError as exc:
            return _status_reply(400, "BadRequest", str(exc))
        try:
            limit = int(query.get("limit") or 0)
        except ValueError:
            return _status_reply(400, "BadRequest", f"invalid limit: {query['limit']!r}")
        if self.page_size_cap:
            limit = min(limit, self.page_size_cap) if limit > 0 else self.page_size_cap

        start: _ObjKey | None = None
        with self._lock:
            rv = self._rv
            store = self._store
            token = query.get("continue")
            if token:
                decoded = _decode_continue(token)
                if decoded is None:
                    return _status_reply(400, "BadRequest", "continue key is not valid")
                rv, after = decoded
                start = (after.partition("/")[0], after.partition("/")[2])
                if rv not in self._snapshots:
                    return _status_reply(410, "Expired", _EXPIRED_MESSAGE)
                store = self._snapshots[rv]
        bucket = store.get((target.resource.group, target.resource.plural), {})
        # Sorted keys and serialised items are cached per stored body, so serving a large
        # estate page by page costs the double little CPU (benchmarks measure the client).
        all_keys = self._sorted_keys(bucket)
        first = 0 if start is None else bisect.bisect_right(all_keys, start)
        keys = [k for k in all_keys[first:] if target.namespace is None or k[0] == target.namespace]
        items: list[JSONDict] = []
        encoded: list[bytes] = []
        more = False
        remaining = 0
        for index, key in enumerate(keys):
            body = bucket[key]
            if not all(p.matches(body) for p in predicates):
                continue
            if limit and len(items) == limit:
                more = True
                remaining = len(keys) - index
                break
            items.append(body)
            encoded.append(self._item_json(body))
        metadata: JSONDict = {"resourceVersion": str(rv)}
        if more:
            metadata["continue"] = _encode_continue(rv, _sort_key(_last_key(items)))
            if not predicates:
                metadata["remainingItemCount"] = remaining
        head = {
            "kind": f"{target.resource.kind}List",
            "apiVersion": _api_version(target.resource.group, target.version),
            "metadata": metadata,
        }
        return _Reply(200, _json(head)[:-1] + b',"items":[' + b",".join(encoded) + b"]}")

    def _sorted_keys(self, bucket: Mapping[_ObjKey, JSONDict]) -> list[_ObjKey]:
        with self._lock:
            cached = self._keys_cache.get(id(bucket))
            if cached is not None and cached[0] is bucket:
                return cached[1]
        keys = sorted(bucket)
        with self._lock:
            self._keys_cache[id(bucket)] = (bucket, keys)
        return keys

    def _item_json(self, body: JSONDict) -> bytes:
        """A list item as JSON: without kind/apiVersion, as a real API server sends it."""
        cached = self._json_cache.get(id(body))
        if cached is not None and cached[0] is body:
            return cached[1]
        data = _json({k: v for k, v in body.items() if k not in ("kind", "apiVersion")})
        with self._lock:
            self._json_cache[id(body)] = (body, data)
        return data

    def _log(self, target: _Target, query: dict[str, str]) -> _Reply:
        ns, pod = target.namespace or "", target.name or ""
        with self._lock:
            body = self._store.get(("", "pods"), {}).get((ns, pod))
        from_logs = sorted({k[2] for k in self.logs if k[:2] == (ns, pod)})
        if body is None and not from_logs:
            return _status_reply(
                404, "NotFound", f'pods "{pod}" not found', {"name": pod, "kind": "pods"}
            )
        spec = (body or {}).get("spec") or {}
        containers = [c.get("name") for c in spec.get("containers") or [] if c.get("name")]
        init = [c.get("name") for c in spec.get("initContainers") or [] if c.get("name")]
        if body is None:
            containers = from_logs
        container = query.get("container")
        if not container:
            if len(containers) != 1:
                choices = " ".join(containers)
                message = (
                    f"a container name must be specified for pod {pod}, choose one of: [{choices}]"
                )
                if init:
                    message += f" or one of the init containers: [{' '.join(init)}]"
                return _status_reply(400, "BadRequest", message)
            container = containers[0]
        elif container not in containers and container not in init:
            return _status_reply(
                400, "BadRequest", f"container {container} is not valid for pod {pod}"
            )
        if query.get("previous") in ("true", "1"):
            text = self.logs.get((ns, pod, container, "previous"))
            if text is None:
                return _status_reply(
                    400,
                    "BadRequest",
                    f'previous terminated container "{container}" in pod "{pod}" not found',
                )
        else:
            text = self.logs.get((ns, pod, container), "")
        tail = query.get("tailLines")
        if tail is not None and tail.lstrip("-").isdigit() and int(tail) >= 0:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[len(lines) - int(tail) :]) if int(tail) else ""
        data = text.encode()
        limit_bytes = query.get("limitBytes")
        if limit_bytes and limit_bytes.isdigit():
            data = data[: int(limit_bytes)]
        return _Reply(200, data, "text/plain")

    # ---------------------------------------------------------------------- port-forward

    def _portforward(
        self, handler: _Handler, ns: str, pod: str, query: dict[str, str], auth: str | None
    ) -> None:
        """``GET .../pods/{pod}/portforward?ports=P[,Q]``: the WebSocket protocol of
        ``kubernetes.stream.portforward`` (``v4.channel.k8s.io``), relayed to ``port_forwards``.

        Per requested port ``i``: data channel ``2*i`` and error channel ``2*i+1``, each opened
        by a frame holding the port (2 bytes, little-endian); then every binary frame is the
        channel byte followed by data. Client frames are masked, the double's are not.
        """
        path = f"/api/v1/namespaces/{ns}/pods/{pod}/portforward"
        reply, ports, protocol = self._portforward_check(handler, ns, pod, query, auth)
        with self._lock:
            self._requests.append(
                RecordedRequest(
                    method="GET",
                    path=path,
                    query=query,
                    status=101 if reply is None else reply.status,
                    user_agent=handler.headers.get("User-Agent", ""),
                    verb="portforward",
                    resource="pods/portforward",
                    namespace=ns,
                    authorization=auth,
                )
            )
        handler.close_connection = True
        if reply is not None:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", reply.content_type)
            handler.send_header("Content-Length", str(len(reply.body)))
            handler.send_header("Connection", "close")
            handler.end_headers()
            handler.wfile.write(reply.body)
            handler.wfile.flush()
            return
        key = handler.headers.get("Sec-WebSocket-Key", "").strip()
        accept = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()
        handler.send_response(101, "Switching Protocols")
        handler.send_header("Upgrade", "websocket")
        handler.send_header("Connection", "Upgrade")
        handler.send_header("Sec-WebSocket-Accept", accept)
        if protocol:
            handler.send_header("Sec-WebSocket-Protocol", protocol)
        handler.end_headers()
        handler.wfile.flush()
        _PortForwardSession(self, handler, ns, pod, ports).run()

    def _portforward_check(
        self, handler: _Handler, ns: str, pod: str, query: dict[str, str], auth: str | None
    ) -> tuple[_Reply | None, list[int], str]:
        """(a refusal or None, the ports, the subprotocol chosen)."""
        if self.token is not None and auth != f"Bearer {self.token}":
            return _status_reply(401, "Unauthorized", "Unauthorized"), [], ""
        denied = {
            ("pods/portforward", None),
            ("pods/portforward", ns),
            ("*", None),
            ("*", ns),
        } & self.forbidden
        if denied:
            message = (
                f'pods "{pod}" is forbidden: User "{self.user}" cannot create resource '
                f'"pods/portforward" in API group "" in the namespace "{ns}"'
            )
            return _status_reply(403, "Forbidden", message, {"name": pod, "kind": "pods"}), [], ""
        with self._lock:
            known = (ns, pod) in self._store.get(("", "pods"), {})
        if not known:
            details = {"name": pod, "kind": "pods"}
            return _status_reply(404, "NotFound", f'pods "{pod}" not found', details), [], ""
        ports: list[int] = []
        for text in (query.get("ports") or "").split(","):
            if not text.strip():
                continue
            if not text.strip().isdigit() or not 0 < int(text) < 65536:
                return _status_reply(400, "BadRequest", f"invalid port {text!r}"), [], ""
            ports.append(int(text))
        if not ports:
            return _status_reply(400, "BadRequest", "query parameter 'port' is required"), [], ""
        if handler.headers.get("Upgrade", "").lower() != "websocket" or not handler.headers.get(
            "Sec-WebSocket-Key"
        ):
            return _status_reply(400, "BadRequest", "Upgrade request required"), [], ""
        offered = [
            p.strip()
            for p in handler.headers.get("Sec-WebSocket-Protocol", "").split(",")
            if p.strip()
        ]
        if offered and _PORTFORWARD_PROTOCOL not in offered:
            message = f"none of the offered subprotocols {offered} is supported"
            return _status_reply(400, "BadRequest", message), [], ""
        return None, ports, _PORTFORWARD_PROTOCOL if offered else ""


# ------------------------------------------------------------------------------ port-forward

_PORTFORWARD_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/portforward/?$")
_PORTFORWARD_PROTOCOL = "v4.channel.k8s.io"
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_OP_CONTINUATION, _OP_TEXT, _OP_BINARY = 0x0, 0x1, 0x2
_OP_CLOSE, _OP_PING, _OP_PONG = 0x8, 0x9, 0xA


def _ws_frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked, final WebSocket frame (server to client)."""
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return head + payload


def _read_exact(stream: Any, size: int) -> bytes:
    data = stream.read(size) if size else b""
    if len(data) != size:
        raise EOFError("connection closed mid-frame")
    return bytes(data)


def _read_ws_frame(stream: Any) -> tuple[bool, int, bytes]:
    """(fin, opcode, unmasked payload) of the next client frame; EOFError at the end."""
    first, second = _read_exact(stream, 2)
    size = second & 0x7F
    if size == 126:
        (size,) = struct.unpack("!H", _read_exact(stream, 2))
    elif size == 127:
        (size,) = struct.unpack("!Q", _read_exact(stream, 8))
    mask = _read_exact(stream, 4) if second & 0x80 else b""
    payload = _read_exact(stream, size)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bool(first & 0x80), first & 0x0F, payload


class _PortForwardSession:
    """One upgraded port-forward connection: relays each port's data channel to its upstream."""

    def __init__(
        self, double: KubeApiDouble, handler: _Handler, ns: str, pod: str, ports: list[int]
    ) -> None:
        self.double = double
        self.handler = handler
        self.conn: socket.socket = handler.connection
        self.ns, self.pod, self.ports = ns, pod, ports
        self.write_lock = threading.Lock()
        self.upstreams: dict[int, socket.socket] = {}
        self.open_upstreams = 0
        self.close_sent = threading.Event()
        self.client_closed = threading.Event()

    def send(self, opcode: int, payload: bytes) -> None:
        with self.write_lock, contextlib.suppress(OSError):
            self.conn.sendall(_ws_frame(opcode, payload))

    def send_close(self, payload: bytes = struct.pack("!H", 1000)) -> None:
        with self.write_lock:
            if self.close_sent.is_set():
                return
            self.close_sent.set()
            with contextlib.suppress(OSError):
                self.conn.sendall(_ws_frame(_OP_CLOSE, payload))

    def run(self) -> None:
        try:
            self._open_ports()
            self._read_client()
        finally:
            for upstream in self.upstreams.values():
                with contextlib.suppress(OSError):
                    upstream.shutdown(socket.SHUT_RDWR)
                upstream.close()
            with contextlib.suppress(OSError):
                self.conn.shutdown(socket.SHUT_RDWR)

    def _open_ports(self) -> None:
        for index, port in enumerate(self.ports):
            prefix = struct.pack("<H", port)
            self.send(_OP_BINARY, bytes([2 * index]) + prefix)
            self.send(_OP_BINARY, bytes([2 * index + 1]) + prefix)
            target = self.double.port_forwards.get((self.ns, self.pod, port))
            try:
                if target is None:
                    raise ConnectionRefusedError("connection refused")
                upstream = socket.create_connection(target, timeout=5.0)
                upstream.settimeout(None)
            except OSError as exc:
                reason = exc.strerror or str(exc) or "connection refused"
                message = (
                    f"error forwarding port {port} to pod {self.pod}, uid : failed to connect "
                    f"to localhost:{port} inside namespace: dial tcp4 127.0.0.1:{port}: "
                    f"connect: {reason.lower()}"
                )
                self.send(_OP_BINARY, bytes([2 * index + 1]) + message.encode())
                continue
            self.upstreams[index] = upstream
            self.open_upstreams += 1
            threading.Thread(target=self._pump, args=(index, upstream), daemon=True).start()

    def _pump(self, index: int, upstream: socket.socket) -> None:
        """Upstream bytes to the client on channel 2*index; at the end of every upstream, close
        the WebSocket (after a grace for the client to drain) as the API server does."""
        with contextlib.suppress(OSError):
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                self.send(_OP_BINARY, bytes([2 * index]) + data)
        with self.write_lock:
            self.open_upstreams -= 1
            last = self.open_upstreams == 0
        if last and not self.client_closed.is_set():
            self.send_close()
            self.client_closed.wait(1.0)
            with contextlib.suppress(OSError):
                self.conn.shutdown(socket.SHUT_RDWR)

    def _read_client(self) -> None:
        stream = self.handler.rfile
        message = b""
        while not self.double._stopping.is_set():
            try:
                fin, opcode, payload = _read_ws_frame(stream)
            except (EOFError, OSError, ValueError):
                return
            if opcode == _OP_CLOSE:
                self.client_closed.set()
                self.send_close(payload[:2] or struct.pack("!H", 1000))
                return
            if opcode == _OP_PING:
                self.send(_OP_PONG, payload)
                continue
            if opcode == _OP_PONG:
                continue
            if opcode not in (_OP_CONTINUATION, _OP_TEXT, _OP_BINARY):
                continue
            message += payload
            if not fin:
                continue
            data, message = message, b""
            if not data or data[0] % 2:
                continue  # nothing, or a write to an error channel: ignored
            upstream = self.upstreams.get(data[0] // 2)
            if upstream is not None and len(data) > 1:
                with contextlib.suppress(OSError):
                    upstream.sendall(data[1:])


def _last_key(items: list[JSONDict]) -> _ObjKey:
    """The store key of the last item on a page."""
    meta = items[-1].get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def _sort_key(key: _ObjKey) -> str:
    return f"{key[0]}/{key[1]}"


def _encode_continue(rv: int, last: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": last + "\x00"})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[int, str] | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("v") != "meta.k8s.io/v1":
        return None
    rv, start = data.get("rv"), data.get("start")
    if not isinstance(rv, int) or not isinstance(start, str) or not start.endswith("\x00"):
        return None
    return rv, start[:-1]


def ready_pod(name: str, namespace: str, role: str) -> JSONDict:
    """A Running, Ready Pod labelled ``app.kubernetes.io/name: role`` (one container, ``role``)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": role},
        },
        "spec": {"containers": [{"name": role, "image": f"seldonio/{role}:2.9.0"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }


def write_kubeconfig(
    path: str | Path,
    contexts: Mapping[str, KubeApiDouble] | KubeApiDouble,
    current: str | None = None,
    *,
    namespace: str | None = None,
) -> Path:
    """Write a kubeconfig with one cluster, user (bearer token) and context per started double.

    ``contexts`` maps context names to doubles; a single double is named by its ``name``.
    ``current`` (default: the first context) becomes ``current-context``.
    """
    if isinstance(contexts, KubeApiDouble):
        contexts = {contexts.name: contexts}
    if not contexts:
        raise ValueError("write_kubeconfig needs at least one double")
    names = list(contexts)
    current = current or names[0]
    if current not in contexts:
        raise ValueError(f"current context {current!r} is not among {names}")
    config: JSONDict = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [
            {"name": name, "cluster": {"server": double.url}} for name, double in contexts.items()
        ],
        "users": [
            {"name": name, "user": {"token": double.token} if double.token else {}}
            for name, double in contexts.items()
        ],
        "contexts": [
            {
                "name": name,
                "context": {"cluster": name, "user": name}
                | ({"namespace": namespace} if namespace else {}),
            }
            for name in names
        ],
        "current-context": current,
    }
    out = Path(path)
    out.write_text(yaml.safe_dump(config, sort_keys=False))
    return out


__all__ = [
    "ALL_VERBS",
    "BUILTIN_GROUPS",
    "DEFAULT_USER",
    "ISTIO_GROUPS",
    "KSERVE_GROUP",
    "Fault",
    "KubeApiDouble",
    "LogKey",
    "RecordedRequest",
    "Requirement",
    "Resource",
    "default_resources",
    "parse_field_selector",
    "parse_label_selector",
    "status_body",
    "write_kubeconfig",
]
