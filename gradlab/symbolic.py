"""Symbolic gradients by reverse accumulation over the graph, linear in its size.

For every node u: ``adjoint(u) = sum over wires u -> v (argument k) of adjoint(v) * d v/d arg_k``,
with each gate's textbook local partial. Three forms of each adjoint:

* ``staged``: in node symbols and the adjoint symbols of the node's consumers
  (``da_dz*w0``): always linear in size, the form for big graphs;
* ``named``: in the inputs and the names the user gave (statement names), anonymous
  gates ``t1, t2`` substituted away: ``w0*a*(1 - a)``;
* ``expr``: in the inputs only, simplified where that is small.

The full substituted output is never differentiated (that is the expression swell
of the naive route); only small graphs get the ``named`` and ``expr`` forms.

>>> from gradlab import Graph
>>> sg = symbolic_gradients(Graph.parse("z = w0*x0 + w1*x1 + w2; a = sigmoid(z)"))
>>> sg.named("x0")
a*w0*(1 - a)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from .graph import Graph, _sp_param
from .ops import OPS

#: Graphs with more gates than this get only the staged form (no substitution into the inputs).
FULL_FORM_LIMIT = 400
#: Expressions with at most this many operations are simplified (SymPy's simplify is slow).
SIMPLIFY_LIMIT = 60

Edge = tuple[str, str, int]


def adjoint_symbol(output: str, node: str) -> sp.Symbol:
    """The symbol for d output / d node in staged forms: ``da_dz``."""
    return sp.Symbol(f"d{output}_d{node}", real=True)


@dataclass
class SymbolicGradients:
    """Local partials and adjoints of every node; see the module docstring for the forms."""

    graph: Graph
    partials: dict[Edge, sp.Expr]
    staged: dict[str, sp.Expr]
    simplify: bool = True
    _named_expr: dict[str, sp.Expr] = field(default_factory=dict, repr=False)
    _named_adj: dict[str, sp.Expr] = field(default_factory=dict, repr=False)
    _full_expr: dict[str, sp.Expr] = field(default_factory=dict, repr=False)
    _full_adj: dict[str, sp.Expr] = field(default_factory=dict, repr=False)
    _simplified: dict[str, sp.Expr] = field(default_factory=dict, repr=False)

    @property
    def small(self) -> bool:
        """Whether the graph is small enough for forms in the inputs."""
        if "_small" not in self.__dict__:
            self.__dict__["_small"] = len(self.graph.op_nodes) <= FULL_FORM_LIMIT
        return self.__dict__["_small"]

    # forward expressions ----------------------------------------------------------------
    def _fill_forward(self) -> None:
        if self._full_expr:
            return
        g = self.graph
        for n in g.nodes:
            d = g.attrs(n)
            if d["kind"] == "input":
                self._full_expr[n] = self._named_expr[n] = g.symbol(n)
            elif d["kind"] == "const":
                self._full_expr[n] = self._named_expr[n] = sp.sympify(d["value"])
            else:
                op, p = OPS[d["op"]], _sp_param(d.get("param"))
                self._full_expr[n] = op.sym([self._full_expr[a] for a in g.args(n)], p)
                local = op.sym([self._named_expr[a] for a in g.args(n)], p)
                self._named_expr[n] = g.symbol(n) if d.get("named") else local

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
        return OPS[d["op"]].sym([self._named_expr[a] for a in self.graph.args(node)], _sp_param(d.get("param")))

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
        g = self.graph
        sub = {g.symbol(n): e for n, e in exprs.items() if g.kind(n) == "op"}
        terms: dict[str, list[sp.Expr]] = {n: [] for n in g.nodes}
        adj: dict[str, sp.Expr] = {}
        out = g.output
        for v in reversed(g.nodes):
            adj[v] = sp.Integer(1) if v == out else sp.Add(*terms[v])
            if g.kind(v) != "op" or adj[v] == 0:
                continue
            for k, u in enumerate(g.args(v)):
                terms[u].append(adj[v] * self.partials[(u, v, k)].xreplace(sub))
        return adj

    def named(self, node: str) -> sp.Expr:
        """d output / d node in the inputs and the user's names (``w0*a*(1 - a)``)."""
        self._fill_named()
        return self._named_adj[node]

    def full(self, node: str) -> sp.Expr:
        """d output / d node in the inputs only, unsimplified."""
        self._fill_adjoints()
        return self._full_adj[node]

    def expr(self, node: str) -> sp.Expr:
        """d output / d node in the inputs, simplified where it is small (else the staged form on big graphs)."""
        if not self.small:
            return self.staged[node]
        if node not in self._simplified:
            e = self.full(node)
            if self.simplify and sp.count_ops(e) <= SIMPLIFY_LIMIT:
                e = tidy(e)
            self._simplified[node] = e
        return self._simplified[node]

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


def symbolic_gradients(graph: Graph, *, simplify: bool = True) -> SymbolicGradients:
    """Local partials and staged adjoints of every node (linear in the graph's size).

    >>> from gradlab import Graph
    >>> symbolic_gradients(Graph.parse("f = (x + y)*z")).staged["x"]
    df_dt1
    """
    g = graph
    out = g.output
    partials: dict[Edge, sp.Expr] = {}
    staged: dict[str, Any] = {n: [] for n in g.nodes}
    for v in g.nodes:
        d = g.attrs(v)
        if d["kind"] != "op":
            continue
        args = g.args(v)
        arg_syms = [g._arg_sym(a) for a in args]
        parts = OPS[d["op"]].partials(arg_syms, g.symbol(v), _sp_param(d.get("param")))
        for k, (u, lp) in enumerate(zip(args, parts)):
            lp = sp.sympify(lp)
            partials[(u, v, k)] = lp
            if v == out:
                staged[u].append(lp)
            elif lp == 1:
                staged[u].append(adjoint_symbol(out, v))
            else:
                staged[u].append(sp.Mul(adjoint_symbol(out, v), lp))
    staged_exprs = {n: (sp.Add(*terms) if terms else sp.Integer(0)) for n, terms in staged.items()}
    staged_exprs[out] = sp.Integer(1)
    return SymbolicGradients(g, partials, staged_exprs, simplify=simplify)
