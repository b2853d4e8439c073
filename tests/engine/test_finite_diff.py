"""Finite differences: one method for numbers, vectors and matrices, whose steps never leave a gate's domain."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlab import EvaluationError, Graph, gradients
from gradlab.engine import finite_diff
from gradlab.engine.finite_diff import (
    central_richardson,
    finite_difference_estimates,
    finite_differences,
    one_sided_richardson,
    step_size,
)


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
    assert e["x"].scheme == e["y"].scheme == "central"  # far from log's edge and 1/x's pole: the base step
    assert e["x"].step == step_size(3.0) and e["y"].step == step_size(-2.0)


def test_one_method_for_scalar_and_tensor_graphs():
    scalar = finite_difference_estimates(Graph.parse("f = x*sin(y)"), {"x": 2.0, "y": 0.5})
    tensor = finite_difference_estimates(Graph.parse("v: (2,); f = sum(v)*sin(sum(v) - 1.5)"), {"v": [1.0, 0.5]})
    assert isinstance(scalar["x"].value, float) and scalar["x"].value == pytest.approx(math.sin(0.5), rel=1e-10)
    assert tensor["v"].value.shape == (2,) and tensor["v"].value == pytest.approx([1.5, 1.5], rel=1e-9)
    assert scalar["x"].scheme == "central" and tensor["v"].scheme.tolist() == ["central", "central"]


def test_every_entry_of_a_matrix_is_differenced():
    A = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    e = finite_difference_estimates(Graph.parse("A: (2, 3); f = sum(A*A*A)"), {"A": A.tolist()})["A"]
    assert e.value.shape == (2, 3) and e.value == pytest.approx(3 * A**2, rel=1e-7, abs=1e-8)


# Valid points next to a domain edge or a pole, once refused ("log of a non-positive number") or
# differenced across the pole; the true derivatives by hand. x - c is exact here (Sterbenz), so
# the true derivative is computed at the very point that was differenced.
NEAR_EDGES = [
    ("f = log(x)", {"x": 1e-12}, lambda p: {"x": 1 / p["x"]}),
    ("f = sqrt(x)", {"x": 1e-14}, lambda p: {"x": 0.5 / math.sqrt(p["x"])}),
    ("f = sqrt(x)", {"x": 1e-8}, lambda p: {"x": 0.5 / math.sqrt(p["x"])}),
    ("f = sqrt(x - 2)*y", {"x": 2.000000001, "y": 1.0},
     lambda p: {"x": p["y"] / (2 * math.sqrt(p["x"] - 2)), "y": math.sqrt(p["x"] - 2)}),
    ("f = log(x - 1)", {"x": 1.0000000001}, lambda p: {"x": 1 / (p["x"] - 1)}),
    ("f = log(x)*y", {"x": 1e-300, "y": 1.0}, lambda p: {"x": p["y"] / p["x"], "y": math.log(p["x"])}),
    ("f = 1/x", {"x": 1e-9}, lambda p: {"x": -1 / p["x"] ** 2}),
    ("x: (2,); f = sum(log(x))", {"x": [1e-12, 1.0]}, lambda p: {"x": 1 / np.array(p["x"])}),
]
#: Near an edge the step is a 256th of the distance: truncation error and rounding noise are far below this.
RTOL = 1e-7


@pytest.mark.parametrize("program, at, true", NEAR_EDGES, ids=[c[0] + " " + str(c[1]) for c in NEAR_EDGES])
def test_a_point_near_a_domain_edge_is_checked_and_the_differences_are_the_true_derivative(program, at, true):
    report = gradients(program, at=at)
    assert report.ok
    for name, want in true(at).items():
        assert np.asarray(report.inputs[name].fd) == pytest.approx(want, rel=RTOL)
    x = finite_difference_estimates(Graph.parse(program), at)["x"]
    assert np.all(np.asarray(x.scheme) == "central")
    assert np.all(np.abs(x.step) <= step_size(np.asarray(at["x"])))


@pytest.mark.parametrize("program, at, inside", [
    ("f = log(x)", {"x": 1e-12}, lambda x: x > 0),
    ("f = sqrt(x - 2)*y", {"x": 2.000000001, "y": 1.0}, lambda x: x > 2),
    ("f = 1/x", {"x": 1e-9}, lambda x: x > 0),
])
def test_the_step_never_leaves_the_domain(monkeypatch, program, at, inside):
    evaluated = []
    forward_lazy = finite_diff.forward_lazy

    def spy(graph, make_input, shape, **kwargs):
        evaluated.append(np.array(make_input("x"), dtype=float).ravel())
        return forward_lazy(graph, make_input, shape, **kwargs)

    monkeypatch.setattr(finite_diff, "forward_lazy", spy)
    finite_differences(Graph.parse(program), at)
    points = np.concatenate(evaluated)
    assert points.size >= 6 and np.all(inside(points)), points[~inside(points)]


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_near_a_log_sqrt_or_pole_edge_the_differences_are_the_true_derivative(data):
    kind = data.draw(st.sampled_from(["log", "sqrt", "1/x"]), label="gate")
    c = data.draw(st.sampled_from([0.0, 1.0, 2.0, -3.0]), label="edge")
    # c != 0: the distance is at least ~2000 units in the last place of x; 1/x: the derivative stays finite
    lowest = -12 if c else (-150 if kind == "1/x" else -300)
    distance = 10.0 ** data.draw(st.floats(lowest, -2), label="log10 distance")
    side = data.draw(st.sampled_from([1, -1] if kind == "1/x" else [1]), label="side")
    x = c + side * distance
    u = x - c  # exact
    arg = "x" if c == 0 else (f"x - {c}" if c > 0 else f"x + {-c}")
    program, true = {"log": (f"f = log({arg})", lambda: 1 / u),
                     "sqrt": (f"f = sqrt({arg})", lambda: 0.5 / math.sqrt(u)),
                     "1/x": (f"f = 1/({arg})", lambda: -1 / u**2)}[kind]
    e = finite_difference_estimates(Graph.parse(program), {"x": x})["x"]
    assert e.value == pytest.approx(true(), rel=1e-6)


def test_on_an_edge_the_differences_are_one_sided_from_the_inside():
    e = finite_difference_estimates(Graph.parse("f = x**1.5"), {"x": 0.0})["x"]
    assert e.scheme == "one-sided" and e.step > 0
    assert math.isnan(e.left) and e.right >= 0
    assert abs(e.value) <= 2 * e.error  # the true derivative is 0; the error estimate covers the difference
    assert gradients("f = x**1.5", at={"x": 0.0}).ok
    below = finite_difference_estimates(Graph.parse("f = (-x)**2.5"), {"x": 0.0})["x"]
    assert below.scheme == "one-sided" and below.step < 0 and math.isnan(below.right)


def test_a_few_units_in_the_last_place_from_an_edge_the_differences_go_one_sided_with_an_honest_error():
    x = 1.0 + 2 * 2.0**-52
    e = finite_difference_estimates(Graph.parse("f = log(x - 1)"), {"x": x})["x"]
    assert e.scheme == "one-sided" and e.step > 0
    assert abs(e.value - 1 / (x - 1)) <= 2 * e.error


def test_a_point_no_step_can_leave_is_refused():
    with pytest.raises(EvaluationError, match="no step from x = 0 that stays inside the domain"):
        finite_differences(Graph.parse("f = sqrt(-(x*x))"), {"x": 0.0})


def test_an_overflow_with_no_edge_to_blame_shrinks_the_step():
    e = finite_difference_estimates(Graph.parse("f = exp(x)"), {"x": 709.78})["x"]
    assert e.scheme == "central" and e.step < step_size(709.78)
    assert e.value == pytest.approx(math.exp(709.78), rel=1e-8)


def test_every_entry_of_a_matrix_gets_its_own_step():
    A = [[1e-10, 2.0], [3.0, 1e-300]]
    e = finite_difference_estimates(Graph.parse("A: (2, 2); f = sum(log(A))"), {"A": A})["A"]
    assert e.value == pytest.approx(1 / np.array(A), rel=1e-6)  # the output is -690: noise ~1e-8 at entries 2, 3
    assert e.scheme.tolist() == [["central"] * 2] * 2
    assert e.step[0, 1] == step_size(2.0) and e.step[0, 0] < 1e-10 / 128


def test_richardson_is_exact_for_low_degree_polynomials_with_any_half_step():
    f = lambda t: t**4 - 2 * t**3 + t  # noqa: E731
    x, h, h2 = 1.5, 0.1, 0.04
    value, error = central_richardson(f(x + h), f(x - h), f(x + h2), f(x - h2), h, h2)
    assert value == pytest.approx(4 * x**3 - 6 * x**2 + 1, rel=1e-12) and error > 0
    g = lambda t: 3 * t**2 - t  # noqa: E731
    value, _ = one_sided_richardson(g(x), g(x - 0.03), g(x - 0.1), -0.1, -0.03)
    assert value == pytest.approx(6 * x - 1, rel=1e-12)


def test_a_graph_of_numbers_is_differenced_in_one_forward_pass_however_many_inputs(monkeypatch):
    """Every input's four points go through the graph together (batches are cut only for big arrays):
    one walk over 3,000 gates, not one per 2,048 points."""
    calls = []
    forward_lazy = finite_diff.forward_lazy

    def counting(*args, **kwargs):
        calls.append(args[2])
        return forward_lazy(*args, **kwargs)

    monkeypatch.setattr(finite_diff, "forward_lazy", counting)
    g = Graph.parse("f = " + " + ".join(f"w{i}*x{i}" for i in range(1500)))
    at = {n: 0.5 + 0.001 * i for i, n in enumerate(g.inputs)}
    e = finite_difference_estimates(g, at)
    assert len(calls) == 1 and calls[0] == (4 * 3000 + 1,)
    assert e["w7"].value == pytest.approx(at["x7"], rel=1e-6)  # a sum near 390: differences lose ~8 digits
