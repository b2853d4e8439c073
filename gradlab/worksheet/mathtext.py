"""Formulas and numbers as the sheets print them: key syntax, LaTeX (Markdown, Moodle) and MathML (HTML).

MathML comes from SymPy's presentation printer (no CDN, no network: browsers render it natively),
with σ for the logistic function.

>>> import sympy as sp
>>> from gradlab.ops import sigmoid
>>> z = sp.Symbol("z")
>>> key_text(sp.Abs(z) + sigmoid(z))
'abs(z) + sigmoid(z)'
>>> "<mi>&#963;</mi>" in mathml(sigmoid(z))  # σ
True
>>> partial_latex("a", "x0")
'\\\\frac{\\\\partial a}{\\\\partial x_{0}}'
"""

from __future__ import annotations

import html
import math
from typing import Any

import sympy as sp
from sympy.printing.mathml import MathMLPresentationPrinter
from sympy.printing.str import StrPrinter

from ..ops import HEADS, as_sympy


class _KeyPrinter(StrPrinter):
    """SymPy's str form in gradlab's strict formula syntax (read back by :func:`gradlab.lang.expr.parse_expression`)."""

    def _print_Abs(self, e: Any) -> str:
        return f"abs({self._print(e.args[0])})"

    def _print_Max(self, e: Any) -> str:
        return "max(" + ", ".join(self._print(a) for a in e.args) + ")"

    def _print_Min(self, e: Any) -> str:
        return "min(" + ", ".join(self._print(a) for a in e.args) + ")"

    def _print_Heaviside(self, e: Any) -> str:
        return f"Heaviside({self._print(e.args[0])})"

    def _print_Exp1(self, e: Any) -> str:
        return "exp(1)"


def key_text(expr: Any) -> str:
    """A formula as key.json stores it (strict syntax; no ``eval`` needed to read it back)."""
    return _KeyPrinter({"order": None}).doprint(as_sympy(expr))


def latex(expr: Any) -> str:
    """LaTeX of a formula (σ for sigmoid, x_{0} for x0)."""
    return sp.latex(expr)


def _name_latex(name: str) -> str:
    return sp.latex(sp.Symbol(name))


def partial_latex(out: str, wrt: str) -> str:
    r"""``\frac{\partial a}{\partial x_{0}}``."""
    return r"\frac{\partial %s}{\partial %s}" % (_name_latex(out), _name_latex(wrt))


class _MathML(MathMLPresentationPrinter):
    def mathml_tag(self, e: Any) -> str:
        op = HEADS.get(type(e))
        if op is not None and not type(e).__module__.startswith("sympy"):  # gradlab's own: σ, relu, GELU, ...
            return op.text_head()
        return super().mathml_tag(e)


def _math(inner: str, display: bool = False) -> str:
    mode = ' display="block"' if display else ""
    return f'<math xmlns="http://www.w3.org/1998/Math/MathML"{mode}>{inner}</math>'


def mathml_inner(expr: Any) -> str:
    """Presentation MathML of a formula (inside a ``<math>``)."""
    return _MathML().doprint(as_sympy(expr))


def mathml(expr: Any, *, display: bool = False) -> str:
    """Presentation MathML of a formula, as a ``<math>`` element."""
    return _math(mathml_inner(expr), display)


def _name_mathml(name: str) -> str:
    return _MathML().doprint(sp.Symbol(name))


def partial_mathml_inner(out: str, wrt: str) -> str:
    return (f"<mfrac><mrow><mo>∂</mo>{_name_mathml(out)}</mrow>"
            f"<mrow><mo>∂</mo>{_name_mathml(wrt)}</mrow></mfrac>")


def partial_mathml(out: str, wrt: str, rhs: Any = None) -> str:
    """``∂a/∂x0`` (``= rhs`` when given) as MathML."""
    inner = partial_mathml_inner(out, wrt)
    if rhs is not None:
        inner = f"<mrow>{inner}<mo>=</mo>{mathml_inner(rhs)}</mrow>"
    return _math(inner)


def name_mathml(name: str) -> str:
    return _math(_name_mathml(name))


def number(x: float, decimals: int) -> str:
    """A number as the key prints it: ``-0.39`` (``-0`` is printed ``0``)."""
    if not math.isfinite(x):
        return str(x)
    s = f"{x:.{decimals}f}"
    if float(s) == 0:
        s = f"{0:.{decimals}f}"
    return s


def value_text(x: Any) -> str:
    """An input value as drawn: ``2``, ``-0.5``; a vector or matrix as nested lists ``[1, -0.5, 2]``."""
    if isinstance(x, (list, tuple)):
        return "[" + ", ".join(value_text(e) for e in x) + "]"
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def esc(text: str) -> str:
    return html.escape(text, quote=True)
