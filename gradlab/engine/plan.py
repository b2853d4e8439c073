"""A graph compiled once for the engine: :class:`Plan`, what every pass over a graph reads, made by :func:`plan_of`.

Forward and backward passes, finite differences, torch, the symbolic pass and the judging steps all walk the
graph in topological order and ask each gate for its record, its parameter, its arguments in order and their
shapes. Asked of the networkx model, each answer costs a dictionary walk (``Graph.args`` sorts a gate's
in-wires); a 10,000-gate chain asked them some 60,000 times per check. A plan holds the answers in flat
tuples indexed by the node's position, built in one pass and kept on the graph until it changes (a node
added or removed, a node renamed, another output chosen).

>>> from gradlab import Graph
>>> p = plan_of(Graph.parse("q = x + y; f = q*z"))
>>> p.nodes, p.args[p.index["f"]], p.arg_names[p.index["f"]], p.inputs
(('x', 'y', 'q', 'z', 'f'), (2, 3), ('q', 'z'), ('x', 'y', 'z'))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model.graph import Graph
from ..ops import DomainEdge, Op, partial_functions
from ..ops.tensor import Shape, TensorOp, gate_op

Edge = tuple[str, str, int]


@dataclass(eq=False)
class Plan:
    """One graph, compiled: per node (by its position in topological order) its name, kind, gate record,
    parameter, argument positions and names, shape and number of entries; the inputs, the gates in order, the
    output's position, how often each node is read, whether the graph has vectors or matrices."""

    nx: Any  # the networkx graph this plan was made from (a plan is valid for it alone)
    key: tuple[int, str]
    nodes: tuple[str, ...]
    index: dict[str, int]
    kind: tuple[str, ...]
    op: tuple[Op | None, ...]
    op_name: tuple[str | None, ...]
    param: tuple[Any, ...]
    args: tuple[tuple[int, ...], ...]
    arg_names: tuple[tuple[str, ...], ...]
    shape: tuple[Shape, ...]
    size: tuple[int, ...]
    const: tuple[float | None, ...]
    inputs: tuple[str, ...]
    input_index: tuple[int, ...]
    gates: tuple[int, ...]
    output: int
    uses: tuple[int, ...]
    tensor: bool
    #: per node: its gate is elementwise (a scalar record of ``OPS``), not a vector or matrix gate
    elementwise: tuple[bool, ...]

    @property
    def output_name(self) -> str:
        return self.nodes[self.output]

    def edges_into(self, v: int) -> list[Edge]:
        """The wires into gate ``v``: ``(argument, gate, k)``."""
        name = self.nodes[v]
        return [(u, name, k) for k, u in enumerate(self.arg_names[v])]

    def partials(self, v: int) -> tuple[Any, ...]:
        """The compiled local partials of elementwise gate ``v`` (see :func:`gradlab.ops.partial_functions`)."""
        op = self.op[v]
        assert op is not None
        return partial_functions(op)

    def domain_edges(self, v: int) -> tuple[DomainEdge, ...]:
        """The domain edges of gate ``v``'s arguments (none for inputs and constants)."""
        op = self.op[v]
        return () if op is None else op.edges(self.param[v])

    def total_size(self) -> int:
        """Entries of all nodes together."""
        return sum(self.size)


def _key(graph: Graph) -> tuple[int, str]:
    g = graph.nx
    return len(g._node), g.graph.get("output")


def plan_of(graph: Graph) -> Plan:
    """The graph's plan, made on first use and kept on the graph while its nodes and output stay the same (a node
    added, removed or renamed, or another output, makes a new one; wires come with their gate). A graph changed
    otherwise through its networkx object (a node's attributes, a wire alone) is a new graph: ``graph.copy()``.

    >>> from gradlab import Graph
    >>> g = Graph.parse("f = x*x")
    >>> plan_of(g) is plan_of(g), plan_of(g).args[plan_of(g).output]
    (True, (0, 0))
    """
    cached = graph.__dict__.get("_plan")
    key = _key(graph)
    if cached is not None and cached.nx is graph.nx and cached.key == key and cached.nodes == tuple(graph.nx._node):
        return cached
    plan = _build(graph, key)
    graph.__dict__["_plan"] = plan
    return plan


def _build(graph: Graph, key: tuple[int, str]) -> Plan:
    g = graph.nx
    nodes = tuple(g._node)
    index = {n: i for i, n in enumerate(nodes)}
    kind: list[str] = []
    ops: list[Op | None] = []
    names: list[str | None] = []
    params: list[Any] = []
    args: list[tuple[int, ...]] = []
    arg_names: list[tuple[str, ...]] = []
    shapes: list[Shape] = []
    sizes: list[int] = []
    consts: list[float | None] = []
    elementwise: list[bool] = []
    uses = [0] * len(nodes)
    pred = g._pred
    for n in nodes:
        d = g._node[n]
        k = d["kind"]
        kind.append(k)
        shape = tuple(d.get("shape", ()))
        shapes.append(shape)
        sizes.append(int(np.prod(shape, dtype=np.int64)) if shape else 1)
        consts.append(float(d["value"]) if k == "const" else None)
        if k == "op":
            op = gate_op(d["op"])
            into = pred[n]
            if len(into) == 1:  # one argument, or the same one twice (x*x)
                ((u, keys),) = into.items()
                a = (u,) * len(keys)
            else:
                a = tuple(u for _, u in sorted((key_, u) for u, keys in into.items() for key_ in keys))
            ops.append(op)
            names.append(d["op"])
            params.append(d.get("param"))
            arg_names.append(a)
            idx = tuple(index[u] for u in a)
            args.append(idx)
            for i in idx:
                uses[i] += 1
            elementwise.append(not isinstance(op, TensorOp))
        else:
            ops.append(None)
            names.append(None)
            params.append(None)
            arg_names.append(())
            args.append(())
            elementwise.append(False)
    inputs = tuple(n for n, k in zip(nodes, kind) if k == "input")
    tensor = graph.is_tensor
    output = graph.output
    return Plan(g, key, nodes, index, tuple(kind), tuple(ops), tuple(names), tuple(params), tuple(args),
                tuple(arg_names), tuple(shapes), tuple(sizes), tuple(consts), inputs,
                tuple(index[n] for n in inputs), tuple(i for i, k in enumerate(kind) if k == "op"), index[output],
                tuple(uses), bool(tensor), tuple(elementwise))
