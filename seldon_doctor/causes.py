"""Root causes and consequences: which findings another finding explains, read off the graph.

A scheduler whose Service has no ready pod makes every Server that dials it unready, and every
Model those Servers would host not ready: one problem, several findings. After the checks ran,
:func:`link_causes` gives each consequence the keys of the findings that cause it
(``Finding.caused_by``); renderers then show one root with its consequences and the planner
fixes roots first. It is a pure function of the findings and the graph, and it never adds,
drops or re-grades a finding: the exit code is unchanged.

The causal knowledge is the table :data:`RULES`. A row says: a finding of check
``consequence`` is caused by a finding of one of the ``roots`` checks when ``relation``
connects their two resources in the graph. Rows for one consequence are tried in table order
and the first row that links anything decides, so a Model whose own requirements are
misspelt (SD102) is not also blamed on a shared scheduler problem. The relations:

``same_resource``
    both findings are about the same object (SD102 and SD105 on one Model).
``same_namespace``
    the root is a namespace-level finding (SD501, SD503) about the consequence's namespace.
``only_host``
    the root is SD201 on a Server, and that Server is the only one the consequence's Model
    can be placed on (the placement SD201 computed from the graph, in its ``models``).
``on_scheduler_path``
    the root's object (a Service, a scheduler Pod or its StatefulSet) is on the way a
    scheduler consumer of the consequence takes: for a Server, its agents' dial
    (``SELDON_SCHEDULER_HOST``); for anything else in a namespace, every consumer of that
    namespace (controller, agents, Envoy, dataflow engine), through ExternalName aliases to
    the pods behind the final Service (``DeploymentGraph.scheduler_consumers``).
``selects_pods_of``
    the root is SD201 on a Server and the consequence is a Service that selects that
    Server's pods (a replica's own Service is empty because the Server has no ready pod).
``backs_service``
    the root is about a Pod that the consequence's Service selects (ready or not).
``shares_scheduler``
    the consumers of the root's namespace and of the consequence's namespace reach a common
    scheduler pod (split brain in app-a moves routes that the shared Envoy serves).

A cause that would close a cycle is dropped (rows are applied in finding order), so the links
always form a forest of roots; a finding may have several causes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from seldon_doctor.findings import Finding
from seldon_doctor.graph import seldon
from seldon_doctor.graph.build import DeploymentGraph
from seldon_doctor.graph.model import Consumer, node_id

# Checks about the way to a scheduler: its Service (empty, dangling alias), its pods and
# StatefulSet (several replicas, not ready). SD513 is matched by resource like the others.
SCHEDULER_PATH = frozenset({"SD502", "SD504", "SD505", "SD513"})


@dataclass(frozen=True, slots=True)
class Rule:
    """A finding of ``consequence`` is caused by a ``roots`` finding ``relation`` connects."""

    consequence: str
    roots: frozenset[str]
    relation: str
    why: str


def _rule(consequence: str, roots: Iterable[str], relation: str, why: str) -> Rule:
    return Rule(consequence, frozenset(roots), relation, why)


RULES: tuple[Rule, ...] = (
    # A Model not ready (SD105) or stuck terminating (SD106).
    _rule(
        "SD105",
        {"SD101", "SD102", "SD103", "SD104"},
        "same_resource",
        "the Model's own spec cannot be placed",
    ),
    _rule(
        "SD105", {"SD201"}, "only_host", "the only Servers able to host it have no ready replica"
    ),
    _rule("SD105", {"SD503"}, "same_namespace", "its namespace resolves no scheduler"),
    _rule(
        "SD105",
        SCHEDULER_PATH,
        "on_scheduler_path",
        "its controller or agents dial a scheduler through the broken object",
    ),
    _rule("SD105", {"SD501"}, "same_namespace", "its namespace reaches two schedulers"),
    _rule("SD106", {"SD503"}, "same_namespace", "its namespace resolves no scheduler"),
    _rule(
        "SD106",
        SCHEDULER_PATH,
        "on_scheduler_path",
        "the controller cannot hear from the scheduler that the Model was unloaded",
    ),
    _rule("SD106", {"SD501"}, "same_namespace", "its namespace reaches two schedulers"),
    # A Server with no ready replica: its agents never subscribe.
    _rule("SD201", {"SD503"}, "same_namespace", "its namespace resolves no scheduler"),
    _rule(
        "SD201",
        SCHEDULER_PATH,
        "on_scheduler_path",
        "its agents dial a scheduler through the broken object",
    ),
    # A Server replica's own Service is empty because the Server has no ready pod.
    _rule("SD504", {"SD201"}, "selects_pods_of", "it selects the pods of a Server not ready"),
    # A Service with no ready pod because the pod behind it crash-loops (SD513 is on the Pod).
    _rule("SD504", {"SD513"}, "backs_service", "its pod crash-loops or cannot start"),
    # Split brain because the scheduler behind one Service runs several replicas.
    _rule(
        "SD501",
        {"SD502"},
        "on_scheduler_path",
        "the namespace's consumers are load-balanced over the scheduler's replicas",
    ),
    # Routes come from the scheduler Envoy follows.
    _rule("SD601", {"SD501"}, "same_namespace", "its namespace reaches two schedulers"),
    _rule(
        "SD601",
        SCHEDULER_PATH | {"SD503"},
        "on_scheduler_path",
        "its Envoy or controller dial a scheduler through the broken object",
    ),
    _rule(
        "SD601",
        {"SD501"},
        "shares_scheduler",
        "a namespace sharing its scheduler reaches two schedulers",
    ),
    _rule(
        "SD602",
        {"SD501"},
        "shares_scheduler",
        "a namespace sharing this Envoy's scheduler moved to another scheduler",
    ),
    _rule(
        "SD602",
        SCHEDULER_PATH,
        "on_scheduler_path",
        "this Envoy follows a scheduler through the broken object",
    ),
)

Relation = Callable[[DeploymentGraph, Finding, Finding], bool]


def _same_resource(graph: DeploymentGraph, root: Finding, cons: Finding) -> bool:
    return _ref(root) == _ref(cons)


def _same_namespace(graph: DeploymentGraph, root: Finding, cons: Finding) -> bool:
    return bool(root.resource.namespace) and root.resource.namespace == cons.resource.namespace


def _only_host(graph: DeploymentGraph, root: Finding, cons: Finding) -> bool:
    if root.resource.kind != "Server" or cons.resource.kind != "Model":
        return False
    hosted = {m.strip() for m in root.param_dict().get("models", "").split(",")}
    return f"{cons.resource.namespace}/{cons.resource.name}" in hosted


def _consumers(graph: DeploymentGraph, finding: Finding) -> Sequence[Consumer]:
    res = finding.resource
    consumers = graph.scheduler_consumers(res.namespace, record=False)
    if res.kind == "Server":
        server = node_id("Server", res.namespace, res.name)
        return [c for c in consumers if c.role == "agent" and c.subject == server]
    return consumers


def _path(consumer: Consumer) -> set[str]:
    """Node ids on a consumer's way to its scheduler: Services, then pods and their workload."""
    out = set(consumer.resolution.chain)
    for backend in consumer.resolution.backends:
        out.add(node_id("Pod", backend.namespace, backend.pod))
        if backend.workload:
            out.add(backend.workload)
        owner, _, ordinal = backend.pod.rpartition("-")
        if owner and ordinal.isdigit():  # StatefulSet pods are <name>-<ordinal>
            out.add(node_id("StatefulSet", backend.namespace, owner))
    return out


def _on_scheduler_path(graph: DeploymentGraph, root: Finding, cons: Finding) -> bool:
    target = node_id(root.resource.kind, root.resource.namespace, root.resource.name)
    return any(target in _path(c) for c in _consumers(graph, cons))


def _selects_pods_of(graph: DeploymentGraph, root: Finding, cons: Finding) -> bool:
    if root.resource.kind != "Server" or cons.resource.kind != "Service":
        return False
    ns = root.resource.namespace
    if cons.resource.namespace != ns:
        return False
    service = graph.get("Service", ns, cons.resource.name, record=False)
    selector = service.spec.get("selector") if service is not None else None
    if not isinstance(selector, dict) or not selector:
        return False
    wanted = {str(k): str(v) for k, v in selector.items()}
    pods = [
        p
        for p in graph.nodes("Pod", ns, record=False)
        if p.labels.get("seldon-server-name") == root.resource.name
    ]
    if pods:
        return any(seldon.selector_matches(wanted, p.labels) for p in pods)
    pod_name = wanted.get("statefulset.kubernetes.io/pod-name", "")
    owner, _, ordinal = pod_name.rpartition("-")
    return owner == root.resource.name and ordinal.isdigit()


def _backs_service(graph: DeploymentGraph, root: Finding, cons: Finding) -> bool:
    if root.resource.kind != "Pod" or cons.resource.kind != "Service":
        return False
    ns = cons.resource.namespace
    resolution = graph.resolve(f"{cons.resource.name}.{ns}", ns, record=False)
    return any(
        b.namespace == root.resource.namespace and b.pod == root.resource.name
        for b in resolution.backends
    )


def _instances(graph: DeploymentGraph, namespace: str) -> set[str]:
    out: set[str] = set()
    for consumer in graph.scheduler_consumers(namespace, record=False):
        out |= consumer.resolution.instance_keys()
    return out


def _shares_scheduler(graph: DeploymentGraph, root: Finding, cons: Finding) -> bool:
    a, b = root.resource.namespace, cons.resource.namespace
    return bool(a and b) and bool(_instances(graph, a) & _instances(graph, b))


RELATIONS: dict[str, Relation] = {
    "same_resource": _same_resource,
    "same_namespace": _same_namespace,
    "only_host": _only_host,
    "on_scheduler_path": _on_scheduler_path,
    "selects_pods_of": _selects_pods_of,
    "backs_service": _backs_service,
    "shares_scheduler": _shares_scheduler,
}


def _ref(finding: Finding) -> tuple[str, str, str]:
    res = finding.resource
    return res.kind, res.namespace, res.name


def link_causes(findings: Sequence[Finding], graph: DeploymentGraph) -> list[Finding]:
    """``findings`` in the same order, each consequence with ``caused_by`` set."""
    by_check: dict[str, list[Finding]] = {}
    for finding in findings:
        by_check.setdefault(finding.check_id, []).append(finding)
    rules: dict[str, list[Rule]] = {}
    for rule in RULES:
        rules.setdefault(rule.consequence, []).append(rule)
    recorder, graph.recorder = graph.recorder, None  # not a check's read
    links: dict[str, list[str]] = {}
    try:
        for finding in findings:
            for rule in rules.get(finding.check_id, ()):
                relation = RELATIONS[rule.relation]
                causes = sorted(
                    {
                        root.key
                        for check_id in sorted(rule.roots)
                        for root in by_check.get(check_id, ())
                        if root.key != finding.key and relation(graph, root, finding)
                    }
                )
                if causes:
                    links[finding.key] = causes
                    break
    finally:
        graph.recorder = recorder
    accepted: dict[str, tuple[str, ...]] = {}
    for key in (f.key for f in findings):
        kept = [c for c in links.get(key, ()) if not _leads_to(c, key, accepted)]
        if kept:
            accepted[key] = tuple(kept)
    return [replace(f, caused_by=accepted[f.key]) if f.key in accepted else f for f in findings]


def _leads_to(start: str, target: str, links: dict[str, tuple[str, ...]]) -> bool:
    """Whether following causes from ``start`` reaches ``target`` (the edge would loop)."""
    stack, seen = [start], set()
    while stack:
        key = stack.pop()
        if key == target:
            return True
        if key not in seen:
            seen.add(key)
            stack.extend(links.get(key, ()))
    return False
