"""The operation table: every gate gradlab knows, each with its own local derivative.

An :class:`Op` carries four views of one gate, micrograd-style, side by side:

* ``sym(args, param)``: the SymPy expression of the gate in its argument symbols;
* ``partials(args, out, param)``: the local partial derivatives, one per argument,
  in textbook form (sigmoid' = out*(1 - out), tanh' = 1 - out**2, exp' = out);
* ``np_fn(args, param)``: the numpy forward (float64, vectorised over a batch);
* ``torch_fn(args, param)``: the torch forward, for an independent autograd check.

Gates with a constant operand (``x + 1``, ``-z``, ``1/x``, ``x**2``) are unary gates
that carry the constant in ``param``, so ``1/(1+exp(-z))`` decomposes into the
textbook's ``*-1``, ``exp``, ``+1``, ``1/x``.

>>> from gradlab.ops import OPS
>>> OPS["sigmoid"].label(None), OPS["rdiv_const"].label(1)
('σ', '1/x')
"""

from typing import TYPE_CHECKING, Any

from . import (
    activations,  # noqa: F401  (registers the activations beyond the classic gates)
    core,
    tensor,  # noqa: F401  (registers the vector and matrix gates: one table for every op)
)
from .core import *  # noqa: F403  (the table and its record; core.__all__ lists the names)

if TYPE_CHECKING:
    from .core import HEADS, NUMPY_NAMESPACE, SYMPY_NAMESPACE, relu, sigmoid, softplus  # noqa: F401

#: The names of :mod:`.core`, and those made on first use (SymPy's side: loaded by the first formula).
__all__ = [*core.__all__, *(name for name in core.LAZY_NAMES if name != "latex_call")]


def __getattr__(name: str) -> Any:
    """SymPy's side of the table (``HEADS``, ``SYMPY_NAMESPACE``, ``NUMPY_NAMESPACE``, ``sigmoid``, ...), made on
    first use: importing the op table loads no SymPy."""
    if name in core.LAZY_NAMES:
        return getattr(core, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
