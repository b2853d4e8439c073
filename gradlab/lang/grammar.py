"""What programs and formulas may say: the ``ast`` whitelist both languages share.

The program parser (:mod:`gradlab.lang.parse`) and the formula parsers (:mod:`gradlab.lang.expr`,
:mod:`gradlab.lang.tensor_expr`) read text with :func:`ast.parse` and walk the tree themselves; nothing is
evaluated. This module holds the rules they have in common, so that the two languages refuse the same
things with the same words:

* :func:`refused`: what a node that is not allowed is called (``lambda``, ``comprehensions``, ...);
* :func:`operator_text`: how an operator that is not allowed is written (``%``, ``^``);
* :func:`is_number`, :func:`not_a_number`: whether a constant is a number, and why not (a string, ``True``);
* :func:`call_arguments`: the rule for a call of a gate (how many arguments, a fold of two or more, and
  the constant parameter that may follow: ``leaky_relu(z, 0.2)``), read from the gate's op record.

>>> import ast
>>> refused(ast.parse("lambda x: x", mode="eval").body)
'lambda is not allowed'
>>> from gradlab.ops import OPS
>>> call_arguments(OPS["leaky_relu"], "leaky_relu", ["z", 0.2], lambda a: isinstance(a, float))
(['z'], 0.2)
"""

from __future__ import annotations

import ast
from typing import Any, Callable, Sequence, TypeGuard, TypeVar

from ..errors import ParseError
from ..ops import Op

_REFUSED: dict[type, str] = {
    ast.Attribute: "attribute access ('.') is not allowed",
    ast.Subscript: "indexing with [] is not allowed",
    ast.Slice: "slices are not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.JoinedStr: "strings are not allowed",
    ast.Compare: "comparisons are not allowed",
    ast.BoolOp: "'and'/'or' are not allowed",
    ast.IfExp: "'if ... else' is not allowed",
    ast.NamedExpr: "':=' is not allowed",
    ast.Starred: "'*' unpacking is not allowed",
    ast.Await: "'await' is not allowed",
    ast.Yield: "'yield' is not allowed",
    ast.YieldFrom: "'yield' is not allowed",
    ast.List: "lists are not allowed",
    ast.Tuple: "tuples are not allowed",
    ast.Dict: "dicts are not allowed",
    ast.Set: "sets are not allowed",
}
_OP_TEXT = {"BitXor": "^", "BitAnd": "&", "BitOr": "|", "Mod": "%", "FloorDiv": "//", "LShift": "<<",
            "RShift": ">>", "MatMult": "@", "Invert": "~", "Not": "not"}

A = TypeVar("A")


def refused(node: ast.AST) -> str:
    """What a node no program or formula may hold is called, as a clause: ``'lambda is not allowed'``."""
    return _REFUSED.get(type(node), f"'{type(node).__name__}' is not allowed")


def operator_text(op: ast.AST) -> str:
    """An operator as it is written (``%`` for ``ast.Mod``), with a hint where a student meant ``**``."""
    name = type(op).__name__
    hint = " (use ** for powers)" if name == "BitXor" else ""
    return f"'{_OP_TEXT.get(name, name)}'{hint}"


def is_number(value: Any) -> TypeGuard[int | float]:
    """A constant of the text that is a number: an int or a float (``True`` is none)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def not_a_number(value: Any) -> str:
    """Why a constant of the text is no number: ``'text'``, ``True``."""
    if isinstance(value, (str, bytes)):
        return "strings are not allowed; only numbers"
    return f"{type(value).__name__} values such as {value!r} are not allowed; only numbers"


def count_message(fname: str, arity: int, got: int, param_name: str | None = None) -> str:
    """``exp() takes exactly one argument, got 2`` (and its parameter, where the function has one)."""
    extra = f" (and its {param_name}, a number)" if param_name else ""
    return f"{fname}() takes {'exactly one argument' if arity == 1 else f'{arity} arguments'}{extra}, got {got}"


def call_arguments(op: Op, fname: str, args: Sequence[A], is_number: Callable[[A], bool]) -> tuple[list[A], Any]:
    """The arguments of a call of the gate ``op`` (called ``fname``) and the constant parameter it gives, or
    None where it gives none (the gate's default then holds). A variadic gate (``max``) takes two or more
    arguments, which the caller folds pair by pair; a gate with a parameter (``leaky_relu``'s slope) may
    take it as one more argument, which must be a number. A :class:`~gradlab.errors.ParseError` (without a
    place: the caller adds it) says what is wrong.

    >>> from gradlab.ops import OPS
    >>> call_arguments(OPS["leaky_relu"], "leaky_relu", ["z", "w"], lambda a: False)
    Traceback (most recent call last):
    ...
    gradlab.errors.ParseError: leaky_relu()'s last argument, its slope, must be a number
    """
    if op.variadic:
        if len(args) < 2:
            raise ParseError(f"{fname}() needs at least two arguments")
        return list(args), None
    if op.param_name and len(args) == op.arity + 1:
        if not is_number(args[-1]):
            raise ParseError(f"{fname}()'s last argument, its {op.param_name}, must be a number")
        return list(args[:-1]), args[-1]
    if len(args) != op.arity:
        raise ParseError(count_message(fname, op.arity, len(args), op.param_name))
    return list(args), None


__all__ = ["refused", "operator_text", "is_number", "not_a_number", "count_message", "call_arguments"]
