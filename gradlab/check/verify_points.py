"""Random points next to a claim's own kinks and thresholds, for :func:`gradlab.verify`.

A claim can be wrong only in a thin band: ``dL/dW = ((h - t) * Heaviside(u - 0.01)) @ x.T`` differs from the true
``Heaviside(u)`` only where 0 < u < 0.01, which random points (magnitudes from 0.25 to 2) almost never hit. So the
claim's own kinks are found in its formula (:func:`claim_kinks`: the argument of ``Heaviside``, ``sign``, ``abs``,
a ``max``/``min``'s two sides, a ``Piecewise``'s condition, a gate of the op table with a kink), and along
segments between random points each one is followed to where it is 0 (:func:`near_kink_points`); the points just
either side of it join the random ones (they may come nearer the graph's own kinks than random points do,
but never onto one).

>>> import sympy as sp
>>> u = sp.Symbol("u", real=True)
>>> [str(k.text) for k in claim_kinks([sp.Heaviside(u - sp.Rational(1, 100)) * u])]
['u - 1/100']
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Protocol

import numpy as np
import sympy as sp

from ..model.graph import Graph
from ..ops import HEADS, NUMPY_NAMESPACE

#: Segments between random points searched for each kink, grid points on each, and refining steps.
SEGMENTS = 6
GRID = 16
STEPS = 40
#: Points either side of a kink sit this far (a fraction of a grid step) from it along the segment.
OFFSET = 1e-5
#: How near (relative) the graph's own kinks those points may be: a claim's threshold may sit just beside one
#: (``Heaviside(x - y - 0.001)`` for ``max(x, y)``'s), closer than random points are let (1e-3).
NEAR_MARGIN = 1e-8
#: Kinks followed at most (a claim about a big layer has one per entry).
MAX_KINKS = 32


@dataclass
class Kink:
    """A place where a claim bends or jumps: ``distance(values)`` is how far a batch of points is from it (0 on it),
    ``text`` says where (``u - 1/100``, zero there)."""

    text: Any
    distance: Callable[[Mapping[sp.Symbol, np.ndarray]], np.ndarray]
    #: the signed form (negative on one side, positive on the other), where the kink has one
    signed: Callable[[Mapping[sp.Symbol, np.ndarray]], np.ndarray] | None = None


class Problem(Protocol):
    """What the search needs of a scalar or tensor claim (:mod:`.verify_scalar`, :mod:`.verify_tensor`)."""

    graph: Graph

    def claim_exprs(self) -> list[Any]: ...

    def symbol_values(self, values: Mapping[str, np.ndarray]) -> dict[sp.Symbol, np.ndarray]: ...

    def forward_points(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def valid(self, values: Mapping[str, np.ndarray], kink_margin: float = ...) -> np.ndarray: ...


def _numeric(e: sp.Expr) -> Callable[[Mapping[sp.Symbol, np.ndarray]], np.ndarray]:
    syms = sorted(e.free_symbols, key=str)
    f = sp.lambdify(syms, e, modules=[NUMPY_NAMESPACE, "numpy"])

    def run(vals: Mapping[sp.Symbol, np.ndarray]) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(f(*[vals[s] for s in syms]), dtype=np.float64)

    return run


def _signed(g: sp.Expr) -> Kink:
    f = _numeric(g)
    return Kink(g, lambda vals: np.abs(f(vals)), f)


def _gate(e: Any) -> Kink | None:
    op = HEADS[e.func]
    if op.kink_distance is None:
        return None
    args = [_numeric(a) for a in e.args[:op.arity]]
    param = e.args[op.arity] if len(e.args) > op.arity and e.args[op.arity].is_number else None
    p = None if param is None else float(param)
    dist = op.kink_distance

    def run(vals: Mapping[sp.Symbol, np.ndarray]) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(dist([a(vals) for a in args], p), dtype=np.float64)

    return Kink(e, run)


def claim_kinks(exprs: Iterable[Any]) -> list[Kink]:
    """The kinks and jumps of a claim's formulas (SymPy), each once."""
    seen: set[Any] = set()
    found: list[Kink] = []

    def add(key: Any, kink: Callable[[], Kink | None]) -> None:
        if key in seen or not getattr(key, "free_symbols", None):
            return
        seen.add(key)
        k = kink()
        if k is not None:
            found.append(k)

    for expr in exprs:
        if not isinstance(expr, sp.Basic):
            continue
        for e in sp.preorder_traversal(expr):
            signed: list[Any] = []
            if isinstance(e, (sp.Heaviside, sp.sign, sp.Abs)):
                signed = [e.args[0]]
            elif isinstance(e, (sp.Max, sp.Min)):
                signed = [e.args[0] - a for a in e.args[1:]]
            elif isinstance(e, sp.Piecewise):
                signed = [c.lhs - c.rhs for _, c in e.args if isinstance(c, sp.core.relational.Relational)]
            elif isinstance(e, sp.Function) and e.func in HEADS:
                add(e, functools.partial(_gate, e))
            for g in signed:
                add(g, functools.partial(_signed, g))
    return found


def near_kink_points(problem: Problem, values: Mapping[str, np.ndarray], limit: int,
                     rng: np.random.Generator) -> dict[str, np.ndarray] | None:
    """Up to ``limit`` valid points just either side of the claim's kinks, found along segments between the random
    points ``values`` (every node's value, points first); None where the claim has no kink or none is reached."""
    kinks = claim_kinks(problem.claim_exprs())[:MAX_KINKS]
    g = problem.graph
    n = next(iter(values.values())).shape[0]
    if not kinks or n < 2 or limit <= 0:
        return None
    moving = [i for i in g.inputs if not g.attrs(i).get("domain") or g.attrs(i).get("domain") == "positive"]
    m = min(SEGMENTS, n)
    sym0 = problem.symbol_values(values)
    ends = [_segments(k, sym0, n, m, rng) for k in kinks]
    rows_a = np.concatenate([a for a, _ in ends])    # row r: kink r // m, segment r % m
    rows_b = np.concatenate([b for _, b in ends])
    which = np.repeat(np.arange(len(kinks)), m)

    def dist(rows: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Each point's distance from its own row's kink."""
        vals = problem.forward_points(_along(values, g.inputs, moving, rows_a[rows], rows_b[rows], s))
        sym = problem.symbol_values(vals)
        out = np.full(len(rows), np.inf)
        for j, k in enumerate(kinks):
            mine = which[rows] == j
            if mine.any():
                d = np.broadcast_to(np.asarray(k.distance(sym), dtype=np.float64), (len(rows),))
                out[mine] = d[mine]
        return np.where(np.isfinite(out), out, np.inf)

    rows = np.arange(len(which))
    grid = np.linspace(0.0, 1.0, GRID)
    d0 = dist(np.repeat(rows, GRID), np.tile(grid, len(rows))).reshape(len(rows), GRID)
    best = np.argmin(d0, axis=1)
    lo, hi = grid[np.maximum(best - 1, 0)], grid[np.minimum(best + 1, GRID - 1)]
    phi = (np.sqrt(5.0) - 1) / 2
    for _ in range(STEPS):  # golden-section search for the nearest place in the bracket
        x1, x2 = hi - phi * (hi - lo), lo + phi * (hi - lo)
        both = dist(np.concatenate([rows, rows]), np.concatenate([x1, x2]))
        left = both[: len(rows)] <= both[len(rows):]
        hi, lo = np.where(left, x2, hi), np.where(left, lo, x1)
    s = (lo + hi) / 2
    width = OFFSET / GRID
    both_rows = np.concatenate([rows, rows])
    where = np.concatenate([s - width, s + width]).clip(0.0, 1.0)
    vals = problem.forward_points(_along(values, g.inputs, moving, rows_a[both_rows], rows_b[both_rows], where))
    ok = np.flatnonzero(problem.valid(vals, NEAR_MARGIN))
    if not len(ok):
        return None
    ok = rng.permutation(ok)[:limit]
    return {name: v[np.sort(ok)] for name, v in vals.items()}


def _segments(kink: Kink, sym: Mapping[sp.Symbol, np.ndarray], n: int, m: int,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``m`` segments between the random points (their numbers at either end) for one kink: across it, from a
    point on one side to one on the other, where its sign tells them apart; else between random pairs."""
    a = rng.choice(n, size=m, replace=m > n)
    b = (a + 1 + rng.integers(0, n - 1, size=m)) % n
    if kink.signed is not None:
        g = np.broadcast_to(np.asarray(kink.signed(sym), dtype=np.float64), (n,))
        neg, pos = np.flatnonzero(g < 0), np.flatnonzero(g > 0)
        if len(neg) and len(pos):
            a, b = rng.choice(neg, size=m), rng.choice(pos, size=m)
    return a, b


def _along(values: Mapping[str, np.ndarray], inputs: list[str], moving: list[str], a: np.ndarray, b: np.ndarray,
           s: np.ndarray) -> dict[str, np.ndarray]:
    """The inputs at ``a + s (b - a)`` for each (a, b, s); a label (an input with a domain) stays as at ``a``."""
    out = {}
    for name in inputs:
        va = values[name][a]
        if name in moving:
            w = s.reshape((-1,) + (1,) * (va.ndim - 1))
            out[name] = va + w * (values[name][b] - va)
        else:
            out[name] = va.copy()
    return out
