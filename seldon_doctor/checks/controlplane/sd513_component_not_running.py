"""SD513: a Seldon component's pod is crash-looping, cannot pull its image, or was OOM-killed.

Judged only from observed Pod status (a live scan or captured state): ``containerStatuses`` /
``initContainerStatuses`` with ``state.waiting.reason`` (CrashLoopBackOff, ImagePullBackOff,
ErrImagePull, …), ``lastState.terminated`` (reason, exit code) and ``restartCount``. The pods
are recognised by the labels Seldon's controllers put on them: ``app.kubernetes.io/name`` =
the SeldonConfig component (``seldon-scheduler``, ``seldon-envoy``, …), ``control-plane:
v2-controller-manager`` for the controller, ``seldon-server-name`` for a Server's pods
(``operator/controllers/reconcilers/{seldon,server}``; reference §c, §d).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.findings import Evidence, Finding, Severity
from seldon_doctor.graph import seldon
from seldon_doctor.graph.model import Node

RESTARTS_THRESHOLD = 5
# Waiting reasons that do not end by themselves (waiting does not help).
STUCK_WAITING = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)
CONTROLLER = "seldon-v2-controller-manager"

_CONSEQUENCE = {
    "seldon-scheduler": "the scheduler is the namespace's control plane: while it is down no "
    "Model, Pipeline or Experiment change takes effect and Envoy gets no route updates",
    "seldon-envoy": "Envoy carries all inference of the namespace (seldon-mesh): requests fail "
    "or land on fewer replicas",
    "seldon-dataflow-engine": "Pipelines cannot run (no dataflow engine to place them on)",
    "seldon-pipelinegateway": "Pipeline inference through the gateway fails",
    "seldon-modelgateway": "Kafka-driven model calls (pipeline steps) fail",
    "hodometer": "only usage metrics are lost; inference is unaffected",
    CONTROLLER: "no Seldon resource in the namespaces it watches is reconciled",
}


def component_role(pod: Node) -> str | None:
    """Which Seldon component a pod belongs to, from the labels its controller sets."""
    labels = pod.labels
    name = labels.get(seldon.NAME_LABEL, "")
    if name in seldon.RUNTIME_COMPONENTS:
        return name
    key, value = seldon.CONTROLLER_LABEL
    if labels.get(key) == value:
        return CONTROLLER
    server = labels.get("seldon-server-name")
    if server:
        return f"server {server}"
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _statuses(pod: Node) -> Iterator[tuple[str, dict[str, Any]]]:
    for key in ("initContainerStatuses", "containerStatuses"):
        items = pod.status.get(key)
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                yield key, item


class ComponentNotRunning(Check):
    """SD513: a Seldon component pod crash-loops, cannot pull, was OOM-killed or restarts."""

    id = "SD513"
    reads = frozenset({"Pod"})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        for pod in ctx.graph.nodes("Pod"):
            if pod.obj is None:
                continue
            role = component_role(pod)
            if role is None:
                continue
            for key, status in _statuses(pod):
                finding = self._judge(pod, role, key, status)
                if finding is not None:
                    yield finding

    def _judge(self, pod: Node, role: str, key: str, status: dict[str, Any]) -> Finding | None:
        container = str(status["name"])
        state = _dict(status.get("state"))
        waiting = _dict(state.get("waiting"))
        terminated = _dict(_dict(status.get("lastState")).get("terminated")) or _dict(
            state.get("terminated")
        )
        restarts = status.get("restartCount")
        restarts = restarts if isinstance(restarts, int) else 0
        waiting_reason = str(waiting.get("reason") or "")
        last_reason = str(terminated.get("reason") or "")
        exit_code = terminated.get("exitCode")
        problems: list[str] = []
        if waiting_reason in STUCK_WAITING:
            detail = str(waiting.get("message") or "").strip()
            problems.append(f"is in {waiting_reason}" + (f" ({detail})" if detail else ""))
        if last_reason == "OOMKilled":
            problems.append("was OOMKilled (its memory limit is too low for its load)")
        if restarts >= RESTARTS_THRESHOLD:
            problems.append(f"has restarted {restarts} times")
        if not problems:
            return None
        last = (
            f"last terminated: {last_reason or 'reason unknown'}"
            + (f", exit code {exit_code}" if exit_code is not None else "")
            if terminated
            else "no termination recorded"
        )
        consequence = _CONSEQUENCE.get(role, "this Server replica cannot load or serve models")
        label = "controller" if role == CONTROLLER else role
        ns = pod.namespace
        where = f"status.{key}[name={container}]"
        evidence = [
            node_evidence(pod, f"{where}.state.waiting.reason", waiting_reason or None),
            node_evidence(
                pod,
                f"{where}.lastState.terminated",
                f"{last_reason or '?'} (exit code {exit_code})" if terminated else None,
            ),
            node_evidence(pod, f"{where}.restartCount", restarts),
        ]
        image = status.get("image")
        if isinstance(image, str) and image:
            evidence.append(Evidence(f"container {container}", "image", image))
        return self.finding(
            pod,
            f"Seldon {label} pod {ns}/{pod.name}: container {container} "
            + " and ".join(problems)
            + f"; {last}. Consequence: {consequence}.",
            evidence=evidence,
            params={
                "pod": pod.name,
                "container": container,
                "role": role,
                "reason": waiting_reason or last_reason or "Restarting",
                "exit_code": str(exit_code) if exit_code is not None else "unknown",
                "restarts": str(restarts),
            },
            severity=Severity.WARNING if role == "hodometer" else None,
        )
