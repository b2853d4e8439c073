"""Formulas compared in exact arithmetic: decimals as the rationals they are written as, a difference evaluated to
many digits at a point, and the decimals of a formula that round a simple constant.

float64 cannot tell ``w0*a*(1 - a)*(1 + 1e-9)`` from ``w0*a*(1 - a)``: the relative difference 1e-9 is inside any
sensible tolerance. Exactly, the difference is not 0. :func:`verify <gradlab.check.verify.verify>` and grading
decide with these:

>>> import sympy as sp
>>> a = sp.Symbol("a", real=True)
>>> exact_decimals(sp.Float(0.1) * a)
a/10
>>> c, t, d = difference(a * (1 + sp.Rational(1, 10**9)), a, {a: 0.5})
>>> f"{d:.3g}", difference(sp.Rational(1, 4) * a, a / 4, {a: 0.5})
('5e-10', None)
>>> rounded_decimals(sp.Rational(33333333, 100000000) * a + sp.Rational(1, 4))
{33333333/100000000: 1/3}
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping, Sequence

import sympy as sp

from ..ops import as_sympy

#: Digits a difference is evaluated to.
DIGITS = 50
#: A difference smaller than this, relative to the values compared, is 0 to the digits evaluated.
ZERO = 1e-30
#: Denominators of the simple constants a rounded decimal may stand for (1/3, 5/8, ...).
NICE_DENOMINATOR = 64


def exact_decimals(expr: Any) -> Any:
    """Every float in ``expr`` replaced by the decimal it is written as (``0.1`` -> ``1/10``, not the binary float
    next to it): the graph's constants, read as the program wrote them."""
    e = as_sympy(expr)
    floats = e.atoms(sp.Float)
    if not floats:
        return e
    return e.xreplace({f: sp.Rational(repr(float(f))) for f in floats})


def _exact_number(v: Any) -> sp.Expr:
    """A point's coordinate exactly (a float's binary value, not a rounding of it)."""
    if isinstance(v, sp.Basic):
        return v
    return sp.Rational(float(v)) if not float(v).is_integer() else sp.Integer(int(v))


def exact_values(exprs: Sequence[Any], env: Mapping[sp.Symbol, Any],
                 definitions: Sequence[tuple[sp.Symbol, Any]] = ()) -> list[sp.Float]:
    """Each of ``exprs`` at a point, to :data:`DIGITS` digits. ``env`` gives the inputs (a float exactly as it is),
    ``definitions`` each named node in terms of the inputs and earlier names, in order (evaluated on the way, to
    more digits)."""
    point: dict[sp.Symbol, sp.Expr] = {s: _exact_number(v) for s, v in env.items()}
    for name, d in definitions:
        point[name] = sp.Float(sp.N(as_sympy(d).xreplace(point), DIGITS + 20), DIGITS + 20)
    return [sp.Float(sp.re(sp.N(as_sympy(e).xreplace(point), DIGITS)), DIGITS) for e in exprs]


def difference(claim: Any, truth: Any, env: Mapping[sp.Symbol, Any],
               definitions: Sequence[tuple[sp.Symbol, Any]] = ()) -> tuple[float, float, float] | None:
    """``(claim, truth, claim - truth)`` at a point where they differ in exact arithmetic (beyond :data:`ZERO`
    relative to their size); None where they are equal to the digits evaluated."""
    c, t = exact_values([claim, truth], env, definitions)
    d = c - t
    if abs(d) <= ZERO * max(abs(c), abs(t), sp.Float(1e-300)):
        return None
    return float(c), float(t), float(d)


def rounded_decimals(expr: Any) -> dict[sp.Rational, sp.Rational]:
    """The decimals of ``expr`` that round a simple fraction (a denominator up to :data:`NICE_DENOMINATOR`) to the
    digits written, mapped to that fraction: ``0.3333`` -> ``1/3``; ``0.25`` is 1/4 itself, and ``1 + 1e-9`` rounds
    nothing (it is 1 + 1e-9, written to its last digit)."""
    found: dict[sp.Rational, sp.Rational] = {}
    for r in as_sympy(expr).atoms(sp.Rational):
        q = int(r.q)
        digits = len(str(q)) - 1
        if q < 10 or q != 10**digits:  # not a decimal with a fractional part
            continue
        nice = Fraction(int(r.p), q).limit_denominator(NICE_DENOMINATOR)
        c = sp.Rational(nice.numerator, nice.denominator)
        if c != r and c != 0 and abs(r - c) <= sp.Rational(1, 2 * q):
            found[r] = c
    return found


def decimal_text(r: sp.Rational) -> str:
    """A decimal rational as it was written: ``33333333/100000000`` -> ``0.33333333``.

    >>> decimal_text(sp.Rational(33333333, 100000000))
    '0.33333333'
    """
    digits = len(str(int(r.q))) - 1
    return f"{float(r):.{digits}f}" if digits <= 15 else str(r)
