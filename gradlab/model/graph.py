"""The graph model: a typed layer over a networkx ``MultiDiGraph``.

Everything else in gradlab (symbolic, numeric, torch, render, worksheets, testing,
the LeNet checks) reads this model; it depends on nothing but :mod:`gradlab.ops`.

Nodes (``graph.nx.nodes[n]``), keyed by name:

=============  ==========================================================================
``kind``       ``"input"``, ``"const"`` or ``"op"``
``op``         op nodes: the gate's name in :data:`gradlab.ops.OPS` (``"mul"``, ``"sigmoid"``)
``param``      op nodes with a constant (``add_const`` of ``+1``): the constant (int or float)
``value``      const nodes: the number
``label``      what the picture draws in the gate: ``*``, ``+1``, ``1/x``, ``σ``; inputs: the name
``named``      True when the user gave the name (an input, a statement), False for ``t1, t2, ...``
``shape``      ``()`` for scalars; ``(n,)`` a column vector, ``(1, n)`` a row vector, ``(m, n)`` a
               matrix (see :mod:`gradlab.ops.tensor`); values and adjoints are arrays of this shape
``domain``     inputs, optional: ``"onehot"`` or ``"probs"`` (a label: entries sum to 1),
               ``"positive"``; random test points respect it
``statement``  index of the program statement that made the node (or None)
``line, col``  where in the program text the node's expression starts (or None)
``text``       the source text of the node's expression (or None)
=============  ==========================================================================

Edges ``u -> v`` with ``key = k`` say "u is argument k of gate v"; ``x*x`` has two
edges, keys 0 and 1. Graph attributes: ``output`` (the output node), ``title``,
``description``, ``source`` (the program text, when parsed).

Node insertion order is a topological order (a gate is added after its arguments).

>>> g = Graph()
>>> x, y, z = g.input("x"), g.input("y"), g.input("z")
>>> f = ((x + y) * z).named("f")
>>> g.set_output(f)
>>> g.gates()
['+', '*']
"""

from __future__ import annotations

import json
import keyword
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence, Union, cast

import networkx as nx

from ..errors import GradlabError, GraphError, Location, ParseError, ShapeError
from ..ops import FUNCTIONS, OPS, TENSOR_OPS, op_for
from ..ops.tensor import TENSOR_FUNCTIONS

Number = Union[int, float]
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
#: Names no value may take besides the functions of the op table (ops.FUNCTIONS): the vector and matrix
#: functions (the tensor gates' call names). ``T`` is free: ``A.T`` is an attribute, never a value named T.
RESERVED_NAMES = frozenset(TENSOR_FUNCTIONS)
#: What an input's optional ``domain`` may say (random test points respect it).
DOMAINS = ("onehot", "probs", "positive")


def check_name(name: str, where: Location | None = None) -> None:
    """Raise :class:`ParseError` unless ``name`` is a plain identifier we accept for a node."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or keyword.iskeyword(name):
        raise ParseError(
            f"'{name}' is not a valid name (use letters, digits and _, starting with a letter)", where
        )
    if name in FUNCTIONS or name in RESERVED_NAMES:
        raise ParseError(f"'{name}' is the name of a function and cannot name a value", where)


def _check_number(value: Any, where: Location | None = None) -> Number:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParseError(f"expected a number, got {value!r}", where)
    if isinstance(value, float) and not math.isfinite(value):
        raise ParseError(f"the number {value} is not finite", where)
    if isinstance(value, int) and abs(value) > 10**15:
        value = float(value)
    return value


def fold(symbol: str, a: Number, b: Number | None = None, where: Location | None = None) -> Number:
    """Fold constants (``2*3`` -> 6, ``-`` with one operand: ``-2``) with bounded time and a clear error on
    overflow or 0 division."""
    try:
        if symbol == "-" and b is None:
            r: Any = -a
        elif symbol in FUNCTIONS:
            import numpy as np

            args = [float(a)] + ([] if b is None else [float(b)])
            with np.errstate(all="ignore"):
                r = float(OPS[FUNCTIONS[symbol]].np_fn([np.float64(x) for x in args], None))
        else:
            if b is None:  # pragma: no cover - the parser gives every operator two operands
                raise TypeError(f"the operator {symbol} needs two operands")
            fa, fb = float(a), float(b)  # floats: 9**9**9 cannot run for ever
            if symbol == "+":
                r = fa + fb
            elif symbol == "-":
                r = fa - fb
            elif symbol == "*":
                r = fa * fb
            elif symbol == "/":
                r = fa / fb
            elif symbol == "**":
                r = fa**fb
            else:  # pragma: no cover - the parser only passes the symbols above
                raise ParseError(f"unknown operator {symbol}", where)
    except ZeroDivisionError:
        raise ParseError("division by zero in a constant expression", where) from None
    except OverflowError:
        raise ParseError("a constant expression is too large (overflow)", where) from None
    if isinstance(r, complex) or not math.isfinite(r):
        raise ParseError("a constant expression is not a finite real number", where)
    if float(r).is_integer() and abs(r) < 2**53:
        return int(r)
    return float(r)


@dataclass(frozen=True, eq=False)
class Node:
    """A handle on one node of a :class:`Graph`, with operators that add gates.

    >>> g = Graph(); x = g.input("x")
    >>> (1 / (1 + (-x).exp())).id  # -x is t1, exp t2, +1 t3, 1/x t4
    't4'
    """

    graph: "Graph"
    id: str

    # arithmetic -------------------------------------------------------------------------
    def __add__(self, other: "Node | Number") -> "Node":
        return self.graph.binary("+", self, other)

    def __radd__(self, other: Number) -> "Node":
        return self.graph.binary("+", other, self)

    def __sub__(self, other: "Node | Number") -> "Node":
        return self.graph.binary("-", self, other)

    def __rsub__(self, other: Number) -> "Node":
        return self.graph.binary("-", other, self)

    def __mul__(self, other: "Node | Number") -> "Node":
        return self.graph.binary("*", self, other)

    def __rmul__(self, other: Number) -> "Node":
        return self.graph.binary("*", other, self)

    def __truediv__(self, other: "Node | Number") -> "Node":
        return self.graph.binary("/", self, other)

    def __rtruediv__(self, other: Number) -> "Node":
        return self.graph.binary("/", other, self)

    def __pow__(self, other: "Node | Number") -> "Node":
        return self.graph.binary("**", self, other)

    def __rpow__(self, other: Number) -> "Node":
        return self.graph.binary("**", other, self)

    def __neg__(self) -> "Node":
        return self.graph.apply("neg", self)

    # functions ---------------------------------------------------------------------------
    def exp(self) -> "Node":
        return self.graph.apply("exp", self)

    def log(self) -> "Node":
        return self.graph.apply("log", self)

    def sqrt(self) -> "Node":
        return self.graph.apply("sqrt", self)

    def sin(self) -> "Node":
        return self.graph.apply("sin", self)

    def cos(self) -> "Node":
        return self.graph.apply("cos", self)

    def sigmoid(self) -> "Node":
        return self.graph.apply("sigmoid", self)

    def tanh(self) -> "Node":
        return self.graph.apply("tanh", self)

    def relu(self) -> "Node":
        return self.graph.apply("relu", self)

    def abs(self) -> "Node":
        return self.graph.apply("abs", self)

    def softplus(self) -> "Node":
        return self.graph.apply("softplus", self)

    # vectors and matrices (see gradlab.ops.tensor) --------------------------------------
    def __matmul__(self, other: "Node") -> "Node":
        return self.graph.apply("matmul", self, other)

    @property
    def T(self) -> "Node":
        """The transpose: a column vector becomes a row vector."""
        return self.graph.apply("transpose", self)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.graph.nx.nodes[self.id]["shape"])

    def sum(self, axis: int | None = None) -> "Node":
        return self.graph.apply("sum", self, param=axis)

    def mean(self, axis: int | None = None) -> "Node":
        return self.graph.apply("mean", self, param=axis)

    def softmax(self) -> "Node":
        return self.graph.apply("softmax", self)

    def log_softmax(self) -> "Node":
        return self.graph.apply("log_softmax", self)

    def named(self, name: str) -> "Node":
        """Give this (anonymous) node a name of the user's: ``(w0*x0 + w2).named("z")``."""
        return self.graph.rename(self, name)

    def __repr__(self) -> str:
        return f"Node({self.id!r})"


NodeLike = Union[Node, str]


class Graph:
    """A computational graph: inputs, constants and gates over a networkx ``MultiDiGraph``.

    Build one from text, from Python, from node-link JSON or from a graph file:

    >>> g = Graph.parse("z = w0*x0 + w1*x1 + w2; a = sigmoid(z)")
    >>> g.inputs, g.output
    (['w0', 'x0', 'w1', 'x1', 'w2'], 'a')
    """

    def __init__(self, title: str = "", description: str = "") -> None:
        self.nx: nx.MultiDiGraph = nx.MultiDiGraph(output=None, title=title, description=description, source=None)
        self._counter = 0
        self._reserved: set[str] = set()

    # ------------------------------------------------------------------ constructors
    @classmethod
    def parse(cls, program: str, *, title: str = "") -> "Graph":
        """A graph from a program: ``"z = w0*x0 + w2; a = sigmoid(z)"`` (last statement is the output);
        :func:`gradlab.parse_program`."""
        return _api().parse_program(program, title=title)

    @classmethod
    def load(cls, path: str | Path) -> "Graph":
        """A graph from a graph file (TOML); see :func:`gradlab.load_graph_file` for its values too."""
        return _api().load_graph_file(path).graph

    # ------------------------------------------------------------------ builder API
    def reserve(self, names: Sequence[str]) -> None:
        """Names that automatic gate names (t1, t2, ...) must avoid."""
        self._reserved.update(names)

    def _fresh(self) -> str:
        while True:
            self._counter += 1
            name = f"t{self._counter}"
            if name not in self.nx and name not in self._reserved:
                return name

    def _add(self, name: str | None, where: Location | None, **attrs: Any) -> Node:
        if name is None:
            node_id, named = self._fresh(), False
        else:
            check_name(name, where)
            if name in self.nx:
                raise GraphError(f"'{name}' is defined twice", where)
            node_id, named = name, True
        w = where or Location()
        attrs.setdefault("shape", ())
        self.nx.add_node(node_id, named=named, statement=attrs.pop("statement", None), line=w.line, col=w.col,
                         text=attrs.pop("text", None), **attrs)
        return Node(self, node_id)

    def input(self, name: str, *, shape: Any = (), domain: str | None = None, where: Location | None = None) -> Node:
        """Add an input variable (a leaf whose value is given at evaluation time), a number unless
        ``shape`` says otherwise: ``g.input("A", shape=(2, 3))``, ``g.input("y", shape=(2,), domain="onehot")``."""
        attrs: dict[str, Any] = {}
        if shape != ():
            from ..ops.tensor import normalise_shape

            try:
                attrs["shape"] = normalise_shape(shape)
            except GradlabError as e:
                raise type(e)(e.message, where) from None
        if domain is not None:
            if domain not in DOMAINS:
                raise GraphError(f"unknown domain {domain!r} for '{name}'; known: {', '.join(DOMAINS)}", where)
            attrs["domain"] = domain
        return self._add(name, where, kind="input", label=name, **attrs)

    def const(self, value: Number, *, name: str | None = None, where: Location | None = None) -> Node:
        """Add a constant leaf (``max(x, 0)`` feeds its 0 through one)."""
        value = _check_number(value, where)
        node = self._add(name, where, kind="const", value=value, label=f"{value:g}" if isinstance(value, float) else str(value))
        return node

    def _node(self, x: NodeLike) -> str:
        node_id = x.id if isinstance(x, Node) else x
        if isinstance(x, Node) and x.graph is not self:
            raise GraphError(f"node {node_id} belongs to another graph")
        if node_id not in self.nx:
            raise GraphError(f"there is no node '{node_id}'")
        return node_id

    def apply(self, op_name: str, *args: NodeLike | Number, param: Number | None = None, name: str | None = None,
              where: Location | None = None, **attrs: Any) -> Node:
        """Add a gate ``op_name`` over existing nodes (numbers become constant nodes)."""
        op = op_for(op_name)
        if op is None:
            raise ParseError(f"unknown operation '{op_name}'", where)
        if len(args) != op.arity:
            raise ParseError(f"{op_name} takes {op.arity} argument{'s' * (op.arity != 1)}, got {len(args)}", where)
        if op.has_param and param is None:
            raise ParseError(f"{op_name} needs a constant parameter", where)
        if param is None:
            param = op.param_default
        ids = [self.const(a, where=where).id if isinstance(a, (int, float)) and not isinstance(a, bool)
               else self._node(cast(NodeLike, a)) for a in args]  # a bool is no number: _node() rejects it
        if param is not None:
            param = _check_number(param, where)
        shapes = [self.nx.nodes[i]["shape"] for i in ids]
        if any(shapes) or op_name in TENSOR_OPS:
            from ..ops.tensor import result_shape

            names = [self.nx.nodes[i].get("text") or i if not self.nx.nodes[i].get("named") else i for i in ids]
            try:
                attrs["shape"] = result_shape(op_name, shapes, param, names)
            except ShapeError as e:
                raise ShapeError(e.message, where) from None
        node = self._add(name, where, kind="op", op=op_name, param=param, label=op.label(param), **attrs)
        for k, u in enumerate(ids):
            self.nx.add_edge(u, node.id, key=k)
        return node

    def binary(self, symbol: str, a: NodeLike | Number, b: NodeLike | Number, *, name: str | None = None,
               where: Location | None = None, **attrs: Any) -> Node:
        """``a <symbol> b`` as the textbook writes it: a constant operand makes a one-input gate
        (``x + 1`` is ``+1``, ``1/x`` is ``1/x``, ``x**2`` is ``^2``)."""
        a_num = isinstance(a, (int, float)) and not isinstance(a, bool)
        b_num = isinstance(b, (int, float)) and not isinstance(b, bool)
        if a_num and b_num:
            value = fold(symbol, a, b, where)  # type: ignore[arg-type]
            return self.const(value, name=name, where=where)
        kw = dict(name=name, where=where, **attrs)
        if symbol == "+":
            if b_num:
                return self.apply("add_const", a, param=b, **kw)  # type: ignore[arg-type]
            if a_num:
                return self.apply("add_const", b, param=a, **kw)  # type: ignore[arg-type]
            return self.apply("add", a, b, **kw)
        if symbol == "-":
            if b_num:
                return self.apply("add_const", a, param=fold("-", b), **kw)  # type: ignore[arg-type]
            if a_num:
                return self.apply("rsub_const", b, param=a, **kw)  # type: ignore[arg-type]
            return self.apply("sub", a, b, **kw)
        if symbol == "*":
            if b_num:
                return self.apply("mul_const", a, param=b, **kw)  # type: ignore[arg-type]
            if a_num:
                return self.apply("mul_const", b, param=a, **kw)  # type: ignore[arg-type]
            return self.apply("mul", a, b, **kw)
        if symbol == "/":
            if b_num:
                if b == 0:
                    raise ParseError("division by zero", where)
                return self.apply("div_const", a, param=b, **kw)  # type: ignore[arg-type]
            if a_num:
                return self.apply("rdiv_const", b, param=a, **kw)  # type: ignore[arg-type]
            return self.apply("div", a, b, **kw)
        if symbol == "**":
            if b_num:
                if abs(float(b)) > 1000:  # type: ignore[arg-type]
                    raise ParseError(f"the exponent {b} is too large (at most 1000 in absolute value)", where)
                return self.apply("pow_const", a, param=b, **kw)  # type: ignore[arg-type]
            if a_num:
                return self.apply("rpow_const", b, param=a, **kw)  # type: ignore[arg-type]
            return self.apply("pow", a, b, **kw)
        raise ParseError(f"unknown operator '{symbol}'", where)

    def max(self, a: NodeLike | Number, b: NodeLike | Number, *, name: str | None = None) -> Node:
        """The ``max`` gate (kink where a == b)."""
        return self.apply("max", a, b, name=name)

    def min(self, a: NodeLike | Number, b: NodeLike | Number, *, name: str | None = None) -> Node:
        """The ``min`` gate (kink where a == b)."""
        return self.apply("min", a, b, name=name)

    def rename(self, node: NodeLike, name: str) -> Node:
        """Give a node the user's name (``t3`` becomes ``z``)."""
        old = self._node(node)
        check_name(name)
        if name == old:
            return Node(self, name)
        if name in self.nx:
            raise GraphError(f"'{name}' is defined twice")
        nx.relabel_nodes(self.nx, {old: name}, copy=False)
        self.nx.nodes[name]["named"] = True
        if self.nx.nodes[name]["kind"] == "input":
            self.nx.nodes[name]["label"] = name
        if self.nx.graph.get("output") == old:
            self.nx.graph["output"] = name
        return Node(self, name)

    def set_output(self, node: NodeLike) -> None:
        """Choose the node whose gradients we take."""
        self.nx.graph["output"] = self._node(node)

    # ------------------------------------------------------------------ views
    def __contains__(self, name: object) -> bool:
        return name in self.nx

    def __len__(self) -> int:
        return self.nx.number_of_nodes()

    def __getitem__(self, name: str) -> Node:
        return Node(self, self._node(name))

    @property
    def output(self) -> str:
        """The output node's name."""
        out = self.nx.graph.get("output")
        if out is None:
            raise GraphError("the graph has no output (call set_output, or end the program with a statement)")
        return out

    @property
    def title(self) -> str:
        return self.nx.graph.get("title") or ""

    @property
    def inputs(self) -> list[str]:
        """Input names, in the order they first appear."""
        return [n for n, d in self.nx.nodes(data=True) if d["kind"] == "input"]

    @property
    def nodes(self) -> list[str]:
        """All node names in topological order (insertion order)."""
        return list(self.nx.nodes)

    @property
    def is_tensor(self) -> bool:
        """Whether any node is a vector or matrix, or any gate a tensor gate. Nodes are only ever added (with their
        shape), so the answer is kept until the graph grows: asking is O(1), not a walk over every node."""
        size = self.nx.number_of_nodes()
        cached = self.__dict__.get("_is_tensor")
        if cached is None or cached[0] != size:
            cached = (size, any(d.get("shape") or d.get("op") in TENSOR_OPS for _, d in self.nx.nodes(data=True)))
            self.__dict__["_is_tensor"] = cached
        return cached[1]

    def shape(self, node: str) -> tuple[int, ...]:
        """A node's shape: ``()`` for a number."""
        return tuple(self.nx._node[node].get("shape", ()))

    @property
    def op_nodes(self) -> list[str]:
        return [n for n, d in self.nx.nodes(data=True) if d["kind"] == "op"]

    def attrs(self, node: str) -> dict[str, Any]:
        """The node's attribute dict (the data model above)."""
        return self.nx._node[node]

    def kind(self, node: str) -> str:
        return self.nx.nodes[node]["kind"]

    def args(self, node: str) -> list[str]:
        """A gate's arguments in order (``x*x`` gives ``['x', 'x']``)."""
        # networkx's adjacency dicts (pred[v][u] = {key: data}) directly: a view per call costs 10x more
        ins = sorted((k, u) for u, keys in self.nx._pred[node].items() for k in keys)
        return [u for _, u in ins]

    def consumers(self, node: str) -> list[tuple[str, int]]:
        """The (gate, argument position) pairs that read ``node``."""
        return [(v, k) for _, v, k in self.nx.out_edges(node, keys=True)]

    def edges(self) -> list[tuple[str, str, int]]:
        """Every wire ``(u, v, k)``: u is argument k of v."""
        return [(u, v, k) for u, v, k in self.nx.edges(keys=True)]

    def gates(self) -> list[str]:
        """Gate labels in topological order: the neuron gives ``['*', '*', '+', '+', '*-1', 'exp', '+1', '1/x']``."""
        return [d["label"] for _, d in self.nx.nodes(data=True) if d["kind"] == "op"]

    def where(self, node: str) -> Location:
        d = self.nx.nodes[node]
        return Location(line=d.get("line"), col=d.get("col"), node=node)

    def describe(self, node: str) -> str:
        """``t3 (1/x, in 'a = 1/(1+exp(-z))')`` for messages."""
        d = self.nx.nodes[node]
        label = d.get("label", "")
        text = d.get("text")
        kind = d["kind"]
        what = "input" if kind == "input" else ("constant" if kind == "const" else f"gate {label}")
        return f"{node} ({what}" + (f", '{text}'" if text else "") + ")"

    def validate(self) -> None:
        """Check the structure: acyclic, an output, every gate with the right number of arguments.

        One pass over the adjacency: a graph whose wires all run forward in insertion order (what the builder and
        every loader make) is acyclic; only one with a wire running backwards is searched for a cycle."""
        nodes, pred = self.nx._node, self.nx._pred
        position = {n: i for i, n in enumerate(nodes)}
        if any(position[u] >= position[v] for v, ins in pred.items() for u in ins) \
                and not nx.is_directed_acyclic_graph(self.nx):
            cycle = nx.find_cycle(self.nx)
            raise GraphError("the graph has a cycle: " + " -> ".join(str(u) for u, *_ in cycle))
        for n, d in nodes.items():
            if d["kind"] == "op":
                op = op_for(d.get("op"))
                if op is None:
                    raise GraphError(f"unknown operation '{d.get('op')}'", Location(node=n))
                ks = sorted(k for keys in pred[n].values() for k in keys)
                if ks != list(range(op.arity)):
                    raise GraphError(f"gate {d['op']} needs {op.arity} argument(s), has wires {ks}", Location(node=n))
            elif pred[n]:
                raise GraphError(f"{d['kind']} node has incoming wires", Location(node=n))
        _ = self.output

    # ------------------------------------------------------------------ serialisation
    def to_node_link(self) -> dict[str, Any]:
        """networkx node-link data (``nodes``, ``edges``, ``graph``), JSON-ready."""
        data = nx.node_link_data(self.nx, edges="edges")
        for n in data["nodes"]:
            n["shape"] = list(n.get("shape", ()))
        data["gradlab"] = 1
        return data

    def to_json(self, **kwargs: Any) -> str:
        """Node-link JSON text; :meth:`from_json` reads it back."""
        return json.dumps(self.to_node_link(), ensure_ascii=False, **kwargs)

    @classmethod
    def from_node_link(cls, data: Mapping[str, Any]) -> "Graph":
        """The inverse of :meth:`to_node_link`, checked."""
        try:
            nodes = data["nodes"]
            edges = data.get("edges", data.get("links"))
            if not isinstance(nodes, list) or not isinstance(edges, list):
                raise KeyError("nodes/edges")
        except (KeyError, TypeError):
            raise GraphError("node-link JSON needs lists 'nodes' and 'edges'") from None
        g = cls()
        ids = set()
        for i, n in enumerate(nodes):
            if not isinstance(n, dict) or "id" not in n or "kind" not in n:
                raise GraphError(f"node #{i} needs 'id' and 'kind'")
            node_id = str(n["id"])
            if node_id in ids:
                raise GraphError(f"node '{node_id}' appears twice")
            ids.add(node_id)
            attrs = {k: v for k, v in n.items() if k != "id"}
            attrs["shape"] = tuple(attrs.get("shape", ()))
            if attrs["kind"] not in ("input", "const", "op"):
                raise GraphError(f"node '{node_id}' has unknown kind {attrs['kind']!r}")
            if attrs["kind"] == "const":
                attrs["value"] = _check_number(attrs.get("value"), Location(node=node_id))
            if attrs["kind"] == "op" and op_for(attrs.get("op")) is None:
                raise GraphError(f"unknown operation {attrs.get('op')!r}", Location(node=node_id))
            attrs.setdefault("named", True)
            attrs.setdefault("label", op_for(attrs["op"]).label(attrs.get("param")) if attrs["kind"] == "op"  # type: ignore[union-attr]
                             else node_id)
            g.nx.add_node(node_id, **attrs)
        for e in edges:
            try:
                u, v, k = str(e["source"]), str(e["target"]), int(e.get("key", 0))
            except (KeyError, TypeError, ValueError):
                raise GraphError(f"bad edge {e!r}: needs 'source', 'target' and 'key'") from None
            if u not in ids or v not in ids:
                raise GraphError(f"edge {u} -> {v} names a missing node")
            g.nx.add_edge(u, v, key=k)
        meta = data.get("graph", {}) or {}
        g.nx.graph.update({k: meta.get(k) for k in ("output", "title", "description", "source")})
        if g.nx.graph["output"] not in ids:
            raise GraphError(f"the output {g.nx.graph['output']!r} is not a node")
        g.validate()
        position = {n: i for i, n in enumerate(g.nx.nodes)}
        if any(position[u] > position[v] for u, v in g.nx.edges()):  # keep insertion order topological
            h = nx.MultiDiGraph(**g.nx.graph)
            h.add_nodes_from((n, g.nx.nodes[n]) for n in nx.topological_sort(g.nx))
            h.add_edges_from(g.nx.edges(keys=True))
            g.nx = h
        g._counter = max([int(n[1:]) for n in ids if re.fullmatch(r"t\d+", n)] + [0])
        return g

    @classmethod
    def from_json(cls, text: str) -> "Graph":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise GraphError(f"not valid JSON: {e.msg}", Location(line=e.lineno, col=e.colno)) from None
        return cls.from_node_link(data)

    def copy(self) -> "Graph":
        g = Graph()
        g.nx = self.nx.copy()
        g._counter = self._counter
        g._reserved = set(self._reserved)
        return g

    def __repr__(self) -> str:
        n_ops = len(self.op_nodes)
        out = self.nx.graph.get("output")
        return f"<Graph {self.title + ' ' if self.title else ''}inputs={self.inputs} gates={n_ops} output={out}>"

    def __iter__(self) -> Iterator[str]:
        return iter(self.nx.nodes)

    # ------------------------------------------------------------------ pictures (gradlab.render)
    def draw(self, at: Any = None, **options: Any) -> Any:
        """The annotated picture at the point ``at``: a :class:`gradlab.render.Drawing` (``.save(path)``,
        ``.blanks``, ``.dot``); options as :func:`gradlab.render.draw`."""
        return _api().draw(self, at, **options)

    def to_dot(self, at: Any = None, **options: Any) -> str:
        """Graphviz DOT source of the picture: values above each wire, gradients below (with ``at``)."""
        return _api().to_dot(self, at, **options)

    def render(self, path: str | Path, at: Any = None, *, dpi: float | None = 150, timeout: float | None = None,
               **options: Any) -> Path:
        """Write the picture to ``path`` (``.svg``, ``.png``, ``.pdf``, ``.dot``): ``g.render("f.png", {"x": 1})``."""
        return Path(_api().draw(self, at, **options).save(path, dpi=dpi, timeout=timeout))

    def _repr_svg_(self) -> str | None:
        return self._repr_mimebundle_().get("image/svg+xml")

    # Jupyter shows the graph as its picture (gradlab.render).
    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return _api().mimebundle(self, include, exclude)


def _api() -> Any:
    """gradlab's public API, for the graph's conveniences that belong to higher layers (``Graph.parse``, ``.load``,
    ``.draw``, ``.to_dot``, ``.render`` and the Jupyter display: the parser, the graph-file reader, the renderer).
    They look their function up by its public name when they are called, so importing the model imports none of
    those layers: the dependency goes through the package's lazy map of names (``gradlab/__init__``), at call
    time only."""
    import gradlab

    return gradlab
