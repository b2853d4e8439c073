"""Finite differences: one method for numbers, vectors and matrices."""

import math

import numpy as np
import pytest

from gradlab import Graph, tensor_numeric
from gradlab.finite_diff import central_richardson, finite_difference_estimates, finite_differences, step_size


@pytest.mark.parametrize("x", [0.0, 1e-12, -0.5, 3.0, -7e5, 1e300])
def test_the_base_step_moves_the_value_exactly(x):
    h = step_size(x)
    assert (x + h) - x == h
    assert h == pytest.approx(np.finfo(float).eps ** (1 / 3) * max(1.0, abs(x)), rel=1e-9)


def test_an_ordinary_point_gives_the_derivatives_and_the_one_sided_slopes():
    e = finite_difference_estimates(Graph.parse("f = log(x)*y + 1/x"), {"x": 3.0, "y": -2.0})
    assert e["x"].value == pytest.approx(-2 / 3 - 1 / 9, rel=1e-10)
    assert e["y"].value == pytest.approx(math.log(3.0), rel=1e-10)
    assert e["x"].left == pytest.approx(e["x"].value, rel=1e-4) and e["x"].right == pytest.approx(e["x"].value, rel=1e-4)
    assert 0 <= e["x"].error < 1e-9


def test_one_method_for_scalar_and_tensor_graphs():
    assert tensor_numeric.finite_difference_estimates is finite_difference_estimates
    assert tensor_numeric.finite_differences is finite_differences
    scalar = finite_difference_estimates(Graph.parse("f = x*sin(y)"), {"x": 2.0, "y": 0.5})
    tensor = finite_difference_estimates(Graph.parse("v: (2,); f = sum(v)*sin(sum(v) - 1.5)"), {"v": [1.0, 0.5]})
    assert isinstance(scalar["x"].value, float) and scalar["x"].value == pytest.approx(math.sin(0.5), rel=1e-10)
    assert tensor["v"].value.shape == (2,) and tensor["v"].value == pytest.approx([1.5, 1.5], rel=1e-9)


def test_every_entry_of_a_matrix_is_differenced():
    A = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    e = finite_difference_estimates(Graph.parse("A: (2, 3); f = sum(A*A*A)"), {"A": A.tolist()})["A"]
    assert e.value.shape == (2, 3) and e.value == pytest.approx(3 * A**2, rel=1e-7, abs=1e-8)


def test_richardson_is_exact_for_polynomials_of_degree_four():
    f = lambda t: t**4 - 2 * t**3 + t  # noqa: E731
    x, h = 1.5, 0.1
    value, error = central_richardson(f(x + h), f(x - h), f(x + h / 2), f(x - h / 2), h, h / 2)
    assert value == pytest.approx(4 * x**3 - 6 * x**2 + 1, rel=1e-12) and error > 0
