"""Symbolic gradients of tensor graphs, entry by entry: d L / d B_ij as a formula.

Every entry of a vector or matrix node has a symbol, 1-based as in the exercise sheets:
``p_1``, ``p_2`` for a vector ``p``, ``B_1_2`` for the entry B_{1,2} of a matrix ``B`` (numpy's
``B[0, 1]``); a number keeps its name. The adjoint of each node (d output / d node) is
accumulated in reverse through every gate's VJP (:mod:`gradlab.ops.tensor`), run on numpy
object arrays of SymPy expressions, by the one reverse pass of the symbolic engine
(:func:`gradlab.engine.symbolic.reverse_accumulation`, shares by :func:`gradlab.engine.symbolic.vjp_shares`), which tidies
each adjoint here before it is passed on. Like the scalar engine it gives

* ``named``: in the entries of the inputs and of the nodes the user named (anonymous gates
  substituted away): ``d L / d B_1_2 = v_2*(p_1 - y_1)/2``;
* ``staged``: in the adjoint symbols of the node's consumers: ``dL_dz_1*v_2``;
* ``full``: in the inputs only (grows quickly; for small graphs).

A label declared ``onehot``/``probs`` (and a named softmax output) sums to 1: a sum of all its
entries with one coefficient collapses to that coefficient, which turns the softmax-cross-entropy
adjoint ``p_j*(y_1 + y_2)/2 - y_j/2`` into the textbook ``(p_j - y_j)/2``.

>>> from gradlab import Graph
>>> g = Graph.parse("x: (3,); A: (2, 3); B: (2, 2); y: onehot(2); v = tanh(A @ x); z = B @ v; "
...                 "p = softmax(z); L = -sum(y*log(p))/2")
>>> ts = tensor_symbolic(g)
>>> ts.named("z")[0], ts.named("B")[0, 1]
((p_1 - y_1)/2, v_2*(p_1 - y_1)/2)
>>> ts.staged("A")[1, 2]
dL_dt1_2*x_3
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import sympy as sp

from ..model.graph import Graph
from ..ops import as_sympy
from ..ops.tensor import Shape, forward_values, softmax_axis, tensor_op, to2d
from .symbolic import adjoint_name, as_object, reverse_accumulation, vjp_shares

#: Entries of a node beyond which its adjoint is not simplified eagerly (only on request).
EAGER_TIDY_ENTRIES = 64
#: Expressions with at most this many tree nodes are simplified (expanded and factored) when tidied.
TIDY_SIZE = 80
#: Up to this size common factors are still pulled out (``(B_1_1*(p_1 - y_1) + ...)/2``).
FACTOR_SIZE = 400


def entry_name(node: str, idx: Sequence[int], shape: Shape) -> str:
    """``("B", (0, 1), (2, 3))`` -> ``"B_1_2"``; a vector entry ``p_1``; a number its own name."""
    if shape == ():
        return node
    if len(shape) == 1:
        return f"{node}_{idx[0] + 1}"
    if shape[0] == 1:
        return f"{node}_{idx[1] + 1}"
    return f"{node}_{idx[0] + 1}_{idx[1] + 1}"


def entry_symbols(node: str, shape: Shape, **assumptions: Any) -> np.ndarray:
    """An object array of the symbols of a node's entries (0-d for a number)."""
    kw = assumptions or {"real": True}
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = sp.Symbol(entry_name(node, idx, shape), **kw)
    return out


def node_symbols(graph: Graph, node: str) -> np.ndarray:
    """The entry symbols of an input or a named node, with the assumptions its domain gives."""
    d = graph.attrs(node)
    kw: dict[str, Any] = {}
    if d["kind"] == "input" and d.get("domain") == "positive":
        kw = {"positive": True}
    elif d["kind"] == "input" and d.get("domain") in ("onehot", "probs"):
        kw = {"nonnegative": True, "real": True}
    return entry_symbols(node, graph.shape(node), **kw)


def named_values(graph: Graph) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(symbols, values): entry symbols of inputs and named nodes, and every node's value in them."""
    symbols: dict[str, np.ndarray] = {}
    values: dict[str, np.ndarray] = {}
    for n in graph.nodes:
        d = graph.attrs(n)
        if d["kind"] == "input" or (d["kind"] == "op" and d.get("named")):
            symbols[n] = values[n] = node_symbols(graph, n)
        elif d["kind"] == "const":
            values[n] = as_object(as_sympy(d["value"]), ())
        else:
            args = graph.args(n)
            values[n] = np.asarray(forward_values(d["op"], [values[a] for a in args],
                                                  [graph.shape(a) for a in args], d.get("param"),
                                                  graph.shape(n)), dtype=object)
    return symbols, values


def named_definitions(graph: Graph) -> dict[sp.Symbol, sp.Expr]:
    """Each named node's entry symbol -> its value in the entries of earlier inputs and named nodes."""
    symbols, values = named_values(graph)
    out: dict[sp.Symbol, sp.Expr] = {}
    for n in graph.op_nodes:
        d = graph.attrs(n)
        if d.get("named"):
            args = graph.args(n)
            dfn = np.asarray(forward_values(d["op"], [values[a] for a in args], [graph.shape(a) for a in args],
                                            d.get("param"), graph.shape(n)), dtype=object)
            for sym, e in zip(symbols[n].reshape(-1), dfn.reshape(-1)):
                out[sym] = e
    return out


def simplex_constraints(graph: Graph) -> dict[sp.Symbol, sp.Expr]:
    """For each set of entries that sums to 1, its last entry written as 1 - the others (to decide identities)."""
    symbols = {n: node_symbols(graph, n) for n in graph.nodes
               if graph.kind(n) == "input" or graph.attrs(n).get("named")}
    return {grp[-1]: 1 - sp.Add(*grp[:-1]) for grp in simplex_groups(graph, symbols)}


def simplex_groups(graph: Graph, symbols: Mapping[str, np.ndarray]) -> list[tuple[sp.Symbol, ...]]:
    """Sets of entries that sum to 1: labels declared ``onehot``/``probs`` and named softmax outputs
    (a vector, or each column of a matrix)."""
    groups: list[tuple[sp.Symbol, ...]] = []
    for n in graph.nodes:
        d = graph.attrs(n)
        is_label = d["kind"] == "input" and d.get("domain") in ("onehot", "probs")
        gate = tensor_op(d.get("op")) if d["kind"] == "op" else None
        is_softmax = gate is not None and gate.sums_to_one and d.get("named")
        if not (is_label or is_softmax) or n not in symbols:
            continue
        shape = graph.shape(n)
        s2 = np.reshape(symbols[n], to2d(shape))
        if softmax_axis(shape) == -1:
            groups.extend(tuple(row) for row in s2)
        else:
            groups.extend(tuple(col) for col in s2.T)
    return groups


def collapse_sums(expr: sp.Expr, groups: Sequence[tuple[sp.Symbol, ...]]) -> sp.Expr:
    """Replace ``c*y_1 + ... + c*y_n`` by ``c`` inside every sum, for each group that sums to 1."""
    if not groups:
        return expr
    free = expr.free_symbols
    live = [g for g in groups if set(g) <= free]
    if not live:
        return expr

    def fold(add: sp.Expr) -> sp.Expr:
        terms = list(add.args)
        changed = False
        for group in live:
            gset = set(group)
            while True:
                # each term c*y_k of the sum, by entry: collapse when one c multiplies every entry
                found: dict[sp.Symbol, list[tuple[int, sp.Expr]]] = {s: [] for s in group}
                for i, t in enumerate(terms):
                    c, rest = t.as_independent(*group, as_Add=False)
                    if rest in gset:
                        found[rest].append((i, c))
                if any(not v for v in found.values()):
                    break
                pick = None
                for _, c in found[group[0]]:
                    rows = [next((i for i, c2 in found[s] if c2 == c), None) for s in group]
                    if all(r is not None for r in rows):
                        pick = (c, rows)
                        break
                if pick is None:
                    break
                c, rows = pick
                terms = [t for i, t in enumerate(terms) if i not in set(rows)] + [c]
                changed = True
        return sp.Add(*terms) if changed else add

    return expr.replace(lambda e: e.is_Add, fold)


def tidy(expr: sp.Expr, groups: Sequence[tuple[sp.Symbol, ...]] = ()) -> sp.Expr:
    """A bounded simplification in the textbook's shape: sums of labels collapsed, common factors out."""
    e = as_sympy(expr)
    if e.is_Atom:
        return e
    key = (e, tuple(groups))
    if key in _TIDY_MEMO:  # a gate that passes its adjoint on (+, identity) gives the same entries again
        return _TIDY_MEMO[key]
    n = tree_size(e, FACTOR_SIZE)
    if n > FACTOR_SIZE:
        out = e  # big entries are built from tidied parts already; simplifying them costs more than it gives
    elif n > TIDY_SIZE:
        out = sp.factor_terms(e)
    else:
        e2 = collapse_sums(e, groups)
        candidates = [sp.factor_terms(e2), e2]
        if e2 is not e or any(p.exp.is_negative for p in e2.atoms(sp.Pow)):  # something may cancel: expand
            ex = sp.expand(e2)
            candidates = [sp.factor_terms(ex)] + candidates + [ex]
        out = min(candidates, key=sp.count_ops)  # on a tie the factored form wins
    if len(_TIDY_MEMO) > 20_000:
        _TIDY_MEMO.clear()
    _TIDY_MEMO[key] = out
    return out


_TIDY_MEMO: dict[Any, sp.Expr] = {}


def tree_size(e: sp.Basic, cap: int) -> int:
    """The number of nodes of an expression tree, counted up to ``cap`` (cheap for big trees)."""
    n = 0
    stack = [e]
    while stack:
        x = stack.pop()
        n += 1
        if n > cap:
            return n
        stack.extend(x.args)
    return n


@dataclass
class TensorSymbolic:
    """Entry symbols, values and adjoints of a tensor graph (see the module docstring)."""

    graph: Graph
    symbols: dict[str, np.ndarray]
    values: dict[str, np.ndarray]
    raw_adjoints: dict[str, np.ndarray]
    groups: list[tuple[sp.Symbol, ...]]
    simplify: bool = True
    _tidy: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _staged: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _full: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def output(self) -> str:
        return self.graph.output

    def named(self, node: str) -> np.ndarray:
        """d output / d node, every entry, in the inputs' and the named nodes' entries (tidied)."""
        if node not in self._tidy:
            raw = self.raw_adjoints[node]
            if not self.simplify or raw.size > EAGER_TIDY_ENTRIES:
                # a big node's entries are products of tidied adjoints already (x_j*(1 - v_i**2)*(...)/2)
                self._tidy[node] = raw
            else:
                self._tidy[node] = _map(lambda e: tidy(e, self.groups), raw)
        return self._tidy[node]

    def entry(self, node: str, idx: Sequence[int] = ()) -> sp.Expr:
        """One entry of the named form: ``ts.entry("B", (0, 1))`` is d L / d B_1_2."""
        if node in self._tidy:
            return self._tidy[node][tuple(idx)]
        e = self.raw_adjoints[node][tuple(idx)]
        return tidy(e, self.groups) if self.simplify else e

    def definition(self, node: str) -> np.ndarray:
        """A named node's value in the entries of its arguments' named forms (``v_1 = tanh(A_1_1*x_1 + ...)``)."""
        g = self.graph
        d = g.attrs(node)
        if d["kind"] != "op":
            return self.values[node]
        args = g.args(node)
        return np.asarray(forward_values(d["op"], [self.values[a] for a in args], [g.shape(a) for a in args],
                                         d.get("param"), g.shape(node)), dtype=object)

    def definitions(self) -> dict[sp.Symbol, sp.Expr]:
        """Every named node's entry symbol -> its definition (for substituting named nodes away)."""
        out: dict[sp.Symbol, sp.Expr] = {}
        for n in self.graph.op_nodes:
            if self.graph.attrs(n).get("named"):
                for s, e in zip(self.symbols[n].reshape(-1), self.definition(n).reshape(-1)):
                    out[s] = e
        return out

    def staged(self, node: str) -> np.ndarray:
        """d output / d node in the adjoint symbols of its consumers: ``dL_dz_1*v_2`` for ``B_1_2``."""
        if node in self._staged:
            return self._staged[node]
        g = self.graph
        out = g.output
        acc = as_object(sp.Integer(0), g.shape(node))
        if node == out:
            acc = as_object(sp.Integer(1), ())
        shares = vjp_shares(g, self.values)
        for v, k in g.consumers(node):
            if v not in self.raw_adjoints:
                continue
            gv = as_object(sp.Integer(1), ()) if v == out else entry_symbols(adjoint_name(out, v), g.shape(v))
            acc = as_object(acc + np.asarray(shares(v, gv)[k], dtype=object), g.shape(node))
        self._staged[node] = as_object(acc, g.shape(node))
        return acc

    def full(self, node: str) -> np.ndarray:
        """d output / d node in the inputs only (named nodes substituted; grows fast: small graphs)."""
        if node not in self._full:
            sub = self.definitions()
            e = self.named(node)
            for _ in range(len(self.graph.nodes)):
                if not any(set(sub) & x.free_symbols for x in e.reshape(-1) if isinstance(x, sp.Basic)):
                    break
                e = _map(lambda x: x.xreplace(sub), e)
            self._full[node] = e
        return self._full[node]

    def representative(self, node: str) -> tuple[tuple[int, ...], sp.Expr]:
        """One entry with all indices distinct where possible (B_1_2 rather than B_1_1), and its formula."""
        shape = self.graph.shape(node)
        idx: tuple[int, ...] = ()
        if len(shape) == 1:
            idx = (0,)
        elif len(shape) == 2:
            idx = (0, 1 if shape[1] > 1 else 0) if shape[0] > 1 else (0, min(1, shape[1] - 1))
        return idx, self.entry(node, idx)


def _map(fn: Any, arr: np.ndarray) -> np.ndarray:
    out = np.empty(arr.shape, dtype=object)
    for idx in np.ndindex(*arr.shape):
        out[idx] = fn(arr[idx])
    return out


_CACHE: "OrderedDict[tuple[str, bool], TensorSymbolic]" = OrderedDict()
CACHE_SIZE = 16


def tensor_symbolic(graph: Graph, *, simplify: bool = True, identity: Iterable[str] = ()) -> TensorSymbolic:
    """Entry symbols, named-form values and adjoints of every node of a tensor graph.

    ``identity`` names one-argument gates whose local derivative is taken as 1 (to model a
    forgotten activation derivative). Results are cached by the graph's content (a check
    and its claims reuse them).
    """
    identity = tuple(sorted(identity))
    key = None
    if not identity:
        key = (graph.to_json(sort_keys=True), simplify)
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    ts = _tensor_symbolic(graph, simplify, identity)
    if key is not None:
        _CACHE[key] = ts
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return ts


def _tensor_symbolic(graph: Graph, simplify: bool, identity: Iterable[str]) -> TensorSymbolic:
    g = graph
    out = g.output
    identity = set(identity)
    symbols, values = named_values(g)
    groups = simplex_groups(g, symbols)
    if g.shape(out) != ():
        from ..errors import ShapeError
        from ..ops.tensor import shape_text

        raise ShapeError(f"the output '{out}' is {shape_text(g.shape(out))}; gradients need a number (a loss)")

    def tidied(v: str, gv: np.ndarray) -> np.ndarray:
        return _map(lambda e: tidy(e, groups), gv) if gv.size <= EAGER_TIDY_ENTRIES else gv

    adj = reverse_accumulation(g, vjp_shares(g, values, identity=identity), prepare=tidied if simplify else None)
    ts = TensorSymbolic(g, symbols, values, adj, groups, simplify)
    for n in g.nodes:
        if simplify and adj[n].size <= EAGER_TIDY_ENTRIES and n != out:
            ts._tidy[n] = adj[n]  # tidied on the way
    return ts


__all__ = ["tensor_symbolic", "TensorSymbolic", "entry_name", "entry_symbols", "tidy", "collapse_sums",
           "simplex_groups", "simplex_constraints", "named_values", "named_definitions", "node_symbols"]
