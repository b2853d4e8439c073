"""Matrix formulas typed by people: ``(p - y) @ v.T / 2``, read without ``eval``.

:class:`MatrixExpressionParser` is :class:`gradlab.lang.expr.ExpressionParser` with ``@``, ``.T``
(the one attribute it admits), and functions of vectors and matrices (``sum``, ``mean``,
``softmax``, ``log_softmax``, ``cross_entropy``, ``outer``, ``transpose``, ``ones_like``) beside
every scalar function, applied entry by entry. Names stand for nodes of a graph. The same text
is read two ways:

* ``symbolic``: every entry a SymPy expression in the entry symbols (``p_1 - y_1``), exact
  (``0.5`` is ``1/2``);
* numeric: float arrays with leading batch axes, many points at once.

Shapes follow :mod:`gradlab.ops.tensor` (column vectors), and a shape error names both sides.
A name such as ``p_1`` or ``B_1_2`` is one entry (1-based).

``lenient=True`` reads what students write on paper, on top of the scalar parser's lenient
syntax (``^``, ``σ``, ``2w0``, unicode minus): ``v^T``, ``v^{T}``, ``vᵀ``, ``v^⊤`` and ``v'`` for the
transpose, ``⊙`` or ``∘`` for the entrywise product, and juxtaposition (or ``·``) for a product:
the matrix product of two vectors or matrices (``(p - y) v^T``, ``B^T (p - y)``), an ordinary
product where one side is a number (``0.5 (p - y)``).

>>> import numpy as np, sympy as sp
>>> from gradlab.engine.tensor_symbolic import entry_symbols
>>> names = {n: Tensor(entry_symbols(n, s), s) for n, s in [("p", (2,)), ("y", (2,)), ("v", (3,))]}
>>> t = parse_matrix_expression("(p - y) @ v.T / 2", names)
>>> t.shape, t.data[1, 2]
((2, 3), v_3*(p_2 - y_2)/2)
>>> parse_matrix_expression("(p − y)vᵀ/2", names, lenient=True).data[1, 2]
v_3*(p_2 - y_2)/2
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np
import sympy as sp

from ..errors import GradlabError, Location, ParseError, ShapeError
from ..ops import OPS, DerivedTable, as_sympy
from ..ops.tensor import (
    TENSOR_FUNCTIONS,
    TENSOR_OPS,
    Shape,
    forward_values,
    is_symbolic,
    result_shape,
    shape_text,
    transpose_shape,
)
from .expr import FORMULA_ONLY, LENIENT_FUNCTIONS, ExpressionParser, Limits, gate_formula
from .expr import FUNCTIONS as SCALAR_FUNCTIONS
from .expr import normalise as scalar_normalise
from .grammar import count_message

#: Scalar functions applied entry by entry: call name -> its gate in OPS (every gate with a call name, one a
#: user registered too), or None for a function of formulas only (``tan``, ``sign``, ``Heaviside``, ``erf``).
ELEMENTWISE: Mapping[str, str | None] = DerivedTable(
    lambda: {**{op.call: op.name for op in OPS.values() if op.call}, **{name: None for name in FORMULA_ONLY}})
ENTRY_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_]*?)_(\d+)(?:_(\d+))?$")
#: The operator a lenient formula's implicit products are written with before parsing: ``%``,
#: which binds like ``*`` and ``@`` and which a formula may not use itself.
IMPLICIT = "%"
#: Lenient spellings of the transpose (``v^T``, ``v^{T}``, ``vᵀ``, ``v^⊤``, ``v'``) and of products.
_TRANSPOSE = [
    re.compile(r"\^\s*[{(]\s*[T⊤]\s*[})]"),
    re.compile(r"\^\s*[T⊤](?![A-Za-z0-9_])"),
    re.compile(r"\*\*\s*T(?![A-Za-z0-9_])"),
    re.compile(r"[ᵀ⊤]"),
    re.compile(r"(?<=[A-Za-z0-9_)\]])'"),  # v' (only when every quote follows a name or a bracket)
]
_QUOTE_OK = re.compile(r"^(?:[^'\"]|(?<=[A-Za-z0-9_)\]])')*$")
_HADAMARD = str.maketrans({"⊙": "*", "∘": "*", "◦": "*"})
_JUXTAPOSE = str.maketrans({"·": " ", "⋅": " ", "∙": " ", "×": " ", "½": " (1/2) "})


@dataclass
class Tensor:
    """A value in a formula: ``data`` (object array of SymPy entries, or floats with batch axes) and its shape."""

    data: Any
    shape: Shape
    text: str = ""

    @property
    def symbolic(self) -> bool:
        return is_symbolic(self.data)

    # arithmetic (numbers become 0-d tensors) ---------------------------------------------
    def _coerce(self, other: Any) -> "Tensor":
        if isinstance(other, Tensor):
            return other
        if self.symbolic:
            a = np.empty((), dtype=object)
            a[()] = as_sympy(other)
            return Tensor(a, (), _num_text(other))
        return Tensor(np.asarray(float(other)), (), _num_text(other))

    def _binary(self, op: str, other: Any, reverse: bool = False) -> "Tensor":
        o = self._coerce(other)
        a, b = (o, self) if reverse else (self, o)
        sym = a.symbolic or b.symbolic
        if sym:
            a, b = _as_symbolic(a), _as_symbolic(b)
        names = [_paren(a.text) or "the left side", _paren(b.text) or "the right side"]
        out = result_shape(op, [a.shape, b.shape], None, names)
        data = forward_values(op, [a.data, b.data], [a.shape, b.shape], None, out)
        return Tensor(data, out)

    def __add__(self, o: Any) -> "Tensor":
        return self._binary("add", o)

    def __radd__(self, o: Any) -> "Tensor":
        return self._binary("add", o, True)

    def __sub__(self, o: Any) -> "Tensor":
        return self._binary("sub", o)

    def __rsub__(self, o: Any) -> "Tensor":
        return self._binary("sub", o, True)

    def __mul__(self, o: Any) -> "Tensor":
        return self._binary("mul", o)

    def __rmul__(self, o: Any) -> "Tensor":
        return self._binary("mul", o, True)

    def __truediv__(self, o: Any) -> "Tensor":
        return self._binary("div", o)

    def __rtruediv__(self, o: Any) -> "Tensor":
        return self._binary("div", o, True)

    def __pow__(self, o: Any) -> "Tensor":
        if not isinstance(o, Tensor):
            p = as_sympy(o) if self.symbolic else float(o)
            data = forward_values("pow_const", [self.data], [self.shape], p, self.shape)
            return Tensor(data, self.shape)
        return self._binary("pow", o)

    def __rpow__(self, o: Any) -> "Tensor":
        return self._binary("pow", o, True)

    def __neg__(self) -> "Tensor":
        return Tensor(forward_values("neg", [self.data], [self.shape], None, self.shape), self.shape)

    def __matmul__(self, o: Any) -> "Tensor":
        if not isinstance(o, Tensor) or self.shape == () or o.shape == ():
            raise ShapeError(f"@ multiplies vectors and matrices, not numbers ({self.text or 'left'} @ "
                             f"{getattr(o, 'text', '') or _num_text(o)}); use * to multiply by a number")
        a, b = (_as_symbolic(self), _as_symbolic(o)) if self.symbolic or o.symbolic else (self, o)
        out = result_shape("matmul", [a.shape, b.shape], None,
                           [_paren(a.text) or "the left side", _paren(b.text) or "the right side"])
        return Tensor(forward_values("matmul", [a.data, b.data], [a.shape, b.shape], None, out), out)

    @property
    def T(self) -> "Tensor":
        return Tensor(forward_values("transpose", [self.data], [self.shape], None, transpose_shape(self.shape)),
                      transpose_shape(self.shape))


def _paren(text: str) -> str:
    """A sub-formula as a message shows it: in brackets unless it is one name or number."""
    return text if not text or re.fullmatch(r"[\w.]+", text) else f"({text})"


def _num_text(x: Any) -> str:
    return str(x)


def _as_symbolic(t: Tensor) -> Tensor:
    if t.symbolic:
        return t
    a = np.empty(np.shape(t.data), dtype=object)
    for idx in np.ndindex(*np.shape(t.data)):
        a[idx] = sp.nsimplify(float(t.data[idx]), rational=True)
    return Tensor(a, t.shape, t.text)


class MatrixExpressionParser(ExpressionParser):
    """:class:`~gradlab.lang.expr.ExpressionParser` for formulas over vectors and matrices (module docstring).

    ``names`` maps each name to a :class:`Tensor` (or a SymPy expression / float array for a number).
    """

    def __init__(self, names: Mapping[str, Any], *, symbolic: bool, lenient: bool = False,
                 limits: Limits = Limits(), entries: Mapping[str, Any] | None = None) -> None:
        super().__init__({}, lenient=lenient, unknown_names=False, limits=limits, rational=symbolic)
        self.tensors = dict(names)
        self.symbolic = symbolic
        self.entries: Mapping[str, Any] = entries if entries is not None else {}
        self.source = ""
        self.uses_entries = False

    def parse(self, text: str) -> Any:
        self.source = text
        return super().parse(text)

    def normalise(self, text: str) -> str:
        """The lenient rewrite (module docstring): transposes, ``⊙``, and implicit products as :data:`IMPLICIT`."""
        if IMPLICIT in text:
            raise ParseError(f"the operator '{IMPLICIT}' is not allowed; use numbers, names, + - * / ** @ and .T")
        for i, pattern in enumerate(_TRANSPOSE):
            if i < 3 and "T" in self.tensors:
                continue  # a node called T: v^T is a power
            if i == 4 and not _QUOTE_OK.match(text):
                continue  # quotes of a string: left for the parser to refuse
            text = pattern.sub(".T", text)
        text = text.translate(_HADAMARD).translate(_JUXTAPOSE).replace("{", "(").replace("}", ")")
        funcs = set(SCALAR_FUNCTIONS) | set(LENIENT_FUNCTIONS) | set(TENSOR_FUNCTIONS) | {"ones_like"}
        self.source = scalar_normalise(text, function_names=funcs, product=IMPLICIT)  # what the ast positions refer to
        return self.source

    # names, with their text for messages --------------------------------------------------
    def build(self, node: ast.expr) -> Any:
        value = super().build(node)
        if isinstance(value, Tensor) and not value.text:
            seg = ast.get_source_segment(self.source.strip(), node)
            value.text = (seg or "").replace(IMPLICIT, " ")  # lenient: as read, an implicit product a space
        return value

    def name(self, node: ast.Name) -> Any:
        n = node.id
        if n in self.tensors:
            t = self.tensors[n]
            if isinstance(t, Tensor):
                return Tensor(t.data, t.shape, n)
            data = np.empty((), dtype=object) if self.symbolic else np.asarray(t, dtype=np.float64)
            if self.symbolic:
                data[()] = t
            return Tensor(data, (), n)
        if n in self.entries:
            self.uses_entries = True
            e = self.entries[n]
            data = np.empty((), dtype=object) if self.symbolic else np.asarray(e, dtype=np.float64)
            if self.symbolic:
                data[()] = e
            return Tensor(data, (), n)
        m = ENTRY_RE.match(n)
        if m and m.group(1) in self.tensors:
            t = self.tensors[m.group(1)]
            raise self.fail(f"'{n}' is not an entry of {m.group(1)} ({shape_text(t.shape)}); entries count from 1",
                            node)
        if self.lenient and n in ("e", "pi"):
            return self._coerce_const(sp.E if n == "e" else sp.pi)
        if n in SCALAR_FUNCTIONS or n in TENSOR_FUNCTIONS:
            raise self.fail(f"'{n}' is a function; call it: {n}(...)", node)
        known = ", ".join(self.tensors) or "none"
        raise self.fail(f"unknown name '{n}'; the formula may use: {known}", node)

    def _coerce_const(self, c: sp.Expr) -> Any:
        return c if self.symbolic else float(c)

    def constant(self, node: ast.Constant) -> Any:
        c = super().constant(node)
        return c if self.symbolic else float(c)

    # operators ------------------------------------------------------------------------------
    def binop(self, node: ast.BinOp, a: Any, b: Any) -> Any:
        if isinstance(node.op, ast.Mod) and self.lenient:  # an implicit product (see normalise)
            if isinstance(a, Tensor) and isinstance(b, Tensor) and a.shape != () and b.shape != ():
                node = ast.copy_location(ast.BinOp(left=node.left, op=ast.MatMult(), right=node.right), node)
            else:
                node = ast.copy_location(ast.BinOp(left=node.left, op=ast.Mult(), right=node.right), node)
        if isinstance(node.op, ast.MatMult):
            if not isinstance(a, Tensor) or not isinstance(b, Tensor):
                raise ShapeError("@ multiplies vectors and matrices, not numbers; use * to multiply by a number",
                                 Location(col=node.col_offset + 1))
            return self._shape_checked(lambda: a @ b, node)
        if isinstance(node.op, ast.Div) and not isinstance(b, Tensor) and getattr(as_sympy(b), "is_zero", False):
            raise self.fail("division by zero", node)
        if not isinstance(a, Tensor) and not isinstance(b, Tensor):
            return super().binop(node, a, b)
        return self._shape_checked(lambda: super(MatrixExpressionParser, self).binop(node, a, b), node)

    def binop_pow(self, base: Any, exponent: Any) -> Any:
        if isinstance(exponent, float) and abs(exponent) > self.limits.max_exponent:  # numeric mode: no SymPy check
            raise ParseError(f"the exponent {exponent:g} is too large (at most {self.limits.max_exponent} in absolute "
                             "value)")
        return base ** exponent

    def _shape_checked(self, fn: Callable[[], Any], node: ast.AST) -> Any:
        try:
            return fn()
        except ShapeError as e:
            raise ShapeError(e.message, Location(col=getattr(node, "col_offset", -1) + 1)) from None

    def attribute(self, node: ast.Attribute) -> Any:
        if node.attr != "T":
            raise self.fail(f"attribute access ('.') is not allowed (only .T, the transpose; got .{node.attr})", node)
        v = self.build(node.value)
        return v.T if isinstance(v, Tensor) else v

    def call(self, node: ast.Call) -> Any:
        func = node.func
        if not isinstance(func, ast.Name):
            raise self.fail("only known functions can be called, by name", node)
        fname = func.id
        if self.lenient:
            fname = LENIENT_FUNCTIONS.get(fname, fname)
        if fname == "ones_like":
            if len(node.args) != 1 or node.keywords:
                raise self.fail("ones_like(x) takes one argument", node)
            v = self.build(node.args[0])
            shape = v.shape if isinstance(v, Tensor) else ()
            return self._ones(shape)
        if fname in TENSOR_FUNCTIONS:
            return self._shape_checked(lambda: self.tensor_call(fname, node), node)
        if fname in ELEMENTWISE:
            if node.keywords:
                raise self.fail(f"{fname}() takes no keyword arguments", node)
            args = [self.build(a) for a in node.args]
            gate = self.gate_of(fname)
            param = None
            if gate is None:  # a function of formulas only (tan, erf): one argument
                if len(args) != FORMULA_ONLY[fname].arity:
                    raise self.fail(count_message(fname, FORMULA_ONLY[fname].arity, len(args)), node)
            else:  # the rule programs and scalar formulas follow: leaky_relu(z, 0.2), max(a, b, c)
                args, param = self.gate_arguments(gate, fname, args, node)
            if gate is not None and gate.variadic:
                acc = args[0]
                for b in args[1:]:
                    acc = self._entrywise(fname, [acc, b], None, node)
                return acc
            return self._entrywise(fname, args, param, node)
        known = sorted(set(ELEMENTWISE) | set(TENSOR_FUNCTIONS) | {"ones_like"})
        raise self.fail(f"unknown function '{func.id}'; known functions: {', '.join(known)}", node)

    def _entrywise(self, fname: str, args: list[Any], param: Any, node: ast.Call) -> Any:
        """A scalar function of numbers, or of vectors and matrices entry by entry."""
        if not any(isinstance(a, Tensor) for a in args):
            if self.symbolic:
                gate = self.gate_of(fname)
                builder = FORMULA_ONLY[fname].sympy if gate is None else \
                    (lambda *a: gate_formula(gate, list(a), param))
                return super().apply(fname, builder, args, node)
            return self._numeric_scalar(fname, args, param)
        return self._shape_checked(lambda: self.elementwise(fname, args, param), node)

    def _ones(self, shape: Shape) -> Tensor:
        if self.symbolic:
            a = np.empty(shape, dtype=object)
            a[...] = sp.Integer(1)
            return Tensor(a, shape, "ones")
        return Tensor(np.ones(shape), shape, "ones")

    def _numeric_scalar(self, fname: str, args: list[Any], param: Any = None) -> float:
        t = self.elementwise(fname, [Tensor(np.asarray(float(a)), ()) for a in args], param)
        return float(t.data)

    def elementwise(self, fname: str, args: list[Any], param: Any = None) -> Tensor:
        ts = [a if isinstance(a, Tensor) else (Tensor(np.asarray(float(a)), ()) if not self.symbolic else
                                               Tensor(_obj(as_sympy(a)), ())) for a in args]
        if self.symbolic:
            ts = [_as_symbolic(t) for t in ts]
        op = ELEMENTWISE[fname]
        if op is not None:
            names = [t.text or f"argument {i + 1}" for i, t in enumerate(ts)]
            out = result_shape(op, [t.shape for t in ts], param, names)
            if param is not None:
                param = as_sympy(param) if self.symbolic else float(param)
            return Tensor(forward_values(op, [t.data for t in ts], [t.shape for t in ts], param, out), out)
        sym_fn, np_fn = FORMULA_ONLY[fname].sympy, FORMULA_ONLY[fname].numpy
        (t,) = ts
        if self.symbolic:
            data = np.frompyfunc(sym_fn, 1, 1)(t.data)
            return Tensor(np.asarray(data, dtype=object), t.shape)
        with np.errstate(all="ignore"):
            return Tensor(np.asarray(np_fn(t.data), dtype=np.float64), t.shape)

    def tensor_call(self, fname: str, node: ast.Call) -> Tensor:
        op_name, arity = TENSOR_FUNCTIONS[fname]
        takes_axis = TENSOR_OPS[op_name].axis
        args_ast = list(node.args)
        if node.keywords:
            if takes_axis and [k.arg for k in node.keywords] == ["axis"]:
                args_ast.append(node.keywords[0].value)
            else:
                raise self.fail(f"{fname}() takes no keyword arguments", node)
        param = None
        if takes_axis and len(args_ast) == 2:
            ax = args_ast.pop()
            if not (isinstance(ax, ast.Constant) and isinstance(ax.value, (int, float)) and ax.value in (0, 1)
                    and not isinstance(ax.value, bool)):
                raise self.fail(f"the axis of {fname}(X, axis) is 0 (down the columns) or 1 (along the rows)", ax)
            param = int(ax.value)
        if len(args_ast) != arity:
            raise self.fail(f"{fname}() takes {arity} argument{'s' * (arity != 1)}, got {len(args_ast)}", node)
        args = [self.build(a) for a in args_ast]
        ts = [a if isinstance(a, Tensor) else self._scalar_tensor(a) for a in args]
        if self.symbolic:
            ts = [_as_symbolic(t) for t in ts]
        out = result_shape(op_name, [t.shape for t in ts], param)
        return Tensor(forward_values(op_name, [t.data for t in ts], [t.shape for t in ts], param, out), out)

    def _scalar_tensor(self, a: Any) -> Tensor:
        return Tensor(_obj(as_sympy(a)), ()) if self.symbolic else Tensor(np.asarray(float(a)), ())


def _obj(x: Any) -> np.ndarray:
    a = np.empty((), dtype=object)
    a[()] = x
    return a


def parse_matrix_expression(text: str, names: Mapping[str, Any], *, symbolic: bool = True, lenient: bool = False,
                            entries: Mapping[str, Any] | None = None, limits: Limits = Limits()) -> Tensor:
    """Read a formula over vectors and matrices (see the module docstring); always a :class:`Tensor`.

    ``limits`` caps the formula's size before anything is built (:class:`gradlab.lang.expr.Limits`)."""
    p = MatrixExpressionParser(names, symbolic=symbolic, lenient=lenient, entries=entries, limits=limits)
    try:
        v = p.parse(text)
    except RecursionError:  # pragma: no cover - the size limits come first
        raise ParseError("the formula is nested too deeply") from None
    except (ZeroDivisionError, OverflowError) as e:
        raise GradlabError(f"the formula cannot be evaluated: {e}") from None
    if not isinstance(v, Tensor):
        v = p._scalar_tensor(v)
    v.uses_entries = p.uses_entries  # type: ignore[attr-defined]
    return v


__all__ = ["Tensor", "MatrixExpressionParser", "parse_matrix_expression", "ELEMENTWISE"]
