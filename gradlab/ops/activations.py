"""The activations courses use beyond sigmoid, tanh, relu and softplus, each one op record.

They are added with :func:`gradlab.ops.register_op`, the way a user adds a gate of their own: one
record carries the SymPy formula (a SymPy function of :mod:`gradlab.ops.functions` with its own
derivative, so formulas say ``silu(z)``, not a page of exponentials; made on first use, so that
importing the table loads no SymPy), the numpy and torch forwards, the local partial in textbook
form, and the kink with its conventions where there is one. Parameters are constants given as a last argument:
``leaky_relu(x, 0.2)`` (default slope 0.01), ``elu(x, 0.5)`` (default alpha 1).

>>> from gradlab import gradients
>>> r = gradients("a = silu(w*x)", at={"w": 2.0, "x": 0.5})
>>> round(r.inputs["x"].grad, 6), r.ok
(1.855341, True)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .core import Op, OpDoc, as_sympy, np_erf, np_sigmoid, register_op, sympy_functions
from .lazy import LazyModule

if TYPE_CHECKING:
    import sympy as sp

    from .functions import elu, gelu, gelu_tanh, hardtanh, leaky_relu, silu, softsign  # noqa: F401  (__getattr__)
else:
    sp = LazyModule("sympy")  # loaded when a formula is made, not when the table is imported

_SQRT_2_PI = math.sqrt(2 / math.pi)
_GELU_C = 0.044715


def _torch() -> Any:
    import torch

    return torch


def _f() -> Any:
    return sympy_functions()  # gradlab.ops.functions, where each activation's SymPy function is


def _silu_partial(x: sp.Expr) -> sp.Expr:
    s = _f().sigmoid(x)
    return s * (1 + x * (1 - s))


def __getattr__(name: str) -> Any:
    """The activations' SymPy functions (``from gradlab.ops.activations import silu``), made on first use."""
    if name in ("silu", "softsign", "gelu", "gelu_tanh", "hardtanh", "leaky_relu", "elu"):
        return getattr(sympy_functions(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _np_gelu(x: np.ndarray) -> np.ndarray:
    return x * (1 + np_erf(x / math.sqrt(2))) / 2


def _np_gelu_tanh(x: np.ndarray) -> np.ndarray:
    return x * (1 + np.tanh(_SQRT_2_PI * (x + _GELU_C * x**3))) / 2


def _p(param: Any, default: float) -> float:
    return default if param is None else float(param)


def _sp_param(param: Any, default: float) -> sp.Expr:
    return as_sympy(default if param is None else param)


def _leaky_conventions(a: Any) -> dict[str, list[float]]:
    a = _p(a, 0.01)
    return {"sympy": [(1 + a) / 2], "torch": [a], "left": [a], "right": [1.0]}


def _elu_conventions(a: Any) -> dict[str, list[float]]:
    a = _p(a, 1.0)
    return {"sympy": [a], "torch": [a], "left": [a], "right": [1.0]}


register_op(Op("silu", 1, lambda a, p: _f().silu(a[0]), lambda a, o, p: [_silu_partial(a[0])],
               lambda a, p: a[0] * np_sigmoid(a[0]), lambda a, p: _torch().nn.functional.silu(a[0]),
               lambda p: "silu", "x*sigmoid(x), also called swish", call="silu", aliases=("swish", "SiLU"),
               activation=True,
               hint="a silu gate multiplies the upstream gradient by σ(x)·(1 + x·(1 − σ(x))), x being its input",
               table=OpDoc("`silu`", "`silu(a)` (also `swish`)", "a·σ(a)", "σ(a)·(1 + a·(1 − σ(a)))")))
register_op(Op("softsign", 1, lambda a, p: _f().softsign(a[0]), lambda a, o, p: [1 / (1 + sp.Abs(a[0])) ** 2],
               lambda a, p: a[0] / (1 + np.abs(a[0])), lambda a, p: _torch().nn.functional.softsign(a[0]),
               lambda p: "softsign", "x/(1 + |x|)", call="softsign", activation=True,
               hint="a softsign gate multiplies the upstream gradient by 1/(1 + |x|)², x being its input",
               table=OpDoc("`softsign`", "`softsign(a)`", "a/(1 + |a|)", "1/(1 + |a|)²")))
register_op(Op("gelu", 1, lambda a, p: _f().gelu(a[0]),
               lambda a, o, p: [(1 + sp.erf(a[0] / sp.sqrt(2))) / 2 + a[0] * sp.exp(-a[0] ** 2 / 2) / sp.sqrt(2 * sp.pi)],
               lambda a, p: _np_gelu(np.asarray(a[0], dtype=float)),
               lambda a, p: _torch().nn.functional.gelu(a[0]), lambda p: "GELU",
               "x*Phi(x), Phi the normal distribution function", call="gelu", aliases=("GELU",), latex=r"\operatorname{GELU}",
               text="GELU", activation=True,
               hint="a GELU gate multiplies the upstream gradient by Φ(x) + x·φ(x), x being its input",
               table=OpDoc("`GELU`", "`gelu(a)`", "a·Φ(a) = a·(1 + erf(a/√2))/2", "Φ(a) + a·e^(−a²/2)/√(2π)")))
register_op(Op("gelu_tanh", 1, lambda a, p: _f().gelu_tanh(a[0]), lambda a, o, p: [_f().gelu_tanh(a[0]).fdiff()],
               lambda a, p: _np_gelu_tanh(np.asarray(a[0], dtype=float)),
               lambda a, p: _torch().nn.functional.gelu(a[0], approximate="tanh"), lambda p: "GELU≈",
               "GELU's tanh approximation", call="gelu_tanh", latex=r"\operatorname{GELU_{tanh}}", activation=True,
               hint=("a GELU≈ gate multiplies the upstream gradient by the "
                     "derivative of its tanh approximation at its input"),
               table=OpDoc("`GELU≈`", "`gelu_tanh(a)` (tanh approximation)", "a·(1 + tanh(√(2/π)·(a + 0.044715a³)))/2",
                           "(1 + t)/2 + a·(1 − t²)·√(2/π)·(1 + 0.134145a²)/2")))
register_op(Op("hardtanh", 1, lambda a, p: _f().hardtanh(a[0]),
               lambda a, o, p: [sp.Heaviside(a[0] + 1) * sp.Heaviside(1 - a[0])],
               lambda a, p: np.clip(a[0], -1.0, 1.0), lambda a, p: _torch().nn.functional.hardtanh(a[0]),
               lambda p: "hardtanh", "x clipped to [-1, 1]", call="hardtanh", activation=True, saturation=1.0,
               kink_distance=lambda a, p: np.minimum(np.abs(a[0] - 1), np.abs(a[0] + 1)),
               # at x = 1; at x = -1 the one-sided slopes swap (left 0, right 1)
               kink_conventions={"sympy": [0.5], "torch": [0.0], "left": [1.0], "right": [0.0]},
               hint=("a hardtanh gate passes the upstream gradient where its input "
                     "is between −1 and 1 and blocks it (0) outside"),
               table=OpDoc("`hardtanh`", "`hardtanh(a)`", "a clipped to [−1, 1]", "H(a + 1)·H(1 − a)",
                           "kinks at a = ±1")))
register_op(Op("leaky_relu", 1, lambda a, p: _f().leaky_relu(a[0], _sp_param(p, 0.01)),
               lambda a, o, p: [_sp_param(p, 0.01) + (1 - _sp_param(p, 0.01)) * sp.Heaviside(a[0])],
               lambda a, p: np.where(a[0] > 0, a[0], _p(p, 0.01) * a[0]),
               lambda a, p: _torch().nn.functional.leaky_relu(a[0], _p(p, 0.01)),
               lambda p: "lrelu" if p is None or float(p) == 0.01 else f"lrelu {float(p):g}",
               "x above 0, slope*x below (slope: 0.01)", call="leaky_relu", aliases=("LeakyReLU", "lrelu"),
               activation=True, param_name="slope", param_default=0.01,
               kink_distance=lambda a, p: np.abs(a[0]), kink_conventions=_leaky_conventions,
               hint=("a leaky relu gate passes the upstream gradient where its input is "
                     "positive and multiplies it by the slope where it is negative"),
               table=OpDoc("`lrelu`", "`leaky_relu(a)`, `leaky_relu(a, 0.2)` (slope, default 0.01)",
                           "a above 0, slope·a below", "slope + (1 − slope)·H(a)", "kink at a = 0")))
register_op(Op("elu", 1, lambda a, p: _f().elu(a[0], _sp_param(p, 1.0)),
               lambda a, o, p: [sp.Piecewise((1, a[0] > 0), (_sp_param(p, 1.0) * sp.exp(a[0]), True))],
               lambda a, p: np.where(a[0] > 0, a[0], _p(p, 1.0) * np.expm1(np.minimum(a[0], 0.0))),
               lambda a, p: _torch().nn.functional.elu(a[0], _p(p, 1.0)),
               lambda p: "ELU" if p is None or float(p) == 1.0 else f"ELU {float(p):g}",
               "x above 0, alpha*(exp(x) - 1) below (alpha: 1)", call="elu", aliases=("ELU",),
               latex=r"\operatorname{ELU}", text="ELU", activation=True, param_name="alpha", param_default=1.0,
               kink_distance=lambda a, p: np.abs(a[0]) if _p(p, 1.0) != 1.0 else np.full(np.shape(a[0]), np.inf),
               kink_conventions=_elu_conventions,
               hint=("an ELU gate passes the upstream gradient where its input is positive "
                     "and multiplies it by alpha·eˣ where it is negative"),
               table=OpDoc("`ELU`", "`elu(a)`, `elu(a, 0.5)` (alpha, default 1)", "a above 0, alpha·(eᵃ − 1) below",
                           "1 above 0, alpha·eᵃ below", "kink at a = 0 unless alpha = 1")))
