"""A module imported on first use: the op table names SymPy everywhere, and loads it only when a formula is made.

``sp = LazyModule("sympy")`` reads like ``import sympy as sp``; the import happens at the first ``sp.<name>``,
after which the names are the module's own (no indirection left on later look-ups). Type checkers see the
real module through ``if TYPE_CHECKING: import sympy as sp``.

>>> m = LazyModule("json")
>>> m.dumps([1, 2]), repr(m)
('[1, 2]', "<module 'json' (lazy)>")
"""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """A stand-in for the module ``name`` that imports it at its first attribute look-up."""

    def __init__(self, name: str) -> None:
        self._lazy_name = name

    def __getattr__(self, attr: str) -> Any:
        module = importlib.import_module(self._lazy_name)
        self.__dict__.update(vars(module))  # later look-ups find the names without coming here
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<module {self._lazy_name!r} (lazy)>"
