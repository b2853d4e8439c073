"""The referee step of :func:`gradlab.gradients`: where float64 cannot decide, arbitrary precision does.

It runs only where needed (a graph of numbers): when the float64 methods disagree, when the finite differences'
own error estimate is large against the tolerance, or when a value or an adjoint lost its digits to
cancellation or underflow (:func:`gradlab.engine.referee.warnings`). Then each input's and node's exact
adjoint becomes its ``reference``, and the judgement follows it: a failure only where the graph's own
gradient (its gates' partials, chained) is wrong against the reference, and a verdict line for each method
that is off, saying why.

>>> from gradlab import gradients
>>> r = gradients("q = x + 1e8; f = q - 1e8", at={"x": 0.001})
>>> r.ok, r.inputs["x"].reference, r.inputs["x"].status
(True, 1.0, 'reference')
>>> print(r.referee.verdict[0])
df/dx: the gradient 1 is right (exact 1); finite differences 0.998... lose 11 digits to cancellation at node f (gate -100000000, 'q - 1e8')
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from ..engine.closeness import close
from ..engine.finite_diff import FDEstimate, scale_atol
from ..engine.numeric import Evaluation
from ..engine.referee import NotRefereeable, Reference, Warning_, referee, warnings
from ..model.graph import Graph
from .report import num
from .results import Blame, InputResult, NodeResult, RefereeResult, Tolerances, Value

#: The finite differences' error estimate counts as large above this multiple of the tolerance.
FD_NOISE = 1.0


def reasons(graph: Graph, ev: Evaluation, fd: Mapping[str, FDEstimate], inputs: Mapping[str, InputResult],
            nodes: Sequence[NodeResult], on_kink: set[str], tol: Tolerances) -> tuple[list[str], list[Warning_]]:
    """Why the referee must run (empty: it need not), and the float64 warnings (cheap: float64 only)."""
    if graph.is_tensor:
        return [], []
    why = []
    bad = [r.name for r in inputs.values() if not r.ok and r.name not in on_kink]
    bad += [r.id for r in nodes if not r.ok and r.id not in on_kink]
    if bad:
        why.append(f"the float64 methods disagree at {', '.join(dict.fromkeys(bad))}")
    fd_atol = scale_atol(tol.fd_atol, float(ev.output))
    noisy = [n for n, est in fd.items() if n not in on_kink and float(est.error) > FD_NOISE * (
        tol.fd_rtol * abs(float(ev.adjoints[n])) + fd_atol)]
    if noisy:
        why.append(f"the finite differences' error estimate is large at {', '.join(noisy)}")
    found = warnings(graph, ev)
    why += list(dict.fromkeys(w.text for w in found))
    return why, found


def referee_step(graph: Graph, ev: Evaluation, fd: Mapping[str, FDEstimate], inputs: Mapping[str, InputResult],
                 nodes: Sequence[NodeResult], on_kink: set[str], tol: Tolerances) -> RefereeResult | None:
    """Run the referee where needed and judge by it (``inputs`` and ``nodes`` get their ``reference``, and
    their verdict where it changes); None where nothing called for it."""
    why, found = reasons(graph, ev, fd, inputs, nodes, on_kink, tol)
    if not why:
        return None
    try:
        ref = referee(graph, {n: ev.values[n] for n in graph.inputs})
    except NotRefereeable as e:
        return RefereeResult(why, 0, False, [f"the referee could not run: {e}"])
    verdict: list[str] = []
    fd_atol = scale_atol(tol.fd_atol, float(ev.output))
    for r in inputs.values():
        if r.name in on_kink:
            continue
        r.reference = ref.grad(r.name)
        r.ok, r.status = _judge(r.ok, r.status, float(np.asarray(r.grad)), ref, r.name, tol, fd_atol)
        verdict += _explain(graph, r, ref, found, fd.get(r.name), tol, fd_atol)
    for n in nodes:
        if n.id in on_kink:
            continue
        n.reference = ref.grad(n.id)
        if n.torch is not None:  # a node is judged where torch gave its adjoint (the blame compares the two)
            n.ok, n.status = _judge(n.ok, n.status, float(np.asarray(n.grad)), ref, n.id, tol, fd_atol)
    if not ref.settled:
        verdict.append(f"the referee's digits did not settle by {ref.dps} digits: take its values with care")
    return RefereeResult(why, ref.dps, ref.settled, verdict)


def _judge(ok: bool, status: str, grad: float, ref: Reference, n: str, tol: Tolerances,
           fd_atol: float) -> tuple[bool, str]:
    """ok and status by the reference: right (``reference`` where float64 methods had disagreed), right in
    formula but rounded off by float64 (``rounding``), or wrong (``mismatch``)."""
    exact = ref.grad(n)
    if close(grad, exact, tol.fd_rtol, fd_atol):
        return True, status if ok else "reference"
    if close(ref.own_grad(n), exact, 1e-12, 0.0):
        return True, "rounding"
    return False, "mismatch"


def _cause(graph: Graph, found: Sequence[Warning_], kinds: tuple[str, ...]) -> str:
    """The float64 warning that explains the most lost digits, as a phrase."""
    ws = [w for w in found if w.kind in kinds]
    if not ws:
        return ""
    w = max(ws, key=lambda w: w.digits)
    where = graph.describe(w.node)
    if w.kind == "underflow":
        return f"float64 underflows at {where}"
    digits = "every digit" if math.isinf(w.digits) else f"{w.digits:.0f} digits"
    if w.kind == "fork":
        return f"lose {digits} where the shares of {w.node}'s adjoint cancel at its fork"
    return f"lose {digits} to cancellation at node {where}"


def _explain(graph: Graph, r: InputResult, ref: Reference, found: Sequence[Warning_], est: FDEstimate | None,
             tol: Tolerances, fd_atol: float) -> list[str]:
    """One line for the input: which method is right against the reference, and why the others are off."""
    exact = ref.grad(r.name)
    what = f"d{graph.output}/d{r.name}"
    grad = float(np.asarray(r.grad))
    off: list[str] = []
    if not close(grad, exact, tol.fd_rtol, 0.0):
        cause = _cause(graph, found, ("underflow", "fork", "cancellation")) or "float64 rounds it off"
        head = (f"{what}: the gradient {num(grad)} is off by float64 rounding (exact {num(exact, 4)}): {cause}"
                if r.status != "mismatch" else
                f"{what}: the gradient {num(grad)} is wrong (exact {num(exact, 4)})" + _wrong_gate(graph, ref))
    else:
        head = f"{what}: the gradient {num(grad)} is right (exact {num(exact)})"
    if r.fd is not None and not close(r.fd, exact, tol.fd_rtol, fd_atol):
        cause = _cause(graph, found, ("cancellation", "fork", "underflow")) or (
            f"their error estimate is {num(float(np.asarray(est.error)), 3)}" if est is not None else "")
        off.append(f"finite differences {num(_f(r.fd))} " + (cause if cause.startswith("lose") else
                                                           f"are off: {cause}" if cause else "are off"))
    if r.torch is not None and not close(r.torch, exact, tol.torch_rtol, tol.torch_atol) and \
            not close(r.torch, grad, tol.torch_rtol, tol.torch_atol):
        off.append(f"torch {num(_f(r.torch))} is off")
    return ["; ".join([head, *off])]


def _f(v: Value) -> float:
    return float(np.asarray(v))


def _wrong_gate(graph: Graph, ref: Reference) -> str:
    """Which gate's recorded partial differs from the exact derivative of its own form (first in backward order)."""
    if not ref.edges:
        return ""
    (u, v, k), (own, exact) = max(ref.edges.items(), key=lambda e: graph.nodes.index(e[0][1]))
    return (f": the local derivative of {graph.describe(v)} for argument {k} ({u}) is {num(float(own))}, "
            f"the exact derivative of its form {num(float(exact))}")


def referee_blame(graph: Graph, ref_result: RefereeResult | None, inputs: Mapping[str, InputResult]) -> Blame | None:
    """The blame where the referee found the graph's gradient wrong (None where it did not run or found nothing
    wrong)."""
    if ref_result is None or not ref_result.dps:
        return None
    bad = next((r for r in inputs.values() if r.reference is not None and not r.ok), None)
    if bad is None:
        return None
    line = next((v for v in ref_result.verdict if v.startswith(f"d{graph.output}/d{bad.name}:")), "")
    return Blame(bad.name, line or f"d{graph.output}/d{bad.name} is wrong against the high-precision reference")

