"""A gate of the user's own, defined in this file alone through the public API, works everywhere:
gradients (symbolic = finite differences = torch), pictures, verify with a named mistake, a worksheet with
its key, and grading."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy as sp
import torch

import gradlab
from gradlab.ops import FUNCTIONS, OPS, sigmoid


def _swish_partial(a, out, beta):
    s = sigmoid(beta * a[0])
    return [s + beta * a[0] * s * (1 - s)]


SWISH = gradlab.Op(
    "swish", 1,
    sym=lambda a, beta: a[0] * sigmoid(beta * a[0]),
    partials=_swish_partial,
    np_fn=lambda a, beta: a[0] / (1 + np.exp(-float(beta) * a[0])),
    torch_fn=lambda a, beta: a[0] * torch.sigmoid(float(beta) * a[0]),
    label_fn=lambda beta: f"swish {float(beta):g}",
    doc="x*sigmoid(beta*x)", call="swish", activation=True, param_name="beta", param_default=1.0)

PROGRAM = "z = w*x; a = swish(z, 1.5)"
AT = {"w": 0.8, "x": -1.25}


@pytest.fixture
def swish():
    gradlab.register_op(SWISH)
    yield SWISH
    gradlab.unregister_op("swish")


def true_da_dw(w: float, x: float, beta: float = 1.5) -> float:
    z = w * x
    s = 1 / (1 + np.exp(-beta * z))
    return x * (s + beta * z * s * (1 - s))


def test_gradients_agree_three_ways(swish):
    r = gradlab.gradients(PROGRAM, at=AT)
    assert r.ok
    w = r.inputs["w"]
    assert w.grad == pytest.approx(true_da_dw(**AT), rel=1e-12)
    assert w.fd == pytest.approx(w.grad, rel=1e-7) and w.torch == pytest.approx(w.grad, rel=1e-12)


def test_the_picture_draws_the_gate_with_its_parameter(swish):
    dot = gradlab.to_dot(gradlab.Graph.parse(PROGRAM), AT)
    assert "swish 1.5" in dot


def test_verify_knows_right_and_names_the_forgotten_local_derivative(swish):
    g = gradlab.Graph.parse(PROGRAM)
    right = gradlab.verify(g, "da/dw = x*(sigmoid(1.5*z) + 1.5*z*sigmoid(1.5*z)*(1 - sigmoid(1.5*z)))")
    assert right.ok
    wrong = gradlab.verify(g, "da/dw = x")
    assert not wrong.ok and wrong.mistake == "missing activation derivative"


def test_a_formula_may_call_the_gate_by_name(swish):
    g = gradlab.Graph.parse(PROGRAM)
    assert gradlab.verify(g, "da/dz = swish(z, 1.5)/z + 1.5*swish(z, 1.5)*(1 - sigmoid(1.5*z))").ok


def test_a_worksheet_and_its_key_and_grading(swish, tmp_path):
    from gradlab.grading import grade_answer
    from gradlab.model.answerkey import AnswerKey
    from gradlab.worksheet import make_worksheet

    (tmp_path / "swish.toml").write_text(f'program = "{PROGRAM}"\n[at]\nw = 0.8\nx = -1.25\n', encoding="utf-8")
    (tmp_path / "quiz.toml").write_text(
        'title = "A gate of my own"\nseed = 7\nvariants = 2\n[[part]]\ngraph = "swish.toml"\n'
        'questions = ["backward", "symbolic"]\nwrt = ["w"]\n', encoding="utf-8")
    result = make_worksheet(tmp_path / "quiz.toml", tmp_path / "sheets", formats=("markdown",))
    assert result.variants == 2
    key = AnswerKey.load(tmp_path / "sheets" / "key.json")
    answers = next(iter(key.variants.values())).answers
    answer = next(a for a in answers.values() if a.formula)  # the symbolic question: da/dw
    assert answer.names["a"] == "z*sigmoid(1.5*z)"  # the gate's own formula, for students to write
    assert grade_answer("x*(sigmoid(1.5*z) + 1.5*z*sigmoid(1.5*z)*(1 - sigmoid(1.5*z)))", answer).status == "correct"
    assert grade_answer("x*sigmoid(1.5*z)", answer).status != "correct"


def test_registering_checks_the_record_and_unregistering_removes_every_trace(swish):
    with pytest.raises(ValueError, match="already"):
        gradlab.register_op(SWISH)
    with pytest.raises(ValueError, match="identifier"):
        gradlab.register_op(gradlab.Op("my op", 1, SWISH.sym, SWISH.partials, SWISH.np_fn, SWISH.torch_fn,
                                       SWISH.label_fn))
    gradlab.unregister_op("swish")
    assert "swish" not in OPS and "swish" not in FUNCTIONS
    with pytest.raises(gradlab.ParseError, match="unknown function 'swish'"):
        gradlab.Graph.parse(PROGRAM)
    gradlab.register_op(SWISH)  # for the fixture's teardown
    assert isinstance(SWISH.sym([sp.Symbol("x")], 1.5), sp.Expr)


def test_a_gate_registered_again_is_computed_with_its_new_partial(swish):
    assert gradlab.gradients(PROGRAM, at=AT).ok
    wrong = dataclasses.replace(SWISH, partials=lambda a, out, beta: [sigmoid(beta * a[0])])  # forgets a term
    gradlab.register_op(wrong, replace=True)
    try:
        r = gradlab.gradients(PROGRAM, at=AT)
        assert not r.ok and r.inputs["w"].grad != pytest.approx(r.inputs["w"].torch, rel=1e-6)
    finally:
        gradlab.register_op(SWISH, replace=True)


def test_the_record_fields_a_user_leaves_out_have_defaults_that_work_everywhere(swish):
    """Shape errors, forgotten local derivatives and matrix forms need nothing beyond the fields above."""
    assert (SWISH.verb, SWISH.plain_derivative, SWISH.output_mistake, SWISH.delimiters) == ("combine", False, None,
                                                                                           None)
    g = gradlab.parse_program("x: (3,); A: (2, 3); y: (2,); L = sum(swish(A @ x, 1.5) * y)")
    forms = gradlab.matrix_forms(g)  # each one checked at random points before it is given
    assert {"x", "A", "y"} <= set(forms) and "@ x.T" in forms["A"]
    assert gradlab.verify(g, f"dL/dA = {forms['A']}").ok
    wrong = gradlab.verify(g, "dL/dA = y @ x.T")
    assert not wrong.ok and wrong.mistake == "missing activation derivative"


def test_a_record_that_names_the_output_for_its_derivative_gets_that_mistake_generated():
    from gradlab.worksheet.mistakes import formula_mistakes

    message = "the derivative of logistic(z) is logistic(z)·(1 − logistic(z)), not logistic(z)"
    logistic = gradlab.Op("logistic", 1, lambda a, p: 1 / (1 + sp.exp(-a[0])), lambda a, out, p: [out * (1 - out)],
                          lambda a, p: 1 / (1 + np.exp(-a[0])), lambda a, p: torch.sigmoid(a[0]),
                          lambda p: "lg", "1/(1 + exp(-x))", call="logistic", activation=True,
                          output_mistake=message)
    gradlab.register_op(logistic)
    try:
        mistakes = formula_mistakes(gradlab.Graph.parse("z = w*x; a = logistic(z)"), "x")
    finally:
        gradlab.unregister_op("logistic")
    named = [m for m in mistakes if m.id == "logistic"]
    assert len(named) == 1 and named[0].message == message
