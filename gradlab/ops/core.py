"""The op record, the table and how a gate is added to it (:func:`register_op`), and the classic gates.

The package :mod:`gradlab.ops` is what the rest of gradlab imports: this module and
:mod:`gradlab.ops.activations`, so that importing it gives the whole table.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence, TypeVar

import numpy as np

from .lazy import LazyModule

if TYPE_CHECKING:
    import sympy as sp

    from .functions import latex_call, relu, sigmoid, softplus  # noqa: F401  (made on first use: __getattr__)
else:
    sp = LazyModule("sympy")  # loaded when a formula is made, not when the table is imported

# --------------------------------------------------------------------------- SymPy objects


def as_sympy(x: Any) -> sp.Basic:
    """A number or SymPy object as a SymPy object, never reading text (``sympify`` would ``eval`` it).

    >>> as_sympy(2), as_sympy(0.5), as_sympy(np.float64(-1.5)), as_sympy(sp.Symbol("x") + 1)
    (2, 0.500000000000000, -1.50000000000000, x + 1)
    """
    if isinstance(x, sp.Basic):
        return x
    if isinstance(x, (int, np.integer)):
        return sp.Integer(int(x))
    if isinstance(x, (float, np.floating)):
        return sp.Float(float(x))
    if isinstance(x, Fraction):
        return sp.Rational(x.numerator, x.denominator)
    if isinstance(x, np.ndarray) and x.shape == ():
        return as_sympy(x[()])
    raise TypeError(f"expected a number or a SymPy expression, got {type(x).__name__}")


# --------------------------------------------------------------------------- numpy helpers


def np_sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def np_erf(x: np.ndarray) -> np.ndarray:
    """The error function over an array (numpy has none; math.erf is exact to the last bit or two)."""
    return np.vectorize(math.erf, otypes=[float])(x)


def np_relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def np_softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


#: Function mapping for ``sympy.lambdify`` so that gradlab's SymPy functions evaluate in numpy; read it as
#: ``gradlab.ops.NUMPY_NAMESPACE``, which adds the functions of gates registered later (see :func:`sympy_functions`).
_NUMPY_NAMESPACE: dict[str, Any] = {
    "sigmoid": np_sigmoid,
    "relu": np_relu,
    "softplus": np_softplus,
    "Heaviside": lambda x, h0=0.5: np.heaviside(x, h0),
    "erf": np_erf,
}


# --------------------------------------------------------------------------- the Op record


def _fmt(c: Any) -> str:
    """A constant as a short label: 1, -1, 0.5, 2.5e-07."""
    try:
        f = float(c)
    except TypeError:
        return str(c)
    if f == int(f) and abs(f) < 1e15:
        return str(int(f))
    return f"{f:.6g}"


@dataclass(frozen=True)
class DomainEdge:
    """A value that argument ``arg`` of a gate must never reach or step across (finite differences keep off it).

    ``side`` is where the domain lies: ``1`` above ``at`` (log: a > 0), ``-1`` below, ``0`` on both
    sides (a pole: the divisor of ``1/a``).

    >>> OPS["log"].edges(None), OPS["div"].edges(None)
    ((DomainEdge(arg=0, at=0.0, side=1),), (DomainEdge(arg=1, at=0.0, side=0),))
    """

    arg: int
    at: float = 0.0
    side: int = 0


_POSITIVE = (DomainEdge(0, 0.0, 1),)  # the argument must stay above 0
_NONZERO = (DomainEdge(0, 0.0, 0),)   # a pole at 0


@dataclass(frozen=True)
class OpDoc:
    """A gate's row in docs/operations.md (Markdown cells), which :mod:`gradlab.ops.docs` writes from the table."""

    gate: str
    written: str
    value: str
    partials: str
    fails: str = ""


@dataclass(frozen=True)
class Op:
    """One kind of gate. See the module docstring for the four views."""

    name: str
    arity: int
    sym: Callable[[Sequence[sp.Expr], Any], sp.Expr]
    partials: Callable[[Sequence[sp.Expr], sp.Expr, Any], list[sp.Expr]]
    np_fn: Callable[[Sequence[np.ndarray], Any], np.ndarray]
    torch_fn: Callable[[Sequence[Any], Any], Any]
    label_fn: Callable[[Any], str]
    doc: str = ""
    #: where the gate is not differentiable: distance of the point from the kink (0 = on it)
    kink_distance: Callable[[Sequence[np.ndarray], Any], np.ndarray] | None = None
    #: local partials at the kink under each convention: {"sympy": [...], "torch": [...], "left": [...], "right": [...]}
    #: (or a function of the parameter giving them, for leaky_relu's slope)
    kink_conventions: dict[str, list[float]] | Callable[[Any], dict[str, list[float]]] = field(default_factory=dict)
    #: the name programs and formulas call the gate by (``exp(x)``); None for operators and constant gates
    call: str | None = None
    #: other spellings a typed answer may use for ``call`` (``σ``, ``sig`` for sigmoid; ``ln`` for log)
    aliases: tuple[str, ...] = ()
    #: the function's head in formulas, LaTeX and plain text (default: ``\operatorname{call}`` and ``call``)
    latex: str | None = None
    text: str | None = None
    #: an activation: a student may forget its local derivative (verify and worksheets name that mistake)
    activation: bool = False
    #: a call takes two or more arguments, folded pairwise (``max(a, b, c)``); else exactly ``arity``
    variadic: bool = False
    #: a function with a constant parameter (leaky_relu's slope): its name and default; a call may give it
    #: as one more, constant argument: ``leaky_relu(x, 0.2)``
    param_name: str | None = None
    param_default: float | None = None
    #: beyond this |argument| the gate's gradient is almost zero (σ'(3) = 0.045, tanh'(2) = 0.071, hardtanh's
    #: is 0 beyond 1): worksheets draw no values there
    saturation: float | None = None
    #: its row in docs/operations.md (a gate without one gets a row made of ``label``, ``call`` and ``doc``)
    table: OpDoc | None = None
    #: why the forward value can fail at a point: returns a message, or None
    domain: Callable[[Sequence[np.ndarray], Any], str | None] | None = None
    #: a parameter is required (the constant of ``+1``, ``*-1``, ``**2``)
    has_param: bool = False
    #: the domain edges and poles of the arguments, for a parameter: where finite differences must not step
    edges: Callable[[Any], tuple[DomainEdge, ...]] = lambda p: ()
    #: what a shape error says a two-argument gate does: "cannot *multiply* a 2x3 matrix and ..."
    verb: str = "combine"
    #: its local derivative is a constant no one leaves out of the chain (a copy, a sign, a constant factor):
    #: verify and worksheets name no forgotten local derivative for it
    plain_derivative: bool = False
    #: the local derivative is written in the gate's output (σ' = σ·(1 − σ), tanh' = 1 − tanh²), so a student
    #: may write the output itself for it: the message naming that mistake (its id is the gate's name)
    output_mistake: str | None = None
    #: written between a pair of bars rather than as a head and brackets: ``("|", "|")`` for ``|x|``
    delimiters: tuple[str, str] | None = None
    #: the backward rule in words, for a student stuck at a blank (practice pages): "a multiply gate swaps its
    #: inputs: ...". A gate without one gets a hint made of its label and its partials (:meth:`backward_hint`)
    hint: str = ""

    def backward_hint(self, param: Any = None) -> str:
        """The rule the backward pass applies at this gate, in words (the record's ``hint``, else made from its
        label and partials).

        >>> OPS["mul"].backward_hint()
        'a multiply gate swaps its inputs: the gradient into one input is the upstream gradient times the other input'
        >>> TENSOR_OPS["matmul"].backward_hint()
        'multiply the upstream gradient by the local derivative of the @ gate'
        """
        if self.hint:
            return self.hint
        partials = f" ({self.table.partials})" if self.table is not None else ""
        return f"multiply the upstream gradient by the local derivative of the {self.label(param)} gate{partials}"

    def label(self, param: Any = None) -> str:
        """The symbol drawn in the gate's circle: ``+``, ``*``, ``*-1``, ``exp``, ``+1``, ``1/x``, ``σ``."""
        return self.label_fn(param)

    def conventions(self, param: Any = None) -> dict[str, list[float]]:
        """The local partials at the kink under each convention, for the gate's parameter."""
        conv = self.kink_conventions
        return dict(conv(self.param_default if param is None else param) if callable(conv) else conv)

    @property
    def head(self) -> Any:
        """The SymPy function this gate's formula is an application of (``sp.exp``, :class:`sigmoid`,
        ``sp.Max``), or None when the formula is arithmetic (``a*b``, ``sqrt`` as a power).

        >>> import sympy as sp
        >>> OPS["sigmoid"].head is sympy_functions().sigmoid, OPS["max"].head is sp.Max, OPS["mul"].head, OPS["sqrt"].head
        (True, True, None, None)
        """
        if self.call is None:
            return None
        args = sp.symbols(f"a:{self.arity}", real=True)
        e = self.sym(list(args), None if self.param_default is None else as_sympy(self.param_default))
        return e.func if isinstance(e, sp.Function) or isinstance(e, (sp.Max, sp.Min)) else None

    def latex_head(self) -> str:
        return self.latex or r"\operatorname{%s}" % str(self.call).replace("_", r"\_")

    def text_head(self) -> str:
        return self.text or str(self.call)


OPS: dict[str, Op] = {}


def _torch() -> Any:
    import torch

    return torch


#: Functions a program or formula may call, by name, with their gate: ``exp(x)`` -> OPS["exp"]
#: (kept by :func:`register_op`).
FUNCTIONS: dict[str, str] = {}
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def register_op(op: Op, *, replace: bool = False) -> Op:
    """Add a gate to the op table, so that programs, formulas, pictures, checks, verify, worksheets and
    grading all know it (each reads this table). ``replace=True`` redefines a gate of the same name.

    >>> from gradlab.ops import OPS, Op, register_op
    >>> cube = Op("cube", 1, lambda a, p: a[0]**3, lambda a, o, p: [3*a[0]**2], lambda a, p: a[0]**3,
    ...           lambda a, p: a[0]**3, lambda p: "x³", "x cubed")
    >>> register_op(cube).name, "cube" in OPS
    ('cube', True)
    >>> unregister_op("cube")
    """
    if not isinstance(op, Op):
        raise TypeError(f"register_op() takes an Op, not {type(op).__name__}")
    for what, name in (("name", op.name), ("call name", op.call)):
        if name is not None and not _IDENTIFIER.match(name):
            raise ValueError(f"an op's {what} must be a plain identifier, not {name!r}")
    if not replace:
        if op.name in OPS:
            raise ValueError(f"there is already an op '{op.name}' (pass replace=True to redefine it)")
        if op.call is not None and op.call in FUNCTIONS:
            raise ValueError(f"'{op.call}' already calls the op '{FUNCTIONS[op.call]}'")
    with _SYMPY_LOCK:
        OPS[op.name] = op
        _CHANGES[0] += 1
        if op.call is not None:
            FUNCTIONS[op.call] = op.name
            if "functions" in _SYMPY_SIDE:  # SymPy's side is loaded: index the head now, else when it loads
                _index_head(op)
    return op


# --------------------------------------------------------------------------- the SymPy side, made on first use
# Importing the table loads no SymPy: gradlab's SymPy functions (gradlab.ops.functions) and the tables keyed
# by them (HEADS, SYMPY_NAMESPACE, NUMPY_NAMESPACE) are made when first asked for (module __getattr__ below).

#: The gate of each SymPy function head (``sp.exp`` -> OPS["exp"]): how a formula evaluated numerically
#: finds its numpy forward (kept by :func:`register_op`). Read it as ``gradlab.ops.HEADS``.
_HEADS: dict[Any, Op] = {}
#: Names to pass to ``sympy.sympify(text, locals=SYMPY_NAMESPACE)`` to read back an ``expr``
#: string from gradlab's JSON with gradlab's own functions (trusted text only: sympify evals).
_SYMPY_NAMESPACE: dict[str, Any] = {}
_SYMPY_SIDE: dict[str, Any] = {}  # "functions": the module once imported; "ready": once every head is indexed
_SYMPY_LOCK = threading.RLock()  # re-entrant: indexing a head calls the gate's formula, which asks for the functions
_LAZY_TABLES = {"HEADS": _HEADS, "SYMPY_NAMESPACE": _SYMPY_NAMESPACE, "NUMPY_NAMESPACE": _NUMPY_NAMESPACE}
if TYPE_CHECKING:  # what __getattr__ gives
    HEADS: dict[Any, Op]
    SYMPY_NAMESPACE: dict[str, Any]
    NUMPY_NAMESPACE: dict[str, Any]
#: Names of this module made on first use (``from gradlab.ops import sigmoid`` works as before).
LAZY_NAMES = ("HEADS", "SYMPY_NAMESPACE", "NUMPY_NAMESPACE", "sigmoid", "relu", "softplus", "latex_call")


def sympy_functions() -> Any:
    """gradlab's own SymPy functions (the module :mod:`gradlab.ops.functions`), imported on first use with
    the tables keyed by them: gate formulas call ``sympy_functions().sigmoid(z)``.

    >>> from gradlab.ops import HEADS
    >>> sympy_functions().sigmoid(0), HEADS[sympy_functions().relu].name
    (1/2, 'relu')
    """
    if "ready" in _SYMPY_SIDE:
        return _SYMPY_SIDE["functions"]
    with _SYMPY_LOCK:
        if "functions" not in _SYMPY_SIDE:
            from . import functions

            functions.latex_head_of = _latex_head_of
            _SYMPY_SIDE["functions"] = functions  # before the heads: each gate's formula asks for them
            try:
                _SYMPY_NAMESPACE.update({name: getattr(functions, name) for name in functions.CORE})
                for op in list(OPS.values()):
                    if op.call is not None:
                        _index_head(op)
            except BaseException:
                _SYMPY_SIDE.clear()
                raise
            _SYMPY_SIDE["ready"] = True
    return _SYMPY_SIDE["functions"]


def _index_head(op: Op) -> None:
    head = op.head
    if head is not None:
        _HEADS[head] = op
        if isinstance(head, sp.FunctionClass) and not head.__module__.startswith("sympy"):  # gradlab's own
            _SYMPY_NAMESPACE[head.__name__] = head
            _NUMPY_NAMESPACE[head.__name__] = _numpy_of(op)


def _latex_head_of(function: type) -> str | None:
    op = _HEADS.get(function)
    return op.latex_head() if op else None


def __getattr__(name: str) -> Any:
    """``HEADS``, ``SYMPY_NAMESPACE``, ``NUMPY_NAMESPACE`` and gradlab's SymPy functions, made on first use."""
    if name in LAZY_NAMES:
        functions = sympy_functions()
        return _LAZY_TABLES[name] if name in _LAZY_TABLES else getattr(functions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_COMPILED: dict[int, tuple[Op, tuple[Callable[..., Any], ...]]] = {}


def partial_functions(op: Op) -> tuple[Callable[..., Any], ...]:
    """numpy functions ``f_k(arg_0, ..., out, c)`` of the gate's local partials, compiled once per record
    (``lambdify`` of the record's own SymPy partials, never of text; ``c`` is the gate's parameter).

    >>> [f(2.0, 0.5, 1.0, 0.0) for f in partial_functions(OPS["mul"])]  # a0, a1, out, c
    [0.5, 2.0]
    """
    hit = _COMPILED.get(id(op))
    if hit is not None and hit[0] is op:
        return hit[1]
    args = [sp.Symbol(f"a{i}", real=True) for i in range(op.arity)]
    out = sp.Symbol("out", real=True)
    c = sp.Symbol("c", real=True)
    sympy_functions()  # NUMPY_NAMESPACE holds gradlab's own functions
    exprs = op.partials(args, out, c if op.has_param or op.param_name else None)
    # numpy the module, not "numpy": the same printer and functions, without ``from numpy import *``, which loads
    # some 170 modules (numpy.random, .ma, .testing, ...: 50 ms of `gradlab grad`); lambdify imports any other name
    # its printer writes (numpy.linalg's) itself
    functions = tuple(sp.lambdify(args + [out, c], e, modules=[_NUMPY_NAMESPACE, np]) for e in exprs)
    _COMPILED[id(op)] = (op, functions)
    return functions


V = TypeVar("V")
_CHANGES = [0]  # how often register_op() and unregister_op() changed the table


class DerivedTable(Mapping[str, V]):
    """A read-only table made from the op table (the functions formulas may call, their spellings...),
    made again only when the op table has changed.

    >>> calls = DerivedTable(lambda: {op.call: op.name for op in OPS.values() if op.call})
    >>> calls["sigmoid"], "tan" in calls
    ('sigmoid', False)
    """

    def __init__(self, build: Callable[[], dict[str, V]]) -> None:
        self._build = build
        self._key: tuple[int, int] = (-1, -1)
        self._data: dict[str, V] = {}

    def _table(self) -> dict[str, V]:
        key = (_CHANGES[0], len(OPS))  # register_op counts its changes; len catches a direct edit of OPS
        if key != self._key:
            self._data, self._key = self._build(), key
        return self._data

    def __getitem__(self, name: str) -> V:
        return self._table()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


def unregister_op(name: str) -> None:
    """Remove a gate added by :func:`register_op` (and its call name) from every table."""
    with _SYMPY_LOCK:
        op = OPS.pop(name)
        _CHANGES[0] += 1
        if op.call is not None and FUNCTIONS.get(op.call) == name:
            del FUNCTIONS[op.call]
        for function, owner in list(_HEADS.items()):
            if owner is op:
                del _HEADS[function]
                name_in_code = str(getattr(function, "__name__", ""))
                if _SYMPY_NAMESPACE.get(name_in_code) is function:
                    del _SYMPY_NAMESPACE[name_in_code]
                    _NUMPY_NAMESPACE.pop(name_in_code, None)


def _numpy_of(op: Op) -> Callable[..., np.ndarray]:
    """The numpy forward as a function of the SymPy head's arguments (for lambdify and formula evaluation)."""
    return lambda *args: op.np_fn([np.asarray(a, dtype=float) for a in args[:op.arity]], param_of(op, args))


def param_of(op: Op, head_args: Sequence[Any]) -> Any:
    """The parameter in the arguments of a gate's SymPy head (its last one), or the gate's default."""
    return float(head_args[op.arity]) if op.param_name and len(head_args) > op.arity else op.param_default


def _any_nonpositive(xs: Sequence[np.ndarray], what: str) -> str | None:
    x = np.asarray(xs[0])
    bad = x[x <= 0] if x.ndim else (x if x <= 0 else None)
    if bad is not None and np.size(bad):
        return f"{what} of a non-positive number ({_fmt(np.ravel(bad)[0])})"
    return None


def _zero_divisor(x: np.ndarray) -> str | None:
    x = np.asarray(x)
    if np.any(x == 0):
        return "division by zero"
    return None


# Binary arithmetic ---------------------------------------------------------------------------
register_op(Op("add", 2, lambda a, p: a[0] + a[1], lambda a, o, p: [sp.Integer(1), sp.Integer(1)],
             lambda a, p: a[0] + a[1], lambda a, p: a[0] + a[1], lambda p: "+", "a + b", verb="add",
             hint="an add gate passes the upstream gradient on unchanged to each of its inputs",
             table=OpDoc("`+`", "`a + b`", "a + b", "1, 1")))
register_op(Op("sub", 2, lambda a, p: a[0] - a[1], lambda a, o, p: [sp.Integer(1), sp.Integer(-1)],
             lambda a, p: a[0] - a[1], lambda a, p: a[0] - a[1], lambda p: "-", "a - b", verb="subtract",
             hint="a subtract gate passes the upstream gradient on to its first input and its negative to the second",
             table=OpDoc("`-`", "`a - b`", "a − b", "1, −1")))
register_op(Op("mul", 2, lambda a, p: a[0] * a[1], lambda a, o, p: [a[1], a[0]],
             lambda a, p: a[0] * a[1], lambda a, p: a[0] * a[1], lambda p: "*", "a * b", verb="multiply",
             hint=("a multiply gate swaps its inputs: the gradient into one input "
                   "is the upstream gradient times the other input"),
             table=OpDoc("`*`", "`a * b`", "a·b", "b, a")))
register_op(Op("div", 2, lambda a, p: a[0] / a[1], lambda a, o, p: [1 / a[1], -a[0] / a[1] ** 2],
             lambda a, p: a[0] / a[1], lambda a, p: a[0] / a[1], lambda p: "/", "a / b", verb="divide",
             domain=lambda a, p: _zero_divisor(a[1]), edges=lambda p: (DomainEdge(1, 0.0, 0),),
             hint=("a divide gate a / b: into a the upstream gradient times "
                   "1/b, into b the upstream gradient times −a/b²"),
             table=OpDoc("`/`", "`a / b`", "a / b", "1/b, −a/b²", "b = 0")))


def _pow_domain(a: Sequence[np.ndarray], p: Any) -> str | None:
    base = np.asarray(a[0])
    if np.any(base <= 0):
        return "a variable exponent needs a positive base (x**y with x <= 0)"
    return None


register_op(Op("pow", 2, lambda a, p: a[0] ** a[1],
             lambda a, o, p: [a[1] * a[0] ** (a[1] - 1), o * sp.log(a[0])],
             lambda a, p: np.power(a[0], a[1]), lambda a, p: a[0] ** a[1], lambda p: "**",
             "a ** b (variable exponent; needs a > 0)", verb="raise", domain=_pow_domain, edges=lambda p: _POSITIVE,
             hint=("a power gate a ** b: into a the upstream gradient times b·aᵇ⁻¹, "
                   "into b the upstream gradient times out·log a"),
             table=OpDoc("`**`", "`a ** b` (variable exponent)", "aᵇ", "b·aᵇ⁻¹, out·log a", "a ≤ 0")))

# Unary gates with a constant --------------------------------------------------------------------
register_op(Op("neg", 1, lambda a, p: -a[0], lambda a, o, p: [sp.Integer(-1)],
             lambda a, p: -a[0], lambda a, p: -a[0], lambda p: "*-1", "-x", plain_derivative=True,
             hint="a *-1 gate flips the sign of the upstream gradient",
             table=OpDoc("`*-1`", "`-a`", "−a", "−1")))
register_op(Op("add_const", 1, lambda a, p: a[0] + p, lambda a, o, p: [sp.Integer(1)],
             lambda a, p: a[0] + float(p), lambda a, p: a[0] + float(p),
             lambda p: ("+" if float(p) >= 0 else "-") + _fmt(abs(float(p))), "x + c", has_param=True, plain_derivative=True,
             hint="adding a constant passes the upstream gradient on unchanged",
             table=OpDoc("`+c` / `-c` (`+1`)", "`a + 1`, `1 + a`, `a - 2`", "a + c", "1")))
register_op(Op("rsub_const", 1, lambda a, p: p - a[0], lambda a, o, p: [sp.Integer(-1)],
             lambda a, p: float(p) - a[0], lambda a, p: float(p) - a[0],
             lambda p: f"{_fmt(p)}-x", "c - x", has_param=True,
             hint="a c − x gate passes the upstream gradient on with its sign flipped",
             table=OpDoc("`c-x`", "`1 - a`", "c − a", "−1")))
register_op(Op("mul_const", 1, lambda a, p: p * a[0], lambda a, o, p: [as_sympy(p)],
             lambda a, p: float(p) * a[0], lambda a, p: float(p) * a[0],
             lambda p: f"*{_fmt(p)}", "c * x", has_param=True, plain_derivative=True,
             hint="a *c gate multiplies the upstream gradient by the constant c",
             table=OpDoc("`*c`", "`2*a`, `a*2`", "c·a", "c")))
register_op(Op("div_const", 1, lambda a, p: a[0] / p, lambda a, o, p: [1 / as_sympy(p)],
             lambda a, p: a[0] / float(p), lambda a, p: a[0] / float(p),
             lambda p: f"/{_fmt(p)}", "x / c", has_param=True, plain_derivative=True,
             hint="a /c gate divides the upstream gradient by the constant c",
             table=OpDoc("`/c`", "`a / 2`", "a / c", "1/c")))
register_op(Op("rdiv_const", 1, lambda a, p: p / a[0], lambda a, o, p: [-p / a[0] ** 2],
             lambda a, p: float(p) / a[0], lambda a, p: float(p) / a[0],
             lambda p: f"{_fmt(p)}/x", "c / x (1/x is the reciprocal)", domain=lambda a, p: _zero_divisor(a[0]),
             has_param=True, edges=lambda p: _NONZERO,
             hint="a c/x gate multiplies the upstream gradient by −c/x², x being its input",
             table=OpDoc("`c/x` (`1/x`)", "`1/a` (the reciprocal)", "c / a", "−c/a²", "a = 0")))


def _pow_const_domain(a: Sequence[np.ndarray], p: Any) -> str | None:
    x = np.asarray(a[0])
    c = float(p)
    if c < 0 and np.any(x == 0):
        return "division by zero (a negative power of 0)"
    if c != int(c) and np.any(x < 0):
        return f"a negative number to the fractional power {_fmt(c)}"
    return None


def _pow_const_edges(p: Any) -> tuple[DomainEdge, ...]:
    c = float(p)
    if c != int(c):
        return _POSITIVE  # no negative base; at 0 some derivative of x**c is infinite
    return _NONZERO if c < 0 else ()


register_op(Op("pow_const", 1, lambda a, p: a[0] ** p, lambda a, o, p: [p * a[0] ** (p - 1)],
             lambda a, p: np.power(a[0], float(p)), lambda a, p: a[0] ** float(p),
             lambda p: f"^{_fmt(p)}", "x ** c", domain=_pow_const_domain, has_param=True, edges=_pow_const_edges,
             hint="an x^c gate multiplies the upstream gradient by c·xᶜ⁻¹, x being its input",
             table=OpDoc("`^c` (`^2`)", "`a**2`", "aᶜ", "c·aᶜ⁻¹", "a = 0 for c < 0; a < 0 for fractional c")))
register_op(Op("rpow_const", 1, lambda a, p: p ** a[0], lambda a, o, p: [sp.log(p) * o],
             lambda a, p: np.power(float(p), a[0]),
             lambda a, p: _torch().pow(float(p), a[0]),
             lambda p: f"{_fmt(p)}^x", "c ** x (needs c > 0)", has_param=True,
             domain=lambda a, p: None if float(p) > 0 else "a constant base must be positive in c**x",
             hint="a c^x gate multiplies the upstream gradient by its output times log c",
             table=OpDoc("`c^x`", "`2**a`", "cᵃ", "out·log c", "c ≤ 0")))
register_op(Op("identity", 1, lambda a, p: a[0], lambda a, o, p: [sp.Integer(1)],
             lambda a, p: np.asarray(a[0], dtype=float) + 0.0, lambda a, p: a[0] * 1.0, lambda p: "=",
             "y = x (a name for a value)", plain_derivative=True,
             hint="a new name for a value passes the gradient on unchanged",
             table=OpDoc("`=`", "`y = x` (a new name for a value)", "a", "1")))

# Functions ---------------------------------------------------------------------------------------


register_op(Op("exp", 1, lambda a, p: sp.exp(a[0]), lambda a, o, p: [o],
             lambda a, p: np.exp(a[0]), lambda a, p: _torch().exp(a[0]), lambda p: "exp", "exp(x)",
             call="exp", latex=r"\exp", activation=True,
             hint="an exp gate multiplies the upstream gradient by its own output (the derivative of eˣ is eˣ)",
             table=OpDoc("`exp`", "`exp(a)`", "eᵃ", "out")))
register_op(Op("log", 1, lambda a, p: sp.log(a[0]), lambda a, o, p: [1 / a[0]],
             lambda a, p: np.log(a[0]), lambda a, p: _torch().log(a[0]), lambda p: "log", "natural log",
             call="log", aliases=("ln",), latex=r"\log", activation=True,
             domain=lambda a, p: _any_nonpositive(a, "log"), edges=lambda p: _POSITIVE,
             hint="a log gate multiplies the upstream gradient by 1/x, x being its input",
             table=OpDoc("`log`", "`log(a)` (natural)", "ln a", "1/a", "a ≤ 0")))


def _sqrt_domain(a: Sequence[np.ndarray], p: Any) -> str | None:
    if np.any(np.asarray(a[0]) < 0):
        return "square root of a negative number"
    if np.any(np.asarray(a[0]) == 0):
        return "the derivative of sqrt at 0 is infinite"
    return None


register_op(Op("sqrt", 1, lambda a, p: sp.sqrt(a[0]), lambda a, o, p: [1 / (2 * o)],
             lambda a, p: np.sqrt(a[0]), lambda a, p: _torch().sqrt(a[0]), lambda p: "√", "square root",
             call="sqrt", activation=True,
             domain=_sqrt_domain, edges=lambda p: _POSITIVE,
             hint="a √ gate multiplies the upstream gradient by 1/(2·out), out being its output",
             table=OpDoc("`√`", "`sqrt(a)`", "√a", "1/(2·out)", "a < 0; infinite slope at 0")))
register_op(Op("sin", 1, lambda a, p: sp.sin(a[0]), lambda a, o, p: [sp.cos(a[0])],
             lambda a, p: np.sin(a[0]), lambda a, p: _torch().sin(a[0]), lambda p: "sin", "sine",
             call="sin", latex=r"\sin", activation=True,
             hint="a sin gate multiplies the upstream gradient by cos x, x being its input",
             table=OpDoc("`sin`", "`sin(a)`", "sin a", "cos a")))
register_op(Op("cos", 1, lambda a, p: sp.cos(a[0]), lambda a, o, p: [-sp.sin(a[0])],
             lambda a, p: np.cos(a[0]), lambda a, p: _torch().cos(a[0]), lambda p: "cos", "cosine",
             call="cos", latex=r"\cos", activation=True,
             hint="a cos gate multiplies the upstream gradient by −sin x, x being its input",
             table=OpDoc("`cos`", "`cos(a)`", "cos a", "−sin a")))
register_op(Op("sigmoid", 1, lambda a, p: sympy_functions().sigmoid(a[0]), lambda a, o, p: [o * (1 - o)],
             lambda a, p: np_sigmoid(a[0]), lambda a, p: _torch().sigmoid(a[0]), lambda p: "σ",
             "logistic 1/(1+exp(-x))", call="sigmoid", aliases=("sig", "sigma", "σ"), latex=r"\sigma",
             text="σ", activation=True, saturation=3.0,
             output_mistake="the derivative of σ is σ·(1 − σ), not σ itself",
             hint="a σ gate multiplies the upstream gradient by σ·(1 − σ), σ being its output",
             table=OpDoc("`σ`", "`sigmoid(a)`", "1/(1+e⁻ᵃ)", "out·(1 − out)")))
register_op(Op("tanh", 1, lambda a, p: sp.tanh(a[0]), lambda a, o, p: [1 - o**2],
             lambda a, p: np.tanh(a[0]), lambda a, p: _torch().tanh(a[0]), lambda p: "tanh",
             "hyperbolic tangent", call="tanh", latex=r"\tanh", activation=True, saturation=2.0,
             output_mistake="the derivative of tanh is 1 − tanh², not tanh itself",
             hint="a tanh gate multiplies the upstream gradient by 1 − tanh², tanh being its output",
             table=OpDoc("`tanh`", "`tanh(a)`", "tanh a", "1 − out²")))
register_op(Op("softplus", 1, lambda a, p: sympy_functions().softplus(a[0]),
             lambda a, o, p: [sympy_functions().sigmoid(a[0])],
             lambda a, p: np_softplus(a[0]),
             lambda a, p: _torch().nn.functional.softplus(a[0], beta=1.0, threshold=50.0),
             lambda p: "softplus", "log(1 + exp(x))", call="softplus", activation=True,
             hint="a softplus gate multiplies the upstream gradient by σ(x), x being its input",
             table=OpDoc("`softplus`", "`softplus(a)`", "log(1 + eᵃ)", "σ(a)")))
register_op(Op("relu", 1, lambda a, p: sympy_functions().relu(a[0]), lambda a, o, p: [sp.Heaviside(a[0])],
             lambda a, p: np_relu(a[0]), lambda a, p: _torch().relu(a[0]), lambda p: "relu", "max(x, 0)",
             call="relu", aliases=("ReLU",), activation=True,
             kink_distance=lambda a, p: np.abs(a[0]),
             kink_conventions={"sympy": [0.5], "torch": [0.0], "left": [0.0], "right": [1.0]},
             hint=("a relu gate passes the upstream gradient where its input is "
                   "positive and blocks it (0) where it is negative"),
             table=OpDoc("`relu`", "`relu(a)`", "max(a, 0)", "Heaviside(a)", "kink at a = 0")))
register_op(Op("abs", 1, lambda a, p: sp.Abs(a[0]), lambda a, o, p: [sp.sign(a[0])],
             lambda a, p: np.abs(a[0]), lambda a, p: _torch().abs(a[0]), lambda p: "|x|", "absolute value",
             call="abs", aliases=("Abs",), activation=True, delimiters=("|", "|"),
             kink_distance=lambda a, p: np.abs(a[0]),
             kink_conventions={"sympy": [0.0], "torch": [0.0], "left": [-1.0], "right": [1.0]},
             hint="an |x| gate multiplies the upstream gradient by the sign of its input",
             table=OpDoc("`|x|`", "`abs(a)`", "|a|", "sign(a)", "kink at a = 0")))
register_op(Op("max", 2, lambda a, p: sp.Max(a[0], a[1]),
             lambda a, o, p: [sp.Heaviside(a[0] - a[1]), sp.Heaviside(a[1] - a[0])],
             lambda a, p: np.maximum(a[0], a[1]), lambda a, p: _torch().maximum(a[0], a[1]), lambda p: "max",
             "larger of a and b", verb="take the max of",
             call="max", aliases=("Max",), variadic=True, kink_distance=lambda a, p: np.abs(a[0] - a[1]),
             kink_conventions={"sympy": [0.5, 0.5], "torch": [0.5, 0.5], "left": [0.0, 1.0], "right": [1.0, 0.0]},
             hint="a max gate routes the upstream gradient to the larger input; the other input gets 0",
             table=OpDoc("`max`", "`max(a, b)` (more arguments chain)", "max(a, b)", "H(a − b), H(b − a)",
                         "kink at a = b")))
register_op(Op("min", 2, lambda a, p: sp.Min(a[0], a[1]),
             lambda a, o, p: [sp.Heaviside(a[1] - a[0]), sp.Heaviside(a[0] - a[1])],
             lambda a, p: np.minimum(a[0], a[1]), lambda a, p: _torch().minimum(a[0], a[1]), lambda p: "min",
             "smaller of a and b", verb="take the min of",
             call="min", aliases=("Min",), variadic=True, kink_distance=lambda a, p: np.abs(a[0] - a[1]),
             kink_conventions={"sympy": [0.5, 0.5], "torch": [0.5, 0.5], "left": [1.0, 0.0], "right": [0.0, 1.0]},
             hint="a min gate routes the upstream gradient to the smaller input; the other input gets 0",
             table=OpDoc("`min`", "`min(a, b)`", "min(a, b)", "H(b − a), H(a − b)", "kink at a = b")))

#: Gates over vectors and matrices (``matmul``, ``softmax``, ...), filled by :mod:`gradlab.ops.tensor`;
#: kept apart from :data:`OPS`, whose gates all work on numbers.
TENSOR_OPS: dict[str, Op] = {}


def op_for(name: Any) -> Op | None:
    """The gate called ``name``: a scalar gate of :data:`OPS` or a tensor gate, or None."""
    return OPS.get(name) or TENSOR_OPS.get(name)



def constant_value(c: Any) -> float:
    """A parameter as a Python float (SymPy numbers included)."""
    return float(c)


def is_finite_number(x: float) -> bool:
    return math.isfinite(x)


__all__ = [
    "as_sympy",
    "sympy_functions",
    "np_sigmoid",
    "np_erf",
    "np_relu",
    "np_softplus",
    "DomainEdge",
    "DerivedTable",
    "Op",
    "OpDoc",
    "OPS",
    "FUNCTIONS",
    "register_op",
    "unregister_op",
    "param_of",
    "partial_functions",
    "TENSOR_OPS",
    "op_for",
    "constant_value",
    "is_finite_number",
]
