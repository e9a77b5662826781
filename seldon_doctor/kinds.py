"""The Kubernetes kinds the doctor understands: API group, version, plural, scope.

One table serves the file source (recognising objects), the live source (what to LIST), the
RBAC generator (what to grant) and the checks (which kinds they declare they read).
"""

from __future__ import annotations

from dataclasses import dataclass

SELDON_GROUP = "mlops.seldon.io"


@dataclass(frozen=True, slots=True)
class KindInfo:
    """How to find one kind on an API server."""

    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool = True
    # A third-party CRD that many clusters lack: "not installed" means "none", not a gap.
    optional: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


_KINDS: tuple[KindInfo, ...] = (
    # Seldon Core v2 CRDs (only v1alpha1 is served upstream).
    KindInfo("Model", SELDON_GROUP, "v1alpha1", "models"),
    KindInfo("Server", SELDON_GROUP, "v1alpha1", "servers"),
    KindInfo("ServerConfig", SELDON_GROUP, "v1alpha1", "serverconfigs"),
    KindInfo("Experiment", SELDON_GROUP, "v1alpha1", "experiments"),
    KindInfo("Pipeline", SELDON_GROUP, "v1alpha1", "pipelines"),
    KindInfo("SeldonRuntime", SELDON_GROUP, "v1alpha1", "seldonruntimes"),
    KindInfo("SeldonConfig", SELDON_GROUP, "v1alpha1", "seldonconfigs"),
    # Core and apps kinds the topology is built from.
    KindInfo("Namespace", "", "v1", "namespaces", namespaced=False),
    KindInfo("Pod", "", "v1", "pods"),
    KindInfo("Service", "", "v1", "services"),
    KindInfo("Endpoints", "", "v1", "endpoints"),
    KindInfo("ConfigMap", "", "v1", "configmaps"),
    KindInfo("EndpointSlice", "discovery.k8s.io", "v1", "endpointslices"),
    KindInfo("Deployment", "apps", "v1", "deployments"),
    KindInfo("StatefulSet", "apps", "v1", "statefulsets"),
    KindInfo("NetworkPolicy", "networking.k8s.io", "v1", "networkpolicies"),
    # Other serving patterns and meshes (Istio canaries, KServe).
    KindInfo("VirtualService", "networking.istio.io", "v1beta1", "virtualservices", optional=True),
    KindInfo(
        "DestinationRule", "networking.istio.io", "v1beta1", "destinationrules", optional=True
    ),
    KindInfo(
        "AuthorizationPolicy",
        "security.istio.io",
        "v1beta1",
        "authorizationpolicies",
        optional=True,
    ),
    KindInfo(
        "InferenceService", "serving.kserve.io", "v1beta1", "inferenceservices", optional=True
    ),
    KindInfo(
        "CustomResourceDefinition",
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        namespaced=False,
    ),
)

# Groups kube-apiserver serves from compiled Go types: what it returns was decoded into those
# structs, so a wrong-typed field cannot come back (unlike custom resources, whose schemas may
# preserve unknown fields).
TYPED_GROUPS = frozenset(
    {"", "apps", "discovery.k8s.io", "networking.k8s.io"} | {"apiextensions.k8s.io"}
)

KINDS: dict[str, KindInfo] = {info.kind: info for info in _KINDS}

SELDON_KINDS = frozenset(info.kind for info in _KINDS if info.group == SELDON_GROUP)

# Seldon CRs that a controller reconciles and a scheduler must know about.
SELDON_WORKLOAD_KINDS = frozenset({"Model", "Server", "Experiment", "Pipeline"})

# Kubernetes' own API groups: their objects were validated by the API server that holds them.
BUILTIN_KINDS = frozenset(
    info.kind for info in _KINDS if info.group in ("", "apps") or info.group.endswith(".k8s.io")
)
