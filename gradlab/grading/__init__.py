"""Safe automatic grading of worksheet answers: numbers by tolerance, formulas by equivalence.

* :func:`grade` reads a class's responses (CSV) and a worksheet's ``key.json`` and returns a
  :class:`GradeReport` (``.write(folder, key)``: scores, feedback per answer, statistics);
* :func:`grade_answer` grades one answer in a worker (time and memory limits);
* :func:`grade_formula` / :func:`grade_matrix` / :func:`grade_number` are the plain, in-process
  graders (a matrix formula is a claim about the key's tensor graph, decided by
  :func:`gradlab.check.verify.verify`).

Answers are hostile input: they are read only by gradlab's whitelist parser (:mod:`gradlab.lang.expr`)
with caps on length, depth and exponents, and evaluated in worker processes with time and
memory limits (:class:`GradingPool`), so one answer can neither run code nor stall the others.

>>> from gradlab.model.answerkey import Answer, Grading
>>> key = Answer(formula="w0*s*(1 - s)", names={"z": "w0*x0 + w2", "s": "sigmoid(z)"},
...              inputs=["w0", "x0", "w2"], probe={"w0": [-3, 3], "x0": [-3, 3], "w2": [-3, 3]})
>>> grade_answer("w0 (s - s^2)", key).status
'correct'
"""

from __future__ import annotations

from ..model.answerkey import Answer, AnswerKey, Grading
from .formulas import grade_formula
from .grade import AnswerResult, GradeReport, ItemStats, ResponsesError, StudentResult, grade, read_responses
from .matrices import grade_matrix
from .numbers import grade_number, number_matches, read_number
from .verdict import Verdict
from .worker import GradingPool, Task


def grade_answer(text: str, answer: Answer, grading: Grading | None = None, *, timeout: float = 5.0) -> Verdict:
    """Grade one answer (a number or a formula, as the key says) in a worker with limits."""
    g = grading or Grading()
    with GradingPool(1, timeout=timeout, memory_mb=g.memory_mb) as pool:
        return pool.grade([Task(answer.kind, text, answer, g)])[0]


__all__ = ["grade", "grade_answer", "grade_formula", "grade_matrix", "grade_number", "read_number", "number_matches", "read_responses",
           "GradeReport", "StudentResult", "AnswerResult", "ItemStats", "Verdict", "GradingPool", "Task",
           "ResponsesError", "AnswerKey", "Answer", "Grading"]
