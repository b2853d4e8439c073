"""Where the methods first disagree, in backward order, and which gate is to blame: :func:`find_blame`,
one step of :func:`gradlab.gradients`.

The first node (from the output back) whose adjoint disagrees with torch's is where a wrong derivative
enters. In a graph of numbers each of its consumer gates' local partial is then compared three ways
(symbolic, torch, finite differences of the gate alone), naming the gate and argument; when all agree, the
sum over its out-wires is what is wrong. When only finite differences disagree, the point is suspect.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..engine.closeness import close
from ..engine.finite_diff import finite_difference_estimates
from ..engine.numeric import local_partials
from ..model.graph import Graph
from .results import Blame, InputResult, NodeResult

#: Local partials of one gate agree within this (relative, absolute).
LOCAL_RTOL, LOCAL_ATOL = 1e-7, 1e-9
#: torch "agrees" with a gradient within this relative error (the default torch tolerance).
TORCH_AGREES = 1e-9


def find_blame(graph: Graph, values: Mapping[str, np.ndarray], inputs: Mapping[str, InputResult],
               nodes: Sequence[NodeResult], excluded: set[str] | frozenset[str] = frozenset()) -> Blame | None:
    """The first node in backward order whose adjoint disagrees with torch's (``nodes`` judged, ``excluded``
    nodes sit on a kink), and the gate whose local partial is wrong; else the first input that disagrees
    with finite differences; None when every input and node is ok."""
    first = next((r for r in reversed(nodes) if not r.ok and r.id not in excluded), None)
    if first is None:
        bad = next((r for r in inputs.values() if not r.ok), None)
        return None if bad is None else _fd_blame(graph, bad)
    if graph.is_tensor:
        return Blame(first.id, f"first disagreement in backward order at {graph.describe(first.id)}: the adjoints by "
                               f"gradlab's VJPs and by torch differ (largest relative error {first.rel_err:.3g})")
    return _gate_blame(graph, values, first)


def _torch_says(r: InputResult) -> str:
    """What torch says of an input's gradient, truly: it agrees, it differs, or it did not run."""
    if r.torch is None:
        return "(torch did not run)"
    if r.grad is not None and r.torch_rel_err is not None and r.torch_rel_err <= TORCH_AGREES:
        return "while torch agrees"
    return f"and torch differs too (relative error {r.torch_rel_err:.3g})"


def _fd_blame(graph: Graph, r: InputResult) -> Blame:
    """The first input whose gradient disagrees with finite differences, and what torch says: the point is
    suspect (a pole, a kink) where torch agrees."""
    if graph.is_tensor:
        return Blame(r.name, f"d{graph.output}/d{r.name}: finite differences disagree {_torch_says(r)} "
                             f"(largest relative error {r.fd_rel_err:.3g}); is the point near a pole?")
    fd = "-" if r.fd is None else f"{r.fd:.6g}"
    return Blame(r.name, f"d {graph.output}/d {r.name}: the gradient {r.grad:.6g} disagrees with finite "
                         f"differences {fd} {_torch_says(r)}; check the point is not near a pole or kink")


def _gate_blame(graph: Graph, values: Mapping[str, np.ndarray], first: NodeResult) -> Blame:
    """Which consumer gate of ``first`` has a wrong local derivative (a graph of numbers)."""
    from ..engine.torch_backend import torch_local_partials

    n = first.id
    for v, k in sorted(graph.consumers(n), key=lambda vk: graph.nodes.index(vk[0])):
        sym_local = float(local_partials(graph, v, values)[k])
        t_local = torch_local_partials(graph, v, values)[k]
        fd_local = _fd_local(graph, v, k, values)
        if not close(sym_local, t_local, LOCAL_RTOL, LOCAL_ATOL):
            msg = (f"first disagreement in backward order at {graph.describe(n)}: adjoint "
                   f"{first.grad:.6g} (symbolic) vs {first.torch:.6g} (torch). "
                   f"Its consumer {graph.describe(v)} has a wrong local derivative for argument {k}: "
                   f"symbolic {sym_local:.6g}, torch {t_local:.6g}, finite differences {fd_local:.6g}")
            return Blame(n, msg, v, k, sym_local, t_local, fd_local)
    head = (f"first disagreement in backward order at {graph.describe(n)}: adjoint {first.grad:.6g} "
            f"(symbolic) vs {first.torch:.6g} (torch)")
    if len(graph.consumers(n)) > 1:
        return Blame(n, f"{head}; the local derivatives of its consumers agree, so the sum over its out-wires is "
                        "wrong (gradients must add up at a fork)")
    return Blame(n, f"{head}; the local derivative of its one consumer agrees, so the two adjoints differ by "
                    "rounding in float64 (a value that cancels or underflows on the way)")


def _fd_local(graph: Graph, v: str, k: int, values: Mapping[str, np.ndarray]) -> float:
    """d gate / d its argument k by finite differences of the gate alone, at its argument values."""
    d = graph.attrs(v)
    gate = Graph()
    args = [gate.input(f"a{i}") for i in range(len(graph.args(v)))]
    gate.set_output(gate.apply(d["op"], *args, param=d.get("param")))
    at = {f"a{i}": float(values[a]) for i, a in enumerate(graph.args(v))}
    return float(finite_difference_estimates(gate, at, inputs=[f"a{k}"])[f"a{k}"].value)
