"""Printed output compared the way a reader compares it, not digit by digit.

The docs show real output, and tests rerun every example to keep it real. But the last digits of
a float64 result depend on the CPU and the kernels (AVX-512, AVX2, torch's generic kernels, the
BLAS core type), so a test that compares printed digits below rounding noise fails on another
machine. Here:

* an error estimate (a number printed as ``d.de±dd``: ``1.2e-15``, ``0.0e+00``, ``5.2e-10``) is
  rounding noise by construction and is not compared;
* a number printed with decimals may differ by one unit in its last printed digit
  (``0.731059`` and ``0.73106``); ``-0.`` and ``0.`` are the same number;
* whole numbers (counts, indices, exit codes, ``6/6``) and all words compare exactly;
* runs of spaces are one space (column widths follow the widest entry).

>>> same_printout("a = 0.731059  err 1.2e-15", "a = 0.73106 err 3.1e-16") is None
True
>>> same_printout("6/6 PASS", "5/6 PASS")
"token 0: the page shows '6', the run printed '5'"
"""

from __future__ import annotations

import re

TOKEN = re.compile(
    r"(?P<word>[^\W\d]\w*)"  # names first, so the 0 of w0 is no number
    r"|(?P<num>[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<other>\S)")
EPS = 2.0**-52
ERROR_ESTIMATE = re.compile(r"[-+]?\d(?:\.\d)?e[-+]\d\d")


def tokens(text: str) -> list[str]:
    return [m.group() for m in TOKEN.finditer(text)]


def _unit(number: str) -> float:
    """One unit in the last printed digit of a decimal number, 0 for a whole number."""
    mantissa, _, exponent = number.lower().partition("e")
    if "." not in mantissa:
        return 0.0
    decimals = len(mantissa.split(".")[1])
    return 10.0 ** (int(exponent or 0) - decimals)


def same_token(shown: str, printed: str) -> bool:
    if shown == printed:
        return True
    kinds = [m.lastgroup if (m := TOKEN.fullmatch(t)) else None for t in (shown, printed)]
    if kinds != ["num", "num"]:
        return False
    if ERROR_ESTIMATE.fullmatch(shown) and ERROR_ESTIMATE.fullmatch(printed):
        return True
    unit = max(_unit(shown), _unit(printed))
    a, b = float(shown), float(printed)
    return unit > 0 and abs(a - b) <= unit + 4 * EPS * max(abs(a), abs(b))  # the subtraction's own rounding


def same_printout(shown: str, printed: str) -> str | None:
    """None when ``printed`` reads as ``shown`` (see the module docstring); else the first difference."""
    a, b = tokens(shown), tokens(printed)
    for i, (x, y) in enumerate(zip(a, b)):
        if not same_token(x, y):
            return f"token {i}: the page shows {x!r}, the run printed {y!r}"
    if len(a) != len(b):
        rest = a[len(b):] if len(a) > len(b) else b[len(a):]
        who = "the page shows more" if len(a) > len(b) else "the run printed more"
        return f"{who}: {' '.join(rest[:12])!r}"
    return None


def same_line(shown: str, printed: str) -> bool:
    return same_printout(shown, printed) is None
