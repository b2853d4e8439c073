"""Forward values and adjoints; NaN, Inf and domain errors name the first node that produced them."""

import numpy as np
import pytest

from gradlab import EvaluationError, evaluate, forward, parse_program


def test_add_mul_textbook_numbers():
    ev = evaluate(parse_program("q = x + y; f = q*z"), {"x": -2, "y": 5, "z": -4})
    assert float(ev.values["q"]) == 3 and float(ev.output) == -12
    assert [float(ev.adjoints[n]) for n in ("x", "y", "z", "q")] == [-4, -4, 3, -4]


def test_gradients_add_up_at_a_fork_and_each_wire_keeps_its_share():
    g = parse_program("f = x*x")
    ev = evaluate(g, {"x": 3.0})
    assert float(ev.adjoints["x"]) == 6.0
    assert float(ev.edge_adjoints[("x", "f", 0)]) == 3.0 and float(ev.edge_adjoints[("x", "f", 1)]) == 3.0


def test_batch_evaluation_matches_pointwise():
    g = parse_program("z = w*x + b; a = tanh(z)")
    xs = np.linspace(-2, 2, 7)
    ev = evaluate(g, {"w": 0.5, "x": xs, "b": 0.1})
    for i, x in enumerate(xs):
        one = evaluate(g, {"w": 0.5, "x": x, "b": 0.1})
        assert ev.adjoints["w"][i] == pytest.approx(float(one.adjoints["w"]), rel=1e-15)


@pytest.mark.parametrize("program, at, message, node", [
    ("a = log(x)", {"x": -2}, "log of a non-positive number", "a"),
    ("z = x - y; a = 1/z", {"x": 1, "y": 1}, "division by zero", "a"),
    ("a = sqrt(x)", {"x": -1}, "square root of a negative number", "a"),
    ("a = x/y", {"x": 1, "y": 0}, "division by zero", "a"),
    ("h = exp(x); a = exp(h)", {"x": 800}, "produced inf", "h"),
    ("a = x**y", {"x": -1, "y": 0.5}, "positive base", "a"),
])
def test_nan_and_inf_name_the_first_node(program, at, message, node):
    with pytest.raises(EvaluationError) as info:
        evaluate(parse_program(program), at)
    assert message in str(info.value)
    assert info.value.where.node == node


def test_infinite_local_derivative_is_reported():
    with pytest.raises(EvaluationError, match="derivative of sqrt at 0 is infinite|not finite"):
        evaluate(parse_program("a = sqrt(x)"), {"x": 0.0})


@pytest.mark.parametrize("at, message", [
    ({"x": 1}, "missing value for input 'y'"),
    ({"x": 1, "y": 2, "q": 3}, "'q' is not an input"),
    ({"x": "one", "y": 2}, "must be a number"),
    ({"x": float("nan"), "y": 2}, "not a finite number"),
    ({"x": [1, 2], "y": [1, 2, 3]}, "do not fit together"),
])
def test_bad_values_are_refused(at, message):
    with pytest.raises(EvaluationError, match=message):
        forward(parse_program("f = x*y"), at)
