"""Transient states: what ``scan --wait`` waits out before it judges.

Right after ``kubectl apply`` a healthy rollout looks broken for a while: Models are
``ModelProgressing``, pods are starting, a Deployment is mid-rollout, Envoy is not LIVE yet. A
gate that judged then would fail good deploys. These states say "not settled yet"; once none is
left (or the wait ends) the scan judges what it sees. Pure: reads a Snapshot, no I/O.
"""

from __future__ import annotations

from seldon_doctor.kinds import SELDON_WORKLOAD_KINDS
from seldon_doctor.snapshot import KubeObject, Snapshot

# Condition messages the Seldon controller writes while work is under way (it puts the
# scheduler's state name in the condition *message*; see the reference, ModelStatus).
PROGRESSING_MESSAGES = frozenset(
    {"ModelProgressing", "ModelCreate", "ModelTerminating", "PipelineCreating"}
)
# Pod waiting reasons that end by themselves; CrashLoopBackOff/ImagePullBackOff do not.
STARTING_REASONS = frozenset({"ContainerCreating", "PodInitializing"})


def transient_states(snapshot: Snapshot) -> list[str]:
    """One line per object still settling, sorted; empty when everything has settled."""
    out: list[str] = []
    for obj in snapshot.objects:
        reason = _settling(obj)
        if reason:
            out.append(f"{obj.ref()}: {reason}")
    for envoy in snapshot.envoys:
        if envoy.ready is not None and envoy.ready != "LIVE":
            out.append(f"Envoy {envoy.namespace}/{envoy.pod or '?'}: server state {envoy.ready}")
    return sorted(out)


def _settling(obj: KubeObject) -> str | None:
    if obj.metadata.get("deletionTimestamp") and obj.kind == "Pod":
        return "terminating"
    generation = obj.metadata.get("generation")
    observed = obj.status.get("observedGeneration")
    if (
        isinstance(generation, int)
        and isinstance(observed, int)
        and observed < generation
        and (obj.kind in SELDON_WORKLOAD_KINDS or obj.kind in ("Deployment", "StatefulSet"))
    ):
        return f"generation {generation} not yet observed (observedGeneration {observed})"
    if obj.kind == "Pod":
        return _pod_settling(obj)
    if obj.kind in ("Deployment", "StatefulSet"):
        return _rollout_settling(obj)
    if obj.kind in SELDON_WORKLOAD_KINDS:
        for condition in obj.status.get("conditions") or []:
            if not isinstance(condition, dict) or condition.get("status") == "True":
                continue
            message = str(condition.get("message") or "")
            if message in PROGRESSING_MESSAGES:
                return f"condition {condition.get('type')} is {message}"
    return None


def _pod_settling(pod: KubeObject) -> str | None:
    phase = pod.status.get("phase")
    if phase == "Pending":
        for status in pod.status.get("containerStatuses") or []:
            state = status.get("state") if isinstance(status, dict) else None
            waiting = state.get("waiting") if isinstance(state, dict) else None
            if isinstance(waiting, dict) and waiting.get("reason") not in STARTING_REASONS:
                return None  # stuck (image pull, config error): settled, and broken
        return "pending"
    if phase != "Running":
        return None
    for status in pod.status.get("containerStatuses") or []:
        if not isinstance(status, dict) or status.get("ready"):
            continue
        state = status.get("state") or {}
        waiting = state.get("waiting") if isinstance(state, dict) else None
        if isinstance(waiting, dict) and waiting.get("reason") not in STARTING_REASONS:
            continue  # CrashLoopBackOff and friends do not settle by waiting
        if isinstance(state, dict) and ("running" in state or waiting):
            return f"container {status.get('name')} not ready yet"
    return None


def _rollout_settling(workload: KubeObject) -> str | None:
    spec_replicas = workload.spec.get("replicas", 1)
    if not isinstance(spec_replicas, int):
        return None
    status = workload.status
    if not status:
        return None  # no status at all (a manifest, a trimmed capture): nothing to wait for
    # A status without updatedReplicas (older controllers, trimmed captures) would never
    # settle if the field counted as 0: an absent field says nothing, so it does not block.
    updated = status.get("updatedReplicas", spec_replicas)
    ready = status.get("readyReplicas", 0) or 0
    if not isinstance(updated, int):
        updated = spec_replicas
    if spec_replicas > 0 and (updated < spec_replicas or ready < spec_replicas):
        if workload.kind == "Deployment" and any(
            isinstance(c, dict)
            and c.get("type") == "Progressing"
            and c.get("reason") == "ProgressDeadlineExceeded"
            for c in status.get("conditions") or []
        ):
            return None  # the rollout gave up: settled, and broken
        return f"rollout {ready}/{spec_replicas} ready, {updated} updated"
    return None
