"""Formulas typed by people (claims, student answers) to SymPy, safely: our own ``ast`` whitelist.

``sympify`` and ``parse_expr`` run ``eval`` on their input; gradlab never does. A formula is
read with :func:`ast.parse` (which only builds a tree) and every node of that tree is checked
against a whitelist and turned into a SymPy object directly: numbers, names, ``+ - * / **``,
unary minus and calls of known functions. Everything else (attributes, subscripts, lambdas,
comprehensions, strings, keywords, ...) is refused with a :class:`~gradlab.errors.ParseError`.

Hostile text is bounded before any SymPy work: at most :attr:`Limits.max_chars` characters,
:attr:`Limits.max_nodes` tree nodes and :attr:`Limits.max_depth` levels, numbers of at most
:attr:`Limits.max_digits` digits, and constant exponents of at most :attr:`Limits.max_exponent`
(``9**9**9`` is refused, not computed).

``lenient=True`` accepts what students type: ``^`` for powers, ``σ`` for sigmoid, Greek
letters by name (``α`` is ``alpha``), ``ln``, ``e^x``, implicit multiplication (``2w0``,
``2(x+1)``, ``s(1-s)`` when ``s`` is not a function, ``w0 x0``), unicode minus and ``·``/``×``;
subscripts (``w_0``, ``w_{0}`` and ``w₀`` are ``w0`` when the sheet has no ``w_0``), the derivative
of a one-argument function (``σ'(z)`` is ``σ(z)·(1 − σ(z))``, ``tanh'(u)``), and LaTeX as MathJax
users type it (``\\frac{w_0 e^{-z}}{(1+e^{-z})^2}``, ``\\sigma(z)``, ``\\cdot``, ``\\left(``).
Messages are plain words, never Python's.

>>> parse_expression("w0*s*(1 - s)")
s*w0*(1 - s)
>>> parse_expression("2w0 σ(z)(1 − σ(z))", lenient=True)
2*w0*(1 - sigmoid(z))*sigmoid(z)
>>> parse_expression("__import__('os')")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
gradlab.errors.ParseError: col 1: unknown function '__import__'; known functions: abs, ...
"""

from __future__ import annotations

import ast
import io
import math
import re
import tokenize
import unicodedata
from dataclasses import dataclass
from fractions import Fraction
from functools import reduce
from typing import Any, Callable, Mapping, Union

import numpy as np
import sympy as sp

from ..errors import Location, ParseError, syntax_message
from ..ops import OPS, DerivedTable, Op, as_sympy, np_erf
from .grammar import call_arguments, count_message, is_number, not_a_number, operator_text, refused


@dataclass(frozen=True)
class Limits:
    """Caps that bound the work a formula can cause, whatever its text."""

    max_chars: int = 5_000
    max_nodes: int = 2_000
    max_depth: int = 100
    max_digits: int = 30
    max_exponent: int = 100


Builder = Callable[..., sp.Expr]
@dataclass(frozen=True)
class FormulaFunction:
    """A function a formula may use that is no gate of a graph (``tan``, ``erf``): SymPy and numpy forms."""

    arity: int
    sympy: Builder
    numpy: Callable[..., Any]


#: Functions a formula may use that are no gate of a graph (a gate's own come from the op table).
FORMULA_ONLY: dict[str, FormulaFunction] = {
    "tan": FormulaFunction(1, sp.tan, np.tan), "sign": FormulaFunction(1, sp.sign, np.sign),
    "Heaviside": FormulaFunction(1, sp.Heaviside, lambda x, h0=0.5: np.heaviside(x, np.asarray(h0, dtype=float))),
    "erf": FormulaFunction(1, sp.erf, np_erf),
}
#: Extra spellings of those in lenient mode (a gate's own come from its op record: ``Op.aliases``).
FORMULA_ONLY_ALIASES = {"H": "Heaviside", "heaviside": "Heaviside"}


Arity = Union[int, None, tuple[int, int]]


def gate_formula(op: Op, args: list[Any], param: Any = None) -> Any:
    """The SymPy formula of the gate ``op`` over ``args`` (checked by :func:`gradlab.lang.grammar.call_arguments`):
    a variadic gate folded pair by pair, a gate with a parameter given ``param`` or its default."""
    if op.variadic:
        return reduce(lambda a, b: op.sym([a, b], None), args)
    if op.param_name:  # leaky_relu(z) or leaky_relu(z, 0.2)
        return op.sym(args, as_sympy(op.param_default) if param is None else param)
    return op.sym(args, None)


def _builder(op: Op) -> Builder:
    def build(*args: Any) -> Any:
        params = op.arity if not op.variadic and op.param_name and len(args) > op.arity else None
        return gate_formula(op, list(args[:params]), None if params is None else args[params])

    return build


def _arity(op: Op) -> Arity:
    """None: two or more; (n, n + 1): n, and the parameter may follow."""
    return None if op.variadic else (op.arity, op.arity + 1) if op.param_name else op.arity


def _functions() -> dict[str, tuple[Arity, Builder]]:
    gates = {op.call: (_arity(op), _builder(op)) for op in OPS.values() if op.call}
    return {**gates, **{name: (f.arity, f.sympy) for name, f in FORMULA_ONLY.items()}}


def _aliases() -> dict[str, str]:
    gates = {alias: op.call for op in OPS.values() if op.call for alias in op.aliases}
    return {**gates, **FORMULA_ONLY_ALIASES}


#: Functions a formula may call: name -> (number of arguments, builder); every gate of the op table with a
#: call name (``exp``, ``sigmoid``, one a user registered), and FORMULA_ONLY.
FUNCTIONS: Mapping[str, tuple[Arity, Builder]] = DerivedTable(_functions)
#: The gate of each call name a formula may use (``exp`` -> OPS["exp"]); FORMULA_ONLY's have none.
GATES: Mapping[str, Op] = DerivedTable(lambda: {op.call: op for op in OPS.values() if op.call})
#: Extra spellings in lenient mode: alias -> the function's name (``σ`` -> ``sigmoid``, ``ln`` -> ``log``).
LENIENT_FUNCTIONS: Mapping[str, str] = DerivedTable(_aliases)

_GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta", "η": "eta",
    "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda_", "μ": "mu", "ν": "nu", "ξ": "xi", "π": "pi",
    "ρ": "rho", "τ": "tau", "υ": "upsilon", "φ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega",
}
_CHAR_MAP = {
    "\u2212": "-", "\u2013": "-", "\u2014": "-", "\u2010": "-", "\u2011": "-", "\ufe63": "-", "\uff0d": "-",
    "\u00b7": "*", "\u22c5": "*", "\u2219": "*", "\u00d7": "*", "\u2217": "*", "\u00f7": "/", "\u2044": "/",
    "^": "**", "\u00b2": "**2", "\u00b3": "**3", "\u221a": "sqrt",
}

#: LaTeX commands as the lenient reader writes them (the rest: functions and Greek letters by name).
_LATEX_WORDS = {
    "cdot": "*", "times": "*", "ast": "*", "div": "/", "left": "", "right": "", "big": "", "Big": "",
    "bigl": "", "bigr": "", "Bigl": "", "Bigr": "", ",": " ", ";": " ", "!": "", " ": " ", ":": " ",
    "quad": " ", "qquad": " ", "sigma": "σ", "lambda": "lambda_", "mathrm": "", "operatorname": "",
    "text": "", "mathit": "", "textrm": "", "displaystyle": "", "cdotp": "*", "pi": "pi",
}
_LATEX_COMMAND = re.compile(r"\\([A-Za-z]+|[,;! :])")
_FRAC = re.compile(r"\\[dt]?frac\s*")
_SQRT = re.compile(r"\\sqrt\s*")
_SUBSCRIPT_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
#: What a function name becomes before ``'`` (its derivative) is read: ``σ'(z)`` -> ``sigmoid_derivative(z)``.
DERIVATIVE_SUFFIX = "_derivative"
_PRIME = re.compile(r"([A-Za-z][A-Za-z0-9_]*)\s*['\u2032]\s*\(")

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
ALLOWED = "numbers, names, + - * / **, unary minus and calls of known functions"


def known_functions(lenient: bool = False) -> list[str]:
    names = set(FUNCTIONS) | (set(LENIENT_FUNCTIONS) if lenient else set())
    return sorted(names, key=str.lower)


def normalise(text: str, *, function_names: set[str] | None = None, product: str = "*") -> str:
    """What a student typed, rewritten into the strict syntax (see ``lenient`` in the module docstring).

    ``product`` is the operator written for an implicit product (``2w0``); the matrix parser
    (:mod:`gradlab.lang.tensor_expr`) uses a marker of its own, since ``B^T (p - y)`` is a matrix product.

    >>> normalise("2w0 σ(z)(1 − σ(z))")
    '2*w0*sigmoid(z)*(1-sigmoid(z))'
    >>> normalise("e^(-z) + x^2")
    'exp(-z)+x**2'
    """
    funcs = set(FUNCTIONS) | set(LENIENT_FUNCTIONS) if function_names is None else function_names
    text = unicodedata.normalize("NFC", text)
    text = latex_to_plain(_subscripts(text))
    text = "".join(_CHAR_MAP.get(ch, ch) for ch in text)
    text = "".join(" " + _GREEK[ch] + " " if ch in _GREEK else ch for ch in text)
    for alias, name in LENIENT_FUNCTIONS.items():
        if not alias.isascii():  # σ: no identifier for the tokenizer; written out before it runs
            text = text.replace(alias, f" {name} ")
    text = _PRIME.sub(lambda m: f"{m.group(1)}{DERIVATIVE_SUFFIX}(", text)
    funcs = funcs | {f + DERIVATIVE_SUFFIX for f in funcs}
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline)
                  if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT,
                                    tokenize.DEDENT, tokenize.COMMENT)]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return text  # let the parser report the syntax error with its position
    out: list[str] = []
    prev: tokenize.TokenInfo | None = None
    for tok in tokens:
        if prev is not None and _implicit_product(prev, tok, funcs):
            out.append(product)
        out.append(tok.string)
        prev = tok
    joined = "".join(_spaced(out))
    # e**x, e**(...) -> exp(...)
    joined = re.sub(r"(?<![A-Za-z0-9_.])e\*\*\(", "exp(", joined)
    joined = re.sub(r"(?<![A-Za-z0-9_.])e\*\*(-?[A-Za-z0-9_.]+)", r"exp(\1)", joined)
    return joined


def latex_to_plain(text: str) -> str:
    """LaTeX as MathJax users type it, in the lenient syntax: ``\\frac{a}{b}`` -> ``((a)/(b))``, ``\\sqrt{x}``
    -> ``sqrt(x)``, ``\\cdot`` -> ``*``, ``\\sigma`` -> ``σ``, ``\\left(`` -> ``(``, other commands by name
    (``\\exp``, ``\\alpha``), braces as brackets. A command gradlab does not know is kept (the parser names it).

    >>> latex_to_plain(r"\\frac{w_0 e^{-z}}{(1+e^{-z})^2}")
    '((w_0 e^(-z))/((1+e^(-z))^2))'
    """
    if "\\" not in text and "{" not in text:
        return text
    for _ in range(50):  # \frac{..}{..} and \sqrt{..}, innermost last; nested ones on the next round
        m = _FRAC.search(text) or _SQRT.search(text)
        if m is None:
            break
        groups, end = _groups(text, m.end(), 2 if "frac" in m.group(0) else 1)
        if groups is None:
            break
        head = text[: m.start()]
        if len(groups) == 2:
            text = f"{head}(({groups[0]})/({groups[1]})){text[end:]}"
        else:
            text = f"{head}sqrt({groups[0]}){text[end:]}"

    def word(m: re.Match[str]) -> str:
        w = m.group(1)
        if w in _LATEX_WORDS:
            return _LATEX_WORDS[w]
        if w in FUNCTIONS or w in LENIENT_FUNCTIONS or w in _GREEK.values():
            return f" {w} "
        return m.group(0)

    text = _LATEX_COMMAND.sub(word, text)
    return text.replace("{", "(").replace("}", ")")


def _groups(text: str, i: int, n: int) -> tuple[list[str] | None, int]:
    """``n`` brace (or bracket) groups from ``text[i:]``: their contents and where they end."""
    out: list[str] = []
    for _ in range(n):
        while i < len(text) and text[i] == " ":
            i += 1
        if i >= len(text) or text[i] not in "{(":
            return None, i
        close = "}" if text[i] == "{" else ")"
        depth, j = 0, i
        while j < len(text):
            if text[j] in "{(":
                depth += 1
            elif text[j] in "})":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        if j >= len(text) or text[j] != close:
            return None, i
        out.append(text[i + 1: j])
        i = j + 1
    return out, i


def _subscripts(text: str) -> str:
    """``w_{0}`` -> ``w_0``; ``w₀`` -> ``w_0`` (a name's subscript, as the parser's names read it)."""
    text = re.sub(r"_\{\s*([A-Za-z0-9]+)\s*\}", r"_\1 ", text)
    text = re.sub(r"(?<=[A-Za-z0-9])([₀-₉]+)", lambda m: "_" + m.group(1).translate(_SUBSCRIPT_DIGITS) + " ", text)
    return text


def _spaced(parts: list[str]) -> list[str]:
    """Join tokens, keeping a space only where two words would otherwise merge (``lambda x``)."""
    out: list[str] = []
    for p in parts:
        if out and (out[-1][-1:].isalnum() or out[-1][-1:] == "_") and (p[:1].isalnum() or p[:1] == "_"):
            out.append(" ")
        out.append(p)
    return out


def _implicit_product(a: tokenize.TokenInfo, b: tokenize.TokenInfo, funcs: set[str]) -> bool:
    a_value = a.type == tokenize.NUMBER or (a.type == tokenize.NAME and not _is_keyword(a.string)) or a.string == ")"
    if not a_value:
        return False
    if b.type == tokenize.NUMBER:
        return a.type != tokenize.NUMBER
    if b.type == tokenize.NAME and not _is_keyword(b.string):
        return True
    if b.string == "(":
        return not (a.type == tokenize.NAME and a.string in funcs)
    return False


def _is_keyword(word: str) -> bool:
    import keyword

    return keyword.iskeyword(word)


class ExpressionParser:
    """Turns the ``ast`` of one formula into SymPy. Subclass and override ``binop``/``call``/
    ``attribute``/``name`` to admit more (matrices, say); the checks on size stay."""

    def __init__(self, names: Mapping[str, Any] | None = None, *, lenient: bool = False,
                 unknown_names: bool = True, limits: Limits = Limits(), rational: bool = True) -> None:
        self.names = dict(names or {})
        self.lenient = lenient
        self.unknown_names = unknown_names
        self.limits = limits
        self.rational = rational

    # -------------------------------------------------------------- entry
    def parse(self, text: str) -> Any:
        if not isinstance(text, str):
            raise ParseError(f"a formula is text, got {type(text).__name__}")
        lim = self.limits
        if len(text) > lim.max_chars:
            raise ParseError(f"the formula is too long ({len(text):,} characters; at most {lim.max_chars:,})")
        source = self.normalise(text) if self.lenient else text
        if not source.strip():
            raise ParseError("the formula is empty")
        if "\n" in source.strip() or ";" in source:
            raise ParseError("write one formula, on one line (no ';' or line breaks)")
        try:
            tree = ast.parse(source.strip(), mode="eval")
        except SyntaxError as e:
            hint = " (use ** for powers)" if "^" in source else ""
            col = e.offset if e.offset else len(source.strip())
            raise ParseError(plain_syntax_message(source, e.msg) + hint, Location(col=col)) from None
        except (RecursionError, MemoryError, ValueError) as e:
            raise ParseError(f"the formula is nested too deeply to read ({type(e).__name__})") from None
        self._check_size(tree)
        return self.build(tree.body)

    def normalise(self, text: str) -> str:
        """The lenient rewrite of ``text`` (:func:`normalise`); subclasses add their own notation."""
        return normalise(text)

    def _check_size(self, tree: ast.AST) -> None:
        """Count nodes and depth without recursion, before anything is built."""
        lim = self.limits
        count = 0
        stack: list[tuple[ast.AST, int]] = [(tree, 0)]
        while stack:
            node, depth = stack.pop()
            count += 1
            if count > lim.max_nodes:
                raise ParseError(f"the formula is too large (more than {lim.max_nodes:,} parts)")
            if depth > lim.max_depth:
                raise ParseError(f"the formula is nested too deeply (more than {lim.max_depth} levels)")
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))

    def fail(self, message: str, node: ast.AST) -> ParseError:
        return ParseError(message, Location(col=getattr(node, "col_offset", -1) + 1))

    # -------------------------------------------------------------- nodes
    def build(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Pow):
                return self.power(node)
            a, b = self.build(node.left), self.build(node.right)
            return self.binop(node, a, b)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return -self.build(node.operand)
            if isinstance(node.op, ast.UAdd):
                return self.build(node.operand)
            raise self.fail(f"the operator {operator_text(node.op)} is not allowed; use {ALLOWED}", node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Attribute):
            return self.attribute(node)
        raise self.fail(f"{refused(node)}; a formula may use {ALLOWED}", node)

    def constant(self, node: ast.Constant) -> Any:
        v = node.value
        if not is_number(v):
            raise self.fail(not_a_number(v), node)
        if isinstance(v, int):
            if len(str(abs(v))) > self.limits.max_digits:
                raise self.fail(f"the number is too long (more than {self.limits.max_digits} digits)", node)
            return sp.Integer(v)
        if not math.isfinite(v):
            raise self.fail("the number is not finite", node)
        if self.rational:  # the decimal as written (1e-20 is not 0), or the fraction float64 cannot tell it from
            frac = Fraction(repr(v))           # (0.3333333333333333, Python's float of 1/3, is 1/3)
            near = frac.limit_denominator(10**6)
            if near != frac and float(near) == v:
                frac = near
            return sp.Rational(frac.numerator, frac.denominator)
        return sp.Float(v)

    def name(self, node: ast.Name) -> Any:
        n = node.id
        if n in self.names:
            return self.names[n]
        if self.lenient:  # w_0 for w0, or w0 for w_0: whichever the sheet has
            for other in (re.sub(r"_(\d+)$", r"\1", n), re.sub(r"(?<=[A-Za-z])(\d+)$", r"_\1", n)):
                if other != n and other in self.names:
                    return self.names[other]
        if n in FUNCTIONS or (self.lenient and n in LENIENT_FUNCTIONS):
            raise self.fail(f"'{n}' is a function; call it: {n}(...)", node)
        if self.lenient and n == "e":
            return sp.E
        if n == "pi":  # not a name of the graph (those came first): the constant, as in GELU's derivative
            return sp.pi
        if n.startswith("_"):
            raise self.fail(f"names starting with '_' are not allowed ('{_short(n)}')", node)
        if not _NAME_RE.match(n):
            shown = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, '?')}" for c in n if ord(c) > 127)
            raise self.fail(f"'{n}' is not a plain name (it has the characters {shown}); use Latin letters, "
                            "digits and _", node)
        if n.startswith("__"):
            raise self.fail(f"names starting with '__' are not allowed ('{n}')", node)
        if not self.unknown_names:
            known = ", ".join(sorted(str(k) for k in self.names)) or "none"
            raise self.fail(f"unknown name '{n}'; the formula may use: {known}", node)
        return sp.Symbol(n, real=True)

    def power(self, node: ast.BinOp) -> Any:
        base = self.build(node.left)
        exponent = self.build(node.right)
        lim = self.limits.max_exponent
        if getattr(exponent, "is_number", False):
            try:
                big = abs(float(exponent)) > lim
            except (TypeError, ValueError):
                big = True
            if big:
                raise self.fail(f"the exponent {_short(exponent)} is too large (at most {lim} in absolute value)",
                                node)
        if getattr(base, "is_number", False) and getattr(exponent, "is_number", False):
            try:
                if abs(float(base)) > 10**6:
                    raise self.fail("a constant power of a large number is not allowed", node)
            except (TypeError, ValueError):
                pass
        return self.binop_pow(base, exponent)

    def binop_pow(self, base: Any, exponent: Any) -> Any:
        return base ** exponent

    def binop(self, node: ast.BinOp, a: Any, b: Any) -> Any:
        fn = _BINOPS.get(type(node.op))
        if fn is None:
            raise self.fail(f"the operator {operator_text(node.op)} is not allowed; use {ALLOWED}", node)
        if isinstance(node.op, ast.Div) and getattr(b, "is_zero", False):
            raise self.fail("division by zero", node)
        return fn(a, b)

    def attribute(self, node: ast.Attribute) -> Any:
        raise self.fail("attribute access ('.') is not allowed", node)

    def call(self, node: ast.Call) -> Any:
        func = node.func
        if not isinstance(func, ast.Name):
            raise self.fail("only known functions can be called, by name", node)
        fname = func.id
        if self.lenient and fname.endswith(DERIVATIVE_SUFFIX) and len(fname) > len(DERIVATIVE_SUFFIX):
            return self.derivative(node, fname[: -len(DERIVATIVE_SUFFIX)])
        if self.lenient:
            fname = LENIENT_FUNCTIONS.get(fname, fname)
        if fname not in FUNCTIONS:
            raise self.fail(f"unknown function '{func.id}'; known functions: {', '.join(known_functions(self.lenient))}",
                            node)
        if node.keywords:
            raise self.fail(f"{fname}() takes no keyword arguments", node)
        args = [self.build(a) for a in node.args]
        gate = self.gate_of(fname)
        if gate is None:  # a function of formulas only (tan, erf): one argument
            arity = FORMULA_ONLY[fname].arity
            if len(args) != arity:
                raise self.fail(count_message(fname, arity, len(args)), node)
            return self.apply(fname, FORMULA_ONLY[fname].sympy, args, node)
        args, param = self.gate_arguments(gate, fname, args, node)
        return self.apply(fname, lambda *a: gate_formula(gate, list(a), param), args, node)

    def derivative(self, node: ast.Call, written: str) -> Any:
        """``f'(x)``: the derivative of a one-argument function, by its op record (``σ'(z)`` is
        ``σ(z)·(1 − σ(z))``)."""
        fname = LENIENT_FUNCTIONS.get(written, written)
        gate = GATES.get(fname)
        if gate is None or gate.arity != 1 or gate.variadic or gate.param_name or gate.has_param:
            raise self.fail(f"{written}'(...) is read as the derivative of a function of one argument, and "
                            f"'{written}' is none; write the derivative out", node)
        if len(node.args) != 1 or node.keywords:
            raise self.fail(f"{written}'(...) takes one argument", node)
        (arg,) = [self.build(a) for a in node.args]
        value = gate.sym([arg], None)
        return gate.partials([arg], value, None)[0]

    def gate_of(self, fname: str) -> Op | None:
        """The gate a call name stands for (``exp`` -> OPS["exp"]), or None for a function of formulas only."""
        return GATES.get(fname)

    def gate_arguments(self, gate: Op, fname: str, args: list[Any], node: ast.Call) -> tuple[list[Any], Any]:
        """A gate's arguments and its parameter, by the rule programs follow too
        (:func:`gradlab.lang.grammar.call_arguments`)."""
        try:
            return call_arguments(gate, fname, args, self.is_constant)
        except ParseError as e:
            raise self.fail(e.message, node) from None

    def is_constant(self, value: Any) -> bool:
        """A constant (a parameter must be one): ``0.2``, ``1/5``, ``-pi``."""
        return is_number(value) or bool(getattr(value, "is_number", False))

    def apply(self, fname: str, builder: Callable[..., Any], args: list[Any], node: ast.Call) -> Any:
        return builder(*args)


def plain_syntax_message(source: str, python_message: str | None) -> str:
    """Why a formula cannot be read, in words for a student: never Python's own (``line continuation``,
    ``string literal``).

    >>> plain_syntax_message("x1*σ'(z)", "unterminated string literal (detected at line 1)")
    "the character ' is not allowed here (the derivative of a function is written f'(x), as in σ'(z))"
    """
    msg = python_message or ""
    if "line continuation" in msg or "\\" in source:
        cmd = re.search(r"\\([A-Za-z]+|.)", source)
        shown = "\\" + cmd.group(1) if cmd else "\\"
        return (f"the LaTeX command '{shown}' is not known here (gradlab reads \\frac, \\sqrt, \\cdot, \\sigma, "
                "\\exp, Greek letters and functions by name)")
    if "string literal" in msg or "EOL" in msg or "EOF while scanning" in msg or any(q in source for q in "'\""):
        q = "'" if "'" in source else '"'
        return (f"the character {q} is not allowed here (the derivative of a function is written f'(x), as in "
                "σ'(z))")
    bad = re.match(r"invalid character '(.)' \((U\+[0-9A-F]+)\)", msg)
    if bad:
        return f"the character '{bad.group(1)}' ({bad.group(2)}) is not allowed in a formula"
    if "invalid non-printable character" in msg:
        return "the formula has an invisible character; type it again"
    return syntax_message(source, msg).replace("invalid syntax", "this is not a formula gradlab can read")


def _short(x: Any) -> str:
    s = str(x)
    return s if len(s) <= 20 else s[:17] + "..."


def parse_expression(text: str, names: Mapping[str, Any] | None = None, *, lenient: bool = False,
                     unknown_names: bool = True, limits: Limits = Limits(), rational: bool = True) -> Any:
    """A formula as a SymPy expression, without ``eval``.

    ``names`` maps identifiers to SymPy objects (a graph's node symbols, say); other names
    become real symbols, or, with ``unknown_names=False``, an error that lists the known ones.
    Decimals become exact rationals (``0.5`` -> ``1/2``) unless ``rational=False``.

    >>> parse_expression("x^2 + 0.5", lenient=True)
    x**2 + 1/2
    """
    return ExpressionParser(names, lenient=lenient, unknown_names=unknown_names, limits=limits,
                            rational=rational).parse(text)
