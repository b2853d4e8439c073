"""Number answers: reading what students type and comparing it with the key.

A plain decimal (``-0.39``, ``−0,39``, ``3.9e-1``) is read directly; anything else (``-1/2``,
``e^-1``, ``sqrt(2)/2``) goes through the safe formula parser with no names allowed and must
be a constant. Comparison by relative/absolute tolerance, ``|x - k| <= max(atol, rtol*|k|)``, or
by significant figures (within half a unit in the n-th significant digit of the key).

>>> read_number("−0,39")
-0.39
>>> number_matches(0.394, 0.3932, rtol=0.01, atol=0.005)
True
>>> number_matches(0.40, 0.3932, sigfigs=2)
False
"""

from __future__ import annotations

import math
import re
from typing import TypedDict

from ..errors import ParseError
from ..lang.expr import Limits, parse_expression
from ..model.answerkey import MISTAKES, Answer, Grading
from .verdict import Verdict

_PLAIN = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d{1,3})?$")
_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2014": "-", "\ufe63": "-", "\uff0d": "-"})
NUMBER_LIMITS = Limits(max_chars=200, max_nodes=200, max_depth=30, max_digits=30, max_exponent=100)


def is_plain_number(text: str) -> bool:
    """Whether ``text`` is a plain decimal that needs no parser (read in the main process)."""
    return bool(_PLAIN.match(text.strip().translate(_MINUS).replace(" ", ""))) and len(text) < 60


_ABOUT = re.compile(r"^\s*(~|≈|\u2248|approx\.?|about|ca\.)\s*", re.IGNORECASE)


def read_number(text: str) -> float:
    """A student's number (``~0.1`` and ``≈ 0.1`` are 0.1); :class:`ParseError` with a message when it is not one."""
    text = _ABOUT.sub("", text)
    s = text.strip().translate(_MINUS).replace(" ", "")
    if not s:
        raise ParseError("the answer is empty")
    if _PLAIN.match(s) and len(s) < 60:
        if s.count(",") == 1 and "." not in s:
            s = s.replace(",", ".")
        x = float(s)
        if not math.isfinite(x):
            raise ParseError("the number is not finite")
        return x
    expr = parse_expression(text, {}, lenient=True, unknown_names=False, limits=NUMBER_LIMITS)
    if not getattr(expr, "is_number", False):
        raise ParseError("a number is expected here, not a formula")
    try:
        value = complex(expr.evalf(30))
    except (ArithmeticError, ValueError, TypeError, RecursionError):
        raise ParseError("the number is too large to evaluate") from None
    if abs(value.imag) > 1e-12 * max(1.0, abs(value.real)):
        raise ParseError("the number is not real")
    if not math.isfinite(value.real):
        raise ParseError("the number is not finite")
    return value.real


def number_matches(x: float, key: float, *, rtol: float = 0.0, atol: float = 0.0, sigfigs: int | None = None) -> bool:
    """Whether ``x`` counts as ``key``: significant figures when given, else the tolerances."""
    if not (math.isfinite(x) and math.isfinite(key)):
        return False
    if sigfigs:
        if key == 0:
            return abs(x) <= max(atol, 10.0 ** -sigfigs)
        exponent = math.floor(math.log10(abs(key)))
        return abs(x - key) <= 0.5 * 10.0 ** (exponent - sigfigs + 1) * (1 + 1e-9) + 1e-15
    return abs(x - key) <= max(atol, rtol * abs(key)) * (1 + 1e-9) + 1e-15


class _Tolerance(TypedDict):
    """The keyword arguments of :func:`number_matches`."""

    rtol: float
    atol: float
    sigfigs: int | None


def grade_number(text: str, answer: Answer, grading: Grading) -> Verdict:
    """Grade one number answer against the key's value and its named wrong answers."""
    if not text.strip():
        return Verdict.blank()
    try:
        x = read_number(text)
    except ParseError as e:
        return Verdict.rejected(str(e))
    key = float(answer.value)  # type: ignore[arg-type]
    tol = _Tolerance(rtol=grading.rtol, atol=grading.atol, sigfigs=grading.sigfigs)
    shown = f"{x:.6g}"
    if number_matches(x, key, **tol):
        return Verdict("correct", 1.0, "correct", method="tolerance", read_as=shown)
    for m in answer.mistakes:
        if m.value is not None and number_matches(x, float(m.value), **tol) and not number_matches(m.value, key, **tol):
            return _named(m.id, m.message or MISTAKES.get(m.id, m.id), grading, shown, "tolerance")
    loose = _Tolerance(rtol=grading.rtol * 5, atol=grading.atol * 5,
                       sigfigs=(grading.sigfigs - 1 if grading.sigfigs and grading.sigfigs > 1 else None))
    if number_matches(x, key, **loose):
        return _named("rounding", MISTAKES["rounding"], grading, shown, "tolerance")
    right = answer.text or f"{key:.6g}"
    return Verdict("wrong", 0.0, f"not correct (the answer is {right})", method="tolerance", read_as=shown)


def _named(mistake: str, message: str, grading: Grading, read_as: str, method: str) -> Verdict:
    credit = float(grading.partial.get(mistake, 0.0))
    status = "partial" if credit > 0 else "wrong"
    note = f" (partial credit {credit:g})" if credit > 0 else ""
    return Verdict(status, credit, message + note, mistake=mistake, method=method, read_as=read_as)
