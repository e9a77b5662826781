"""SD102 model-requirements-unsatisfied.

No Server a Model can be placed on offers every capability it requires.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from seldon_doctor.checks.base import Check, CheckContext, node_evidence
from seldon_doctor.checks.helpers.common import (
    TOPOLOGY_READS,
    placement,
    servers_by_scheduler,
    servers_partial,
)
from seldon_doctor.domain.spelling import edit_distance
from seldon_doctor.findings import Evidence, Finding, Severity
from seldon_doctor.graph import seldon
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Node
from seldon_doctor.graph.seldon import Capabilities
from seldon_doctor.logs import attach
from seldon_doctor.snapshot import KubeObject

# Spellings users reach for, mapped to the capability strings Seldon's ServerConfigs use.
# Matching upstream is exact and case-sensitive (ServerRequirementsFilter), so these never
# match by themselves; they only drive the "did you mean" hint.
_ALIASES: dict[str, tuple[str, ...]] = {
    "scikit-learn": ("sklearn",),
    "scikit_learn": ("sklearn",),
    "scikitlearn": ("sklearn",),
    "sk-learn": ("sklearn",),
    "torch": ("pytorch",),
    "tf": ("tensorflow",),
    "keras": ("tensorflow",),
    "spark-mllib": ("spark-mlib",),
    "sparkmllib": ("spark-mlib",),
    "xgb": ("xgboost",),
    "lgbm": ("lightgbm",),
    "light-gbm": ("lightgbm",),
    "hf": ("huggingface",),
    "transformers": ("huggingface",),
    "hugging-face": ("huggingface",),
    "alibi-explainer": ("alibi-explain",),
    "alibi-detector": ("alibi-detect",),
    "onnxruntime": ("onnx",),
    "onnx-runtime": ("onnx",),
    "tensorrt-llm": ("tensorrt",),
}


def _squash(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def near_miss(requirement: str, capabilities: Iterable[str]) -> tuple[str, str] | None:
    """The capability a requirement was probably meant to be, and why we think so."""
    caps = sorted(set(capabilities))
    for alias in _ALIASES.get(requirement.casefold(), ()):
        if alias in caps:
            return alias, f"'{requirement}' is not a Seldon capability name; servers say '{alias}'"
    for cap in caps:
        if requirement in _ALIASES.get(cap.casefold(), ()):
            # The misspelling is on the Server: it offers the alias, the Model asks the name.
            return cap, (
                f"the Server offers '{cap}', which is not a Seldon capability name; the "
                f"ServerConfigs and runtimes say '{requirement}' — fix the Server's capabilities"
            )
    for cap in caps:
        if cap.casefold() == requirement.casefold():
            return cap, "matching is case-sensitive"
    for cap in caps:
        if _squash(cap) == _squash(requirement):
            return cap, "punctuation or whitespace differs"
    limit = 1 if len(requirement) < 5 else 2
    best = min(caps, key=lambda c: (edit_distance(requirement, c, limit), c), default=None)
    if best is not None and edit_distance(requirement, best, limit) <= limit:
        return best, "looks like a typo"
    return None


class ModelRequirementsUnsatisfied(Check):
    """SD102: no Server's effective capabilities hold every requirement of a Model."""

    id = "SD102"
    reads = TOPOLOGY_READS | {"Model", "Server", "ServerConfig", "Experiment", "Pipeline"}

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        graph = ctx.graph
        by_scheduler = servers_by_scheduler(graph)
        for model in graph.nodes("Model"):
            if model.obj is None:
                continue
            # The shared placement: SD103, SD104 and SD201 ask for the same requirements and
            # candidates of every Model, so they are worked out once for all four.
            place = placement(graph, model, by_scheduler)
            requirements = place.requirements
            if not requirements:
                continue
            if any(caps.known for _, caps in place.compatible):
                continue  # a Server whose known capabilities hold every requirement
            candidates, how = place.candidates, place.how
            if not candidates:
                pinned = model.spec.get("server")
                if not (isinstance(pinned, str) and pinned):  # a pin to nothing is SD101
                    yield from self._without_servers(ctx, model, requirements)
                continue
            evaluated = [(server, graph.capabilities(server)) for server in candidates]
            known = [(server, caps) for server, caps in evaluated if caps.known]
            if not known:
                reasons = "; ".join(f"{s.name}: {c.source}" for s, c in evaluated)
                self.skip(
                    ctx,
                    "capabilities of the candidate Servers are unknown",
                    model.namespace,
                    subject=f"Model {model.namespace}/{model.name} ({reasons})",
                )
                continue
            partial = servers_partial(graph, model, candidates)
            if partial is not None:
                names = ", ".join(req for req, _ in requirements)
                self.unresolved(
                    ctx,
                    model,
                    f"a Server offering [{names}] for Model {model.namespace}/{model.name}",
                    "Server",
                    partial,
                )
                continue
            yield attach(
                self._finding(model, requirements, known, how),
                graph.log_evidence(self.id, model.namespace, model.name),
            )

    def _without_servers(
        self, ctx: CheckContext, model: Node, requirements: tuple[tuple[str, str], ...]
    ) -> Iterator[Finding]:
        """No Server in the input the Model could go to: judge its requirements against the
        ServerConfigs in the input (else Seldon's stock mlserver and triton), never silence."""
        stock = stock_capabilities(ctx.graph)
        subject = f"Model {model.namespace}/{model.name}"
        if any(all(req in caps.values for req, _ in requirements) for _, caps in stock):
            self.skip(
                ctx,
                "no Server in the input to place the Model on; its requirements match a "
                "ServerConfig, so a Server of that config would take it",
                model.namespace,
                subject=subject,
            )
            return
        if not stock:
            self.skip(
                ctx,
                "no Server and no known ServerConfig in the input to judge the requirements "
                "against",
                model.namespace,
                subject=subject,
            )
            return
        all_caps = {cap for _, caps in stock for cap in caps.values}
        names = ", ".join(f"'{r}'" for r, _ in requirements)
        hints, suggestion = [], "<capability>"
        for req, _ in requirements:
            if any(req in caps.values for _, caps in stock):
                continue
            miss = near_miss(req, all_caps)
            if miss:
                hints.append(f"'{req}' → did you mean '{miss[0]}'? ({miss[1]})")
                suggestion = suggestion if suggestion != "<capability>" else miss[0]
        first = next(r for r, _ in requirements if not any(r in c.values for _, c in stock))
        message = (
            f"Model {model.namespace}/{model.name} requires [{names}], and the input holds no "
            f"Server it could be placed on; none of the ServerConfigs "
            f"({', '.join(name for name, _ in stock)}) offers all of them, so only a Server "
            "with custom capabilities could take it."
        )
        if hints:
            message += " " + "; ".join(hints)
        evidence = [
            node_evidence(
                model, why.split(" ", 1)[0], req, why.partition(" ")[2].strip("()") or None
            )
            for req, why in requirements
        ]
        evidence.extend(
            Evidence(f"ServerConfig {name}", "capabilities", ",".join(c.values), c.source)
            for name, c in stock
        )
        yield self.finding(
            model,
            message,
            evidence=evidence,
            severity=Severity.WARNING,  # a Server outside the input may still offer them
            params={
                "requirement": first,
                "suggestion": suggestion,
                "server": "<server>",
                "server_namespace": model.namespace,
                "server_config": stock[0][0],
            },
        )

    def _finding(
        self,
        model: Node,
        requirements: tuple[tuple[str, str], ...],
        known: list[tuple[Node, Capabilities]],
        how: str,
    ) -> Finding:
        all_caps = {cap for _, caps in known for cap in caps.values}
        closest_server, closest_caps = min(
            known, key=lambda sc: (sum(r not in sc[1].values for r, _ in requirements), sc[0].id)
        )
        missing = [req for req, _ in requirements if req not in closest_caps.values]
        hints = []
        suggestions = {}
        for req in missing:
            if not req:
                hints.append("an empty requirement ('') matches no capability: remove it")
                continue
            miss = near_miss(req, all_caps)
            if miss and miss[1].startswith("the Server offers"):
                hints.append(f"'{req}' is right: {miss[1]}")
            elif miss:
                hints.append(f"'{req}' → did you mean '{miss[0]}'? ({miss[1]})")
                suggestions[req] = miss[0]
        names = ", ".join(f"'{r}'" for r, _ in requirements)
        message = (
            f"Model {model.namespace}/{model.name} requires [{names}] but no Server it can be "
            f"placed on offers all of them ({how}); the closest, {closest_server.name}, lacks "
            + ", ".join(f"'{m}'" for m in missing)
            + ". The scheduler matches capabilities exactly and case-sensitively, so the Model "
            "stays ScheduleFailed."
        )
        if "the agent's default --capabilities" in closest_caps.source:
            message += f" {closest_server.name}: {closest_caps.source}."
        if hints:
            message += " " + "; ".join(hints)
        evidence = [
            node_evidence(
                model, why.split(" ", 1)[0], req, why.partition(" ")[2].strip("()") or None
            )
            for req, why in requirements
        ]
        evidence.extend(
            Evidence(
                f"Server {s.namespace}/{s.name}",
                "effective capabilities",
                ",".join(c.values),
                c.source,
            )
            for s, c in known
        )
        first_missing = missing[0] if missing else requirements[0][0]
        return self.finding(
            model,
            message,
            evidence=evidence,
            predicts_failure_of=model,
            params={
                "requirement": first_missing,
                "suggestion": suggestions.get(first_missing, "<capability>"),
                "server": closest_server.name,
                "server_namespace": closest_server.namespace,
                "server_config": str(closest_server.spec.get("serverConfig") or "<serverconfig>"),
            },
        )


def stock_capabilities(graph: DeploymentGraph) -> list[tuple[str, Capabilities]]:
    """What a Server of each ServerConfig in the input would offer (without any: Seldon's
    stock ``mlserver`` and ``triton``), by config name."""
    configs = {n.name: n.obj for n in graph.nodes("ServerConfig") if n.obj is not None}
    names = sorted(configs) or sorted(seldon.DEFAULT_SERVERCONFIG_CAPABILITIES)
    out = []
    for name in names:
        server = KubeObject(
            {"kind": "Server", "metadata": {"name": name}, "spec": {"serverConfig": name}}
        )
        caps = seldon.compute_capabilities(server, configs.get(name), [])
        if caps.known:
            out.append((name, caps))
    return out
