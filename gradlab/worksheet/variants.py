"""Variant points: input values drawn reproducibly from (seed, variant, part), good ones only.

A variant's values depend only on the seed, the variant's number and the part: variant 7 is the
same whether 10 or 100 variants are made. A draw is kept only when it makes a good exercise:

* every value and gradient is finite and of a sensible size (no poles: no division by almost
  zero, no log of almost zero, no huge local derivative);
* no kink: relu, abs, max and min are evaluated away from the point where they switch (by at
  least half a step of the value grid), so every gradient has one right answer;
* no σ or tanh is saturated (|argument| > 3), not all gradients of the inputs are zero, and no asked
  number would print as 0 when it is not.

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

from ..errors import GradlabError
from ..numeric import Evaluation, evaluate
from ..ops import OPS
from .spec import Part, ValueRange, WorksheetError

MAX_TRIES = 3000
MAX_MAGNITUDE = 1e4
MAX_LOCAL = 1e3
#: sigmoid and tanh arguments beyond this make gradients too small to read (σ'(3) = 0.045)
SATURATED = 3.0


def variant_point(part: Part, seed: int, variant: int, part_index: int = 0, *, decimals: int = 2) -> dict[str, float]:
    """The input values of one variant (see the module docstring)."""
    rng = random.Random(f"gradlab-worksheet:{seed}:{variant}:{part_index}")
    graph = part.graph
    choices = {n: part.ranges.get(n, ValueRange()).choices() for n in graph.inputs}
    empty = [n for n, c in choices.items() if not c]
    if empty:
        raise WorksheetError(f"the value range of '{empty[0]}' has no allowed value")
    margin = 0.5 * min([part.ranges.get(n, ValueRange()).step for n in graph.inputs] or [1.0])
    reasons: dict[str, int] = {}
    for _ in range(MAX_TRIES):
        at = {n: _clean(rng.choice(choices[n])) for n in graph.inputs}
        why = why_not(part, at, margin=margin, decimals=decimals)
        if why is None:
            return at
        reasons[why] = reasons.get(why, 0) + 1
    common = max(reasons, key=reasons.get) if reasons else "?"  # type: ignore[arg-type]
    raise WorksheetError(f"no good values found for '{graph.title or graph.output}' in {MAX_TRIES} draws (most often "
                         f"rejected: {common}); widen the value ranges in [part.values]")


def _clean(x: float) -> float:
    return float(int(x)) if float(x).is_integer() else float(x)


def why_not(part: Part, at: dict[str, float], *, margin: float = 0.5, decimals: int = 2) -> str | None:
    """Why the point ``at`` makes a bad exercise (a short reason), or None when it is good."""
    graph = part.graph
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
        if d["op"] in ("div", "rdiv_const", "log", "sqrt", "pow_const", "pow") and _near_pole(d["op"], args, d, margin):
            return "too close to a pole"
        if d["op"] in ("sigmoid", "tanh") and abs(float(args[0])) > SATURATED:
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


def _near_pole(op: str, args: list[np.ndarray], d: dict[str, Any], margin: float) -> bool:
    if op == "div":
        return abs(float(args[1])) < margin
    if op == "pow":
        return float(args[0]) < margin
    if op == "pow_const":
        return float(d.get("param") or 0) < 1 and abs(float(args[0])) < margin
    return abs(float(args[0])) < margin


def _asked_numbers(part: Part, ev: Evaluation) -> list[float]:
    out: list[float] = []
    if "forward" in part.questions:
        out += [float(ev.values[n]) for n in part.graph.nodes if part.graph.kind(n) == "op"]
    if "backward" in part.questions:
        out += [float(x) for x in ev.edge_adjoints.values()]
    if "numeric" in part.questions:
        out += [float(ev.adjoints[n]) for n in part.numeric]
    return out
