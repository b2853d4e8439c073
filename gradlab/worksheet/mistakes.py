"""Wrong answers generated from the graph, so that grading can name the mistake a student made.

For a partial derivative d output / d x (a formula), each common mistake is one changed run of
reverse accumulation over the graph's own local derivatives:

* ``chain``: one local derivative on a path from x to the output left out (replaced by 1);
* ``sigmoid`` / ``tanh``: σ(z) where σ(z)(1 − σ(z)) belongs (tanh where 1 − tanh² belongs);
* ``fork``: at a node used twice, only one branch's gradient taken instead of the sum;
* ``sign``: the right formula with the wrong sign;
* ``forward``: the output's forward value instead of its gradient.

For a blank on a wire (a number) the mistakes are the same ideas on one wire: the local derivative
alone, the incoming gradient alone, σ for σ(1 − σ), the wire's forward value, the wrong sign.

>>> from gradlab import Graph
>>> g = Graph.parse("z = w0*x0 + w2; a = sigmoid(z)")
>>> [m.id for m in formula_mistakes(g, "x0")]
['chain', 'chain', 'sigmoid', 'sign', 'forward']
"""

from __future__ import annotations

from typing import Callable

import networkx as nx
import numpy as np
import sympy as sp

from ..answerkey import MISTAKES, Mistake
from ..graph import Graph, _sp_param
from ..numeric import Evaluation
from ..ops import OPS
from ..symbolic import SymbolicGradients, symbolic_gradients
from .mathtext import key_text

Edge = tuple[str, str, int]


def named_values(graph: Graph) -> dict[str, sp.Expr]:
    """Each node's value in the inputs and the user's names (anonymous gates substituted away)."""
    out: dict[str, sp.Expr] = {}
    for n in graph.nodes:
        d = graph.attrs(n)
        if d["kind"] == "input":
            out[n] = graph.symbol(n)
        elif d["kind"] == "const":
            out[n] = sp.sympify(d["value"])
        else:
            local = OPS[d["op"]].sym([out[a] for a in graph.args(n)], _sp_param(d.get("param")))
            out[n] = graph.symbol(n) if d.get("named") else local
    return out


def definitions(graph: Graph) -> dict[str, str]:
    """The named nodes' definitions, in order: ``{"z": "w0*x0 + w2", "a": "sigmoid(z)"}``."""
    vals = named_values(graph)
    out: dict[str, str] = {}
    for n in graph.nodes:
        d = graph.attrs(n)
        if d["kind"] == "op" and d.get("named"):
            local = OPS[d["op"]].sym([vals[a] for a in graph.args(n)], _sp_param(d.get("param")))
            out[n] = key_text(local)
    return out


def adjoint(graph: Graph, target: str, *, change: Callable[[Edge, sp.Expr], sp.Expr] | None = None,
            drop: set[Edge] | None = None, sg: SymbolicGradients | None = None) -> sp.Expr:
    """d output / d target in named form, with some local derivatives changed or wires dropped."""
    sg = sg or symbolic_gradients(graph, simplify=False)
    vals = named_values(graph)
    sub = {graph.symbol(n): e for n, e in vals.items() if graph.kind(n) == "op"}
    terms: dict[str, list[sp.Expr]] = {n: [] for n in graph.nodes}
    adj: dict[str, sp.Expr] = {}
    out = graph.output
    for v in reversed(graph.nodes):
        adj[v] = sp.Integer(1) if v == out else sp.Add(*terms[v])
        if graph.kind(v) != "op" or adj[v] == 0:
            continue
        for k, u in enumerate(graph.args(v)):
            e = (u, v, k)
            if drop and e in drop:
                continue
            lp = sg.partials[e]
            if change is not None:
                lp = change(e, lp)
            terms[u].append(adj[v] * lp.xreplace(sub))
    return adj[target]


def path_edges(graph: Graph, target: str) -> list[Edge]:
    """Wires on some path from ``target`` to the output, in backward order."""
    out = graph.output
    up = nx.descendants(graph.nx, target) | {target}
    down = nx.ancestors(graph.nx, out) | {out}
    pos = {n: i for i, n in enumerate(graph.nodes)}
    edges = [(u, v, k) for u, v, k in graph.edges() if u in up and v in down and u in down]
    return sorted(edges, key=lambda e: (-pos[e[1]], e[2]))


def formula_mistakes(graph: Graph, target: str) -> list[Mistake]:
    """Generated wrong formulas for d output / d target (duplicates and right answers removed)."""
    sg = symbolic_gradients(graph, simplify=False)
    right = adjoint(graph, target, sg=sg)
    found: list[tuple[str, sp.Expr, str]] = []
    on_path = path_edges(graph, target)
    for e in on_path:
        lp = sg.partials[e]
        if lp in (sp.Integer(1), sp.Integer(-1)):
            continue
        found.append(("chain", adjoint(graph, target, change=lambda ed, p, e=e: sp.Integer(1) if ed == e else p, sg=sg),
                      f"the local derivative of {_gate(graph, e[1])} left out"))
    for e in on_path:
        op = graph.attrs(e[1]).get("op")
        if op in ("sigmoid", "tanh"):
            o = graph.symbol(e[1])
            found.append((op, adjoint(graph, target, change=lambda ed, p, e=e, o=o: o if ed == e else p, sg=sg), ""))
    path = set(on_path)
    for n in graph.nodes:
        outs = [(n, v, k) for v, k in graph.consumers(n) if (n, v, k) in path]
        if len(outs) > 1:
            for keep in outs:
                found.append(("fork", adjoint(graph, target, drop={e for e in outs if e != keep}, sg=sg),
                              f"only the branch through {_gate(graph, keep[1])}"))
    found.append(("sign", -right, ""))
    found.append(("forward", named_values(graph)[graph.output], ""))
    return _distinct(graph, right, found)


def _gate(graph: Graph, node: str) -> str:
    d = graph.attrs(node)
    return f"{node} = {d['text']}" if d.get("named") and d.get("text") else f"the {d.get('label', node)} gate"


def _distinct(graph: Graph, right: sp.Expr, found: list[tuple[str, sp.Expr, str]]) -> list[Mistake]:
    """Drop wrong answers that equal the right one, or an earlier wrong one, at random points."""
    from ..grading.formulas import evaluate_points  # the same evaluator grading uses

    vals = named_values(graph)
    full = _expander(graph, vals)
    inputs = [graph.symbol(n) for n in graph.inputs]
    pts = np.random.default_rng(0).uniform(-2.5, 2.5, size=(8, len(inputs)))
    seen = [evaluate_points(full(right), inputs, pts)]
    out: list[Mistake] = []
    for mid, expr, detail in found:
        v = evaluate_points(full(expr), inputs, pts)
        if not np.isfinite(v).any() or any(np.allclose(v, s, rtol=1e-9, atol=1e-12, equal_nan=True) for s in seen):
            continue
        seen.append(v)
        out.append(Mistake(mid, MISTAKES[mid], formula=key_text(expr), detail=detail))
    return out


def _expander(graph: Graph, vals: dict[str, sp.Expr]) -> Callable[[sp.Expr], sp.Expr]:
    full: dict[sp.Symbol, sp.Expr] = {}
    for n in graph.nodes:
        d = graph.attrs(n)
        if d["kind"] == "op" and d.get("named"):
            local = OPS[d["op"]].sym([vals[a] for a in graph.args(n)], _sp_param(d.get("param")))
            full[graph.symbol(n)] = local.xreplace(full)

    def expand(e: sp.Expr) -> sp.Expr:
        return e.xreplace(full)

    return expand


def wire_mistakes(graph: Graph, ev: Evaluation, wire: tuple[str, str | None, int], kind: str) -> list[Mistake]:
    """Generated wrong numbers for a blank on a wire (value or gradient), right answer excluded."""
    u, v, k = wire
    value = float(ev.values[u])
    found: list[tuple[str, float]] = []
    if kind == "gradient" and v is not None:
        incoming = float(ev.adjoints[v])
        local = float(ev.local[(u, v, k)])
        right = incoming * local
        op = graph.attrs(v).get("op")
        if op in ("sigmoid", "tanh"):
            found.append((op, incoming * float(ev.values[v])))
        found += [("local", local), ("chain", incoming), ("forward", value), ("sign", -right)]
    elif kind == "gradient":
        right = 1.0
        found.append(("forward", value))
    else:
        right = value
        found.append(("sign", -value))
    out: list[Mistake] = []
    seen = [right]
    for mid, x in found:
        if not np.isfinite(x) or any(abs(x - s) <= 1e-9 * max(1.0, abs(s)) for s in seen):
            continue
        seen.append(x)
        out.append(Mistake(mid, MISTAKES[mid], value=float(x)))
    return out


__all__ = ["formula_mistakes", "wire_mistakes", "definitions", "named_values", "adjoint", "path_edges"]
