"""The agent's memory model: what one Server replica holds, and what the scheduler thinks it holds.

Upstream (SeldonIO/seldon-core, identical v2.8.5 … v2.10.2; facts only):

- ``scheduler/cmd/agent/cli/cli.go`` / ``flags.go``: the agent's replica memory is env
  ``MEMORY_REQUEST`` (flag ``--memory-bytes``, default 1,000,000 bytes) and its overcommit env
  ``SELDON_OVERCOMMIT_PERCENTAGE`` (flag ``--over-commit-percentage``, default 0 %).
  ``scheduler/cmd/agent/main.go``: ``SELDON_REPLICA_CONFIG`` (protojson ``ReplicaConfig``)
  replaces both; a field it leaves out is 0.
- ``scheduler/pkg/agent/state_manager.go``: the agent reports ``total × (1 + overcommit%)`` to
  the scheduler, whose ``filters/replicamemory.go`` compares the Model with that; loading then
  evicts until the Model fits in main memory **without** overcommit, and fails with nothing to
  evict (``lru_cache_manager.go``: ``empty cache, cannot evict``) — ModelFailed.
- ``scheduler/pkg/agent/model_state.go`` / ``store/mesh.go``: a Model needs ``spec.memory`` ×
  its instance count; for MLServer the agent process's env ``MLSERVER_PARALLEL_WORKERS``
  (``repository/mlserver/mlserver.go``, default 1), for Triton the model's ``instance_group``
  (in the artifact's ``config.pbtxt``, not in the Model CR). From v2.9.0; 2.8.x uses
  ``spec.memory`` alone.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from seldon_doctor.domain.quantities import parse_quantity
from seldon_doctor.domain.releases import (
    AGENT_MEMORY_DEFAULT_BYTES,
    AGENT_OVERCOMMIT_DEFAULT_PERCENT,
    release_for_images,
)

JSONDict = dict[str, Any]

_AGENT_ENV = (
    "MEMORY_REQUEST",
    "SELDON_OVERCOMMIT_PERCENTAGE",
    "SELDON_REPLICA_CONFIG",
    "SELDON_SERVER_CAPABILITIES",
)


@dataclass(frozen=True, slots=True)
class ReplicaMemory:
    """Memory one replica of a Server has, as its agent reports it."""

    request: int  # bytes: main memory (MEMORY_REQUEST); a Model must fit here to load
    overcommit: int | None  # percent; None when the env is not a literal we can read
    source: str
    overcommit_source: str = ""
    # spec.memory multiplier the agent applies (MLSERVER_PARALLEL_WORKERS); None: unknown (1)
    instances: int = 1
    instances_source: str = ""

    @property
    def limit(self) -> int | None:
        """What the scheduler accepts on an empty replica (request × (1 + overcommit%))."""
        if self.overcommit is None:
            return None
        return self.request * (100 + self.overcommit) // 100

    @property
    def origin(self) -> str:
        """Short name of where ``request`` comes from, for messages."""
        if "SELDON_REPLICA_CONFIG" in self.source:
            return "agent SELDON_REPLICA_CONFIG memoryBytes"
        if "sets no MEMORY_REQUEST" in self.source:
            return "no MEMORY_REQUEST: the agent's default"
        if "--memory-bytes" in self.source:
            return "agent --memory-bytes"
        return "agent MEMORY_REQUEST"

    @property
    def overcommit_text(self) -> str:
        return "unknown" if self.overcommit is None else f"{self.overcommit}%"


def _env_items(container: JSONDict) -> list[JSONDict]:
    env = container.get("env")
    return [e for e in env if isinstance(e, dict)] if isinstance(env, list) else []


def _flag(container: JSONDict, name: str) -> str | None:
    args = container.get("args")
    items = [str(a) for a in args] if isinstance(args, list) else []
    for index, arg in enumerate(items):
        for prefix in (f"--{name}", f"-{name}"):
            if arg == prefix and index + 1 < len(items):
                return items[index + 1]
            if arg.startswith(prefix + "="):
                return arg.split("=", 1)[1]
    return None


def agent_container(containers: list[JSONDict]) -> JSONDict | None:
    """The Seldon agent among a Server pod's containers (by env, name or image)."""
    for container in containers:
        names = {str(e.get("name")) for e in _env_items(container)}
        if names & set(_AGENT_ENV):
            return container
    for container in containers:
        image = str(container.get("image") or "").rsplit("/", 1)[-1]
        if container.get("name") == "agent" or image.startswith("seldon-agent"):
            return container
    return None


def _uint(text: object) -> int | None:
    raw = str(text).strip()
    return int(raw) if raw.isdigit() else None


def _replica_config(raw: str, where: str) -> ReplicaMemory | None:
    """``SELDON_REPLICA_CONFIG``: protojson, lowerCamel or proto names; absent fields are 0."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None  # the agent exits (Fatalf) on a config it cannot parse
    if not isinstance(data, dict):
        return None
    memory = _uint(data.get("memoryBytes", data.get("memory_bytes", 0)))
    over = _uint(data.get("overCommitPercentage", data.get("over_commit_percentage", 0)))
    if memory is None:
        return None
    source = f"{where} env SELDON_REPLICA_CONFIG memoryBytes"
    return ReplicaMemory(memory, over, source, f"{where} env SELDON_REPLICA_CONFIG")


def _request(
    item: JSONDict | None, agent: JSONDict, by_name: dict[str, JSONDict], where: str
) -> tuple[int | None, str]:
    name = agent.get("name")
    if item is None:
        return (
            AGENT_MEMORY_DEFAULT_BYTES,
            f"{where} container {name} sets no MEMORY_REQUEST: the agent's default "
            f"{AGENT_MEMORY_DEFAULT_BYTES} bytes (--memory-bytes)",
        )
    if "value" in item:
        return parse_quantity(item.get("value")), f"{where} container {name} env MEMORY_REQUEST"
    ref = (item.get("valueFrom") or {}).get("resourceFieldRef")
    if not isinstance(ref, dict) or ref.get("resource") != "requests.memory":
        return None, ""
    target = by_name.get(str(ref.get("containerName") or name))
    resources = (target or {}).get("resources") or {}
    requests = resources.get("requests") if isinstance(resources, dict) else None
    raw = requests.get("memory") if isinstance(requests, dict) else None
    request = parse_quantity(raw)
    divisor = parse_quantity(ref.get("divisor")) or 1
    if request is not None:
        request = math.ceil(request / divisor) * divisor
    return request, (
        f"{where} container {ref.get('containerName')} resources.requests.memory "
        f"{raw} (agent env MEMORY_REQUEST)"
    )


def _instances(agent: JSONDict, items: dict[str, JSONDict], where: str) -> tuple[int, str]:
    image = str(agent.get("image") or "")
    if image and not release_for_images([image]).model_memory_per_instance:
        return 1, ""  # 2.8.x agents and schedulers use spec.memory alone
    server_type = _flag(agent, "server-type") or str(
        items.get("SELDON_SERVER_TYPE", {}).get("value") or "mlserver"
    )
    item = items.get("MLSERVER_PARALLEL_WORKERS")
    if server_type.strip() != "mlserver" or item is None or "value" not in item:
        return 1, ""
    workers = _uint(item.get("value"))
    if workers is None:
        return 1, ""  # the agent falls back to 1 when it is not an integer
    return workers, f"{where} container {agent.get('name')} env MLSERVER_PARALLEL_WORKERS"


def memory_from(containers: list[JSONDict], where: str) -> ReplicaMemory | None:
    """The agent's replica memory among a pod's containers (``where`` names the pod spec in the
    returned ``source``); None without an agent container or when its value cannot be read."""
    agent = agent_container(containers)
    if agent is None:
        return None
    by_name = {str(c.get("name")): c for c in containers}
    items = {str(e.get("name")): e for e in _env_items(agent)}
    instances, instances_source = _instances(agent, items, where)
    replica = items.get("SELDON_REPLICA_CONFIG")
    flag_config = _flag(agent, "replica-config")
    if flag_config is not None or (replica is not None and "value" in replica):
        raw = flag_config if flag_config is not None else str((replica or {}).get("value"))
        found = _replica_config(raw, where)
        if found is None:
            return None
        return ReplicaMemory(
            found.request,
            found.overcommit,
            found.source,
            found.overcommit_source,
            instances,
            instances_source,
        )
    if replica is not None:
        return None  # SELDON_REPLICA_CONFIG from a ConfigMap or Secret: not readable here
    flag_memory = _flag(agent, "memory-bytes")
    if flag_memory is not None:
        request: int | None = _uint(flag_memory)
        source = f"{where} container {agent.get('name')} --memory-bytes"
    else:
        request, source = _request(items.get("MEMORY_REQUEST"), agent, by_name, where)
    if request is None:
        return None
    overcommit: int | None
    flag_over = _flag(agent, "over-commit-percentage")
    over_item = items.get("SELDON_OVERCOMMIT_PERCENTAGE")
    if flag_over is not None:
        overcommit = _uint(flag_over)
        over_source = f"{where} container {agent.get('name')} --over-commit-percentage"
    elif over_item is None:
        overcommit = AGENT_OVERCOMMIT_DEFAULT_PERCENT
        over_source = "SELDON_OVERCOMMIT_PERCENTAGE not set: the agent's default 0%"
    else:
        overcommit = _uint(over_item["value"]) if "value" in over_item else None
        over_source = f"{where} container {agent.get('name')} env SELDON_OVERCOMMIT_PERCENTAGE"
        if overcommit is None:
            over_source += " (not a literal number: unknown)"
    return ReplicaMemory(request, overcommit, source, over_source, instances, instances_source)
