"""Numbers for a graph: forward values and reverse-mode adjoints, float64, vectorised.

Forward values come from each gate's numpy forward; adjoints come from each gate's
*symbolic* local partials (:mod:`gradlab.ops`), compiled once per operation with
``sympy.lambdify``. So a wrong local derivative shows up here, while finite
differences (:mod:`gradlab.finite_diff`) and torch (:mod:`gradlab.torch_backend`)
stay independent of it.

Every value is an array of the batch shape: pass arrays to evaluate many points at once.

>>> from gradlab import Graph
>>> ev = evaluate(Graph.parse("f = (x + y)*z"), {"x": -2, "y": 5, "z": -4})
>>> float(ev.values["f"][()]), float(ev.adjoints["x"][()]), float(ev.adjoints["z"][()])
(-12.0, -4.0, 3.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from .errors import EvaluationError, Location
from .graph import Graph
from .ops import OPS, partial_functions

Edge = tuple[str, str, int]
Point = Mapping[str, Any]
#: ``watch(node, args, value)``: called by a forward pass for every gate it computes
Watcher = Callable[[str, list[np.ndarray], np.ndarray], None]


def point_values(graph: Graph, at: Point, *, allow_extra: bool = False) -> dict[str, np.ndarray]:
    """Check and convert the input values: every input given, numbers only, finite, one batch shape."""
    if not isinstance(at, Mapping):
        raise EvaluationError(f"values must be given as a mapping name -> number, got {type(at).__name__}")
    inputs = graph.inputs
    missing = [n for n in inputs if n not in at]
    if missing:
        raise EvaluationError(
            f"missing value for input{'s' * (len(missing) > 1)} {', '.join(repr(m) for m in missing)}"
            f" (the inputs are {', '.join(inputs)}; give each one, e.g. --at {missing[0]}=1)")
    is_input = set(inputs)  # a set: the check is linear in the inputs (a list made it quadratic)
    extra = [n for n in at if n not in is_input]
    if extra and not allow_extra:
        known = ", ".join(inputs) or "none"
        raise EvaluationError(f"'{extra[0]}' is not an input of the graph (its inputs: {known})")
    out: dict[str, np.ndarray] = {}
    for n in inputs:
        v = at[n]
        if isinstance(v, bool) or isinstance(v, str):
            raise EvaluationError(f"the value of '{n}' must be a number, got {v!r}", Location(node=n))
        try:
            arr = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError):
            raise EvaluationError(f"the value of '{n}' must be a number, got {v!r}", Location(node=n)) from None
        if not np.all(np.isfinite(arr)):
            raise EvaluationError(f"the value of '{n}' is not a finite number ({v!r})", Location(node=n))
        out[n] = arr
    try:
        shape = np.broadcast_shapes(*(a.shape for a in out.values())) if out else ()
    except ValueError:
        shapes = {n: a.shape for n, a in out.items()}
        raise EvaluationError(f"the input values have shapes that do not fit together: {shapes}") from None
    return {n: np.broadcast_to(a, shape).astype(np.float64) for n, a in out.items()}


def _fmt_bad(x: np.ndarray) -> str:
    flat = np.ravel(x)
    return ", ".join(f"{v:.6g}" for v in flat[:3]) + (" ..." if flat.size > 3 else "")


def _forward_error(graph: Graph, node: str, args: list[np.ndarray], result: np.ndarray) -> EvaluationError:
    d = graph.attrs(node)
    op = OPS[d["op"]]
    reason = op.domain(args, d.get("param")) if op.domain else None
    bad = "nan" if np.any(np.isnan(result)) else "inf"
    if reason is None:
        reason = f"the gate {d['label']} produced {bad}"
    arg_text = "; ".join(f"{a} = {_fmt_bad(v)}" for a, v in zip(graph.args(node), args))
    return EvaluationError(f"{reason} at {graph.describe(node)}, where {arg_text} (the first node that gives {bad})",
                           graph.where(node))


def forward(graph: Graph, at: Point, *, keep: bool = True) -> dict[str, np.ndarray]:
    """Every node's value at the point(s) ``at`` (or only the output's, with ``keep=False``, freeing memory)."""
    if graph.is_tensor:  # vectors and matrices: each value an array of its node's shape
        from . import tensor_numeric

        return tensor_numeric.forward(graph, at)
    pts = point_values(graph, at)
    shape = next(iter(pts.values())).shape if pts else ()
    return forward_lazy(graph, pts.__getitem__, shape, keep=keep)


def forward_lazy(graph: Graph, make_input: Callable[[str], np.ndarray], shape: tuple[int, ...], *,
                 keep: bool = True, check: bool = True, watch: Watcher | None = None) -> dict[str, np.ndarray]:
    """The forward pass with input arrays made on first use by ``make_input(name)`` (already checked).

    With ``keep=False`` every value is dropped after its last use, so a long chain evaluated at
    thousands of perturbed points at once (finite differences) needs little memory. With
    ``check=False`` non-finite values are kept; ``watch(node, args, value)`` sees each gate's
    arguments and value as they are computed (finite differences watch the domain edges). A tensor
    graph's inputs carry the batch as their leading axes (``shape``), and every value is kept.
    """
    if graph.is_tensor:
        from . import tensor_numeric

        inputs = {n: make_input(n) for n in graph.inputs}
        return tensor_numeric.forward(graph, inputs=inputs, check=check, watch=watch)
    values: dict[str, np.ndarray] = {}
    remaining = {n: graph.nx.out_degree(n) for n in graph.nodes} if not keep else {}
    out_node = graph.output
    with np.errstate(all="ignore"):
        for n in graph.nodes:
            d = graph.attrs(n)
            if d["kind"] == "input":
                if keep or n == out_node:
                    values[n] = make_input(n)
                continue
            if d["kind"] == "const":
                values[n] = np.full(shape, float(d["value"]))
                continue
            arg_names = graph.args(n)
            if not keep:
                for a in arg_names:
                    if a not in values:
                        values[a] = make_input(a)
            args = [values[a] for a in arg_names]
            r = np.asarray(OPS[d["op"]].np_fn(args, d.get("param")), dtype=np.float64)
            if r.shape != shape:
                r = np.broadcast_to(r, shape).copy()
            if check and not np.all(np.isfinite(r)):
                raise _forward_error(graph, n, args, r)
            if watch is not None:
                watch(n, args, r)
            values[n] = r
            if not keep:
                for a in set(arg_names):
                    remaining[a] -= 1
                    if remaining[a] == 0 and a != out_node:
                        del values[a]
    if not keep:
        return {out_node: values[out_node]}
    return values


# ------------------------------------------------------------------------- local partials


def local_partials(graph: Graph, node: str, values: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    """d node / d argument_k for each argument, at the given node values (textbook formulas)."""
    d = graph.attrs(node)
    args = [values[a] for a in graph.args(node)]
    shape = values[node].shape
    param = d.get("param")
    c = 0.0 if param is None else float(param)
    with np.errstate(all="ignore"):
        return [np.broadcast_to(np.asarray(f(*args, values[node], c), dtype=np.float64), shape)
                for f in partial_functions(OPS[d["op"]])]


@dataclass
class Evaluation:
    """Forward values and adjoints (d output / d node) of every node and every wire."""

    graph: Graph
    values: dict[str, np.ndarray]
    adjoints: dict[str, np.ndarray]
    edge_adjoints: dict[Edge, np.ndarray] = field(default_factory=dict)
    local: dict[Edge, np.ndarray] = field(default_factory=dict)

    @property
    def output(self) -> np.ndarray:
        return self.values[self.graph.output]

    def grad(self, name: str) -> np.ndarray:
        """d output / d ``name`` (an input or any node)."""
        return self.adjoints[name]


def backward(graph: Graph, values: Mapping[str, np.ndarray], *,
             overrides: Mapping[Edge, float] | None = None) -> Evaluation:
    """Reverse accumulation: each node's adjoint is the sum over its out-wires of the
    downstream adjoint times the local partial (gradients add up at forks).

    ``overrides`` replaces chosen local partials (used to show kink conventions).
    """
    if graph.is_tensor:
        from . import tensor_numeric

        return tensor_numeric.backward(graph, values, overrides=overrides)
    out = graph.output
    shape = values[out].shape
    adjoints: dict[str, np.ndarray] = {n: np.zeros(shape) for n in graph.nodes}
    adjoints[out] = np.ones(shape)
    edge_adj: dict[Edge, np.ndarray] = {}
    local: dict[Edge, np.ndarray] = {}
    overrides = overrides or {}
    with np.errstate(all="ignore"):
        for v in reversed(graph.nodes):
            d = graph.attrs(v)
            if d["kind"] != "op":
                continue
            parts = local_partials(graph, v, values)
            for k, u in enumerate(graph.args(v)):
                e = (u, v, k)
                lp = parts[k]
                if e in overrides:
                    lp = np.full(shape, float(overrides[e]))
                local[e] = lp
                if not np.all(np.isfinite(lp)):
                    op = OPS[d["op"]]
                    arg_vals = [values[a] for a in graph.args(v)]
                    reason = op.domain(arg_vals, d.get("param")) if op.domain else None
                    at_text = "; ".join(f"{a} = {_fmt_bad(x)}" for a, x in zip(graph.args(v), arg_vals))
                    raise EvaluationError(
                        (f"{reason}: " if reason else "")
                        + f"the local derivative of {graph.describe(v)} with respect to its argument {u} is not "
                        f"finite ({_fmt_bad(lp)}) where {at_text}", graph.where(v))
                contribution = adjoints[v] * lp
                edge_adj[e] = contribution
                adjoints[u] = adjoints[u] + contribution
    return Evaluation(graph, dict(values), adjoints, edge_adj, local)


def evaluate(graph: Graph, at: Point) -> Evaluation:
    """Forward and backward pass at ``at``: ``evaluate(g, {"x": 1.0}).adjoints["x"]``."""
    return backward(graph, forward(graph, at))


def scalar(x: np.ndarray | float) -> float:
    """A 0-d (or size-1) array as a Python float."""
    a = np.asarray(x)
    if a.size != 1:
        raise ValueError("expected one value")
    return float(a.reshape(()))


def is_close(a: float, b: float, rtol: float, atol: float) -> bool:
    """Symmetric closeness: |a - b| <= atol + rtol * max(|a|, |b|)."""
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))


def rel_error(a: float, b: float) -> float:
    """|a - b| / max(|a|, |b|), 0 when both are 0."""
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale if math.isfinite(scale) else math.inf
