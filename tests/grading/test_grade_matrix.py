"""Matrix answers (a gradient of a tensor graph as a matrix formula): read leniently and safely,
decided by gradlab.verify, mistakes named with the spec's partial credit, hostile text refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradlab import Graph, verify
from gradlab.grading import grade, grade_matrix
from gradlab.grading.matrices import answer_graph, mistake_ids
from gradlab.model.answerkey import Answer, AnswerKey, Grading

ROOT = Path(__file__).resolve().parents[2]
TASK6 = ("x: (3,)\nA: (2, 3)\nB: (2, 2)\ny: onehot(2)\nu = A @ x\nv = tanh(u)\nz = B @ v\np = softmax(z)\n"
         "L = -sum(y * log(p)) / 2\n")
CREDIT = Grading(partial={"sign": 0.5, "factor": 0.5, "transposed": 0.5, "chain": 0.25, "label": 0.25})


def key_for(wrt: str, formula: str) -> Answer:
    return Answer(formula=formula, program=TASK6, of="L", wrt=wrt, shapes={"x": [3], "A": [2, 3], "B": [2, 2],
                                                                          "y": [2]}, domains={"y": "onehot"})


DL_DB = key_for("B", "(p - y) @ v.T / 2")
DL_DA = key_for("A", "((B.T @ (p - y)) * (1 - v**2)) @ x.T / 2")
DL_DZ = key_for("z", "(p - y)/2")


# ----------------------------------------------------------------------------- grading by verify

@pytest.mark.parametrize("key, text", [(DL_DB, "(p - y) @ v.T / 2"), (DL_DB, "outer(p - y, v)/2"),
                                       (DL_DB, "0.5*(p-y)v^T"), (DL_DA, "(B^T(p-y) ⊙ (1-v²)) xᵀ/2"),
                                       (DL_DA, "(B.T @ (p - y) * (1 - tanh(A @ x)**2)) @ x.T / 2"),
                                       (DL_DZ, "(softmax(z) - y)/2")])
def test_right_matrix_answers_are_proved_correct(key, text):
    v = grade_matrix(text, key, CREDIT)
    assert (v.status, v.fraction, v.method) == ("correct", 1.0, "symbolic")


@pytest.mark.parametrize("key, text, mistake, credit, words", [
    (DL_DB, "(p - y) @ v.T", "factor", 0.5, "a factor 1/2 is missing"),
    (DL_DB, "v @ (p - y).T / 2", "transposed", 0.5, "transpose"),
    (DL_DA, "(B.T @ (p - y)) @ x.T / 2", "chain", 0.25, "1 - v**2"),
    (DL_DB, "(y - p) @ v.T / 2", "sign", 0.5, "sign"),
    (DL_DB, "p @ v.T / 2", "label", 0.25, "the label y is left out"),
    (DL_DZ, "p/2", "label", 0.25, "p - y"),
    (DL_DA, "(B (p - y) ⊙ (1 - v²)) xᵀ / 2", "transposed", 0.5, "B stands where B.T belongs"),
])
def test_the_five_wrong_claims_are_named_with_the_spec_s_credit(key, text, mistake, credit, words):
    v = grade_matrix(text, key, CREDIT)
    assert (v.status, v.mistake, v.fraction) == ("partial", mistake, credit)
    assert words.lower() in v.feedback.lower()
    no_credit = grade_matrix(text, key, Grading(partial={}))
    assert (no_credit.status, no_credit.mistake, no_credit.fraction) == ("wrong", mistake, 0.0)


def test_two_mistakes_at_once_earn_the_product_of_their_credits():
    v = grade_matrix("v (p - y)^T", DL_DB, CREDIT)
    assert (v.status, v.mistake, v.fraction) == ("partial", "transposed+factor", 0.25)


def test_shape_errors_and_unknown_mistakes_are_wrong_with_an_explanation():
    v = grade_matrix("(p - y) * v.T / 2", DL_DB, CREDIT)  # entrywise: a shape error, not the outer product
    assert (v.status, v.mistake) == ("wrong", "shape") and "outer product is a @ b.T" in v.feedback
    v = grade_matrix("x @ v.T", DL_DB, CREDIT)
    assert (v.status, v.mistake) == ("wrong", "shape") and "3x2" in v.feedback
    v = grade_matrix("B @ B", DL_DB, CREDIT)
    assert v.status == "wrong" and v.mistake is None and "entry dL/dB_" in v.feedback and "x = [" in v.feedback
    assert grade_matrix("  ", DL_DB, CREDIT).status == "blank"


def test_an_overflowing_answer_is_wrong_not_right():
    # verify compares finite numbers only: exp(exp(...)) overflows to inf, which is close to nothing
    v = grade_matrix("exp(exp(exp(exp(exp(exp(B))))))", DL_DB, CREDIT)
    assert v.status == "wrong"
    g = Graph.parse(TASK6)
    assert not verify(g, "dL/dB = exp(exp(exp(exp(exp(exp(B))))))").ok


def test_verify_s_mistake_names_map_to_the_key_s_ids():
    assert mistake_ids("transposed, missing factor 1/2") == ["transposed", "factor"]
    assert mistake_ids("missing activation derivative") == ["chain"]
    assert mistake_ids("softmax(Z) instead of softmax(Z) - Y") == ["label"]
    assert mistake_ids("assumes a one-hot label") == [None]


def test_the_key_rebuilds_its_graph_from_the_program_alone():
    g = answer_graph(DL_DB)
    assert g.shape("A") == (2, 3) and g.attrs("y")["domain"] == "onehot" and g.output == "L"
    undeclared = Answer(formula="(p - y) @ v.T / 2", program="u = A @ x\nv = tanh(u)\nz = B @ v\np = softmax(z)\n"
                        "L = -sum(y * log(p)) / 2", of="L", wrt="B",
                        shapes={"x": [3], "A": [2, 3], "B": [2, 2], "y": [2]}, domains={"y": "onehot"})
    assert grade_matrix("outer(p - y, v)/2", undeclared, CREDIT).status == "correct"


# ----------------------------------------------------------------------------- a class, in the worker pool

HOSTILE = ["__import__('os').system('touch /tmp/gradlab-matrix-canary')", "p.__class__.__bases__", "9**9**9**9 * B",
           "(" * 5000 + "B" + ")" * 5000, "B @ " * 700 + "B", "v" * 300_000, "lambda: B", "[B for B in ()]",
           "exp(exp(exp(exp(exp(exp(exp(B)))))))", "sum(B)**50**50", "outer(B, B, B)", "B.T.T.T.__dict__"]


def test_hostile_matrix_answers_are_refused_and_the_class_is_graded(tmp_path):
    canary = Path("/tmp/gradlab-matrix-canary")
    canary.unlink(missing_ok=True)
    key = AnswerKey(title="task 6", items={}, variants={})
    from gradlab.model.answerkey import Item, Question, Variant

    key.items = {"1.1": Item("1.1", "1", "matrix", 2.0, "∂L/∂B")}
    key.questions = [Question("1", "matrix", "Matrix gradients", ["1.1"])]
    key.variants = {"1": Variant("1", {}, {"1.1": DL_DB})}
    key.grading = CREDIT
    rows = [[f"h{i}", "1", text] for i, text in enumerate(HOSTILE)]
    rows += [["ada", "1", "(p - y) v^T / 2"], ["ben", "1", "v @ (p - y).T / 2"], ["cy", "1", "outer(p-y, v)/2"]]
    report = grade((["id", "variant", "1.1"], rows), AnswerKey.from_dict(key.to_dict()), workers=2, timeout=5)
    by_id = {s.id: s.answers[0].verdict for s in report.students}
    assert not canary.exists()
    assert all(by_id[f"h{i}"].status in ("rejected", "wrong") for i in range(len(HOSTILE)))
    assert all(by_id[f"h{i}"].fraction == 0 for i in range(len(HOSTILE)))
    assert by_id["ada"].status == "correct" and by_id["cy"].status == "correct"
    assert (by_id["ben"].status, by_id["ben"].mistake, by_id["ben"].fraction) == ("partial", "transposed", 0.5)
