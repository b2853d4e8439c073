"""Variant points: input values drawn reproducibly from (seed, variant, part), good ones only.

A variant's values depend only on the seed, the variant's number and the part: variant 7 is the
same whether 10 or 100 variants are made. A draw is kept only when it makes a good exercise:

* every value and gradient is finite and of a sensible size (no poles: no division by almost
  zero, no log of almost zero, no huge local derivative);
* no kink: relu, abs, max and min are evaluated away from the point where they switch (by at
  least half a step of the value grid), so every gradient has one right answer;
* no σ or tanh is saturated (|argument| > 3), not all gradients of the inputs are zero, and no asked
  number would print as 0 when it is not.

A graph with vectors and matrices draws every entry from its input's value grid (labels declared
``onehot`` one-hot, see :mod:`gradlab.worksheet.tensors`) and checks the same entry by entry;
moreover no tanh argument is beyond 2 (tanh'(2) = 0.07), no softmax is saturated (an output above
0.98), no gradient asked as a matrix formula is all zero, and every gradient entry asked as a
number is at least 0.05 (at 2 decimals: two digits to grade, and a sign error can be told).

>>> from gradlab import Graph
>>> from gradlab.worksheet.spec import spec_from_program
>>> part = spec_from_program("z = w0*x0 + w2; a = relu(z)").parts[0]
>>> variant_point(part, seed=2024, variant=7) == variant_point(part, seed=2024, variant=7)
True
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np

from ..engine.numeric import Evaluation, evaluate
from ..errors import GradlabError
from ..ops import OPS, Op
from .spec import Part, ValueRange, WorksheetError

MAX_TRIES = 3000
MAX_MAGNITUDE = 1e4
MAX_LOCAL = 1e3


def variant_point(part: Part, seed: int, variant: int, part_index: int = 0, *, decimals: int = 2) -> dict[str, Any]:
    """The input values of one variant (see the module docstring)."""
    rng = random.Random(f"gradlab-worksheet:{seed}:{variant}:{part_index}")
    graph = part.graph
    choices = {n: part.ranges.get(n, ValueRange()).choices() for n in graph.inputs}
    empty = [n for n, c in choices.items() if not c]
    if empty:
        raise WorksheetError(f"the value range of '{empty[0]}' has no allowed value")
    margin = 0.5 * min([part.ranges.get(n, ValueRange()).step for n in graph.inputs] or [1.0])
    reasons: dict[str, int] = {}
    if graph.is_tensor:
        from .tensors import draw_value

        def draw() -> dict[str, Any]:
            return {n: draw_value(rng, graph, n, choices[n]) for n in graph.inputs}
    else:
        def draw() -> dict[str, Any]:
            return {n: _clean(rng.choice(choices[n])) for n in graph.inputs}
    for _ in range(MAX_TRIES):
        at = draw()
        why = why_not(part, at, margin=margin, decimals=decimals)
        if why is None:
            return at
        reasons[why] = reasons.get(why, 0) + 1
    common = max(reasons, key=reasons.get) if reasons else "?"  # type: ignore[arg-type]
    advice = ("use smaller values: a narrower range in [numbers] or [part.values] (for vectors and matrices, "
              "values = \"one decimal\", min = -1, max = 1)" if "saturated" in common or "too large" in common
              else "widen the value ranges in [part.values]")
    raise WorksheetError(f"no good values found for '{graph.title or graph.output}' in {MAX_TRIES} draws (most often "
                         f"rejected: {common}); {advice}")


def _clean(x: float) -> float:
    return float(int(x)) if float(x).is_integer() else float(x)


def why_not(part: Part, at: dict[str, Any], *, margin: float = 0.5, decimals: int = 2) -> str | None:
    """Why the point ``at`` makes a bad exercise (a short reason), or None when it is good."""
    graph = part.graph
    if graph.is_tensor:
        return _why_not_tensor(part, at, margin=margin, decimals=decimals)
    try:
        ev = evaluate(graph, at)
    except GradlabError:
        return "a value is undefined there (a pole or a domain error)"
    for n in graph.nodes:
        v, g = float(ev.values[n]), float(ev.adjoints[n])
        if not (math.isfinite(v) and math.isfinite(g)) or abs(v) > MAX_MAGNITUDE or abs(g) > MAX_MAGNITUDE:
            return "a value or gradient is too large"
        d = graph.attrs(n)
        if d["kind"] != "op":
            continue
        op = OPS[d["op"]]
        args = [ev.values[a] for a in graph.args(n)]
        if op.kink_distance is not None and float(np.min(op.kink_distance(args, d.get("param")))) < margin * 0.999:
            return f"a kink of {d['label']} is too close"
        if _near_edge(op, args, d.get("param"), margin):
            return "too close to a pole"
        if op.saturation is not None and abs(float(args[0])) > op.saturation:
            return f"{d['label']} is saturated (its gradient is almost zero)"
    for e, lp in ev.local.items():
        if abs(float(lp)) > MAX_LOCAL:
            return "a local derivative is too large"
    grads = [float(ev.adjoints[n]) for n in graph.inputs]
    if all(g == 0 for g in grads):
        return "every gradient is zero"
    smallest = 0.5 * 10.0 ** -decimals
    for x in _asked_numbers(part, ev):
        if x != 0 and abs(x) < smallest:
            return "an answer would round to zero"
    return None


def _near_edge(op: Op, args: list[np.ndarray], param: Any, margin: float) -> bool:
    """An argument (an entry of one) within ``margin`` of one of the gate's domain edges or poles
    (``Op.edges``: the divisor of ``a/b`` at 0, the argument of ``log`` and ``sqrt`` at 0, ...)."""
    return any(float(np.min(np.abs(np.asarray(args[e.arg], dtype=float) - e.at))) < margin for e in op.edges(param))


def _asked_numbers(part: Part, ev: Evaluation) -> list[float]:
    out: list[float] = []
    if "forward" in part.questions:
        out += [float(ev.values[n]) for n in part.graph.nodes if part.graph.kind(n) == "op"]
    if "backward" in part.questions:
        out += [float(x) for x in ev.edge_adjoints.values()]
    if "numeric" in part.questions:
        out += [float(ev.adjoints[n]) for n in part.numeric]
    return out


# ----------------------------------------------------------------------------- vectors and matrices

def _why_not_tensor(part: Part, at: dict[str, Any], *, margin: float, decimals: int) -> str | None:
    from ..ops import op_for
    from ..ops.tensor import TensorOp, expand
    from .tensors import SOFTMAX_SATURATED, numeric_entries

    graph = part.graph
    try:
        with np.errstate(all="ignore"):
            ev = evaluate(graph, at)
    except GradlabError:
        return "a value is undefined there (a pole or a domain error)"
    for n in graph.nodes:
        v, g = np.asarray(ev.values[n], dtype=float), np.asarray(ev.adjoints[n], dtype=float)
        if not (np.isfinite(v).all() and np.isfinite(g).all()) or (v.size and np.abs(v).max() > MAX_MAGNITUDE) or (
                g.size and np.abs(g).max() > MAX_MAGNITUDE):
            return "a value or gradient is too large"
    for n in graph.op_nodes:
        d = graph.attrs(n)
        op = op_for(d["op"])
        assert op is not None  # a graph holds only known gates
        args = [np.asarray(ev.values[a], dtype=float) for a in graph.args(n)]
        if isinstance(op, TensorOp):
            if op.probabilities is not None:
                probs = op.probabilities(np.asarray(ev.values[n]))
                if probs.max() > SOFTMAX_SATURATED:
                    return f"{d['label']} is saturated (an output above {SOFTMAX_SATURATED:g})"
            continue
        full = [expand(a, graph.shape(x), graph.shape(n)) for a, x in zip(args, graph.args(n))]
        if op.kink_distance is not None and float(np.min(op.kink_distance(full, d.get("param")))) < margin * 0.999:
            return f"a kink of {d['label']} is too close"
        if _near_edge(op, full, d.get("param"), margin):
            return "too close to a pole"
        if op.saturation is not None and float(np.max(np.abs(full[0]))) > op.saturation:
            return f"{d['label']} is saturated (its gradient is almost zero)"
    for lp in ev.local.values():
        if np.asarray(lp).size and float(np.max(np.abs(lp))) > MAX_LOCAL:
            return "a local derivative is too large"
    if all(not np.any(ev.adjoints[n]) for n in graph.inputs):
        return "every gradient is zero"
    if "matrix" in part.questions and any(not np.any(ev.adjoints[n]) for n in part.wrt if n in ev.adjoints):
        return "a gradient asked as a formula is zero"
    smallest = 0.5 * 10.0 ** -decimals
    if "numeric" in part.questions:
        for _, node, idx in numeric_entries(graph, part.numeric):
            if abs(float(np.asarray(ev.adjoints[node])[idx])) < 10 * smallest:
                return f"a gradient entry asked as a number is below {10 * smallest:g} (too few digits to grade)"
    for x in _asked_tensor_numbers(part, ev):
        if x != 0 and abs(x) < smallest:
            return "an answer would round to zero"
    return None


def _asked_tensor_numbers(part: Part, ev: Evaluation) -> list[float]:
    from .tensors import numeric_entries

    graph = part.graph
    out: list[float] = []
    if "forward" in part.questions:
        for n in graph.op_nodes:
            out += [float(x) for x in np.asarray(ev.values[n]).reshape(-1)]
    if "backward" in part.questions:
        for (u, v, k), a in ev.edge_adjoints.items():
            if graph.kind(u) == "op":
                out += [float(x) for x in np.asarray(a).reshape(-1)]
    if "numeric" in part.questions:
        out += [float(np.asarray(ev.adjoints[node])[idx]) for _, node, idx in numeric_entries(graph, part.numeric)]
    return out
