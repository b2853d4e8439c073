"""Vectors, matrices and matrix formulas as the sheets print them: LaTeX (Markdown, Moodle) and MathML (HTML).

A matrix formula is a :class:`gradlab.engine.tensor_forms.M` tree, as gradlab's engines build it (never
text typed by someone): ``(p - y) @ v.T / 2`` prints as ``½ (p − y) vᵀ``. The matrix product is
written by juxtaposition, the transpose as a superscript (``\\top`` in LaTeX, T in MathML), a
vector or matrix over a number with the factor first, the entrywise product of two tensors as
``⊙`` (a number times a matrix by juxtaposition), and functions entry by entry (``tanh``, ``σ``,
``log``) as usual.

>>> from gradlab.engine.tensor_forms import M, name, num
>>> p, y, v = name("p", (2,)), name("y", (2,)), name("v", (2,))
>>> f = M("div", (M("matmul", (M("sub", (p, y), (2,)), M("T", (v,), (1, 2))), (2, 2)), num(2)), (2, 2))
>>> matrix_latex(f)
'\\\\frac{1}{2} \\\\left(p - y\\\\right) v^{\\\\top}'
>>> value_latex([[1, -0.5], [0.25, 2]])
'\\\\begin{bmatrix} 1 & -0.5 \\\\\\\\ 0.25 & 2 \\\\end{bmatrix}'
>>> name_latex("B_1_2"), name_latex("x0")
('B_{1,2}', 'x_{0}')
"""

from __future__ import annotations

import html
import re
from typing import Any, Callable

import numpy as np
import sympy as sp

from ..engine.tensor_forms import M
from ..ops import FUNCTIONS, OPS, Op
from .mathtext import value_text

_ENTRY = re.compile(r"^([A-Za-z][A-Za-z0-9]*)_(\d+)(?:_(\d+))?$")
_PREC = {"add": 1, "sub": 1, "mul": 2, "div": 2, "matmul": 2, "neg": 3, "pow": 4, "T": 5, "call": 5, "name": 5,
         "num": 5}
#: The heads of the functions of formulas that are no gate (a gate's own: Op.latex_head(), Op.text_head()).
_FORMULA_ONLY_LATEX = {"tan": r"\tan", "sign": r"\operatorname{sign}", "Heaviside": r"H"}
_FORMULA_ONLY_TEXT = {"Heaviside": "H"}


def _gate(fname: str) -> Op | None:
    return OPS.get(FUNCTIONS.get(fname, ""))


# ----------------------------------------------------------------------------- names and values

def name_latex(n: str) -> str:
    """``B_1_2`` -> ``B_{1,2}`` (an entry, 1-based), ``p_1`` -> ``p_{1}``, ``x0`` -> ``x_{0}``."""
    m = _ENTRY.match(n)
    if m:
        idx = m.group(2) + ("," + m.group(3) if m.group(3) else "")
        return f"{sp.latex(sp.Symbol(m.group(1)))}_{{{idx}}}"
    return sp.latex(sp.Symbol(n))


def name_mathml_inner(n: str) -> str:
    """A name or an entry as MathML (inside a ``<math>``)."""
    m = _ENTRY.match(n)
    if m:
        idx = f"<mn>{m.group(2)}</mn>" + (f"<mo>,</mo><mn>{m.group(3)}</mn>" if m.group(3) else "")
        return f"<msub>{_base_mathml(m.group(1))}<mrow>{idx}</mrow></msub>"
    return _base_mathml(n)


def entry_partial_latex(out: str, name: str) -> str:
    r"""``\frac{\partial L}{\partial B_{1,2}}``: the partial with respect to an entry (or a name)."""
    return r"\frac{\partial %s}{\partial %s}" % (name_latex(out), name_latex(name))


def entry_partial_mathml_inner(out: str, name: str) -> str:
    """The partial with respect to an entry (or a name) as MathML (inside a ``<math>``)."""
    return (f"<mfrac><mrow><mo>∂</mo>{name_mathml_inner(out)}</mrow>"
            f"<mrow><mo>∂</mo>{name_mathml_inner(name)}</mrow></mfrac>")


def assignment_latex(name: str, x: Any) -> str:
    r"""``x_{0} = 2``, ``A = \begin{bmatrix} ... \end{bmatrix}``: an input and its value at a point."""
    return f"{sp.latex(sp.Symbol(name))} = {value_latex(x)}"


def _base_mathml(n: str) -> str:
    m = re.match(r"^([A-Za-z]+)(\d+)$", n)
    if m:
        return f"<msub><mi>{html.escape(m.group(1))}</mi><mn>{m.group(2)}</mn></msub>"
    return f"<mi>{html.escape(n)}</mi>"


def _rows(x: Any) -> list[list[str]]:
    """A value as rows of printed numbers: a vector is a column."""
    a = np.asarray(x, dtype=float)
    if a.ndim == 0:
        return [[value_text(float(a))]]
    if a.ndim == 1:
        return [[value_text(float(v))] for v in a]
    return [[value_text(float(v)) for v in row] for row in a]


def value_latex(x: Any) -> str:
    """A number as drawn (``2``), or a vector/matrix as a ``bmatrix`` (vectors are columns)."""
    if np.ndim(x) == 0:
        return value_text(float(x))
    body = r" \\ ".join(" & ".join(r) for r in _rows(x))
    return r"\begin{bmatrix} " + body + r" \end{bmatrix}"


def value_mathml_inner(x: Any) -> str:
    """A number, or a bracketed ``<mtable>`` for a vector/matrix (inside a ``<math>``)."""
    if np.ndim(x) == 0:
        return _num_mathml(value_text(float(x)))
    rows = "".join("<mtr>" + "".join(f"<mtd>{_num_mathml(c)}</mtd>" for c in r) + "</mtr>" for r in _rows(x))
    return f"<mrow><mo>[</mo><mtable>{rows}</mtable><mo>]</mo></mrow>"


def _num_mathml(text: str) -> str:
    return f"<mrow><mo>−</mo><mn>{text[1:]}</mn></mrow>" if text.startswith("-") else f"<mn>{text}</mn>"


def shape_words(shape: tuple[int, ...]) -> str:
    """``(2, 3)`` -> ``2×3``; a vector ``(2,)`` -> ``2×1``; a number -> ``1×1``."""
    if not shape:
        return "1×1"
    return f"{shape[0]}×1" if len(shape) == 1 else f"{shape[0]}×{shape[1]}"


# ----------------------------------------------------------------------------- formulas

class _Printer:
    """One walk over an :class:`M` tree; the backend methods make LaTeX or MathML."""

    def __init__(self, name: Callable[[str], str], number: Callable[[sp.Rational], str],
                 paren: Callable[[str], str], op: Callable[[str], str], row: Callable[..., str],
                 frac: Callable[[str, str], str], sup: Callable[[str, str], str],
                 func: Callable[[str, list[str]], str]) -> None:
        self.name, self.number, self.paren, self.op, self.row = name, number, paren, op, row
        self.frac, self.sup, self.func = frac, sup, func

    def show(self, e: M) -> str:
        k = e.kind
        if k == "name":
            return self.name(str(e.value))
        if k == "num":
            c = sp.nsimplify(e.value)
            if c.is_Rational and not c.is_Integer:
                f = self.frac(self.number(sp.Integer(abs(c.p))), self.number(sp.Integer(c.q)))
                return self.row(self.op("-"), f) if c.p < 0 else f
            return self.number(c)
        if k == "neg":
            child = e.args[0]
            inner = self.show(child)
            return self.row(self.op("-"), self.paren(inner) if _PREC[child.kind] <= 1 else inner)
        if k == "T":
            return self.sup(self._atom(e.args[0]), self.op("⊤"))
        if k == "pow":
            return self.sup(self._atom(e.args[0]), self.show(e.args[1]))
        if k == "call":
            if e.value == "ones_like":
                return self.name("𝟏")
            return self.func(str(e.value), [self.show(a) for a in e.args])
        a, b = e.args
        if k == "div" and b.kind == "num" and a.shape != () and sp.nsimplify(b.value).is_Integer:
            # a vector or matrix over a number: the factor first, as textbooks write it (½ (p − y) vᵀ)
            one = self.frac(self.number(sp.Integer(1)), self.number(sp.nsimplify(b.value)))
            inner = self.show(a)
            return self.row(one, self.op(""), self.paren(inner) if _PREC[a.kind] <= 1 or a.kind == "neg" else inner)
        if k == "div":
            return self.frac(self.show(a), self.show(b))
        if k in ("add", "sub"):
            right = self.show(b)
            if _PREC[b.kind] <= 1 and k == "sub":
                right = self.paren(right)
            return self.row(self.show(a), self.op("+" if k == "add" else "-"), right)
        # products: matmul by juxtaposition, entrywise of two tensors with ⊙, a number by juxtaposition
        entrywise = k == "mul" and a.shape != () and b.shape != ()
        left, right = self._factor(a, e), self._factor(b, e)
        return self.row(left, self.op("⊙" if entrywise else ""), right)

    def _atom(self, e: M) -> str:
        text = self.show(e)
        return text if e.kind in ("name", "call") or (e.kind == "num" and sp.nsimplify(e.value).is_Integer
                                                      and e.value >= 0) else self.paren(text)

    def _factor(self, child: M, parent: M) -> str:
        text = self.show(child)
        if _PREC[child.kind] < 2 or (child.kind in ("mul", "matmul") and child.kind != parent.kind) or (
                child.kind == "neg"):
            return self.paren(text)
        return text


def _latex_func(fname: str, args: list[str]) -> str:
    op = _gate(fname)
    if op is not None and op.delimiters is not None:  # |x|
        return r"\left" + op.delimiters[0] + args[0] + r"\right" + op.delimiters[1]
    head = op.latex_head() if op else _FORMULA_ONLY_LATEX.get(fname, r"\operatorname{" + fname.replace("_", r"\_") + "}")
    return head + r"\left(" + ", ".join(args) + r"\right)"


_LATEX = _Printer(
    name=lambda n: r"\mathbf{1}" if n == "𝟏" else name_latex(n),
    number=lambda c: str(c),
    paren=lambda x: r"\left(" + x + r"\right)",
    op=lambda s: {"": "", "⊙": r"\odot", "⊤": r"\top"}.get(s, s),
    row=lambda *parts: " ".join(p for p in parts if p),
    frac=lambda a, b: r"\frac{" + a + "}{" + b + "}",
    sup=lambda base, exp: base + "^{" + exp + "}",
    func=_latex_func,
)


def _mathml_func(fname: str, args: list[str]) -> str:
    op = _gate(fname)
    if op is not None and op.delimiters is not None:  # |x|
        left, right = (html.escape(d) for d in op.delimiters)
        return f"<mrow><mo>{left}</mo>" + args[0] + f"<mo>{right}</mo></mrow>"
    head = f"<mi>{html.escape(op.text_head() if op else _FORMULA_ONLY_TEXT.get(fname, fname))}</mi>"
    inner = "<mo>,</mo>".join(args)
    return (f'<mrow>{head}<mo>&#x2061;</mo><mrow><mo stretchy="false">(</mo>{inner}<mo stretchy="false">)</mo>'
            "</mrow></mrow>")


_MATHML = _Printer(
    name=lambda n: "<mn>𝟏</mn>" if n == "𝟏" else name_mathml_inner(n),
    number=lambda c: f"<mn>{c}</mn>",
    paren=lambda x: f'<mrow><mo stretchy="false">(</mo>{x}<mo stretchy="false">)</mo></mrow>',
    op=lambda s: ("<mo>&#x2062;</mo>" if s == "" else '<mi mathvariant="normal">T</mi>' if s == "⊤"  # the T sits closer
                  else f"<mo>{'−' if s == '-' else s}</mo>"),
    row=lambda *parts: "<mrow>" + "".join(parts) + "</mrow>",
    frac=lambda a, b: f"<mfrac>{a}{b}</mfrac>",
    sup=lambda base, exp: f"<msup>{base}{exp}</msup>",
    func=_mathml_func,
)


def matrix_latex(e: M) -> str:
    """A matrix formula as LaTeX (see the module docstring)."""
    return _LATEX.show(e)


def matrix_mathml_inner(e: M) -> str:
    """A matrix formula as MathML (inside a ``<math>``)."""
    return _MATHML.show(e)


__all__ = ["matrix_latex", "matrix_mathml_inner", "value_latex", "value_mathml_inner", "name_latex",
           "name_mathml_inner", "shape_words", "entry_partial_latex", "entry_partial_mathml_inner", "assignment_latex"]
