"""verify and grade name the same mistake for the same answer (issue 15, item 2): the wrong answers of the
students' corpus and the typical slips (sign, a left-out chain-rule factor, σ for σ', a factor 2, a transposed
matrix, the operands of a product's gradient swapped, one branch of a fork) for the neuron's partials, sheet 2's
matrix gradients and a fork, through ``gradlab grade`` (the grading pool) and ``gradlab verify``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gradlab.check.graphfile import load_graph_file
from gradlab.check.verify import verify
from gradlab.grading import grade
from gradlab.model.answerkey import AnswerKey
from gradlab.model.mistakes import MISTAKES, mistake_ids
from gradlab.worksheet.questions import build_worksheet
from gradlab.worksheet.spec import load_spec, spec_from_program

ROOT = Path(__file__).resolve().parents[2]


def _corpus_module() -> Any:
    """The students' corpus of :mod:`test_student_notation` (the tests are no package: loaded by path)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("student_notation", Path(__file__).with_name("test_student_notation.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_NOTATION = _corpus_module()
CORPUS: list[tuple[str, str, str]] = _NOTATION.CORPUS
NEURON: str = _NOTATION.NEURON
FORK = "q = x*y\nf = q + x"

#: (sheet, of, wrt, a wrong answer, the mistake both must name: an id, or None for "wrong, no name")
SLIPS: list[tuple[str, str, str, str, str | None]] = [
    *[("neuron", "a", wrt, text, None if want == "wrong" else want) for wrt, text, want in CORPUS
      if want not in ("correct", "rejected")],
    *[("neuron", "a", wrt, text, want) for wrt, f, other in [("x0", "w0", "x0"), ("x1", "w1", "x1"),
                                                           ("w0", "x0", "w0"), ("w1", "x1", "w1")]
      for text, want in [(f"-{f}*a*(1-a)", "sign"),             # sign flipped
                         ("a*(1-a)", "chain"),                  # the product's local derivative left out
                         (f"{f}", "chain"),                     # σ's local derivative left out
                         (f"{f}*a", "sigmoid"),                 # σ for σ'
                         (f"2*{f}*a*(1-a)", "factor"),          # a factor 2 too many
                         (f"{f}*a*(1-a)/2", "factor"),          # a factor 2 missing
                         ("a", "forward"),                      # the forward value
                         (f"{other}*a*(1-a)", "variable"),      # the operands of the product's gradient swapped
                         (f"-{f}*a", "sigmoid+sign"),           # two at once
                         (f"{f}*a^2", None)]],                  # wrong, no simple change of the truth
    ("neuron", "a", "w2", "1", "chain"),
    ("neuron", "a", "w2", "a", "sigmoid"),
    ("neuron", "a", "w2", "-a*(1-a)", "sign"),
    ("task6", "L", "z", "(y - p)/2", "sign"),
    ("task6", "L", "z", "p - y", "factor"),
    ("task6", "L", "z", "(p - y).T/2", "transposed"),
    ("task6", "L", "z", "p/2", "label"),
    ("task6", "L", "B", "(y - p) @ v.T / 2", "sign"),
    ("task6", "L", "B", "(p - y) @ v.T", "factor"),
    ("task6", "L", "B", "v @ (p - y).T / 2", "transposed"),   # transposed matrix
    ("task6", "L", "B", "v @ (p - y).T", "transposed+factor"),
    ("task6", "L", "B", "p @ v.T / 2", "label"),
    ("task6", "L", "B", "(p - y) @ u.T / 2", None),
    ("task6", "L", "A", "(B.T @ (p - y)) @ x.T / 2", "chain"),                     # tanh's derivative left out
    ("task6", "L", "A", "((B.T @ (p - y)) * v) @ x.T / 2", "tanh"),                # tanh for tanh'
    ("task6", "L", "A", "((B @ (p - y)) * (1 - v**2)) @ x.T / 2", "transposed"),   # B for B.T
    ("task6", "L", "A", "x @ ((B.T @ (p - y)) * (1 - v**2)).T / 2", "transposed"),
    ("task6", "L", "A", "((B.T @ (y - p)) * (1 - v**2)) @ x.T / 2", "sign"),
    ("task6", "L", "A", "((B.T @ (p - y)) * (1 - v**2)) @ v.T / 2", "shape"),
    ("fork", "f", "x", "y", "fork"),       # only the branch through q = x*y
    ("fork", "f", "x", "-y - 1", "sign"),
    ("fork", "f", "x", "x", "variable"),   # df/dy
    ("fork", "f", "y", "1", "chain"),
]
#: (sheet, of, wrt, the right answer)
RIGHT = [("neuron", "a", "x0", "w0*a*(1-a)"), ("neuron", "a", "w2", "σ'(z)"), ("task6", "L", "B", "(p - y) v^T / 2"),
         ("task6", "L", "A", "((B.T @ (p - y)) * (1 - v**2)) @ x.T / 2"), ("fork", "f", "x", "y + 1")]
CASES = [(s, of, wrt, text, want) for s, of, wrt, text, want in SLIPS] + [(*r, "correct") for r in RIGHT]


def _graph(sheet: str) -> Any:
    if sheet == "neuron":
        return NEURON
    if sheet == "task6":
        return load_graph_file(ROOT / "graphs" / "two_layer_softmax.toml").graph
    return FORK


def _key(sheet: str) -> AnswerKey:
    if sheet == "fork":
        spec = spec_from_program(FORK)
    else:
        spec = load_spec(ROOT / "docs" / "examples" / ("neuron_quiz.toml" if sheet == "neuron" else "task6_quiz.toml"))
    return build_worksheet(spec, variants=1, pictures=False).key()


@pytest.fixture(scope="module")
def graded() -> dict[tuple[str, str, str], Any]:
    """Every answer graded by ``grade`` (the grading pool, as ``gradlab grade`` runs it), one class per sheet."""
    out: dict[tuple[str, str, str], Any] = {}
    for sheet in ("neuron", "task6", "fork"):
        key = _key(sheet)
        vid = next(iter(key.variants))
        answers = key.variants[vid].answers
        items = list(key.items)
        formula_item = {key.items[i].label: i for i in items if answers[i].formula}
        mine = [c for c in CASES if c[0] == sheet]
        item_of = [formula_item[f"∂{of}/∂{wrt}"] for _, of, wrt, _, _ in mine]
        rows = [[f"s{n}", vid, *[c[3] if i == item else "" for i in items]]
                for n, (c, item) in enumerate(zip(mine, item_of))]
        report = grade((["id", "variant", *items], rows), key, workers=2)
        for s, c, item in zip(report.students, mine, item_of):
            out[c[:4]] = next(a for a in s.answers if a.item == item).verdict
    return out


def test_the_cases_cover_the_slips_and_the_corpus() -> None:
    wanted = {w for *_, w in SLIPS if w}
    assert {"sign", "chain", "sigmoid", "tanh", "factor", "transposed", "variable", "label", "fork", "forward",
            "shape"} <= {part for w in wanted for part in w.split("+")}
    assert sum(1 for c in SLIPS if c[0] == "neuron") >= 40


@pytest.mark.parametrize("case", CASES, ids=[f"{s} d{of}/d{wrt} = {text}" for s, of, wrt, text, _ in CASES])
def test_verify_and_grade_name_the_same_mistake(case: tuple[str, str, str, str, str | None],
                                                graded: dict[tuple[str, str, str], Any]) -> None:
    sheet, of, wrt, text, want = case
    verdict = graded[case[:4]]
    r = verify(_graph(sheet), f"d{of}/d{wrt}", text, lenient=True)
    if want == "correct":
        assert r.ok and r.mistake is None and r.mistake_id is None, r.message
        assert verdict.status == "correct" and verdict.mistake is None, verdict.feedback
        return
    assert not r.ok and verdict.status in ("wrong", "partial"), (r.message, verdict.feedback)
    assert r.mistake_id == verdict.mistake == want, (r.message, verdict.feedback)
    if want is not None:  # the text verify shows reads back as the same ids
        assert "+".join(str(i) for i in mistake_ids(r.mistake)) == want, r.mistake


def test_a_mistake_id_is_one_the_spec_can_credit() -> None:
    from gradlab.model.mistakes import message

    for *_, want in SLIPS:
        for part in (want or "").split("+") if want else []:
            assert part in MISTAKES or message(part) != part, part
