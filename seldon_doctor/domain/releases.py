"""What each Seldon Core v2 release does, in one place (pure data; no I/O, no cluster access).

Checks that depend on the release (a flag a controller accepts, a naming rule, a proto shape,
how the scheduler lays out Envoy routes) ask :func:`release_for` with an image tag instead of
hard-coding a version comparison. Facts come from ``shared/reference/seldon-v2-facts.md`` and
``upstream-semantics.md`` and were re-read at the release tags of SeldonIO/seldon-core (BSL 1.1:
facts only, no code copied). Upstream paths, at each tag:

- ``operator/main.go``: controller flags. ``--watch-namespaces`` is defined from v2.9.1
  (#6434); v2.9.0 and v2.8.5 define only ``--metrics-bind-address``,
  ``--health-probe-bind-address``, ``--namespace``, ``--leader-elect``, ``--clusterwide`` (and
  ``--log-level`` from v2.9.0); v2.10 adds ``--use-deployments-for-servers`` and ``--version``.
- ``scheduler/pkg/store/utils/validate.go``: Model names must match
  ``^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`` (a DNS-1123 label, so no dots) since v2.8.4 (#5872).
- ``scheduler/cmd/agent/cli/flags.go``: agent flag defaults ``--memory-bytes`` 1,000,000,
  ``--capabilities sklearn,xgboost``, ``--over-commit-percentage`` 0 (identical 2.8.5 … 2.10.2).
- ``k8s/yaml/components.yaml`` (the releases' install manifests in ``shared/data/seldon/
  releases/<tag>/``): stock ServerConfigs ``mlserver`` and ``triton`` with containers
  ``rclone``, ``agent`` and the server (``mlserver`` / ``triton``), the agent's
  ``SELDON_OVERCOMMIT_PERCENTAGE=10`` and ``MEMORY_REQUEST`` from the server container's
  ``requests.memory``.
- ``operator/controllers/reconcilers/common/patch_utils.go`` ``MergeContainers``: a Server's
  ``podSpec.containers`` are merged into the ServerConfig's by container name; unmatched ones
  are appended.
- ``apis/mlops/scheduler/scheduler.proto``: ``ServerNotifyRequest`` is batched
  (``repeated ServerNotify servers``, ``isFirstSync``) from v2.8.4; ``ControlPlaneResponse``
  events are ``SEND_SERVERS``/``SEND_RESOURCES`` up to 2.9.x and ``SEND_SERVERS``/
  ``SEND_MODELS``/``SEND_PIPELINES``/``SEND_EXPERIMENTS`` from 2.10.0; ``modelGwState`` /
  ``pipelineGwStatus`` from 2.10.0.
- ``scheduler/pkg/envoy/xdscache/model.go`` (2.9.x; ``resources/cache.go`` in 2.8.x): the
  fixed pipeline clusters ``pipelinegateway_http``/``_grpc`` up to 2.9.x; 2.10 routes each
  pipeline to ``<pipeline>_pipeline_http``/``_grpc``. Route names ``<p>.pipeline_pipeline_http``
  up to 2.9.x, ``<p>.pipeline_http`` from 2.10.
- ``scheduler/pkg/envoy/processor/incremental.go``: from v2.9.0 a pipeline Experiment's split
  slice is allocated with ``len(candidates)`` and then appended to, so the route carries that
  many empty weight-0 splits first (not in 2.8.x, whose pipeline routes use another path).
- ``scheduler/pkg/store/mesh.go`` ``GetRequiredMemory`` and ``scheduler/pkg/agent/model_state.go``:
  from v2.9.0 a Model needs ``spec.memory`` × its instance count (MLServer
  ``MLSERVER_PARALLEL_WORKERS`` in the agent's env, Triton ``instance_group``); 2.8.x uses
  ``spec.memory`` alone.
- ``scheduler/config/envoy.yaml``: Envoy admin on 127.0.0.1:9901 from v2.8.5 (0.0.0.0:9003 up
  to 2.8.4).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

Version = tuple[int, int, int]

# Shared across releases: every fact below was the same at v2.8.5, v2.9.0, v2.9.1 and v2.10.2.
MODEL_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
MODEL_NAME_RULE_SINCE: Version = (2, 8, 4)
SERVER_NOTIFY_BATCHED_SINCE: Version = (2, 8, 4)
WATCH_NAMESPACES_SINCE: Version = (2, 9, 1)
AGENT_MEMORY_DEFAULT_BYTES = 1_000_000
AGENT_OVERCOMMIT_DEFAULT_PERCENT = 0
STOCK_OVERCOMMIT_PERCENT = 10
AGENT_DEFAULT_CAPABILITIES = ("sklearn", "xgboost")
# Container names of the stock ServerConfigs (k8s/yaml/components.yaml, all four releases).
STOCK_SERVERCONFIG_CONTAINERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("mlserver", ("rclone", "agent", "mlserver")),
    ("triton", ("rclone", "agent", "triton")),
)
# Image repositories that are an inference server (what the stock server container runs).
SERVER_IMAGE_MARKERS = ("mlserver", "tritonserver", "triton")

_BASE_FLAGS = frozenset(
    {
        "metrics-bind-address",
        "health-probe-bind-address",
        "namespace",
        "leader-elect",
        "clusterwide",
    }
)
_TAG = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$")


@dataclass(frozen=True, slots=True)
class ProtoShape:
    """The scheduler API shapes a client of this release must speak."""

    server_notify_batched: bool
    control_plane_events: tuple[str, ...]
    model_gateway_status: bool  # ModelStatus.modelGwState / Pipeline pipelineGwStatus


@dataclass(frozen=True, slots=True)
class PipelineRoutes:
    """How the scheduler lays out a Pipeline's Envoy route and clusters."""

    shared_gateway_cluster: bool  # one pipelinegateway_http/_grpc cluster for every pipeline
    placeholder_splits: bool  # pipeline Experiments: len(candidates) empty weight-0 splits first

    def route_name(self, pipeline: str, protocol: str = "http") -> str:
        if self.shared_gateway_cluster:
            return f"{pipeline}.pipeline_pipeline_{protocol}"
        return f"{pipeline}.pipeline_{protocol}"

    def cluster_name(self, pipeline: str, protocol: str = "http") -> str:
        if self.shared_gateway_cluster:
            return f"pipelinegateway_{protocol}"
        return f"{pipeline}_pipeline_{protocol}"


@dataclass(frozen=True, slots=True)
class Release:
    """One Seldon Core v2 release and what its components do."""

    version: Version
    # True when the version was not recognised and this is the latest known release instead.
    assumed: bool = False
    controller_flags: frozenset[str] = _BASE_FLAGS
    model_name_pattern: str | None = MODEL_NAME_PATTERN
    agent_memory_default_bytes: int = AGENT_MEMORY_DEFAULT_BYTES
    agent_overcommit_default_percent: int = AGENT_OVERCOMMIT_DEFAULT_PERCENT
    stock_overcommit_percent: int = STOCK_OVERCOMMIT_PERCENT
    agent_default_capabilities: tuple[str, ...] = AGENT_DEFAULT_CAPABILITIES
    # (ServerConfig name, its container names) of the stock ServerConfigs.
    serverconfig_containers: tuple[tuple[str, tuple[str, ...]], ...] = STOCK_SERVERCONFIG_CONTAINERS
    proto: ProtoShape = ProtoShape(
        True, ("SEND_SERVERS", "SEND_RESOURCES"), model_gateway_status=False
    )
    pipeline_routes: PipelineRoutes = PipelineRoutes(True, placeholder_splits=True)
    envoy_admin: tuple[str, int] = ("127.0.0.1", 9901)
    agent_readiness_probe: bool = False  # agent /ready on 9008
    servers_as_deployments: bool = False  # --use-deployments-for-servers
    pipelinegateway_service: bool = True  # Service seldon-pipelinegateway is created
    model_memory_per_instance: bool = True  # spec.memory × instance count (2.9.0+)

    @property
    def name(self) -> str:
        return ".".join(str(part) for part in self.version)

    @property
    def watch_namespaces_flag(self) -> bool:
        return "watch-namespaces" in self.controller_flags

    def accepts_controller_flag(self, flag: str) -> bool:
        """Whether this release's controller defines ``flag`` (Go ``flag`` exits 2 otherwise)."""
        return flag.lstrip("-").split("=", 1)[0] in self.controller_flags

    def stock_containers(self, server_config: str) -> tuple[str, ...] | None:
        """Container names of a stock ServerConfig, or None for a custom one."""
        return dict(self.serverconfig_containers).get(server_config)

    def model_name_valid(self, name: str) -> bool:
        if self.model_name_pattern is None:
            return True
        return re.fullmatch(self.model_name_pattern, name) is not None


_V285 = Release(
    (2, 8, 5),
    pipeline_routes=PipelineRoutes(True, placeholder_splits=False),
    model_memory_per_instance=False,
)
_V290 = replace(
    _V285,
    version=(2, 9, 0),
    controller_flags=_BASE_FLAGS | {"log-level"},
    pipeline_routes=PipelineRoutes(True, placeholder_splits=True),
    model_memory_per_instance=True,
)
_V291 = replace(
    _V290,
    version=(2, 9, 1),
    controller_flags=_V290.controller_flags | {"watch-namespaces"},
    agent_readiness_probe=True,
)
_V2102 = replace(
    _V291,
    version=(2, 10, 2),
    controller_flags=_V291.controller_flags | {"use-deployments-for-servers", "version"},
    proto=ProtoShape(
        True,
        ("SEND_SERVERS", "SEND_MODELS", "SEND_PIPELINES", "SEND_EXPERIMENTS"),
        model_gateway_status=True,
    ),
    pipeline_routes=PipelineRoutes(False, placeholder_splits=True),
    servers_as_deployments=True,
    pipelinegateway_service=False,
)

# Known releases, oldest first. A 2.10.x tag other than 2.10.2 behaves as 2.10.2 for every fact
# here (2.10.0 introduced them); likewise 2.8.x ≥ 2.8.5.
KNOWN_RELEASES: tuple[Release, ...] = (_V285, _V290, _V291, _V2102)
LATEST = KNOWN_RELEASES[-1]


def parse_version(text: str) -> Version | None:
    """``2.9.1``, ``v2.9.1``, ``2.10`` or an image reference ending in such a tag."""
    text = text.strip()
    if "@" in text:
        text = text.split("@", 1)[0]
    if ":" in text.rsplit("/", 1)[-1]:
        text = text.rsplit(":", 1)[1]
    match = _TAG.match(text)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def release_for(version: str | Version | None) -> Release:
    """The release whose behaviour ``version`` has.

    A recognised 2.8.5 … 2.10.x version maps to the known release of its line (2.10.0 and
    2.10.1 behave as 2.10.2 here). Anything else (``latest``, a digest, 2.7, 2.11, None) gives
    the latest known release with ``assumed=True``, so callers can hedge what they say.
    """
    parsed = parse_version(version) if isinstance(version, str) else version
    base: Release | None = None
    if parsed is not None:
        line, patch = parsed[:2], parsed[2]
        if line == (2, 10):
            base = _V2102
        elif line == (2, 9):
            base = _V291 if patch >= 1 else _V290
        elif line == (2, 8) and patch >= 5:
            base = _V285
    if parsed is None or base is None:
        return replace(LATEST, assumed=True)
    return base if base.version == parsed else replace(base, version=parsed)


def release_for_images(images: Iterable[str]) -> Release:
    """The release of the Seldon images given (controller, scheduler, agent, …).

    The newest recognised ``seldonio/seldon*`` tag wins; without one, the latest known release
    with ``assumed=True``. Non-Seldon images (mlserver 1.7.1, tritonserver 23.03) are ignored:
    their tags are not Seldon Core versions.
    """
    versions = [
        parsed
        for image in images
        if "seldon" in image.rsplit("/", 1)[-1].split(":", 1)[0]
        and "mlserver" not in image
        and (parsed := parse_version(image)) is not None
    ]
    return release_for(max(versions)) if versions else release_for(None)
