"""The graph as a torch function, for an independent check by autograd (float64).

Each gate runs its own torch forward; torch's autograd differentiates it, so it knows
nothing of gradlab's local partials.

>>> from gradlab import Graph
>>> r = torch_gradients(Graph.parse("f = (x + y)*z"), {"x": -2, "y": 5, "z": -4})
>>> r.adjoints["x"], r.adjoints["z"]
(-4.0, 3.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from .graph import Graph
from .numeric import Point, point_values
from .ops import OPS


def _torch() -> Any:
    try:
        import torch
    except ImportError as e:  # pragma: no cover - torch is a requirement
        from .errors import GradlabError

        raise GradlabError("PyTorch is not installed: pip install torch (see README for the CPU wheel)") from e
    return torch


@dataclass
class TorchGradients:
    """Values and adjoints (d output / d node) by torch autograd, as floats (one point) or arrays."""

    values: dict[str, Any]
    adjoints: dict[str, Any]


def torch_forward(graph: Graph, inputs: Mapping[str, Any], *, track_constants: bool = False) -> dict[str, Any]:
    """Every node's torch tensor from torch tensors for the inputs (differentiable).

    With ``track_constants`` the constant nodes are leaves that require a gradient too, so
    autograd reports d output / d constant (gradlab gives every node an adjoint).
    """
    torch = _torch()
    values: dict[str, Any] = dict(inputs)
    shape = next(iter(inputs.values())).shape if inputs else ()
    for n in graph.nodes:
        d = graph.attrs(n)
        if d["kind"] == "input":
            continue
        if d["kind"] == "const":
            values[n] = torch.full(shape, float(d["value"]), dtype=torch.float64, requires_grad=track_constants)
            continue
        values[n] = OPS[d["op"]].torch_fn([values[a] for a in graph.args(n)], d.get("param"))
    return values


def torch_function(graph: Graph) -> Callable[..., Any]:
    """A plain function ``f(**inputs) -> output tensor``, e.g. for ``torch.autograd.gradcheck``."""

    def f(*args: Any) -> Any:
        return torch_forward(graph, dict(zip(graph.inputs, args)))[graph.output]

    f.__name__ = graph.output
    return f


def torch_gradients(graph: Graph, at: Point) -> TorchGradients:
    """Forward values and d output / d node for every node by autograd at ``at``."""
    torch = _torch()
    pts = point_values(graph, at)
    scalar = all(np.ndim(v) == 0 for v in pts.values())
    leaves = {n: torch.tensor(np.asarray(v), dtype=torch.float64, requires_grad=True) for n, v in pts.items()}
    with torch.enable_grad():
        values = torch_forward(graph, leaves, track_constants=True)
        for n, t in values.items():
            if t.requires_grad and not t.is_leaf:
                t.retain_grad()
        out = values[graph.output]
        if out.requires_grad:
            out.sum().backward()

    def conv(t: Any) -> Any:
        a = t.detach().numpy().astype(np.float64)
        return float(a.reshape(())) if scalar else a

    vals = {n: conv(t) for n, t in values.items()}
    adj: dict[str, Any] = {}
    for n, t in values.items():
        g = t.grad if (t.is_leaf or t.retains_grad) else None
        adj[n] = conv(g) if g is not None else (0.0 if scalar else np.zeros(np.shape(vals[n])))
    adj[graph.output] = 1.0 if scalar else np.ones(np.shape(vals[graph.output]))
    return TorchGradients(vals, adj)


def torch_local_partials(graph: Graph, node: str, values: Mapping[str, Any]) -> list[float]:
    """d node / d argument_k by autograd on the gate alone, at one point (used to blame a gate)."""
    torch = _torch()
    d = graph.attrs(node)
    args = [torch.tensor(float(np.asarray(values[a]).reshape(())), dtype=torch.float64, requires_grad=True)
            for a in graph.args(node)]
    out = OPS[d["op"]].torch_fn(args, d.get("param"))
    grads = torch.autograd.grad(out, args, allow_unused=True)
    return [0.0 if g is None else float(g) for g in grads]
