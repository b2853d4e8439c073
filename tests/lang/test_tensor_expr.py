"""Matrix formulas as students write them (lenient): transposes, side-by-side products, ⊙; never eval."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlab import verify
from gradlab.engine.tensor_symbolic import entry_symbols
from gradlab.errors import ParseError
from gradlab.lang.tensor_expr import Tensor, parse_matrix_expression

SHAPES = {"p": (2,), "y": (2,), "v": (2,), "B": (2, 2), "x": (3,), "A": (2, 3)}
NAMES = {n: Tensor(entry_symbols(n, s), s) for n, s in SHAPES.items()}


def same(text: str, reference: str) -> bool:
    a = parse_matrix_expression(text, NAMES, lenient=True)
    b = parse_matrix_expression(reference, NAMES)
    return a.shape == b.shape and all((x - y).expand() == 0 for x, y in zip(a.data.flat, b.data.flat))


@pytest.mark.parametrize("text", ["(p - y) @ v.T / 2", "outer(p - y, v)/2", "0.5*(p-y)v^T", "½ (p − y) vᵀ",
                                  "(p-y)v^{T}/2", "1/2·(p - y)·v^T", "(p - y) v' / 2", "(p-y) v^⊤ / 2"])
def test_students_write_the_outer_product_many_ways(text):
    assert same(text, "(p - y) @ v.T / 2")


@pytest.mark.parametrize("text", ["B^T(p-y) ⊙ (1-v^2) x^T / 2", "(Bᵀ(p − y)∘(1 − v²))xᵀ/2",
                                  "1/2 (B^T (p-y) * (1-v^2)) x^T"])
def test_side_by_side_is_the_matrix_product_and_circle_dot_is_entrywise(text):
    assert same(text, "((B.T @ (p - y)) * (1 - v**2)) @ x.T / 2")


def test_lenient_matrix_text_keeps_the_parser_s_refusals():
    for bad in ["(p - y) % v", "__import__('os')", "p.__class__", "v[0]", "lambda: p"]:
        with pytest.raises(ParseError):
            parse_matrix_expression(bad, NAMES, lenient=True)
    with pytest.raises(ParseError, match="exponent"):
        parse_matrix_expression("p ** 9**9**9", {n: Tensor(np.zeros((1,) + s), s) for n, s in SHAPES.items()},
                                symbolic=False, lenient=True)


@pytest.mark.parametrize("text", ["sum(A, 2)", "sum(A, 0j)", "mean(A, axis=0j)"])
def test_an_axis_other_than_0_or_1_is_refused(text):
    with pytest.raises(ParseError, match="the axis of"):
        parse_matrix_expression(text, NAMES)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from([" ", "", "  "]), min_size=6, max_size=6), st.sampled_from(["^T", "ᵀ", ".T", "'"]),
       st.sampled_from(["0.5*", "1/2 ", "½", ""]))
def test_spacing_and_spelling_do_not_change_the_meaning(spaces, transpose, half):
    s = spaces
    text = f"{half}{s[0]}({s[1]}p{s[2]}-{s[3]}y){s[4]}v{transpose}{s[5]}" + ("" if half else "/2")
    assert same(text, "(p - y) @ v.T / 2")



def test_verify_reads_student_syntax_with_tensor_functions():
    program = "x: (3,); A: (2, 3); B: (2, 2); y: onehot(2); v = tanh(A @ x); z = B @ v; p = softmax(z); L = -sum(y*log(p))/2"
    for rhs in ["outer(p - y, v)/2", "½(p − y)vᵀ", "transpose(v @ (p - y).T)/2"]:
        r = verify(program, "dL/dB", rhs, lenient=True)
        assert r.ok and r.decided == "symbolic", rhs
