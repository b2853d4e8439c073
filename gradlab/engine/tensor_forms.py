"""Matrix forms of gradients: ``dL/dB = (p - y) @ v.T / 2`` rather than entry by entry.

The adjoint of each node is written as a matrix formula in the claim syntax of
:mod:`gradlab.lang.tensor_expr` (``@``, ``.T``, ``*`` entry by entry), built backwards from the
output with each gate's textbook VJP in matrix form (``G @ B.T`` and ``A.T @ G`` for ``A @ B``,
``G * (1 - v**2)`` for ``v = tanh(u)``, ``p * (G - sum(p * G))`` for ``p = softmax(z)``, ...): a tensor
gate's from its record (:attr:`gradlab.ops.tensor.TensorOp.matrix_vjp`), an elementwise gate's from its
local partials.
Where a node's entries (from :mod:`gradlab.engine.tensor_symbolic`) all follow one entrywise pattern,
such as ``(p_i - y_i)/2``, that pattern is used instead: so the softmax-cross-entropy step reads
``(p - y)/2``. Constant factors move to the end (``(p - y) @ v.T / 2``).

These are raw forms: the check layer shows a form only after testing it against the true adjoint at
random points (:func:`gradlab.check.forms.matrix_forms`); one that does not hold is dropped, never printed.

>>> from gradlab import Graph
>>> g = Graph.parse("x: (3,); A: (2, 3); B: (2, 2); y: onehot(2); v = tanh(A @ x); z = B @ v; "
...                 "p = softmax(z); L = -sum(y*log(p))/2")
>>> forms = {n: show(m) for n, m in raw_matrix_forms(g).items() if m is not None}
>>> forms["z"], forms["B"], forms["A"]
('(p - y)/2', '(p - y) @ v.T / 2', '((B.T @ (p - y)) * (1 - v**2)) @ x.T / 2')
>>> staged_forms(g)["A"]
'dL/dt1 @ x.T'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import sympy as sp

from ..lang.expr import FORMULA_ONLY
from ..model.graph import Graph
from ..ops import HEADS, as_sympy, op_for
from ..ops.tensor import (
    FormBuilders,
    TensorOp,
    broadcast_shape,
    is_row,
    reduce_shape,
    size,
    tensor_function,
    tensor_op,
    to2d,
    transpose_shape,
)

_PREC = {"add": 1, "sub": 1, "mul": 2, "div": 2, "matmul": 2, "neg": 3, "pow": 4, "T": 5, "call": 5, "name": 5,
         "num": 5}


@dataclass(frozen=True)
class M:
    """A matrix formula: ``kind`` with ``args``; ``value`` is the name, number or function name."""

    kind: str
    args: tuple["M", ...]
    shape: tuple[int, ...]
    value: Any = None

    def __str__(self) -> str:
        return show(self)


def name(n: str, shape: tuple[int, ...]) -> M:
    return M("name", (), shape, n)


def num(c: Any) -> M:
    return M("num", (), (), sp.nsimplify(c) if not isinstance(c, sp.Basic) else c)


ONE = num(1)


def _is_num(e: M, c: Any = None) -> bool:
    return e.kind == "num" and (c is None or e.value == c)


def _split(e: M) -> tuple[sp.Expr, M | None]:
    """A formula as (constant factor, rest): ``(p - y)/2`` -> (1/2, p - y); a number -> (c, None)."""
    if e.kind == "num":
        return e.value, None
    if e.kind == "neg":
        c, r = _split(e.args[0])
        return -c, r
    if e.kind == "div" and e.args[1].kind == "num":
        c, r = _split(e.args[0])
        return c / e.args[1].value, r
    if e.kind == "mul" and e.args[0].kind == "num":
        c, r = _split(e.args[1])
        return e.args[0].value * c, r
    return sp.Integer(1), e


def scale(c: Any, e: M | None) -> M:
    """``c * e``, written the readable way: ``e/2``, ``-e``, ``3*e``, ``2*e/3``."""
    c = sp.nsimplify(c)
    if e is None:
        return num(c)
    if c == 0:
        return num(0)
    if c == 1:
        return e
    if c.is_negative:
        if e.kind == "sub":  # -(a - b) reads better as b - a
            return scale(-c, M("sub", (e.args[1], e.args[0]), e.shape))
        return M("neg", (scale(-c, e),), e.shape)
    p, q = sp.fraction(c)
    body = e if p == 1 else M("mul", (num(p), e), e.shape)
    return body if q == 1 else M("div", (body, num(q)), e.shape)


def simplify(e: M, unit: Mapping[str, tuple[int, ...]]) -> M:
    """Rebuild a formula bottom-up with its constructors' rules, and ``sum(y) = 1`` for the labels
    and softmax outputs in ``unit`` (``sum(Y, 0)`` for a matrix of one-hot columns)."""
    args = tuple(simplify(a, unit) for a in e.args)
    k = e.kind
    if k in ("name", "num"):
        return e
    summed = tensor_function(e.value) if k == "call" else None
    if summed is not None and summed.adds_entries and args:
        inner = args[0]
        c, r = _split(inner)
        if r is not None and r.kind == "name" and r.value in unit:
            shape = unit[r.value]
            axis = args[1].value if len(args) > 1 else None
            if len(shape) == 1 or is_row(shape):
                if axis is None:
                    return num(c)
            elif axis == 0:
                return num(c)
        if r is not None and c != 1:
            return scale(c, simplify(M("call", (r,) + args[1:], e.shape, "sum"), unit))
        return M("call", args, e.shape, "sum")
    build = {"add": lambda: add(*args), "sub": lambda: sub(*args), "mul": lambda: mul(*args),
             "div": lambda: div(*args), "matmul": lambda: matmul(*args), "neg": lambda: neg(args[0]),
             "T": lambda: transpose(args[0])}
    if k in build:
        return build[k]()
    return M(k, args, e.shape, e.value)


def neg(a: M) -> M:
    c, r = _split(a)
    return scale(-c, r)


def _ones_like(e: M) -> bool:
    return e.kind == "call" and e.value == "ones_like"


def mul(a: M, b: M) -> M:
    ca, ra = _split(a)
    cb, rb = _split(b)
    if ra is None or rb is None:
        return scale(ca * cb, ra if rb is None else rb)
    shape = broadcast_shape(ra.shape, rb.shape)
    if rb.kind == "div" and rb.args[1] == ra:  # a * (x / a) = x
        return scale(ca * cb, rb.args[0])
    if ra.kind == "div" and ra.args[1] == rb:
        return scale(ca * cb, ra.args[0])
    if rb.kind == "div" and _is_num(rb.args[0], 1):
        return scale(ca * cb, M("div", (ra, rb.args[1]), shape))
    if ra.kind == "div" and _is_num(ra.args[0], 1):
        return scale(ca * cb, M("div", (rb, ra.args[1]), shape))
    if _ones_like(ra) and rb.shape == shape:
        return scale(ca * cb, rb)
    if _ones_like(rb) and ra.shape == shape:
        return scale(ca * cb, ra)
    return scale(ca * cb, M("mul", (ra, rb), shape))


def div(a: M, b: M) -> M:
    if b.kind == "num":
        return mul(a, num(1 / b.value))
    ca, ra = _split(a)
    cb, rb = _split(b)
    top = ra if ra is not None else ONE
    assert rb is not None
    return scale(ca / cb, M("div", (top, rb), broadcast_shape(top.shape, rb.shape)))


def add(a: M, b: M) -> M:
    if _is_num(a, 0):
        return b
    if _is_num(b, 0):
        return a
    ca, ra = _split(a)
    cb, rb = _split(b)
    if ra is not None and rb is not None and ca == cb:
        return scale(ca, M("add", (ra, rb), broadcast_shape(ra.shape, rb.shape)))
    if ra is not None and rb is not None and ca == -cb:
        return scale(ca, M("sub", (ra, rb), broadcast_shape(ra.shape, rb.shape)))
    if cb.is_negative if rb is not None else (cb < 0):
        return sub(a, neg(b))
    return M("add", (a, b), broadcast_shape(a.shape, b.shape))


def sub(a: M, b: M) -> M:
    if _is_num(b, 0):
        return a
    if _is_num(a, 0):
        return neg(b)
    ca, ra = _split(a)
    cb, rb = _split(b)
    if ra is not None and rb is not None and ca == cb:
        return scale(ca, M("sub", (ra, rb), broadcast_shape(ra.shape, rb.shape)))
    return M("sub", (a, b), broadcast_shape(a.shape, b.shape))


def matmul(a: M, b: M) -> M:
    ca, ra = _split(a)
    cb, rb = _split(b)
    assert ra is not None and rb is not None
    from ..ops.tensor import matmul_shape

    return scale(ca * cb, M("matmul", (ra, rb), matmul_shape(ra.shape, rb.shape)))


def transpose(a: M) -> M:
    c, r = _split(a)
    if r is None:
        return a
    if r.kind == "T":
        return scale(c, r.args[0])
    if r.shape == () :
        return a
    return scale(c, M("T", (r,), transpose_shape(r.shape)))


def power(a: M, k: Any) -> M:
    k = sp.nsimplify(k)
    if k == 1:
        return a
    if k == -1:
        return div(ONE, a)
    return M("pow", (a, num(k)), a.shape)


def call(fn: str, *args: M, shape: tuple[int, ...]) -> M:
    return M("call", tuple(args), shape, fn)


def reduce_to(g: M, out: tuple[int, ...], to: tuple[int, ...]) -> M:
    """The share of a broadcast argument: ``sum(G)``, ``sum(G, 1)`` (a column), ``sum(G, 0)`` (a row)."""
    if out == to or _split(g)[1] is None:
        return g
    c, r = _split(g)
    assert r is not None
    if to == ():
        return scale(c, call("sum", r, shape=()))
    (ro, co), (rt, ct) = to2d(out), to2d(to)
    if rt == ro and ct == 1:
        return scale(c, call("sum", r, num(1), shape=reduce_shape(out, 1)))
    if ct == co and rt == 1:
        return scale(c, call("sum", r, num(0), shape=reduce_shape(out, 0)))
    return scale(c, call("sum", r, shape=()))  # pragma: no cover - covered by the cases above


# ------------------------------------------------------------------------------- printing


def show(e: M) -> str:
    """The formula in gradlab's claim syntax (what ``gradlab verify`` reads back)."""
    return _show(e)


def _num_text(c: sp.Expr) -> str:
    return str(c) if c.is_Integer or not c.is_Rational else f"{c.p}/{c.q}"


def _wrap(child: M, parent: M, right: bool) -> str:
    text = _show(child)
    pc, pp = _PREC[child.kind], _PREC[parent.kind]
    if child.kind == "num" and child.value.is_negative:
        return f"({text})"
    if child.kind == "num" and not child.value.is_Integer and pp >= 2:
        return f"({text})"
    if pc < pp:
        return f"({text})"
    if pc == pp and pp in (1, 2):
        if right and parent.kind in ("sub", "div", "matmul", "mul", "add") and child.kind in (
                "add", "sub", "mul", "div", "matmul"):
            return f"({text})"
        # mixing * and @ on one level reads badly even where Python agrees: bracket it
        if pp == 2 and child.kind != parent.kind and not (parent.kind == "div" and parent.args[1].kind == "num"):
            return f"({text})"
    return text


def _has_matmul(e: M) -> bool:
    return e.kind == "matmul" or (e.kind in ("mul", "div", "neg", "T") and any(_has_matmul(a) for a in e.args))


def _show(e: M) -> str:
    k = e.kind
    if k == "name":
        return str(e.value)
    if k == "num":
        return _num_text(e.value)
    if k == "neg":
        child = e.args[0]
        text = _show(child)
        return "-" + (f"({text})" if _PREC[child.kind] <= 1 or (child.kind == "num" and child.value.is_negative)
                      else text)
    if k == "T":
        return _wrap(e.args[0], e, False) + ".T"
    if k == "call":
        return f"{e.value}(" + ", ".join(_show(a) for a in e.args) + ")"
    if k == "pow":
        return _wrap(e.args[0], e, False) + "**" + _wrap(e.args[1], e, True)
    a, b = e.args
    wide = k in ("mul", "div") and (_has_matmul(a) or _has_matmul(b))
    sym = {"add": " + ", "sub": " - ", "mul": " * " if wide else "*", "div": " / " if wide else "/",
           "matmul": " @ "}[k]
    if k == "mul" and a.kind == "num":
        return f"{_wrap(a, e, False)}*{_wrap(b, e, True)}"
    return _wrap(a, e, False) + sym + _wrap(b, e, True)


# ------------------------------------------------------------------------------- from SymPy


def _function_name(function: Any) -> str | None:
    """The name a formula calls a one-argument SymPy function by: a gate's call name (the gate whose record has
    this head: ``sp.Abs`` -> ``abs``, a gate the user registered too), or a function of formulas only
    (``sign``, ``Heaviside``)."""
    op = HEADS.get(function)
    if op is not None:
        return op.call if op.arity == 1 else None
    return next((name for name, f in FORMULA_ONLY.items() if f.sympy is function), None)


def from_sympy(expr: sp.Expr, names: Mapping[sp.Symbol, M], shape: tuple[int, ...]) -> M | None:
    """A SymPy expression over symbols standing for whole tensors, as a matrix formula (None if
    it uses something without a matrix form)."""
    expr = as_sympy(expr)
    if expr in names:
        return names[expr]
    if expr.is_Number:
        return num(expr)
    if expr.is_Add:
        found = [from_sympy(t, names, shape) for t in expr.as_ordered_terms()]
        terms = [t for t in found if t is not None]
        if len(terms) < len(found):
            return None
        pos = [t for t in terms if not _split(t)[0].is_negative]
        negs = [t for t in terms if _split(t)[0].is_negative]
        ordered = pos + negs
        acc = ordered[0]
        for t in ordered[1:]:
            acc = add(acc, t)
        return acc
    if expr.is_Mul:
        c, rest = expr.as_coeff_Mul()
        factors = sp.Mul.make_args(rest)
        num_f = [f for f in factors if not (f.is_Pow and f.exp.is_negative)]
        den_f = [1 / f for f in factors if f.is_Pow and f.exp.is_negative]
        parts = [from_sympy(f, names, shape) for f in num_f]
        dens = [from_sympy(f, names, shape) for f in den_f]
        if any(p is None for p in parts + dens):
            return None
        acc = ONE
        for p in parts:
            acc = mul(acc, p)  # type: ignore[arg-type]
        for d in dens:
            acc = div(acc, d)  # type: ignore[arg-type]
        return scale(c, acc) if acc is not ONE else num(c)
    if expr.is_Pow:
        base = from_sympy(expr.base, names, shape)
        if base is None or not expr.exp.is_Number:
            return None
        return power(base, expr.exp)
    if isinstance(expr, sp.Function) and len(expr.args) == 1:
        fname = _function_name(expr.func)
        arg = from_sympy(expr.args[0], names, shape)
        if fname is None or arg is None:
            return None
        return call(fname, arg, shape=arg.shape)
    if isinstance(expr, sp.Heaviside):
        arg = from_sympy(expr.args[0], names, shape)
        return None if arg is None else call("Heaviside", arg, shape=arg.shape)
    return None


# ------------------------------------------------------------------------------- VJPs in matrix form

_A, _B, _O = sp.Symbol("__a0", real=True), sp.Symbol("__a1", real=True), sp.Symbol("__out", real=True)


#: The constructors the tensor gates' records write their matrix forms with (:class:`gradlab.ops.tensor.TensorOp`).
BUILDERS = FormBuilders(num=num, call=call, matmul=matmul, transpose=transpose, mul=mul, sub=sub, neg=neg,
                        scale=scale)


def value_form(op_name: str, args: Sequence[M], param: Any, shape: tuple[int, ...]) -> M | None:
    """A gate's output as a matrix formula of its arguments' formulas (a tensor gate's from its record)."""
    a = args[0]
    b = args[1] if len(args) > 1 else None
    op = op_for(op_name)
    if isinstance(op, TensorOp):
        return None if op.value_form is None else op.value_form(BUILDERS, args, param, shape)
    if op is None:
        return None
    syms = [_A, _B][: op.arity]
    from ..ops.tensor import _sym_param

    expr = op.sym(syms, _sym_param(param))
    return from_sympy(expr, {_A: a, **({_B: b} if b is not None else {})}, shape)


def vjp_forms(op_name: str, g: M, args: Sequence[M], out: M, shapes: Sequence[tuple[int, ...]], param: Any,
              out_shape: tuple[int, ...]) -> list[M | None]:
    """Each argument's share of the adjoint ``g``, in matrix form (None where there is none): a tensor gate's
    from its record, an elementwise gate's from its local partials."""
    op = op_for(op_name)
    if isinstance(op, TensorOp):
        if op.matrix_vjp is None:
            return [None] * len(args)
        return list(op.matrix_vjp(BUILDERS, g, args, out, shapes, param, out_shape))
    if op is None:
        return [None] * len(args)
    from ..ops.tensor import _sym_param

    syms = [_A, _B][: op.arity]
    parts = op.partials(syms, _O, _sym_param(param))
    mapping = {_A: args[0], _O: out, **({_B: args[1]} if len(args) > 1 else {})}
    shares: list[M | None] = []
    for k, part in enumerate(parts):
        pm = from_sympy(as_sympy(part), mapping, out_shape)
        shares.append(None if pm is None else reduce_to(mul(g, pm), out_shape, shapes[k]))
    return shares


# ------------------------------------------------------------------------------- all nodes


def _elementwise_template(graph: Graph, node: str, entries: np.ndarray, value: M | None,
                          limit: int = 64) -> M | None:
    """One pattern that gives every entry of a node's adjoint: ``(p_i - y_i)/2`` -> ``(p - y)/2``."""
    from .tensor_symbolic import entry_name

    shape = graph.shape(node)
    if entries.size == 0:
        return None
    names = [n for n in graph.nodes if graph.kind(n) == "input" or graph.attrs(n).get("named")]
    shapes = {n: graph.shape(n) for n in names}
    compatible = []
    for n in names:
        try:
            if broadcast_shape(shapes[n], shape) == shape:
                compatible.append(n)
        except Exception:
            continue

    from .tensor_symbolic import node_symbols

    symbols = {n: node_symbols(graph, n) for n in compatible}

    def at(n: str, idx: tuple[int, ...]) -> sp.Symbol:
        """The entry of ``n`` that broadcasting puts at entry ``idx`` of the node."""
        s = shapes[n]
        r, c = to2d(s)
        i, j = (idx + (0,))[:2] if len(shape) == 1 else ((0, 0) if shape == () else idx)
        ii, jj = (i if r > 1 else 0), (j if c > 1 else 0)
        loc: tuple[int, ...] = () if s == () else ((ii,) if len(s) == 1 else (ii, jj))
        return symbols[n][loc]

    idx0 = (0,) * len(shape)
    e0 = as_sympy(entries[idx0])
    to_tensor: dict[sp.Symbol, sp.Symbol] = {}
    for n in compatible:
        s = at(n, idx0)
        to_tensor[s] = sp.Symbol(f"__T_{n}", real=True)
    if not e0.free_symbols <= set(to_tensor):
        return None
    template = e0.xreplace(to_tensor)
    used = [n for n in compatible if sp.Symbol(f"__T_{n}", real=True) in template.free_symbols]
    checked = 0
    for idx in np.ndindex(*shape):
        if checked >= limit:
            break
        checked += 1
        inst = template.xreplace({sp.Symbol(f"__T_{n}", real=True): at(n, idx) for n in used})
        if inst != entries[idx] and sp.expand(inst - entries[idx]) != 0:
            return None
    mapping = {sp.Symbol(f"__T_{n}", real=True): name(n, shapes[n]) for n in used}
    form = from_sympy(template, mapping, shape)
    if form is not None and form.shape != shape:
        if value is None:
            return None
        form = mul(form, call("ones_like", value, shape=shape))
    del entry_name
    return form


def _size(e: M) -> int:
    return 1 + sum(_size(a) for a in e.args)


def value_forms(g: Graph) -> dict[str, "M | None"]:
    """Every node's value as a matrix formula in the inputs and named nodes (None where none is known)."""
    vals: dict[str, M | None] = {}
    for n in g.nodes:
        d = g.attrs(n)
        if d["kind"] == "input" or d.get("named"):
            vals[n] = name(n, g.shape(n))
        elif d["kind"] == "const":
            vals[n] = num(d["value"])
        else:
            args = [vals[a] for a in g.args(n)]
            vals[n] = None if any(a is None for a in args) else value_form(d["op"], args, d.get("param"),  # type: ignore
                                                                           g.shape(n))
    return vals


def _sums_to_one(op_name: Any) -> bool:
    op = tensor_op(op_name)
    return op is not None and op.sums_to_one


def raw_matrix_forms(graph: Graph, ts: Any = None) -> dict[str, M | None]:
    """The adjoint of every node as a matrix formula (unchecked; see :func:`matrix_forms`)."""
    from .tensor_symbolic import tensor_symbolic

    g = graph
    out = g.output
    ts = ts if ts is not None else tensor_symbolic(g)
    vals = value_forms(g)
    unit = {n: g.shape(n) for n in g.nodes if (g.kind(n) == "input" and g.attrs(n).get("domain") in ("onehot", "probs"))
            or (_sums_to_one(g.attrs(n).get("op")) and g.attrs(n).get("named"))}
    forms: dict[str, M | None] = {out: ONE}
    shares: dict[str, list[M | None]] = {n: [] for n in g.nodes}
    for v in reversed(g.nodes):
        d = g.attrs(v)
        if v != out:
            parts = shares[v]
            if not parts:
                forms[v] = num(0) if g.shape(v) == () else None
            elif any(p is None for p in parts):
                forms[v] = None
            else:
                acc = parts[0]
                for p in parts[1:]:
                    acc = add(acc, p)  # type: ignore[arg-type]
                forms[v] = simplify(acc, unit)  # type: ignore[arg-type]
            if g.shape(v) and size(g.shape(v)) <= 4096 and parts:
                tmpl = _elementwise_template(g, v, ts.named(v), vals[v])
                if tmpl is not None and (forms[v] is None or _size(tmpl) <= _size(forms[v])):  # type: ignore[arg-type]
                    forms[v] = tmpl
            elif g.shape(v) == () and parts:
                tmpl = _elementwise_template(g, v, np.asarray(ts.named(v), dtype=object), vals[v])
                if tmpl is not None and (forms[v] is None or _size(tmpl) <= _size(forms[v])):  # type: ignore[arg-type]
                    forms[v] = tmpl
        if d["kind"] != "op" or forms.get(v) is None:
            if d["kind"] == "op":
                for a in g.args(v):
                    shares[a].append(None)
            continue
        args = g.args(v)
        arg_forms = [vals[a] for a in args]
        if any(a is None for a in arg_forms) or vals[v] is None:
            for a in args:
                shares[a].append(None)
            continue
        got = vjp_forms(d["op"], forms[v], arg_forms, vals[v], [g.shape(a) for a in args], d.get("param"),  # type: ignore
                        g.shape(v))
        for a, s in zip(args, got):
            shares[a].append(s)
    return forms


def staged_forms(graph: Graph) -> dict[str, str]:
    """Each node's adjoint in the adjoints of its consumers, in matrix form: ``dL/dt1 @ x.T`` for ``A``."""
    g = graph
    out = g.output
    vals = value_forms(g)
    result: dict[str, str] = {out: "1"}
    for u in g.nodes:
        if u == out:
            continue
        parts: list[M] = []
        for v, k in g.consumers(u):
            d = g.attrs(v)
            gv = ONE if v == out else name(f"d{out}/d{v}", g.shape(v))
            args = g.args(v)
            arg_forms = [vals[a] for a in args]
            if any(a is None for a in arg_forms) or vals[v] is None:
                parts = []
                break
            share = vjp_forms(d["op"], gv, arg_forms, vals[v], [g.shape(a) for a in args], d.get("param"),  # type: ignore
                              g.shape(v))[k]
            if share is None:
                parts = []
                break
            parts.append(share)
        if parts:
            acc = parts[0]
            for p in parts[1:]:
                acc = add(acc, p)
            result[u] = show(acc)
    return result


__all__ = ["raw_matrix_forms", "staged_forms", "M", "show", "from_sympy"]
