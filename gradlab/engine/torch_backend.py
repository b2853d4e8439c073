"""The graph as a torch function, for an independent check by autograd (float64), written once for
every graph: a number is a 0-d tensor.

Each gate runs torch's own forward (``*``, ``@``, ``softmax``, ``tanh``, ...) from its op record, and
torch's autograd differentiates the whole program: it knows nothing of gradlab's local partials or VJPs.

>>> from gradlab import Graph
>>> r = torch_gradients(Graph.parse("f = (x + y)*z"), {"x": -2, "y": 5, "z": -4})
>>> r.adjoints["x"], r.adjoints["z"]
(-4.0, 3.0)
>>> g = Graph.parse("x: (2,); A: (2, 2); f = sum(tanh(A @ x))")
>>> torch_gradients(g, {"x": [1.0, 2.0], "A": [[0.5, 0.0], [0.0, -0.25]]}).adjoints["x"].round(6)
array([ 0.393224, -0.196612])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Union

import numpy as np

from ..errors import GradlabError
from ..ops import Op
from ..ops.tensor import Shape, batch_of, gate_op, torch_values

if TYPE_CHECKING:
    from ..model.graph import Graph
    from .numeric import Point
    from .plan import Plan

# The graph, the point and the plan are imported where they are used: a torch child process
# (:mod:`.torch_process`) runs :func:`plan_gradients` on a :class:`TorchPlan` without loading networkx.


def _torch() -> Any:
    try:
        import torch
    except ImportError as e:  # pragma: no cover - torch is a requirement
        raise GradlabError("PyTorch is not installed: pip install torch (see README for the CPU wheel)") from e
    return torch


@dataclass
class TorchGradients:
    """Values and adjoints (d output / d node) by torch autograd: floats for a graph of numbers at one
    point, else arrays of the nodes' shapes (after any batch axes)."""

    values: dict[str, Any]
    adjoints: dict[str, Any]


@dataclass(frozen=True)
class TorchPlan:
    """What torch reads of a graph's :class:`~gradlab.engine.plan.Plan`, as plain data (gates by name, not their
    records) that pickles: sent to a torch child process. ``TorchPlan.of(plan_of(graph))``."""

    nodes: tuple[str, ...]
    kind: tuple[str, ...]
    op_name: tuple[str | None, ...]
    param: tuple[Any, ...]
    args: tuple[tuple[int, ...], ...]
    shape: tuple[Shape, ...]
    const: tuple[float | None, ...]
    input_index: tuple[int, ...]
    output: int
    tensor: bool
    elementwise: tuple[bool, ...]
    op: tuple[Op | None, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "op", tuple(None if n is None else gate_op(n) for n in self.op_name))

    def __reduce__(self) -> tuple[Any, ...]:  # the records are rebuilt from their names on the other side
        return TorchPlan, (self.nodes, self.kind, self.op_name, self.param, self.args, self.shape, self.const,
                           self.input_index, self.output, self.tensor, self.elementwise)

    @classmethod
    def of(cls, plan: Plan) -> TorchPlan:
        return cls(plan.nodes, plan.kind, plan.op_name, plan.param, plan.args, plan.shape, plan.const,
                   plan.input_index, plan.output, plan.tensor, plan.elementwise)


AnyPlan = Union["Plan", TorchPlan]


def torch_forward(graph: Graph, inputs: Mapping[str, Any], *, track_constants: bool = False) -> dict[str, Any]:
    """Every node's torch tensor from torch tensors for the inputs (differentiable; leading batch axes allowed).

    With ``track_constants`` the constant nodes are leaves that require a gradient too, so
    autograd reports d output / d constant (gradlab gives every node an adjoint).
    """
    from .plan import plan_of

    return _forward(plan_of(graph), inputs, track_constants)


def _forward(plan: AnyPlan, inputs: Mapping[str, Any], track_constants: bool) -> dict[str, Any]:
    torch = _torch()
    nodes, shapes = plan.nodes, plan.shape
    values: list[Any] = [inputs.get(n) for n in nodes]
    first = plan.input_index[0] if plan.input_index else None
    batch = tuple(values[first].shape[: values[first].dim() - len(shapes[first])]) if first is not None else ()
    for i, kind in enumerate(plan.kind):
        if kind == "input":
            continue
        if kind == "const":
            values[i] = torch.full(batch, plan.const[i], dtype=torch.float64, requires_grad=track_constants)
            continue
        idx = plan.args[i]
        args = [values[j] for j in idx]
        if plan.elementwise[i] and not plan.tensor:  # numbers: the record's torch forward, nothing to broadcast
            values[i] = plan.op[i].torch_fn(args, plan.param[i])  # type: ignore[union-attr]
        else:
            values[i] = torch_values(plan.op_name[i], args, [shapes[j] for j in idx],  # type: ignore[arg-type]
                                     plan.param[i], shapes[i])
    return dict(zip(nodes, values))


def torch_function(graph: Graph) -> Callable[..., Any]:
    """A plain function ``f(*inputs) -> output tensor``, e.g. for ``torch.autograd.gradcheck``."""

    def f(*args: Any) -> Any:
        return torch_forward(graph, dict(zip(graph.inputs, args)))[graph.output]

    f.__name__ = graph.output
    return f


def torch_gradients(graph: Graph, at: Point) -> TorchGradients:
    """Forward values and d output / d node for every node by autograd at ``at`` (a batch of points for a
    graph of numbers given arrays)."""
    from .numeric import point_values
    from .plan import plan_of

    return plan_gradients(plan_of(graph), point_values(graph, at))


def plan_gradients(plan: AnyPlan, pts: Mapping[str, np.ndarray], *, with_values: bool = True) -> TorchGradients:
    """:func:`torch_gradients` of a graph's plan (or its :class:`TorchPlan`) at a point its input values were
    checked for (:func:`~gradlab.engine.numeric.point_values`). With ``with_values=False`` only the adjoints are read
    back from torch (``values`` is left empty): what the gradient check compares."""
    torch = _torch()
    output = plan.nodes[plan.output]
    first = plan.input_index[0] if plan.input_index else None
    batch = batch_of(pts[plan.nodes[first]], plan.shape[first]) if first is not None else ()
    numbers = not plan.tensor and batch == ()
    if numbers:
        leaves = {n: torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for n, v in pts.items()}
    else:
        leaves = {n: torch.tensor(np.asarray(v), dtype=torch.float64, requires_grad=True) for n, v in pts.items()}
    with torch.enable_grad():
        values = _forward(plan, leaves, True)
        tensors = list(values.values())
        out = values[output]
        wanted = [i for i, t in enumerate(tensors) if t.requires_grad]
        grads: list[Any] = [None] * len(tensors)
        if out.requires_grad:  # every node's adjoint in one backward pass
            found = torch.autograd.grad(out.sum(), [tensors[i] for i in wanted], allow_unused=True)
            for i, g in zip(wanted, found):
                grads[i] = g
    names = list(values)
    out_i = plan.output
    if numbers:  # one conversion for all nodes: floats
        zero = torch.zeros((), dtype=torch.float64)
        with torch.no_grad():
            vals_f = torch.stack(tensors).tolist() if with_values else []
            adj_f = torch.stack([zero if g is None else g for g in grads]).tolist()
        adj_f[out_i] = 1.0
        return TorchGradients(dict(zip(names, vals_f)), dict(zip(names, adj_f)))

    def conv(i: int, t: Any) -> Any:
        return np.array(np.broadcast_to(t.detach().numpy().astype(np.float64), batch + plan.shape[i]))

    vals = {n: conv(i, t) for i, (n, t) in enumerate(values.items())} if with_values else {}
    adj: dict[str, Any] = {n: conv(i, g) if g is not None else conv(i, torch.zeros(()))
                           for i, (n, g) in enumerate(zip(names, grads))}
    adj[output] = conv(plan.output, torch.ones(()))
    return TorchGradients(vals, adj)


def torch_local_partials(graph: Graph, node: str, values: Mapping[str, Any]) -> list[float]:
    """d node / d argument_k by autograd on the gate alone, at one point of a graph of numbers (to blame a gate)."""
    torch = _torch()
    d = graph.attrs(node)
    arg_names = graph.args(node)
    args = [torch.tensor(float(np.asarray(values[a]).reshape(())), dtype=torch.float64, requires_grad=True)
            for a in arg_names]
    out = torch_values(d["op"], args, [graph.shape(a) for a in arg_names], d.get("param"), graph.shape(node))
    grads = torch.autograd.grad(out, args, allow_unused=True)
    return [0.0 if g is None else float(g) for g in grads]
