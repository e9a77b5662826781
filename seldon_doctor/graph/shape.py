"""Shapes checked once at the graph's door, so no check sees a wrong type.

Input is YAML/JSON from anywhere: ``candidates: 5``, ``subsets: [{addresses: 3}]`` or
``args: [{a: 1}]`` crashed graph build (exit 4) or made checks raise (SD001, losing their other
findings). :func:`conform` walks each object against :data:`SHAPES`, the containers the graph
and the checks read, and returns a copy where every value of the wrong *container* shape is
replaced by a safe default, with one input note per fix (shown as a report warning):

* a field that must be a mapping or a list but is something else is dropped (absent: the
  readers' default, ``{}``/``[]``);
* a list element of the wrong shape is dropped;
* a scalar field holding a mapping or list is dropped;
* strings that must be strings (container ``args``/``command``, env names and values, label
  and selector values) are kept when they are strings; in built-in kinds (which SD003 does not
  validate) numbers and booleans become their YAML text; anything else is dropped.

Scalar types are otherwise left alone (``weight: "50"`` stays for SD003 to report against the
CRD schema). The object in the snapshot is never changed: a copy is made only when a fix is
needed, so bundles and reports show the input as it was.

The typed readers :func:`mapping`, :func:`seq` and :func:`str_list` answer a safe default for
code that reads a path not covered here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from seldon_doctor.snapshot import KubeObject

# Shape markers: a dict is a mapping with those fields (others unchecked), a one-item list is a
# list of that shape; MAP/LIST any mapping/list; SCALAR not a container; STR a string;
# STR_MAP a mapping of strings.
MAP = "map"
LIST = "list"
SCALAR = "scalar"
STR = "str"
STR_MAP = "str-map"

# Notes kept per object (a hostile object could hold millions of wrong values).
MAX_NOTES_PER_OBJECT = 20

_META: dict[str, Any] = {
    "name": SCALAR,
    "namespace": SCALAR,
    "labels": STR_MAP,
    "annotations": STR_MAP,
    "ownerReferences": [{"kind": SCALAR, "name": SCALAR, "apiVersion": SCALAR, "uid": SCALAR}],
}
_SELECTOR: dict[str, Any] = {
    "matchLabels": STR_MAP,
    "matchExpressions": [{"key": SCALAR, "operator": SCALAR, "values": [STR]}],
}
_CONDITIONS: list[Any] = [{"type": SCALAR, "status": SCALAR, "reason": SCALAR, "message": SCALAR}]
_PORT: dict[str, Any] = {
    "name": SCALAR,
    "port": SCALAR,
    "containerPort": SCALAR,
    "targetPort": SCALAR,
    "protocol": SCALAR,
    "endPort": SCALAR,
}
_CONTAINER: dict[str, Any] = {
    "name": SCALAR,
    "image": SCALAR,
    "args": [STR],
    "command": [STR],
    "env": [{"name": STR, "value": STR, "valueFrom": MAP}],
    "envFrom": [MAP],
    "ports": [_PORT],
    "resources": {"limits": MAP, "requests": MAP},
    "volumeMounts": [MAP],
    "readinessProbe": MAP,
    "livenessProbe": MAP,
    "startupProbe": MAP,
    "securityContext": MAP,
}
_POD_SPEC: dict[str, Any] = {
    "containers": [_CONTAINER],
    "initContainers": [_CONTAINER],
    "volumes": [MAP],
    "serviceAccountName": SCALAR,
    "nodeSelector": STR_MAP,
    "tolerations": [MAP],
    "affinity": MAP,
    "imagePullSecrets": [MAP],
    "nodeName": SCALAR,
}
_TEMPLATE: dict[str, Any] = {"metadata": _META, "spec": _POD_SPEC}
_WORKLOAD: dict[str, Any] = {
    "spec": {
        "replicas": SCALAR,
        "selector": _SELECTOR,
        "template": _TEMPLATE,
        "serviceName": SCALAR,
        "volumeClaimTemplates": [MAP],
    },
    "status": {"conditions": _CONDITIONS, "replicas": SCALAR, "readyReplicas": SCALAR},
}
_ADDRESS: dict[str, Any] = {
    "ip": SCALAR,
    "hostname": SCALAR,
    "targetRef": {"kind": SCALAR, "name": SCALAR, "namespace": SCALAR},
}
_PEER: dict[str, Any] = {
    "podSelector": _SELECTOR,
    "namespaceSelector": _SELECTOR,
    "ipBlock": {"cidr": SCALAR, "except": [SCALAR]},
}
_RULE_PORTS: list[Any] = [_PORT]

SHAPES: dict[str, dict[str, Any]] = {
    "Deployment": _WORKLOAD,
    "StatefulSet": _WORKLOAD,
    "DaemonSet": _WORKLOAD,
    "ReplicaSet": _WORKLOAD,
    "Pod": {
        "spec": _POD_SPEC,
        "status": {
            "conditions": _CONDITIONS,
            "containerStatuses": [
                {
                    "name": SCALAR,
                    "ready": SCALAR,
                    "restartCount": SCALAR,
                    "state": MAP,
                    "lastState": MAP,
                    "image": SCALAR,
                }
            ],
            "initContainerStatuses": [MAP],
            "phase": SCALAR,
            "podIP": SCALAR,
        },
    },
    "Service": {
        "spec": {
            "selector": STR_MAP,
            "ports": [_PORT],
            "type": SCALAR,
            "clusterIP": SCALAR,
            "externalName": SCALAR,
        }
    },
    "Endpoints": {
        "subsets": [{"addresses": [_ADDRESS], "notReadyAddresses": [_ADDRESS], "ports": [_PORT]}]
    },
    "EndpointSlice": {
        "endpoints": [
            {
                "addresses": [SCALAR],
                "conditions": {"ready": SCALAR, "serving": SCALAR},
                "targetRef": {"kind": SCALAR, "name": SCALAR, "namespace": SCALAR},
            }
        ],
        "ports": [_PORT],
    },
    "NetworkPolicy": {
        "spec": {
            "podSelector": _SELECTOR,
            "policyTypes": [SCALAR],
            "ingress": [{"from": [_PEER], "ports": _RULE_PORTS}],
            "egress": [{"to": [_PEER], "ports": _RULE_PORTS}],
        }
    },
    "ConfigMap": {"data": MAP},
    "Model": {
        "spec": {
            "storageUri": SCALAR,
            "requirements": [SCALAR],
            "server": SCALAR,
            "replicas": SCALAR,
            "minReplicas": SCALAR,
            "maxReplicas": SCALAR,
            "memory": SCALAR,
            "dataflow": MAP,
            "explainer": MAP,
            "parameters": [MAP],
            "llm": MAP,
        },
        "status": {"conditions": _CONDITIONS, "replicas": SCALAR, "availableReplicas": SCALAR},
    },
    "Server": {
        "spec": {
            "serverConfig": SCALAR,
            "replicas": SCALAR,
            "minReplicas": SCALAR,
            "maxReplicas": SCALAR,
            "capabilities": [SCALAR],
            "extraCapabilities": [SCALAR],
            "podSpec": _POD_SPEC,
        },
        "status": {"conditions": _CONDITIONS, "loadedModels": SCALAR, "replicas": SCALAR},
    },
    "ServerConfig": {"spec": {"podSpec": _POD_SPEC, "volumeClaimTemplates": [MAP]}},
    "Experiment": {
        "spec": {
            "default": SCALAR,
            "resourceType": SCALAR,
            "candidates": [{"name": SCALAR, "weight": SCALAR}],
            "mirror": {"name": SCALAR, "percent": SCALAR},
        },
        "status": {"conditions": _CONDITIONS},
    },
    "Pipeline": {
        "spec": {
            "steps": [
                {
                    "name": SCALAR,
                    "inputs": [SCALAR],
                    "triggers": [SCALAR],
                    "tensorMap": STR_MAP,
                    "joinType": SCALAR,
                    "inputsJoinType": SCALAR,
                    "triggersJoinType": SCALAR,
                    "batch": MAP,
                }
            ],
            "output": {"steps": [SCALAR], "stepsJoin": SCALAR, "tensorMap": STR_MAP},
            "input": {
                "externalInputs": [SCALAR],
                "externalTriggers": [SCALAR],
                "tensorMap": STR_MAP,
            },
        },
        "status": {"conditions": _CONDITIONS},
    },
    "SeldonRuntime": {
        "spec": {
            "seldonConfig": SCALAR,
            "overrides": [
                {
                    "name": SCALAR,
                    "replicas": SCALAR,
                    "disable": SCALAR,
                    "serviceType": SCALAR,
                    "podSpec": _POD_SPEC,
                }
            ],
            "config": MAP,
        },
        "status": {"conditions": _CONDITIONS},
    },
    "SeldonConfig": {
        "spec": {
            "components": [
                {
                    "name": SCALAR,
                    "replicas": SCALAR,
                    "podSpec": _POD_SPEC,
                    "volumeClaimTemplates": [MAP],
                }
            ],
            "config": MAP,
        }
    },
}
_COMMON: dict[str, Any] = {"metadata": _META}
# The full shape of each kind, merged once (conform runs once per object of a scan).
_FULL: dict[str, dict[str, Any]] = {kind: {**_COMMON, **shape} for kind, shape in SHAPES.items()}


def conform(obj: KubeObject) -> tuple[KubeObject, list[str]]:
    """``obj`` itself when its shape is right, else a fixed copy and what was fixed."""
    if obj.origin.typed:
        # Served typed by the API server (snapshot.Origin.typed): right by construction, and
        # walking them was a fifth of a 1,000-namespace live scan's graph and checks.
        return obj, []
    shape = _FULL.get(obj.kind, _COMMON)
    if _fits(obj.body, shape):
        return obj, []
    fixes: list[tuple[tuple[Any, ...], str, Any]] = []
    _find(obj.body, shape, (), fixes)
    if "." in obj.group:
        # Custom resources: SD003 judges scalar types against the CRD schema (an env value
        # 600 where the CRD says string is a finding), so only wrong containers are fixed.
        fixes = [fix for fix in fixes if fix[1] != "str"]
    if not fixes:
        return obj, []
    body = _unshared_copy(obj.body)
    # Deepest first, and list items from the end, so earlier fixes keep later paths valid.
    for path, action, value in sorted(fixes, key=_fix_order, reverse=True):
        _apply(body, path, action, value)
    who = f"{obj.kind} {obj.namespace + '/' if obj.namespace else ''}{obj.name}"
    notes = [f"{who}: {_format(p)} {_why(a, v)}" for p, a, v in fixes[:MAX_NOTES_PER_OBJECT]]
    if len(fixes) > MAX_NOTES_PER_OBJECT:
        notes.append(f"{who}: {len(fixes) - MAX_NOTES_PER_OBJECT} more wrong-typed fields")
    return KubeObject(body, obj.origin), notes


def _fix_order(fix: tuple[tuple[Any, ...], str, Any]) -> tuple[int, tuple[Any, ...]]:
    path = fix[0]
    return len(path), tuple((0, p) if isinstance(p, int) else (1, str(p)) for p in path)


def _why(action: str, value: Any) -> str:
    if action == "str":
        return f"is a {_type_name(value)}, read as the string {_yaml_text(value)[:40]!r}"
    expected = {"drop-map": "a mapping", "drop-list": "a list"}.get(action, "a single value")
    return f"is a {_type_name(value)}, expected {expected}; ignored"


def _type_name(value: Any) -> str:
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    if value is None:
        return "null"
    return type(value).__name__


def _fits(value: Any, shape: Any) -> bool:
    """Whether :func:`_find` would find nothing: the same walk without paths or fixes, so the
    common case (a well-formed object) allocates nothing. False sends the object to ``_find``."""
    if shape.__class__ is dict:
        if not isinstance(value, dict):
            return False
        # Objects hold a few of the many fields a shape names: walk the smaller side.
        if len(value) < len(shape):
            for key, item in value.items():
                sub = shape.get(key)
                if sub is None or item is None:
                    continue
                if sub is SCALAR:
                    if isinstance(item, dict | list):
                        return False
                elif not _fits(item, sub):
                    return False
            return True
        for key, sub in shape.items():
            item = value.get(key)
            if item is None:
                continue
            if sub is SCALAR:
                if isinstance(item, dict | list):
                    return False
            elif not _fits(item, sub):
                return False
        return True
    if shape.__class__ is list:
        if not isinstance(value, list):
            return False
        sub = shape[0]
        if sub is STR:
            return all(item.__class__ is str for item in value)
        for item in value:  # noqa: SIM110  (a loop: all() over a generator costs more here)
            if not _fits(item, sub):
                return False
        return True
    if shape is SCALAR:
        return not isinstance(value, dict | list)
    if shape is STR:
        return value.__class__ is str
    if shape is STR_MAP:
        return isinstance(value, dict) and all(v.__class__ is str for v in value.values())
    if shape is MAP:
        return isinstance(value, dict)
    if shape is LIST:
        return isinstance(value, list)
    return False  # an unknown marker: let _find decide


def _find(value: Any, shape: Any, path: tuple[Any, ...], fixes: list[Any]) -> None:
    if isinstance(shape, dict) or shape in (MAP, STR_MAP):
        if not isinstance(value, dict):
            fixes.append((path, "drop-map", value))
            return
        if shape == STR_MAP:
            for key, item in value.items():
                _find(item, STR, (*path, key), fixes)
        elif isinstance(shape, dict):
            for key, sub in shape.items():
                if key in value and value[key] is not None:
                    _find(value[key], sub, (*path, key), fixes)
        return
    if isinstance(shape, list) or shape == LIST:
        if not isinstance(value, list):
            fixes.append((path, "drop-list", value))
            return
        if isinstance(shape, list):
            for index, item in enumerate(value):
                _find(item, shape[0], (*path, index), fixes)
        return
    if shape == STR:
        if isinstance(value, str):
            return
        if isinstance(value, bool | int | float):
            fixes.append((path, "str", value))
        else:
            fixes.append((path, "drop-scalar", value))
        return
    if shape == SCALAR and isinstance(value, dict | list):
        fixes.append((path, "drop-scalar", value))


# ----------------------------------------------------------------------------- CRD schemas

# A schema node an API server does not validate: anything may come back under it.
_UNVALIDATED: dict[str, Any] = {"x-kubernetes-preserve-unknown-fields": True}
_SCALAR_TYPES = frozenset({"string", "integer", "number", "boolean"})


def schema_guarantees(kind: str, schema: Any) -> bool:
    """Whether every ``kind`` object an API server serves under ``schema`` (the
    ``openAPIV3Schema`` of the CRD version it was read at) already has the shape
    :data:`SHAPES` gives it, so :func:`conform` would find nothing to fix.

    Custom resources are validated against their CRD's structural schema on every create and
    update (status included), and the server prunes what the schema does not declare: where
    the schema gives each field the walk visits the container type the shape expects, a
    wrong container cannot come back. The answer is False (walk the objects) wherever that
    does not hold: no schema, ``x-kubernetes-preserve-unknown-fields``, a field typed
    otherwise than the shape expects, nullable list items where the shape wants a container.
    ``metadata`` is the API server's own ObjectMeta, typed for every resource.
    """
    shape = SHAPES.get(kind)
    if shape is None or not isinstance(schema, dict) or schema.get("type") != "object":
        return False
    return all(
        _schema_holds(sub, _field_schema(schema, key))
        for key, sub in shape.items()
        if key != "metadata"
    )


def _field_schema(node: dict[str, Any], key: str) -> Any:
    """The schema of field ``key`` of an object node; None when the server prunes the field."""
    if node.get("x-kubernetes-preserve-unknown-fields") is True:
        declared = node.get("properties")
        if isinstance(declared, dict) and key in declared:
            return declared[key]
        return _UNVALIDATED
    declared = node.get("properties")
    if isinstance(declared, dict) and key in declared:
        return declared[key]
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        return extra
    return _UNVALIDATED if extra is True else None


def _schema_holds(shape: Any, node: Any) -> bool:
    """Whether values valid under schema ``node`` always fit ``shape`` (see schema_guarantees)."""
    if node is None:  # pruned: the field never comes back
        return True
    if not isinstance(node, dict) or node.get("x-kubernetes-preserve-unknown-fields") is True:
        # Unvalidated content: only "some mapping" can still be promised, by its type.
        return shape is MAP and isinstance(node, dict) and node.get("type") == "object"
    kind = node.get("type")
    if shape is SCALAR or shape is STR:  # custom resources keep scalar types (SD003 judges)
        return kind in _SCALAR_TYPES or (
            kind is None and node.get("x-kubernetes-int-or-string") is True
        )
    if shape is MAP:
        return kind == "object"
    if shape is LIST:
        return kind == "array"
    if shape is STR_MAP:
        if kind != "object":
            return False
        declared = node.get("properties")
        values = [*(declared.values() if isinstance(declared, dict) else ())]
        extra = node.get("additionalProperties")
        if extra is True:
            return False
        if isinstance(extra, dict):
            values.append(extra)
        return all(_holds_inside(STR, value) for value in values)
    if isinstance(shape, dict):
        return kind == "object" and all(
            _schema_holds(sub, _field_schema(node, key)) for key, sub in shape.items()
        )
    if isinstance(shape, list):
        return kind == "array" and _holds_inside(shape[0], node.get("items"))
    return False


def _holds_inside(shape: Any, node: Any) -> bool:
    """``_schema_holds`` for a list item or a map value, where a null is not skipped as a
    field's is: the walk drops it unless any scalar fits there."""
    if not isinstance(node, dict):
        return False
    if node.get("nullable") is True and shape is not SCALAR:
        return False
    return _schema_holds(shape, node)


def _unshared_copy(value: Any) -> Any:
    """A copy where no container is shared (YAML aliases share them; ``deepcopy`` keeps that,
    and a fix of one path would change another). Iterative: nesting is bounded upstream, but
    the copy needs no recursion at all. Expansion is bounded by safeyaml's alias bound."""
    if not isinstance(value, dict | list):
        return value
    root: Any = {} if isinstance(value, dict) else []
    stack: list[tuple[Any, Any]] = [(value, root)]
    while stack:
        source, target = stack.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, child in items:
            if isinstance(child, dict | list):
                fresh: Any = {} if isinstance(child, dict) else []
                stack.append((child, fresh))
            else:
                fresh = child
            if isinstance(target, dict):
                target[key] = fresh
            else:
                target.append(fresh)
    return root


def _apply(body: Any, path: tuple[Any, ...], action: str, value: Any) -> None:
    try:
        parent = body
        for key in path[:-1]:
            parent = parent[key]
        last = path[-1]
        if action == "str":
            parent[last] = _yaml_text(value)
        else:
            del parent[last]
    except (LookupError, TypeError):  # already removed with an enclosing fix
        pass


def _yaml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and abs(value) >= 10**40:
        return "<large number>"
    return str(value)


def _format(path: Sequence[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(object)"


# ----------------------------------------------------------------------------- readers


def mapping(value: Any, *path: str | int) -> dict[str, Any]:
    """The mapping at ``path`` under ``value``, or ``{}`` when anything on the way is not."""
    found = _at(value, path)
    return found if isinstance(found, dict) else {}


def seq(value: Any, *path: str | int) -> list[Any]:
    """The list at ``path`` under ``value``, or ``[]``."""
    found = _at(value, path)
    return found if isinstance(found, list) else []


def str_list(value: Any, *path: str | int) -> list[str]:
    """The strings of the list at ``path`` (other items skipped), or ``[]``."""
    return [item for item in seq(value, *path) if isinstance(item, str)]


def _at(value: Any, path: Sequence[str | int]) -> Any:
    for key in path:
        if isinstance(key, int):
            if not isinstance(value, list) or not -len(value) <= key < len(value):
                return None
        elif not isinstance(value, dict):
            return None
        value = value[key] if isinstance(key, int) else value.get(key)
    return value
