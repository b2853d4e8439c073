"""Symbolic gradients by reverse accumulation over the graph, linear in its size.

For every node u: ``adjoint(u) = sum over wires u -> v (argument k) of adjoint(v) * d v/d arg_k``,
with each gate's textbook local partial. Three forms of each adjoint:

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

>>> from gradlab import Graph
>>> sg = symbolic_gradients(Graph.parse("z = w0*x0 + w1*x1 + w2; a = sigmoid(z)"))
>>> sg.named("x0")
a*w0*(1 - a)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import sympy as sp

from .graph import Graph, _sp_param
from .ops import OPS, as_sympy

#: Graphs with more gates than this get only the staged form (no substitution into the inputs).
FULL_FORM_LIMIT = 400
#: Expressions with at most this many operations are simplified (SymPy's simplify is slow).
SIMPLIFY_LIMIT = 60
#: A form in the inputs (or in named nodes) is shown only while its estimated tree size stays
#: under this: beyond it a formula is unreadable, and printing it costs more than the whole check.
READABLE_SIZE = 400

FORMS = ("expr", "named", "staged")

Edge = tuple[str, str, int]


def adjoint_symbol(output: str, node: str) -> sp.Symbol:
    """The symbol for d output / d node in staged forms: ``da_dz``."""
    return sp.Symbol(f"d{output}_d{node}", real=True)


def accumulate_adjoints(graph: Graph, partials: Mapping[Edge, sp.Expr], exprs: Mapping[str, sp.Expr]
                        ) -> dict[str, sp.Expr]:
    """Reverse accumulation: each node's adjoint is the sum over its out-wires of the consumer's
    adjoint times the wire's local partial, the partials written in ``exprs`` (each op node's
    symbol replaced by its expression there)."""
    sub = {graph.symbol(n): e for n, e in exprs.items() if graph.kind(n) == "op"}
    terms: dict[str, list[sp.Expr]] = {n: [] for n in graph.nodes}
    adj: dict[str, sp.Expr] = {}
    out = graph.output
    for v in reversed(graph.nodes):
        adj[v] = sp.Integer(1) if v == out else sp.Add(*terms[v])
        if graph.kind(v) != "op" or adj[v] == 0:
            continue
        for k, u in enumerate(graph.args(v)):
            terms[u].append(adj[v] * partials[(u, v, k)].xreplace(sub))
    return adj


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
        g = self.graph
        for n in g.nodes:
            d = g.attrs(n)
            if d["kind"] == "input":
                self._full_expr[n] = self._named_expr[n] = g.symbol(n)
            elif d["kind"] == "const":
                self._full_expr[n] = self._named_expr[n] = as_sympy(d["value"])
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
        return accumulate_adjoints(self.graph, self.partials, exprs)

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
            lp = as_sympy(lp)
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
