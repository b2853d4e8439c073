"""Programs with vectors and matrices: the one program parser, :mod:`gradlab.parse`, under its old name.

A tensor program is a program with shape declarations (``x: (3,)``), ``@``, ``.T`` or tensor functions;
:mod:`gradlab.parse` reads both kinds (a scalar program is the case without shapes).

>>> parse_tensor_program("x: (3,); f = x.T @ x").shape("f")
()
"""

from __future__ import annotations

from .parse import DOMAIN_CALLS, looks_like_tensor_program, parse_tensor_program, shapes_of
from .parse import ProgramParser as TensorProgramParser

__all__ = ["TensorProgramParser", "parse_tensor_program", "looks_like_tensor_program", "shapes_of", "DOMAIN_CALLS"]
