"""The symbolic engine: SymPy views of a graph, and gradients by one reverse accumulation, linear in its size.

For every node u: ``adjoint(u) = sum over wires u -> v (argument k) of the share gate v gives argument k``;
:func:`reverse_accumulation` is that loop, written once for every graph. A value is a numpy object array of
SymPy entries, a number the 0-d case. Where a share comes from is the caller's choice: the VJP of the gate's
record (:func:`vjp_shares`, vectors and matrices: :mod:`gradlab.engine.tensor_symbolic`), or, for graphs of numbers,
the adjoint times the gate's textbook local partial (:func:`partial_shares`), which keeps the scalar formulas in
the textbook's shape. Three forms of each scalar adjoint:

* ``staged``: in node symbols and the adjoint symbols of the node's consumers
  (``da_dz*w0``): always linear in size, the form for big graphs;
* ``named``: in the inputs and the names the user gave (statement names), anonymous
  gates ``t1, t2`` substituted away: ``w0*a*(1 - a)``;
* ``expr``: in the inputs only, simplified where that is small.

The full substituted output is never differentiated (that is the expression swell
of the naive route). Before any form in the inputs is built, its size is estimated in
integer arithmetic (:meth:`SymbolicGradients.estimated_size`); a form that would be too
big to read falls back to the next one: ``expr`` -> ``named`` -> ``staged``
(:meth:`SymbolicGradients.form` says which one a node gets).

The graph model holds no SymPy: a node's symbol, its gate's expression and a node's value in the
inputs are free functions here (:func:`node_symbol`, :func:`local_expr`, :func:`expr`).

>>> from gradlab import Graph
>>> sg = symbolic_gradients(Graph.parse("z = w0*x0 + w1*x1 + w2; a = sigmoid(z)"))
>>> sg.named("x0")
a*w0*(1 - a)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Iterator, Mapping, Sequence

import numpy as np
import sympy as sp

from ..model.graph import Graph, Number
from ..ops import OPS, as_sympy
from ..ops.tensor import Shape, vjp_values
from .plan import plan_of

#: Graphs with more gates than this get only the staged form (no substitution into the inputs).
FULL_FORM_LIMIT = 400
#: Expressions with at most this many operations are simplified (SymPy's simplify is slow).
SIMPLIFY_LIMIT = 60
#: A form in the inputs (or in named nodes) is shown only while its estimated tree size stays
#: under this: beyond it a formula is unreadable, and printing it costs more than the whole check.
READABLE_SIZE = 400

FORMS = ("expr", "named", "staged")

Edge = tuple[str, str, int]
#: ``shares(v, adjoint_of_v)``: each argument's share of gate ``v``'s adjoint, one array in each argument's shape.
Shares = Callable[[str, np.ndarray], Sequence[np.ndarray]]


# ------------------------------------------------------------------------------------------ SymPy views


def node_symbol(node: str) -> sp.Symbol:
    """The SymPy symbol that stands for a node's value (real).

    >>> node_symbol("z")
    z
    """
    return sp.Symbol(node, real=True)


def sympy_param(p: Number | None) -> Any:
    """A gate's constant as SymPy writes it: an int stays an ``Integer``, a float a ``Float`` (``x**2.0``).

    >>> sympy_param(2), sympy_param(0.5)
    (2, 0.500000000000000)
    """
    if p is None:
        return None
    return sp.Integer(p) if isinstance(p, int) else sp.Float(p)


def arg_expr(graph: Graph, node: str) -> sp.Expr:
    """What a node stands for as a gate's argument: a constant its number, any other node its symbol."""
    d = graph.attrs(node)
    return as_sympy(d["value"]) if d["kind"] == "const" else node_symbol(node)


def local_expr(graph: Graph, node: str) -> sp.Expr:
    """A node's expression in its arguments' symbols: ``t1*z`` for a ``*`` gate.

    >>> local_expr(Graph.parse("f = (x + y)*z"), "f")
    t1*z
    """
    d = graph.attrs(node)
    if d["kind"] != "op":
        return arg_expr(graph, node)
    return OPS[d["op"]].sym([arg_expr(graph, a) for a in graph.args(node)], sympy_param(d.get("param")))


def value_exprs(graph: Graph, *, named: bool = False, upto: str | None = None) -> dict[str, sp.Expr]:
    """Every node's value (up to ``upto``) in the inputs, or with ``named`` in the inputs and the names the
    user gave (a named node is its own symbol; anonymous gates substituted away).

    >>> g = Graph.parse("z = 2*x; f = (z + y)*z")
    >>> value_exprs(g)["f"], value_exprs(g, named=True)["t1"]
    (2*x*(2*x + y), y + z)
    """
    out: dict[str, sp.Expr] = {}
    for n in graph.nodes:
        d = graph.attrs(n)
        if d["kind"] != "op" or (named and d.get("named")):
            out[n] = arg_expr(graph, n)
        else:
            out[n] = OPS[d["op"]].sym([out[a] for a in graph.args(n)], sympy_param(d.get("param")))
        if n == upto:
            break
    return out


def expr(graph: Graph, node: str | None = None) -> sp.Expr:
    """A node's value in the inputs (default: the output). Grows with depth; fine for small graphs.

    >>> expr(Graph.parse("z = x + y; f = z*z"))
    (x + y)**2
    """
    target = node or graph.output
    return value_exprs(graph, upto=target)[target]


# ------------------------------------------------------------------------------------------ one reverse pass


def as_object(x: Any, shape: Shape = ()) -> np.ndarray:
    """``x`` (an expression, or an array that broadcasts to ``shape``) as a fresh object array of ``shape``."""
    a = np.empty(shape, dtype=object)
    a[...] = x
    return a


def _add_up(parts: Sequence[np.ndarray], shape: Shape) -> np.ndarray:
    """The entrywise sum of arrays of one shape, each entry one ``Add`` (no quadratic re-flattening)."""
    if len(parts) == 1:
        return as_object(parts[0], shape)
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = sp.Add(*[p[idx] for p in parts])
    return out


def reverse_accumulation(graph: Graph, shares: Shares, *,
                         prepare: Callable[[str, np.ndarray], np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Reverse accumulation, written once: the output's adjoint is 1, every other node's the sum of the shares
    its consumers give it (gradients add up at forks), 0 where it does not reach the output.

    ``shares(v, g)`` gives each argument's share of gate ``v``'s adjoint ``g`` (:func:`vjp_shares`,
    :func:`partial_shares`); ``prepare(v, g)`` may rewrite a node's adjoint (tidy it) before it is passed on.
    Values are object arrays in each node's shape, 0-d for a number.

    >>> g = Graph.parse("f = x*x + y")
    >>> adj = reverse_accumulation(g, vjp_shares(g, {n: as_object(e) for n, e in value_exprs(g).items()}))
    >>> adj["x"][()], adj["y"][()]
    (2*x, 1)
    """
    out = graph.output
    terms: dict[str, list[np.ndarray]] = {out: [as_object(sp.Integer(1))]}
    adj: dict[str, np.ndarray] = {}
    for v in reversed(graph.nodes):
        parts = terms.pop(v, None)
        if parts is None:
            continue
        gv = _add_up(parts, graph.shape(v))
        if prepare is not None and v != out:
            gv = prepare(v, gv)
        adj[v] = gv
        if graph.kind(v) != "op" or all(e == 0 for e in gv.flat):
            continue
        for u, share in zip(graph.args(v), shares(v, gv)):
            share = np.asarray(share, dtype=object)
            shape = graph.shape(u)
            terms.setdefault(u, []).append(share if share.shape == shape else np.broadcast_to(share, shape))
    for n in graph.nodes:
        if n not in adj:
            adj[n] = as_object(sp.Integer(0), graph.shape(n))
    return adj


def vjp_shares(graph: Graph, values: Mapping[str, np.ndarray], *, identity: Collection[str] = ()) -> Shares:
    """Shares by each gate's VJP from its record, at ``values`` (object arrays); ``identity`` names one-argument
    gates whose local derivative is taken as 1 (a forgotten activation derivative)."""

    def shares(v: str, gv: np.ndarray) -> list[np.ndarray]:
        d = graph.attrs(v)
        args = graph.args(v)
        return vjp_values(d["op"], gv, [values[a] for a in args], values[v], [graph.shape(a) for a in args],
                          d.get("param"), graph.shape(v), identity=v in identity)

    return shares


def partial_shares(graph: Graph, partials: Mapping[Edge, sp.Expr], exprs: Mapping[str, sp.Expr]) -> Shares:
    """Shares of a graph of numbers: the adjoint times each wire's local partial (``partials``, in node symbols),
    written in ``exprs`` (each op node's symbol replaced by its expression there)."""
    sub = {node_symbol(n): e for n, e in exprs.items() if graph.kind(n) == "op"}

    def shares(v: str, gv: np.ndarray) -> list[np.ndarray]:
        g = gv[()]
        return [as_object(g * partials[(u, v, k)].xreplace(sub)) for k, u in enumerate(graph.args(v))]

    return shares


def adjoint_name(output: str, node: str) -> str:
    """The name of d output / d node in staged forms: ``da_dz``."""
    return f"d{output}_d{node}"


def adjoint_symbol(output: str, node: str) -> sp.Symbol:
    """The symbol for d output / d node in staged forms: ``da_dz``."""
    return sp.Symbol(adjoint_name(output, node), real=True)


def accumulate_adjoints(graph: Graph, partials: Mapping[Edge, sp.Expr], exprs: Mapping[str, sp.Expr], *,
                        tick: Callable[[], None] | None = None) -> dict[str, sp.Expr]:
    """The adjoints of a graph of numbers by :func:`reverse_accumulation`, the local partials (in node symbols)
    written in ``exprs`` (each op node's symbol replaced by its expression there); ``tick()`` is called once per
    node (a time budget raises there: :mod:`gradlab.check.budget`).

    >>> g = Graph.parse("f = (x + y)*z")
    >>> sg = symbolic_gradients(g)
    >>> accumulate_adjoints(g, sg.partials, value_exprs(g))["x"]
    z
    """
    prepare = None if tick is None else (lambda v, g: (tick(), g)[1])
    adj = reverse_accumulation(graph, partial_shares(graph, partials, exprs), prepare=prepare)
    return {n: a[()] for n, a in adj.items()}


@dataclass
class SymbolicGradients:
    """Local partials and adjoints of every node; see the module docstring for the forms."""

    graph: Graph
    #: d gate / d argument per wire, in node symbols; and the staged adjoints: made when first read
    partials: Mapping[Edge, sp.Expr]
    staged: Mapping[str, sp.Expr]
    simplify: bool = True
    #: called between the steps of building a form in the inputs; a time budget raises there
    tick: Callable[[], None] | None = field(default=None, repr=False)
    #: drops the caches behind ``partials`` and ``staged`` (see :meth:`forget`)
    clear_caches: Callable[[], None] | None = field(default=None, repr=False)
    _named_expr: dict[str, sp.Expr] = field(default_factory=dict, repr=False)
    _named_adj: dict[str, sp.Expr] = field(default_factory=dict, repr=False)
    _full_expr: dict[str, sp.Expr] = field(default_factory=dict, repr=False)
    _full_adj: dict[str, sp.Expr] = field(default_factory=dict, repr=False)
    _simplified: dict[str, sp.Expr] = field(default_factory=dict, repr=False)

    def forget(self) -> None:
        """Drop the SymPy objects made so far (symbols, local partials, staged adjoints); they are made again when
        read. A big graph's check reads each input's staged form once, as text: kept, its SymPy objects for
        100,000 gates took more memory than the graph."""
        if self.clear_caches is not None:
            self.clear_caches()

    @property
    def small(self) -> bool:
        """Whether the graph has few enough gates for forms in the inputs at all."""
        if "_small" not in self.__dict__:
            self.__dict__["_small"] = len(self.graph.op_nodes) <= FULL_FORM_LIMIT
        return self.__dict__["_small"]

    def estimated_size(self, node: str, form: str) -> int:
        """An upper estimate of the tree size of d output / d node in ``form`` (``expr`` or ``named``).

        Computed in integer arithmetic over the graph (no SymPy), linear in its size: each
        node's value has size 1 + the sizes of its arguments (a named node counts 1 in the
        ``named`` form), and an adjoint adds, over its out-wires, the consumer's adjoint and
        a local partial about as big as the consumer's value.
        """
        key = f"_sizes_{form}"
        if key not in self.__dict__:
            g = self.graph
            fsize: dict[str, int] = {}
            for n in g.nodes:
                d = g.attrs(n)
                if d["kind"] != "op":
                    fsize[n] = 1
                else:
                    full = 1 + sum(fsize[a] for a in g.args(n))
                    fsize[n] = 1 if (form == "named" and d.get("named")) else full
            cap = 10 * READABLE_SIZE  # past this the exact number does not matter
            asize: dict[str, int] = {n: 0 for n in g.nodes}
            out = g.output
            asize[out] = 1
            for v in reversed(g.nodes):
                if g.kind(v) != "op" or asize[v] == 0:
                    continue
                value = 1 + sum(fsize[a] for a in g.args(v))
                for u in g.args(v):
                    asize[u] = min(cap, asize[u] + asize[v] + 1 + value)
            self.__dict__[key] = asize
        return self.__dict__[key][node]

    def form(self, node: str) -> str:
        """Which form :meth:`expr` gives for ``node``: ``expr`` (in the inputs), ``named`` or ``staged``."""
        if not self.small:
            return "staged"
        if self.estimated_size(node, "expr") <= READABLE_SIZE:
            return "expr"
        if self.estimated_size(node, "named") <= READABLE_SIZE:
            return "named"
        return "staged"

    # forward expressions ----------------------------------------------------------------
    def _fill_forward(self) -> None:
        if self._full_expr:
            return
        self._full_expr.update(value_exprs(self.graph))
        self._named_expr.update(value_exprs(self.graph, named=True))

    def value_expr(self, node: str) -> sp.Expr:
        """A node's value as an expression in the inputs."""
        self._fill_forward()
        return self._full_expr[node]

    def named_value_expr(self, node: str) -> sp.Expr:
        """A node's value in the inputs and named nodes (its own name excluded): ``sigmoid(z)`` for ``a``."""
        self._fill_forward()
        d = self.graph.attrs(node)
        if d["kind"] != "op":
            return self._named_expr[node]
        return OPS[d["op"]].sym([self._named_expr[a] for a in self.graph.args(node)], sympy_param(d.get("param")))

    # adjoints ------------------------------------------------------------------------------
    def _fill_named(self) -> None:
        """Adjoints in the inputs and named nodes: stays small when statements name the layers."""
        if self._named_adj:
            return
        self._fill_forward()
        self._named_adj.update(self._accumulate(self._named_expr))

    def _fill_adjoints(self) -> None:
        if self._full_adj:
            return
        self._fill_forward()
        self._full_adj.update(self._accumulate(self._full_expr))

    def _accumulate(self, exprs: dict[str, sp.Expr]) -> dict[str, sp.Expr]:
        return accumulate_adjoints(self.graph, self.partials, exprs, tick=self.tick)

    def named(self, node: str) -> sp.Expr:
        """d output / d node in the inputs and the user's names (``w0*a*(1 - a)``)."""
        self._fill_named()
        return self._named_adj[node]

    def full(self, node: str) -> sp.Expr:
        """d output / d node in the inputs only, unsimplified."""
        self._fill_adjoints()
        return self._full_adj[node]

    def expr(self, node: str) -> sp.Expr:
        """d output / d node as readable as its size allows: in the inputs and simplified when
        small, else in the user's names, else the staged form (see :meth:`form`)."""
        form = self.form(node)
        if form == "staged":
            return self.staged[node]
        if form == "named":
            return self.named(node)
        if node not in self._simplified:
            e = self.full(node)
            if self.simplify and sp.count_ops(e) <= SIMPLIFY_LIMIT:
                e = tidy(e)
            self._simplified[node] = e
        return self._simplified[node]

    def readable_named(self, node: str) -> sp.Expr:
        """The named form when it is small enough to read, else the staged form."""
        if self.form(node) == "staged":
            return self.staged[node]
        return self.named(node)

    def latex(self, node: str, form: str = "expr") -> str:
        """LaTeX of one form (``expr``, ``named`` or ``staged``) of d output / d node."""
        e = {"expr": self.expr, "named": self.named, "staged": lambda n: self.staged[n]}[form](node)
        names = {}
        for s in e.free_symbols:
            name = str(s)
            out = self.graph.output
            if name.startswith(f"d{out}_d"):
                names[s] = r"\frac{\partial %s}{\partial %s}" % (_latex_name(out), _latex_name(name[len(out) + 3:]))
        return sp.latex(e, symbol_names=names)

    def local_partial(self, u: str, v: str, k: int = 0) -> sp.Expr:
        """The local partial d v / d (argument k = u) in node symbols."""
        return self.partials[(u, v, k)]


def tidy(e: sp.Expr) -> sp.Expr:
    """A cheap, bounded simplification that keeps the textbook's shape (no rewriting into cosh).

    SymPy's ``simplify`` can run for minutes on a small network and turns the logistic
    derivative into ``1/(4*cosh(z/2)**2)``; pulling out common factors is enough here.
    """
    candidates = [e, sp.factor_terms(e)]
    return min(candidates, key=lambda c: (sp.count_ops(c), len(str(c))))


def _latex_name(name: str) -> str:
    return sp.latex(sp.Symbol(name))


#: A stand-in for a gate's own symbol in local partials that do not contain it (``a*b``: b and a).
_OUT = sp.Symbol("__gate_output__", real=True)
_USES_OUTPUT: dict[tuple[int, Any], tuple[Any, bool]] = {}


def _uses_output(op: Any, param: Any) -> bool:
    """Whether the gate's local partials are written in its output (tanh: 1 - out**2), asked once per record and
    parameter."""
    key = (id(op), param)
    hit = _USES_OUTPUT.get(key)
    if hit is None or hit[0] is not op:
        args = [sp.Symbol(f"__gate_argument_{k}__", real=True) for k in range(op.arity)]
        parts = [as_sympy(lp) for lp in op.partials(args, _OUT, param)]
        hit = _USES_OUTPUT[key] = (op, any(lp.has(_OUT) for lp in parts))
    return hit[1]


def _times(a: sp.Symbol, b: sp.Expr) -> sp.Expr:
    """``a*b``, as ``sp.Mul`` makes it; a product of two symbols (the staged form's usual term, ``df_dt3*h2``)
    without its general flattening: the two in SymPy's canonical order, by name."""
    if type(b) is sp.Symbol and a.name != b.name:
        return sp.Mul._from_args((a, b) if a.name < b.name else (b, a))
    return sp.Mul(a, b)


def text(e: Any) -> str:
    """``str(e)``, without SymPy's printer for a symbol or a product of two symbols (in a big graph, most of the
    staged forms: the printer took half the symbolic step of a 10,000-gate chain).

    >>> x, y = node_symbol("x"), node_symbol("y")
    >>> text(x), text(y*x), text(2*x + y)
    ('x', 'x*y', '2*x + y')
    """
    t = type(e)
    if t is sp.Symbol:
        return e.name
    if t is sp.Mul and len(e.args) == 2 and type(e.args[0]) is sp.Symbol and type(e.args[1]) is sp.Symbol:
        return f"{e.args[0].name}*{e.args[1].name}"  # the canonical order is the printed one (both by name)
    return str(e)


class LazyMap(Mapping[Any, Any]):
    """A read-only mapping whose keys are known at once and whose values are made on first read, each once
    (``make(key)``): a big graph's check reads the staged forms of its inputs only, not of its 10,000 gates.

    >>> m = LazyMap(["a", "b"], str.upper)
    >>> len(m), "b" in m, m.made, m["b"], m.made, dict(m)
    (2, True, 0, 'B', 1, {'a': 'A', 'b': 'B'})
    """

    def __init__(self, keys: Sequence[Any], make: Callable[[Any], Any]) -> None:
        self._keys = list(keys)
        self._known = set(self._keys)
        self._make = make
        self._made: dict[Any, Any] = {}

    def forget(self) -> None:
        """Drop the values made so far (they are made again when read)."""
        self._made.clear()

    @property
    def made(self) -> int:
        """How many values have been made so far."""
        return len(self._made)

    def __getitem__(self, key: Any) -> Any:
        try:
            return self._made[key]
        except KeyError:
            if key not in self._known:
                raise
        value = self._made[key] = self._make(key)
        return value

    def __contains__(self, key: object) -> bool:
        return key in self._known

    def __iter__(self) -> Iterator[Any]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return repr(dict(self))


def symbolic_gradients(graph: Graph, *, simplify: bool = True) -> SymbolicGradients:
    """Local partials and staged adjoints of every node (linear in the graph's size), each made when first read.

    >>> from gradlab import Graph
    >>> symbolic_gradients(Graph.parse("f = (x + y)*z")).staged["x"]
    df_dt1
    """
    g = graph
    plan = plan_of(g)
    out = plan.output
    out_name = plan.nodes[out]
    nodes = plan.nodes
    gate_partials: dict[int, list[sp.Expr]] = {}
    symbols: dict[int, sp.Expr] = {}  # each node's symbol (a constant's number), made once

    def symbol(i: int) -> sp.Expr:
        found = symbols.get(i)
        if found is None:
            found = symbols[i] = arg_expr(g, nodes[i])
        return found

    def partials_of(v: int) -> list[sp.Expr]:
        """The local partials of gate ``v`` in its arguments' symbols (all its wires at once)."""
        found = gate_partials.get(v)
        if found is None:
            op, param = plan.op[v], sympy_param(plan.param[v])
            assert op is not None
            args = [symbol(a) for a in plan.args[v]]
            found = None
            if not _uses_output(op, param):  # the gate's own symbol is made only where a partial has it
                found = [as_sympy(lp) for lp in op.partials(args, _OUT, param)]
                if any(lp.has(_OUT) for lp in found):
                    found = None
            if found is None:
                found = [as_sympy(lp) for lp in op.partials(args, symbol(v), param)]
            gate_partials[v] = found
        return found

    consumers: list[list[tuple[int, int]]] = [[] for _ in nodes]  # per node: (gate, k), gates in order
    for v in plan.gates:
        for k, u in enumerate(plan.args[v]):
            consumers[u].append((v, k))

    def staged(n: str) -> sp.Expr:
        u = plan.index[n]
        if u == out:
            return sp.Integer(1)
        terms = []
        for v, k in consumers[u]:
            lp = partials_of(v)[k]
            if v == out:
                terms.append(lp)
            elif lp == 1:
                terms.append(adjoint_symbol(out_name, nodes[v]))
            else:
                terms.append(_times(adjoint_symbol(out_name, nodes[v]), lp))
        return sp.Add(*terms) if terms else sp.Integer(0)

    edges = [(u, nodes[v], k) for v in plan.gates for k, u in enumerate(plan.arg_names[v])]
    partials = LazyMap(edges, lambda e: partials_of(plan.index[e[1]])[e[2]])
    staged_map = LazyMap(nodes, staged)

    def clear() -> None:
        symbols.clear()
        gate_partials.clear()
        partials.forget()
        staged_map.forget()

    return SymbolicGradients(g, partials, staged_map, simplify=simplify, clear_caches=clear)
