"""The check registry: every check class, sorted by id (explicit, like istio's All())."""

from __future__ import annotations

from seldon_doctor.checks.base import Check
from seldon_doctor.checks.controlplane.sd501_scheduler_split_brain import SchedulerSplitBrain
from seldon_doctor.checks.controlplane.sd502_scheduler_replicas_above_one import (
    SchedulerReplicasAboveOne,
)
from seldon_doctor.checks.controlplane.sd503_scheduler_service_missing import (
    SchedulerServiceMissing,
)
from seldon_doctor.checks.controlplane.sd504_service_without_endpoints import (
    ServiceWithoutEndpoints,
)
from seldon_doctor.checks.controlplane.sd505_externalname_alias_dangling import (
    ExternalNameAliasDangling,
)
from seldon_doctor.checks.controlplane.sd506_controllers_overlap import ControllersOverlap
from seldon_doctor.checks.controlplane.sd507_namespace_not_watched import NamespaceNotWatched
from seldon_doctor.checks.controlplane.sd508_component_version_skew import ComponentVersionSkew
from seldon_doctor.checks.controlplane.sd509_scheduler_port_blocked import SchedulerPortBlocked
from seldon_doctor.checks.controlplane.sd510_dataflow_unavailable import DataflowUnavailable
from seldon_doctor.checks.controlplane.sd511_envoy_not_ready_gated import EnvoyNotReadyGated
from seldon_doctor.checks.controlplane.sd512_shared_scheduler_name_collision import (
    SharedSchedulerNameCollision,
)
from seldon_doctor.checks.controlplane.sd513_component_not_running import ComponentNotRunning
from seldon_doctor.checks.dataplane.sd601_route_missing import RouteMissing
from seldon_doctor.checks.dataplane.sd602_route_orphaned import RouteOrphaned
from seldon_doctor.checks.dataplane.sd603_route_cluster_without_endpoints import (
    RouteClusterWithoutEndpoints,
)
from seldon_doctor.checks.dataplane.sd604_experiment_weights_drift import ExperimentWeightsDrift
from seldon_doctor.checks.dataplane.sd605_listener_rejected import ListenerRejected
from seldon_doctor.checks.dataplane.sd606_envoy_xds_stale import EnvoyXdsStale
from seldon_doctor.checks.dataplane.sd607_scheduler_state_diverged import SchedulerStateDiverged
from seldon_doctor.checks.dataplane.sd608_experiment_mirror_drift import ExperimentMirrorDrift
from seldon_doctor.checks.experiment.sd401_experiment_reference_missing import (
    ExperimentReferenceMissing,
)
from seldon_doctor.checks.experiment.sd402_experiment_invalid import ExperimentInvalid
from seldon_doctor.checks.input.sd003_manifest_schema_invalid import ManifestSchemaInvalid
from seldon_doctor.checks.input.sd004_resource_name_invalid import ResourceNameInvalid
from seldon_doctor.checks.model.sd101_model_server_not_found import ModelServerNotFound
from seldon_doctor.checks.model.sd102_model_requirements_unsatisfied import (
    ModelRequirementsUnsatisfied,
)
from seldon_doctor.checks.model.sd103_model_replicas_exceed_server import ModelReplicasExceedServer
from seldon_doctor.checks.model.sd104_model_memory_exceeds_server import ModelMemoryExceedsServer
from seldon_doctor.checks.model.sd105_model_not_ready import ModelNotReady
from seldon_doctor.checks.model.sd106_model_stuck_terminating import ModelStuckTerminating
from seldon_doctor.checks.probe.sd801_probe_failures import ProbeFailures
from seldon_doctor.checks.probe.sd802_latency_slo_breached import LatencySloBreached
from seldon_doctor.checks.probe.sd803_split_off_weights import SplitOffWeights
from seldon_doctor.checks.probe.sd804_version_unexpected import VersionUnexpected
from seldon_doctor.checks.server.sd201_server_no_ready_replicas import ServerNoReadyReplicas
from seldon_doctor.checks.server.sd202_server_over_advertises_capabilities import (
    ServerOverAdvertisesCapabilities,
)
from seldon_doctor.checks.server.sd203_server_capabilities_diverge import ServerCapabilitiesDiverge
from seldon_doctor.checks.server.sd204_server_container_not_merged import ServerContainerNotMerged
from seldon_doctor.checks.serving.sd701_serving_image_mutable import ServingImageMutable
from seldon_doctor.checks.serving.sd702_canary_weights_invalid import CanaryWeightsInvalid
from seldon_doctor.checks.serving.sd703_inferenceservice_not_ready import InferenceServiceNotReady

ALL_CHECKS: tuple[type[Check], ...] = tuple(
    sorted(
        (
            ManifestSchemaInvalid,
            ResourceNameInvalid,
            ModelServerNotFound,
            ModelRequirementsUnsatisfied,
            ModelReplicasExceedServer,
            ModelMemoryExceedsServer,
            ModelNotReady,
            ModelStuckTerminating,
            ServerNoReadyReplicas,
            ServerOverAdvertisesCapabilities,
            ServerCapabilitiesDiverge,
            ServerContainerNotMerged,
            ExperimentReferenceMissing,
            ExperimentInvalid,
            SchedulerSplitBrain,
            SchedulerReplicasAboveOne,
            SchedulerServiceMissing,
            ServiceWithoutEndpoints,
            ExternalNameAliasDangling,
            ControllersOverlap,
            NamespaceNotWatched,
            ComponentVersionSkew,
            SchedulerPortBlocked,
            DataflowUnavailable,
            EnvoyNotReadyGated,
            SharedSchedulerNameCollision,
            ComponentNotRunning,
            RouteMissing,
            RouteOrphaned,
            RouteClusterWithoutEndpoints,
            ExperimentWeightsDrift,
            ListenerRejected,
            EnvoyXdsStale,
            SchedulerStateDiverged,
            ExperimentMirrorDrift,
            ServingImageMutable,
            CanaryWeightsInvalid,
            InferenceServiceNotReady,
            ProbeFailures,
            LatencySloBreached,
            SplitOffWeights,
            VersionUnexpected,
        ),
        key=lambda cls: cls.id,
    )
)

# Ids the engine itself emits (no Check class): internal errors, not-evaluated notes and
# unresolved references (closed-world conclusions on partial input, docs/completeness.md).
ENGINE_CHECK_IDS = ("SD001", "SD002", "SD005")
