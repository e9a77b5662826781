"""Typed nodes, edges and resolution results of the deployment graph."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from seldon_doctor.findings import ResourceRef
from seldon_doctor.snapshot import JSONDict, KubeObject, Origin


class Edge(StrEnum):
    """What one node does to another."""

    WATCHES = "watches"  # controller -> namespace
    DIALS = "dials"  # consumer (controller, agent, envoy, dataflow) -> Service, attr host/port
    RESOLVES_TO = "resolves_to"  # ExternalName Service -> Service
    SELECTS = "selects"  # Service -> Pod
    RUNS = "runs"  # workload -> Pod
    ROUTES_TO = "routes_to"  # EnvoyRoute -> Model / Experiment / Pipeline
    REFERENCES = "references"  # Experiment -> Model/Pipeline, Server -> ServerConfig, ...
    SCHEDULED_ON = "scheduled_on"  # Model -> Server (pinned with spec.server)
    IMPLIES = "implies"  # SeldonRuntime / Server -> objects its controller creates
    HOSTS = "hosts"  # Envoy instance -> EnvoyRoute


@dataclass(slots=True, eq=False)
class Node:
    """One object in the graph: observed, implied by a controller, or a missing placeholder."""

    kind: str
    namespace: str
    name: str
    obj: KubeObject | None = None
    missing: bool = False
    # Id of the node whose controller creates this object (manifest mode only).
    implied_by: str | None = None
    props: dict[str, Any] = field(default_factory=dict)
    # Computed once: checks ask for ids millions of times on large estates.
    id: str = field(init=False, repr=False, default="")
    _labels: dict[str, str] | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        self.id = node_id(self.kind, self.namespace, self.name)

    @property
    def body(self) -> JSONDict:
        return self.obj.body if self.obj else {}

    @property
    def spec(self) -> JSONDict:
        if self.obj:
            return self.obj.spec
        spec = self.props.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def status(self) -> JSONDict:
        return self.obj.status if self.obj else {}

    @property
    def labels(self) -> dict[str, str]:
        if self.obj:
            if self._labels is None:  # label lookups dominate selector matching: read once
                self._labels = self.obj.labels
            return self._labels
        labels = self.props.get("labels")
        return dict(labels) if isinstance(labels, dict) else {}

    @property
    def annotations(self) -> dict[str, str]:
        return self.obj.annotations if self.obj else {}

    @property
    def origin(self) -> Origin | None:
        """Where the object was declared; implied objects point at their owner's manifest."""
        if self.obj:
            return self.obj.origin
        origin = self.props.get("origin")
        return origin if isinstance(origin, Origin) else None

    @property
    def cluster(self) -> str | None:
        return self.obj.origin.cluster if self.obj else None

    def ref(self) -> ResourceRef:
        return ResourceRef(self.kind, self.namespace, self.name, self.cluster)

    def label(self) -> str:
        """Short human name: ``Service app-a/seldon-scheduler``."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        suffix = " (implied)" if self.implied_by else " (missing)" if self.missing else ""
        return f"{self.kind} {where}{suffix}"


def node_id(kind: str, namespace: str, name: str) -> str:
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"


@dataclass(frozen=True, slots=True)
class Backend:
    """A pod (observed) or pod slot (implied by a workload's replicas) behind a Service."""

    namespace: str
    pod: str
    ready: bool
    implied: bool = False
    workload: str | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.pod}"


class ResolutionStatus(StrEnum):
    """Outcome of resolving a host name from a namespace."""

    OK = "ok"
    NO_BACKENDS = "no-backends"  # a Service exists but selects no ready pod
    NO_SERVICE = "no-service"
    NO_NAMESPACE = "no-namespace"
    EXTERNAL = "external"  # not a cluster-local name
    LOOP = "loop"  # ExternalName chain loops
    UNKNOWN = "unknown"  # the input does not describe the target namespace


@dataclass(frozen=True, slots=True)
class Resolution:
    """How one consumer's host name resolves, hop by hop."""

    host: str
    from_namespace: str
    status: ResolutionStatus
    chain: tuple[str, ...] = ()  # Service node ids followed, first to last
    backends: tuple[Backend, ...] = ()
    detail: str = ""
    # UNKNOWN because the input is partial where the answer lies: (kind, namespace) it would
    # need in full. Checks report such a resolution as unresolved (SD005), not as a problem.
    partial: tuple[str, str] | None = None

    @property
    def service_id(self) -> str | None:
        return self.chain[-1] if self.chain else None

    @property
    def ready_backends(self) -> tuple[Backend, ...]:
        return tuple(b for b in self.backends if b.ready)

    def instance_keys(self) -> frozenset[str]:
        return frozenset(b.key for b in self.ready_backends)

    def describe(self) -> str:
        hops = " -> ".join(c.split("/", 1)[1] for c in self.chain) or "(nothing)"
        text = f"{self.host} from {self.from_namespace}: {hops}"
        if self.backends:
            pods = ", ".join(f"{b.key}{'' if b.ready else ' (not ready)'}" for b in self.backends)
            text += f" => {pods}"
        if self.detail:
            text += f" [{self.detail}]"
        return text


@dataclass(frozen=True, slots=True)
class Consumer:
    """Something that dials a scheduler on behalf of a namespace's resources."""

    role: str  # controller | agent | envoy | dataflow
    subject: str  # node id of who dials
    host: str
    port: int
    resolution: Resolution
    source: str  # where the host name came from (env var, arg, bootstrap, fixed)
