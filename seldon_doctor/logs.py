"""Log evidence (``scan --logs``): which containers to tail, and the lines that mean something.

The live source tails the containers :func:`log_targets` names and stores their lines in
``Snapshot.logs`` under ``"<namespace>/<pod>/<container>"``. :func:`match_logs` finds the lines
the reference lists (shared/reference/seldon-v2-facts.md §b, §g; failure-cases.md C15, C16,
C20, C30) and the graph hands them to checks as evidence (``DeploymentGraph.log_evidence``).

Logs are evidence only: no check fires on a log line alone. Every pattern below is a string the
reference quotes; none is guessed. The Seldon components log through logrus' TextFormatter
(``time="…" level=… msg="…" key=value…``, fields sorted); the controller uses zap
(``ERROR  Reconciler error  {"controller": …}``); Envoy its own ``[warning][config] …`` format.
Patterns therefore match message text, not a position in the line.

Default log levels hide most Info lines (kustomize SeldonConfig: scheduler ``LOG_LEVEL=warn``,
ServerConfig ``SELDON_LOG_LEVEL=warn``; Helm: ``info``), so an absent line proves nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache

from seldon_doctor.findings import Evidence, Finding
from seldon_doctor.graph.seldon import controller_scope
from seldon_doctor.redact import redact_text
from seldon_doctor.snapshot import KubeObject, Snapshot

SCHEDULER = "scheduler"
AGENT = "agent"
CONTROLLER = "controller"
ENVOY = "envoy"
COMPONENTS = (SCHEDULER, AGENT, CONTROLLER, ENVOY)

# Container names in the upstream install manifests (data/seldon/config): the SeldonConfig
# ``seldon-scheduler`` component's ``scheduler`` and ``seldon-envoy``'s ``envoy``, the
# ServerConfigs' ``agent``, the controller-manager Deployment's ``manager``.
CONTAINERS: dict[str, str] = {
    SCHEDULER: "scheduler",
    AGENT: "agent",
    CONTROLLER: "manager",
    ENVOY: "envoy",
}
_COMPONENT_OF_CONTAINER = {container: component for component, container in CONTAINERS.items()}
NAME_LABEL = "app.kubernetes.io/name"
SERVER_LABEL = "seldon-server-name"
CONTROLLER_LABEL = ("control-plane", "v2-controller-manager")
# Lines kept per container; enough for a few reconnect cycles at the default warn level.
RECOMMENDED_TAIL_LINES = 500
MAX_LINE = 200


@dataclass(frozen=True, slots=True)
class LogPattern:
    """One log line the reference names, what it means, and which checks it is evidence for."""

    id: str
    component: str  # scheduler | agent | controller | envoy
    regex: str  # searched in the raw line; named groups become LogMatch fields
    meaning: str
    supports: tuple[str, ...]


# Order matters: a line is attributed to the first pattern (of its component) that matches at
# the leftmost position, so the more specific message comes before the general one.
LOG_PATTERNS: tuple[LogPattern, ...] = (
    # ---------------------------------------------------------------- agent (§g)
    LogPattern(
        "agent-connecting",
        AGENT,
        r"Connecting \(non-blocking\) to scheduler at (?P<host>[^\s:\"]+):(?P<port>\d+)",
        "the agent dials this scheduler host and port",
        ("SD501", "SD503", "SD505", "SD512"),
    ),
    LogPattern(
        "agent-subscribed",
        AGENT,
        r"Subscribed to scheduler",
        "the agent's subscribe stream to the scheduler is open",
        ("SD501", "SD512"),
    ),
    LogPattern(
        "agent-scheduler-not-ready",
        AGENT,
        r"Scheduler not ready",
        "the agent cannot reach the scheduler (retried with backoff)",
        ("SD201", "SD503", "SD504", "SD505", "SD509"),
    ),
    LogPattern(
        "agent-subscription-ended",
        AGENT,
        r"Scheduler subscription ended|Subscribe ended",
        "the agent's stream to the scheduler ended",
        ("SD201", "SD509"),
    ),
    LogPattern(
        "agent-event-recv-failed",
        AGENT,
        r"event recv failed",
        "the agent lost its stream to the scheduler",
        ("SD201", "SD509"),
    ),
    LogPattern(
        "agent-endpoints-not-published",
        AGENT,
        r"failed waiting to check if pod's IP is published to endpoints",
        "the agent (2.10+) found no ready EndpointSlice for its <server>-<idx> Service",
        ("SD504", "SD201"),
    ),
    LogPattern(
        "agent-load-failed",
        AGENT,
        r"Failed to load model, sending error to scheduler"
        r"|Failed to handle load model (?P<model>[^\s:\"]+):(?P<version>\d+)",
        "the agent could not load a model; the error becomes the Model's ModelFailed reason",
        ("SD105",),
    ),
    LogPattern(
        "agent-rclone-not-ready",
        AGENT,
        r"Rclone not ready",
        "the rclone sidecar does not answer, so the agent cannot download models",
        ("SD105", "SD201"),
    ),
    # ---------------------------------------------------------------- scheduler (§b, §g)
    LogPattern(
        "scheduler-controller-subscribed",
        SCHEDULER,
        r"Received control-plane subscribe request from seldon manager",
        "a controller-manager connected to this scheduler (one line per controller connection)",
        ("SD501", "SD506", "SD512"),
    ),
    LogPattern(
        "scheduler-agent-subscribed",
        SCHEDULER,
        # HEAD says "agent subscribe"; 2.8 to 2.10.0 said "subscribe request from".
        r"Received (?:agent )?subscribe request from (?P<server>[^\s:\"]+):(?P<replica>\d+)",
        "a Server replica's agent registered with this scheduler",
        ("SD501", "SD512", "SD201"),
    ),
    LogPattern(
        "scheduler-agent-disconnected",
        SCHEDULER,
        r"Client replica (?P<server>[^\s:\"]+):(?P<replica>\d+) has disconnected",
        "a Server replica's agent left this scheduler",
        ("SD201",),
    ),
    LogPattern(
        "scheduler-schedule-min-replicas",
        SCHEDULER,
        r"Failed to schedule model as no matching server had enough suitable replicas, "
        r"managed to schedule with min replicas",
        "the scheduler placed only the Model's minReplicas",
        ("SD103", "SD104"),
    ),
    LogPattern(
        "scheduler-schedule-failed",
        SCHEDULER,
        # 2.7+: "Failed to schedule model as ..." (Warn from 2.10.0, Debug before); the
        # LoadModel path: "Failed to schedule model <name>"; <= 2.6: "failed to schedule
        # model <name>. [failed server filter ...]".
        r"[Ff]ailed to schedule model (?:as no matching (?P<why>servers are available|server "
        r"had enough suitable replicas)|(?!as\b)'?(?P<model>[^\s.'\"]+))",
        "the scheduler could not place a model",
        ("SD101", "SD102", "SD103", "SD104", "SD105", "SD201"),
    ),
    LogPattern(
        "scheduler-rejecting-server",
        SCHEDULER,
        r"Rejecting server (?:replica )?for model",
        "a scheduler filter rejected a server for a model (Debug level)",
        ("SD101", "SD102", "SD103", "SD104", "SD201"),
    ),
    # ---------------------------------------------------------------- controller (C15, C22, C24)
    LogPattern(
        "controller-rbac-denied",
        CONTROLLER,
        r"PermissionDenied desc = RBAC: access denied",
        "a mesh authorization policy (Istio RBAC filter) rejected the controller's scheduler "
        "stream; not Kubernetes RBAC",
        ("SD509",),
    ),
    LogPattern(
        "controller-watch-scope",
        CONTROLLER,
        r"Clusterwide mode enabled, watching (?:all )?namespaces|Watching namespace",
        "the watch scope the controller-manager started with",
        ("SD506", "SD507"),
    ),
    LogPattern(
        "controller-reconciler-error",
        CONTROLLER,
        r"Reconciler error",
        "a reconcile failed (seen when two controllers manage one namespace)",
        ("SD506",),
    ),
    LogPattern(
        "controller-start-experiment-failed",
        CONTROLLER,
        r"StartExperiment failed, retrying",
        "the scheduler refused the Experiment",
        ("SD401",),
    ),
    # ---------------------------------------------------------------- envoy (C20)
    LogPattern(
        "envoy-listener-rejected",
        ENVOY,
        r"rejected: Error adding/updating listener\(s\) (?P<listener>[^\s:]+)",
        "Envoy rejected the listeners the scheduler's xDS sent",
        ("SD605",),
    ),
)
PATTERNS_BY_ID: dict[str, LogPattern] = {p.id: p for p in LOG_PATTERNS}

# Which check each scheduler filter name (``filter=`` on "Rejecting server ...") explains (§b).
FILTER_CHECKS: dict[str, tuple[str, ...]] = {
    "ServerReplicaFilter": ("SD201",),
    "SharingServerFilter": ("SD101",),
    "DeletedServerFilter": ("SD201",),
    "ServerRequirementsFilter": ("SD102",),
    "RequirementsReplicaFilter": ("SD102",),
    "AvailableMemoryReplicaFilter": ("SD104",),
    "ExplainerFilter": ("SD102",),
    "ReplicaDrainingFilter": ("SD103",),
}
WHY_CHECKS: dict[str, tuple[str, ...]] = {
    "servers are available": ("SD101", "SD102", "SD105", "SD201"),
    "server had enough suitable replicas": ("SD103", "SD104", "SD102", "SD105"),
}
# logrus fields worth keeping on a match (the line itself is kept too).
KEPT_FIELDS = ("model", "server", "filter", "reason", "error", "listener", "host", "port")
SUBJECT_FIELDS = ("model", "server")

_LOGRUS_FIELD = re.compile(r"(?:^|\s)([A-Za-z_][\w.-]*)=(\"(?:[^\"\\]|\\.)*\"|\S*)")


@dataclass(frozen=True, slots=True)
class LogTarget:
    """One container to tail."""

    namespace: str
    pod: str
    container: str
    component: str

    @property
    def key(self) -> str:
        """The ``Snapshot.logs`` key: ``<namespace>/<pod>/<container>``."""
        return log_key(self.namespace, self.pod, self.container)


@dataclass(frozen=True, slots=True)
class LogMatch:
    """One log line that matched a pattern, scrubbed of credentials."""

    pattern: str
    namespace: str
    pod: str
    container: str
    line: int  # 1-based, within the container's captured lines
    text: str  # scrubbed, truncated to MAX_LINE characters
    fields: tuple[tuple[str, str], ...] = ()
    checks: tuple[str, ...] = ()  # the checks this line is evidence for

    @property
    def key(self) -> str:
        return log_key(self.namespace, self.pod, self.container)

    @property
    def subject(self) -> str:
        """``log <namespace>/<pod>/<container>:<line>``, as evidence names it."""
        return f"log {self.key}:{self.line}"

    def field(self, name: str) -> str | None:
        return dict(self.fields).get(name)

    def names(self) -> set[str]:
        """The resource names the line mentions (model, server)."""
        return {v for k, v in self.fields if k in SUBJECT_FIELDS and v}

    def about(self, subjects: set[str]) -> bool:
        """Whether the line concerns one of ``subjects`` (resource names).

        A line naming a model or server must name one of them; an agent's line naming none is
        about its own Server (pod ``<server>-<idx>``, or ``<server>-<hash>-<id>`` in Deployment
        mode); any other line naming nothing (``Received control-plane subscribe request``)
        is kept.
        """
        names = self.names()
        if names:
            return bool(names & subjects)
        if self.container == CONTAINERS[AGENT]:
            return any(self.pod.startswith(f"{s}-") for s in subjects)
        return True


def log_key(namespace: str, pod: str, container: str) -> str:
    return f"{namespace}/{pod}/{container}"


def split_key(key: str) -> tuple[str, str, str]:
    """(namespace, pod, container) of a ``Snapshot.logs`` key; missing parts are empty."""
    parts = key.split("/", 2)
    while len(parts) < 3:
        parts.insert(0, "")
    return parts[0], parts[1], parts[2]


# ------------------------------------------------------------------ targets


def _containers(pod: KubeObject) -> list[str]:
    items = pod.spec.get("containers")
    if not isinstance(items, list):
        return []
    return [str(c.get("name")) for c in items if isinstance(c, dict) and c.get("name")]


def _controller_selectors(snapshot: Snapshot) -> list[tuple[str, dict[str, str]]]:
    """(namespace, matchLabels) of every controller-manager Deployment in the snapshot."""
    out: list[tuple[str, dict[str, str]]] = []
    for deployment in snapshot.of_kind("Deployment"):
        if controller_scope(deployment) is None:
            continue
        selector = deployment.spec.get("selector")
        labels = selector.get("matchLabels") if isinstance(selector, dict) else None
        if isinstance(labels, dict) and labels:
            out.append((deployment.namespace, {str(k): str(v) for k, v in labels.items()}))
    return out


def _component(pod: KubeObject, controllers: list[tuple[str, dict[str, str]]]) -> str | None:
    labels = pod.labels
    name = labels.get(NAME_LABEL)
    if name == "seldon-scheduler":
        return SCHEDULER
    if name == "seldon-envoy":
        return ENVOY
    if labels.get(SERVER_LABEL):
        return AGENT
    if labels.get(CONTROLLER_LABEL[0]) == CONTROLLER_LABEL[1]:
        return CONTROLLER
    for namespace, selector in controllers:
        if namespace == pod.namespace and all(labels.get(k) == v for k, v in selector.items()):
            return CONTROLLER
    return None


def _container_for(pod: KubeObject, component: str) -> str | None:
    names = _containers(pod)
    wanted = CONTAINERS[component]
    if wanted in names:
        return wanted
    if component == CONTROLLER:
        for item in pod.spec.get("containers") or []:
            if isinstance(item, dict) and "seldonv2-controller" in str(item.get("image") or ""):
                return str(item.get("name"))
    if component in (SCHEDULER, ENVOY) and len(names) == 1:
        return names[0]
    return None


def log_targets(snapshot: Snapshot) -> list[LogTarget]:
    """The containers ``scan --logs`` tails, from the Pods in the snapshot.

    Scheduler pods (``app.kubernetes.io/name=seldon-scheduler``, container ``scheduler``),
    Envoy pods (``seldon-envoy``, container ``envoy``), Server pods (``seldon-server-name``,
    container ``agent``) and controller-manager pods (label ``control-plane:
    v2-controller-manager``, or the selector of a controller-manager Deployment; container
    ``manager``). Pending pods have no logs and are left out.
    """
    controllers = _controller_selectors(snapshot)
    out: set[LogTarget] = set()
    for pod in snapshot.of_kind("Pod"):
        if pod.status.get("phase") == "Pending":
            continue
        component = _component(pod, controllers)
        if component is None:
            continue
        container = _container_for(pod, component)
        if container is not None:
            out.add(LogTarget(pod.namespace, pod.name, container, component))
    return sorted(out, key=lambda t: (t.namespace, t.pod, t.container))


# ------------------------------------------------------------------ matching


# Compiled on first use: every command imports this module (through the graph), few read logs,
# and compiling the ~20 patterns cost 20-40 ms of each start-up.
@cache
def _combined(component: str | None) -> re.Pattern[str]:
    patterns = [p for p in LOG_PATTERNS if component is None or p.component == component]
    # Inner groups are unnamed here (named ones could repeat across patterns); the outer group
    # names the pattern, and the pattern's own regex is re-run on the (rare) matching line.
    parts = [
        f"(?P<p{LOG_PATTERNS.index(p)}>{re.sub(r'[(][?]P<[a-z]+>', '(?:', p.regex)})"
        for p in patterns
    ]
    return re.compile("|".join(parts))


@cache
def _compiled(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


def scrub(line: str) -> str:
    """A log line with credentials masked: :func:`seldon_doctor.redact.redact_text`, the one
    redactor (so log evidence, bundles and every other output follow the same rules)."""
    return redact_text(line)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def _fields(pattern: LogPattern, line: str) -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    for key, value in _LOGRUS_FIELD.findall(line):
        if key in KEPT_FIELDS and key not in found:
            found[key] = _unquote(value)
    match = _compiled(pattern.regex).search(line)
    if match is not None:
        found.update({k: v for k, v in match.groupdict().items() if v is not None})
    return tuple((k, scrub(v)[:MAX_LINE]) for k, v in sorted(found.items()))


def _checks(pattern: LogPattern, fields: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    values = dict(fields)
    narrowed = FILTER_CHECKS.get(values.get("filter", "")) or WHY_CHECKS.get(values.get("why", ""))
    return tuple(c for c in pattern.supports if c in narrowed) if narrowed else pattern.supports


def match_logs(logs: Mapping[str, Sequence[str]]) -> list[LogMatch]:
    """Every line of ``logs`` (keyed ``<namespace>/<pod>/<container>``) that a pattern matches.

    One combined regular-expression search per line, restricted to the patterns of the
    container's component (``scheduler``, ``agent``, ``manager``, ``envoy``; any other
    container is searched with all patterns). Sorted by key, then line number.
    """
    out: list[LogMatch] = []
    for key in sorted(logs):
        namespace, pod, container = split_key(key)
        combined = _combined(_COMPONENT_OF_CONTAINER.get(container))
        for number, raw in enumerate(logs[key], start=1):
            match = combined.search(raw)
            if match is None or match.lastgroup is None:
                continue
            pattern = LOG_PATTERNS[int(match.lastgroup[1:])]
            line = raw.rstrip("\r\n")
            fields = _fields(pattern, line)
            text = scrub(line)
            if len(text) > MAX_LINE:
                text = text[: MAX_LINE - 1] + "…"
            out.append(
                LogMatch(
                    pattern.id,
                    namespace,
                    pod,
                    container,
                    number,
                    text,
                    fields,
                    _checks(pattern, fields),
                )
            )
    return out


def select(
    matches: Iterable[LogMatch],
    check_id: str,
    namespaces: Iterable[str] | None = None,
    subjects: Iterable[str] | None = None,
) -> list[LogMatch]:
    """The matches that are evidence for ``check_id``, from pods in ``namespaces``.

    With ``subjects`` (resource names), a line that names a model or server must name one of
    them; lines that name no resource (``Scheduler not ready``) are kept.
    """
    wanted_ns = None if namespaces is None else set(namespaces)
    wanted = None if subjects is None else set(subjects)
    return [
        match
        for match in matches
        if check_id in match.checks
        and (wanted_ns is None or match.namespace in wanted_ns)
        and (wanted is None or match.about(wanted))
    ]


def evidence(matches: Sequence[LogMatch], limit: int = 3) -> list[Evidence]:
    """Evidence for a finding: per container and pattern its latest line, at most ``limit``
    of these (the last ones in key order), and how many more matching lines there were.

    Subject ``log <namespace>/<pod>/<container>:<line>``, field the pattern id, value the
    scrubbed line, note what it means.
    """
    groups: dict[tuple[str, str], list[LogMatch]] = {}
    for match in matches:
        groups.setdefault((match.key, match.pattern), []).append(match)
    latest = sorted(groups.values(), key=lambda g: (g[-1].key, g[-1].line))
    shown = latest[-limit:] if limit > 0 else []
    out = []
    for group in shown:
        last = group[-1]
        note = PATTERNS_BY_ID[last.pattern].meaning
        if len(group) > 1:
            note += f"; {len(group)} such lines in this container"
        out.append(Evidence(last.subject, last.pattern, last.text, note))
    hidden = sum(len(g) for g in latest[: len(latest) - len(shown)])
    if hidden:
        out.append(Evidence("log", None, None, f"and {hidden} more matching log lines"))
    return out


def attach(finding: Finding, log_evidence: Sequence[Evidence]) -> Finding:
    """``finding`` with log evidence appended; the same object when there is none."""
    if not log_evidence:
        return finding
    return replace(finding, evidence=(*finding.evidence, *log_evidence))
