"""Is a claimed gradient formula right? ``check_formula(graph, "da/dx0", "w0*a*(1-a)")``.

The claim may use the graph's inputs and the names of its statements (``a``, ``z``). It is
read by gradlab's own parser (:func:`gradlab.parse_expression`, never ``eval``), compared
with the adjoint from the graph's local derivatives at several random points (a wrong claim
comes with a counterexample), and, when it holds at all of them, decided symbolically
(the difference, with named nodes replaced by their definitions, simplifies to 0).

This is the scalar check that :func:`gradlab.testing.assert_formula` uses until the
claimed-formula check of :mod:`gradlab.verify` is available; it is kept to this one module
so that it can be pointed at :func:`gradlab.verify.verify` in one place.

>>> r = check_formula("z = w0*x0 + w1*x1 + w2; a = sigmoid(z)", "da/dx0", "w0*a*(1-a)")
>>> r.ok, r.decided
(True, 'symbolic')
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any, Mapping

import numpy as np
import sympy as sp

from ..check import _as_graph
from ..errors import GradlabError, ParseError
from ..expr import parse_expression
from ..graph import Graph
from ..numeric import evaluate, is_close
from ..ops import NUMPY_NAMESPACE
from ..report import num
from .points import random_points

__tracebackhide__ = True

_LHS = re.compile(r"^\s*[d∂]\s*([A-Za-z][A-Za-z0-9_]*)\s*/\s*[d∂]\s*([A-Za-z][A-Za-z0-9_]*)\s*$")


@dataclass
class FormulaResult:
    """The verdict on one claimed formula (the fields of :class:`gradlab.verify.VerifyResult` it needs)."""

    ok: bool
    claim: str
    decided: str  # "symbolic" (proved) or "numeric" (held at every point, or a counterexample)
    message: str
    counterexample: dict[str, Any] | None = None
    truth: str | None = None
    mistake: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self), default=float))


def split_claim(claim: str, rhs: str | None) -> tuple[str, str, str]:
    """``("da/dx0", "w0")`` or ``("da/dx0 = w0",)`` -> ``("a", "x0", "w0")``."""
    if rhs is None:
        if "=" not in claim:
            raise ParseError(f"a claim is 'da/dx = formula', got {claim!r}")
        claim, rhs = claim.split("=", 1)
    m = _LHS.match(claim)
    if not m:
        raise ParseError(f"the left side of a claim is d<output>/d<node> (like da/dx0), got {claim.strip()!r}")
    return m.group(1), m.group(2), rhs.strip()


def check_formula(graph_or_program: Graph | str, claim: str, rhs: str | None = None, *,
                  at: Mapping[str, float] | None = None, trials: int = 10, seed: int = 0, rtol: float = 1e-7,
                  atol: float = 1e-9, lenient: bool = False) -> FormulaResult:
    """Check ``d<output>/d<node> = formula`` on a scalar graph (see the module docstring)."""
    from ..symbolic import symbolic_gradients

    graph = _as_graph(graph_or_program)
    of, wrt, formula = split_claim(claim, rhs)
    text = f"d{of}/d{wrt} = {formula}"
    if of != graph.output:
        raise GradlabError(f"'{text}': the claim must be about the output {graph.output} (d{graph.output}/d...)")
    if wrt not in graph:
        raise GradlabError(f"'{text}': {wrt} is not a node of the graph")
    names = {n: graph.symbol(n) for n in graph.nodes if graph.kind(n) == "input" or graph.attrs(n).get("named")}
    claimed = parse_expression(formula, names, lenient=lenient, unknown_names=False)
    symbols = sorted(claimed.free_symbols, key=str)
    fn = sp.lambdify(symbols, claimed, modules=[NUMPY_NAMESPACE, "numpy"])
    sg = symbolic_gradients(graph)
    truth = str(sg.readable_named(wrt))
    points = ([dict(at)] if at is not None else []) + random_points(graph, trials, seed)
    for p in points:
        ev = evaluate(graph, p)
        values = {str(n): float(np.asarray(ev.values[n]).reshape(())) for n in graph.nodes}
        right = float(np.asarray(ev.adjoints[wrt]).reshape(()))
        with np.errstate(all="ignore"):
            got = float(fn(*[values[str(s)] for s in symbols]))
        if not (np.isfinite(got) and is_close(got, right, rtol, atol)):
            where = ", ".join(f"{k}={num(v)}" for k, v in p.items())
            named = ", ".join(f"{k}={num(values[k])}" for k in names if k not in p and k in formula)
            mistake = "sign error" if right != 0 and is_close(got, -right, rtol, atol) else None
            msg = (f"{text} is wrong: at {where}" + (f" (so {named})" if named else "") +
                   f" it gives {num(got)}, but d{of}/d{wrt} = {num(right)}; the right formula is {truth}")
            return FormulaResult(False, text, "numeric", msg, {"point": p, "claimed": got, "true": right}, truth,
                                 mistake)
    # right at every point: try to prove it, with named nodes replaced by their definitions
    definitions = {graph.symbol(n): sg.value_expr(n) for n in names if graph.kind(n) != "input"}
    difference = (claimed - sg.full(wrt)).xreplace(definitions) if sg.small else None
    proved = False
    if difference is not None:
        try:
            proved = sp.simplify(difference.rewrite(sp.exp)) == 0
        except Exception:  # noqa: BLE001 - a proof is a bonus; numeric evidence stands without it
            proved = False
    decided = "symbolic" if proved else "numeric"
    how = "proved symbolically" if proved else "no symbolic proof found"
    return FormulaResult(True, text, decided, f"{text} holds ({how}; true at {len(points)} random points)",
                         None, truth)
