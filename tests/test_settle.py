"""What ``scan --wait`` treats as settled: only states that end by themselves keep it waiting."""

from __future__ import annotations

from typing import Any

from seldon_doctor.settle import transient_states
from seldon_doctor.snapshot import KubeObject, Snapshot


def _deployment(status: dict[str, Any] | None, replicas: int = 2) -> KubeObject:
    body: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "seldon-envoy", "namespace": "seldon-mesh"},
        "spec": {"replicas": replicas},
    }
    if status is not None:
        body["status"] = status
    return KubeObject(body)


def _states(*objects: KubeObject) -> list[str]:
    return transient_states(Snapshot(objects=list(objects)))


def test_a_status_without_updated_replicas_settles_when_its_pods_are_ready() -> None:
    assert _states(_deployment({"replicas": 2, "readyReplicas": 2})) == []


def test_a_rollout_with_pods_not_ready_keeps_waiting() -> None:
    (state,) = _states(_deployment({"replicas": 2, "readyReplicas": 1, "updatedReplicas": 2}))
    assert "rollout 1/2 ready" in state


def test_a_rollout_still_updating_keeps_waiting() -> None:
    assert _states(_deployment({"readyReplicas": 2, "updatedReplicas": 1}))


def test_no_status_at_all_is_nothing_to_wait_for() -> None:
    assert _states(_deployment(None)) == []
