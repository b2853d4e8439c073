"""Numbers for tensor graphs: forward values, reverse-mode adjoints and finite differences.

Each node's value is a float64 array of the node's shape (a vector ``(n,)``, a matrix ``(m, n)``,
``()`` for a number), with optional leading batch axes for many points at once; its adjoint
(d output / d node) has the same shape. The backward pass applies each gate's VJP
(:mod:`gradlab.tensor_ops`; elementwise gates use their textbook local partials), and sums the
shares at forks, as the scalar engine does. Finite differences (one method for every graph) are
:mod:`gradlab.finite_diff`'s, re-exported here.

>>> from gradlab import Graph
>>> g = Graph.parse("x: (2,); A: (2, 2); f = sum(tanh(A @ x))")
>>> ev = evaluate(g, {"x": [1.0, 2.0], "A": [[0.5, 0.0], [0.0, -0.25]]})
>>> ev.values["t1"], ev.adjoints["x"].round(6)
(array([ 0.5, -0.5]), array([ 0.393224, -0.196612]))
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .errors import EvaluationError, Location, ShapeError
from .finite_diff import FDEstimate, finite_difference_estimates, finite_differences  # one method for every graph
from .graph import Graph
from .numeric import Evaluation, Watcher  # the same result as a scalar graph's: arrays of any shape
from .tensor_ops import TensorOp, batch_of, forward_values, gate_op, shape_text, vjp_values

Edge = tuple[str, str, int]


def input_value(graph: Graph, name: str, value: Any, *, batch: bool = False) -> np.ndarray:
    """One input's value as a float array of its shape (a column vector may be given as a list,
    or as an n x 1 nested list); with ``batch=True`` leading batch axes are allowed."""
    shape = graph.shape(name)
    where = Location(node=name)
    if isinstance(value, (bool, str)) or value is None:
        raise EvaluationError(f"the value of '{name}' must be {'a number' if shape == () else 'an array'}, "
                              f"got {value!r}", where)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise EvaluationError(f"the value of '{name}' must be {'a number' if shape == () else 'an array of numbers'}"
                              f" (nested lists of equal length), got {_short(value)}", where) from None
    if not np.all(np.isfinite(arr)):
        raise EvaluationError(f"the value of '{name}' is not finite ({_short(value)})", where)
    ok_shapes = {shape}
    if len(shape) == 1:
        ok_shapes.add((shape[0], 1))
    if shape == ():
        ok_shapes |= {(1,), (1, 1)}
    if len(shape) == 2 and shape[0] == 1:
        ok_shapes.add((shape[1],))  # a row vector may be written as a flat list
    for s in ok_shapes:
        n = len(s)
        if arr.shape[arr.ndim - n:] == s and (batch or arr.ndim == n):
            b = arr.shape[: arr.ndim - n]
            return arr.reshape(b + shape)
    raise ShapeError(f"the value of '{name}' has shape {arr.shape}, but '{name}' is {shape_text(shape)}", where)


def _short(v: Any) -> str:
    s = repr(v)
    return s if len(s) < 60 else s[:57] + "..."


def point_values(graph: Graph, at: Mapping[str, Any], *, batch: bool = False) -> dict[str, np.ndarray]:
    """Check and convert the input values of a tensor graph (every input given, shapes right)."""
    if not isinstance(at, Mapping):
        raise EvaluationError(f"values must be given as a mapping name -> value, got {type(at).__name__}")
    inputs = graph.inputs
    missing = [n for n in inputs if n not in at]
    if missing:
        raise EvaluationError(f"missing value for input{'s' * (len(missing) > 1)} "
                              f"{', '.join(repr(m) for m in missing)} (the inputs are {', '.join(inputs)})")
    extra = [n for n in at if n not in inputs]
    if extra:
        raise EvaluationError(f"'{extra[0]}' is not an input of the graph (its inputs: {', '.join(inputs)})")
    out = {n: input_value(graph, n, at[n], batch=batch) for n in inputs}
    batches = {n: batch_of(v, graph.shape(n)) for n, v in out.items()}
    try:
        common = tuple(np.broadcast_shapes(*batches.values())) if batches else ()
    except ValueError:
        raise EvaluationError(f"the batches of the input values do not fit together: {batches}") from None
    return {n: np.broadcast_to(v, common + graph.shape(n)).copy() if batches[n] != common else v
            for n, v in out.items()}


def _describe_bad(graph: Graph, node: str, args: list[np.ndarray], result: np.ndarray) -> EvaluationError:
    d = graph.attrs(node)
    op = gate_op(d["op"])
    reason = None
    if op.domain is not None and not isinstance(op, TensorOp):
        try:
            reason = op.domain(args, d.get("param"))
        except (ValueError, TypeError):  # pragma: no cover - shapes that a scalar domain check cannot read
            reason = None
    bad = "nan" if np.any(np.isnan(result)) else "inf"
    reason = reason or f"the gate {d['label']} produced {bad}"
    return EvaluationError(f"{reason} at {graph.describe(node)} (the first node that gives {bad})", graph.where(node))


def forward(graph: Graph, at: Mapping[str, Any] | None = None, *, inputs: Mapping[str, np.ndarray] | None = None,
            check: bool = True, batch: bool = False, watch: Watcher | None = None) -> dict[str, np.ndarray]:
    """Every node's value. ``at`` maps inputs to values (checked); ``inputs`` are already-checked arrays.
    With ``check=False`` non-finite values are kept (for screening random points); ``watch(node, args,
    value)`` sees each gate's arguments and value as they are computed."""
    vals = dict(inputs) if inputs is not None else point_values(graph, at or {}, batch=batch)
    first = graph.inputs[0] if graph.inputs else None
    b = batch_of(vals[first], graph.shape(first)) if first else ()
    values: dict[str, np.ndarray] = {}
    with np.errstate(all="ignore"):
        for n in graph.nodes:
            d = graph.attrs(n)
            if d["kind"] == "input":
                values[n] = vals[n]
                continue
            if d["kind"] == "const":
                values[n] = np.full(b, float(d["value"]))
                continue
            args = [values[a] for a in graph.args(n)]
            shapes = [graph.shape(a) for a in graph.args(n)]
            r = np.asarray(forward_values(d["op"], args, shapes, d.get("param"), graph.shape(n)), dtype=np.float64)
            want = b + graph.shape(n)
            if r.shape != want:
                r = np.broadcast_to(r, want).copy()
            if check and not np.all(np.isfinite(r)):
                raise _describe_bad(graph, n, args, r)
            if watch is not None:
                watch(n, args, r)
            values[n] = r
    return values


def backward(graph: Graph, values: Mapping[str, np.ndarray], *, seeds: Mapping[str, np.ndarray] | None = None,
             identity: frozenset[str] | set[str] = frozenset(), overrides: Mapping[Edge, float] | None = None,
             check: bool = True) -> Evaluation:
    """Reverse accumulation through every gate's VJP.

    ``seeds`` start the pass from given adjoints (default: 1 at the output, which must be a
    number); ``identity`` names one-argument gates whose local derivative is replaced by 1, and
    ``overrides`` replaces chosen local partials of elementwise gates by a constant (what a
    student who forgets a derivative computes, or a kink convention).
    """
    out = graph.output
    ob = batch_of(values[out], graph.shape(out))
    if seeds is None:
        if graph.shape(out) != ():
            raise ShapeError(f"the output '{out}' is {shape_text(graph.shape(out))}; gradients need a number "
                             f"(a loss), e.g. L = sum({out})", graph.where(out))
        seeds = {out: np.ones(ob)}
    adjoints: dict[str, np.ndarray] = {}
    edge_adj: dict[Edge, np.ndarray] = {}
    local: dict[Edge, np.ndarray] = {}
    overrides = overrides or {}
    for n, s in seeds.items():
        adjoints[n] = np.broadcast_to(np.asarray(s, dtype=np.float64), ob + graph.shape(n)).copy()
    with np.errstate(all="ignore"):
        for v in reversed(graph.nodes):
            d = graph.attrs(v)
            if d["kind"] != "op" or v not in adjoints:
                continue
            g = adjoints[v]
            args = graph.args(v)
            arg_vals = [values[a] for a in args]
            shapes = [graph.shape(a) for a in args]
            edges = [(u, v, k) for k, u in enumerate(args)]
            if any(e in overrides for e in edges) and not isinstance(gate_op(d["op"]), TensorOp):
                from .tensor_ops import elementwise_partials, unbroadcast

                parts = elementwise_partials(gate_op(d["op"]), arg_vals, values[v], shapes, d.get("param"),
                                             graph.shape(v))
                parts = [np.full(np.shape(values[v]), float(overrides[e])) if e in overrides else lp
                         for e, lp in zip(edges, parts)]
                shares = [unbroadcast(g * lp, graph.shape(v), s) for lp, s in zip(parts, shapes)]
            else:
                shares = vjp_values(d["op"], g, arg_vals, values[v], shapes, d.get("param"), graph.shape(v),
                                    identity=v in identity)
            for e, share in zip(edges, shares):
                share = np.broadcast_to(np.asarray(share, dtype=np.float64), ob + graph.shape(e[0]))
                if check and not np.all(np.isfinite(share)):
                    raise EvaluationError(
                        f"the derivative of {graph.describe(v)} with respect to its argument {e[0]} is not finite",
                        graph.where(v))
                edge_adj[e] = share
                adjoints[e[0]] = adjoints[e[0]] + share if e[0] in adjoints else share.copy()
    for n in graph.nodes:
        if n not in adjoints:
            adjoints[n] = np.zeros(ob + graph.shape(n))
    return Evaluation(graph, dict(values), adjoints, edge_adj, local)


def evaluate(graph: Graph, at: Mapping[str, Any]) -> Evaluation:
    """Forward and backward pass at one point: ``evaluate(g, {"x": [1, 2], "A": [[...]]}).adjoints["A"]``."""
    return backward(graph, forward(graph, at))


__all__ = ["forward", "backward", "evaluate", "Evaluation", "point_values", "input_value",
           "finite_difference_estimates", "finite_differences", "FDEstimate"]
