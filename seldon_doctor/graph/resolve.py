"""Name resolution on the deployment graph: a host name, as a pod in a namespace would resolve
it, through Services and ExternalName aliases, to the pods behind it (or why the input cannot
tell). :class:`Resolver` is a mixin of :class:`~seldon_doctor.graph.build.DeploymentGraph`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from seldon_doctor.graph import seldon
from seldon_doctor.graph.model import Backend, Node, Resolution, ResolutionStatus, node_id
from seldon_doctor.snapshot import KubeObject, Snapshot

MAX_ALIAS_HOPS = 8
# Pod slots implied per workload in manifest mode (no Pods in the input): a per-replica
# Service selector (statefulset.kubernetes.io/pod-name: x-3) is judged against the first slots
# only. The declared replicas count is kept as a number; only the enumeration is bounded.
MAX_IMPLIED_REPLICA_SLOTS = 256
WORKLOAD_KINDS = ("StatefulSet", "Deployment")


class Resolver:
    """Resolution over the graph's nodes; the graph supplies the state and queries below."""

    snapshot: Snapshot
    observed: bool
    _nodes: dict[str, Node]
    _by_kind: dict[str, list[Node]]
    _by_kind_ns: dict[tuple[str, str], list[Node]]
    _pods_by_label: dict[tuple[str, str, str], list[Node]] | None
    _resolve_cache: dict[tuple[str, str], Resolution]
    _pods_cache: dict[str, list[Node]]
    _backends_cache: dict[str, tuple[tuple[Backend, ...], bool]]

    def _record(self, *kinds: str) -> None:
        raise NotImplementedError

    def namespace_exists(self, namespace: str) -> bool | None:
        raise NotImplementedError

    def namespace_scanned(self, namespace: str) -> bool:
        raise NotImplementedError

    # ------------------------------------------------------------------ pods
    def pods_of(self, workload: Node) -> list[Node]:
        self._record("Pod")
        return self._workload_pods(workload)

    def _workload_pods(self, workload: Node) -> list[Node]:
        # Asked several times per workload (graph links, consumers, checks); Pods are all
        # added before the first ask, so the answer never changes.
        cached = self._pods_cache.get(workload.id)
        if cached is None:
            cached = self._pods_cache[workload.id] = self._select_pods(workload)
        return cached

    def _select_pods(self, workload: Node) -> list[Node]:
        return self._pods_selected(workload.namespace, _match_labels(workload))

    def _pods_selected(self, namespace: str, selector: dict[str, str]) -> list[Node]:
        """Pods of ``namespace`` that ``selector`` matches, in the order they were added."""
        if not selector:
            return []
        # Every match carries the selector's first label: only those pods need the full test.
        key, value = next(iter(selector.items()))
        return [
            pod
            for pod in self._pods_labelled(namespace, key, value)
            if seldon.selector_matches(selector, pod.labels)
        ]

    def _pods_labelled(self, namespace: str, key: str, value: str) -> list[Node]:
        """Pods of ``namespace`` labelled ``key=value``, in the order they were added.

        Indexed on the first ask (Pods are all added before it): testing every selector
        against every pod of its namespace cost a tenth of a 1,000-namespace graph build."""
        index = self._pods_by_label
        if index is None:
            index = {}
            for pod in self._by_kind.get("Pod", ()):
                namespace_of_pod = pod.namespace
                for label, label_value in pod.labels.items():
                    index.setdefault((namespace_of_pod, label, label_value), []).append(pod)
            self._pods_by_label = index
        return index.get((namespace, key, value), [])

    def server_pods(self, server: Node) -> list[Node]:
        self._record("Pod")
        return self._server_pods_quiet(server)

    def _server_pods_quiet(self, server: Node) -> list[Node]:
        return list(self._pods_labelled(server.namespace, "seldon-server-name", server.name))

    # ------------------------------------------------------------------ resolution
    def resolve(self, host: str, from_namespace: str, *, record: bool = True) -> Resolution:
        """Resolve a host name as a pod in ``from_namespace`` would, through aliases, to pods.

        Short names resolve in the caller's namespace; ``svc.ns``, ``svc.ns.svc`` and
        ``svc.ns.svc.<cluster-domain>`` name a Service in ``ns``; an ExternalName Service is
        followed to its target; anything else is outside the cluster.
        """
        if record:
            self._record(
                "Service", "Endpoints", "EndpointSlice", "Pod", "Namespace", *WORKLOAD_KINDS
            )
            self._record("SeldonRuntime", "Server")
        key = (host, from_namespace)
        cached = self._resolve_cache.get(key)
        if cached is None:
            cached = self._resolve(host, from_namespace)
            self._resolve_cache[key] = cached
        return cached

    def _resolve(self, host: str, from_namespace: str) -> Resolution:
        chain: list[str] = []
        current_host, current_ns = host, from_namespace
        for _ in range(MAX_ALIAS_HOPS):
            target = parse_service_host(current_host, current_ns)
            if target is None:
                if chain:
                    return Resolution(
                        host,
                        from_namespace,
                        ResolutionStatus.EXTERNAL,
                        tuple(chain),
                        detail=f"{current_host} is not a cluster Service name",
                    )
                return Resolution(host, from_namespace, ResolutionStatus.EXTERNAL)
            svc_name, svc_ns = target
            service = self._service_or_why_not(host, from_namespace, svc_name, svc_ns, chain)
            if isinstance(service, Resolution):
                return service
            if service.id in chain:
                return Resolution(
                    host,
                    from_namespace,
                    ResolutionStatus.LOOP,
                    tuple(chain),
                    detail="ExternalName aliases form a loop",
                )
            chain.append(service.id)
            spec = service.props.get("spec") if "replaced_by_runtime" in service.props else None
            spec = spec or service.spec
            if spec.get("type") == "ExternalName":
                current_host = str(spec.get("externalName") or "")
                current_ns = svc_ns
                continue
            target_service = (svc_ns, svc_name)
            return self._service_resolution(
                host, from_namespace, service, target_service, spec, chain
            )
        return Resolution(
            host,
            from_namespace,
            ResolutionStatus.LOOP,
            tuple(chain),
            detail=f"more than {MAX_ALIAS_HOPS} ExternalName hops",
        )

    def _service_or_why_not(
        self, host: str, from_namespace: str, svc_name: str, svc_ns: str, chain: list[str]
    ) -> Node | Resolution:
        """The Service ``svc_ns/svc_name``, or the Resolution saying why the input has none."""
        exists = self.namespace_exists(svc_ns)
        if exists is False:
            return Resolution(
                host,
                from_namespace,
                ResolutionStatus.NO_NAMESPACE,
                tuple(chain),
                detail=f"namespace {svc_ns} does not exist",
            )
        if exists is None:
            return Resolution(
                host,
                from_namespace,
                ResolutionStatus.UNKNOWN,
                tuple(chain),
                detail=f"the input does not describe namespace {svc_ns}",
                partial=("Namespace", ""),
            )
        service = self._nodes.get(node_id("Service", svc_ns, svc_name))
        if service is not None:
            return service
        if not self.namespace_scanned(svc_ns):
            return Resolution(
                host,
                from_namespace,
                ResolutionStatus.UNKNOWN,
                tuple(chain),
                detail=f"namespace {svc_ns} was not scanned (-n)",
            )
        if not self.snapshot.is_complete("Service", svc_ns):
            return Resolution(
                host,
                from_namespace,
                ResolutionStatus.UNKNOWN,
                tuple(chain),
                detail=f"no Service {svc_name} in the input, which holds only part of "
                f"{svc_ns}'s Services",
                partial=("Service", svc_ns),
            )
        return Resolution(
            host,
            from_namespace,
            ResolutionStatus.NO_SERVICE,
            tuple(chain),
            detail=f"no Service {svc_name} in {svc_ns}",
        )

    def _service_resolution(
        self,
        host: str,
        from_namespace: str,
        service: Node,
        target: tuple[str, str],
        spec: dict[str, Any],
        chain: list[str],
    ) -> Resolution:
        """How a (non-ExternalName) Service at the end of ``chain`` resolves: its backends."""
        svc_ns, svc_name = target
        backends, known = self._backends(service, spec)
        if not known:
            ready_kinds = ("Pod",) if self.observed else WORKLOAD_KINDS
            return Resolution(
                host,
                from_namespace,
                ResolutionStatus.UNKNOWN,
                tuple(chain),
                backends,
                detail=f"the input does not say which pods back {svc_ns}/{svc_name}",
                partial=(ready_kinds[0], svc_ns) if selector_of(spec) else None,
            )
        ready = any(b.ready for b in backends)
        status = ResolutionStatus.OK if ready else ResolutionStatus.NO_BACKENDS
        detail = "" if ready else f"Service {svc_ns}/{svc_name} selects no ready pod"
        return Resolution(host, from_namespace, status, tuple(chain), backends, detail)

    def _backends(self, service: Node, spec: dict[str, Any]) -> tuple[tuple[Backend, ...], bool]:
        """Pods behind a Service, and whether the input can tell at all."""
        # Several host names lead to one Service (seldon-scheduler, seldon-scheduler.<ns>):
        # its backends are read once. ``spec`` is the Service's own (see _resolve).
        cached = self._backends_cache.get(service.id)
        if cached is None:
            cached = self._backends_cache[service.id] = self._read_backends(service, spec)
        return cached

    def _read_backends(
        self, service: Node, spec: dict[str, Any]
    ) -> tuple[tuple[Backend, ...], bool]:
        ns = service.namespace
        # A Service a pending change creates or takes over has no Endpoints yet: like a
        # manifest's, it is backed by the workloads that will run.
        pending = service.implied_by is not None or "replaced_by_runtime" in service.props
        if self.observed and not pending:
            endpoints = self._nodes.get(node_id("Endpoints", ns, service.name))
            if endpoints is not None and endpoints.obj is not None:
                return _endpoint_backends(endpoints.obj), True
            slices = [
                s
                for s in self._by_kind_ns.get(("EndpointSlice", ns), ())
                if s.labels.get("kubernetes.io/service-name") == service.name
            ]
            if slices:
                return tuple(b for s in slices if s.obj for b in _slice_backends(s.obj)), True
            # Read only here: most observed Services have Endpoints, which say it all.
            selector = selector_of(spec)
            if not selector:
                return (), False
            pods = [
                Backend(ns, pod.name, bool(pod.obj and seldon.pod_ready(pod.obj)))
                for pod in self._pods_selected(ns, selector)
            ]
            # "No ready pod" needs every Pod of the namespace; a ready one is proof enough.
            known = any(p.ready for p in pods) or self.snapshot.is_complete("Pod", ns)
            return tuple(sorted(pods, key=lambda b: b.pod)), known
        selector = selector_of(spec)
        if not selector:
            return (), False
        slots: list[Backend] = []
        # Manifests: the pods to come are the replicas of the workloads that select them. The
        # input can tell "none" only when it holds a workload whose pods the Service selects
        # (e.g. scaled to 0), or every workload of the namespace; another workload of the
        # namespace (an unrelated app) says nothing about this Service.
        described = all(self.snapshot.is_complete(kind, ns) for kind in WORKLOAD_KINDS)
        for kind in WORKLOAD_KINDS:
            for workload in self._by_kind_ns.get((kind, ns), ()):
                labels = _template_labels(workload)
                if seldon.selector_matches(selector, labels):
                    described = True
                # Implied pod slots are bounded by MAX_IMPLIED_REPLICA_SLOTS, not by the
                # declared count (replicas: 2147483647 looped per replica); the count itself
                # stays a number in the workload's spec/props where checks compare counts.
                replicas = min(_replicas(workload), MAX_IMPLIED_REPLICA_SLOTS)
                for index in range(replicas):
                    pod = f"{workload.name}-{index}"
                    pod_labels = {**labels, "statefulset.kubernetes.io/pod-name": pod}
                    if seldon.selector_matches(selector, pod_labels):
                        described = True
                        slots.append(Backend(ns, pod, True, implied=True, workload=workload.id))
        return tuple(slots), described


def selector_of(spec: dict[str, Any]) -> dict[str, str]:
    selector = spec.get("selector") if isinstance(spec.get("selector"), dict) else {}
    return {str(k): str(v) for k, v in (selector or {}).items()}


def parse_service_host(host: str, namespace: str) -> tuple[str, str] | None:
    """(service, namespace) a cluster DNS name denotes, or None when it is not one."""
    host = host.strip().rstrip(".").lower()
    if not host or ":" in host:
        return None
    labels = host.split(".")
    if len(labels) == 1:
        return labels[0], namespace
    if len(labels) == 2:
        return labels[0], labels[1]
    if labels[2] == "svc":
        return labels[0], labels[1]
    return None


def _template_labels(workload: Node) -> dict[str, str]:
    if workload.obj is not None:
        return seldon.pod_template_labels(workload.obj)
    labels = workload.props.get("template_labels")
    return dict(labels) if isinstance(labels, dict) else {}


def _replicas(workload: Node) -> int:
    if workload.obj is None:
        value = workload.props.get("replicas", 1)
        return value if isinstance(value, int) else 1
    value = workload.spec.get("replicas", 1)
    return value if isinstance(value, int) else 1


def _endpoint_backends(endpoints: KubeObject) -> tuple[Backend, ...]:
    # Each (namespace, pod, ready) once, as plain tuples: building and hashing a Backend per
    # address cost more than reading it. Sorted by namespace and pod (not-ready first where
    # one Endpoints lists a pod both ways, which a set's hash order used to decide).
    seen: dict[tuple[str, str, bool], None] = {}
    for subset in endpoints.body.get("subsets") or []:
        if not isinstance(subset, dict):
            continue
        for field, ready in (("addresses", True), ("notReadyAddresses", False)):
            for address in subset.get(field) or []:
                if not isinstance(address, dict):
                    continue
                ref = address.get("targetRef")
                if not isinstance(ref, dict):
                    ref = {}
                pod = str(ref.get("name") or address.get("ip") or "?")
                ns = str(ref.get("namespace") or endpoints.namespace)
                seen[(ns, pod, ready)] = None
    return tuple(Backend(ns, pod, ready) for ns, pod, ready in sorted(seen))


def _slice_backends(endpoint_slice: KubeObject) -> Iterator[Backend]:
    for endpoint in endpoint_slice.body.get("endpoints") or []:
        if not isinstance(endpoint, dict):
            continue
        conditions = (
            endpoint.get("conditions") if isinstance(endpoint.get("conditions"), dict) else {}
        )
        ready = (conditions or {}).get("ready", True) is not False
        ref = endpoint.get("targetRef") if isinstance(endpoint.get("targetRef"), dict) else {}
        addresses = endpoint.get("addresses") or ["?"]
        pod = str((ref or {}).get("name") or addresses[0])
        yield Backend(str((ref or {}).get("namespace") or endpoint_slice.namespace), pod, ready)


def _match_labels(workload: Node) -> dict[str, str]:
    selector = workload.spec.get("selector")
    if isinstance(selector, dict) and isinstance(selector.get("matchLabels"), dict):
        return {str(k): str(v) for k, v in selector["matchLabels"].items()}
    return {}
