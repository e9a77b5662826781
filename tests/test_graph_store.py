"""graph/store.py's MultiDiGraph behaves as networkx's on every operation the graph uses."""

from __future__ import annotations

from typing import Any

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from seldon_doctor.graph.store import MultiDiGraph

_IDS = st.sampled_from(["a", "b", "c", "d"])
_ATTRS = st.dictionaries(st.sampled_from(["kind", "type", "w"]), st.integers(0, 3), max_size=2)
_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("node"), _IDS, _ATTRS),
        st.tuples(st.just("edge"), st.tuples(_IDS, _IDS, st.sampled_from(["x", "y"])), _ATTRS),
    ),
    max_size=25,
)


@settings(max_examples=200, deadline=None)
@given(_OPS)
def test_same_nodes_edges_and_order_as_networkx(ops: list[tuple[str, Any, dict[str, int]]]) -> None:
    ours, theirs = MultiDiGraph(), nx.MultiDiGraph()
    for op, arg, attrs in ops:
        if op == "node":
            ours.add_node(arg, **attrs)
            theirs.add_node(arg, **attrs)
        else:
            src, dst, key = arg
            ours.add_edge(src, dst, key=key, **attrs)
            theirs.add_edge(src, dst, key=key, **attrs)
    assert list(ours.nodes) == list(theirs.nodes)
    assert list(ours.nodes(data=True)) == list(theirs.nodes(data=True))
    assert list(ours.edges(data=True)) == list(theirs.edges(data=True))
    assert list(ours.edges(keys=True)) == list(theirs.edges(keys=True))
    assert list(ours.edges(data=True, keys=True)) == list(theirs.edges(data=True, keys=True))
    assert ours.number_of_edges() == theirs.number_of_edges()
    for node in "abcde":
        assert (node in ours) == (node in theirs)
        if node in theirs:
            assert ours.nodes[node] == theirs.nodes[node]
            assert list(ours.out_edges(node, data=True)) == list(theirs.out_edges(node, data=True))
        for other in "abcde":
            assert ours.has_edge(node, other) == theirs.has_edge(node, other)
