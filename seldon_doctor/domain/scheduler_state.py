"""What the Seldon scheduler reports about models, servers, experiments and pipelines.

Plain dataclasses filled by the gRPC client (:mod:`seldon_doctor.clients.scheduler_api`), by
JSON files and by snapshot bundles (:func:`scheduler_state_from_dict`, the inverse of
:meth:`SchedulerState.to_dict`). Pure data: no I/O, no grpc.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ReplicaState:
    """One model version's state on one server replica (``modelReplicaState`` map entry)."""

    index: int
    state: str  # ModelReplicaState name: Available, Loaded, LoadFailed, ...
    reason: str


@dataclass(frozen=True, slots=True)
class ModelVersionState:
    """One version of a model as the scheduler holds it."""

    version: int
    server: str
    state: str  # ModelState name: ModelAvailable, ScheduleFailed, ...
    reason: str
    available_replicas: int
    unavailable_replicas: int
    replicas: tuple[ReplicaState, ...] = ()
    namespace: str | None = None
    generation: int | None = None
    requirements: tuple[str, ...] = ()
    memory_bytes: int | None = None
    desired_replicas: int | None = None
    pinned_server: str | None = None
    gateway_state: str = ""
    gateway_reason: str = ""


@dataclass(frozen=True, slots=True)
class ModelState:
    """A model and all the versions the scheduler reported, oldest first."""

    name: str
    versions: tuple[ModelVersionState, ...]
    deleted: bool = False

    @property
    def latest(self) -> ModelVersionState | None:
        return max(self.versions, key=lambda v: v.version) if self.versions else None


@dataclass(frozen=True, slots=True)
class ServerReplica:
    index: int
    total_memory_bytes: int
    available_memory_bytes: int
    loaded_models: int
    overcommit_percentage: int


@dataclass(frozen=True, slots=True)
class ServerState:
    """A server (model-server StatefulSet) as the scheduler sees it; no capabilities exist here."""

    name: str
    expected_replicas: int
    available_replicas: int
    loaded_model_replicas: int
    replicas: tuple[ServerReplica, ...] = ()
    namespace: str | None = None
    response_type: str = ""


@dataclass(frozen=True, slots=True)
class ExperimentState:
    name: str
    active: bool
    candidates_ready: bool
    mirror_ready: bool
    status_description: str
    namespace: str | None = None


@dataclass(frozen=True, slots=True)
class PipelineVersion:
    version: int
    status: str  # PipelineStatus name: PipelineReady, PipelineFailed, ...
    reason: str
    models_ready: bool
    gateway_status: str = ""
    gateway_reason: str = ""


@dataclass(frozen=True, slots=True)
class PipelineState:
    name: str
    versions: tuple[PipelineVersion, ...]

    @property
    def latest(self) -> PipelineVersion | None:
        return max(self.versions, key=lambda v: v.version) if self.versions else None


@dataclass(slots=True)
class SchedulerState:
    """Everything one scheduler reported. ``errors`` maps an RPC name to a one-line reason."""

    target: str
    application_version: str = ""
    models: dict[str, ModelState] = field(default_factory=dict)
    servers: dict[str, ServerState] = field(default_factory=dict)
    experiments: dict[str, ExperimentState] = field(default_factory=dict)
    pipelines: dict[str, PipelineState] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    elapsed: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        from dataclasses import asdict

        return {
            "target": self.target,
            "application_version": self.application_version,
            "models": {k: asdict(v) for k, v in self.models.items()},
            "servers": {k: asdict(v) for k, v in self.servers.items()},
            "experiments": {k: asdict(v) for k, v in self.experiments.items()},
            "pipelines": {k: asdict(v) for k, v in self.pipelines.items()},
            "errors": dict(self.errors),
            "elapsed": round(self.elapsed, 3),
        }


def scheduler_state_from_dict(data: dict[str, Any]) -> SchedulerState:
    """Inverse of ``SchedulerState.to_dict()`` (missing fields take their defaults).

    A body of the wrong shape raises ``TypeError`` (the reader turns it into an input error).
    """

    def model(name: str, body: dict[str, Any]) -> ModelState:
        versions = []
        for v in body.get("versions") or []:
            v = dict(v)
            v["replicas"] = tuple(ReplicaState(**r) for r in v.get("replicas") or [])
            v["requirements"] = tuple(v.get("requirements") or ())
            versions.append(ModelVersionState(**v))
        return ModelState(
            name=body.get("name", name), versions=tuple(versions), deleted=bool(body.get("deleted"))
        )

    def server(name: str, body: dict[str, Any]) -> ServerState:
        body = dict(body)
        body["replicas"] = tuple(ServerReplica(**r) for r in body.get("replicas") or [])
        body.setdefault("name", name)
        return ServerState(**body)

    def pipeline(name: str, body: dict[str, Any]) -> PipelineState:
        versions = tuple(PipelineVersion(**v) for v in body.get("versions") or [])
        return PipelineState(name=body.get("name", name), versions=versions)

    def experiment(name: str, body: dict[str, Any]) -> ExperimentState:
        body = dict(body)
        body.setdefault("name", name)
        return ExperimentState(**body)

    return SchedulerState(
        target=str(data.get("target") or ""),
        application_version=str(data.get("application_version") or ""),
        models={k: model(k, v) for k, v in (data.get("models") or {}).items()},
        servers={k: server(k, v) for k, v in (data.get("servers") or {}).items()},
        experiments={k: experiment(k, v) for k, v in (data.get("experiments") or {}).items()},
        pipelines={k: pipeline(k, v) for k, v in (data.get("pipelines") or {}).items()},
        errors=dict(data.get("errors") or {}),
    )
