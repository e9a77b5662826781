"""The deployment graph's node and edge store: the part of networkx's ``MultiDiGraph`` it uses.

networkx was imported only to hold nodes and keyed edges with attributes (no algorithm ran on
them), and importing it cost 0.2-0.3 s: more than a CI gate's whole small scan is allowed
(issue 17). The semantics kept are networkx's: nodes and edges iterate in insertion order
(successors by first edge, keys in insertion order), ``add_node`` merges attributes into an
existing node, ``add_edge`` adds missing endpoints without attributes and updates the
attributes of an existing ``(source, target, key)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Attrs = dict[str, Any]


class _NodeView:
    """``g.nodes``: iterate ids, ``g.nodes[id]`` for attributes, ``g.nodes(data=True)``."""

    def __init__(self, nodes: dict[str, Attrs]) -> None:
        self._nodes = nodes

    def __iter__(self) -> Iterator[str]:
        return iter(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, node: object) -> bool:
        return node in self._nodes

    def __getitem__(self, node: str) -> Attrs:
        return self._nodes[node]

    def __call__(self, data: bool = False) -> Iterator[Any]:
        if data:
            return iter(self._nodes.items())
        return iter(self._nodes)


class MultiDiGraph:
    """Directed multigraph of string node ids; edges keyed per (source, target)."""

    def __init__(self) -> None:
        self._nodes: dict[str, Attrs] = {}
        # Successors of the nodes that have out-edges only: most nodes (Pods, Endpoints) have
        # none, and an empty dict for each cost more than the lookups that skip them.
        self._succ: dict[str, dict[str, dict[str, Attrs]]] = {}

    @property
    def nodes(self) -> _NodeView:
        return _NodeView(self._nodes)

    def __contains__(self, node: object) -> bool:
        return node in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def add_node(self, node: str, **attrs: Any) -> None:
        # ``**attrs`` is a new dict on every call, so it is kept as is (not copied): a large
        # graph adds tens of thousands of nodes and edges.
        existing = self._nodes.get(node)
        if existing is not None:
            existing.update(attrs)
        else:
            self._nodes[node] = attrs

    def add_edge(self, source: str, target: str, key: str, **attrs: Any) -> None:
        self.put_edge(source, target, key, attrs)

    def put_edge(self, source: str, target: str, key: str, attrs: Attrs) -> None:
        """``add_edge`` with the attributes as one dict, kept (not copied): the caller hands
        over a new one."""
        nodes = self._nodes
        if source not in nodes:
            nodes[source] = {}
        if target not in nodes:
            nodes[target] = {}
        succ = self._succ.get(source)
        if succ is None:
            succ = self._succ[source] = {}
        keys = succ.get(target)
        if keys is None:
            succ[target] = {key: attrs}
        elif key in keys:
            keys[key].update(attrs)
        else:
            keys[key] = attrs

    def has_edge(self, source: str, target: str) -> bool:
        return target in self._succ.get(source, {})

    def out_edges(
        self, source: str, data: bool = False, *, keys: bool = False
    ) -> Iterator[tuple[Any, ...]]:
        for target, by_key in self._succ.get(source, {}).items():
            for key, attrs in by_key.items():
                edge = (source, target, key) if keys else (source, target)
                yield (*edge, attrs) if data else edge

    def edges(self, data: bool = False, *, keys: bool = False) -> Iterator[tuple[Any, ...]]:
        # Sources in node order, as networkx (self._succ is in first-out-edge order).
        succ = self._succ
        for source in self._nodes:
            if source in succ:
                yield from self.out_edges(source, data, keys=keys)

    def number_of_edges(self) -> int:
        return sum(len(keys) for succ in self._succ.values() for keys in succ.values())
