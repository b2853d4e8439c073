"""Numbers for any graph: forward values and reverse-mode adjoints, float64, vectorised. One engine:
a number is the 0-d case (shape ``()``) of a vector ``(n,)`` or a matrix ``(m, n)``.

Each node's value is a float64 array of the node's shape, with optional leading *batch* axes for
many points at once (a graph of numbers takes arrays of any shape: each is a batch); its adjoint
(d output / d node) has the same shape. The forward pass runs each gate's numpy forward; the
backward pass runs each gate's VJP, and an elementwise gate's VJP is its *symbolic* local partials
(:mod:`gradlab.ops`, compiled once per operation) times the adjoint. So a wrong local derivative
shows up here, while finite differences (:mod:`gradlab.engine.finite_diff`) and torch
(:mod:`gradlab.engine.torch_backend`) stay independent of it. Shares add up at forks.

>>> from gradlab import Graph
>>> ev = evaluate(Graph.parse("f = (x + y)*z"), {"x": -2, "y": 5, "z": -4})
>>> float(ev.values["f"][()]), float(ev.adjoints["x"][()]), float(ev.adjoints["z"][()])
(-12.0, -4.0, 3.0)
>>> g = Graph.parse("x: (2,); A: (2, 2); f = sum(tanh(A @ x))")
>>> ev = evaluate(g, {"x": [1.0, 2.0], "A": [[0.5, 0.0], [0.0, -0.25]]})
>>> ev.values["t1"], ev.adjoints["x"].round(6)
(array([ 0.5, -0.5]), array([ 0.393224, -0.196612]))
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import EvaluationError, Location, ShapeError
from ..model.graph import Graph
from ..ops.tensor import (
    TensorOp,
    batch_of,
    elementwise_forward,
    elementwise_partials,
    forward_values,
    gate_op,
    shape_text,
    unbroadcast,
    vjp_values,
)
from .plan import Plan, plan_of

Edge = tuple[str, str, int]
Point = Mapping[str, Any]
Shape = tuple[int, ...]
#: ``watch(node, args, value)``: called by a forward pass for every gate it computes
Watcher = Callable[[str, list[np.ndarray], np.ndarray], None]


# ------------------------------------------------------------------------------------------ input values


def _short(v: Any) -> str:
    s = repr(v)
    return s if len(s) < 60 else s[:57] + "..."


def input_value(graph: Graph, name: str, value: Any, *, batch: bool = False) -> np.ndarray:
    """One input's value as a float array of its shape (a column vector may be given as a list, or as an
    n x 1 nested list); with ``batch=True`` leading batch axes are allowed."""
    shape = graph.shape(name)
    where = Location(node=name)
    what = "a number" if shape == () else "an array"
    if isinstance(value, (bool, str)) or value is None:
        raise EvaluationError(f"the value of '{name}' must be {what}, got {_short(value)}", where)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, RecursionError):
        lists = "" if shape == () else " of numbers (nested lists of equal length)"
        raise EvaluationError(f"the value of '{name}' must be {what}{lists}, got {_short(value)}", where) from None
    if not np.all(np.isfinite(arr)):
        raise EvaluationError(f"the value of '{name}' is not {'a finite number' if shape == () else 'finite'} "
                              f"({_short(value)})", where)
    ok_shapes = [shape]  # the exact shape first: a batch of numbers is any array
    if len(shape) == 1:
        ok_shapes.append((shape[0], 1))
    if shape == ():
        ok_shapes += [(1,), (1, 1)]
    if len(shape) == 2 and shape[0] == 1:
        ok_shapes.append((shape[1],))  # a row vector may be written as a flat list
    for s in ok_shapes:
        n = len(s)
        if arr.shape[arr.ndim - n:] == s and (batch or arr.ndim == n):
            out = arr.reshape(arr.shape[: arr.ndim - n] + shape)
            _check_label(graph, name, out, value)
            return out
    raise ShapeError(f"the value of '{name}' has shape {arr.shape}, but '{name}' is {shape_text(shape)}", where)


def _check_label(graph: Graph, name: str, arr: np.ndarray, value: Any) -> None:
    """A label declared ``onehot(n)`` must be one (one entry 1, the others 0; ``onehot(n, m)``: each column), one
    declared ``probs(n)`` a distribution (entries >= 0 summing to 1): the matrix forms shown for it
    (``softmax(z) - y``) hold only then."""
    domain = graph.attrs(name).get("domain")
    if domain not in ("onehot", "probs") or not graph.shape(name):
        return
    shape = graph.shape(name)
    axis = arr.ndim - len(shape)  # the classes: a vector's entries, a matrix's rows (one sample a column)
    if domain == "onehot":
        ok = bool(np.all((arr == 0) | (arr == 1)) and np.all(np.sum(arr, axis=axis) == 1))
        what = "is not one-hot (one entry 1, the others 0)"
    else:
        ok = bool(np.all(arr >= 0) and np.allclose(np.sum(arr, axis=axis), 1.0, rtol=0, atol=1e-9))
        what = "is not a distribution (entries >= 0 that sum to 1)"
    if not ok:
        dims = ", ".join(str(d) for d in shape)
        raise EvaluationError(f"'{name}' is declared {domain}({dims}), but its value {_short(value)} {what}; "
                              f"declare it '{name}: ({dims}{',' * (len(shape) == 1)})' for a label of any kind",
                              Location(node=name))


def point_values(graph: Graph, at: Point, *, batch: bool | None = None,
                 allow_extra: bool = False) -> dict[str, np.ndarray]:
    """Check and convert the input values: every input given, numbers only, finite, shapes right, one
    batch shape. ``batch`` allows leading batch axes (default: for a graph of numbers, whose values may
    be arrays of any shape)."""
    if not isinstance(at, Mapping):
        raise EvaluationError(f"values must be given as a mapping name -> value, got {type(at).__name__}")
    inputs = graph.inputs
    missing = [n for n in inputs if n not in at]
    if missing:
        example = f"; give each one, e.g. --at {missing[0]}=1" if graph.shape(missing[0]) == () else ""
        raise EvaluationError(
            f"missing value for input{'s' * (len(missing) > 1)} {', '.join(repr(m) for m in missing)}"
            f" (the inputs are {', '.join(inputs)}{example})")
    is_input = set(inputs)  # a set: the check is linear in the inputs (a list made it quadratic)
    extra = [n for n in at if n not in is_input]
    if extra and not allow_extra:
        raise EvaluationError(f"'{extra[0]}' is not an input of the graph (its inputs: {', '.join(inputs) or 'none'})")
    if not graph.is_tensor:
        numbers = _numbers(inputs, at)
        if numbers is not None:
            return numbers
    if batch is None:
        batch = not graph.is_tensor
    out = {n: input_value(graph, n, at[n], batch=batch) for n in inputs}
    batches = {n: batch_of(v, graph.shape(n)) for n, v in out.items()}
    try:
        common = tuple(np.broadcast_shapes(*batches.values())) if batches else ()
    except ValueError:
        raise EvaluationError(f"the input values have batch shapes that do not fit together: {batches}") from None
    return {n: np.broadcast_to(v, common + graph.shape(n)).copy() if batches[n] != common else v
            for n, v in out.items()}


def _numbers(inputs: list[str], at: Point) -> dict[str, np.ndarray] | None:
    """The point of a graph of numbers given finite numbers (or 0-d float arrays) only, without the checks
    :func:`input_value` makes of other values; None where any value needs them (or its error message)."""
    out = {}
    isfinite = math.isfinite
    for n in inputs:
        v = at[n]
        t = type(v)
        if t is float or t is np.float64 or (t is int and -2**53 <= v <= 2**53):
            x = float(v)
            if not isfinite(x):
                return None
            out[n] = np.array(x)
        elif t is np.ndarray and v.shape == () and v.dtype == np.float64 and isfinite(v[()]):
            out[n] = v.reshape(())
        else:
            return None
    return out


# ------------------------------------------------------------------------------------------ forward


def _fmt_bad(x: np.ndarray) -> str:
    flat = np.ravel(x)
    return ", ".join(f"{v:.6g}" for v in flat[:3]) + (" ..." if flat.size > 3 else "")


def _domain_reason(graph: Graph, node: str, args: list[np.ndarray]) -> str | None:
    """What the gate's domain says about its arguments (None where it has no rule)."""
    d = graph.attrs(node)
    op = gate_op(d["op"])
    if op.domain is None or isinstance(op, TensorOp):
        return None
    try:
        return op.domain(args, d.get("param"))
    except (ValueError, TypeError):  # pragma: no cover - shapes a domain rule cannot read
        return None


def _forward_error(graph: Graph, node: str, args: list[np.ndarray], result: np.ndarray) -> EvaluationError:
    bad = "nan" if np.any(np.isnan(result)) else "inf"
    reason = _domain_reason(graph, node, args) or f"the gate {graph.attrs(node)['label']} produced {bad}"
    arg_text = "; ".join(f"{a} = {_fmt_bad(v)}" for a, v in zip(graph.args(node), args))
    return EvaluationError(f"{reason} at {graph.describe(node)}, where {arg_text} (the first node that gives {bad})",
                           graph.where(node))


def forward(graph: Graph, at: Point | None = None, *, inputs: Mapping[str, np.ndarray] | None = None,
            keep: bool = True, check: bool = True, batch: bool | None = None,
            watch: Watcher | None = None) -> dict[str, np.ndarray]:
    """Every node's value at the point(s) ``at`` (checked by :func:`point_values`), or at ``inputs``, arrays
    already checked. ``keep=False`` returns only the output's value, freeing each value after its last use;
    ``check=False`` keeps non-finite values (to screen random points); ``watch(node, args, value)`` sees each
    gate's arguments and value as they are computed."""
    vals = dict(inputs) if inputs is not None else point_values(graph, at or {}, batch=batch)
    names = plan_of(graph).inputs
    first = names[0] if names else None
    b = batch_of(vals[first], graph.shape(first)) if first is not None else ()
    return forward_lazy(graph, vals.__getitem__, b, keep=keep, check=check, watch=watch)


def forward_lazy(graph: Graph, make_input: Callable[[str], np.ndarray], batch: Shape, *,
                 keep: bool = True, check: bool = True, watch: Watcher | None = None) -> dict[str, np.ndarray]:
    """The forward pass, written once for every graph, with input arrays (``batch`` + the input's shape,
    already checked) made on first use by ``make_input(name)``.

    With ``keep=False`` every value is dropped after its last use, so a long chain evaluated at thousands
    of perturbed points at once (finite differences) needs little memory.
    """
    plan = plan_of(graph)
    if batch == () and not plan.tensor and watch is None:
        return _forward_numbers(graph, plan, make_input, keep=keep, check=check)
    nodes, kinds, args_of, shapes, out = plan.nodes, plan.kind, plan.args, plan.shape, plan.output
    values: list[Any] = [None] * len(nodes)
    remaining = list(plan.uses)
    with np.errstate(all="ignore"):
        for i, n in enumerate(nodes):
            kind = kinds[i]
            if kind == "input":
                if keep or i == out:
                    values[i] = make_input(n)
                continue
            if kind == "const":
                values[i] = np.full(batch, plan.const[i])
                continue
            idx = args_of[i]
            if not keep:
                for j in idx:
                    if values[j] is None:
                        values[j] = make_input(nodes[j])
            args = [values[j] for j in idx]
            shape = shapes[i]
            op = plan.op[i]
            if plan.elementwise[i]:
                r = elementwise_forward(op, args, [shapes[j] for j in idx], plan.param[i], shape)  # type: ignore[arg-type]
            else:
                r = np.asarray(forward_values(plan.op_name[i], args, [shapes[j] for j in idx],  # type: ignore[arg-type]
                                              plan.param[i], shape), dtype=np.float64)
            if r.shape != batch + shape:
                r = np.broadcast_to(r, batch + shape).copy()
            if check and not np.isfinite(r).all():
                raise _forward_error(graph, n, args, r)
            if watch is not None:
                watch(n, args, r)
            values[i] = r
            if not keep:
                for j in set(idx):
                    remaining[j] -= 1
                    if remaining[j] == 0 and j != out:
                        values[j] = None
    if not keep:
        return {nodes[out]: values[out]}
    return dict(zip(nodes, values))


def _forward_numbers(graph: Graph, plan: Plan, make_input: Callable[[str], np.ndarray], *, keep: bool,
                     check: bool) -> dict[str, np.ndarray]:
    """The forward pass of a graph of numbers at one point: numpy scalars (numpy's arithmetic and functions, so the
    same numbers as arrays give, nan and inf included) with none of an array's overhead per gate."""
    nodes, kinds, args_of, ops, params, out = plan.nodes, plan.kind, plan.args, plan.op, plan.param, plan.output
    values: list[Any] = [None] * len(nodes)
    f64 = np.float64
    isfinite = math.isfinite
    with np.errstate(all="ignore"):
        for i, n in enumerate(nodes):
            kind = kinds[i]
            if kind == "input":
                values[i] = f64(make_input(n))
            elif kind == "const":
                values[i] = f64(plan.const[i])
            else:
                args = [values[j] for j in args_of[i]]
                r = ops[i].np_fn(args, params[i])  # type: ignore[union-attr]
                r = f64(r) if type(r) is not f64 else r
                if check and not isfinite(r):
                    raise _forward_error(graph, n, [np.asarray(a) for a in args], np.asarray(r))
                values[i] = r
    if not keep:
        return {nodes[out]: np.asarray(values[out])}
    return {n: np.asarray(v) for n, v in zip(nodes, values)}


# ------------------------------------------------------------------------------------------ backward


def local_partials(graph: Graph, node: str, values: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    """d node / d argument_k of an elementwise gate, entry by entry in the node's shape (textbook formulas)."""
    d = graph.attrs(node)
    args = graph.args(node)
    return elementwise_partials(gate_op(d["op"]), [values[a] for a in args], values[node],
                                [graph.shape(a) for a in args], d.get("param"), graph.shape(node))


@dataclass
class Evaluation:
    """Forward values and adjoints (d output / d node) of every node and every wire; ``local`` holds the
    local partial of every wire into an elementwise gate. (For a graph of numbers at one point the wires'
    shares and partials are numpy scalars, shape ``()``, rather than 0-d arrays.)"""

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


def backward(graph: Graph, values: Mapping[str, np.ndarray], *, seeds: Mapping[str, np.ndarray] | None = None,
             identity: frozenset[str] | set[str] = frozenset(),
             overrides: Mapping[Edge, float | np.ndarray] | None = None, check: bool = True) -> Evaluation:
    """Reverse accumulation, written once: each node's adjoint is the sum over its out-wires of the share its
    gate's VJP gives it (gradients add up at forks).

    ``seeds`` start the pass from given adjoints (default: 1 at the output, which must be a number; then every
    wire gets its share, 0 where it does not reach the output); ``identity`` names one-argument gates whose
    local derivative is replaced by 1, and ``overrides`` replaces chosen local partials of elementwise gates by
    a constant or by values at each point (what a student who forgets a derivative, or writes σ for σ', computes;
    or a kink convention).
    """
    plan = plan_of(graph)
    out = plan.output
    out_name = plan.nodes[out]
    shapes = plan.shape
    ob = batch_of(values[out_name], shapes[out])
    overrides = overrides or {}
    if seeds is None and shapes[out] != ():
        raise ShapeError(f"the output '{out_name}' is {shape_text(shapes[out])}; gradients need a number "
                         f"(a loss), e.g. L = sum({out_name})", graph.where(out_name))
    if seeds is None and ob == () and not plan.tensor and all(np.ndim(o) == 0 for o in overrides.values()):
        return _backward_numbers(graph, plan, values, identity, overrides, check)
    adjoints: dict[str, np.ndarray] = {}
    if seeds is None:
        adjoints = {n: np.zeros(ob + s) for n, s in zip(plan.nodes, shapes)}
        seeds = {out_name: np.ones(ob)}
    for n, s in seeds.items():
        adjoints[n] = np.broadcast_to(np.asarray(s, dtype=np.float64), ob + graph.shape(n)).copy()
    edge_adj: dict[Edge, np.ndarray] = {}
    local: dict[Edge, np.ndarray] = {}
    with np.errstate(all="ignore"):
        for i in reversed(plan.gates):
            v = plan.nodes[i]
            if v not in adjoints:
                continue
            g, shape, param = adjoints[v], shapes[i], plan.param[i]
            idx = plan.args[i]
            arg_vals = [values[plan.nodes[j]] for j in idx]
            arg_shapes = [shapes[j] for j in idx]
            edges = plan.edges_into(i)
            op = plan.op[i]
            assert op is not None
            if not plan.elementwise[i]:
                shares = vjp_values(plan.op_name[i], g, arg_vals, values[v], arg_shapes, param, shape,  # type: ignore[arg-type]
                                    identity=v in identity)
                if check:
                    for e, share in zip(edges, shares):
                        if not np.all(np.isfinite(share)):
                            raise EvaluationError(f"the derivative of {graph.describe(v)} with respect to its "
                                                  f"argument {e[0]} is not finite", graph.where(v))
            else:
                parts = [np.ones(np.shape(values[v]))] if v in identity else elementwise_partials(
                    op, arg_vals, values[v], arg_shapes, param, shape)
                for e, lp in zip(edges, parts):
                    if e in overrides:  # a constant, or values at each point (σ for σ·(1 − σ))
                        lp = np.broadcast_to(np.asarray(overrides[e], dtype=np.float64), np.shape(values[v])).copy()
                    if check and not np.all(np.isfinite(lp)):
                        raise _partial_error(graph, v, e[0], lp, arg_vals)
                    local[e] = lp
                shares = [unbroadcast(g * local[e], shape, s) for e, s in zip(edges, arg_shapes)]
            for e, share, j in zip(edges, shares, idx):
                want = ob + shapes[j]
                if np.shape(share) != want:
                    share = np.broadcast_to(np.asarray(share, dtype=np.float64), want)
                edge_adj[e] = share
                adjoints[e[0]] = adjoints[e[0]] + share if e[0] in adjoints else share.copy()
    for n, shape_n in zip(plan.nodes, shapes):
        if n not in adjoints:
            adjoints[n] = np.zeros(ob + shape_n)
    return Evaluation(graph, dict(values), adjoints, edge_adj, local)


def _backward_numbers(graph: Graph, plan: Plan, values: Mapping[str, np.ndarray],
                      identity: frozenset[str] | set[str], overrides: Mapping[Edge, float | np.ndarray],
                      check: bool) -> Evaluation:
    """:func:`backward` of a graph of numbers at one point from the output: numpy scalars, the same arithmetic
    (each wire's share is the adjoint times its compiled local partial), none of an array's overhead."""
    nodes = plan.nodes
    f64 = np.float64
    isfinite = math.isfinite
    vals = [f64(values[n]) for n in nodes]
    adj = [f64(0.0)] * len(nodes)
    adj[plan.output] = f64(1.0)
    edge_adj: dict[Edge, Any] = {}
    local: dict[Edge, Any] = {}
    one = f64(1.0)
    with np.errstate(all="ignore"):
        for i in reversed(plan.gates):
            v = nodes[i]
            idx = plan.args[i]
            edges = plan.edges_into(i)
            g = adj[i]
            if v in identity:
                parts: Any = [one] * len(idx)
            elif plan.elementwise[i]:
                c = 0.0 if plan.param[i] is None else float(plan.param[i])
                xs = [vals[j] for j in idx]
                parts = [f(*xs, vals[i], c) for f in plan.partials(i)]
            else:  # pragma: no cover - a graph of numbers has elementwise gates only
                raise AssertionError(v)
            for e, lp, j in zip(edges, parts, idx):
                if e in overrides:
                    lp = overrides[e]
                lp = f64(lp)
                if check and not isfinite(lp):
                    raise _partial_error(graph, v, e[0], np.asarray(lp), [np.asarray(vals[j]) for j in idx])
                local[e] = lp
                share = g * lp
                edge_adj[e] = share
                adj[j] = adj[j] + share
    as_array = np.asarray
    # the wires' shares and partials stay numpy scalars (shape (), the same numbers): a 0-d array costs three
    # times the memory, and a 100,000-gate chain has some 470,000 of them
    return Evaluation(graph, dict(values), {n: as_array(a) for n, a in zip(nodes, adj)}, edge_adj, local)


def _partial_error(graph: Graph, node: str, arg: str, lp: np.ndarray, arg_vals: list[np.ndarray]) -> EvaluationError:
    reason = _domain_reason(graph, node, arg_vals)
    at_text = "; ".join(f"{a} = {_fmt_bad(x)}" for a, x in zip(graph.args(node), arg_vals))
    return EvaluationError((f"{reason}: " if reason else "") + f"the local derivative of {graph.describe(node)} with "
                           f"respect to its argument {arg} is not finite ({_fmt_bad(lp)}) where {at_text}",
                           graph.where(node))


def evaluate(graph: Graph, at: Point) -> Evaluation:
    """Forward and backward pass at ``at``: ``evaluate(g, {"x": 1.0}).adjoints["x"]``."""
    return backward(graph, forward(graph, at))


# ------------------------------------------------------------------------------------------ comparing numbers


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
