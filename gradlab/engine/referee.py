"""The referee: a graph's values and adjoints again in arbitrary precision (mpmath), for when float64 cannot decide.

float64 methods can all be wrong together (``sigmoid(40)``'s slope rounds to 0) or disagree for reasons of
their own (finite differences of ``(x + 1e8) - 1e8`` lose 8 digits to cancellation). :func:`warnings` finds,
cheaply and in float64, where that may happen: a gate whose value cancels (its condition number is huge), a
fork whose shares cancel, a gate of no kink whose value or local slope underflows to 0. :func:`referee` then
evaluates the graph in mpmath, each gate from its record's SymPy form (never its numpy code), its local
partials by differentiating that form (never the record's textbook partials, which float64 uses), and raises
the precision until the digits settle. It also runs the record's own partials in that precision
(:attr:`Reference.own`): where those differ from the exact derivative, the graph's gradient is wrong, and
not merely float64's rounding of it.

>>> from gradlab import Graph
>>> from gradlab.engine.numeric import evaluate
>>> g = Graph.parse("f = sigmoid(x)")
>>> ev = evaluate(g, {"x": 40.0})
>>> float(ev.adjoints["x"]), [w.kind for w in warnings(g, ev)]
(0.0, ['underflow'])
>>> ref = referee(g, {"x": 40.0})
>>> f"{ref.grad('x'):.4g}", ref.settled
('4.248e-18', True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..errors import GradlabError
from ..model.graph import Graph
from ..ops import OPS, Op, as_sympy
from .numeric import Evaluation
from .plan import plan_of

#: A gate's forward value loses more than this many digits (its condition number) is a warning.
CANCEL_DIGITS = 6.0
#: The precisions tried, in decimal digits: two in a row must agree to :data:`AGREE_DIGITS`.
PRECISIONS = (30, 60, 120, 240, 480, 960)
AGREE_DIGITS = 20

Edge = tuple[str, str, int]


class NotRefereeable(GradlabError):
    """A gate the referee cannot evaluate in mpmath (its SymPy form has no closed form mpmath knows)."""


# ------------------------------------------------------------------------------------------ cheap float64 warnings


@dataclass(frozen=True)
class Warning_:
    """Where float64 may be unreliable: ``kind`` is ``cancellation`` (a gate's value), ``fork`` (an adjoint's
    shares cancel), ``underflow`` (a value or a local slope of a gate without a kink is 0 or subnormal);
    ``digits`` the digits lost (inf for an underflow)."""

    kind: str
    node: str
    digits: float
    text: str


def warnings(graph: Graph, ev: Evaluation) -> list[Warning_]:
    """Cheap float64 indicators that a value or an adjoint lost its digits (a graph of numbers; else none).

    >>> from gradlab import Graph
    >>> from gradlab.engine.numeric import evaluate
    >>> g = Graph.parse("q = x + 1e8; f = q - 1e8")
    >>> [(w.kind, w.node, round(w.digits)) for w in warnings(g, evaluate(g, {"x": 0.001}))]
    [('cancellation', 'f', 11)]
    """
    if graph.is_tensor:
        return []
    found: list[Warning_] = []
    tiny = np.finfo(float).tiny
    values, local, shares = ev.values, ev.local, ev.edge_adjoints
    exact = _exactness(graph, values)
    plan = plan_of(graph)
    gates = np.asarray(plan.gates, dtype=np.intp)
    # every wire into a gate, as flat arrays: its gate (position in ``gates``), its argument, its local partial and
    # its share of the argument's adjoint (NaN where the evaluation has none)
    wire_gate: list[int] = []
    wire_arg: list[int] = []
    wire_local: list[float] = []
    wire_share: list[float] = []
    nan = math.nan
    for g, v in enumerate(plan.gates):
        name = plan.nodes[v]
        for k, (u, i) in enumerate(zip(plan.arg_names[v], plan.args[v])):
            e = (u, name, k)
            d, a = local.get(e), shares.get(e)
            wire_gate.append(g)
            wire_arg.append(i)
            wire_local.append(nan if d is None else float(d))
            wire_share.append(nan if a is None else float(a))
    n = len(plan.nodes)
    val = np.fromiter((float(values[m]) for m in plan.nodes), float, n)
    adj = np.fromiter((float(ev.adjoints[m]) for m in plan.nodes), float, n)
    wg, wa = np.asarray(wire_gate, dtype=np.intp), np.asarray(wire_arg, dtype=np.intp)
    wl, ws = np.asarray(wire_local, dtype=float), np.asarray(wire_share, dtype=float)
    has_local = ~np.isnan(wl)
    out = np.abs(val[gates])
    big = np.zeros(len(gates))
    np.maximum.at(big, wg[has_local], np.abs(wl * val[wa])[has_local])
    kinked = np.array([plan.op[v] is None or plan.op[v].kink_distance is not None  # type: ignore[union-attr]
                       for v in plan.gates], dtype=np.bool_)
    zero_arg = np.zeros(len(gates), dtype=bool)  # some argument is 0: a product with 0 is exact
    np.logical_or.at(zero_arg, wg, val[wa] == 0)
    slope_tiny = np.zeros(len(gates), dtype=bool)
    np.logical_or.at(slope_tiny, wg[has_local], np.abs(wl[has_local]) < tiny)
    with np.errstate(divide="ignore", invalid="ignore"):
        cancels = (big > 0) & ((out == 0) | (big / out > 10 ** CANCEL_DIGITS)) & np.logical_not((out == 0) & kinked)
    plain = np.logical_not(kinked | zero_arg)
    for g in np.flatnonzero(cancels | (plain & ((out < tiny) | slope_tiny))).tolist():  # the few worth a look
        v = plan.nodes[plan.gates[g]]
        if cancels[g] and not exact(v):
            digits = math.inf if out[g] == 0 else math.log10(big[g] / out[g])  # exact(v): 2*-1 + 2 = 0 lost nothing
            found.append(Warning_("cancellation", v, digits, f"cancellation at node {graph.describe(v)}"))
        if not plain[g]:
            continue
        if out[g] < tiny:
            if not exact(v):
                found.append(Warning_("underflow", v, math.inf, f"{graph.describe(v)} underflows"))
        elif slope_tiny[g]:
            found.append(Warning_("underflow", v, math.inf, f"the slope of {graph.describe(v)} underflows"))
    # forks: each node's shares of its adjoint, from every wire out of it (a node read more than once)
    has_share = ~np.isnan(ws)
    count = np.bincount(wa[has_share], minlength=n)
    top = np.zeros(n)
    np.maximum.at(top, wa[has_share], np.abs(ws[has_share]))
    total = np.abs(adj)
    with np.errstate(divide="ignore", invalid="ignore"):
        forks = (count >= 2) & (top > 0) & ((total == 0) | (top / total > 10 ** CANCEL_DIGITS))
    for i in np.flatnonzero(forks).tolist():
        u = plan.nodes[i]
        digits = math.inf if total[i] == 0 else math.log10(top[i] / total[i])
        found.append(Warning_("fork", u, digits, f"the shares of {u}'s adjoint at its fork cancel"))
    return found


def _exactness(graph: Graph, values: Mapping[str, np.ndarray]) -> Callable[[str], bool]:
    """Whether a node's float64 value is exact: an input or a constant, or a gate of exact arguments whose value
    in extended precision (numpy's longdouble) is the same. Asked only where a value cancels, and remembered."""
    known: dict[str, bool] = {}

    def exact(n: str) -> bool:
        if n in known:
            return known[n]
        d = graph.attrs(n)
        if d["kind"] != "op":
            known[n] = True
            return True
        op = OPS.get(d["op"])
        ok = op is not None and all(exact(a) for a in graph.args(n))
        if ok and op is not None:
            try:
                with np.errstate(all="ignore"):
                    wide = op.np_fn([np.longdouble(values[a]) for a in graph.args(n)], d.get("param"))
                ok = bool(np.all(np.asarray(wide) == np.asarray(values[n])))
            except (TypeError, ValueError):  # pragma: no cover - a gate that takes float64 only
                ok = False
        known[n] = ok
        return ok

    return exact


# ------------------------------------------------------------------------------------------ mpmath forms of the gates


def _mpmath_ready(e: Any) -> Any:
    """A SymPy expression in functions mpmath knows: gradlab's own functions (sigmoid, silu, ...) written in their
    closed form (their ``exp`` rewrite), again until none is left."""
    import sympy as sp

    for _ in range(8):
        own = [f for f in e.atoms(sp.Function) if not type(f).__module__.startswith("sympy")]
        if not own:
            return e
        subs = {}
        for f in own:
            rewrite = getattr(f, "_eval_rewrite_as_exp", None)
            if rewrite is None:
                raise NotRefereeable(f"{type(f).__name__} has no closed form the referee can evaluate")
            subs[f] = rewrite(*f.args)
        e = e.xreplace(subs)
    raise NotRefereeable("a function's closed form does not come down to known functions")


def _heaviside(x: Any, h0: Any = 0.5) -> Any:
    import mpmath

    return mpmath.mpf(1) if x > 0 else mpmath.mpf(0) if x < 0 else mpmath.mpf(h0)


_GATES: dict[tuple[int, str], tuple[Op, Callable[..., Any], tuple[Callable[..., Any], ...], tuple[Callable[..., Any], ...]]] = {}


def gate_forms(op: Op, param: Any) -> tuple[Callable[..., Any], tuple[Callable[..., Any], ...], tuple[Callable[..., Any], ...]]:
    """mpmath functions of a gate with its parameter: its value ``f(*args)``, its exact partials ``d_k(*args)``
    (SymPy's derivative of the record's form) and the record's own partials ``p_k(*args, out)``."""
    key = (id(op), repr(param))
    hit = _GATES.get(key)
    if hit is not None and hit[0] is op:
        return hit[1:]
    import sympy as sp

    from .symbolic import sympy_param

    args = [sp.Symbol(f"a{i}", real=True) for i in range(op.arity)]
    out = sp.Symbol("out", real=True)
    p = sympy_param(param) if param is not None else (None if op.param_default is None else sympy_param(op.param_default))
    form = _mpmath_ready(op.sym(args, p))
    exact = [sp.diff(form, a) for a in args]  # of the closed form: sigmoid's slope as exp(-x)/(1 + exp(-x))**2
    own = op.partials(args, out, p)
    modules = [{"Heaviside": _heaviside}, "mpmath"]
    value = sp.lambdify(args, form, modules=modules)
    d = tuple(sp.lambdify(args, _mpmath_ready(e), modules=modules) for e in exact)
    o = tuple(sp.lambdify(args + [out], _mpmath_ready(as_sympy(e)), modules=modules) for e in own)
    _GATES[key] = (op, value, d, o)
    return value, d, o


# ------------------------------------------------------------------------------------------ the referee


@dataclass
class Reference:
    """The graph at one point in ``dps`` decimal digits: each node's value, its exact adjoint (``adjoints``) and
    its adjoint by the records' own partials (``own``), as mpmath numbers; ``settled`` when two precisions in
    a row agreed; ``edges`` the wires whose record partial differs from the exact one (``(u, v, k)``:
    ``(own, exact)``)."""

    values: dict[str, Any]
    adjoints: dict[str, Any]
    own: dict[str, Any]
    dps: int
    settled: bool
    edges: dict[Edge, tuple[Any, Any]] = field(default_factory=dict)

    def value(self, n: str) -> float:
        return float(self.values[n])

    def grad(self, n: str) -> float:
        return float(self.adjoints[n])

    def own_grad(self, n: str) -> float:
        return float(self.own[n])


def _run(graph: Graph, at: Mapping[str, float], dps: int) -> tuple[Reference, dict[str, float]]:
    """One evaluation at ``dps`` digits, and for each node the digits its value and adjoint lose on the way
    (cancellation in gates and at forks, added up along the paths)."""
    import mpmath

    with mpmath.workdps(dps):
        vals: dict[str, Any] = {}
        lost: dict[str, float] = {}
        forms = {}
        for n in graph.nodes:
            d = graph.attrs(n)
            lost[n] = 0.0
            if d["kind"] == "input":
                vals[n] = mpmath.mpf(float(at[n]))
            elif d["kind"] == "const":
                vals[n] = mpmath.mpf(d["value"]) if isinstance(d["value"], int) else mpmath.mpf(float(d["value"]))
            else:
                op = OPS.get(d["op"])
                if op is None:
                    raise NotRefereeable(f"the gate {d['op']} is not a gate of numbers")
                forms[n] = gate_forms(op, d.get("param"))
                args = [vals[a] for a in graph.args(n)]
                vals[n] = _real(forms[n][0](*args))
                terms = [abs(f(*args) * a) for f, a in zip(forms[n][1], args)]
                lost[n] = max((lost[a] for a in graph.args(n)), default=0.0) + _cancelled(terms, vals[n])
            if vals[n] is None:
                raise NotRefereeable(f"{graph.describe(n)} is not a real number at this point")
        adj = {n: mpmath.mpf(0) for n in graph.nodes}
        own = {n: mpmath.mpf(0) for n in graph.nodes}
        adj[graph.output] = own[graph.output] = mpmath.mpf(1)
        shares: dict[str, list[Any]] = {n: [] for n in graph.nodes}
        inherited = dict(lost)
        edges: dict[Edge, tuple[Any, Any]] = {}
        for v in reversed(graph.nodes):
            if v in forms:
                args = [vals[a] for a in graph.args(v)]
                _, exact, mine = forms[v]
                lost[v] = max(inherited[v], _cancelled(shares[v], adj[v])) if shares[v] else inherited[v]
                for k, u in enumerate(graph.args(v)):
                    e, o = _real(exact[k](*args)), _real(mine[k](*args, vals[v]))
                    if e is None or o is None:
                        raise NotRefereeable(f"the slope of {graph.describe(v)} is not a real number at this point")
                    share = adj[v] * e
                    adj[u] += share
                    own[u] += own[v] * o
                    shares[u] += [abs(share), abs(own[v] * o)]
                    inherited[u] = max(inherited[u], lost[v])
                    if not _agree(o, e, 12):
                        edges[(u, v, k)] = (o, e)
        for n in graph.nodes:
            if n not in forms and shares[n]:
                lost[n] = max(inherited[n], _cancelled(shares[n], adj[n]))
        return Reference(vals, adj, own, dps, False, edges), lost


def _real(x: Any) -> Any:
    """An mpmath real (``max(a, 0)`` may give the int 0), or None for a complex number."""
    import mpmath

    if isinstance(x, mpmath.mpf):
        return x
    if isinstance(x, (int, float)):
        return mpmath.mpf(x)
    return None


def _cancelled(terms: Sequence[Any], total: Any) -> float:
    """Digits a sum of terms of these magnitudes loses when it comes to ``total``: none without cancellation;
    a sum that cancels to exactly 0 loses every digit (it is believed only at the highest precision)."""
    import mpmath

    big = max(terms, default=mpmath.mpf(0))
    if big == 0:
        return 0.0
    if total != 0:
        return max(0.0, float(mpmath.log10(big / abs(total))))
    return math.inf


def _agree(a: Any, b: Any, digits: float) -> bool:
    if a == b:
        return True
    return bool(abs(a - b) <= 10 ** (-digits) * max(abs(a), abs(b)))


def referee(graph: Graph | str, at: Mapping[str, Any], precisions: Sequence[int] = PRECISIONS) -> Reference:
    """The graph's values and adjoints at ``at`` in rising precision until two precisions in a row agree to
    :data:`AGREE_DIGITS` digits, and the lower one has digits enough for the largest intermediate. Raises
    :class:`NotRefereeable` for a graph of vectors and matrices or a gate with no mpmath form.

    >>> ref = referee("f = (x + 1e8) - 1e8", {"x": 0.001})
    >>> ref.grad("x"), ref.settled, ref.dps
    (1.0, True, 120)
    """
    if isinstance(graph, str):
        graph = Graph.parse(graph)
    if graph.is_tensor:
        raise NotRefereeable("the referee works on graphs of numbers")
    point = {n: float(np.asarray(at[n], dtype=float)) for n in graph.inputs}
    prev: tuple[Reference, dict[str, float]] | None = None
    for dps in precisions:
        ref, lost = _run(graph, point, dps)
        if prev is not None and _settled(prev[0], ref, prev[1], last=dps == precisions[-1]):
            ref.settled = True
            return ref
        prev = (ref, lost)
    if prev is None:
        raise NotRefereeable("no precision to run the referee at")
    return prev[0]


def _settled(a: Reference, b: Reference, lost: Mapping[str, float], last: bool) -> bool:
    """Two evaluations agree on every value and adjoint, and the lower precision had the digits its
    cancellations ask for (a sum that cancels to exactly 0 is believed at the highest precision: ``x - x``)."""
    if any(lost[n] + AGREE_DIGITS > a.dps and not (last and math.isinf(lost[n])) for n in lost):
        return False
    return all(_agree(x, theirs[n], AGREE_DIGITS) for mine, theirs in
               ((a.values, b.values), (a.adjoints, b.adjoints), (a.own, b.own)) for n, x in mine.items())
