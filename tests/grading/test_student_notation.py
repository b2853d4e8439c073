"""One formula language for people, shared by grade and verify (issue 15, item 2): a corpus of answers
in students' notation, graded right by both, with no message in Python's words."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradlab.check.verify import verify
from gradlab.errors import GradlabError
from gradlab.grading import grade
from gradlab.grading.numbers import read_number
from gradlab.model.answerkey import AnswerKey
from gradlab.worksheet.questions import build_worksheet
from gradlab.worksheet.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
NEURON = "z = w0*x0 + w1*x1 + w2\na = sigmoid(z)"
ITEM = {"x0": "3.1", "x1": "3.2", "w0": "3.3", "w1": "3.4", "w2": "3.5"}
RIGHT, REJECTED = "correct", "rejected"

#: (d a / d wrt, the answer as a student writes it, what it is: correct, a named mistake, wrong, rejected)
CORPUS: list[tuple[str, str, str]] = [
    # the examples of the issue
    ("x0", "w_0*a*(1-a)", RIGHT),
    ("x1", "a*w₁*(1−a)", RIGHT),
    ("w2", r"\sigma(z)(1-\sigma(z))", RIGHT),
    ("w1", "x1*σ'(z)", RIGHT),
    ("x0", "w0*a^2", "wrong"),
    ("x0", "w0*a", "sigmoid"),
    # subscripts, Unicode and products
    ("x0", "w₀·a·(1−a)", RIGHT),
    ("x0", "w_{0} a (1 - a)", RIGHT),
    ("x0", "w0×a×(1-a)", RIGHT),
    ("x0", "w₀σ(z)(1−σ(z))", RIGHT),
    ("x0", "w0*(a - a²)", RIGHT),
    ("x0", "w0*σ'(z)", RIGHT),
    ("x0", r"w_0\sigma'(z)", RIGHT),
    ("x0", "w₀·σ(z)", "sigmoid"),
    ("x0", "−w_0 a(1−a)", "sign"),
    ("x1", r"w_1 \sigma(z) (1 - \sigma(z))", RIGHT),
    ("x1", "w_1 σ'(z)", RIGHT),
    ("x1", "w_1 a", "sigmoid"),
    ("w0", "x_0 a(1-a)", RIGHT),
    ("w0", "x₀σ'(z)", RIGHT),
    ("w0", "x0 e^(-z)/(1 + e^(-z))^2", RIGHT),
    ("w0", "-x_0 a (1-a)", "sign"),
    ("w1", "x_{1}a(1-a)", RIGHT),
    ("w1", r"x_1\,a\,(1-a)", RIGHT),
    ("w1", "x1 a", "sigmoid"),
    ("w2", "σ'(z)", RIGHT),
    ("w2", "σ′(z)", RIGHT),
    ("w2", "sigmoid'(z)", RIGHT),
    ("w2", r"\sigma'(z)", RIGHT),
    ("w2", "a - a^2", RIGHT),
    ("w2", "a·(1 − a)", RIGHT),
    ("w2", "a", "sigmoid"),
    # LaTeX as MathJax users type it
    ("x0", r"\frac{w_0 e^{-z}}{(1+e^{-z})^2}", RIGHT),
    ("x0", r"w_0 \cdot \sigma(z) \cdot (1 - \sigma(z))", RIGHT),
    ("x0", r"w_0 \left(a - a^{2}\right)", RIGHT),
    ("x0", r"w_0 \times a \times (1-a)", RIGHT),
    ("w0", r"x_0 \cdot \sigma(z)\cdot(1-\sigma(z))", RIGHT),
    ("w0", r"\frac{x_0}{1+e^{-z}}\cdot\frac{e^{-z}}{1+e^{-z}}", RIGHT),
    ("w2", r"\frac{e^{-z}}{\left(1+e^{-z}\right)^{2}}", RIGHT),
    ("w2", r"\frac{1}{1+\exp(-z)}\left(1-\frac{1}{1+\exp(-z)}\right)", RIGHT),
    ("w1", r"\dfrac{x_1 e^{-z}}{(1+e^{-z})^2}", RIGHT),
    # what cannot be read: a message in plain words from both
    ("x1", "x1*σ'(z", REJECTED),
    ("x0", r"\foo(z)", REJECTED),
    ("x0", "w0 ~ a", REJECTED),
    ("x0", "'a'", REJECTED),
    ("x0", "w0 a (1-a))", REJECTED),
    ("x0", "w0**", REJECTED),
]
#: Words of Python (or of its parser) a student must never read.
PYTHON_WORDS = ("python", "line continuation", "string literal", "invert", "bitxor", "usub", "ast.", "token",
                "eof", "syntaxerror", "decimal literal", "traceback", "_derivative", "keyword")


@pytest.fixture(scope="module")
def key() -> AnswerKey:
    return build_worksheet(load_spec(ROOT / "docs" / "examples" / "neuron_quiz.toml"), variants=1,
                           pictures=False).key()


@pytest.fixture(scope="module")
def graded(key: AnswerKey) -> list[object]:
    items = list(key.items)
    vid = next(iter(key.variants))
    rows = [[f"s{n}", vid, *[text if i == ITEM[wrt] else "" for i in items]] for n, (wrt, text, _) in enumerate(CORPUS)]
    report = grade((["id", "variant", *items], rows), key, workers=2)
    return [next(a for a in s.answers if a.item == ITEM[wrt]) for s, (wrt, _, _) in zip(report.students, CORPUS)]


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 40
    assert sum(1 for *_, want in CORPUS if want == RIGHT) >= 25


@pytest.mark.parametrize("n", range(len(CORPUS)), ids=[f"{w}: {t}" for w, t, _ in CORPUS])
def test_grade_and_verify_agree(n: int, graded: list[object]) -> None:
    wrt, text, want = CORPUS[n]
    verdict = graded[n].verdict  # type: ignore[attr-defined]
    try:
        result = verify(NEURON, f"da/d{wrt}", text, lenient=True)
        verified: str = RIGHT if result.ok else (result.mistake or "wrong")
        message = result.message
    except GradlabError as e:
        verified, message = REJECTED, e.message
    if want == RIGHT:
        assert verdict.status == RIGHT and verified == RIGHT, (verdict.feedback, message)
    elif want == REJECTED:
        assert verdict.status == REJECTED and verified == REJECTED, (verdict.feedback, message)
    elif want == "wrong":
        assert verdict.status == "wrong" and verified not in (RIGHT, REJECTED), (verdict.feedback, message)
    else:  # a named mistake: both name it
        assert verdict.mistake == want and verified == want, (verdict.feedback, message)
    for words in (verdict.feedback, message):
        assert not any(w in words.lower() for w in PYTHON_WORDS), words


@pytest.mark.parametrize("text, value", [("~0.1", 0.1), ("≈ 0.88", 0.88), ("0,88", 0.88), ("−0.10", -0.1),
                                         ("88e-2", 0.88), ("approx. 1/2", 0.5)])
def test_numbers_as_students_write_them(text: str, value: float) -> None:
    assert read_number(text) == pytest.approx(value)
