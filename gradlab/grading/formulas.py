"""Formula answers: safe parse, numerical probing, bounded symbolic proof, named mistakes.

How one formula is graded (:func:`grade_formula`), the way PrairieLearn and STACK do it:

1. **Read** it with gradlab's whitelist parser in lenient mode (``^``, ``σ``, ``2w0``, ``e^x``,
   unicode minus), with the sheet's names as the only names: the inputs, the named nodes of the
   graph (``z``, ``a``) and aliases (``α`` is the output ``a``). Named nodes are replaced by
   their definitions, so every answer is a formula in the inputs.
2. **Probe** it at random points (reproducible, away from poles: points where the key is not
   finite are dropped) against the key. Any clear difference decides: wrong.
3. **Name the mistake**: the answer is compared, at the same points, with constant multiples of the key
   and with the generated wrong answers in the key (missing chain-rule factor, σ for σ(1−σ), one branch of
   a fork, the forward value, another variable's gradient), by :func:`gradlab.model.mistakes.name_mistake`:
   the same order and the same names as ``gradlab verify``.
4. **Prove** equality symbolically when the numbers agree: the difference is simplified with
   bounded effort (``expand``, ``cancel``, then ``simplify`` under a deadline). Without a proof, the
   difference is evaluated in exact arithmetic (decimals as written, 50 digits) at a few probe points, as
   ``gradlab verify`` does: a formula off by a relative 1e-9 (``w0*s*(1-s)*(1 + 1e-9)``) is wrong, though the
   probes cannot see it; one whose decimals round simple fractions (``0.33333333`` for 1/3) and is right
   with them is accepted, as the probes' tolerance says, and the feedback names the rounding. If none of
   this finishes in time the numbers decide (``equal at 16 random points``).

Everything here runs inside a grading worker (:mod:`gradlab.grading.worker`), which bounds its
time and memory; this module itself is plain and synchronous.

>>> from gradlab.model.answerkey import Answer, Grading
>>> key = Answer(formula="w0*a*(1 - a)", names={"z": "w0*x0 + w1*x1 + w2", "a": "sigmoid(z)"},
...              inputs=["w0", "x0", "w1", "x1", "w2"], probe={n: [-3, 3] for n in ["w0", "x0", "w1", "x1", "w2"]})
>>> grade_formula("w0*exp(-z)/(1+exp(-z))^2", key, Grading()).status
'correct'
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from dataclasses import dataclass
from functools import reduce
from typing import Any, Callable, ContextManager, Mapping

import numpy as np
import sympy as sp

from ..errors import ParseError
from ..lang.exact import decimal_text, difference, rounded_decimals
from ..lang.expr import FORMULA_ONLY, Limits, normalise, parse_expression
from ..model.answerkey import Answer, Grading
from ..model.mistakes import MISTAKES, Candidate, message, name_mistake
from ..ops import HEADS
from .verdict import Verdict

#: Caps for one student answer (the parser's defaults are for longer texts).
ANSWER_LIMITS = Limits(max_chars=2_000, max_nodes=600, max_depth=60, max_digits=20, max_exponent=50)
#: Probe points per answer, and how many must be usable (key finite there).
PROBES = 16
MIN_PROBES = 6
PROBE_RTOL = 1e-7
PROBE_ATOL = 1e-10
#: Probe points at which a formula the probes cannot tell from the key is compared in exact arithmetic.
EXACT_PROBES = 4


class Unsupported(Exception):
    """An expression node the fast numpy evaluator does not know (evaluated with evalf instead)."""


class Deadline(Exception):
    """Raised (by the worker's alarm, or by checks) when the soft time budget is spent."""


#: How the symbolic proof is interrupted when its time is up: a worker installs an alarm
#: (:func:`gradlab.grading.worker.soft_deadline`); in-process, only the checks between steps.
SOFT_DEADLINE: Callable[[float], ContextManager[None]] = lambda seconds: contextlib.nullcontext()


# ----------------------------------------------------------------------------- numpy evaluation

#: The numpy forms of the functions of formulas that are no gate (a gate's own: its op record, ops.HEADS).
_FORMULA_ONLY: dict[Any, Callable[..., np.ndarray]] = {f.sympy: f.numpy for f in FORMULA_ONLY.values()}


def evaluate_numpy(expr: sp.Expr, env: Mapping[sp.Symbol, np.ndarray]) -> np.ndarray:
    """Evaluate a SymPy tree over arrays by walking it (no code generation, no ``eval``)."""
    memo: dict[sp.Basic, np.ndarray] = {}

    def walk(e: sp.Basic) -> Any:
        if e in memo:
            return memo[e]
        if e.is_Symbol:
            if e not in env:
                raise Unsupported(f"unknown symbol {e}")
            r: Any = env[e]
        elif e.is_Number or e in (sp.E, sp.pi):
            c = complex(e)
            r = c.real if c.imag == 0 else np.nan
        elif e.is_Add:
            r = reduce(np.add, (walk(a) for a in e.args))
        elif e.is_Mul:
            r = reduce(np.multiply, (walk(a) for a in e.args))
        elif e.is_Pow:
            r = np.power(np.asarray(walk(e.args[0]), dtype=float), walk(e.args[1]))
        elif isinstance(e, (sp.Max, sp.Min)):
            f = np.maximum if isinstance(e, sp.Max) else np.minimum
            r = reduce(f, (walk(a) for a in e.args))
        elif e.func in HEADS:
            op = HEADS[e.func]
            r = op.np_fn([np.asarray(walk(a), dtype=float) for a in e.args[:op.arity]], None)
        elif e.func in _FORMULA_ONLY:
            r = _FORMULA_ONLY[e.func](*(walk(a) for a in e.args))
        else:
            raise Unsupported(type(e).__name__)
        memo[e] = r
        return r

    with np.errstate(all="ignore"):
        out = walk(expr)
        shape = next(iter(env.values())).shape if env else ()
        return np.broadcast_to(np.asarray(out, dtype=float), shape)


def evaluate_points(expr: sp.Expr, symbols: list[sp.Symbol], points: np.ndarray) -> np.ndarray:
    """``expr`` at each row of ``points`` (columns in the order of ``symbols``); NaN where undefined."""
    env = {s: points[:, i] for i, s in enumerate(symbols)}
    try:
        return evaluate_numpy(expr, env)
    except Unsupported:
        out = np.empty(len(points))
        for j, row in enumerate(points):
            try:
                c = complex(expr.xreplace({s: sp.Float(v) for s, v in zip(symbols, row)}).evalf(15))
                out[j] = c.real if abs(c.imag) < 1e-12 else np.nan
            except (TypeError, ValueError, ArithmeticError):
                out[j] = np.nan
        return out


# ----------------------------------------------------------------------------- the key's context

@dataclass
class Context:
    """What the formulas of one key answer are read against (built once per key answer)."""

    inputs: list[sp.Symbol]
    names: dict[str, Any]  # every name a student may write -> its expression in the inputs
    key: sp.Expr
    mistakes: list[tuple[str, str, sp.Expr]]
    points: np.ndarray
    key_values: np.ndarray
    candidates: list[Candidate] | None = None  # the mistakes at the points, made on first use


_CONTEXTS: dict[str, Context] = {}


def strict_names(answer: Answer) -> dict[str, Any]:
    """Input symbols, named nodes expanded into the inputs, and the aliases."""
    names: dict[str, Any] = {n: sp.Symbol(n, real=True) for n in answer.inputs}
    for n, text in answer.names.items():
        names[n] = parse_expression(text, names, unknown_names=False)
    for alias, target in answer.aliases.items():
        if target in names:
            names[alias] = names[target]
        else:
            names[alias] = parse_expression(target, names, unknown_names=False)
    return names


def context(answer: Answer) -> Context:
    """The parsed key, its mistakes and the probe points (cached by the answer's content)."""
    ident = hashlib.sha256(repr((answer.formula, sorted(answer.names.items()), sorted(answer.aliases.items()),
                                 answer.inputs, sorted(answer.probe.items()),
                                 [(m.id, m.formula) for m in answer.mistakes])).encode()).hexdigest()
    if ident in _CONTEXTS:
        return _CONTEXTS[ident]
    names = strict_names(answer)
    key = parse_expression(answer.formula or "0", names, unknown_names=False)
    mistakes = [(m.id, m.message or MISTAKES.get(m.id, m.id), parse_expression(m.formula, names, unknown_names=False))
                for m in answer.mistakes if m.formula]
    inputs = [sp.Symbol(n, real=True) for n in answer.inputs]
    rng = np.random.default_rng(int(ident[:12], 16))
    lo = np.array([float(answer.probe.get(n, [-3, 3])[0]) for n in answer.inputs])
    hi = np.array([float(answer.probe.get(n, [-3, 3])[1]) for n in answer.inputs])
    raw = rng.uniform(lo, hi, size=(PROBES * 3, len(inputs))) if inputs else np.zeros((PROBES * 3, 0))
    values = evaluate_points(key, inputs, raw)
    good = np.isfinite(values) & (np.abs(values) < 1e12)
    points, key_values = raw[good][:PROBES], values[good][:PROBES]
    ctx = Context(inputs, names, key, mistakes, points, key_values)
    if len(_CONTEXTS) > 2000:
        _CONTEXTS.clear()
    _CONTEXTS[ident] = ctx
    return ctx


# ----------------------------------------------------------------------------- grading

def read_formula(text: str, ctx: Context) -> sp.Expr:
    """The student's formula in the inputs; :class:`ParseError` with a message otherwise."""
    return parse_expression(text, ctx.names, lenient=True, unknown_names=False, limits=ANSWER_LIMITS)


def _agree(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    both_nan = np.isnan(a) & np.isnan(b)
    with np.errstate(all="ignore"):
        close = np.abs(a - b) <= PROBE_ATOL + PROBE_RTOL * np.maximum(np.abs(a), np.abs(b))
    return both_nan | (np.isfinite(a) & np.isfinite(b) & close)


def prove_zero(diff: sp.Expr, deadline: float) -> bool | None:
    """True when ``diff`` simplifies to 0 within the deadline; None when that cannot be decided in time."""
    steps: list[Callable[[sp.Expr], sp.Expr]] = [
        lambda d: d,
        lambda d: sp.expand(d) if sp.count_ops(d) < 200 else d,
        lambda d: sp.cancel(sp.expand(d.rewrite(sp.exp))),
        lambda d: sp.simplify(d.rewrite(sp.exp)),
    ]
    for step in steps:
        if time.monotonic() > deadline:
            return None
        try:
            if step(diff) == 0:
                return True
        except Deadline:
            return None
        except (TypeError, ValueError, ArithmeticError, RecursionError, NotImplementedError, AttributeError):
            continue
    return None


def grade_formula(text: str, answer: Answer, grading: Grading, *, prove_seconds: float = 1.0) -> Verdict:
    """Grade one formula answer (see the module docstring)."""
    if not text.strip():
        return Verdict.blank()
    ctx = context(answer)
    try:
        expr = read_formula(text, ctx)
    except ParseError as e:
        return Verdict.rejected(str(e))
    read_as = _short(normalise(text), 200)
    if not isinstance(expr, sp.Expr):
        return Verdict.rejected("a formula is expected here")
    usable = len(ctx.points) >= MIN_PROBES
    if usable:
        mine = evaluate_points(expr, ctx.inputs, ctx.points)
        agree = _agree(mine, ctx.key_values)
        if not agree.all():
            return _wrong(mine, agree, ctx, grading, read_as)
    deadline = time.monotonic() + prove_seconds
    exact: Verdict | None = None
    try:
        with SOFT_DEADLINE(prove_seconds):
            proved = prove_zero(expr - ctx.key, deadline)
            if not proved and usable:  # as verify decides: exact arithmetic where the probes cannot tell
                exact = _exactly(expr, ctx, read_as)
    except Deadline:
        proved = None
    if proved:
        return Verdict("correct", 1.0, "correct", method="symbolic", read_as=read_as)
    if exact is not None:
        return exact
    if usable:
        return Verdict("correct", 1.0, "correct", method=f"numeric ({len(ctx.points)} random points)", read_as=read_as)
    return Verdict.rejected("gradlab could not decide this answer (no usable test points); ask your teacher")


def _exactly(expr: sp.Expr, ctx: Context, read_as: str) -> Verdict | None:
    """The verdict where the probes agree but exact arithmetic (decimals as written, 50 digits) tells the formula
    from the key at a probe point: wrong, unless its decimals round simple fractions (``0.33333333`` for 1/3) and
    with those it is right, which the tolerance of the probes accepts (the feedback says so). None where the two
    are equal to the digits evaluated."""
    points = [dict(zip(ctx.inputs, row)) for row in ctx.points[:EXACT_PROBES]]
    try:
        found = next(((p, d) for p in points if (d := difference(expr, ctx.key, p)) is not None), None)
        if found is None:
            return None
        rounded = rounded_decimals(expr)
        explained = bool(rounded) and all(difference(expr.xreplace(rounded), ctx.key, p) is None for p in points)
    except (TypeError, ValueError, ArithmeticError, RecursionError):  # no number to 50 digits: the probes decide
        return None
    if explained:
        pairs = ", ".join(f"{decimal_text(r)} for {c}" for r, c in rounded.items())
        return Verdict("correct", 1.0, f"correct (rounded constants: {pairs})",
                       method=f"numeric ({len(ctx.points)} random points; rounded constants)", read_as=read_as)
    p, (mine, key, diff) = found
    at = ", ".join(f"{s}={_pretty(v)}" for s, v in p.items())
    rel = abs(diff) / max(abs(mine), abs(key), 1e-300)
    return Verdict("wrong", 0.0, f"not equal to the gradient: at {at} your formula differs from it by {diff:.3g} "
                   f"({rel:.1e} of its size) in exact arithmetic", method="exact", read_as=read_as)


def _wrong(mine: np.ndarray, agree: np.ndarray, ctx: Context, grading: Grading, read_as: str) -> Verdict:
    """A wrong formula's verdict, its mistake named by :func:`gradlab.model.mistakes.name_mistake` (as verify
    names it) among the key's generated wrong answers and constant multiples of the key."""
    if ctx.candidates is None:  # the key's wrong answers at the probe points, once per key answer
        ctx.candidates = [Candidate(mid, mid, text, evaluate_points(wrong, ctx.inputs, ctx.points))
                          for mid, text, wrong in ctx.mistakes]
    found = name_mistake(mine, ctx.key_values, ctx.candidates, rtol=PROBE_RTOL, atol=PROBE_ATOL)
    if found is not None and found.id is not None:
        ids = [i for i in found.ids if i]
        parts = []
        for mid in ids:
            if mid == "factor":
                that = "that" if found.candidate is not None else "the gradient"
                parts.append(f"{MISTAKES['factor']} ({_pretty(found.factor or 0)} times {that})")
            elif found.candidate is not None and mid == found.candidate.id:
                parts.append(found.candidate.hint)
            else:
                parts.append(message(mid))
        credit = math.prod(float(grading.partial.get(mid, 0.0)) for mid in ids)
        note = f" (partial credit {credit:g})" if credit > 0 else ""
        return Verdict("partial" if credit > 0 else "wrong", credit, "; ".join(parts) + note, mistake="+".join(ids),
                       method="numeric", read_as=read_as)
    j = int(np.argmin(agree))
    at = ", ".join(f"{s}={_pretty(v)}" for s, v in zip(ctx.inputs, ctx.points[j]))
    if not math.isfinite(mine[j]):
        yours, right = "undefined", _pretty(ctx.key_values[j])
    else:
        yours, right = apart(float(mine[j]), float(ctx.key_values[j]))
    return Verdict("wrong", 0.0, f"not equal to the gradient: at {at} your formula gives {yours}, the gradient is "
                   f"{right}", method="numeric", read_as=read_as)


def apart(mine: float, key: float, digits: int = 4, most: int = 8) -> tuple[str, str]:
    """Two numbers as text that tells them apart: ``digits`` significant digits, more where they print the
    same (up to ``most``); numbers closer than that are shown alike, the first with how far off it is.

    >>> apart(0.2075, 0.0118)
    ('0.2075', '0.0118')
    >>> apart(0.00771312, 0.00771344)
    ('0.0077131', '0.0077134')
    >>> apart(0.007713 * (1 + 1e-9), 0.007713)
    ('0.007713 (off by 1e-9 relative)', '0.007713')
    """
    for d in range(digits, most + 1):
        a, b = f"{mine:.{d}g}", f"{key:.{d}g}"
        if a != b:
            return a, b
    a, b = f"{mine:.{digits}g}", f"{key:.{digits}g}"
    if mine == key:
        return a, b
    rel = abs(mine - key) / abs(key) if key else abs(mine - key)
    mantissa, exponent = f"{rel:.0e}".split("e")
    off = f"{mantissa}e{int(exponent)}" + (" relative" if key else "")
    return f"{a} (off by {off})", b


def _pretty(x: float) -> str:
    return f"{x:.4g}"


def _short(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."
