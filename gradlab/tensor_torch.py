"""Tensor graphs in torch, for an independent check by autograd (float64).

Every gate runs torch's own forward (``@``, ``softmax``, ``log_softmax``, ``tanh``, ...) and
torch differentiates the whole program; it knows nothing of gradlab's VJPs.

>>> from gradlab import Graph
>>> g = Graph.parse("x: (2,); A: (2, 2); f = sum(tanh(A @ x))")
>>> r = torch_gradients(g, {"x": [1.0, 2.0], "A": [[0.5, 0.0], [0.0, -0.25]]})
>>> r.adjoints["x"].round(6)
array([ 0.393224, -0.196612])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .graph import Graph
from .numeric import point_values
from .tensor_ops import torch_values


@dataclass
class TorchGradients:
    """Values and adjoints (d output / d node) by autograd, numpy arrays of the nodes' shapes."""

    values: dict[str, np.ndarray]
    adjoints: dict[str, np.ndarray]


def torch_forward(graph: Graph, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Every node's torch tensor from torch tensors of the inputs (differentiable)."""
    from .torch_backend import _torch

    torch = _torch()
    values: dict[str, Any] = dict(inputs)
    for n in graph.nodes:
        d = graph.attrs(n)
        if d["kind"] == "input":
            continue
        if d["kind"] == "const":
            values[n] = torch.tensor(float(d["value"]), dtype=torch.float64)
            continue
        args = graph.args(n)
        values[n] = torch_values(d["op"], [values[a] for a in args], [graph.shape(a) for a in args],
                                 d.get("param"), graph.shape(n))
    return values


def torch_gradients(graph: Graph, at: Mapping[str, Any]) -> TorchGradients:
    """Forward values and d output / d node of every node, by torch autograd at one point."""
    from .torch_backend import _torch

    torch = _torch()
    pts = point_values(graph, at)
    leaves = {n: torch.tensor(v, dtype=torch.float64, requires_grad=True) for n, v in pts.items()}
    with torch.enable_grad():
        values = torch_forward(graph, leaves)
        for t in values.values():
            if t.requires_grad and not t.is_leaf:
                t.retain_grad()
        out = values[graph.output]
        if out.requires_grad:
            out.sum().backward()
    vals = {n: t.detach().numpy().astype(np.float64).reshape(graph.shape(n)) for n, t in values.items()}
    adj: dict[str, np.ndarray] = {}
    for n, t in values.items():
        g = t.grad if (t.is_leaf or t.retains_grad) else None
        adj[n] = (g.detach().numpy().astype(np.float64).reshape(graph.shape(n)) if g is not None
                  else np.zeros(graph.shape(n)))
    adj[graph.output] = np.ones(graph.shape(graph.output))
    return TorchGradients(vals, adj)
