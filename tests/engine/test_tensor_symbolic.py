"""Entrywise symbolic gradients of tensor graphs: the textbook forms of the exercise, staged forms,
and the same named forms as the scalar engine on scalar graphs."""

from __future__ import annotations

import numpy as np
import sympy as sp

from gradlab import parse_program, symbolic_gradients
from gradlab.engine.numeric import evaluate
from gradlab.engine.tensor_symbolic import (
    collapse_sums,
    entry_name,
    entry_symbols,
    simplex_constraints,
    tensor_symbolic,
    tidy,
)

SHEET = ("x: (3,); A: (2, 3); B: (2, 2); y: onehot(2); u = A @ x; v = tanh(u); z = B @ v; p = softmax(z); "
         "L = -sum(y * log(p)) / 2")
S = {n: sp.Symbol(n, real=True) for n in ["p_1", "p_2", "y_1", "y_2", "v_1", "v_2", "x_1", "x_2", "x_3", "B_1_1",
                                          "B_2_1", "B_1_2", "B_2_2"]}


def test_entry_symbols_are_one_based_as_on_the_sheet():
    assert entry_name("B", (0, 1), (2, 3)) == "B_1_2" and entry_name("p", (1,), (2,)) == "p_2"
    assert entry_name("r", (0, 2), (1, 3)) == "r_3" and entry_name("c", (), ()) == "c"
    assert [str(s) for s in entry_symbols("v", (2,))] == ["v_1", "v_2"]


def same(a: sp.Expr, b: sp.Expr) -> bool:
    return sp.expand(a - b) == 0


def test_the_sheet_gradients_in_the_entries():
    ts = tensor_symbolic(parse_program(SHEET))
    p1, p2, v1, v2 = (S[k] for k in ["p_1", "p_2", "v_1", "v_2"])
    y1, y2 = ts.symbols["y"]  # a one-hot label's entries are non-negative symbols
    # (a) dL/dp_i = -y_i / (2 p_i);  (b) dL/dz_i = (p_i - y_i)/2 (y one-hot);  (c) dL/dB_ij = (p_i - y_i) v_j / 2
    assert same(ts.named("p")[0], -y1 / (2 * p1))
    assert same(ts.named("z")[0], (p1 - y1) / 2) and same(ts.named("z")[1], (p2 - y2) / 2)
    assert str(ts.named("z")[0]) == "(p_1 - y_1)/2"
    assert same(ts.named("B")[0, 1], v2 * (p1 - y1) / 2) and str(ts.named("B")[0, 1]) == "v_2*(p_1 - y_1)/2"
    # (d) dL/dA_ij = (sum_k B_ki (p_k - y_k) / 2) (1 - v_i^2) x_j
    x2 = ts.symbols["x"][1]
    b11, b21 = ts.symbols["B"][0, 0], ts.symbols["B"][1, 0]
    want = x2 * (1 - v1**2) * (b11 * (p1 - y1) + b21 * (p2 - y2)) / 2
    assert same(ts.named("A")[0, 1], want)


def test_without_a_label_declaration_the_sum_of_y_stays():
    ts = tensor_symbolic(parse_program(SHEET.replace("onehot(2)", "(2,)")))
    p1, y1, y2 = S["p_1"], S["y_1"], S["y_2"]
    assert same(ts.named("z")[0], (p1 * (y1 + y2) - y1) / 2)


def test_staged_forms_use_the_consumers_adjoints():
    ts = tensor_symbolic(parse_program(SHEET))
    assert str(ts.staged("A")[0, 1]) == "dL_du_1*x_2"
    assert str(ts.staged("B")[1, 0]) == "dL_dz_2*v_1"
    assert str(ts.staged("u")[0]) == "dL_dv_1*(1 - v_1**2)"


def test_symbolic_entries_equal_the_numeric_adjoints():
    g = parse_program(SHEET)
    rng = np.random.default_rng(1)
    at = {"x": rng.normal(size=3), "A": rng.normal(size=(2, 3)), "B": rng.normal(size=(2, 2)), "y": [0.0, 1.0]}
    ev = evaluate(g, at)
    ts = tensor_symbolic(g)
    subs = {}
    for n in ["x", "A", "B", "y", "u", "v", "z", "p"]:
        vals = np.asarray(ev.values[n], dtype=float).reshape(-1)
        subs.update({s: sp.Float(float(v)) for s, v in zip(ts.symbols[n].reshape(-1), vals)})
    for n in ["A", "B", "x", "z"]:
        got = np.array([float(e.xreplace(subs)) for e in ts.named(n).reshape(-1)])
        assert np.allclose(got, ev.adjoints[n].reshape(-1), rtol=1e-12)
    full = ts.full("B")[0, 0]  # in the inputs only
    assert full.free_symbols <= set(ts.symbols["x"].ravel()) | set(ts.symbols["A"].ravel()) | set(
        ts.symbols["B"].ravel()) | set(ts.symbols["y"].ravel())
    assert abs(float(full.xreplace(subs)) - ev.adjoints["B"][0, 0]) < 1e-12


def test_scalar_graphs_get_the_scalar_engines_named_forms():
    program = "z = w0*x0 + w1*x1 + w2; a = sigmoid(z); L = sum(a)"  # sum(): the tensor engine runs
    ts = tensor_symbolic(parse_program(program))
    sg = symbolic_gradients(parse_program("z = w0*x0 + w1*x1 + w2; a = sigmoid(z)"))
    for n in ["x0", "w1", "w2", "z"]:
        assert sp.expand(ts.named(n)[()] - sg.named(n)) == 0


def test_sums_of_a_label_collapse_to_one():
    y1, y2, y3, p = sp.symbols("y_1 y_2 y_3 p", real=True)
    groups = [(y1, y2, y3)]
    assert same(collapse_sums(p * (y1 + y2 + y3) - y1, groups), p - y1)
    assert same(collapse_sums(y1 / 2 + y2 / 2 + y3 / 2 + p, groups), p + sp.Rational(1, 2))
    assert collapse_sums(y1 + y2 + p, groups) == y1 + y2 + p          # not the whole label: unchanged
    assert str(tidy(p * (y1 + y2 + y3 - y1 / p) / 2, groups)) == "(p - y_1)/2"
    ts = tensor_symbolic(parse_program(SHEET))
    c = simplex_constraints(parse_program(SHEET))   # the label and the named softmax output sum to 1
    y1, y2 = ts.symbols["y"]
    assert c == {y2: 1 - y1, S["p_2"]: 1 - S["p_1"]}


def test_a_64_32_10_network_stays_fast_enough_for_a_unit_test():
    import time

    g = parse_program("x: (16,); A: (8, 16); B: (4, 8); y: onehot(4); v = tanh(A @ x); p = softmax(B @ v); "
                      "L = -sum(y*log(p))/2")
    t = time.perf_counter()
    ts = tensor_symbolic(g)
    assert ts.named("A").shape == (8, 16) and str(ts.named("B")[0, 0]) == "v_1*(p_1 - y_1)/2"
    assert time.perf_counter() - t < 20  # generous; benchmarks/tensor.py measures the real figure
