"""Index symmetry: which entries of a gradient stand for all, and why a claim wrong off the
diagonal is not proved from the diagonal."""

from __future__ import annotations

from gradlab import parse_program, verify
from gradlab.check.verify_tensor import TensorProblem
from gradlab.engine.tensor_symmetry import axis_classes, claim_graph, representatives
from gradlab.lang.claims import Claim

NET = "x: (4,); A: (3, 4); B: (2, 3); y: onehot(2); v = tanh(A @ x); p = softmax(B @ v); L = -sum(y*log(p))"


def test_one_entry_stands_for_a_weight_matrix():
    g = parse_program(NET)
    assert representatives(g, "A") == [(0, 0)] and representatives(g, "x") == [(0,)]
    c = axis_classes(g)
    assert c.find(("A", 1)) == c.find(("x", 0)) and c.find(("A", 0)) == c.find(("v", 0))
    assert c.find(("A", 0)) != c.find(("A", 1))


def test_a_square_matrix_tied_to_one_vector_has_two_orbits():
    g = parse_program("x: (3,); W: (3, 3); s = x.T @ W @ x; f = sigmoid(s)")
    assert representatives(g, "W") == [(0, 0), (0, 1)]


def test_the_claim_ties_axes_too():
    # B is 2x2 and v, p both have 2 entries, but only the claim ties their axes
    g = parse_program("x: (3,); A: (2, 3); B: (2, 2); y: onehot(2); v = tanh(A @ x); p = softmax(B @ v); "
                      "L = -sum(y*log(p))")
    cg = claim_graph("(p - y) @ v.T", g, ["x", "A", "B", "y", "v", "p"])
    assert cg is not None and cg[0].shape(cg[0].output) == (2, 2)
    assert claim_graph("Heaviside(v)", g, ["v"]) is None    # not a program: no symmetry used


def test_a_claim_wrong_only_off_the_diagonal_is_not_proved():
    g = parse_program("x: (9,); W: (9, 9); s = x.T @ W @ x; f = sigmoid(s)")
    right = TensorProblem(g, Claim("f", "W", "f*(1 - f) * (x @ x.T)", ""), False)
    right.notes = []
    assert right._representatives() == [(0, 0), (0, 1)] and right.decide()
    # x_i**2 on the diagonal is right, off the diagonal it is wrong
    wrong = TensorProblem(g, Claim("f", "W", "f*(1 - f) * ((x*x) @ (x/x).T)", ""), False)
    wrong.notes = []
    assert not wrong.decide()
    assert not verify(g, "df/dW = f*(1 - f) * ((x*x) @ (x/x).T)").ok


def test_big_gradients_are_proved_through_the_symmetry():
    g = parse_program("x: (16,); A: (8, 16); B: (4, 8); y: onehot(4); v = tanh(A @ x); p = softmax(B @ v); "
                      "L = -sum(y*log(p))")
    r = verify(g, "dL/dA = ((B.T @ (p - y)) * (1 - v**2)) @ x.T")
    assert r.ok and r.decided == "symbolic" and "1 of 128 entries" in r.notes[0]
    r = verify(g, "dL/dA = ((B.T @ (p - y)) * Heaviside(v)) @ x.T")   # not a program: numbers decide
    assert not r.ok
