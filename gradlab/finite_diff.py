"""Finite differences, written once: the independent check that knows only the forward pass.

Every entry of every input (a number is the shape-() case) is nudged both ways by a step h and
by h/2, and the two central differences are combined by Richardson extrapolation
(:func:`central_richardson`), which also estimates their error. The step for an entry x is
``h = eps**(1/3) * max(1, |x|)`` (about 6e-6 for |x| <= 1), made exactly representable: it
balances truncation error against rounding error (eps/h). The perturbed points are evaluated
in vectorised batches of :data:`FD_CHUNK`, scalar graphs with the memory-lean forward pass.

>>> from gradlab import Graph
>>> g = Graph.parse("f = x*x")
>>> round(finite_differences(g, {"x": 3.0})["x"], 6)
6.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from .errors import ShapeError
from .graph import Graph
from .numeric import Point, forward, forward_lazy, point_values
from .tensor_ops import shape_text

EPS = float(np.finfo(np.float64).eps)
#: Perturbed points evaluated in one vectorised batch (bounds memory on big networks).
FD_CHUNK = 2048

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

    ``(4*D(h2) - D(h))/3`` cancels the h**2 term of the central difference ``D``; the error
    estimate ``|value - D(h2)|`` is large where differences cannot be trusted (a kink straddled,
    rapid oscillation).

    >>> from math import exp
    >>> value, error = central_richardson(exp(0.1), exp(-0.1), exp(0.05), exp(-0.05), 0.1, 0.05)
    >>> round(value, 6), error < 1e-3     # d/dx exp(x) at 0
    (1.0, True)
    """
    d1 = (fp - fm) / (2 * h)
    d2 = (fp2 - fm2) / (2 * h2)
    value = (4 * d2 - d1) / 3
    return value, abs(value - d2)


@dataclass(frozen=True)
class FDEstimate:
    """d output / d one input by finite differences: floats for a number, arrays of its shape otherwise.

    ``value`` is the Richardson-extrapolated difference and ``error`` its estimated error;
    ``left``/``right`` are the one-sided quotients ``(f(x) - f(x - h))/h`` and ``(f(x + h) - f(x))/h``
    (the two slopes at a kink).
    """

    value: Value
    error: Value
    left: Value
    right: Value


class _Sampler:
    """A graph's output at perturbed points, each moving one entry of one input (a probe: the entries of
    ``names``, in order). Every batch also holds the base point, as its last column: its output is ``f0``."""

    def __init__(self, graph: Graph, base: Mapping[str, np.ndarray], names: Sequence[str]) -> None:
        self.graph = graph
        self.tensor = graph.is_tensor
        self.base = base
        self.names = list(names)
        sizes = [base[n].size for n in self.names]
        self.input = np.repeat(np.arange(len(sizes)), sizes)  # per probe: which input
        self.entry = np.concatenate([np.arange(k) for k in sizes])  # ... and which of its entries
        self.x = np.concatenate([base[n].ravel() for n in self.names]).astype(np.float64)  # ... whose value is x
        self.f0 = float("nan")

    def sample(self, probe: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The output at ``x + t`` in the entry of ``probe`` (one of each per point), in batches of FD_CHUNK."""
        return np.concatenate([self._batch(probe[i: i + FD_CHUNK], t[i: i + FD_CHUNK])
                               for i in range(0, len(probe), FD_CHUNK)])

    def _batch(self, probe: np.ndarray, t: np.ndarray) -> np.ndarray:
        n = len(probe) + 1  # the points, and the base point last
        which = self.input[probe]

        def make_input(name: str) -> np.ndarray:
            v = self.base[name]
            a = np.broadcast_to(v, (n,) + v.shape).copy()
            if name in self.names:
                cols = np.flatnonzero(which == self.names.index(name))
                a.reshape(n, -1)[cols, self.entry[probe[cols]]] += t[cols]
            return a

        f = forward_lazy(self.graph, make_input, (n,), keep=False)[self.graph.output]
        self.f0 = float(f[-1])
        return f[:-1]


def _estimate(sampler: _Sampler) -> dict[str, np.ndarray]:
    """Value, error, left and right slope of every probe (arrays along the probes)."""
    x = sampler.x
    step = step_size(x)
    half = representable(x, step / 2)
    points = np.stack([step, -step, half, -half], axis=1)
    fp, fm, fp2, fm2 = sampler.sample(np.repeat(np.arange(x.size), 4), points.ravel()).reshape(-1, 4).T
    value, error = central_richardson(fp, fm, fp2, fm2, step, half)
    f0 = sampler.f0
    return {"value": value, "error": error, "left": (f0 - fm) / step, "right": (fp - f0) / step}


def _base_point(graph: Graph, at: Point) -> dict[str, np.ndarray]:
    """The checked input values of one point (arrays of the inputs' shapes)."""
    if not graph.is_tensor:
        return {n: np.asarray(float(np.asarray(v).reshape(()))) for n, v in point_values(graph, at).items()}
    out = graph.output
    if graph.shape(out) != ():
        raise ShapeError(f"the output '{out}' is {shape_text(graph.shape(out))}; gradients need a number")
    values = forward(graph, at)  # checks each value's shape, and says where the point fails
    return {n: values[n] for n in graph.inputs}


def finite_difference_estimates(graph: Graph, at: Point, *, inputs: Sequence[str] | None = None
                                ) -> dict[str, FDEstimate]:
    """d output / d every entry of each input (default: all), with error estimates and one-sided slopes.

    >>> from gradlab import Graph
    >>> e = finite_difference_estimates(Graph.parse("x: (2,); f = sum(x*x)"), {"x": [1.0, -2.0]})["x"]
    >>> e.value.round(6), bool(e.error.max() < 1e-8)
    (array([ 2., -4.]), True)
    """
    base = _base_point(graph, at)
    names = list(inputs if inputs is not None else graph.inputs)
    if not names:
        return {}
    sampler = _Sampler(graph, base, names)
    est = _estimate(sampler)
    result, start = {}, 0
    for n in names:
        part = {k: v[start: start + base[n].size].reshape(base[n].shape) for k, v in est.items()}
        start += base[n].size
        result[n] = FDEstimate(**(part if sampler.tensor else {k: v.item() for k, v in part.items()}))
    return result


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
