"""What the scheduler's Model states and reasons mean, and which check recomputes each.

The controller copies the scheduler's state and free-text reason into the Model's ModelReady
condition; this table turns that text into an explanation and the check ids that can confirm
it (``scheduler/pkg/scheduler/filters`` names, pre-2.7 detailed messages, gRPC errors).
"""

from __future__ import annotations

import re

MODEL_STATES = frozenset(
    {
        "ModelStateUnknown",
        "ModelProgressing",
        "ModelAvailable",
        "ModelFailed",
        "ModelTerminating",
        "ModelTerminated",
        "ModelTerminateFailed",
        "ScheduleFailed",
        "ModelScaledDown",
        "ModelCreate",
        "ModelTerminate",
    }
)
FAILED_STATES = frozenset({"ScheduleFailed", "ModelFailed", "ModelTerminateFailed"})

# Filter names (current and pre-2.7 detailed messages) → the check that recomputes them.
_FILTER_CHECKS = {
    "ServerRequirementsFilter": "SD102",
    "RequirementsReplicaFilter": "SD102",
    "ExplainerFilter": "SD102",
    "AvailableMemoryReplicaFilter": "SD104",
    "ServerReplicaFilter": "SD201",
    "DeletedServerFilter": "SD201",
    "SharingServerFilter": "SD101",
}


def reason_meaning(reason: str) -> tuple[str, tuple[str, ...]]:
    """What a scheduler/controller reason means, and which checks can explain it."""
    text = reason.casefold()
    if "failed to download from" in text or "lstat /mnt/agent/rclone" in text or "rclone" in text:
        return (
            "the agent could not fetch the artifact: check spec.storageUri and the rclone "
            "secret (spec.secretName or the SeldonConfig's agentConfig.rclone.config_secrets)",
            ("storage",),
        )
    old = re.findall(r"failed (?:server|replica) filter (\w+)", reason)
    if old:
        ids = tuple(sorted({_FILTER_CHECKS.get(f, "") for f in old} - {""}))
        return f"the scheduler rejected it in {', '.join(sorted(set(old)))}", ids
    if "managed to schedule with min replicas" in text:
        return "placed with only minReplicas replicas", ("SD103",)
    if "no matching servers are available" in text:
        return (
            "every Server was rejected by the server filters: capabilities, a spec.server pin, "
            "or no connected replica",
            ("SD102", "SD101", "SD201"),
        )
    if "enough suitable replicas" in text:
        return (
            "a Server matched, but too few of its replicas passed the replica filters: replica "
            "count, memory, or an explainer without alibi-explain",
            ("SD103", "SD104", "SD102"),
        )
    if "can't convert model memory" in text:
        return "spec.memory is not a valid quantity", ()
    if "scaling spec is invalid" in text:
        return "spec.replicas/minReplicas/maxReplicas are inconsistent", ()
    if "rbac: access denied" in text:
        return (
            "a mesh authorization policy (an Envoy RBAC filter in a sidecar) rejected the "
            "controller's stream to the scheduler — not Kubernetes RBAC",
            ("SD509",),
        )
    unreachable_signs = (
        "code = unavailable",
        "code = deadlineexceeded",
        "connection refused",
        "no such host",
        "produced zero addresses",
    )
    if any(sign in text for sign in unreachable_signs):
        return (
            "the controller could not reach the scheduler",
            ("SD503", "SD504", "SD505", "SD501"),
        )
    if "rpc error" in text:
        return (
            "the scheduler refused the controller's request (a gRPC error other than connectivity)",
            (),
        )
    return "", ()
