"""SD605 listener-rejected.

An Envoy rejected a listener update, or has no active seldon_http listener.
"""

from __future__ import annotations

from collections.abc import Iterator

from seldon_doctor.checks.base import ENVOY, Check, CheckContext
from seldon_doctor.checks.helpers.common import envoy_label
from seldon_doctor.checks.helpers.dataplane import dumps, envoy_subject
from seldon_doctor.domain.envoy_routes import MAIN_LISTENER
from seldon_doctor.findings import Evidence, Finding


class ListenerRejected(Check):
    """SD605: an Envoy rejected a listener update, or has no active ``seldon_http`` (C20)."""

    id = "SD605"
    reads = frozenset({"Deployment"})
    needs = frozenset({ENVOY})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        for obs in dumps(graph):
            config = obs.config
            subject = envoy_subject(graph, obs)
            label = f"{envoy_label(obs)} ({obs.origin.describe()})"
            errors = [item for item in config.listeners if item.error]
            for listener in errors:
                yield self.finding(
                    subject,
                    f"The Envoy in {obs.namespace} rejected an update of listener "
                    f"{listener.name}: {listener.error}. It keeps serving its last good "
                    "listener or none; a rejection like this usually means the scheduler and "
                    "the Envoy image come from incompatible releases.",
                    evidence=[
                        Evidence(label, f"listener {listener.name} error_state", listener.error),
                        *graph.log_evidence(self.id, obs.namespace),
                    ],
                    params={"listener": listener.name, "envoy_namespace": obs.namespace},
                    dedupe_key=f"{obs.namespace}/{listener.name}",
                )
            active = [
                item
                for item in config.listeners
                if item.name == MAIN_LISTENER and item.state == "active"
            ]
            if active or any(item.name == MAIN_LISTENER for item in errors):
                continue
            states = sorted({item.state for item in config.listeners if item.name == MAIN_LISTENER})
            why = (
                f"only in state {', '.join(states)}"
                if states
                else "absent (the scheduler's xDS never delivered it, or it was rejected)"
            )
            ready = f"; /ready says {obs.ready}" if obs.ready else ""
            yield self.finding(
                subject,
                f"The Envoy in {obs.namespace} has no active {MAIN_LISTENER} listener: it is "
                f"{why}{ready}. Nothing listens for inference on port 9000: clients of "
                "seldon-mesh get connection refused or resets, whatever the Models' status.",
                evidence=[
                    Evidence(
                        label,
                        "listeners",
                        ", ".join(f"{i.name} ({i.state})" for i in config.listeners) or "none",
                    ),
                    *graph.log_evidence(self.id, obs.namespace),
                ],
                params={"listener": MAIN_LISTENER, "envoy_namespace": obs.namespace},
                dedupe_key=f"{obs.namespace}/{MAIN_LISTENER}",
            )
