"""Live source: read a cluster through its API server with the official ``kubernetes`` client.

Read-only by construction: the only verb this module sends is GET (discovery, LIST with
``limit``/``continue``, and pod logs when asked). It never asks for Secrets and never watches.

* **What**: exactly the kinds the selected checks declare
  (:func:`seldon_doctor.live_kinds.kinds_read`), at the version the API server serves
  (discovered once per cluster from ``/apis``).
* **How many requests**: one paginated LIST per kind for the whole cluster; per namespace only
  when ``namespaces`` were given without ``scope_closure`` (``snapshot -n``), or the cluster-wide
  LIST was forbidden (the fallback: the ``-n`` namespaces when given, else every listed
  Namespace). Requests grow with kinds and pages, not with namespaces. ``scan -n`` sets
  ``scope_closure``: a namespace is judged with the controller, scheduler and Envoy it depends
  on, which live elsewhere, so it lists cluster-wide and ``seldon_doctor/scope.py`` narrows the
  report instead.
* **Failures become gaps**: a 403, a missing CRD group, a timeout, a reset connection or a
  truncated body (after bounded retries with backoff on 429/5xx and transport errors) is a
  :class:`~seldon_doctor.snapshot.Gap`, and the engine reports the checks that needed that kind
  as not evaluated (SD002). Nothing here raises for a cluster-side problem.
* **Deadline**: ``timeout`` bounds the whole read. Every request's socket timeout is capped by
  what is left, requests not finished by then are abandoned and reported as gaps.
* **Raw JSON**: responses are parsed with :mod:`json`, never into the client's model classes
  (slow, and strict enough to reject real clusters' objects).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from seldon_doctor.errors import InputError, NoKubeconfigError
from seldon_doctor.kinds import KINDS, TYPED_GROUPS, KindInfo
from seldon_doctor.snapshot import Gap, KubeObject, Origin, Snapshot
from seldon_doctor.sources.kubeconfig import Target, _one_line, read_kubeconfig
from seldon_doctor.sources.live_http import ApiReader, DeadlineExceeded, ReadFailed

# Kubeconfig reading lives in sources/kubeconfig.py, the HTTP reader in sources/live_http.py;
# their public names stay importable from here.
__all__ = [
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_TAIL_LINES",
    "DEFAULT_TIMEOUT",
    "DEFAULT_WORKERS",
    "DISCOVERY_TIMEOUT",
    "ApiReader",
    "ClusterInfo",
    "ClusterScan",
    "DeadlineExceeded",
    "LiveOptions",
    "LiveScan",
    "ProgressCallback",
    "ReadFailed",
    "Target",
    "api_client_for",
    "collect_live",
    "list_path",
    "read_kubeconfig",
    "resolve_targets",
]

DEFAULT_TIMEOUT = 60.0
DEFAULT_PAGE_SIZE = 500
DEFAULT_WORKERS = 12
DEFAULT_TAIL_LINES = 500
# GET /version answers at once from any healthy API server; a server that accepts connections
# and never answers must not cost the whole --timeout before the scan can say so.
DISCOVERY_TIMEOUT = 5.0

# (cluster, kind, objects so far, state) where state is "reading", "done" or "failed".
ProgressCallback = Callable[[str, str, int, str], None]


@dataclass(frozen=True, slots=True)
class LiveOptions:
    """What the user asked a live scan to read."""

    kubeconfig: str | None = None
    contexts: tuple[str, ...] = ()
    all_contexts: bool = False
    namespaces: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    page_size: int = DEFAULT_PAGE_SIZE
    workers: int = DEFAULT_WORKERS
    kinds: tuple[KindInfo, ...] | None = None  # default: what every registered check reads
    logs: bool = False
    tail_lines: int = DEFAULT_TAIL_LINES
    # With namespaces: still list cluster-wide first (scan -n judges what a namespace depends
    # on); the namespaces are only the fallback when a cluster-wide LIST is forbidden.
    scope_closure: bool = False


@dataclass(slots=True)
class ClusterInfo:
    """What a live scan learnt about one cluster, beyond its objects (for reports and bundles)."""

    name: str
    server: str = ""
    version: str | None = None
    # Group -> versions the API server serves, for the groups the doctor reads.
    served: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # kind -> objects read
    requests: int = 0
    duration: float = 0.0


@dataclass(slots=True)
class LiveScan:
    """One snapshot per cluster, with what was learnt about each."""

    snapshots: dict[str, Snapshot]
    clusters: dict[str, ClusterInfo]
    # The connection each snapshot was read through (port-forwards, live probes reuse it).
    targets: dict[str, Target] = field(default_factory=dict)


# --------------------------------------------------------------------------- configuration


def resolve_targets(options: LiveOptions) -> list[Target]:
    """Client configurations for the contexts asked for; an unusable kubeconfig is an InputError."""
    import os

    from kubernetes import client
    from kubernetes import config as kube_config
    from kubernetes.config.config_exception import ConfigException

    config: Any = kube_config  # untyped module

    kubeconfig = options.kubeconfig or os.environ.get("KUBECONFIG") or None
    default_path = os.path.expanduser("~/.kube/config")
    in_cluster = (
        kubeconfig is None
        and not options.contexts
        and not options.all_contexts
        and not os.path.exists(default_path)
        and bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
    )
    if in_cluster:
        configuration = client.Configuration()
        try:
            config.load_incluster_config(client_configuration=configuration)
        except ConfigException as exc:
            raise InputError(f"in-cluster configuration: {_one_line(exc)}") from None
        return [Target("in-cluster", configuration)]

    # KUBECONFIG may list several files (merged, as kubectl does): the client merges them.
    path = kubeconfig or default_path
    if not any(os.path.exists(os.path.expanduser(p)) for p in path.split(os.pathsep) if p):
        raise NoKubeconfigError(
            f"no kubeconfig at {path}: pass --kubeconfig PATH or set KUBECONFIG"
        )
    merged, base = read_kubeconfig(path)
    try:
        listing = config.kube_config.KubeConfigLoader(config_dict=merged, config_base_path=base)
        contexts, active = listing.list_contexts(), listing.current_context
    except Exception as exc:  # the kubeconfig is user input: any parse failure is theirs
        raise InputError(f"kubeconfig {path}: {_one_line(exc)}") from None
    known = [str(c.get("name")) for c in contexts or []]
    if options.all_contexts:
        names = known
    elif options.contexts:
        names = list(dict.fromkeys(options.contexts))
        unknown = [n for n in names if n not in known]
        if unknown:
            raise InputError(
                f"kubeconfig {path} has no context {', '.join(unknown)} "
                f"(it has: {', '.join(known) or 'none'})"
            )
    elif active:
        names = [str(active.get("name"))]
    else:
        raise InputError(f"kubeconfig {path} has no current context: pass --context NAME")
    if not names:
        raise InputError(f"kubeconfig {path} has no contexts")
    targets = []
    for name in names:
        configuration = client.Configuration()
        try:
            config.kube_config.KubeConfigLoader(
                config_dict=merged, active_context=name, config_base_path=base
            ).load_and_set(configuration)
        except Exception as exc:  # user input, as above
            raise InputError(f"kubeconfig {path}, context {name}: {_one_line(exc)}") from None
        targets.append(Target(name, configuration))
    return targets


# --------------------------------------------------------------------------- listing


@dataclass(slots=True)
class _KindResult:
    kind: KindInfo
    api_version: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def list_path(info: KindInfo, version: str, namespace: str | None = None) -> str:
    prefix = f"/apis/{info.group}/{version}" if info.group else f"/api/{version}"
    if namespace is not None and info.namespaced:
        return f"{prefix}/namespaces/{namespace}/{info.plural}"
    return f"{prefix}/{info.plural}"


def _pages(
    reader: ApiReader, path: str, page_size: int, on_page: Callable[[int], None]
) -> Iterator[dict[str, Any]]:
    """Every item of a paginated LIST, restarting once if the continue token expires (410)."""
    restarted = False
    token: str | None = None
    while True:
        query = [("limit", str(page_size))]
        if token:
            query.append(("continue", token))
        try:
            page = reader.get_json(path, query)
        except ReadFailed as exc:
            if exc.status == 410 and token and not restarted:
                restarted, token = True, None
                continue
            raise
        items = page.get("items")
        if not isinstance(items, list):
            raise ReadFailed(f"GET {path}: a list response without items")
        for item in items:
            if isinstance(item, dict):
                yield item
        on_page(len(items))
        meta = page.get("metadata")
        token = str(meta.get("continue") or "") if isinstance(meta, dict) else ""
        if not token:
            return


class ClusterScan:
    """Read one cluster: discovery, the Namespace list, then every other kind in parallel."""

    def __init__(
        self,
        target: Target,
        options: LiveOptions,
        kinds: Sequence[KindInfo],
        deadline: float,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.target = target
        self.options = options
        self.kinds = list(kinds)
        self.deadline = deadline
        self.progress = progress
        self.info = ClusterInfo(target.name, server=str(getattr(target.configuration, "host", "")))
        self.snapshot = Snapshot(live=True, captured_at=round(time.time(), 3))
        if options.namespaces and not options.scope_closure:
            self.snapshot.listed_namespaces = frozenset(options.namespaces)
        # Namespaces to fall back to when a cluster-wide LIST is forbidden: the -n ones, else
        # every listed Namespace, known once the Namespace LIST (read alongside the rest) ends.
        self._fallback: Future[list[str]] = Future()
        if options.namespaces:
            self._fallback.set_result(list(options.namespaces))
        # Set when a kind could only be read in the -n namespaces: the rest is then unknown.
        self.narrowed = False
        # (kind, apiVersion, first, end): custom resources read, as slices of snapshot.objects.
        self._custom: list[tuple[str, str, int, int]] = []
        self._crds: list[KubeObject] = []

    # -- driver ----------------------------------------------------------------------------
    def run(self) -> Snapshot:
        """Read the cluster (and, with ``logs``, the containers' log tails) by the deadline."""
        started = time.monotonic()
        reader = ApiReader(self.target, self.deadline, self.options.workers)
        try:
            self._run(reader)
            if self.options.logs:
                self.read_logs(reader)
        finally:
            self.info.requests = reader.requests
            self.info.duration = time.monotonic() - started
            reader.close()  # wakes retries still backing off; sockets time out by the deadline
        self.finish()
        return self.snapshot

    def _run(self, reader: ApiReader) -> None:
        versions = self._discover(reader)
        if versions is None:
            return
        # Namespace first in the queue: a kind whose cluster-wide LIST is refused waits for it.
        pending = sorted(
            ((info, versions[info.kind]) for info in self.kinds if info.kind in versions),
            key=lambda pair: pair[0].kind != "Namespace",
        )
        if not pending or pending[0][0].kind != "Namespace":
            self._set_fallback([])
        pool = ThreadPoolExecutor(
            max_workers=max(1, self.options.workers), thread_name_prefix="seldon-doctor-list"
        )
        futures: dict[Future[_KindResult], KindInfo] = {
            pool.submit(self._list_kind, reader, info, version): info for info, version in pending
        }
        try:
            waiting = set(futures)
            while waiting:
                left = self.deadline - time.monotonic()
                if left <= 0:
                    break
                done, waiting = wait(waiting, timeout=left, return_when=FIRST_COMPLETED)
                for future in done:
                    self._absorb(future.result())
            self._set_fallback([])  # a Namespace LIST abandoned at the deadline
            for future in waiting:  # abandoned at the deadline
                info = futures[future]
                self._gap(
                    Gap(f"kind:{info.kind}", "not read before the deadline (--timeout)"), info
                )
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    # -- discovery -------------------------------------------------------------------------
    def _discover(self, reader: ApiReader) -> dict[str, str] | None:
        """Kind -> version to read; records gaps for groups the server does not serve."""
        try:
            version = reader.get_json("/version", within=DISCOVERY_TIMEOUT)
            self.info.version = str(version.get("gitVersion") or "") or None
        except ReadFailed as exc:
            if exc.status in (0, 401):  # unreachable, or our credentials are refused
                what = "could not be reached" if exc.status == 0 else "refused the credentials"
                reason = f"the API server {self.info.server} {what}: {exc.reason}"
                if isinstance(exc, DeadlineExceeded) or "timed out" in exc.reason:
                    reason += f" (discovery waits {DISCOVERY_TIMEOUT:g} s)"
                # One cause, one gap: the engine judges nothing in a cluster it could not read.
                self.snapshot.gaps.append(Gap(f"cluster:{self.target.name}", reason))
                return None
        groups: dict[str, tuple[list[str], str]] = {}
        needs_groups = any(info.group for info in self.kinds)
        if needs_groups:
            try:
                listing = reader.get_json("/apis")
            except ReadFailed as exc:
                reason = f"API discovery (/apis) failed: {exc.reason}"
                for info in self.kinds:
                    if info.group:
                        self.snapshot.gaps.append(Gap(f"kind:{info.kind}", reason))
                return {info.kind: info.version for info in self.kinds if not info.group}
            for group in listing.get("groups") or []:
                if not isinstance(group, dict):
                    continue
                served = [
                    str(v.get("version"))
                    for v in group.get("versions") or []
                    if isinstance(v, dict) and v.get("version")
                ]
                preferred = group.get("preferredVersion")
                pref = str(preferred.get("version")) if isinstance(preferred, dict) else ""
                groups[str(group.get("name"))] = (served, pref or (served[0] if served else ""))
        chosen: dict[str, str] = {}
        for info in self.kinds:
            if not info.group:
                chosen[info.kind] = info.version
                continue
            served, preferred = groups.get(info.group, ([], ""))
            if not served:
                if not info.optional:
                    self.snapshot.gaps.append(
                        Gap(
                            f"kind:{info.kind}",
                            f"the API server does not serve {info.group} "
                            "(its CustomResourceDefinitions are not installed?)",
                        )
                    )
                continue
            self.info.served[info.group] = served
            if info.version in served:
                chosen[info.kind] = info.version
            else:
                chosen[info.kind] = preferred
                self.snapshot.warnings.append(
                    f"{self.target.name}: {info.kind} is served as {info.group}/{preferred}, "
                    f"not {info.api_version}; read as {info.api_version} (fields it does not "
                    "recognise are ignored)"
                )
        return chosen

    # -- listing ---------------------------------------------------------------------------
    def _list_kind(self, reader: ApiReader, info: KindInfo, version: str) -> _KindResult:
        """All objects of one kind: cluster-wide, or per namespace (-n, or the 403 fallback)."""
        if info.kind != "Namespace":
            return self._list_one_kind(reader, info, version)
        names: list[str] = []
        try:
            result = self._list_one_kind(reader, info, version)
            names = sorted(KubeObject(item).name for item in result.items)
            return result
        finally:  # whatever happened, kinds waiting for the fallback must not wait forever
            self._set_fallback(names)

    def _list_one_kind(self, reader: ApiReader, info: KindInfo, version: str) -> _KindResult:
        result = _KindResult(info, api_version=f"{info.group}/{version}" if info.group else version)
        count = 0
        self._progress(info.kind, 0, "reading")

        def on_page(n: int) -> None:
            nonlocal count
            count += n
            self._progress(info.kind, count, "reading")

        def read(path: str) -> list[dict[str, Any]]:
            return list(_pages(reader, path, self.options.page_size, on_page))

        # Cluster-wide first with scope closure (scan -n): what a namespace depends on lives
        # elsewhere. Without it (snapshot -n), only the namespaces asked for.
        namespaces: Sequence[str] | None = (
            None if self.options.scope_closure else (self.options.namespaces or None)
        )
        cluster_wide_refusal = ""
        if namespaces is None or not info.namespaced:
            try:
                result.items = read(list_path(info, version))
                return result
            except ReadFailed as exc:
                refused = exc.status == 403 and info.namespaced
                fallback = self._fallback_namespaces() if refused else []
                if exc.status != 403 or not info.namespaced or not fallback:
                    result.gaps.append(Gap(f"kind:{info.kind}", exc.reason))
                    return result
                namespaces = fallback
                cluster_wide_refusal = exc.reason
                if self.options.namespaces:
                    self.narrowed = True
                result.warnings.append(
                    f"{self.target.name}: listing {info.plural} cluster-wide is forbidden; "
                    f"read them per namespace ({len(fallback)} namespaces)"
                )
        failed: list[Gap] = []
        for namespace in namespaces:
            try:
                result.items.extend(read(list_path(info, version, namespace)))
            except DeadlineExceeded as exc:
                result.gaps.append(Gap(f"kind:{info.kind}", exc.reason))
                return result
            except ReadFailed as exc:
                failed.append(Gap(f"kind:{info.kind}", exc.reason, namespace))
        if failed and len(failed) == len(namespaces) and not self.options.namespaces:
            # The fallback read nothing either: one gap for the kind, not one per namespace.
            result.warnings = []
            result.gaps.append(Gap(f"kind:{info.kind}", cluster_wide_refusal or failed[0].reason))
        else:
            result.gaps.extend(failed)
        return result

    def _fallback_namespaces(self) -> list[str]:
        """The namespaces to read one by one, waiting (by the deadline) for the Namespace LIST."""
        try:
            return self._fallback.result(timeout=max(0.0, self.deadline - time.monotonic()))
        except TimeoutError:
            return []

    def _set_fallback(self, names: list[str]) -> None:
        if not self._fallback.done():
            self._fallback.set_result(names)

    def _absorb(self, result: _KindResult) -> None:
        info = result.kind
        origin = Origin(cluster=self.target.name, typed=info.group in TYPED_GROUPS)
        objects = self.snapshot.objects
        first = len(objects)
        for item in result.items:
            # A LIST's items carry no kind/apiVersion: the list's type says it.
            item.setdefault("kind", info.kind)
            item.setdefault("apiVersion", result.api_version)
            objects.append(KubeObject(item, origin))
        if info.kind == "CustomResourceDefinition":
            self._crds.extend(objects[first:])
        elif not origin.typed and result.items:
            self._custom.append((info.kind, result.api_version, first, len(objects)))
        self.info.counts[info.kind] = self.info.counts.get(info.kind, 0) + len(result.items)
        self.snapshot.warnings.extend(result.warnings)
        for gap in result.gaps:
            self._gap(gap, info)
        failed = any(g.namespace is None for g in result.gaps)
        self._progress(info.kind, len(result.items), "failed" if failed else "done")

    def _gap(self, gap: Gap, info: KindInfo) -> None:
        self.snapshot.gaps.append(gap)
        if info.kind == "Namespace" or gap.namespace is not None:
            return
        self._progress(info.kind, self.info.counts.get(info.kind, 0), "failed")

    def _progress(self, kind: str, count: int, state: str) -> None:
        if self.progress is not None:
            self.progress(self.target.name, kind, count, state)

    # -- logs ------------------------------------------------------------------------------
    def read_logs(self, reader: ApiReader) -> None:
        """Tail the containers whose log lines are evidence (``seldon_doctor.logs``)."""
        from seldon_doctor.logs import log_targets

        targets = log_targets(self.snapshot)
        if not targets:
            return
        tail = str(max(1, self.options.tail_lines))

        def fetch(target: Any) -> tuple[Any, str | ReadFailed]:
            path = f"/api/v1/namespaces/{target.namespace}/pods/{target.pod}/log"
            try:
                return target, reader.get_text(
                    path, [("container", target.container), ("tailLines", tail)]
                )
            except ReadFailed as exc:
                return target, exc

        failed: dict[str, str] = {}
        with ThreadPoolExecutor(max_workers=max(1, self.options.workers)) as pool:
            for target, text in pool.map(fetch, targets):
                key = f"{target.namespace}/{target.pod}/{target.container}"
                if isinstance(text, ReadFailed):
                    failed.setdefault(target.namespace, text.reason)
                    continue
                self.snapshot.logs[key] = text.splitlines()
        for namespace, reason in sorted(failed.items()):
            self.snapshot.gaps.append(Gap(f"logs:{namespace}", reason, namespace))

    def finish(self) -> None:
        """Deterministic order, whatever order the parallel LISTs finished in."""
        if self.narrowed:  # outside the -n namespaces, some kind is unknown (not absent)
            self.snapshot.listed_namespaces = frozenset(self.options.namespaces)
        if self._custom:
            from seldon_doctor.sources.crd_trust import mark_typed

            mark_typed(self.snapshot.objects, self._custom, self._crds, self.target.name)
        order = {kind: index for index, kind in enumerate(KINDS)}

        def key(obj: KubeObject) -> tuple[int, str, str, str]:
            # KubeObject's kind/namespace/name, read once each (40k objects at 1,000 namespaces).
            body = obj.body
            kind = str(body.get("kind") or "")
            meta = body.get("metadata")
            if not isinstance(meta, dict):
                meta = {}
            namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
            return order.get(kind, len(order)), kind, namespace, name

        self.snapshot.objects.sort(key=key)
        self.snapshot.gaps.sort(key=lambda g: (g.what, g.namespace or "", g.reason))
        self.snapshot.warnings = sorted(set(self.snapshot.warnings))


def collect_live(options: LiveOptions, progress: ProgressCallback | None = None) -> LiveScan:
    """Read every cluster asked for, concurrently, within one deadline."""
    from seldon_doctor.live_kinds import kinds_read

    targets = resolve_targets(options)
    kinds = options.kinds if options.kinds is not None else tuple(kinds_read())
    deadline = time.monotonic() + options.timeout
    scans = [ClusterScan(t, options, kinds, deadline, progress) for t in targets]

    # Decoding LIST pages creates millions of containers that all stay alive: the cyclic GC
    # would walk the growing heap again and again (1,000 namespaces: decode 1.1 s without it,
    # 1.5-3.9 s with it, measured on the 2-core machine) and find nothing to free. Frozen
    # afterwards, they are also skipped by the full collections during graph and checks (each
    # walked them for ~1 s); JSON trees hold no cycles, so dropping them still frees them.
    if gc.get_freeze_count():
        # A process that reads again (serve, wait): what the last read froze may be garbage
        # now, cycles included; collect it before freezing this read's objects.
        gc.unfreeze()
        gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        if len(scans) == 1:
            scans[0].run()
        else:
            with ThreadPoolExecutor(max_workers=len(scans)) as pool:
                list(pool.map(ClusterScan.run, scans))
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
    return LiveScan(
        snapshots={s.target.name: s.snapshot for s in scans},
        clusters={s.target.name: s.info for s in scans},
        targets={s.target.name: s.target for s in scans},
    )


def api_client_for(target: Target) -> Any:
    """A ``kubernetes`` ApiClient for port-forwards (``sources.dataplane.observe_live``)."""
    from kubernetes import client

    return client.CoreV1Api(client.ApiClient(target.configuration))
