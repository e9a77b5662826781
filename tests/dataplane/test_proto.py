"""Our own scheduler.proto keeps the upstream wire contract; the generated code is current."""

from __future__ import annotations

import subprocess
import sys

import pytest

from seldon_doctor.clients.proto import scheduler_pb2 as pb

# (message, field, number) from the reference facts (§f), the wire contract that matters.
CONTRACT = [
    ("ModelStatusRequest", "subscriberName", 1),
    ("ModelStatusRequest", "model", 2),
    ("ModelStatusRequest", "allVersions", 3),
    ("ModelReference", "name", 1),
    ("ModelReference", "version", 2),
    ("ModelStatusResponse", "modelName", 1),
    ("ModelStatusResponse", "versions", 2),
    ("ModelStatusResponse", "deleted", 3),
    ("ModelVersionStatus", "version", 2),
    ("ModelVersionStatus", "serverName", 3),
    ("ModelVersionStatus", "kubernetesMeta", 4),
    ("ModelVersionStatus", "modelReplicaState", 5),
    ("ModelVersionStatus", "state", 6),
    ("ModelVersionStatus", "modelDefn", 7),
    ("ModelStatus", "state", 1),
    ("ModelStatus", "reason", 2),
    ("ModelStatus", "availableReplicas", 3),
    ("ModelStatus", "unavailableReplicas", 4),
    ("ModelStatus", "lastChangeTimestamp", 5),
    ("ModelStatus", "modelGwState", 6),
    ("ModelReplicaStatus", "state", 1),
    ("ModelReplicaStatus", "reason", 2),
    ("KubernetesMeta", "namespace", 1),
    ("KubernetesMeta", "generation", 2),
    ("ServerStatusRequest", "subscriberName", 1),
    ("ServerStatusRequest", "name", 2),
    ("ServerStatusResponse", "serverName", 1),
    ("ServerStatusResponse", "resources", 2),
    ("ServerStatusResponse", "expectedReplicas", 3),
    ("ServerStatusResponse", "availableReplicas", 4),
    ("ServerStatusResponse", "numLoadedModelReplicas", 5),
    ("ServerStatusResponse", "type", 7),
    ("ServerReplicaResources", "replicaIdx", 1),
    ("ServerReplicaResources", "numLoadedModels", 4),
    ("ExperimentStatusResponse", "experimentName", 1),
    ("ExperimentStatusResponse", "active", 2),
    ("ExperimentStatusResponse", "candidatesReady", 3),
    ("ExperimentStatusResponse", "statusDescription", 5),
    ("PipelineStatusResponse", "pipelineName", 1),
    ("PipelineStatusResponse", "versions", 2),
    ("PipelineWithState", "state", 2),
    ("PipelineVersionState", "pipelineVersion", 1),
    ("PipelineVersionState", "status", 2),
    ("PipelineVersionState", "reason", 3),
    ("PipelineVersionState", "modelsReady", 5),
    ("SchedulerStatusResponse", "applicationVersion", 1),
    ("ModelSpec", "requirements", 4),
    ("ModelSpec", "memoryBytes", 5),
    ("ModelSpec", "server", 6),
    ("DeploymentSpec", "replicas", 1),
]


@pytest.mark.parametrize(("message", "field", "number"), CONTRACT)
def test_field_numbers(message: str, field: str, number: int) -> None:
    descriptor = pb.DESCRIPTOR.message_types_by_name[message]
    assert descriptor.fields_by_name[field].number == number


def test_package_service_and_enums() -> None:
    assert pb.DESCRIPTOR.package == "seldon.mlops.scheduler"
    service = pb.DESCRIPTOR.services_by_name["Scheduler"]
    assert service.full_name == "seldon.mlops.scheduler.Scheduler"
    streaming = {m.name for m in service.methods if m.server_streaming}
    assert streaming == {"ServerStatus", "ModelStatus", "PipelineStatus", "ExperimentStatus"}
    assert pb.ModelStatus.ScheduleFailed == 7
    assert pb.ModelReplicaStatus.Draining == 12
    assert pb.PipelineVersionState.PipelineFailedTerminating == 9
    assert pb.ServerStatusResponse.ScalingRequest == 4


def test_generated_code_is_current() -> None:
    pytest.importorskip("grpc_tools", reason="grpcio-tools (test extra) not installed")
    out = subprocess.run(
        [sys.executable, "-m", "seldon_doctor.clients.proto.build", "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
