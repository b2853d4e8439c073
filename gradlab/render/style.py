"""Colours, fonts and text for the pictures: themes, palettes, numbers and formulas as labels.

A picture's colours come from a :class:`Style`, the product of a theme (``light`` or ``dark``
background) and a palette (``classic``: the textbook's green values and red gradients;
``colorblind``: the Okabe-Ito blue and vermillion, told apart by every common kind of colour
blindness). Numbers are printed with :func:`number` and formulas with :func:`formula`.

>>> number(-0.19661193, 2), number(0.0000123, 2), number(-0.0, 2)
('-0.20', '1.23e-05', '0.00')
>>> import sympy as sp
>>> a, w0 = sp.symbols("a w0")
>>> formula(a*w0*(1 - a))
'a·w0·(1 - a)'
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

THEMES = ("light", "dark")
PALETTES = ("classic", "colorblind")

#: Font list for labels (SVG viewers and Cairo take the first one they have).
FONT = "DejaVu Sans,Helvetica,Arial,sans-serif"


@dataclass(frozen=True)
class Style:
    """Every colour a picture uses (hex strings)."""

    background: str
    text: str  # names, gate symbols
    muted: str  # shapes, node names, statement boxes
    wire: str
    gate_fill: str
    gate_border: str
    value: str  # forward values (above the wire)
    gradient: str  # gradients (below the wire)
    highlight: str  # the chain-rule path, the current step
    cluster: str  # statement boxes
    new: str  # gradients that appear in the current backward step


_STYLES = {
    ("light", "classic"): Style("white", "#1a1a1a", "#6b6b6b", "#4a4a4a", "#f4f4f4", "#333333",
                                "#2e7d32", "#c62828", "#1565c0", "#b0b0b0", "#1565c0"),
    ("dark", "classic"): Style("#111418", "#e8eaed", "#9aa0a6", "#a0a7b0", "#1f252c", "#c8ccd2",
                               "#7ee787", "#ff7b72", "#79c0ff", "#5a626c", "#79c0ff"),
    # Okabe & Ito (2008): blue and vermillion values/gradients, reddish purple for the path.
    ("light", "colorblind"): Style("white", "#1a1a1a", "#6b6b6b", "#4a4a4a", "#f4f4f4", "#333333",
                                   "#0072b2", "#d55e00", "#cc79a7", "#b0b0b0", "#cc79a7"),
    ("dark", "colorblind"): Style("#111418", "#e8eaed", "#9aa0a6", "#a0a7b0", "#1f252c", "#c8ccd2",
                                  "#56b4e9", "#e69f00", "#f0a3d0", "#5a626c", "#f0a3d0"),
}


def style(theme: str = "light", palette: str = "classic") -> Style:
    """The colours for a theme and a palette (see :data:`THEMES`, :data:`PALETTES`)."""
    return _STYLES[(theme, palette)]


# ----------------------------------------------------------------------------- numbers


def number(x: Any, precision: int = 2) -> str:
    """A number as the picture prints it: fixed point with ``precision`` decimals, scientific
    where that would hide it (``1.23e-05``) or be too long; never ``-0.00``."""
    f = float(x)
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    if f != 0 and (abs(f) < 0.5 * 10.0 ** (-precision) or abs(f) >= 1e6):
        return f"{f:.{precision}e}"
    text = f"{f:.{precision}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return text


#: Tensors with at most this many entries show their numbers; bigger ones show their shape.
SMALL_TENSOR = 6


def shape_text(shape: tuple[int, ...]) -> str:
    """``(2, 3)`` -> ``2×3``; a column vector ``(3,)`` -> ``3×1`` (vectors are columns)."""
    if len(shape) == 1:
        return f"{shape[0]}×1"
    return "×".join(str(d) for d in shape)


def tensor_lines(a: np.ndarray, shape: tuple[int, ...], precision: int = 2) -> list[str]:
    """A small vector or matrix as text lines, one per row (a column vector is one column);
    a big one as its range: ``[-1.20 … 3.40]``."""
    arr = np.asarray(a, dtype=float).reshape(shape)
    if arr.size > SMALL_TENSOR:
        return [f"[{number(arr.min(), precision)} … {number(arr.max(), precision)}]"]
    rows = arr.reshape(-1, 1) if arr.ndim == 1 else arr
    return ["[" + "  ".join(number(x, precision) for x in row) + "]" for row in rows]


def tensor_cells(a: np.ndarray, shape: tuple[int, ...], precision: int = 2) -> list[list[str]] | None:
    """A small vector or matrix as rows of cells (``None`` when it has more than :data:`SMALL_TENSOR` entries)."""
    arr = np.asarray(a, dtype=float).reshape(shape)
    if arr.size > SMALL_TENSOR:
        return None
    rows = arr.reshape(-1, 1) if arr.ndim == 1 else arr
    return [[number(x, precision) for x in row] for row in rows]


# ----------------------------------------------------------------------------- formulas

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def formula(expr: Any) -> str:
    """A SymPy expression as a compact one-line label: ``a·w0·(1 - a)``, ``t6⁻²``, ``σ(z)``."""
    import sympy as sp

    text = sp.sstr(expr)
    text = re.sub(r"\*\*\((-?\d)\)", lambda m: m.group(1).translate(_SUPERSCRIPT), text)
    text = re.sub(r"\*\*(\d)(?![\d.])", lambda m: m.group(1).translate(_SUPERSCRIPT), text)
    text = text.replace("**", "^").replace("*", "·")
    text = re.sub(r"\bsigmoid\(", "σ(", text)
    text = re.sub(r"\bHeaviside\(", "H(", text)
    text = re.sub(r"\bsqrt\(", "√(", text)
    return text


#: Advance widths of DejaVu Sans (in em), grouped: the label widths a picture reserves.
_ADVANCE_GROUPS = (
    ("'", 0.275),
    ('ijl', 0.278),
    ('IJ', 0.295),
    (' ,.·', 0.318),
    ('/:;\\|', 0.337),
    ('f', 0.352),
    ('-', 0.361),
    ('()[]', 0.39),
    ('t', 0.392),
    ('!²³⁴⁵⁶⁷⁸⁹⁰¹', 0.401),
    ('r', 0.411),
    ('"', 0.46),
    ('*_`–', 0.5),
    ('∂', 0.517),
    ('s', 0.521),
    ('z', 0.525),
    ('⁻', 0.528),
    ('?', 0.531),
    ('c', 0.55),
    ('L', 0.557),
    ('F', 0.575),
    ('k', 0.579),
    ('vxy', 0.592),
    ('P', 0.603),
    ('TY', 0.611),
    ('o', 0.612),
    ('a', 0.613),
    ('e', 0.615),
    ('EΣ', 0.632),
    ('hnuσ', 0.634),
    ('Sbdgpq', 0.635),
    ('$0123456789{}', 0.636),
    ('√', 0.637),
    ('K', 0.656),
    ('AV', 0.684),
    ('XZ', 0.685),
    ('B', 0.686),
    ('R', 0.695),
    ('C', 0.698),
    ('U', 0.732),
    ('N', 0.748),
    ('H', 0.752),
    ('D', 0.77),
    ('G', 0.775),
    ('&', 0.78),
    ('OQ', 0.787),
    ('w', 0.818),
    ('#+<=>^~×→', 0.838),
    ('M', 0.863),
    ('%', 0.95),
    ('m', 0.974),
    ('W', 0.989),
    ('@…', 1.0),
)
_ADVANCE = {ch: width for chars, width in _ADVANCE_GROUPS for ch in chars}


@lru_cache(maxsize=8192)
def width_points(text: str, fontsize: float, bold: bool = False) -> int:
    """The width of ``text`` in points, from DejaVu Sans' advance widths, rounded up (bold +12%)."""
    em = sum(_ADVANCE.get(c, 0.75) for c in text)
    return int(math.ceil(em * fontsize * (1.12 if bold else 1.0))) + 4


def wrap_formula(text: str, width: int = 28) -> list[str]:
    """Break a long formula into lines at its outermost ``+``, ``-``, ``·`` or ``/`` (never inside brackets).

    >>> wrap_formula("x0·exp(-z)/(1 + exp(-z))²", 12)
    ['x0·exp(-z)', '/(1 + exp(-z))²']
    """
    if len(text) <= width:
        return [text]
    cuts = _cuts(text, 0)
    if not cuts:
        return [text]
    lines: list[str] = []
    start = 0
    last = 0
    for c in cuts + [len(text)]:
        if c - start > width and last > start:
            lines.append(text[start:last].rstrip())
            start = last
        last = c
    lines.append(text[start:].strip())
    return [line for line in lines if line]


def _cuts(text: str, depth: int) -> list[int]:
    """Positions where a line may end: after a ``·``, before a ``/``, `` + `` or `` - `` at bracket ``depth``."""
    cuts = []
    level = 0
    for i, ch in enumerate(text):
        if ch in "([":
            level += 1
        elif ch in ")]":
            level -= 1
        elif level == depth and i > 0:
            if ch == "·":
                cuts.append(i + 1)
            elif ch == "/":
                cuts.append(i)
            elif ch in "+-" and text[i - 1] == " " and i + 1 < len(text) and text[i + 1] == " ":
                cuts.append(i)
    return cuts
