"""The activations of gradlab/ops/activations.py: each record's four views agree with each other."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import gradlab
from gradlab.ops import (
    OPS,
    activations,  # noqa: F401  (the module under test)
)

NAMES = ["silu", "softsign", "gelu", "gelu_tanh", "hardtanh", "leaky_relu", "elu"]
PARAMS = {"leaky_relu": [None, 0.2], "elu": [None, 0.5]}
CASES = [(n, p) for n in NAMES for p in PARAMS.get(n, [None])]
X = sp.Symbol("x", real=True)
POINTS = st.floats(-4, 4).filter(lambda v: min(abs(v), abs(abs(v) - 1)) > 1e-3)  # off the kinks at 0 and ±1


def _param(op, p):
    return op.param_default if p is None else p


@pytest.mark.parametrize("name, p", CASES)
@settings(max_examples=25, deadline=None)
@given(x=POINTS)
def test_numpy_torch_and_sympy_forwards_agree(name, p, x):
    op = OPS[name]
    c = _param(op, p)
    by_numpy = float(op.np_fn([np.array(x)], c))
    by_torch = float(op.torch_fn([torch.tensor(x, dtype=torch.float64)], c))
    by_sympy = float(sp.N(op.sym([sp.Float(x)], None if c is None else sp.Float(c))))
    assert by_numpy == pytest.approx(by_torch, rel=1e-12, abs=1e-15)
    assert by_numpy == pytest.approx(by_sympy, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name, p", CASES)
@settings(max_examples=25, deadline=None)
@given(x=POINTS)
def test_the_textbook_partial_is_the_derivative_torch_takes(name, p, x):
    op = OPS[name]
    c = _param(op, p)
    sc = None if c is None else sp.Float(c)
    out = op.sym([X], sc)
    partial = op.partials([X], out, sc)[0]
    by_record = float(sp.N(partial.subs(X, x)))
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    op.torch_fn([t], c).backward()
    assert by_record == pytest.approx(float(t.grad), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name, p", CASES)
def test_gradients_of_a_neuron_agree_three_ways(name, p):
    call = f"{name}(w*x + b{'' if p is None else f', {p}'})"
    r = gradlab.gradients(f"a = {call}", at={"w": 0.7, "x": -1.3, "b": 0.4})
    assert r.ok, r
    assert r.inputs["w"].torch == pytest.approx(r.inputs["w"].grad, rel=1e-10)


def test_a_parameter_must_be_a_number_and_is_optional():
    assert gradlab.Graph.parse("a = leaky_relu(x)").gates() == ["lrelu"]
    assert gradlab.Graph.parse("a = leaky_relu(x, 0.2)").gates() == ["lrelu 0.2"]
    with pytest.raises(gradlab.ParseError, match="slope, must be a number"):
        gradlab.Graph.parse("a = leaky_relu(x, y)")
    with pytest.raises(gradlab.ParseError, match="takes exactly one argument"):
        gradlab.Graph.parse("a = silu(x, 2)")


def test_leaky_relu_on_its_kink_names_each_convention():
    r = gradlab.gradients("a = leaky_relu(x, 0.2)", at={"x": 0.0})
    (kink,) = r.kinks
    assert kink.local_conventions == {"sympy": [0.6], "torch": [0.2], "left": [0.2], "right": [1.0]}


def test_a_formula_gives_a_parameter_as_a_number():
    from gradlab.lang.expr import parse_expression

    assert str(parse_expression("leaky_relu(z, 0.25)")) == "leaky_relu(z, 1/4)"
    with pytest.raises(gradlab.ParseError, match="slope, must be a number"):
        parse_expression("leaky_relu(z, w)")


@pytest.mark.parametrize("call, message", [
    ("leaky_relu(z, w)", "leaky_relu()'s last argument, its slope, must be a number"),
    ("leaky_relu(z, 0.2, 3)", "leaky_relu() takes exactly one argument (and its slope, a number), got 3"),
    ("silu(z, 2)", "silu() takes exactly one argument, got 2"),
    ("max(z)", "max() needs at least two arguments"),
])
def test_programs_formulas_and_matrix_formulas_follow_one_parameter_rule(call, message):
    from gradlab.engine.tensor_symbolic import entry_symbols
    from gradlab.lang.expr import parse_expression
    from gradlab.lang.tensor_expr import Tensor, parse_matrix_expression

    names = {n: Tensor(entry_symbols(n, (2,)), (2,)) for n in ("z", "w")}
    for read in (lambda: gradlab.Graph.parse(f"a = {call}"), lambda: parse_expression(call),
                 lambda: parse_matrix_expression(call, names)):
        with pytest.raises(gradlab.ParseError) as info:
            read()
        assert message in str(info.value)


def test_a_matrix_formula_gives_a_parameter_and_folds_max():
    from gradlab.engine.tensor_symbolic import entry_symbols
    from gradlab.lang.tensor_expr import Tensor, parse_matrix_expression

    names = {n: Tensor(entry_symbols(n, (2,)), (2,)) for n in ("p", "y")}
    assert str(parse_matrix_expression("leaky_relu(p, 0.25)", names).data[1]) == "leaky_relu(p_2, 1/4)"
    assert str(parse_matrix_expression("max(p, y, 1)", names).data[0]) == "Max(1, p_1, y_1)"
    numeric = {"p": Tensor(np.array([-2.0, 3.0]), (2,)), "y": Tensor(np.array([0.5, 4.0]), (2,))}
    got = parse_matrix_expression("leaky_relu(p, 0.25) + max(p, y, 1)", numeric, symbolic=False).data
    assert got.tolist() == [-0.5 + 1.0, 3.0 + 4.0]


def test_formulas_and_answers_know_them():
    g = gradlab.Graph.parse("z = w*x; a = gelu(z)")
    assert gradlab.verify(g, "da/dw = x*((1 + erf(z/sqrt(2)))/2 + z*exp(-z**2/2)/sqrt(2*pi))").ok
    wrong = gradlab.verify(g, "da/dw = x")
    assert not wrong.ok and wrong.mistake == "missing activation derivative"


def test_the_op_table_is_whole_for_any_module_that_imports_it():
    import subprocess
    import sys

    code = ("from gradlab.lang.expr import parse_expression\nimport sys\n"
            "print(parse_expression('gelu(x) + leaky_relu(y, 0.5)'), 'gradlab.model.graph' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["gelu(x)", "+", "leaky_relu(y,", "1/2)", "False"]


def test_a_matrix_claim_may_give_the_parameter():
    g = gradlab.parse_program("x: (3,); y: (3,); L = sum(leaky_relu(x, 0.2)*y)")
    assert gradlab.verify(g, "dL/dy = leaky_relu(x, 0.2)").ok
    assert not gradlab.verify(g, "dL/dy = leaky_relu(x)").ok  # the default slope, 0.01
