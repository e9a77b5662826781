"""The agent's memory model: what one Server replica tells the scheduler it can hold.

The agent reports ``MEMORY_REQUEST`` (a value, or the inference container's
``resources.requests.memory`` through a ``resourceFieldRef``) and the scheduler accepts up to
``SELDON_OVERCOMMIT_PERCENTAGE`` more (``AvailableMemoryReplicaFilter``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from seldon_doctor.domain.quantities import parse_quantity

# Agent default (ServerConfig env SELDON_OVERCOMMIT_PERCENTAGE).
DEFAULT_OVERCOMMIT_PERCENT = 10

JSONDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ReplicaMemory:
    """Memory the scheduler believes one replica of a Server has."""

    request: int  # bytes, MEMORY_REQUEST
    overcommit: int  # percent
    source: str

    @property
    def limit(self) -> int:
        """The most an empty replica can accept, counting overcommit (an upper bound)."""
        return self.request * (100 + self.overcommit) // 100


def _env_items(container: JSONDict) -> list[JSONDict]:
    env = container.get("env")
    return [e for e in env if isinstance(e, dict)] if isinstance(env, list) else []


def memory_from(containers: list[JSONDict], where: str) -> ReplicaMemory | None:
    """The agent's MEMORY_REQUEST and overcommit among a pod's containers (``where`` names
    the pod spec in the returned ``source``); None when no container sets it readably."""
    by_name = {str(c.get("name")): c for c in containers}
    for container in containers:
        items = {str(e.get("name")): e for e in _env_items(container)}
        item = items.get("MEMORY_REQUEST")
        if item is None:
            continue
        request: int | None = None
        source = ""
        if "value" in item:
            request = parse_quantity(item.get("value"))
            source = f"{where} container {container.get('name')} env MEMORY_REQUEST"
        else:
            ref = (item.get("valueFrom") or {}).get("resourceFieldRef")
            if isinstance(ref, dict) and ref.get("resource") == "requests.memory":
                target = by_name.get(str(ref.get("containerName") or container.get("name")))
                resources = (target or {}).get("resources") or {}
                requests = resources.get("requests") if isinstance(resources, dict) else None
                raw = requests.get("memory") if isinstance(requests, dict) else None
                request = parse_quantity(raw)
                divisor = parse_quantity(ref.get("divisor")) or 1
                if request is not None:
                    request = math.ceil(request / divisor) * divisor
                source = (
                    f"{where} container {ref.get('containerName')} resources.requests.memory "
                    f"{raw} (agent env MEMORY_REQUEST)"
                )
        if request is None:
            return None
        overcommit = DEFAULT_OVERCOMMIT_PERCENT
        raw_over = items.get("SELDON_OVERCOMMIT_PERCENTAGE", {}).get("value")
        if raw_over is not None and str(raw_over).strip().isdigit():
            overcommit = int(str(raw_over).strip())
        return ReplicaMemory(request, overcommit, source)
    return None
