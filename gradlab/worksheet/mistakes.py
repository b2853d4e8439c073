"""Wrong answers generated from the graph, so that grading can name the mistake a student made.

For a partial derivative d output / d x (a formula), each common mistake is one changed run of
reverse accumulation over the graph's own local derivatives:

* ``chain``: one local derivative on a path from x to the output left out (replaced by 1);
* ``sigmoid`` / ``tanh``: σ(z) where σ(z)(1 − σ(z)) belongs (tanh where 1 − tanh² belongs);
* ``fork``: at a node used twice, only one branch's gradient taken instead of the sum;
* ``sign``: the right formula with the wrong sign;
* ``forward``: the output's forward value instead of its gradient;
* ``variable``: the gradient with respect to another input or named node (``x0*a*(1-a)`` for ``∂a/∂x0``).

These are the candidates ``gradlab verify`` tries too, and grading names the one an answer matches with
:func:`gradlab.model.mistakes.name_mistake`, as verify does: both name the same mistake.

For a blank on a wire (a number) the mistakes are the same ideas on one wire: the local derivative
alone, the incoming gradient alone, σ for σ(1 − σ), the wire's forward value, the wrong sign.

For a gradient of a tensor graph as a matrix formula (:func:`matrix_mistakes`) the wrong answers
are changes of gradlab's own matrix form: the constant factor left out (``(p - y) @ v.T`` for
``(p - y) @ v.T / 2``), the sign (``(y - p) @ v.T / 2``), the transpose (``v @ (p - y).T / 2``),
an activation's local derivative left out (``1 - v**2``), the label left out (``p`` for
``p - y``); each is kept only when :func:`gradlab.check.verify.verify` finds it wrong and names that
very mistake, the way grading will.

>>> from gradlab import Graph
>>> g = Graph.parse("z = w0*x0 + w2; a = sigmoid(z)")
>>> [m.id for m in formula_mistakes(g, "x0")]
['chain', 'chain', 'sigmoid', 'sign', 'forward', 'variable']
"""

from __future__ import annotations

from typing import Any, Callable

import networkx as nx
import numpy as np
import sympy as sp

from ..check.verify_scalar import derivative_chains
from ..engine.numeric import Evaluation
from ..engine.symbolic import (
    SymbolicGradients,
    accumulate_adjoints,
    node_symbol,
    symbolic_gradients,
    sympy_param,
    value_exprs,
)
from ..lang.claims import claim_names
from ..model.answerkey import MISTAKES, Mistake
from ..model.graph import Graph
from ..model.mistakes import gate_output
from ..model.mistakes import message as _message
from ..ops import OPS
from ..ops.tensor import tensor_function, tensor_op
from .mathtext import key_text

Edge = tuple[str, str, int]


def definitions(graph: Graph) -> dict[str, str]:
    """The named nodes' definitions, in order: ``{"z": "w0*x0 + w2", "a": "sigmoid(z)"}``."""
    vals = value_exprs(graph, named=True)
    out: dict[str, str] = {}
    for n in graph.nodes:
        d = graph.attrs(n)
        if d["kind"] == "op" and d.get("named"):
            local = OPS[d["op"]].sym([vals[a] for a in graph.args(n)], sympy_param(d.get("param")))
            out[n] = key_text(local)
    return out


def adjoint(graph: Graph, target: str, *, change: Callable[[Edge, sp.Expr], sp.Expr] | None = None,
            drop: set[Edge] | None = None, sg: SymbolicGradients | None = None) -> sp.Expr:
    """d output / d target in named form, with some local derivatives changed or wires dropped."""
    sg = sg or symbolic_gradients(graph, simplify=False)
    partials = {e: sp.Integer(0) if drop and e in drop else change(e, lp) if change is not None else lp
                for e, lp in sg.partials.items()}
    return accumulate_adjoints(graph, partials, value_exprs(graph, named=True))[target]


def _ones(edges: set[Edge]) -> Callable[[Edge, sp.Expr], sp.Expr]:
    """A ``change`` for :func:`adjoint`: 1 as the local derivative on each of ``edges``."""
    return lambda e, p: sp.Integer(1) if e in edges else p


def _replace(edge: Edge, local: sp.Expr) -> Callable[[Edge, sp.Expr], sp.Expr]:
    """A ``change`` for :func:`adjoint`: ``local`` as the local derivative on ``edge``."""
    return lambda e, p: local if e == edge else p


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
        found.append(("chain", adjoint(graph, target, change=_replace(e, sp.Integer(1)), sg=sg),
                      f"the local derivative of {_gate(graph, e[1])} left out"))
    for e in on_path:
        op = _output_mistake(graph.attrs(e[1]).get("op"))
        if op is not None:
            o = node_symbol(e[1])
            found.append((op, adjoint(graph, target, change=_replace(e, o), sg=sg), ""))
    for chain, _, what in derivative_chains(graph, target):  # a whole activation left out (a textbook sigmoid)
        if len(chain) > 1:
            found.append(("chain", adjoint(graph, target, change=_ones(set(chain)), sg=sg),
                          f"the derivative of {what} left out"))
    path = set(on_path)
    for n in graph.nodes:
        outs = [(n, v, k) for v, k in graph.consumers(n) if (n, v, k) in path]
        if len(outs) > 1:
            for keep in outs:
                found.append(("fork", adjoint(graph, target, drop={e for e in outs if e != keep}, sg=sg),
                              f"only the branch through {_gate(graph, keep[1])}"))
    found.append(("sign", -right, ""))
    found.append(("forward", value_exprs(graph, named=True)[graph.output], ""))
    for n in claim_names(graph):  # the gradient of another variable (x0 for w0: the factors of a product swapped)
        if n not in (target, graph.output):
            found.append(("variable", adjoint(graph, n, sg=sg), f"d{graph.output}/d{n}"))
    return _distinct(graph, right, found)


def _output_mistake(op_name: Any) -> str | None:
    """The id of the mistake of writing a gate's output for its derivative (σ for σ·(1 − σ)), where the
    gate's record names that mistake: the gate's name."""
    return op_name if isinstance(op_name, str) and gate_output(op_name) else None


def _sums_to_one(op: Any) -> bool:
    return op is not None and op.sums_to_one


def _gate(graph: Graph, node: str) -> str:
    d = graph.attrs(node)
    return f"{node} = {d['text']}" if d.get("named") and d.get("text") else f"the {d.get('label', node)} gate"


def _distinct(graph: Graph, right: sp.Expr, found: list[tuple[str, sp.Expr, str]]) -> list[Mistake]:
    """Drop wrong answers that equal the right one, or an earlier wrong one, at random points."""
    from ..grading.formulas import evaluate_points  # the same evaluator grading uses

    vals = value_exprs(graph, named=True)
    full = _expander(graph, vals)
    inputs = [node_symbol(n) for n in graph.inputs]
    pts = np.random.default_rng(0).uniform(-2.5, 2.5, size=(8, len(inputs)))
    seen = [evaluate_points(full(right), inputs, pts)]
    out: list[Mistake] = []
    for mid, expr, detail in found:
        v = evaluate_points(full(expr), inputs, pts)
        if not np.isfinite(v).any() or any(np.allclose(v, s, rtol=1e-9, atol=1e-12, equal_nan=True) for s in seen):
            continue
        seen.append(v)
        out.append(Mistake(mid, _message(mid), formula=key_text(expr), detail=detail))
    return out


def _expander(graph: Graph, vals: dict[str, sp.Expr]) -> Callable[[sp.Expr], sp.Expr]:
    full: dict[sp.Symbol, sp.Expr] = {}
    for n in graph.nodes:
        d = graph.attrs(n)
        if d["kind"] == "op" and d.get("named"):
            local = OPS[d["op"]].sym([vals[a] for a in graph.args(n)], sympy_param(d.get("param")))
            full[node_symbol(n)] = local.xreplace(full)

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
        op = _output_mistake(graph.attrs(v).get("op"))
        if op is not None:
            found.append((op, incoming * float(ev.values[v])))
        found += [("local", local), ("chain", incoming), ("forward", value), ("sign", -right)]
    elif kind == "gradient":
        right = 1.0
        found.append(("forward", value))
    else:
        right = value
        found.append(("sign", -value))
    return _distinct_mistakes(found, right)



# ----------------------------------------------------------------------------- vectors and matrices

def tensor_definitions(graph: Graph) -> dict[str, str]:
    """The named nodes' statements of a tensor graph, in order: ``{"u": "A @ x", "v": "tanh(u)", ...}``."""
    return {n: str(graph.attrs(n).get("text") or n) for n in graph.op_nodes if graph.attrs(n).get("named")}


def _activation_factors(graph: Graph, wrt: str) -> list[Any]:
    """The local derivatives (matrix formulas such as ``1 - v**2``) of the one-argument gates between
    ``wrt`` and the output, as the matrix forms multiply them in."""
    from ..engine.tensor_forms import ONE, value_forms, vjp_forms
    from ..lang.claims import forgettable_gates

    vals = value_forms(graph)
    out = []
    for n in forgettable_gates(graph, wrt):
        d = graph.attrs(n)
        (a,) = graph.args(n)
        va, vn = vals.get(a), vals.get(n)
        if va is None or vn is None:
            continue
        share = vjp_forms(d["op"], ONE, [va], vn, [graph.shape(a)], d.get("param"), graph.shape(n))[0]
        if share is not None:
            out.append(share)
    return out


def _drop_factor(e: Any, factor: Any) -> Any:
    from ..engine.tensor_forms import M

    if e.kind == "mul" and factor in e.args:
        rest = e.args[1] if e.args[0] == factor else e.args[0]
        return _drop_factor(rest, factor)
    if not e.args:
        return e
    return M(e.kind, tuple(_drop_factor(a, factor) for a in e.args), e.shape, e.value)


def _drop_label(e: Any, graph: Graph) -> Any:
    """``p - y`` -> ``p`` where ``y`` is a label and ``p`` a softmax (named or ``softmax(z)``)."""
    from ..engine.tensor_forms import M
    from .tensors import labels

    labs = set(labels(graph))
    if e.kind == "sub":
        a, b = e.args
        soft = (a.kind == "name" and _sums_to_one(tensor_op(graph.attrs(str(a.value)).get("op")))) or (
            a.kind == "call" and _sums_to_one(tensor_function(a.value)))
        if b.kind == "name" and b.value in labs and soft:
            return a
    if not e.args:
        return e
    return M(e.kind, tuple(_drop_label(a, graph) for a in e.args), e.shape, e.value)


def transposed_form(e: Any) -> Any:
    """The transpose of a matrix formula, written the textbook way: ``v @ (p - y).T / 2`` for
    ``((p - y) @ v.T / 2).T``."""
    from ..engine.tensor_forms import div, matmul, mul, neg, transpose

    if e.shape == ():
        return e
    k = e.kind
    if k == "T":
        return e.args[0]
    if k == "matmul":
        return matmul(transposed_form(e.args[1]), transposed_form(e.args[0]))
    if k == "neg":
        return neg(transposed_form(e.args[0]))
    if k == "div" and e.args[1].shape == ():
        return div(transposed_form(e.args[0]), e.args[1])
    if k == "mul" and (e.args[0].shape == () or e.args[1].shape == ()):
        return mul(transposed_form(e.args[0]), transposed_form(e.args[1]))
    return transpose(e)


def _flipped(e: Any) -> Any:
    """The formula with its first difference turned round (``(y - p) @ v.T / 2`` for ``(p - y) @ v.T / 2``), or None."""
    from ..engine.tensor_forms import M

    if e.kind == "sub":
        return M("sub", (e.args[1], e.args[0]), e.shape)
    if e.kind in ("matmul", "mul", "div"):
        for i in ((0, 1) if e.kind != "div" else (0,)):
            f = _flipped(e.args[i])
            if f is not None:
                args = list(e.args)
                args[i] = f
                return M(e.kind, tuple(args), e.shape, e.value)
    return None


def matrix_mistakes(graph: Graph, wrt: str, right: Any, *, seed: int = 0) -> list[tuple[Mistake, Any]]:
    """Generated wrong matrix formulas for d output / d ``wrt`` (see the module docstring), each
    with the formula as an :class:`~gradlab.engine.tensor_forms.M` tree; only those verify names as such."""
    from ..check.verify import verify
    from ..engine.tensor_forms import _split, neg, scale, show
    from ..grading.matrices import mistake_message, yours

    found: list[tuple[str, Any]] = []
    c, rest = _split(right)
    if rest is not None and c not in (1, -1):
        found.append(("factor", scale(1 if c > 0 else -1, rest)))
    flipped = _flipped(right)
    found.append(("sign", flipped if flipped is not None else neg(right)))
    if graph.shape(wrt):
        found.append(("transposed", transposed_form(right)))
    for factor in _activation_factors(graph, wrt):
        found.append(("chain", _drop_factor(right, factor)))
    found.append(("label", _drop_label(right, graph)))
    out: list[tuple[Mistake, Any]] = []
    seen = {show(right)}
    lhs = f"d{graph.output}/d{wrt}"
    for mid, wrong in found:
        text = show(wrong)
        if text in seen:
            continue
        seen.add(text)
        r = verify(graph, lhs, text, seed=seed, symbolic=False, explain=False)
        if r.ok or r.mistake_id != mid:
            continue
        out.append((Mistake(mid, mistake_message([mid], yours(r.hint)), formula=text, detail=str(r.mistake)), wrong))
    return out


def matrix_entry_mistakes(graph: Graph, values: dict[str, Any], node: str, idx: tuple[int, ...], right: float,
                          mistakes: list[tuple[Mistake, Any]]) -> list[Mistake]:
    """The wrong matrix formulas of ``d output / d node`` evaluated at a point, at the entry ``idx``
    (a transposed formula at the transposed entry); the sign error always."""
    from ..engine.tensor_forms import show
    from ..lang.claims import claim_names
    from ..lang.tensor_expr import Tensor, parse_matrix_expression

    shape = graph.shape(node)
    names = {n: Tensor(np.asarray(values[n], dtype=float)[None], graph.shape(n)) for n in claim_names(graph)}
    out: list[Mistake] = []
    seen = [right]
    candidates = [(m.id, m.message, m.detail, wrong) for m, wrong in mistakes]
    candidates.append(("sign", MISTAKES["sign"], "", None))
    for mid, message, detail, wrong in candidates:
        if wrong is None:
            x = -right
        else:
            with np.errstate(all="ignore"):
                data = np.asarray(parse_matrix_expression(show(wrong), names, symbolic=False).data, dtype=float)[0]
            if data.shape == shape:
                x = float(data[idx])
            elif len(idx) == 2 and data.shape == shape[::-1]:
                x = float(data[idx[::-1]])
            elif data.shape == (1,) + shape:  # a row for a column
                x = float(data[(0,) + idx])
            elif len(shape) == 2 and shape[0] == 1 and data.shape == (shape[1],):
                x = float(data[idx[1]])
            else:
                continue
        if not np.isfinite(x) or any(abs(x - v) <= 1e-9 * max(1.0, abs(v)) for v in seen):
            continue
        seen.append(x)
        out.append(Mistake(mid, message, value=x, detail=detail))
    return out


def tensor_wire_mistakes(graph: Graph, ev: Any, wire: tuple[str, str | None, int], kind: str,
                         idx: tuple[int, ...]) -> list[Mistake]:
    """Generated wrong numbers for one entry of a blank of a tensor graph: the wrong sign; for a
    gradient also the wire's forward value and, through an entrywise gate, the local derivative
    alone, the incoming gradient alone and σ (tanh) for its derivative."""
    u, v, k = wire
    value = float(np.asarray(ev.values[u])[idx])
    found: list[tuple[str, float]] = []
    if kind == "gradient" and v is not None:
        right = float(np.asarray(ev.edge_adjoints[(u, v, k)])[idx])
        if graph.shape(u) == graph.shape(v) and (u, v, k) in ev.local:
            incoming = float(np.asarray(ev.adjoints[v])[idx])
            local = float(np.asarray(ev.local[(u, v, k)])[idx]) if np.ndim(ev.local[(u, v, k)]) else float(
                ev.local[(u, v, k)])
            op = _output_mistake(graph.attrs(v).get("op"))
            if op is not None:
                found.append((op, incoming * float(np.asarray(ev.values[v])[idx])))
            found += [("local", local), ("chain", incoming)]
        found += [("forward", value), ("sign", -right)]
    elif kind == "gradient":
        right = float(np.asarray(ev.adjoints[u])[idx])
        found.append(("forward", value))
    else:
        right = value
        found.append(("sign", -value))
    return _distinct_mistakes(found, right)


__all__ = ["formula_mistakes", "wire_mistakes", "definitions", "adjoint", "path_edges",
           "matrix_mistakes", "matrix_entry_mistakes", "tensor_wire_mistakes", "tensor_definitions",
           "transposed_form"]


def _distinct_mistakes(found: list[tuple[str, float]], right: float) -> list[Mistake]:
    """Each wrong number once, in order, and none that equals the right answer."""
    out: list[Mistake] = []
    seen = [right]
    for mid, x in found:
        if not np.isfinite(x) or any(abs(x - s) <= 1e-9 * max(1.0, abs(s)) for s in seen):
            continue
        seen.append(x)
        out.append(Mistake(mid, _message(mid), value=float(x)))
    return out
