"""graph/shape.py: schema_guarantees, the promise that lets a live scan skip the shape walk of
custom resources whose CRD schema already rules out every wrong container.

The promise must never be made wrongly: if it holds for a schema, every object valid under that
schema (which is all an API server will serve) must come out of ``conform`` untouched.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seldon_doctor.domain.schema import Validator
from seldon_doctor.graph import shape
from seldon_doctor.graph.shape import SHAPES, conform, schema_guarantees
from seldon_doctor.snapshot import KubeObject
from seldon_doctor.sources.files import load_paths
from tests.conftest import shared_data

CUSTOM_KINDS = ("Model", "Server", "ServerConfig", "Experiment", "Pipeline", "SeldonRuntime")


def schema_of(node: Any) -> dict[str, Any]:
    """A structural schema typed exactly as the shape ``node`` expects."""
    if isinstance(node, dict):
        return {"type": "object", "properties": {k: schema_of(v) for k, v in node.items()}}
    if isinstance(node, list):
        return {"type": "array", "items": schema_of(node[0])}
    if node in (shape.SCALAR, shape.STR):
        return {"type": "string"}
    if node == shape.STR_MAP:
        return {"type": "object", "additionalProperties": {"type": "string"}}
    if node == shape.MAP:
        return {"type": "object", "additionalProperties": {"type": "string"}}
    assert node == shape.LIST
    return {"type": "array", "items": {"type": "string"}}


def crd_schema(kind: str) -> dict[str, Any]:
    root = dict(SHAPES[kind])
    root["metadata"] = {}  # ObjectMeta: typed by the server, never walked
    schema = schema_of(root)
    schema["properties"]["metadata"] = {"type": "object"}
    schema["properties"]["apiVersion"] = {"type": "string"}
    schema["properties"]["kind"] = {"type": "string"}
    return schema


def at(schema: dict[str, Any], *path: str) -> dict[str, Any]:
    node = schema
    for key in path:
        node = node["items"] if key == "[]" else node["properties"][key]
    return node


@pytest.mark.parametrize("kind", CUSTOM_KINDS)
def test_a_schema_typed_as_the_shape_guarantees_it(kind: str) -> None:
    assert schema_guarantees(kind, crd_schema(kind))


def test_the_upstream_crds_guarantee_the_shapes_the_graph_walks() -> None:
    folder = shared_data("seldon", "crds")
    seen = set()
    for crd in load_paths([str(folder)]).objects:
        kind = crd.spec["names"]["kind"]
        for version in crd.spec["versions"]:
            assert schema_guarantees(kind, version["schema"]["openAPIV3Schema"]), kind
            seen.add(kind)
    assert {"Model", "Server", "Experiment", "Pipeline", "SeldonRuntime"} <= seen


def _preserve(node: dict[str, Any]) -> None:
    node["x-kubernetes-preserve-unknown-fields"] = True


HOLES = {
    # Anything may come back under spec: the walk must run.
    "spec preserves unknown fields": ("Model", ("spec",), _preserve),
    "a list typed as an object": (
        "Model",
        ("spec", "requirements"),
        lambda n: n.update(type="object"),
    ),
    "a container typed as a scalar": (
        "Model",
        ("spec", "dataflow"),
        lambda n: n.update(type="string"),
    ),
    "a scalar typed as an object": ("Model", ("spec", "server"), lambda n: n.update(type="object")),
    "a list without items": ("Server", ("spec", "capabilities"), lambda n: n.pop("items")),
    "nullable items where a mapping is expected": (
        "Experiment",
        ("spec", "candidates", "[]"),
        lambda n: n.update(nullable=True),
    ),
    "a string map open to anything": (
        "Pipeline",
        ("spec", "input", "tensorMap"),
        lambda n: n.update(additionalProperties=True),
    ),
    "a string map holding mappings": (
        "Pipeline",
        ("spec", "input", "tensorMap"),
        lambda n: n.update(additionalProperties={"type": "object"}),
    ),
    "nullable values in a string map": (
        "Server",
        ("spec", "podSpec", "nodeSelector"),
        lambda n: n["additionalProperties"].update(nullable=True),
    ),
    "nullable items in a list of strings": (
        "Server",
        ("spec", "podSpec", "containers", "[]", "args", "[]"),
        lambda n: n.update(nullable=True),
    ),
    "an untyped node": ("Server", ("spec", "podSpec", "containers"), lambda n: n.pop("type")),
}


@pytest.mark.parametrize("hole", sorted(HOLES))
def test_every_hole_in_the_schema_keeps_the_walk(hole: str) -> None:
    kind, path, change = HOLES[hole]
    schema = crd_schema(kind)
    change(at(schema, *path))
    assert not schema_guarantees(kind, schema)


def test_what_the_server_prunes_or_types_as_a_scalar_keeps_the_promise() -> None:
    schema = crd_schema("Model")
    del at(schema, "spec")["properties"]["dataflow"]  # pruned: never comes back
    at(schema, "spec", "replicas").clear()
    at(schema, "spec", "replicas")["x-kubernetes-int-or-string"] = True
    at(schema, "spec", "requirements", "[]")["nullable"] = True  # a null scalar is no container
    assert schema_guarantees("Model", schema)


def test_no_schema_or_an_unknown_kind_promises_nothing() -> None:
    assert not schema_guarantees("Model", None)
    assert not schema_guarantees(
        "Model", {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    )
    assert not schema_guarantees("Widget", crd_schema("Model"))


# ----------------------------------------------------------------------------- the property


ANY_JSON: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=2),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=2), inner, max_size=2)
    ),
    max_leaves=4,
)
Memo = dict[tuple[int, int], tuple[dict[str, Any], st.SearchStrategy[Any]]]
_STRATEGIES: Memo = {}


def _valid(
    schema: dict[str, Any], depth: int = 0, memo: Memo | None = None
) -> st.SearchStrategy[Any]:
    """Values an API server accepts under ``schema`` (types, items, properties, nulls where
    nullable, anything under preserve-unknown-fields or an untyped node)."""
    memo = _STRATEGIES if memo is None else memo
    key = (id(schema), depth)
    if key not in memo:  # the schema is kept with its strategy, so its id stays its own
        memo[key] = (schema, _build_valid(schema, depth, memo))
    return memo[key][1]


def _build_valid(schema: dict[str, Any], depth: int, memo: Memo) -> st.SearchStrategy[Any]:
    if schema.get("x-kubernetes-int-or-string"):
        return st.one_of(st.integers(-5, 5), st.text(max_size=3))
    kind = schema.get("type")
    open_ended = schema.get("x-kubernetes-preserve-unknown-fields") is True
    base: st.SearchStrategy[Any]
    if kind == "object":
        declared = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        if depth > 6:
            base = st.just({})
        else:
            names = sorted(declared)
            optional = {name: _valid(declared[name], depth + 1, memo) for name in names}
            base = st.fixed_dictionaries({}, optional=optional)
            others: st.SearchStrategy[Any] | None = None
            if isinstance(extra, dict):
                others = _valid(extra, depth + 1, memo)
            elif extra is True or open_ended:
                others = ANY_JSON
            if others is not None:
                base = st.tuples(
                    base, st.dictionaries(st.text(min_size=1, max_size=3), others, max_size=2)
                ).map(lambda pair: {**pair[1], **pair[0]})
    elif kind == "array":
        items = schema.get("items")
        inner = _valid(items, depth + 1, memo) if isinstance(items, dict) else ANY_JSON
        base = st.lists(inner, max_size=2)
    elif kind == "integer":
        base = st.integers(-5, 5)
    elif kind == "number":
        base = st.floats(allow_nan=False, allow_infinity=False, width=16)
    elif kind == "boolean":
        base = st.booleans()
    elif kind == "string":
        base = st.text(max_size=3)
    else:  # untyped: the server checks nothing
        base = ANY_JSON
    return st.one_of(st.none(), base) if schema.get("nullable") else base


def _assert_untouched(kind: str, body: dict[str, Any]) -> None:
    obj = KubeObject(
        {
            "apiVersion": "mlops.seldon.io/v1alpha1",
            "kind": kind,
            **body,
            "metadata": {"name": "x", "namespace": "n"},
        }
    )
    fixed, notes = conform(obj)
    assert fixed is obj and notes == [], notes


def _spec_and_status(schema: dict[str, Any]) -> dict[str, Any]:
    """The part of an object's schema the walk visits (metadata is the server's own)."""
    kept = {k: v for k, v in schema["properties"].items() if k in ("spec", "status")}
    return {"type": "object", "properties": kept}


@functools.cache
def _synthetic(kind: str) -> tuple[dict[str, Any], st.SearchStrategy[Any]]:
    schema = crd_schema(kind)
    return schema, _valid(_spec_and_status(schema))


@functools.cache
def _upstream(kind: str) -> st.SearchStrategy[Any]:
    for crd in load_paths([str(shared_data("seldon", "crds"))]).objects:
        if crd.spec["names"]["kind"] == kind:
            return _valid(_spec_and_status(crd.spec["versions"][0]["schema"]["openAPIV3Schema"]))
    raise AssertionError(f"no upstream CRD for {kind}")


@pytest.mark.parametrize("kind", CUSTOM_KINDS)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_objects_valid_under_a_guaranteeing_schema_are_never_fixed(
    kind: str, data: st.DataObject
) -> None:
    schema, valid = _synthetic(kind)
    body = data.draw(valid)
    assert Validator().validate(body, schema) == []
    _assert_untouched(kind, body)


@pytest.mark.parametrize("kind", ("Model", "Server", "Experiment", "Pipeline", "SeldonRuntime"))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_objects_valid_under_the_upstream_crds_are_never_fixed(
    kind: str, data: st.DataObject
) -> None:
    _assert_untouched(kind, data.draw(_upstream(kind)))


def _nodes(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Every schema node under spec and status, parents first."""
    out, stack = (
        [],
        [schema["properties"][k] for k in ("spec", "status") if k in schema["properties"]],
    )
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend((node.get("properties") or {}).values())
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                stack.append(node[key])
    return out


MUTATIONS = {
    "nullable": lambda n: n.update(nullable=True),
    "preserve": lambda n: n.update({"x-kubernetes-preserve-unknown-fields": True}),
    "int-or-string": lambda n: (
        n.pop("type", None),
        n.update({"x-kubernetes-int-or-string": True}),
    ),
    "object": lambda n: n.update(type="object"),
    "array": lambda n: n.update(type="array"),
    "string": lambda n: n.update(type="string"),
    "untyped": lambda n: n.pop("type", None),
    "open map": lambda n: n.update(additionalProperties=True),
    "pruned": lambda n: n.pop("properties", None),
}


@pytest.mark.parametrize("kind", ("Model", "Experiment", "Pipeline", "Server"))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_promise_made_for_a_changed_schema_holds_for_every_object_it_admits(
    kind: str, data: st.DataObject
) -> None:
    """Random edits of a schema: whenever schema_guarantees still promises, no object the
    edited schema admits is ever fixed (the promise may be withheld, never wrongly given)."""
    schema = crd_schema(kind)
    nodes = _nodes(schema)
    for _ in range(data.draw(st.integers(1, 3))):
        node = data.draw(st.sampled_from(nodes))
        MUTATIONS[data.draw(st.sampled_from(sorted(MUTATIONS)))](node)
    if not schema_guarantees(kind, schema):
        return
    memo: Memo = {}
    for _ in range(3):
        _assert_untouched(kind, data.draw(_valid(_spec_and_status(schema), memo=memo)))
