"""Matrix forms of gradients: the exercise's closed forms come out, every form shown is checked,
and the printed text reads back with the claim parser."""

from __future__ import annotations

import pytest

from gradlab import parse_program, verify
from gradlab.check.forms import matrix_forms
from gradlab.engine.tensor_forms import raw_matrix_forms, show, staged_forms

SHEET = ("x: (3,); A: (2, 3); B: (2, 2); y: onehot(2); u = A @ x; v = tanh(u); z = B @ v; p = softmax(z); "
         "L = -sum(y * log(p)) / 2")


def test_the_closed_forms_of_the_exercise():
    forms = matrix_forms(parse_program(SHEET))
    assert forms["z"] == "(p - y)/2"
    assert forms["B"] == "(p - y) @ v.T / 2"
    assert forms["u"] == "(B.T @ (p - y)) * (1 - v**2) / 2"
    assert forms["A"] == "((B.T @ (p - y)) * (1 - v**2)) @ x.T / 2"
    assert forms["p"] == "-y/p/2" and forms["y"] == "-log(p)/2"


def test_staged_matrix_forms_are_the_chain_of_task_6d():
    st = staged_forms(parse_program(SHEET))
    assert st["A"] == "dL/du @ x.T" and st["u"] == "dL/dv*(1 - v**2)" and st["v"] == "B.T @ dL/dz"
    assert st["z"] == "p*(dL/dp - sum(p*dL/dp))" and st["B"] == "dL/dz @ v.T"


@pytest.mark.parametrize("program, node, form", [
    ("X: (3, 4); W: (2, 3); b: (2,); Y: onehot(2, 4); Z = W @ X + b; L = cross_entropy(Z, Y)/4",
     "W", "(softmax(Z) - Y) @ X.T / 4"),
    ("X: (3, 4); W: (2, 3); b: (2,); Y: onehot(2, 4); Z = W @ X + b; L = cross_entropy(Z, Y)/4",
     "b", "sum(softmax(Z) - Y, 1)/4"),
    ("x: (3,); y: onehot(3); W: (3, 3); z = W @ x; L = -sum(y * log_softmax(z))", "W", "(softmax(z) - y) @ x.T"),
    ("x: (3,); w: (3,); s = w.T @ x; a = sigmoid(s)", "w", "a*x*(1 - a)"),
    ("x: (3,); W: (2, 3); h = relu(W @ x); L = sum(h*h)", "h", "2*h"),
])
def test_matrix_forms_of_other_networks(program, node, form):
    assert matrix_forms(parse_program(program))[node] == form


def test_every_shown_form_holds_and_reads_back():
    for program in [SHEET, "x: (3,); W: (3, 3); s = x.T @ W @ x; f = sigmoid(s)",
                    "a: (2,); b: (3,); M = outer(a, b); L = sum(M * M)"]:
        g = parse_program(program)
        for node, form in matrix_forms(g).items():
            assert verify(g, f"d{g.output}/d{node}", form, trials=5).ok, (program, node, form)


def test_a_wrong_raw_form_is_never_shown(monkeypatch):
    import gradlab.check.forms as forms_module

    g = parse_program(SHEET)
    raw = raw_matrix_forms(g)
    broken = dict(raw)
    broken["B"] = raw["A"]   # pretend the builder made a mistake
    monkeypatch.setattr(forms_module, "raw_matrix_forms", lambda graph, ts=None: broken)
    forms = forms_module.matrix_forms(g)
    assert "B" not in forms and forms["z"] == "(p - y)/2"
    assert show(raw["B"]) == "(p - y) @ v.T / 2"


@pytest.mark.parametrize("gate", ["silu", "gelu", "softsign"])
def test_an_activation_added_through_register_op_is_written_by_its_call_name(gate):
    """silu, gelu, softsign are registered the way a user's gate is: their formulas' heads come from the records."""
    g = parse_program(f"x: (3,); A: (2, 3); y: (2,); L = sum({gate}(A @ x) * y)")
    forms = matrix_forms(g)
    assert forms["y"] == f"{gate}(A @ x)"
