"""Gates evaluated on (or near) a kink of relu, abs, max or min: :func:`find_kinks`, one step of
:func:`gradlab.gradients`. A number is the 0-d case: a vector gate is on its kink where any entry is.

>>> from gradlab import Graph
>>> from gradlab.engine.numeric import forward
>>> g = Graph.parse("s = w*x + b; f = 2*relu(s)")
>>> [(k.node, k.exact, k.affected) for k in find_kinks(g, forward(g, dict(w=2, x=1, b=-2)))]
[('t2', True, ['w', 'x', 't1', 'b', 's'])]
"""

from __future__ import annotations

from typing import Any, Mapping

import networkx as nx
import numpy as np

from ..model.graph import Graph
from ..ops import op_for
from ..ops.tensor import TensorOp, expand
from .results import KinkResult, Tolerances, Value


def as_value(a: Any) -> Value:
    """A float for a 0-d array (a number's value), else a float64 array."""
    if type(a) is float:  # torch's adjoints of a graph of numbers: already one
        return a
    arr = np.asarray(a, dtype=np.float64)
    return float(arr) if arr.ndim == 0 else arr


def find_kinks(graph: Graph, values: Mapping[str, np.ndarray], tol: Tolerances | None = None) -> list[KinkResult]:
    """Elementwise gates with a kink (relu, abs, max, min) whose arguments sit on (or, relative to their size,
    within ``tol.near_kink`` of) the kink, with what each convention gives there and the nodes upstream."""
    tol = tol or Tolerances()
    found = []
    tensor = graph.is_tensor
    order: dict[str, int] = {}  # each node's position, made on the first kink
    for n in graph.op_nodes:
        d = graph.attrs(n)
        op = op_for(d["op"])
        if op is None or isinstance(op, TensorOp) or op.kink_distance is None:
            continue
        args = graph.args(n)
        arg_vals = [expand(values[a], graph.shape(a), graph.shape(n)) for a in args]
        dist = np.asarray(op.kink_distance(arg_vals, d.get("param")), dtype=np.float64)
        scale = 1.0 + np.max(np.abs(np.stack(np.broadcast_arrays(*arg_vals))), axis=0)
        near = dist <= tol.near_kink * scale
        if not np.any(near):
            continue
        exact = bool(np.any(dist == 0.0))
        order = order or {v: i for i, v in enumerate(graph.nodes)}
        affected = sorted(nx.ancestors(graph.nx, n), key=order.__getitem__)
        conv = op.conventions(d.get("param"))
        note = (_tensor_note(graph, n, near, exact) if tensor
                else _note(graph, n, arg_vals, float(dist), exact, conv))
        found.append(KinkResult(n, d["op"], {a: as_value(v) for a, v in zip(args, arg_vals)}, float(np.min(dist)),
                                exact, conv, affected, note))
    return found


def _note(graph: Graph, n: str, arg_vals: list[np.ndarray], dist: float, exact: bool,
          conv: Mapping[str, Any]) -> str:
    """What a kink of a graph of numbers means, with each convention's value."""
    d = graph.attrs(n)
    what = f"{d['label']}({', '.join(f'{a}={float(v):g}' for a, v in zip(graph.args(n), arg_vals))})"
    if exact:
        return (f"{what} sits on its kink: the derivative is not defined there. SymPy's convention "
                f"(Heaviside(0) = 1/2) gives {conv.get('sympy')}, torch gives {conv.get('torch')}, "
                f"one-sided slopes {conv.get('left')} (left) and {conv.get('right')} (right). "
                "Differences between methods upstream of this gate are expected, not errors.")
    return (f"{what} is within {dist:.3g} of its kink: finite differences may straddle it, "
            "so a finite-difference mismatch upstream is not counted as an error.")


def _tensor_note(graph: Graph, n: str, near: np.ndarray, exact: bool) -> str:
    """What a kink of a vector or matrix gate means, with the first entries on (or near) it."""
    where = [list(map(int, i)) for i in np.argwhere(near)][:5]
    return (f"{graph.attrs(n)['label']} at {graph.describe(n)} has entries {'on' if exact else 'near'} its kink (at "
            f"{where}): the derivative there depends on the convention (SymPy's Heaviside(0) = 1/2, torch's 0), "
            "so differences between methods upstream of this gate are expected, not errors.")
