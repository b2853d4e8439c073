"""The operation table: each gate's textbook local derivative is the true derivative of its forward,
its numpy and torch forwards agree, and its domain edges are where it stops being defined."""

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlab.ops import OPS, np_sigmoid, sigmoid
from gradlab.ops.tensor import TENSOR_OPS

PARAMS = {"add_const": 1.5, "rsub_const": 2, "mul_const": -3, "div_const": 4, "rdiv_const": 1, "pow_const": 3,
          "rpow_const": 2}


@pytest.mark.parametrize("name", sorted(OPS))
def test_local_partials_equal_sympy_derivative_of_the_forward(name):
    op = OPS[name]
    args = [sp.Symbol(f"a{i}", positive=True) for i in range(op.arity)]
    param = sp.sympify(PARAMS.get(name)) if op.has_param else None
    forward = op.sym(args, param)
    out = sp.Symbol("out")
    partials = op.partials(args, out, param)
    assert len(partials) == op.arity
    for a, lp in zip(args, partials):
        true = sp.diff(forward, a)
        mine = sp.sympify(lp).subs(out, forward)
        # compare numerically at a few positive points (Heaviside/sign are fine away from 0)
        for point in ([0.7, 1.9], [1.3, 0.4], [2.2, 2.9]):
            subs = dict(zip(args, point))
            a_val = complex(sp.N(true.subs(subs).rewrite(sp.exp)))
            m_val = complex(sp.N(mine.subs(subs).rewrite(sp.exp)))
            assert abs(a_val - m_val) <= 1e-9 * max(1, abs(a_val)), (name, a, point)


@pytest.mark.parametrize("name", sorted(OPS))
@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0.1, 3.0), min_size=2, max_size=2))
def test_numpy_and_torch_forwards_agree(name, xs):
    op = OPS[name]
    param = PARAMS.get(name)
    args = xs[: op.arity]
    n = float(op.np_fn([np.float64(x) for x in args], param))
    t = float(op.torch_fn([torch.tensor(x, dtype=torch.float64) for x in args], param))
    assert n == pytest.approx(t, rel=1e-12, abs=1e-12)


def test_textbook_forms():
    x, out = sp.Symbol("x"), sp.Symbol("out")
    assert OPS["sigmoid"].partials([x], out, None) == [out * (1 - out)]
    assert OPS["tanh"].partials([x], out, None) == [1 - out**2]
    assert OPS["exp"].partials([x], out, None) == [out]


def test_sigmoid_function_derivative_and_rewrite():
    x = sp.Symbol("x")
    assert sp.diff(sigmoid(x), x) == sigmoid(x) * (1 - sigmoid(x))
    assert sigmoid(x).rewrite(sp.exp) == 1 / (1 + sp.exp(-x))
    assert sp.latex(sigmoid(x)) == r"\sigma\left(x\right)"


def test_numpy_sigmoid_is_stable_for_large_arguments():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        v = np_sigmoid(np.array([-800.0, 0.0, 800.0]))
    assert v.tolist() == [0.0, 0.5, 1.0]


def test_kink_conventions_are_documented_for_every_kink_op():
    for name in ("relu", "abs", "max", "min"):
        conv = OPS[name].kink_conventions
        assert set(conv) == {"sympy", "torch", "left", "right"}
        assert all(len(v) == OPS[name].arity for v in conv.values())


@pytest.mark.parametrize("name, param", [("div", None), ("pow", None), ("rdiv_const", 1), ("pow_const", -2),
                                         ("pow_const", 0.5), ("log", None), ("sqrt", None)])
def test_a_domain_edge_is_where_the_gate_stops_being_defined(name, param):
    op = OPS[name]
    (edge,) = op.edges(param)

    def at(v):
        args = [np.float64(1.5)] * op.arity
        args[edge.arg] = np.float64(v)
        return args

    inside = [edge.at + 1e-3] if edge.side > 0 else [edge.at - 1e-3, edge.at + 1e-3]
    for v in inside:
        assert op.domain(at(v), param) is None and np.isfinite(op.np_fn(at(v), param))
    outside = edge.at - 1e-3 if edge.side > 0 else edge.at
    assert op.domain(at(outside), param) is not None


def test_only_gates_that_can_leave_their_domain_have_edges():
    edged = {name for name, op in OPS.items() if op.edges(PARAMS.get(name))}
    assert edged == {"div", "pow", "rdiv_const", "log", "sqrt"}
    assert OPS["pow_const"].edges(3) == () and OPS["pow_const"].edges(-1)[0].side == 0
    assert OPS["pow_const"].edges(1.5)[0].side == 1
    assert TENSOR_OPS and not any(op.edges(None) for op in TENSOR_OPS.values())
