"""Central finite differences: an independent check that knows only the forward pass.

The step for input x is ``h = eps**(1/3) * max(1, |x|)`` (about 6e-6 for |x| <= 1), the
step that balances truncation error (h**2) against rounding error (eps/h) for central
differences. All perturbed points are evaluated in one vectorised forward pass.

>>> from gradlab import Graph
>>> g = Graph.parse("f = x*x")
>>> round(finite_differences(g, {"x": 3.0})["x"], 6)
6.0
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .graph import Graph
from .numeric import Point, forward_lazy, output_value, point_values

EPS = float(np.finfo(np.float64).eps)


def step_size(x: float) -> float:
    """The central-difference step for a value x, made exactly representable."""
    h = EPS ** (1 / 3) * max(1.0, abs(x))
    return float((x + h) - x)


def finite_differences(graph: Graph, at: Point, *, inputs: Sequence[str] | None = None,
                       one_sided: bool = False) -> dict[str, float] | dict[str, tuple[float, float, float]]:
    """d output / d input by central differences at one point.

    With ``one_sided=True`` each value is ``(central, left, right)``: the one-sided
    difference quotients show the two slopes at a kink.
    """
    base = {n: float(np.asarray(v).reshape(())) for n, v in point_values(graph, at).items()}
    names = list(inputs if inputs is not None else graph.inputs)
    if not names:
        return {}
    steps = [step_size(base[n]) for n in names]
    m = len(names)
    cols = 2 * m
    position = {n: i for i, n in enumerate(names)}

    def make_input(n: str) -> np.ndarray:  # column 2i is x_i + h_i, column 2i+1 is x_i - h_i
        a = np.full(cols, base[n])
        i = position.get(n)
        if i is not None:
            a[2 * i] += steps[i]
            a[2 * i + 1] -= steps[i]
        return a

    f = forward_lazy(graph, make_input, (cols,), keep=False)[graph.output]
    f0 = float(output_value(graph, base).reshape(())) if one_sided else 0.0
    result: dict = {}
    for i, (n, h) in enumerate(zip(names, steps)):
        plus, minus = float(f[2 * i]), float(f[2 * i + 1])
        central = (plus - minus) / (2 * h)
        result[n] = (central, (f0 - minus) / h, (plus - f0) / h) if one_sided else central
    return result


def scale_atol(atol: float, output: float) -> float:
    """Absolute tolerance for finite differences scaled by the size of the output."""
    return atol * max(1.0, abs(output))


def directional_check(graph: Graph, at: Mapping[str, float], grad: Mapping[str, float], *,
                      seed: int = 0) -> tuple[float, float]:
    """Compare the directional derivative along a random unit direction: (by gradient, by differences)."""
    rng = np.random.default_rng(seed)
    names = graph.inputs
    u = rng.standard_normal(len(names))
    u /= np.linalg.norm(u) or 1.0
    h = EPS ** (1 / 3) * max(1.0, max(abs(float(at[n])) for n in names))
    pts = {n: np.array([float(at[n]) + h * u[i], float(at[n]) - h * u[i]]) for i, n in enumerate(names)}
    f = output_value(graph, pts)
    by_fd = float(f[0] - f[1]) / (2 * h)
    by_grad = float(sum(grad[n] * u[i] for i, n in enumerate(names)))
    return by_grad, by_fd
