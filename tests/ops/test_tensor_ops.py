"""Tensor gates: shape rules under column-vector conventions, and every gate's VJP against finite
differences and torch autograd on random shapes and values (property tests), symbolic = numeric."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradlab import Graph, ShapeError
from gradlab.engine.finite_diff import finite_differences
from gradlab.engine.numeric import evaluate
from gradlab.engine.tensor_symbolic import tensor_symbolic
from gradlab.engine.torch_backend import torch_gradients
from gradlab.ops import OPS, TENSOR_OPS
from gradlab.ops.tensor import broadcast_shape, matmul_shape, normalise_shape, result_shape, shape_text, transpose_shape


# ------------------------------------------------------------------------------------ shapes
@pytest.mark.parametrize("a, b, out", [
    ((2, 3), (3,), (2,)),          # A @ x
    ((2,), (1, 3), (2, 3)),        # outer product (p - y) @ v.T
    ((1, 3), (3,), ()),            # x.T @ x is a number
    ((1, 3), (3, 4), (1, 4)),      # a row times a matrix
    ((2, 3), (3, 4), (2, 4)),
])
def test_matmul_shapes_follow_column_vectors(a, b, out):
    assert matmul_shape(a, b) == out


@pytest.mark.parametrize("a, b, words", [
    ((3,), (3,), ["x.T @ y for the inner product", "x @ y.T for the outer product"]),
    ((2, 3), (2, 3), ["a transpose (.T) of the left side may be missing", "3 columns", "2 rows"]),
    ((), (3,), ["use * to multiply by a number"]),
])
def test_matmul_shape_errors_name_both_shapes(a, b, words):
    with pytest.raises(ShapeError) as info:
        matmul_shape(a, b, ["L", "R"])
    msg = str(info.value)
    assert shape_text(a) in msg and shape_text(b) in msg and all(w in msg for w in words)


@pytest.mark.parametrize("a, b, out", [
    ((2, 3), (), (2, 3)), ((2, 3), (2,), (2, 3)), ((2, 3), (1, 3), (2, 3)), ((3,), (3,), (3,)), ((), (), ()),
])
def test_broadcasting_a_number_a_column_or_a_row(a, b, out):
    assert broadcast_shape(a, b) == out == broadcast_shape(b, a)


@pytest.mark.parametrize("a, b, hint", [
    ((3,), (1, 3), "outer product is a @ b.T"),     # column + row is refused, not an outer sum
    ((2, 3), (3,), "a transpose (.T) may be missing"),
    ((2,), (3,), "shapes do not fit"),
])
def test_broadcasting_refuses_what_the_sheets_would_not_write(a, b, hint):
    with pytest.raises(ShapeError, match=hint.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        broadcast_shape(a, b)


def test_shapes_are_normalised_and_bounded():
    assert normalise_shape((3, 1)) == (3,) and normalise_shape((1, 1)) == () and normalise_shape(5) == (5,)
    assert transpose_shape((3,)) == (1, 3) and transpose_shape((1, 3)) == (3,) and transpose_shape(()) == ()
    for bad in [(2, 3, 4), (0,), (-1, 2), (2.5,), "3", (10**6,)]:
        with pytest.raises(ShapeError):
            normalise_shape(bad)


def test_tensor_gates_live_beside_the_scalar_table():
    assert set(TENSOR_OPS) == {"matmul", "transpose", "sum", "mean", "softmax", "log_softmax", "cross_entropy",
                               "outer", "mse"}
    assert not set(TENSOR_OPS) & set(OPS)   # the scalar table (and its tests) stay as they were
    assert result_shape("cross_entropy", [(3, 4), (3, 4)]) == () and result_shape("sum", [(3, 4)], 0) == (1, 4)


# ------------------------------------------------------------------------------------ VJPs
SHAPES = st.sampled_from([(), (1,), (2,), (3,), (1, 3), (2, 3), (3, 2), (2, 2)]).map(normalise_shape)


def _values(rng: np.random.Generator, shape: tuple[int, ...], positive: bool) -> np.ndarray:
    v = rng.uniform(0.5, 2.0, size=shape)
    return v if positive else v * rng.choice([-1.0, 1.0], size=shape)


def _graph(op: str, shapes: list[tuple[int, ...]], param=None) -> Graph:
    """L = sum(op(a, b) * w) + 0.1*sum(op(...)**2): a random cotangent w, and a nonlinear loss."""
    g = Graph()
    args = [g.input(n, shape=s) for n, s in zip("ab", shapes)]
    out = g.apply(op, *args, param=param)
    w = g.input("w", shape=out.shape)
    loss = (out * w).sum() + 0.1 * (out * out).sum()
    g.set_output(loss.named("L"))
    return g


def _check(g: Graph, at: dict) -> None:
    ev = evaluate(g, at)
    fd = finite_differences(g, at)
    tg = torch_gradients(g, at)
    for n in g.inputs:
        assert np.allclose(ev.adjoints[n], tg.adjoints[n], rtol=1e-10, atol=1e-12), n
        assert np.allclose(ev.adjoints[n], fd[n], rtol=1e-6, atol=1e-7), n
    for n in g.nodes:
        assert np.allclose(ev.values[n], tg.values[n], rtol=1e-12, atol=1e-12), n
    # the symbolic adjoints (object arrays of SymPy) give the same numbers
    ts = tensor_symbolic(g, simplify=False)
    subs = {}
    for n in g.inputs:
        for sym, val in zip(ts.symbols[n].reshape(-1), np.asarray(at[n], dtype=float).reshape(-1)):
            subs[sym] = sp.Float(float(val))
    for n in g.op_nodes:
        if n in ts.symbols:
            for sym, val in zip(ts.symbols[n].reshape(-1), ev.values[n].reshape(-1)):
                subs[sym] = sp.Float(float(val))
    for n in g.inputs:
        got = np.array([float(sp.sympify(e).xreplace(subs).rewrite(sp.exp).evalf()) for e in ts.named(n).reshape(-1)])
        assert np.allclose(got, ev.adjoints[n].reshape(-1), rtol=1e-9, atol=1e-12), n


ELEMENTWISE_BINARY = ["add", "sub", "mul", "div", "pow", "max", "min"]
ELEMENTWISE_UNARY = ["exp", "log", "tanh", "sigmoid", "sqrt", "sin", "softplus", "neg", "abs"]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(op=st.sampled_from(ELEMENTWISE_BINARY), a=SHAPES, b=SHAPES, seed=st.integers(0, 10**6))
def test_elementwise_gates_broadcast_and_differentiate(op, a, b, seed):
    try:
        broadcast_shape(a, b)
    except ShapeError:
        return
    rng = np.random.default_rng(seed)
    g = _graph(op, [a, b])
    at = {"a": _values(rng, a, op in ("pow", "div")), "b": _values(rng, b, op in ("pow", "div"))}
    if op in ("max", "min"):  # keep away from the kink a == b
        at["b"] = at["b"] + 0.1 * np.sign(at["b"])
    at["w"] = _values(rng, g.shape("w"), False)
    _check(g, at)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(op=st.sampled_from(ELEMENTWISE_UNARY), a=SHAPES, seed=st.integers(0, 10**6))
def test_scalar_functions_apply_entry_by_entry(op, a, seed):
    rng = np.random.default_rng(seed)
    g = _graph(op, [a])
    at = {"a": _values(rng, a, op in ("log", "sqrt")), "w": _values(rng, a, False)}
    _check(g, at)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(op=st.sampled_from(["matmul", "transpose", "sum", "mean", "softmax", "log_softmax", "cross_entropy",
                           "outer", "mse"]),
       m=st.integers(1, 3), k=st.integers(1, 3), n=st.integers(1, 3), form=st.integers(0, 2),
       axis=st.sampled_from([None, 0, 1]), seed=st.integers(0, 10**6))
def test_tensor_gates_vjp_equals_finite_differences_and_torch(op, m, k, n, form, axis, seed):
    rng = np.random.default_rng(seed)
    param = None
    if op == "matmul":
        shapes = [normalise_shape((m, k)), normalise_shape((k, n))]
    elif op == "outer":
        shapes = [normalise_shape((m,)), normalise_shape((1, n) if form == 1 else (n,))]
    elif op in ("sum", "mean"):
        shapes, param = [normalise_shape((m, n))], axis
    elif op in ("cross_entropy", "mse"):
        s = normalise_shape((m + 1, n) if form else (m + 1,))
        shapes = [s, s]
    elif op in ("softmax", "log_softmax"):
        shapes = [normalise_shape([(m + 1,), (1, m + 1), (m + 1, n)][form])]
    else:
        shapes = [normalise_shape((m, n))]
    try:
        g = _graph(op, shapes, param)
    except ShapeError:
        assert () in shapes  # only a 1x1 "matrix" (a number) may be refused, by @ and outer
        return
    at = {"a": _values(rng, shapes[0], False), "w": _values(rng, g.shape("w"), False)}
    if len(shapes) > 1:
        at["b"] = _values(rng, shapes[1], op == "cross_entropy")
    _check(g, at)


def test_mse_is_the_mean_of_the_squared_differences_and_says_which_shapes_differ():
    g = Graph.parse("p: (4,); y: (4,); L = mse(p, y)")
    p, y = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 0.0, 3.0, 0.0])
    ev = evaluate(g, {"p": p, "y": y})
    assert float(ev.values["L"]) == pytest.approx((4 + 16) / 4)
    assert np.allclose(ev.adjoints["p"], 2 * (p - y) / 4) and np.allclose(ev.adjoints["y"], -2 * (p - y) / 4)
    with pytest.raises(ShapeError, match="mse.*one shape"):
        Graph.parse("p: (4,); y: (3,); L = mse(p, y)")


def test_softmax_of_a_matrix_runs_down_each_column():
    g = Graph.parse("Z: (3, 2); P = softmax(Z); L = sum(P)")
    z = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    p = evaluate(g, {"Z": z}).values["P"]
    assert np.allclose(p.sum(axis=0), 1) and np.allclose(p[:, 1], 1 / 3)
