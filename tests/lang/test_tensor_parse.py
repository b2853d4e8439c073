"""Tensor programs: shape declarations, @ and .T, tensor functions, and clear errors naming both shapes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gradlab import GradlabError, Graph, ParseError, ShapeError, parse_program, parse_tensor_program
from gradlab.lang.parse import looks_like_tensor_program, shapes_of

SHEET = ("x: (3,); A: (2, 3); B: (2, 2); y: onehot(2); u = A @ x; v = tanh(u); z = B @ v; p = softmax(z); "
         "L = -sum(y * log(p)) / 2")


def test_the_sheet_program_has_the_sheet_shapes():
    g = parse_program(SHEET)
    assert g.inputs == ["x", "A", "B", "y"] and g.output == "L"
    assert {n: g.shape(n) for n in ("x", "A", "B", "u", "v", "z", "p", "L")} == {
        "x": (3,), "A": (2, 3), "B": (2, 2), "u": (2,), "v": (2,), "z": (2,), "p": (2,), "L": ()}
    assert g.attrs("y")["domain"] == "onehot" and g.is_tensor
    assert g.gates() == ["@", "tanh", "@", "softmax", "log", "*", "sum", "*-1", "/2"]


@pytest.mark.parametrize("program, shape", [
    ("x: (3,); f = x.T @ x", ()),                     # an inner product is a number
    ("p: (2,); v: (3,); G = p @ v.T", (2, 3)),          # an outer product
    ("x: (3,); r = x.T", (1, 3)),                       # a row vector
    ("x: (3,); r = x.T.T", (3,)),
    ("X: (3, 4); s = sum(X, 0)", (1, 4)),               # down each column
    ("X: (3, 4); s = sum(X, axis=1)", (3,)),            # along each row
    ("X: (3, 4); s = mean(X)", ()),
    ("W: (2, 3); X: (3, 5); b: (2,); Z = W @ X + b", (2, 5)),   # a bias added to every column
    ("X: (3, 4); r: (1, 4); Y = X * r", (3, 4)),        # a row scaling every row
    ("a: (2,); b: (3,); M = outer(a, b)", (2, 3)),
    ("Z: (3, 4); Y: onehot(3, 4); L = cross_entropy(Z, Y)", ()),
    ("x: 3; f = sum(exp(x) + 1)", ()),
    ("x: (3, 1); f = x", (3,)),                         # (n, 1) is a column vector
    ("v: (2,) = tanh(A @ x); A: (2, 3)", None),         # declared before use: refused below
])
def test_shapes_of_expressions(program, shape):
    if shape is None:
        with pytest.raises(GradlabError):
            parse_program(program)
        return
    g = parse_program(program)
    assert g.shape(g.output) == shape


@pytest.mark.parametrize("program, words", [
    ("x: (3,); y: (3,); f = x @ y", ["cannot multiply x @ y", "a column vector (3,)", "x.T @ y", "line 1",
                                     "in 'f = x @ y'"]),
    ("x: (3,); A: (2, 3); f = A @ x + x", ["cannot add", "A @ x", "a column vector (2,)", "a column vector (3,)"]),
    ("A: (2, 3); B: (2, 3); C = A @ B", ["a 2x3 matrix", "transpose (.T) of the left side may be missing"]),
    ("x: (3,); f = x + x.T", ["a row vector (1, 3)", "outer product is a @ b.T"]),
    ("z: (3,); y: (2,); L = cross_entropy(z, y)", ["cross_entropy(z, y)", "(3,)", "(2,)"]),
    ("x: (3,); f = 2 @ x", ["@ multiplies vectors and matrices"]),
    ("v: (2,) = 3*x", ["'v' is declared a column vector (2,) but its formula gives a number"]),
])
def test_shape_errors_name_both_shapes_and_the_statement(program, words):
    with pytest.raises(ShapeError) as info:
        parse_program(program)
    assert all(w in str(info.value) for w in words), str(info.value)


@pytest.mark.parametrize("program, message", [
    ("x: (3,); f = x.real", "only .T"),
    ("x: (3,); x: (2,); f = sum(x)", "declared twice"),
    ("f = sum(x); x: (3,)", "declared after it is used"),
    ("x: (3,); x = 2", "declared as an input"),
    ("x: (2, 3, 4); f = sum(x)", "at most 2 axes"),
    ("x: (0,); f = sum(x)", "positive whole numbers"),
    ("x: (a,); f = sum(x)", "whole numbers"),
    ("x: 'big'; f = sum(x)", "a shape is written"),
    ("y: onehot(1); f = sum(y)", "at least 2 entries"),
    ("x: (3,); f = sum(x, 2)", "the axis of sum"),
    ("x: (3,); f = softmax(x, 1)", "takes 1 argument"),
    ("x: (3,); f = sum(x, axis=x)", "the axis of sum"),
    ("x: (3,); f = onehot(3)", "declares an input"),
    ("p: (2,); p_1 = 2; f = sum(p) * p_1", "kept for an entry of p"),
    ("x: (3,)", "ends with a declaration"),
    ("x: (3,); f = softmax(2)", "needs vectors"),
    ("x: (3,); f = x % 2", "'%' is not allowed"),
    ("a = lambda x: x", "lambda is not allowed"),
])
def test_malformed_tensor_programs(program, message):
    with pytest.raises(GradlabError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        parse_program(program)


def test_scalar_programs_are_untouched():
    for program in ["z = w0*x0 + w1*x1 + w2; a = sigmoid(z)", "f = (x + y)*z", "a = 1/(1+exp(-z))"]:
        g = parse_program(program)
        assert not g.is_tensor and all(g.shape(n) == () for n in g.nodes)
    assert not looks_like_tensor_program("f = x*y + exp(z)") and looks_like_tensor_program("f = x.T @ x")
    # tensor functions of numbers are allowed (the sum of one number is itself); the tensor engine runs
    from gradlab import gradients

    g = parse_program("a = sum(x*y)")
    assert g.shape("a") == () and g.gates() == ["*", "sum"] and g.is_tensor
    assert gradients(g, at={"x": 2.0, "y": 3.0}).inputs["x"].grad == 3.0


def test_undeclared_shapes_come_from_values():
    assert shapes_of({"A": [[1, 2, 3], [4, 5, 6]], "x": [1, 2, 3], "c": 2.0}) == {"A": (2, 3), "x": (3,)}
    g = parse_tensor_program("v = tanh(A @ x); L = sum(v)", shapes={"A": (2, 3), "x": (3,)})
    assert g.shape("v") == (2,)


def test_builder_api_with_shapes_matches_the_parser():
    g = Graph()
    x, A = g.input("x", shape=(3,)), g.input("A", shape=(2, 3))
    y = g.input("y", shape=(2,), domain="onehot")
    p = (A @ x).softmax().named("p")
    loss = (-(y * p.log()).sum() / 2).named("L")
    g.set_output(loss)
    assert p.shape == (2,) and (x.T @ x).shape == () and g.attrs("y")["domain"] == "onehot"
    with pytest.raises(ShapeError):
        x @ x
    with pytest.raises(GradlabError, match="unknown domain"):
        g.input("q", domain="labels")


def test_tensor_graphs_round_trip_through_node_link_json():
    g = parse_program(SHEET)
    h = Graph.from_json(g.to_json())
    assert [h.shape(n) for n in h.nodes] == [g.shape(n) for n in g.nodes]
    assert json.loads(g.to_json())["nodes"][1]["shape"] == [2, 3] and h.attrs("y")["domain"] == "onehot"


def test_declared_statement_shapes_are_checked():
    g = parse_program("x: (3,); A: (2, 3); v: (2,) = tanh(A @ x); L = sum(v)")
    assert g.shape("v") == (2,)
    with pytest.raises(ParseError, match="describes an input"):
        parse_program("x: (3,); v: onehot(3) = x; L = sum(v)")


def test_values_must_have_the_declared_shape():
    from gradlab.engine.numeric import forward

    g = parse_program("x: (3,); A: (2, 3); L = sum(A @ x)")
    assert forward(g, {"x": [[1], [2], [3]], "A": np.ones((2, 3))})["L"] == 12.0   # (3, 1) is (3,)
    with pytest.raises(ShapeError, match="has shape \\(3, 2\\), but 'A' is a 2x3 matrix"):
        forward(g, {"x": [1, 2, 3], "A": np.ones((3, 2))})
    with pytest.raises(GradlabError, match="missing value"):
        forward(g, {"x": [1, 2, 3]})
