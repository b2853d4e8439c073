"""Finite differences, written once: the independent check that knows only the forward pass.

Every entry of every input (a number is the shape-() case) is nudged both ways by a step h and
by h/2, and the two central differences are combined by Richardson extrapolation
(:func:`central_richardson`), which also estimates their error. The perturbed points are
evaluated in vectorised batches of :data:`FD_CHUNK`, scalar graphs with the memory-lean forward
pass.

The step for an entry x is ``h = eps**(1/3) * max(1, |x|)`` (about 6e-6 for |x| <= 1), made
exactly representable: it balances truncation error against rounding error (eps/h). It never
leaves a gate's domain. Every perturbed point is watched: each argument of a gate with a domain
edge (:class:`gradlab.ops.DomainEdge`: log and sqrt at 0, the pole of 1/x, ...) must stay on its
side, moving at most 1/:data:`EDGE_MARGIN` of its distance to the edge (up to twice that passes),
and every value must stay finite. In a graph with such gates each entry is first scouted at
x ± :data:`MIN_STEP_ULPS` units in the last place: how fast the arguments move toward their edges
sets the first step, ``h`` or, nearer an edge, that fraction of the distance; a step that still
does not fit shrinks again. From a point on an edge (``x**1.5`` at 0), or where the step would
have to be smaller than the scouting step, the differences are one-sided toward the inside
(:func:`one_sided_richardson`). Each :class:`FDEstimate` says which scheme and step it used.

>>> from gradlab import Graph
>>> e = finite_difference_estimates(Graph.parse("f = log(x)"), {"x": 1e-12})["x"]
>>> e.scheme, round(e.value * 1e-12, 9), e.step < 1e-12 / 32     # d/dx log(x) = 1/x, the step kept off 0
('central', 1.0, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..errors import EvaluationError, ShapeError
from ..model.graph import Graph
from ..ops import DomainEdge
from ..ops.tensor import shape_text
from .numeric import Point, Watcher, forward, forward_lazy, point_values
from .plan import plan_of

EPS = float(np.finfo(np.float64).eps)
#: A step moves each gate argument at most 1/EDGE_MARGIN of its distance to a domain edge (up to twice
#: that passes): near a log or a pole the relative truncation error is then about EDGE_MARGIN**-4.
EDGE_MARGIN = 256.0
#: The scouting step and the smallest step, in units in the last place of the entry.
MIN_STEP_ULPS = 4
#: A step whose points give inf or nan with no domain edge to blame (an overflow) shrinks by this factor.
BLIND_SHRINK = 1 / 16
#: Perturbed points evaluated in one vectorised batch: at least FD_CHUNK, and as many as keep each node's
#: array of the batch within FD_BATCH_ENTRIES numbers (a graph of numbers: one forward pass for 10,000 inputs;
#: a big network: small batches, bounded memory).
FD_CHUNK = 2048
FD_BATCH_ENTRIES = 2**22

Value = Any  # a float for a number, an array of the input's shape for a vector or matrix


def representable(x: Value, h: Value) -> Value:
    """The step nearest ``h`` (of either sign) that moves x exactly: ``(x + step) - x == step``.

    >>> representable(1.0, 1e-17), representable(1.0, 0.25)
    (0.0, 0.25)
    """
    return (x + h) - x


def step_size(x: Value) -> Value:
    """The central-difference step for a value x (or an array of them), ``eps**(1/3) * max(1, |x|)`` made exactly
    representable.

    >>> h = step_size(1.0)
    >>> f"{h:.4g}", f"{step_size(-1e6):.4g}", bool((1.0 + h) - 1.0 == h)
    ('6.055e-06', '6.055', True)
    """
    return representable(x, EPS ** (1 / 3) * np.maximum(1.0, np.abs(x)))


def central_richardson(fp: Value, fm: Value, fp2: Value, fm2: Value, h: Value, h2: Value) -> tuple[Value, Value]:
    """The derivative from f(x ± h) and f(x ± h2), h2 about h/2, and its estimated error.

    ``(D(h2) - r*D(h))/(1 - r)`` with ``r = (h2/h)**2`` (for h2 = h/2: ``(4*D(h/2) - D(h))/3``)
    cancels the h**2 term of the central difference ``D``; the error estimate ``|value - D(h2)|``
    is large where differences cannot be trusted (a kink straddled, rapid oscillation).

    >>> from math import exp
    >>> value, error = central_richardson(exp(0.1), exp(-0.1), exp(0.05), exp(-0.05), 0.1, 0.05)
    >>> round(value, 6), error < 1e-3     # d/dx exp(x) at 0
    (1.0, True)
    """
    d1 = (fp - fm) / (2 * h)
    d2 = (fp2 - fm2) / (2 * h2)
    r = (h2 / h) ** 2
    value = (d2 - r * d1) / (1 - r)
    return value, abs(value - d2)


def one_sided_richardson(f0: Value, f1: Value, f2: Value, s: Value, s1: Value) -> tuple[Value, Value]:
    """The derivative from f(x), f(x + s1) and f(x + s), s1 about s/2 (s < 0: from below), and its estimated error.

    ``(D(s1) - q*D(s))/(1 - q)`` with ``q = s1/s`` (for s1 = s/2: ``2*D(s/2) - D(s)``) cancels the
    s term of the one-sided difference ``D``: second-order accurate, as the central difference is;
    the error estimate is ``|value - D(s1)|``.

    >>> from math import exp
    >>> value, error = one_sided_richardson(exp(0), exp(-0.05), exp(-0.1), -0.1, -0.05)
    >>> round(value, 2), error < 0.05     # d/dx exp(x) at 0, from below
    (1.0, True)
    """
    d1 = (f2 - f0) / s
    d2 = (f1 - f0) / s1
    q = s1 / s
    value = (d2 - q * d1) / (1 - q)
    return value, abs(value - d2)


@dataclass(frozen=True)
class FDEstimate:
    """d output / d one input by finite differences: floats for a number, arrays of its shape otherwise.

    ``value`` is the Richardson-extrapolated difference and ``error`` its estimated error;
    ``left``/``right`` are the one-sided quotients ``(f(x) - f(x - h))/h`` and ``(f(x + h) - f(x))/h``
    (the two slopes at a kink; nan on the side a one-sided scheme does not visit); ``scheme`` is
    ``"central"`` or ``"one-sided"`` (toward the inside of a domain edge) and ``step`` the step
    used (negative for one-sided differences from below).
    """

    value: Value
    error: Value
    left: Value
    right: Value
    scheme: str | np.ndarray
    step: Value


def _edge_room(before: np.ndarray, after: np.ndarray, edge: DomainEdge) -> tuple[np.ndarray, ...]:
    """Per point: how many times the argument's move fits into its distance to the edge (inf where it did not
    move, or is not finite), whether it crossed or touched the edge, and whether an argument sitting on the
    edge moved out of the domain."""
    n = after.shape[0]
    a = after.reshape(n, -1)
    a0 = before.reshape(1, -1)
    gap = np.abs(a0 - edge.at)
    on = gap == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        room = np.where(on | ~np.isfinite(a), np.inf, gap / np.abs(a - a0))
    crossed = ~on & ((a == edge.at) | ((a > edge.at) != (a0 > edge.at)))
    exited = on & ((a - edge.at) * edge.side < 0)
    return room.min(axis=1), crossed.any(axis=1), exited.any(axis=1)


def _domain_edges(graph: Graph) -> dict[str, tuple[DomainEdge, ...]]:
    """The gates whose arguments have domain edges (log, sqrt, 1/x, ...), and the edges."""
    plan = plan_of(graph)
    found = {}
    for i in plan.gates:
        edges = plan.domain_edges(i)
        if edges:
            found[plan.nodes[i]] = edges
    return found


def _all_finite(value: np.ndarray, n: int, inside: np.ndarray) -> None:
    """``inside &=`` whether each of the ``n`` points' entries of ``value`` are finite."""
    fin = np.isfinite(value)
    if fin.ndim > 1:
        fin = fin.reshape(n, -1).all(axis=1)
    np.logical_and(inside, fin, out=inside)


@dataclass(frozen=True)
class _Points:
    """The output at perturbed points, and what watching the forward pass saw there: the smallest room of any
    gate argument (:func:`_edge_room`), whether the point stayed inside (every value finite, no argument
    crossed or touched an edge), and whether an argument on an edge moved out of the domain."""

    f: np.ndarray
    room: np.ndarray
    inside: np.ndarray
    exited: np.ndarray

    def rows(self, start: int, k: int, w: int) -> "_Points":
        """Points ``start`` to ``start + k*w`` as k rows of w (one row per probe)."""
        return _Points(*(a[start: start + k * w].reshape(k, w) for a in (self.f, self.room, self.inside, self.exited)))

    def __getitem__(self, row: int) -> "_Points":
        return _Points(self.f[row], self.room[row], self.inside[row], self.exited[row])


class _Sampler:
    """A graph's output at watched perturbed points, each moving one entry of one input (a probe: the entries
    of ``names``, in order). Every batch also holds the base point, as its last column: the arguments there
    are what the points' arguments are compared with, and its output is ``f0``."""

    def __init__(self, graph: Graph, base: Mapping[str, np.ndarray], names: Sequence[str]) -> None:
        self.graph = graph
        self.tensor = graph.is_tensor
        self.base = base
        self.names = list(names)
        sizes = [base[n].size for n in self.names]
        self.input = np.repeat(np.arange(len(sizes)), sizes)  # per probe: which input
        self.entry = np.concatenate([np.arange(k) for k in sizes])  # ... and which of its entries
        self.x = np.concatenate([base[n].ravel() for n in self.names]).astype(np.float64)  # ... whose value is x
        self.offset = dict(zip(self.names, np.cumsum([0] + sizes[:-1]).tolist()))  # an input's first probe
        self.edges = _domain_edges(graph)
        largest = max(plan_of(graph).size, default=1) if self.tensor else 1
        self.chunk = max(1 if largest > FD_BATCH_ENTRIES // FD_CHUNK else FD_CHUNK, FD_BATCH_ENTRIES // max(1, largest))
        self.f0 = math.nan

    def keep(self, probes: np.ndarray) -> None:
        """Difference only these probes (indices into the entries of ``names``, in order)."""
        self.input, self.entry, self.x = self.input[probes], self.entry[probes], self.x[probes]

    def label(self, probe: int) -> str:
        """``x`` or ``A[0, 1]``: the entry a probe moves."""
        name = self.names[self.input[probe]]
        shape = self.base[name].shape
        index = np.unravel_index(self.entry[probe], shape)
        return f"{name}[{', '.join(str(int(i)) for i in index)}]" if shape else name

    def _output(self, make_input: Callable[[str], np.ndarray], batch: tuple[int, ...], watch: Watcher | None = None,
                check: bool = True) -> np.ndarray:
        return forward_lazy(self.graph, make_input, batch, keep=False, check=check, watch=watch)[self.graph.output]

    def sample(self, probe: np.ndarray, t: np.ndarray) -> _Points:
        """The points ``x + t`` in the entry of ``probe`` (one of each per point), in batches of ``self.chunk``."""
        c = self.chunk
        parts = [self._batch(probe[i: i + c], t[i: i + c]) for i in range(0, len(probe), c)]
        return _Points(*(np.concatenate(p) for p in zip(*parts)))

    def _batch(self, probe: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, ...]:
        n = len(probe) + 1  # the points, and the base point last
        which = self.input[probe]
        order = np.argsort(which, kind="stable")  # the batch's columns, grouped by the input they move
        inputs, starts = np.unique(which[order], return_index=True)
        columns = {self.names[int(i)]: cols for i, cols in zip(inputs, np.split(order, starts[1:]))}

        def make_input(name: str) -> np.ndarray:
            v = self.base[name]
            a = np.empty((n,) + v.shape)
            a[...] = v
            cols = columns.get(name)
            if cols is not None:
                a.reshape(n, -1)[cols, self.entry[probe[cols]]] += t[cols]
            return a

        room = np.full(n, np.inf)
        inside = np.ones(n, dtype=bool)
        exited = np.zeros(n, dtype=bool)

        def watch(node: str, args: list[np.ndarray], value: np.ndarray) -> None:
            _all_finite(value, n, inside)
            for edge in self.edges.get(node, ()):
                r, crossed, out = _edge_room(args[edge.arg][-1], args[edge.arg], edge)
                np.minimum(room, r, out=room)
                np.logical_and(inside, ~(crossed | out), out=inside)
                np.logical_or(exited, out, out=exited)

        f = self._output(make_input, (n,), watch, check=False)
        if not inside[-1]:  # the base point itself: the forward pass says where it fails
            self._output(self.base.__getitem__, ())
        self.f0 = float(f[-1])
        return f[:-1], room[:-1], inside[:-1], exited[:-1]


def _smallest_step(x: Value) -> Value:
    return MIN_STEP_ULPS * np.spacing(np.abs(x))


def _offsets(scheme: str, step: np.ndarray, half: np.ndarray) -> np.ndarray:
    """The points of a scheme, one row per probe: ``central`` at ±step and ±half, ``one-sided`` at half and step
    (step < 0: from below), ``scout`` at ±step."""
    if scheme == "central":
        return np.stack([step, -step, half, -half], axis=1)
    if scheme == "one-sided":
        return np.stack([half, step], axis=1)
    return np.stack([step, -step], axis=1)


def _combine(scheme: str, f0: float, f: np.ndarray, step: np.ndarray, half: np.ndarray) -> tuple[np.ndarray, ...]:
    """Value, error, left and right slope from the output at a scheme's points (one row per probe)."""
    if scheme == "central":
        fp, fm, fp2, fm2 = f.T
        value, error = central_richardson(fp, fm, fp2, fm2, step, half)
        return value, error, (f0 - fm) / step, (fp - f0) / step
    f1, f2 = f.T
    value, error = one_sided_richardson(f0, f1, f2, step, half)
    slope = (f2 - f0) / step
    return value, error, np.where(step < 0, slope, np.nan), np.where(step > 0, slope, np.nan)


def _next_plan(scheme: str, step: float, x: float, points: _Points) -> tuple[str, float, bool] | None:
    """Scheme, step and whether it is the last try, after a scout or after a step whose points left the domain or
    came too near an edge: the argument nearest its edge then moves 1/EDGE_MARGIN of its distance (at most the
    base step). None: no step stays inside."""
    worst = float(points.room.min())
    if worst < EDGE_MARGIN / 2 or scheme == "scout":
        target = min(float(step_size(x)), abs(step) * worst / EDGE_MARGIN)
    else:  # inf or nan with no edge to blame
        target = abs(step) * BLIND_SHRINK
    floor = float(_smallest_step(x))
    if scheme == "one-sided":
        return ("one-sided", math.copysign(target, step), False) if target >= floor else (
            "one-sided", math.copysign(floor, step), True)
    up, down = bool(points.exited[0::2].any()), bool(points.exited[1::2].any())  # the points above / below x
    if up and down:
        return None
    if up or down:  # x sits on a domain edge: differences from the inside
        return "one-sided", -target if up else target, False
    if target >= floor:
        return "central", target, False
    sides = [(bool(points.inside[k::2].all()), float(points.room[k::2].min())) for k in (0, 1)]
    return "one-sided", floor if sides[0] >= sides[1] else -floor, True


def _estimate(sampler: _Sampler) -> dict[str, np.ndarray]:
    """Value, error, left and right slope, scheme and step of every probe (arrays along the probes).

    Each round evaluates every pending probe's points in one batch. A probe whose points stay
    inside the domain, with room, is done; the others (and the scouts) get their next scheme
    and step (:func:`_next_plan`). An ordinary point takes one round, or two in a graph with
    domain edges (the first to scout).
    """
    x = sampler.x
    m = x.size
    scheme = np.full(m, "scout" if sampler.edges else "central", dtype="<U9")
    step = representable(x, _smallest_step(x) if sampler.edges else step_size(x))
    half = representable(x, step / 2)
    last = np.zeros(m, dtype=bool)
    out = {k: np.full(m, np.nan) for k in ("value", "error", "left", "right")}
    pending = np.ones(m, dtype=bool)
    while pending.any():
        chosen = [(s, np.flatnonzero(pending & (scheme == s))) for s in ("scout", "central", "one-sided")]
        groups = [(s, i, _offsets(s, step[i], half[i])) for s, i in chosen if i.size]
        points = sampler.sample(np.concatenate([np.repeat(i, t.shape[1]) for _, i, t in groups]),
                                np.concatenate([t.ravel() for _, _, t in groups]))
        start = 0
        for s, i, t in groups:
            rows = points.rows(start, *t.shape)
            start += t.size
            worst = rows.room.min(axis=1)
            done = rows.inside.all(axis=1) & ((worst >= EDGE_MARGIN / 2) | last[i]) & (s != "scout")
            for k, v in zip(("value", "error", "left", "right"),
                            _combine(s, sampler.f0, rows.f[done], step[i[done]], half[i[done]])):
                out[k][i[done]] = v
            pending[i[done]] = False
            for r in np.flatnonzero(~done).tolist():
                j = int(i[r])
                plan = None if last[j] else _next_plan(s, float(step[j]), float(x[j]), rows[r])
                if plan is None:
                    raise EvaluationError(f"finite differences find no step from {sampler.label(j)} = {x[j]:g} "
                                          "that stays inside the domain of every gate")
                scheme[j], h, last[j] = plan
                step[j] = representable(x[j], h)
                half[j] = representable(x[j], step[j] / 2)
    return {**out, "scheme": scheme, "step": step}


def _base_point(graph: Graph, at: Point) -> dict[str, np.ndarray]:
    """The checked input values of one point (arrays of the inputs' shapes)."""
    if not graph.is_tensor:
        return {n: np.asarray(float(np.asarray(v).reshape(()))) for n, v in point_values(graph, at).items()}
    out = graph.output
    if graph.shape(out) != ():
        raise ShapeError(f"the output '{out}' is {shape_text(graph.shape(out))}; gradients need a number")
    values = forward(graph, at)  # checks each value's shape, and says where the point fails
    return {n: values[n] for n in plan_of(graph).inputs}


def finite_difference_estimates(graph: Graph, at: Point, *, inputs: Sequence[str] | None = None,
                                entries: Mapping[str, Sequence[int] | np.ndarray] | None = None
                                ) -> dict[str, FDEstimate]:
    """d output / d every entry of each input (default: all), with error estimates and one-sided slopes.

    ``entries`` differences only the chosen entries (flat indices) of each input named in it (a sample, see
    :func:`sample_plan`); the others are nan, and an input with no chosen entry is left out.

    >>> from gradlab import Graph
    >>> e = finite_difference_estimates(Graph.parse("x: (2,); f = sum(x*x)"), {"x": [1.0, -2.0]})["x"]
    >>> e.value.round(6), bool(e.error.max() < 1e-8)
    (array([ 2., -4.]), True)
    """
    base = _base_point(graph, at)
    names = list(inputs if inputs is not None else plan_of(graph).inputs)
    if entries is not None:
        names = [n for n in names if len(entries.get(n, ())) > 0]
    if not names:
        return {}
    sampler = _Sampler(graph, base, names)
    chosen = None
    if entries is not None:
        chosen = np.concatenate([sampler.offset[n] + np.asarray(entries[n], dtype=np.int64) for n in names])
        sampler.keep(chosen)
    est = _estimate(sampler)
    if chosen is not None:  # back to every entry, nan where none was differenced
        m = sum(base[n].size for n in names)
        full = {}
        for k, v in est.items():
            full[k] = np.full(m, "" if v.dtype.kind == "U" else np.nan, dtype=v.dtype)
            full[k][chosen] = v
        est = full
    result, start = {}, 0
    for n in names:
        part = {k: v[start: start + base[n].size].reshape(base[n].shape) for k, v in est.items()}
        start += base[n].size
        result[n] = FDEstimate(**(part if sampler.tensor else {k: v.item() for k, v in part.items()}))
    return result


# ------------------------------------------------------------------------------------------ big graphs

#: Exact differences of every input entry while (input entries) x (entries of all nodes) stays at most this;
#: past it the work would grow as inputs x gates, so a sample of entries is differenced exactly and every entry
#: is checked through :data:`FD_DIRECTIONS` directional differences (:func:`directional_differences`).
FD_EXACT_WORK = 10_000_000
#: How many input entries a big graph differences exactly (chosen by :func:`sample_plan`).
FD_SAMPLE = 256
#: ... fewer where the graph's values are big: at least FD_MIN_SAMPLE, and as many as keep (points) x (entries of
#: all nodes) within FD_POINT_WORK.
FD_MIN_SAMPLE = 16
FD_POINT_WORK = 2**25
#: How many random directions, each moving every input entry, a big graph differences.
FD_DIRECTIONS = 4


def fd_work(graph: Graph) -> int:
    """(input entries) x (entries of all nodes): how the work of exact differences grows.

    >>> from gradlab import Graph
    >>> fd_work(Graph.parse("f = x*y + z"))    # 3 inputs x 5 nodes (x, y, x*y, z, f)
    15
    """
    plan = plan_of(graph)
    return sum(plan.size[i] for i in plan.input_index) * plan.total_size()


def sample_plan(graph: Graph, *, sample: int | None = None, seed: int = 0) -> dict[str, np.ndarray] | None:
    """None for a graph small enough (:data:`FD_EXACT_WORK`) to difference every input entry; else the entries to
    difference exactly: ``sample`` (default :data:`FD_SAMPLE`) of them, spread at random (a fixed seed: the same graph, the same sample),
    as flat indices per input (inputs with none left out).

    >>> from gradlab import Graph
    >>> sample_plan(Graph.parse("f = x*y")) is None
    True
    >>> g = Graph.parse("x: (2000,); w: (2000,); f = sum(tanh(w * x))")
    >>> plan = sample_plan(g, sample=10)
    >>> sum(len(v) for v in plan.values()), sorted(plan)
    (10, ['w', 'x'])
    """
    work = fd_work(graph)
    if work <= FD_EXACT_WORK:
        return None
    plan = plan_of(graph)
    names = list(plan.inputs)
    sizes = np.array([plan.size[i] for i in plan.input_index], dtype=np.int64)
    if sample is None:  # big values: fewer entries one by one, each point costs a pass over all of them
        entries = work // max(1, int(sizes.sum()))
        sample = int(min(FD_SAMPLE, max(FD_MIN_SAMPLE, FD_POINT_WORK // max(1, entries))))
    total = int(sizes.sum())
    size = min(FD_SAMPLE if sample is None else sample, total)
    flat = np.sort(np.random.default_rng(seed).choice(total, size=size, replace=False))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    which = np.searchsorted(starts, flat, side="right") - 1
    return {names[i]: flat[which == i] - starts[i] for i in np.unique(which).tolist()}


@dataclass(frozen=True)
class Directional:
    """Directional differences: ``value[k]`` estimates d/dt f(x + t*v_k) at t = 0 (Richardson, central), whose
    exact value is the sum over the entries of gradient x ``directions[name][k]``; ``error[k]`` is its estimated
    error, inf for a direction no step could follow inside the domain of every gate."""

    directions: dict[str, np.ndarray]
    value: np.ndarray
    error: np.ndarray


def directional_differences(graph: Graph, at: Point, *, count: int | None = None, seed: int = 0) -> Directional:
    """``count`` (default :data:`FD_DIRECTIONS`) random directions, each moving every entry of every input by ±max(1, |x|) (the signs at random),
    differenced in one batched forward pass: each checks every input at once, in a work linear in the graph.

    >>> from gradlab import Graph
    >>> g = Graph.parse("f = x*y + sin(z)")
    >>> d = directional_differences(g, {"x": 1.0, "y": 2.0, "z": 0.0}, count=2)
    >>> exact = d.directions["x"] * 2.0 + d.directions["y"] * 1.0 + d.directions["z"] * 1.0
    >>> bool(np.allclose(d.value, exact)), bool(d.error.max() < 1e-8)
    (True, True)
    """
    base = _base_point(graph, at)
    count = FD_DIRECTIONS if count is None else count
    rng = np.random.default_rng(seed)
    plan = plan_of(graph)
    names = list(plan.inputs)
    sizes = [plan.size[i] for i in plan.input_index]
    flat_base = np.concatenate([np.ravel(base[n]) for n in names]) if names else np.zeros(0)
    # one draw for every entry of every input: count x entries signs, scaled by max(1, |x|)
    flat_dirs = rng.choice([-1.0, 1.0], size=(count, flat_base.size)) * np.maximum(1.0, np.abs(flat_base))
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    position = dict(zip(names, range(len(names))))
    directions = {n: flat_dirs[:, starts[k]: starts[k + 1]].reshape((count,) + base[n].shape)
                  for n, k in position.items()}
    edges = _domain_edges(graph)
    step = np.full(count, EPS ** (1 / 3))
    value, error = np.full(count, np.nan), np.full(count, np.inf)
    pending = np.ones(count, dtype=bool)
    largest = max(plan.size, default=1)
    group = max(1, FD_BATCH_ENTRIES // (4 * largest))  # directions per batch: bounded memory for big values
    tries = np.zeros(count, dtype=int)
    while True:  # shrink the step of a direction whose points leave the domain, or come near its edge
        pending &= tries < 8
        idx = np.flatnonzero(pending)[:group]
        if not idx.size:
            break
        tries[idx] += 1
        t = np.stack([step[idx], -step[idx], step[idx] / 2, -step[idx] / 2], axis=1).ravel()  # 4 points a direction
        n_pts = t.size + 1  # and the base point last
        which = np.repeat(idx, 4)
        points = np.empty((n_pts, flat_base.size))  # every input's entries at every point, in one array
        points[:-1] = flat_base + t[:, None] * flat_dirs[which]
        points[-1] = flat_base

        def make_input(name: str) -> np.ndarray:
            k = position[name]
            return points[:, starts[k]: starts[k + 1]].reshape((n_pts,) + base[name].shape)

        room = np.full(n_pts, np.inf)
        inside = np.ones(n_pts, dtype=bool)

        def watch(node: str, args: list[np.ndarray], value: np.ndarray) -> None:
            _all_finite(value, n_pts, inside)
            for edge in edges.get(node, ()):
                r, crossed, out = _edge_room(args[edge.arg][-1], args[edge.arg], edge)
                np.minimum(room, r, out=room)
                np.logical_and(inside, ~(crossed | out), out=inside)

        f = forward_lazy(graph, make_input, (n_pts,), keep=False, check=False, watch=watch)[graph.output]
        if not inside[-1]:
            forward(graph, inputs=base)  # the base point itself: the forward pass says where it fails
        fr, ok = f[:-1].reshape(-1, 4), (inside[:-1] & (room[:-1] >= EDGE_MARGIN / 2)).reshape(-1, 4).all(axis=1)
        v, e = central_richardson(fr[:, 0], fr[:, 1], fr[:, 2], fr[:, 3], step[idx], step[idx] / 2)
        value[idx[ok]], error[idx[ok]] = v[ok], e[ok]
        pending[idx[ok]] = False
        worst = room[:-1].reshape(-1, 4).min(axis=1)[~ok]
        step[idx[~ok]] *= np.where(worst < EDGE_MARGIN / 2, np.clip(worst / EDGE_MARGIN, 1e-6, 0.5), BLIND_SHRINK)
    return Directional(directions, value, error)


def finite_differences(graph: Graph, at: Point, *, inputs: Sequence[str] | None = None) -> dict[str, Value]:
    """d output / d input by (Richardson-extrapolated) central differences at one point: floats for
    a scalar graph, arrays of the inputs' shapes for a tensor graph.

    >>> from gradlab import Graph
    >>> round(finite_differences(Graph.parse("f = sin(x)"), {"x": 0.0})["x"], 9)
    1.0
    """
    return {n: e.value for n, e in finite_difference_estimates(graph, at, inputs=inputs).items()}


def scale_atol(atol: float, output: float) -> float:
    """Absolute tolerance for finite differences scaled by the size of the output."""
    return atol * max(1.0, abs(output))
