"""The snapshot: everything a source read, as plain data, before any interpretation.

Sources (files, live API, snapshot bundles) are the only code that does I/O; each produces one
``Snapshot``. Everything downstream (graph, checks, renderers) reads only this.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

JSONDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an object came from: a file and line, a cluster, or a snapshot bundle."""

    file: str | None = None
    line: int | None = None
    cluster: str | None = None
    # Line of a field path inside the object, from the text the source read (files only; not
    # saved in bundles). Checks ask ``field_line``, never the disk.
    fields: Callable[[Sequence[str | int]], int | None] | None = field(
        default=None, compare=False, repr=False
    )
    # Served by an API server from a built-in (typed) kind, which the server decoded into its
    # Go struct, or a custom resource whose CRD schema (read in the same scan) types every
    # field the graph reads: either way every field already has its shape (graph/shape.py
    # skips the walk). Set by the live reader only; a bundle or a file never claims it.
    typed: bool = field(default=False, compare=False, repr=False)

    def field_line(self, path: Sequence[str | int]) -> int | None:
        """Line of ``path`` (its nearest present parent) in the object's text; None when the
        source kept no text (live reads, bundles, stdin) or the object cannot be found."""
        return self.fields(path) if self.fields is not None else None

    def describe(self) -> str:
        """Human-readable location, e.g. ``k8s/app.yaml:12``."""
        if self.file and self.line:
            return f"{self.file}:{self.line}"
        if self.file:
            return self.file
        if self.cluster:
            return f"cluster {self.cluster}"
        return "input"


@dataclass(slots=True)
class KubeObject:
    """One Kubernetes object as a plain dict, with its identity pulled out once."""

    body: JSONDict
    origin: Origin = field(default_factory=Origin)

    @property
    def kind(self) -> str:
        return str(self.body.get("kind") or "")

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion") or "")

    @property
    def group(self) -> str:
        api = self.api_version
        return api.rsplit("/", 1)[0] if "/" in api else ""

    @property
    def metadata(self) -> JSONDict:
        meta = self.body.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or "")

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace") or "")

    @property
    def labels(self) -> dict[str, str]:
        labels = self.metadata.get("labels")
        return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}

    @property
    def annotations(self) -> dict[str, str]:
        ann = self.metadata.get("annotations")
        return {str(k): str(v) for k, v in ann.items()} if isinstance(ann, dict) else {}

    @property
    def spec(self) -> JSONDict:
        spec = self.body.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def status(self) -> JSONDict:
        status = self.body.get("status")
        return status if isinstance(status, dict) else {}

    def identity(self) -> tuple[str, str, str]:
        """``(kind, namespace, name)``, as the three properties give them, with one metadata
        read: the graph asks it of every object, tens of thousands per large scan."""
        body = self.body
        meta = body.get("metadata")
        if not isinstance(meta, dict):
            meta = {}
        return (
            str(body.get("kind") or ""),
            str(meta.get("namespace") or ""),
            str(meta.get("name") or ""),
        )

    def ref(self) -> str:
        """``Kind/namespace/name`` (namespace omitted for cluster-scoped objects)."""
        if self.namespace:
            return f"{self.kind}/{self.namespace}/{self.name}"
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True, slots=True)
class Gap:
    """Something the user asked for that could not be read, and why.

    ``what`` names the input in the vocabulary checks declare (``kind:Pod``,
    ``envoy:<namespace>``, ``scheduler:<namespace>``); ``reason`` is for humans.
    """

    what: str
    reason: str
    namespace: str | None = None


@dataclass(slots=True)
class EnvoyObservation:
    """One Envoy instance's ``/config_dump``, attributed to the namespace it runs in.

    ``raw`` is the dump as read (kept so a snapshot bundle can be written back byte-for-byte
    equivalent); ``config`` is the parsed form (``seldon_doctor.domain.envoy_config.EnvoyConfig``).
    """

    namespace: str
    origin: Origin
    raw: Mapping[str, Any]
    config: Any
    pod: str | None = None
    # Read live through the admin interface (--envoy-admin): /ready's server state (LIVE,
    # PRE_INITIALIZING, ...) and the router counters (no_route, no_cluster); None from a file.
    ready: str | None = None
    counters: dict[str, int] | None = None


@dataclass(slots=True)
class SchedulerObservation:
    """One scheduler's own view (status RPCs, port 9004), attributed to the namespace it runs in.

    ``state`` is a ``seldon_doctor.domain.scheduler_state.SchedulerState``.
    """

    namespace: str
    target: str
    state: Any
    origin: Origin = field(default_factory=Origin)


@dataclass(slots=True)
class XdsObservation:
    """What one scheduler's xDS server (port 9002) served to an Envoy node id.

    ``snapshot`` is a ``seldon_doctor.domain.xds_state.XdsSnapshot``.
    """

    namespace: str
    target: str
    snapshot: Any
    origin: Origin = field(default_factory=Origin)


@dataclass(slots=True)
class ProbeObservation:
    """What ``seldon-doctor probe`` (or ``scan --probe``) saw for one Model/Experiment/Pipeline.

    Plain figures, no raw samples: counts by status and verdict, latency quantiles (ms), which
    internal model answered (``x-seldon-route``) and which ``model_version`` it reported. The
    expectations (configured split, expected version, SLO) travel with it so the SD8xx checks
    can judge it; see :mod:`seldon_doctor.probe.runner` for how it is produced.
    """

    kind: str  # Model | Experiment | Pipeline
    namespace: str
    name: str
    endpoint: str = ""
    protocol: str = "rest"
    requests: int = 0
    ok: int = 0
    statuses: dict[str, int] = field(default_factory=dict)  # "200", "404", "error"
    verdicts: dict[str, int] = field(default_factory=dict)  # probe.classify verdicts
    latency_ms: dict[str, float] = field(default_factory=dict)  # min p50 p95 p99 max mean
    routes: dict[str, int] = field(default_factory=dict)  # internal name -> responses
    versions: dict[str, int] = field(default_factory=dict)  # model_version -> responses
    # model_name in the response body (Seldon: <model>_<artifactVersion>) -> responses
    names: dict[str, int] = field(default_factory=dict)
    configured_weights: dict[str, int] | None = None  # candidate -> weight
    expected_version: str | None = None
    slo_p95_ms: float | None = None
    max_error_rate: float = 0.0
    duration_s: float = 0.0
    stopped: str = "done"  # done | deadline
    origin: Origin = field(default_factory=Origin)

    @property
    def error_rate(self) -> float:
        return (self.requests - self.ok) / self.requests if self.requests else 0.0


def observation_from_dict(data: dict[str, Any], origin: Origin | None = None) -> ProbeObservation:
    """A ProbeObservation from its JSON form (``probe -o json`` / fixtures' ``probes/*.json``)."""
    known = set(ProbeObservation.__dataclass_fields__) - {"origin"}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown probe observation keys {sorted(unknown)}")
    for key, value in data.items():
        _check_probe_field(key, value)
    obs = ProbeObservation(**{k: v for k, v in data.items() if k in known})
    obs.origin = origin or Origin()
    return obs


# The JSON type of each ProbeObservation field: checks compare and add them, so a string where
# a count belongs would crash SD80x instead of being reported as bad input.
_PROBE_FIELD_TYPES: dict[str, str] = {
    "kind": "str",
    "namespace": "str",
    "name": "str",
    "endpoint": "str",
    "protocol": "str",
    "stopped": "str",
    "requests": "int",
    "ok": "int",
    "statuses": "counts",
    "verdicts": "counts",
    "routes": "counts",
    "versions": "counts",
    "latency_ms": "numbers",
    "configured_weights": "counts?",
    "expected_version": "str?",
    "slo_p95_ms": "number?",
    "max_error_rate": "number",
    "duration_s": "number",
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def _is_number(value: Any) -> bool:
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))


def _check_probe_field(key: str, value: Any) -> None:
    """Raise ValueError naming ``key`` when ``value`` has the wrong JSON type."""
    kind = _PROBE_FIELD_TYPES.get(key, "")
    if kind.endswith("?"):
        if value is None:
            return
        kind = kind[:-1]
    checks: dict[str, Callable[[Any], bool]] = {
        "str": lambda v: isinstance(v, str),
        "int": _is_int,
        "number": _is_number,
        "counts": lambda v: (
            isinstance(v, dict) and all(isinstance(k, str) and _is_int(x) for k, x in v.items())
        ),
        "numbers": lambda v: (
            isinstance(v, dict) and all(isinstance(k, str) and _is_number(x) for k, x in v.items())
        ),
    }
    ok = checks.get(kind)
    if ok is not None and not ok(value):
        raise ValueError(f"probe observation field {key!r} is not {_PROBE_TYPE_NAMES[kind]}")


_PROBE_TYPE_NAMES = {
    "str": "a string",
    "int": "an integer",
    "number": "a finite number",
    "counts": "a map of integer counts",
    "numbers": "a map of numbers",
}


def observation_dict(obs: ProbeObservation) -> dict[str, Any]:
    return {
        name: getattr(obs, name)
        for name in ProbeObservation.__dataclass_fields__
        if name != "origin"
    }


ANY = "*"  # every kind, or every namespace, in a Completeness pair


@dataclass(slots=True)
class Completeness:
    """Where the input holds *every* object of a kind (closed world), per (kind, namespace).

    A pair ``(kind, namespace)`` says the input lists all ``kind`` objects of ``namespace``
    (``""`` for cluster-scoped kinds); ``*`` stands for every kind or every namespace, so
    ``(*, *)`` is ``scan --complete``. Everything else is partial: an absent object there is
    unknown, not missing. See ``docs/completeness.md`` for what each source records.
    """

    pairs: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def everything(cls) -> Completeness:
        return cls({(ANY, ANY)})

    def mark(self, kind: str, namespace: str = ANY) -> None:
        self.pairs.add((kind, namespace))

    def is_complete(self, kind: str, namespace: str) -> bool:
        pairs = self.pairs
        return (
            (kind, namespace) in pairs
            or (kind, ANY) in pairs
            or (ANY, namespace) in pairs
            or (ANY, ANY) in pairs
        )

    def as_list(self) -> list[list[str]]:
        return [list(pair) for pair in sorted(self.pairs)]

    @classmethod
    def from_list(cls, value: Sequence[Sequence[str]]) -> Completeness:
        return cls({(str(kind), str(ns)) for kind, ns in value})


@dataclass(slots=True)
class Snapshot:
    """Everything read for one scan."""

    objects: list[KubeObject] = field(default_factory=list)
    envoys: list[EnvoyObservation] = field(default_factory=list)
    # Data plane read live or from files (--scheduler, --scheduler-xds): SD606, SD607, trace.
    schedulers: list[SchedulerObservation] = field(default_factory=list)
    xds: list[XdsObservation] = field(default_factory=list)
    # Inference probes (seldon-doctor probe / scan --probe); the SD8xx checks need them.
    probes: list[ProbeObservation] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # True when the objects are what a live API server reported (pods, endpoints and statuses
    # are facts); False for manifests, where the doctor must infer what the controller creates.
    live: bool = False
    # Container logs (scan --logs), keyed "<namespace>/<pod>/<container>", oldest line first;
    # seldon_doctor.logs.log_targets says which containers, match_logs what the lines mean.
    logs: dict[str, list[str]] = field(default_factory=dict)
    # Live scans limited to some namespaces (-n): only these namespaces' objects were read, so
    # an object absent elsewhere is unknown, not missing. None: every namespace was read.
    listed_namespaces: frozenset[str] | None = None
    # When a live scan read the cluster (epoch seconds): "now" for age-based checks, so a
    # snapshot bundle scanned later gives the same findings. None for files.
    captured_at: float | None = None
    # What-if (scan -f CHANGES/ --against-cluster): (kind, namespace, name) of the objects a
    # change adds or replaces over an observed cluster. They are not applied yet, so the graph
    # adds what their controllers will create, as it does for manifests (seldon_doctor.whatif).
    pending: frozenset[tuple[str, str, str]] = frozenset()

    # Where the input is complete (see Completeness). None: derived from what the source
    # recorded — a live read (or a bundle of one) is complete for every kind it listed, in the
    # namespaces it listed, except where a gap says otherwise; anything else is partial.
    completeness: Completeness | None = None

    def is_complete(self, kind: str, namespace: str = ANY) -> bool:
        """Whether the input holds every ``kind`` object of ``namespace`` (``""`` for a
        cluster-scoped kind, ``*`` for every namespace), so an absent one is really absent."""
        if self.completeness is not None and self.completeness.is_complete(kind, namespace):
            return True
        if not self.live:
            return False
        listed = self.listed_namespaces
        if (
            listed is not None
            and namespace
            and kind != "Namespace"
            and (namespace == ANY or namespace not in listed)
        ):
            return False
        what = f"kind:{kind}"
        return not any(
            gap.what == what
            and (gap.namespace is None or namespace == ANY or gap.namespace == namespace)
            for gap in self.gaps
        )

    def of_kind(self, *kinds: str) -> Iterator[KubeObject]:
        wanted = set(kinds)
        return (obj for obj in self.objects if obj.kind in wanted)

    def namespaces(self) -> set[str]:
        return {obj.namespace for obj in self.objects if obj.namespace}
