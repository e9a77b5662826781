"""SD703 inferenceservice-not-ready.

A KServe InferenceService is not Ready, names no model storage, or has an invalid canary percentage.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.domain.kserve import KSERVE_COMPONENTS
from seldon_doctor.findings import Evidence, Finding
from seldon_doctor.graph import seldon

KSERVE_FRAMEWORKS = (
    "sklearn",
    "xgboost",
    "lightgbm",
    "tensorflow",
    "pytorch",
    "triton",
    "onnx",
    "paddle",
    "pmml",
    "huggingface",
)


# ---------------------------------------------------------------------------- KServe
def _missing_storage(component: dict[str, Any]) -> str | None:
    """The field path of a model spec that names no storage, if any."""
    if seldon.containers(component):
        return None  # a custom container loads its model its own way
    candidates = [("model", component.get("model"))]
    candidates.extend((fw, component.get(fw)) for fw in KSERVE_FRAMEWORKS)
    for field, spec in candidates:
        if not isinstance(spec, dict):
            continue
        if spec.get("storageUri") or spec.get("storageUris") or spec.get("storage"):
            return None
        model_format = spec.get("modelFormat")
        format_name = model_format.get("name") if isinstance(model_format, dict) else None
        if field == "huggingface" or format_name == "huggingface":
            return None  # the Hugging Face runtime can pull by --model_id instead
        return f"spec.predictor.{field}.storageUri"
    return None


class InferenceServiceNotReady(Check):
    """SD703: a KServe InferenceService not Ready, without storage, or with a bad canary."""

    id = "SD703"
    reads = frozenset({"InferenceService"})

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        for isvc in ctx.graph.nodes("InferenceService"):
            problems: list[str] = []
            evidence: list[Evidence] = []
            reason = ""
            ready = seldon.condition(isvc.status, "Ready")
            if ready is not None and str(ready.get("status")) != "True":
                reason = str(ready.get("reason") or ready.get("message") or "no reason given")
                text = f"it is not Ready ({ready.get('status')}: {reason}"
                if ready.get("message") and ready.get("reason"):
                    text += f" — {ready.get('message')}"
                problems.append(text + ")")
                evidence.append(
                    node_evidence(isvc, "status.conditions[Ready]", ready.get("status"))
                )
                for cond in isvc.status.get("conditions") or []:
                    if (
                        isinstance(cond, dict)
                        and cond.get("type") != "Ready"
                        and str(cond.get("status")) != "True"
                    ):
                        evidence.append(
                            node_evidence(
                                isvc,
                                f"status.conditions[{cond.get('type')}]",
                                cond.get("status"),
                                str(cond.get("reason") or cond.get("message") or "") or None,
                            )
                        )
                model_status = isvc.status.get("modelStatus")
                if isinstance(model_status, dict):
                    failure = model_status.get("lastFailureInfo")
                    if isinstance(failure, dict) and (
                        failure.get("reason") or failure.get("message")
                    ):
                        why = failure.get("reason") or ""
                        problems.append(f"last failure {why}: {failure.get('message') or ''}")
                        evidence.append(
                            node_evidence(
                                isvc,
                                "status.modelStatus.lastFailureInfo",
                                failure.get("reason"),
                                failure.get("message"),
                            )
                        )
            predictor = isvc.spec.get("predictor")
            if isinstance(predictor, dict):
                missing = _missing_storage(predictor)
                if missing:
                    problems.append(f"{missing} is not set, so there is no model to load")
                    evidence.append(node_evidence(isvc, missing, "absent"))
            for component in KSERVE_COMPONENTS:
                spec = isvc.spec.get(component)
                if not isinstance(spec, dict) or "canaryTrafficPercent" not in spec:
                    continue
                value = spec.get("canaryTrafficPercent")
                if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
                    path = f"spec.{component}.canaryTrafficPercent"
                    problems.append(f"{path} is {value!r}, outside 0-100")
                    evidence.append(node_evidence(isvc, path, value))
            if not problems:
                continue
            yield self.finding(
                isvc,
                f"InferenceService {isvc.namespace}/{isvc.name} cannot serve as declared: "
                + "; ".join(problems)
                + ".",
                evidence=evidence,
                params={"reason": reason or problems[0]},
            )
