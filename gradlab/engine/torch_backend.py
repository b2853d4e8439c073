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

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import GradlabError
from ..model.graph import Graph
from ..ops.tensor import batch_of, torch_values
from .numeric import Point, point_values
from .plan import plan_of


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


def torch_forward(graph: Graph, inputs: Mapping[str, Any], *, track_constants: bool = False) -> dict[str, Any]:
    """Every node's torch tensor from torch tensors for the inputs (differentiable; leading batch axes allowed).

    With ``track_constants`` the constant nodes are leaves that require a gradient too, so
    autograd reports d output / d constant (gradlab gives every node an adjoint).
    """
    torch = _torch()
    plan = plan_of(graph)
    nodes, shapes = plan.nodes, plan.shape
    values: list[Any] = [inputs.get(n) for n in nodes]
    first = plan.input_index[0] if plan.inputs else None
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
    torch = _torch()
    plan = plan_of(graph)
    pts = point_values(graph, at)
    first = graph.inputs[0] if graph.inputs else None
    batch = batch_of(pts[first], graph.shape(first)) if first is not None else ()
    numbers = not plan.tensor and batch == ()
    if numbers:
        leaves = {n: torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for n, v in pts.items()}
    else:
        leaves = {n: torch.tensor(np.asarray(v), dtype=torch.float64, requires_grad=True) for n, v in pts.items()}
    with torch.enable_grad():
        values = torch_forward(graph, leaves, track_constants=True)
        tensors = list(values.values())
        out = values[graph.output]
        wanted = [i for i, t in enumerate(tensors) if t.requires_grad]
        grads: list[Any] = [None] * len(tensors)
        if out.requires_grad:  # every node's adjoint in one backward pass
            found = torch.autograd.grad(out.sum(), [tensors[i] for i in wanted], allow_unused=True)
            for i, g in zip(wanted, found):
                grads[i] = g
    names = list(values)
    out_i = names.index(graph.output)
    if numbers:  # one conversion for all nodes: floats
        zero = torch.zeros((), dtype=torch.float64)
        with torch.no_grad():
            vals_f = torch.stack(tensors).tolist()
            adj_f = torch.stack([zero if g is None else g for g in grads]).tolist()
        adj_f[out_i] = 1.0
        return TorchGradients(dict(zip(names, vals_f)), dict(zip(names, adj_f)))

    def conv(n: str, t: Any) -> Any:
        return np.array(np.broadcast_to(t.detach().numpy().astype(np.float64), batch + graph.shape(n)))

    vals = {n: conv(n, t) for n, t in values.items()}
    adj: dict[str, Any] = {n: conv(n, g) if g is not None else conv(n, torch.zeros(())) for n, g in zip(names, grads)}
    adj[graph.output] = conv(graph.output, torch.ones(()))
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
