"""gradlab's own SymPy functions: the heads of its gates' formulas (``sigmoid(z)``, ``relu(z)``, ``silu(z)``).

Each knows its derivative, so formulas say ``silu(z)``, not a page of exponentials. This module is the op
table's SymPy side: :mod:`gradlab.ops` imports it on first use (:func:`gradlab.ops.sympy_functions`), so
that importing the op table or the graph model loads no SymPy. It imports nothing of gradlab's; the op
table tells it each function's LaTeX head (:data:`latex_head_of`).

>>> import sympy as sp
>>> z = sp.Symbol("z", real=True)
>>> sigmoid(z).diff(z), relu(-2), sp.latex(silu(z))
((1 - sigmoid(z))*sigmoid(z), 0, '\\\\operatorname{silu}\\\\left(z\\\\right)')
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import sympy as sp

_GELU_C = 0.044715


def latex_call(head: str, printer: Any, args: Sequence[sp.Expr], exp: Any = None) -> str:
    """A function's application in LaTeX, ``head`` already LaTeX: ``\\sigma\\left(z\\right)``, with a power."""
    power = "" if exp is None else "^{%s}" % exp
    return r"%s%s\left(%s\right)" % (head, power, ", ".join(printer._print(a) for a in args))


def _no_head(cls: type) -> str | None:
    return None


#: The LaTeX head of a function class as its gate's record gives it (``Op.latex_head``), or None for
#: ``\operatorname{name}``: set by the op table when it loads this module.
latex_head_of: Callable[[type], str | None] = _no_head


# --------------------------------------------------------------------------- the classic gates


class sigmoid(sp.Function):
    """The logistic function 1/(1+exp(-x)); its derivative is sigmoid(x)*(1 - sigmoid(x))."""

    is_real = True

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        s = sigmoid(self.args[0])
        return s * (1 - s)

    @classmethod
    def eval(cls, x: sp.Expr) -> sp.Expr | None:
        if x.is_zero:
            return sp.Rational(1, 2)
        return None

    def _eval_rewrite_as_exp(self, x: sp.Expr, **kwargs: Any) -> sp.Expr:
        return 1 / (1 + sp.exp(-x))

    def _eval_evalf(self, prec: int) -> sp.Expr:  # a number: sigmoid(1) is comparable, so max(sigmoid(1), u) works
        return (1 / (1 + sp.exp(-self.args[0])))._eval_evalf(prec)

    def _eval_is_positive(self) -> bool | None:
        return True if self.args[0].is_real else None

    def _latex(self, printer: Any, exp: Any = None) -> str:
        return latex_call(r"\sigma", printer, self.args, exp)


class relu(sp.Function):
    """max(x, 0); its derivative is Heaviside(x), with SymPy's Heaviside(0) = 1/2."""

    is_real = True

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.Heaviside(self.args[0])

    @classmethod
    def eval(cls, x: sp.Expr) -> sp.Expr | None:
        if x.is_number:
            return sp.Max(x, 0)
        if x.is_nonnegative:
            return x
        if x.is_nonpositive:
            return sp.Integer(0)
        return None

    def _eval_rewrite_as_Max(self, x: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.Max(x, 0)

    _eval_rewrite_as_exp = _eval_rewrite_as_Max

    def _latex(self, printer: Any, exp: Any = None) -> str:
        return latex_call(r"\operatorname{relu}", printer, self.args, exp)


class softplus(sp.Function):
    """log(1 + exp(x)); its derivative is sigmoid(x)."""

    is_real = True

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, x: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.log(1 + sp.exp(x))

    def _eval_evalf(self, prec: int) -> sp.Expr:  # a number: softplus(1) is comparable, so max(softplus(1), u) works
        return sp.log(1 + sp.exp(self.args[0]))._eval_evalf(prec)

    def _latex(self, printer: Any, exp: Any = None) -> str:
        return latex_call(r"\operatorname{softplus}", printer, self.args, exp)


# --------------------------------------------------------------------------- the activations of gradlab.ops.activations


class _Activation(sp.Function):
    """A SymPy function that prints as its name and evaluates through its closed form (``closed``)."""

    is_real = True

    @staticmethod
    def closed(*args: sp.Expr) -> sp.Expr:
        raise NotImplementedError

    def _eval_evalf(self, prec: int) -> sp.Expr:
        return self.closed(*self.args)._eval_evalf(prec)

    def _eval_rewrite_as_exp(self, *args: sp.Expr, **kwargs: Any) -> sp.Expr:
        return self.closed(*args)

    def _latex(self, printer: Any, exp: Any = None) -> str:  # the head its op record gives (Op.latex_head)
        head = latex_head_of(type(self)) or r"\operatorname{%s}" % type(self).__name__.replace("_", r"\_")
        return latex_call(head, printer, self.args, exp)


class silu(_Activation):
    """x*sigmoid(x) (swish with beta 1); its derivative is sigmoid(x)*(1 + x*(1 - sigmoid(x)))."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x = self.args[0]
        return sigmoid(x) * (1 + x * (1 - sigmoid(x)))

    @staticmethod
    def closed(x: sp.Expr) -> sp.Expr:
        return x / (1 + sp.exp(-x))


class softsign(_Activation):
    """x/(1 + |x|); its derivative is 1/(1 + |x|)**2."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return 1 / (1 + sp.Abs(self.args[0])) ** 2

    @staticmethod
    def closed(x: sp.Expr) -> sp.Expr:
        return x / (1 + sp.Abs(x))


class gelu(_Activation):
    """x*Phi(x) = x*(1 + erf(x/sqrt(2)))/2; its derivative is Phi(x) + x*phi(x)."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x = self.args[0]
        return (1 + sp.erf(x / sp.sqrt(2))) / 2 + x * sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)

    @staticmethod
    def closed(x: sp.Expr) -> sp.Expr:
        return x * (1 + sp.erf(x / sp.sqrt(2))) / 2


def _gelu_tanh_inner(x: Any) -> Any:
    return sp.sqrt(2 / sp.pi) * (x + sp.Float(_GELU_C) * x**3)


class gelu_tanh(_Activation):
    """The tanh approximation of GELU: x*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x**3)))/2."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x = self.args[0]
        t = sp.tanh(_gelu_tanh_inner(x))
        return (1 + t) / 2 + x * (1 - t**2) * sp.sqrt(2 / sp.pi) * (1 + 3 * sp.Float(_GELU_C) * x**2) / 2

    @staticmethod
    def closed(x: sp.Expr) -> sp.Expr:
        return x * (1 + sp.tanh(_gelu_tanh_inner(x))) / 2


class hardtanh(_Activation):
    """x clipped to [-1, 1]; its derivative is 1 inside, 0 outside (1/2 on the edges, as Heaviside(0))."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x = self.args[0]
        return sp.Heaviside(x + 1) * sp.Heaviside(1 - x)

    @staticmethod
    def closed(x: sp.Expr) -> sp.Expr:
        return sp.Max(-1, sp.Min(1, x))


class leaky_relu(_Activation):
    """leaky_relu(x, a) = x for x > 0, a*x below; its derivative is a + (1 - a)*Heaviside(x)."""

    nargs = (2,)

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x, a = self.args
        if argindex == 2:
            return sp.Min(x, 0)
        return a + (1 - a) * sp.Heaviside(x)

    @staticmethod
    def closed(x: sp.Expr, a: sp.Expr) -> sp.Expr:
        return sp.Max(x, 0) + a * sp.Min(x, 0)


class elu(_Activation):
    """elu(x, alpha) = x for x > 0, alpha*(exp(x) - 1) below; derivative 1 above 0, alpha*exp(x) below."""

    nargs = (2,)

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x, a = self.args
        if argindex == 2:
            return sp.Piecewise((0, x > 0), (sp.exp(x) - 1, True))
        return sp.Piecewise((1, x > 0), (a * sp.exp(x), True))

    @staticmethod
    def closed(x: sp.Expr, a: sp.Expr) -> sp.Expr:
        return sp.Piecewise((x, x > 0), (a * (sp.exp(x) - 1), True))


#: The functions of the classic gates (:mod:`gradlab.ops.core`) and of the activations (:mod:`gradlab.ops.activations`).
CORE = ("sigmoid", "relu", "softplus")
ACTIVATIONS = ("silu", "softsign", "gelu", "gelu_tanh", "hardtanh", "leaky_relu", "elu")
