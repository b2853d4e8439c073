"""Follow-through marking: a number blank graded against what follows from earlier blanks.

A key's number answer may carry a ``follow`` recipe (:mod:`gradlab.worksheet.followthrough` writes
them): the blank's value as a formula of the numbers given for earlier items. After every answer of a
student is graded on its own, :func:`follow_through` looks again at each number answer that missed the
key's value, by the key's ``grading.mode``:

* ``strict``: nothing changes;
* ``tolerance``: the answer is also right when it is what follows from the sheet's own rounded answers
  (a student who rounds every step as the sheet says: 0.88 · 0.12 = 0.1056, written 0.11, where the key
  has 0.10);
* ``follow-through``: also when it is what follows from the student's own earlier answers (an error is
  carried forward and costs once; an earlier blank left empty or unreadable counts with the key's
  rounded value).

The feedback names both: ``wrong (expected 0.10); consistent with your earlier 0.88 (1.5), 1 (2.6) → full marks
by follow-through``. Recipes are read with the safe formula parser and evaluated by walking the tree
(:func:`gradlab.grading.formulas.evaluate_numpy`), never with ``eval``.

>>> from gradlab.model.answerkey import Answer, Follow, Grading, Variant
>>> v = Variant("07", {}, {"1.5": Answer(value=0.8808, text="0.88"), "2.6": Answer(value=1.0, text="1.00"),
...     "2.7": Answer(value=0.10499, text="0.10", follow=Follow("i1_5*i2_6*(1 - i1_5)", {"i1_5": "1.5", "i2_6": "2.6"}))})
>>> from gradlab.grading.numbers import grade_number
>>> ids = ["1.5", "2.6", "2.7"]
>>> verdicts = [grade_number(t, v.answers[i], Grading()) for t, i in zip(["0.88", "1", "0.11"], ids)]
>>> verdicts[2].status
'wrong'
>>> after = follow_through(ids, verdicts, v, Grading(mode="follow-through"))
>>> after[2].status, after[2].feedback
('correct', 'wrong (expected 0.10); consistent with your earlier 0.88 (1.5), 1 (2.6) → full marks by follow-through')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import sympy as sp

from ..errors import ParseError
from ..lang.expr import parse_expression
from ..model.answerkey import Answer, Follow, Grading, Variant
from .formulas import Unsupported, evaluate_numpy
from .numbers import number_matches
from .verdict import Verdict

#: The statuses of an answer that was read as a number (its ``read_as`` is the number).
_READ = ("correct", "partial", "wrong")
_RECIPES: dict[tuple[str, tuple[str, ...]], tuple[Any, list[sp.Symbol]]] = {}


def recipe_value(follow: Follow, values: Mapping[str, float]) -> float | None:
    """The recipe's value for the numbers given for its items (``values``: item id -> number); None
    when it cannot be computed there.

    >>> recipe_value(Follow("2*i1_1 + 1", {"i1_1": "1.1"}), {"1.1": 0.5})
    2.0
    """
    names = tuple(sorted(follow.uses))
    cached = _RECIPES.get((follow.formula, names))
    if cached is None:
        symbols = [sp.Symbol(n, real=True) for n in names]
        try:
            expr = parse_expression(follow.formula, dict(zip(names, symbols)), unknown_names=False)
        except ParseError:
            expr = None
        cached = _RECIPES[follow.formula, names] = (expr, symbols)
        if len(_RECIPES) > 10_000:
            _RECIPES.clear()
    expr, symbols = cached
    if expr is None:
        return None
    env = {s: np.array([float(values[follow.uses[str(s)]])]) for s in symbols}
    try:
        x = float(evaluate_numpy(expr, env)[0]) if env else float(expr)
    except (Unsupported, TypeError, ValueError, ArithmeticError):
        return None
    return x if math.isfinite(x) else None


def _rounded(answer: Answer | None) -> float | None:
    """The key's answer as the sheet prints it (its rounded text), else its value."""
    if answer is None or answer.value is None:
        return None
    try:
        return float(answer.text)
    except ValueError:
        return float(answer.value)


def _number(verdict: Verdict) -> float | None:
    if verdict.status not in _READ or not verdict.read_as:
        return None
    try:
        x = float(verdict.read_as)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def follow_through(items: Sequence[str], verdicts: Sequence[Verdict], variant: Variant,
                   grading: Grading) -> tuple[Verdict, ...]:
    """The verdicts of one student (``items`` their item ids, in order) after follow-through marking (see
    the module docstring); verdicts that do not change are the same objects."""
    out = list(verdicts)
    if grading.mode not in ("tolerance", "follow-through"):
        return tuple(out)
    tol: dict[str, Any] = {"rtol": grading.rtol, "atol": grading.atol, "sigfigs": grading.sigfigs}
    given = {i: _number(v) for i, v in zip(items, verdicts)}
    for n, (item, verdict) in enumerate(zip(items, verdicts)):
        answer = variant.answers.get(item)
        if answer is None or answer.follow is None or verdict.status not in ("partial", "wrong"):
            continue
        x = given[item]
        if x is None:
            continue
        rounded = {i: _rounded(variant.answers.get(i)) for i in answer.follow.uses.values()}
        if any(r is None for r in rounded.values()):
            continue
        expected = answer.text or f"{answer.value:.6g}"
        if grading.mode == "follow-through":
            mine = {i: given[i] if given.get(i) is not None else rounded[i] for i in rounded}
            own = recipe_value(answer.follow, mine)  # type: ignore[arg-type]
            if own is not None and number_matches(x, own, **tol):
                earlier = [i for i in _used(answer.follow) if given.get(i) is not None]
                used = ", ".join(f"{_shown(mine[i])} ({i})" for i in earlier)
                why = f"consistent with your earlier {used}" if used else "consistent with the sheet's rounded values"
                out[n] = _credit(verdict, expected, why, "follow-through")
                continue
        from_sheet = recipe_value(answer.follow, rounded)  # type: ignore[arg-type]
        if from_sheet is not None and number_matches(x, from_sheet, **tol):
            used = ", ".join(f"{_shown(rounded[i])} ({i})" for i in _used(answer.follow))
            why = f"it follows from the sheet's rounded values {used}" if used else "it follows from the values the sheet prints"
            out[n] = _credit(verdict, expected, why, "rounding")
    return tuple(out)


def _used(follow: Follow) -> list[str]:
    return sorted(set(follow.uses.values()), key=_item_order)


def _item_order(item: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in item.split("."))
    except ValueError:
        return (0,)


def _shown(x: float | None) -> str:
    return "?" if x is None else f"{x:.6g}"


def _credit(verdict: Verdict, expected: str, why: str, method: str) -> Verdict:
    return Verdict("correct", 1.0, f"wrong (expected {expected}); {why} → full marks by {method}",
                   method=method, read_as=verdict.read_as)


@dataclass(frozen=True)
class RoundingChange:
    """An item whose answer changes when a student works from the sheet's rounded earlier answers:
    ``by_hand`` (rounded as the sheet asks) is not accepted as the key's ``expected`` without
    follow-through or tolerance marking."""

    item: str
    by_hand: str
    expected: str
    uses: str  # the rounded earlier answers it comes from: "0.88 (1.5), 1 (2.6)"


def rounding_changes(variant: Variant, grading: Grading) -> list[RoundingChange]:
    """The items of ``variant`` where rounding as the sheet says changes the answer: the value that follows
    from the printed (rounded) earlier answers, itself rounded to ``grading.decimals``, is not the key's.

    >>> v = Variant("07", {}, {"1.5": Answer(value=0.8808, text="0.88"), "2.6": Answer(value=1.0, text="1.00"),
    ...     "2.7": Answer(value=0.10499, text="0.10", follow=Follow("i1_5*i2_6*(1 - i1_5)", {"i1_5": "1.5", "i2_6": "2.6"}))})
    >>> rounding_changes(v, Grading())
    [RoundingChange(item='2.7', by_hand='0.11', expected='0.10', uses='0.88 (1.5), 1 (2.6)')]
    """
    tol: dict[str, Any] = {"rtol": grading.rtol, "atol": grading.atol, "sigfigs": grading.sigfigs}
    out: list[RoundingChange] = []
    for item, answer in variant.answers.items():
        if answer.follow is None or answer.value is None:
            continue
        rounded = {i: _rounded(variant.answers.get(i)) for i in answer.follow.uses.values()}
        if any(r is None for r in rounded.values()):
            continue
        x = recipe_value(answer.follow, rounded)  # type: ignore[arg-type]
        if x is None:
            continue
        by_hand = round(x, grading.decimals)
        if not number_matches(by_hand, float(answer.value), **tol):
            uses = ", ".join(f"{_shown(rounded[i])} ({i})" for i in _used(answer.follow))
            out.append(RoundingChange(item, f"{by_hand:.{grading.decimals}f}", answer.text or _shown(answer.value),
                                      uses))
    return out
