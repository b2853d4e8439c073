"""Named mistakes: the one place that says which mistake a wrong derivative is, for ``gradlab verify`` and
``gradlab grade`` alike.

Each caller makes its candidate wrong derivatives (a :class:`Candidate`: the mistake's id, the name
verify shows, an explanation, and the candidate's values at the caller's points): verify from the graph
(:mod:`gradlab.check.verify_scalar`, :mod:`gradlab.check.verify_tensor`), grading from the wrong answers the
key lists (generated from the same graph by :mod:`gradlab.worksheet.mistakes`). :func:`name_mistake`
compares the answer with them in one order:

1. the true derivative times a constant: ``sign`` (-1), ``factor`` (``missing factor 1/2``, ``extra factor 1/3``);
2. its transpose (``transposed``), with or without a factor;
3. the candidates, by kind in :data:`ORDER` (a left-out local derivative first, the gradient of
   another variable last), first as they are, then times a constant (``sigmoid, sign``).

The ids are the keys of :data:`MISTAKES` (the spec's ``[grading] partial`` credits them), or the name of a
gate whose record names the mistake of writing its output for its derivative (``sigmoid`` for σ where
σ·(1 − σ) belongs); two at once are joined by ``+`` (``transposed+factor``).

>>> import numpy as np
>>> truth = np.array([1.0, 2.0, -3.0])
>>> name_mistake(-truth, truth, []).id
'sign'
>>> name_mistake(2 * truth, truth, []).name
'missing factor 1/2'
>>> name_mistake(truth**2, truth, [Candidate("chain", "missing local derivative", "", truth**2)]).id
'chain'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np

#: Mistakes gradlab names, with the message a student reads.
MISTAKES: dict[str, str] = {
    "sign": "sign error: the magnitude is right, the sign is not",
    "chain": "missing chain-rule factor: one local derivative on the path to the output is left out",
    "local": "local derivative only: it still has to be multiplied by the gradient coming from the output",
    "sigmoid": "the derivative of σ is σ·(1 − σ), not σ itself",
    "tanh": "the derivative of tanh is 1 − tanh², not tanh itself",
    "fork": "gradients not summed at a fork: a value used twice gets the sum of both branches' gradients",
    "forward": "this is the forward value, not the gradient",
    "factor": "off by a constant factor",
    "rounding": "close, but not within the tolerance: check the rounding",
    "transposed": "transposed: the gradient has the shape of the variable, and this is its transpose",
    "label": "the label is left out: the softmax-cross-entropy derivative is p − y, not p",
    "variable": "the gradient with respect to another variable",
    "shape": "the formula does not have the shape of the gradient (the shape of the variable)",
}

#: The order in which candidates of each kind are tried (a gate's output for its derivative, ``sigmoid`` or
#: ``tanh``, goes where ``gate`` stands); kinds not listed come last.
ORDER = ("chain", "gate", "fork", "forward", "label", "variable")

#: The names verify shows for the mistakes of :data:`ORDER` that have one fixed name.
NAMES = {"fork": "one branch of a fork", "forward": "forward value", "variable": "wrong variable",
         "shape": "wrong shape", "sign": "sign", "transposed": "transposed"}


@dataclass(frozen=True)
class Candidate:
    """A wrong derivative to compare an answer with: ``Candidate("chain", "missing activation derivative",
    "the derivative of a = sigmoid(z) is left out", values)``; ``values`` at the caller's points (points first)."""

    id: str | None
    name: str
    hint: str
    values: np.ndarray


@dataclass(frozen=True)
class Named:
    """The mistake found: ``ids`` (``("transposed", "factor")``), the ``name`` verify shows (``"transposed,
    missing factor 1/2"``), the explanation ``hint``, the ``factor`` the answer is off by (None for none)
    and the candidate matched (None for a constant factor or the transpose alone)."""

    ids: tuple[str | None, ...]
    name: str
    hint: str
    factor: float | None = None
    candidate: Candidate | None = None

    @property
    def id(self) -> str | None:
        """The ids joined by ``+`` (``"chain+sign"``); None when one part has no id."""
        return "+".join(i for i in self.ids if i) if self.ids and all(self.ids) else None


def nice_number(x: float) -> str:
    """``0.5`` -> ``1/2``, ``-2.0`` -> ``-2``, ``0.3183...`` -> ``0.318310``."""
    frac = Fraction(x).limit_denominator(64)
    if abs(float(frac) - x) <= 1e-9 * max(1.0, abs(x)):
        return str(frac.numerator) if frac.denominator == 1 else f"{frac.numerator}/{frac.denominator}"
    return f"{x:.6g}"


def close_entries(a: np.ndarray, b: np.ndarray, rtol: float, atol: float, axes: tuple[int, ...]) -> np.ndarray:
    """Entrywise closeness, the tolerance scaled by the size of the values at each point (an
    infinite or undefined value is close to nothing: ``exp(exp(exp(B)))`` overflows, it is not right)."""
    with np.errstate(all="ignore"):
        scale = np.maximum(np.abs(a), np.abs(b))
        point_scale = scale.max(axis=axes, keepdims=True) if axes else scale
        close = np.abs(a - b) <= atol * np.maximum(1.0, point_scale) + rtol * np.maximum(scale, point_scale)
    return close & np.isfinite(a) & np.isfinite(b)


def factor_name(k: float) -> tuple[str, str, str]:
    """(id, name, what the answer is) for an answer ``k`` times the true derivative:
    ``2`` -> ("factor", "missing factor 1/2", "2 times the true derivative: a factor 1/2 is missing")."""
    if abs(k + 1) < 1e-9:
        return "sign", "sign", "the true derivative with the wrong sign"
    inv = nice_number(1 / k)
    if abs(k) > 1:
        return "factor", f"missing factor {inv}", f"{nice_number(k)} times the true derivative: a factor {inv} is missing"
    return "factor", f"extra factor {nice_number(k)}", f"{nice_number(k)} times the true derivative"


def gate_output(op_name: str) -> bool:
    """Whether ``op_name`` is a gate whose record names the mistake of writing its output for its derivative."""
    from ..ops import OPS

    op = OPS.get(op_name)
    return op is not None and op.output_mistake is not None


def message(mid: str) -> str:
    """The student's message for a mistake id: gradlab's own, or the one a gate's record gives."""
    from ..ops import OPS

    if mid in MISTAKES:
        return MISTAKES[mid]
    op = OPS.get(mid)
    return op.output_mistake if op is not None and op.output_mistake else mid


def _rank(c: Candidate) -> int:
    kind = "gate" if c.id is not None and gate_output(c.id) else c.id
    return ORDER.index(kind) if kind in ORDER else len(ORDER)


def _fit_factor(claimed: np.ndarray, base: np.ndarray) -> float | None:
    """The constant k with claimed ~ k * base over every point and entry, or None."""
    with np.errstate(all="ignore"):
        denom = float(np.sum(base * base))
        if denom == 0 or not np.isfinite(denom):
            return None
        k = float(np.sum(claimed * base)) / denom
    if not np.isfinite(k) or k == 0:
        return None
    return k


def transposed(a: np.ndarray) -> np.ndarray | None:
    """A batch of gradients (points first) transposed: a column vector becomes a row (1, n), a matrix its
    transpose; None for numbers."""
    if a.ndim == 2:  # column vectors
        return a[:, None, :]
    if a.ndim == 3:
        t = np.swapaxes(a, -1, -2)
        return t[:, :, 0] if t.shape[-1] == 1 else t
    return None


def name_mistake(claimed: np.ndarray, truth: np.ndarray, candidates: Sequence[Candidate], *, rtol: float = 1e-7,
                 atol: float = 1e-9) -> Named | None:
    """The likely mistake of an answer with values ``claimed`` where the true derivative is ``truth`` (both
    points first): which simple change of the truth gives the answer at every point (see the module docstring).
    A candidate equal to the truth is no mistake and is passed over."""
    axes = tuple(range(1, truth.ndim))

    def close(a: np.ndarray, b: np.ndarray) -> bool:
        return a.shape == b.shape and bool(close_entries(a, b, rtol, atol, axes).all())

    def times(base: np.ndarray) -> float | None:
        if base.shape != claimed.shape:
            return None
        k = _fit_factor(claimed, base)
        return k if k is not None and abs(k - 1) > 1e-9 and close(claimed, k * base) else None

    k = times(truth)
    if k is not None:
        mid, name, what = factor_name(k)
        return Named((mid,), name, f"the claim is {what}", k)
    tt = transposed(truth)
    if tt is not None and (tt.shape != truth.shape or not np.allclose(tt, truth)):
        if close(claimed, tt):
            return Named(("transposed",), "transposed", "the claim is the transpose of the true derivative")
        k = times(tt)
        if k is not None:
            mid, name, what = factor_name(k)
            return Named(("transposed", mid), f"transposed, {name}", f"the claim transposed is {what}", k)
    ranked = sorted((c for c in candidates if not close(c.values, truth)), key=_rank)
    for c in ranked:
        if close(claimed, c.values):
            return Named((c.id,), c.name, c.hint, None, c)
    for c in ranked:
        k = times(c.values)
        if k is not None:
            mid, name, what = factor_name(k)
            return Named((c.id, mid), f"{c.name}, {name}", f"{c.hint}; with it, the claim is {what}", k, c)
    return None


#: verify's names -> the ids (for names read back from text: a report, a JSON file).
_IDS = [
    (re.compile(r"^sign$"), "sign"),
    (re.compile(r"^(missing|extra) factor "), "factor"),
    (re.compile(r"^transposed( \w+)?$"), "transposed"),  # the whole gradient, or one square matrix in it
    (re.compile(r"^missing (activation|local) derivative$"), "chain"),
    (re.compile(r" instead of .+ - "), "label"),
    (re.compile(r"^wrong variable$"), "variable"),
    (re.compile(r"^wrong shape$"), "shape"),
    (re.compile(r"^one branch of a fork$"), "fork"),
    (re.compile(r"^forward value$"), "forward"),
]


def mistake_ids(name: str | None) -> list[str | None]:
    """``"transposed, missing factor 1/2"`` -> ``["transposed", "factor"]`` (None for a name with no id)."""
    if not name:
        return []
    out: list[str | None] = []
    for part in (p.strip() for p in name.split(",") if p.strip()):  # names hold no commas
        found = next((mid for pattern, mid in _IDS if pattern.search(part)), None)
        out.append(found if found is not None else part if gate_output(part) else None)
    return out


__all__ = ["MISTAKES", "ORDER", "Candidate", "Named", "name_mistake", "mistake_ids", "factor_name", "message",
           "nice_number", "close_entries", "transposed"]
