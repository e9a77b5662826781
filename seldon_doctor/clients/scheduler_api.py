"""Read the Seldon scheduler's own view through its status RPCs (gRPC API port 9004).

``ModelStatus``, ``ServerStatus``, ``ExperimentStatus`` and ``PipelineStatus`` stream one
message per resource and then close; ``SchedulerStatus`` is unary. :func:`fetch_scheduler_state`
calls all five over one plaintext channel, each with what is left of one overall deadline, and
returns plain dataclasses (:mod:`seldon_doctor.domain.scheduler_state`). The messages come from
this project's own minimal ``proto/scheduler.proto`` (same package, service, names and field
numbers as upstream).

Failure policy: not reaching the scheduler at all (no connection, ``UNAVAILABLE``, deadline)
raises :class:`DataplaneUnavailable`; any other per-RPC error (e.g. ``UNIMPLEMENTED`` on an old
scheduler) is recorded in :attr:`SchedulerState.errors` and the other RPCs still count.

grpc and protobuf are imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from seldon_doctor.clients.errors import DataplaneUnavailable, grpc_reason
from seldon_doctor.clients.reach import wait_ready
from seldon_doctor.domain.scheduler_state import (
    ExperimentState,
    ModelState,
    ModelVersionState,
    PipelineState,
    PipelineVersion,
    ReplicaState,
    SchedulerState,
    ServerReplica,
    ServerState,
)

SERVICE = "seldon.mlops.scheduler.Scheduler"
DEFAULT_SUBSCRIBER = "seldon-doctor"
DEFAULT_TIMEOUT = 5.0
DEFAULT_PORT = 9004


def _enum_name(enum: Any, number: int) -> str:
    try:
        return str(enum.Name(number))
    except ValueError:  # a value newer than our proto
        return f"Unknown({number})"


def _meta(message: Any, field_name: str) -> tuple[str | None, int | None]:
    if not message.HasField(field_name):
        return None, None
    meta = getattr(message, field_name)
    return meta.namespace, int(meta.generation)


def _model(pb: Any, response: Any) -> ModelState:
    versions = []
    for v in response.versions:
        namespace, generation = _meta(v, "kubernetesMeta")
        replicas = tuple(
            ReplicaState(
                index=int(idx),
                state=_enum_name(pb.ModelReplicaStatus.ModelReplicaState, rs.state),
                reason=rs.reason,
            )
            for idx, rs in sorted(v.modelReplicaState.items())
        )
        requirements: tuple[str, ...] = ()
        memory = desired = None
        pinned = None
        if v.HasField("modelDefn"):
            spec = v.modelDefn.modelSpec
            requirements = tuple(spec.requirements)
            memory = int(spec.memoryBytes) if spec.HasField("memoryBytes") else None
            pinned = spec.server if spec.HasField("server") else None
            if v.modelDefn.HasField("deploymentSpec"):
                desired = int(v.modelDefn.deploymentSpec.replicas)
            if namespace is None and v.modelDefn.meta.HasField("kubernetesMeta"):
                namespace = v.modelDefn.meta.kubernetesMeta.namespace
        state_enum = pb.ModelStatus.ModelState
        versions.append(
            ModelVersionState(
                version=int(v.version),
                server=v.serverName,
                state=_enum_name(state_enum, v.state.state),
                reason=v.state.reason,
                available_replicas=int(v.state.availableReplicas),
                unavailable_replicas=int(v.state.unavailableReplicas),
                replicas=replicas,
                namespace=namespace,
                generation=generation,
                requirements=requirements,
                memory_bytes=memory,
                desired_replicas=desired,
                pinned_server=pinned,
                gateway_state=_enum_name(state_enum, v.state.modelGwState),
                gateway_reason=v.state.modelGwReason,
            )
        )
    versions.sort(key=lambda v: v.version)
    return ModelState(name=response.modelName, versions=tuple(versions), deleted=response.deleted)


def _server(pb: Any, response: Any) -> ServerState:
    namespace, _ = _meta(response, "kubernetesMeta")
    return ServerState(
        name=response.serverName,
        expected_replicas=int(response.expectedReplicas),
        available_replicas=int(response.availableReplicas),
        loaded_model_replicas=int(response.numLoadedModelReplicas),
        replicas=tuple(
            ServerReplica(
                index=int(r.replicaIdx),
                total_memory_bytes=int(r.totalMemoryBytes),
                available_memory_bytes=int(r.availableMemoryBytes),
                loaded_models=int(r.numLoadedModels),
                overcommit_percentage=int(r.overCommitPercentage),
            )
            for r in response.resources
        ),
        namespace=namespace,
        response_type=_enum_name(pb.ServerStatusResponse.Type, response.type),
    )


def _experiment(response: Any) -> ExperimentState:
    namespace, _ = _meta(response, "kubernetesMeta")
    return ExperimentState(
        name=response.experimentName,
        active=bool(response.active),
        candidates_ready=bool(response.candidatesReady),
        mirror_ready=bool(response.mirrorReady),
        status_description=response.statusDescription,
        namespace=namespace,
    )


def _pipeline(pb: Any, response: Any) -> PipelineState:
    status_enum = pb.PipelineVersionState.PipelineStatus
    versions = tuple(
        sorted(
            (
                PipelineVersion(
                    version=int(v.state.pipelineVersion),
                    status=_enum_name(status_enum, v.state.status),
                    reason=v.state.reason,
                    models_ready=bool(v.state.modelsReady),
                    gateway_status=_enum_name(status_enum, v.state.pipelineGwStatus),
                    gateway_reason=v.state.pipelineGwReason,
                )
                for v in response.versions
            ),
            key=lambda p: p.version,
        )
    )
    return PipelineState(name=response.pipelineName, versions=versions)


def _fatal(code: Any) -> bool:
    import grpc

    return code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def fetch_scheduler_state(
    target: str,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    subscriber: str = DEFAULT_SUBSCRIBER,
    all_versions: bool = True,
) -> SchedulerState:
    """Call the five status RPCs on ``target`` (``host:port``) within ``timeout`` seconds total.

    The scheduler logs ``received status request from <subscriber>`` for each call.
    """
    import grpc

    start = time.monotonic()
    state = SchedulerState(target=target)
    channel = grpc.insecure_channel(
        target,
        options=[
            ("grpc.max_receive_message_length", 256 * 1024 * 1024),
            ("grpc.enable_retries", 0),
        ],
    )
    calls = _StatusCalls(channel, state, start + timeout, timeout, subscriber, all_versions)
    try:
        wait_ready(channel, target, "scheduler", start + timeout, timeout)
        calls.collect("SchedulerStatus", calls.scheduler_status)
        calls.collect("ServerStatus", calls.servers)
        calls.collect("ModelStatus", calls.models)
        calls.collect("ExperimentStatus", calls.experiments)
        calls.collect("PipelineStatus", calls.pipelines)
    finally:
        channel.close()
    state.elapsed = time.monotonic() - start
    return state


class _StatusCalls:
    """The status RPCs of one :func:`fetch_scheduler_state`, sharing its channel and deadline."""

    def __init__(
        self,
        channel: Any,
        state: SchedulerState,
        deadline: float,
        timeout: float,
        subscriber: str,
        all_versions: bool,
    ) -> None:
        from seldon_doctor.clients.proto import scheduler_pb2 as pb

        self.pb: Any = pb
        self.channel = channel
        self.state = state
        self.target = state.target
        self.deadline = deadline
        self.timeout = timeout
        self.subscriber = subscriber
        self.all_versions = all_versions

    def left(self) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise DataplaneUnavailable(
                f"scheduler {self.target} did not answer within {self.timeout:g}s",
                target=self.target,
            )
        return remaining

    def stream(self, rpc: str, request: Any, response_cls: Any) -> Iterable[Any]:
        method = self.channel.unary_stream(
            f"/{SERVICE}/{rpc}",
            request_serializer=type(request).SerializeToString,
            response_deserializer=response_cls.FromString,
        )
        responses: Iterable[Any] = method(request, timeout=self.left())
        return responses

    def collect(self, rpc: str, run: Callable[[], None]) -> None:
        import grpc

        try:
            run()
        except grpc.RpcError as err:
            reason = grpc_reason(err, f"scheduler {self.target}", self.timeout, rpc=rpc)
            if _fatal(err.code()):
                raise DataplaneUnavailable(reason, target=self.target) from None
            self.state.errors[rpc] = reason

    def scheduler_status(self) -> None:
        pb = self.pb
        method = self.channel.unary_unary(
            f"/{SERVICE}/SchedulerStatus",
            request_serializer=pb.SchedulerStatusRequest.SerializeToString,
            response_deserializer=pb.SchedulerStatusResponse.FromString,
        )
        reply = method(
            pb.SchedulerStatusRequest(subscriberName=self.subscriber), timeout=self.left()
        )
        self.state.application_version = reply.applicationVersion

    def servers(self) -> None:
        pb = self.pb
        request = pb.ServerStatusRequest(subscriberName=self.subscriber)
        for response in self.stream("ServerStatus", request, pb.ServerStatusResponse):
            server = _server(pb, response)
            self.state.servers[server.name] = server

    def models(self) -> None:
        pb = self.pb
        request = pb.ModelStatusRequest(
            subscriberName=self.subscriber, allVersions=self.all_versions
        )
        for response in self.stream("ModelStatus", request, pb.ModelStatusResponse):
            model = _model(pb, response)
            self.state.models[model.name] = model

    def experiments(self) -> None:
        pb = self.pb
        request = pb.ExperimentStatusRequest(subscriberName=self.subscriber)
        for response in self.stream("ExperimentStatus", request, pb.ExperimentStatusResponse):
            experiment = _experiment(response)
            self.state.experiments[experiment.name] = experiment

    def pipelines(self) -> None:
        pb = self.pb
        request = pb.PipelineStatusRequest(
            subscriberName=self.subscriber, allVersions=self.all_versions
        )
        for response in self.stream("PipelineStatus", request, pb.PipelineStatusResponse):
            pipeline = _pipeline(pb, response)
            self.state.pipelines[pipeline.name] = pipeline
