"""Feedback on a wrong formula shows numbers that differ: an answer off by 1e-9 is not 'gives 0.007713, the
gradient is 0.007713'."""

from __future__ import annotations

import re

from gradlab.grading import grade_formula
from gradlab.grading.formulas import apart
from gradlab.model.answerkey import Answer, Grading

KEY = Answer(formula="w0*s*(1 - s)", names={"z": "w0*x0 + w2", "s": "sigmoid(z)"}, inputs=["w0", "x0", "w2"],
             probe={"w0": [-3, 3], "x0": [-3, 3], "w2": [-3, 3]})


def _shown(feedback: str) -> tuple[str, str]:
    m = re.search(r"your formula gives (.+), the gradient is (\S+)$", feedback)
    assert m, feedback
    return m.group(1), m.group(2)


def test_an_answer_off_by_a_little_is_shown_with_digits_that_differ() -> None:
    for off in ("1e-9", "1e-7", "1e-4"):
        v = grade_formula(f"w0*s*(1-s) + {off}", KEY, Grading())
        assert v.status == "wrong"
        yours, right = _shown(v.feedback)
        assert yours != right, v.feedback


def test_numbers_that_print_alike_say_how_far_apart_they_are() -> None:
    yours, right = apart(0.007713 * (1 + 3e-12), 0.007713)
    assert yours.startswith(right) and "off by 3e-12 relative" in yours
    assert apart(1.0, 1.0) == ("1", "1")
    assert apart(0.5, 0.25) == ("0.5", "0.25")
    a, b = apart(-0.001693098, -0.001693099)
    assert a != b and float(a) == -0.001693098
