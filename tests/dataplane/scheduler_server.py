"""A grpcio server implementing the scheduler's status RPCs with canned, replaceable state.

It is built from the project's own ``scheduler.proto`` (generated servicer base class), and
behaves as the scheduler does for the ``*Status`` RPCs: one message per resource, then the
stream closes; an unknown model or server name gives ``FAILED_PRECONDITION``. Tests replace
``models`` / ``servers`` / ``experiments`` / ``pipelines`` (lists of response messages) at will.
"""

from __future__ import annotations

import threading
from concurrent import futures
from typing import Any

import grpc

from seldon_doctor.clients.proto import scheduler_pb2 as pb
from seldon_doctor.clients.proto import scheduler_pb2_grpc as pb_grpc

MS = pb.ModelStatus
RS = pb.ModelReplicaStatus
PS = pb.PipelineVersionState


def model_status(
    name: str,
    *,
    version: int = 1,
    server: str = "mlserver",
    state: int = MS.ModelAvailable,
    reason: str = "",
    replicas: dict[int, int] | None = None,
    namespace: str = "seldon-mesh",
    requirements: tuple[str, ...] = ("sklearn",),
    desired_replicas: int = 1,
) -> pb.ModelStatusResponse:
    """A ``ModelStatusResponse`` with one version; ``replicas`` maps replica index → state."""
    replicas = {0: RS.Available} if replicas is None else replicas
    available = sum(1 for s in replicas.values() if s == RS.Available)
    return pb.ModelStatusResponse(
        modelName=name,
        versions=[
            pb.ModelVersionStatus(
                version=version,
                serverName=server,
                kubernetesMeta=pb.KubernetesMeta(namespace=namespace, generation=1),
                modelReplicaState={i: RS(state=s) for i, s in replicas.items()},
                state=MS(
                    state=state,
                    reason=reason,
                    availableReplicas=available,
                    unavailableReplicas=len(replicas) - available,
                ),
                modelDefn=pb.Model(
                    meta=pb.MetaData(name=name),
                    modelSpec=pb.ModelSpec(uri=f"gs://models/{name}", requirements=requirements),
                    deploymentSpec=pb.DeploymentSpec(replicas=desired_replicas),
                ),
            )
        ],
    )


def default_state() -> dict[str, list[Any]]:
    """iris available on mlserver; broken ScheduleFailed; one experiment; one pipeline."""
    return {
        "models": [
            model_status("iris"),
            model_status(
                "broken",
                server="",
                state=MS.ScheduleFailed,
                reason="Failed to schedule model as no matching servers are available",
                replicas={},
                requirements=("foobar",),
            ),
        ],
        "servers": [
            pb.ServerStatusResponse(
                type=pb.ServerStatusResponse.StatusUpdate,
                serverName="mlserver",
                resources=[
                    pb.ServerReplicaResources(
                        replicaIdx=0,
                        totalMemoryBytes=1 << 30,
                        availableMemoryBytes=1 << 29,
                        numLoadedModels=1,
                        overCommitPercentage=10,
                    )
                ],
                expectedReplicas=1,
                availableReplicas=1,
                numLoadedModelReplicas=1,
                kubernetesMeta=pb.KubernetesMeta(namespace="seldon-mesh", generation=1),
            )
        ],
        "experiments": [
            pb.ExperimentStatusResponse(
                experimentName="iris-ab",
                active=True,
                candidatesReady=True,
                mirrorReady=True,
                statusDescription="experiment active",
                kubernetesMeta=pb.KubernetesMeta(namespace="seldon-mesh", generation=1),
            )
        ],
        "pipelines": [
            pb.PipelineStatusResponse(
                pipelineName="chain",
                versions=[
                    pb.PipelineWithState(
                        state=PS(
                            pipelineVersion=1,
                            status=PS.PipelineReady,
                            reason="created pipeline",
                            modelsReady=True,
                        )
                    )
                ],
            )
        ],
    }


class _Servicer(pb_grpc.SchedulerServicer):
    def __init__(self, owner: SchedulerStatusTestServer) -> None:
        self.owner = owner

    def _seen(self, rpc: str, request: Any) -> None:
        with self.owner.lock:
            self.owner.requests.append((rpc, request.subscriberName))

    def SchedulerStatus(self, request: Any, context: Any) -> Any:
        self._seen("SchedulerStatus", request)
        return pb.SchedulerStatusResponse(applicationVersion="0.0.1")

    def ServerStatus(self, request: Any, context: Any) -> Any:
        self._seen("ServerStatus", request)
        servers = list(self.owner.servers)
        if request.HasField("name"):
            servers = [s for s in servers if s.serverName == request.name]
            if not servers:
                context.abort(
                    grpc.StatusCode.FAILED_PRECONDITION, f"Server [{request.name}] not found"
                )
        yield from servers

    def ModelStatus(self, request: Any, context: Any) -> Any:
        self._seen("ModelStatus", request)
        models = list(self.owner.models)
        if request.HasField("model"):
            models = [m for m in models if m.modelName == request.model.name]
            if not models:
                context.abort(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"Failed to find model {request.model.name}",
                )
        yield from models

    def ExperimentStatus(self, request: Any, context: Any) -> Any:
        self._seen("ExperimentStatus", request)
        yield from list(self.owner.experiments)

    def PipelineStatus(self, request: Any, context: Any) -> Any:
        self._seen("PipelineStatus", request)
        if self.owner.pipeline_status_error is not None:
            context.abort(*self.owner.pipeline_status_error)
        yield from list(self.owner.pipelines)


class SchedulerStatusTestServer:
    """Serves the status RPCs on 127.0.0.1:<free port>; ``target`` is ``host:port``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []
        self.pipeline_status_error: tuple[grpc.StatusCode, str] | None = None
        self.port = 0
        self._server: Any = None
        self.reset()

    def reset(self) -> None:
        """Back to :func:`default_state`."""
        state = default_state()
        self.models: list[Any] = state["models"]
        self.servers: list[Any] = state["servers"]
        self.experiments: list[Any] = state["experiments"]
        self.pipelines: list[Any] = state["pipelines"]
        self.pipeline_status_error = None
        with self.lock:
            self.requests.clear()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> SchedulerStatusTestServer:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="sched"))
        pb_grpc.add_SchedulerServicer_to_server(_Servicer(self), server)
        self.port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=0.5).wait(2.0)
            self._server = None
