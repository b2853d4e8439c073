"""Gradient checks on real layers, three ways.

* :func:`layer_checks` -- every layer type the models use (Conv2d, AvgPool2d, MaxPool2d,
  Sigmoid, Tanh, ReLU, Linear, Flatten, BatchNorm, Dropout with a fixed mask,
  CrossEntropyLoss) and whole models, through ``torch.autograd.gradcheck`` in float64;
* :func:`graph_checks` -- tiny instances of the same layers written out as gradlab
  programs (every output pixel of a 2x2-kernel conv on a 1x4x4 input is one scalar
  statement, ...): gradlab's symbolic gradients, evaluated, must equal what torch's
  layer gives for the same numbers;
* :func:`directional_check` -- during training, a finite-difference check of the whole
  model's loss along a random direction, in a float64 copy.

>>> all(c.ok for c in layer_checks())          # doctest: +SKIP
True
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import torch
from torch import nn

__all__ = ["DirectionalCheck", "LayerCheck", "GraphCheck", "GradcheckReport", "directional_check", "layer_checks",
           "graph_checks", "run_gradchecks", "conv_program", "pool_program", "linear_program", "cross_entropy_program"]


# ----------------------------------------------------------------------------- training-time check
@dataclass
class DirectionalCheck:
    """``d loss / d theta . v`` by autograd against central differences along a random unit ``v``."""

    step: int
    analytic: float
    numeric: float
    rel_error: float
    ok: bool
    eps: float
    batch: int
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def directional_check(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, step: int = 0, seed: int = 0,
                      eps: float = 1e-6, rtol: float = 1e-5, atol: float = 1e-9,
                      loss_fn: Callable[..., torch.Tensor] | None = None) -> DirectionalCheck:
    """Check the whole model's gradient on a batch: a float64 copy, a random unit direction ``v`` over all
    parameters, autograd's ``grad . v`` against ``(L(theta + eps v) - L(theta - eps v)) / (2 eps)``.

    Dropout masks are fixed (the same seed for every evaluation); the model itself is not changed.
    """
    t0 = time.perf_counter()
    loss_fn = loss_fn or nn.functional.cross_entropy
    m = copy.deepcopy(model).to(torch.float64)
    m.train(model.training)
    params = [p for p in m.parameters() if p.requires_grad]
    gen = torch.Generator().manual_seed(seed * 7919 + step)
    v = [torch.randn(p.shape, generator=gen, dtype=torch.float64) for p in params]
    norm = math.sqrt(sum(float((vi * vi).sum()) for vi in v))
    v = [(vi / norm).to(p.device) for vi, p in zip(v, params)]
    x64 = x.detach().to(torch.float64)

    def loss() -> torch.Tensor:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + step)
            return loss_fn(m(x64), y)

    value = loss()
    grads = torch.autograd.grad(value, params)
    analytic = float(sum((g * vi).sum() for g, vi in zip(grads, v)))
    with torch.no_grad():
        for p, vi in zip(params, v):
            p.add_(vi, alpha=eps)
        plus = float(loss())
        for p, vi in zip(params, v):
            p.add_(vi, alpha=-2 * eps)
        minus = float(loss())
    numeric = (plus - minus) / (2 * eps)
    err = abs(analytic - numeric)
    rel = err / max(abs(analytic), abs(numeric), 1e-300)
    ok = math.isfinite(analytic) and math.isfinite(numeric) and (err <= atol + rtol * max(abs(analytic), abs(numeric)))
    return DirectionalCheck(step, analytic, numeric, rel, ok, eps, int(x.shape[0]), time.perf_counter() - t0)


# ----------------------------------------------------------------------------- torch.autograd.gradcheck
@dataclass
class LayerCheck:
    """One layer (or whole model) through ``torch.autograd.gradcheck`` in float64."""

    name: str
    what: str
    ok: bool
    inputs: int
    seconds: float
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _away_from_zero(x: torch.Tensor, gap: float = 1e-2) -> torch.Tensor:
    return torch.where(x.abs() < gap, x + 3 * gap * torch.sign(x + 1e-12), x)


def _gradcheck(name: str, what: str, fn: Callable[..., torch.Tensor], inputs: tuple[torch.Tensor, ...],
               fast: bool = False) -> LayerCheck:
    t0 = time.perf_counter()
    msg = ""
    try:
        ok = bool(torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-7, rtol=1e-5, fast_mode=fast))
    except Exception as e:  # noqa: BLE001 - gradcheck raises GradcheckError with the Jacobians
        ok, msg = False, str(e).splitlines()[0][:300]
    n = sum(t.numel() for t in inputs if t.requires_grad)
    return LayerCheck(name, what, ok, n, time.perf_counter() - t0, msg)


def _with_params(module: nn.Module, x: torch.Tensor, seed: int = 0) -> tuple[Callable[..., torch.Tensor], tuple]:
    """A function of (input, *parameters) for gradcheck, with dropout masks fixed by ``seed``."""
    from torch.func import functional_call

    names = [n for n, _ in module.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for _, p in module.named_parameters())

    def fn(inp: torch.Tensor, *ps: torch.Tensor) -> torch.Tensor:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return functional_call(module, dict(zip(names, ps)), (inp,))

    return fn, (x.requires_grad_(True), *params)


def layer_checks(models: list[str] | None = None, *, seed: int = 0) -> list[LayerCheck]:
    """Every layer type of the LeNet variants, and whole models (input and all parameters, gradcheck's
    fast mode), through ``torch.autograd.gradcheck`` in float64."""
    from .models import build_model

    g = torch.Generator().manual_seed(seed)

    def rnd(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    torch.manual_seed(seed)
    cases: list[tuple[str, str, nn.Module, torch.Tensor]] = [
        ("Conv2d", "Conv2d(2, 3, 3, padding=1) on 2x2x5x5, input and weights", nn.Conv2d(2, 3, 3, padding=1),
         rnd(2, 2, 5, 5)),
        ("AvgPool2d", "AvgPool2d(2) on 2x2x4x4", nn.AvgPool2d(2), rnd(2, 2, 4, 4)),
        ("MaxPool2d", "MaxPool2d(2) on 2x2x4x4 (no ties)", nn.MaxPool2d(2), rnd(2, 2, 4, 4)),
        ("Sigmoid", "Sigmoid on 3x4", nn.Sigmoid(), rnd(3, 4)),
        ("Tanh", "Tanh on 3x4", nn.Tanh(), rnd(3, 4)),
        ("ReLU", "ReLU on 3x4 (inputs away from the kink at 0)", nn.ReLU(), _away_from_zero(rnd(3, 4))),
        ("Linear", "Linear(5, 3) on 4x5, input, weight and bias", nn.Linear(5, 3), rnd(4, 5)),
        ("Flatten", "Flatten on 2x3x2x2", nn.Flatten(), rnd(2, 3, 2, 2)),
        ("BatchNorm2d", "BatchNorm2d(3), training mode (batch statistics)", nn.BatchNorm2d(3), rnd(4, 3, 3, 3)),
        ("BatchNorm1d", "BatchNorm1d(4), training mode", nn.BatchNorm1d(4), rnd(5, 4)),
        ("Dropout", "Dropout(0.5) with a fixed mask", nn.Dropout(0.5), rnd(3, 6)),
    ]
    out = []
    for name, what, module, x in cases:
        module = module.to(torch.float64)
        fn, inputs = _with_params(module, x, seed)
        out.append(_gradcheck(name, what, fn, inputs))
    target = torch.tensor([2, 0, 1])
    out.append(_gradcheck("CrossEntropyLoss", "CrossEntropyLoss on 3 samples x 4 classes (logits)",
                          lambda z: nn.functional.cross_entropy(z, target), (rnd(3, 4).requires_grad_(True),)))
    for name in models if models is not None else ["lenet", "lenet-relu-maxpool", "lenet-bn", "lenet-dropout"]:
        model = build_model(name, seed=seed).to(torch.float64)
        x = torch.rand(2, *_input_shape(name), generator=g, dtype=torch.float64)
        fn, inputs = _with_params(model, x, seed)
        y = torch.tensor([3, 7])
        n_par = sum(p.numel() for p in model.parameters())
        out.append(_gradcheck(f"model {name}", f"whole model: loss of 2 images w.r.t. the input and all {n_par:,} "
                              "parameters (gradcheck fast mode: random projections)",
                              lambda *a, fn=fn, y=y: nn.functional.cross_entropy(fn(*a), y), inputs, fast=True))
    return out


def _input_shape(name: str) -> tuple[int, ...]:
    from .models import architecture

    return tuple(architecture(name).input_shape)


# ----------------------------------------------------------------------------- tiny instances as gradlab graphs
@dataclass
class GraphCheck:
    """A tiny layer written as a gradlab program: gradlab's symbolic gradients against torch's layer."""

    name: str
    program: str
    statements: int
    inputs: int
    max_abs_error: float
    ok: bool
    engine_ok: bool
    seconds: float
    gradients: dict[str, list[float]] = field(default_factory=dict)
    example: str = ""  # one symbolic gradient, e.g. dL/dw_0_0 = g_0_0*x_0_0 + ...

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def conv_program(h: int = 4, w: int = 4, k: int = 2) -> str:
    """A ``k x k`` kernel (``w_i_j``, bias ``b``) over an ``h x w`` input (``x_i_j``), every output pixel one
    statement, and ``L = sum g_i_j * y_i_j`` (``g`` plays the gradient arriving from above)."""
    lines = []
    for i in range(h - k + 1):
        for j in range(w - k + 1):
            terms = " + ".join(f"w_{a}_{b}*x_{i + a}_{j + b}" for a in range(k) for b in range(k))
            lines.append(f"y_{i}_{j} = {terms} + b")
    outs = [(i, j) for i in range(h - k + 1) for j in range(w - k + 1)]
    lines.append("L = " + " + ".join(f"g_{i}_{j}*y_{i}_{j}" for i, j in outs))
    return "\n".join(lines)


def pool_program(kind: str = "avg", h: int = 4, w: int = 4, k: int = 2) -> str:
    """``k x k`` average or max pooling (stride ``k``) over ``x_i_j``; ``L = sum g_i_j * p_i_j``."""
    lines = []
    for i in range(h // k):
        for j in range(w // k):
            cells = [f"x_{i * k + a}_{j * k + b}" for a in range(k) for b in range(k)]
            if kind == "avg":
                lines.append(f"p_{i}_{j} = ({' + '.join(cells)})/{k * k}")
            else:
                expr = cells[0]
                for c in cells[1:]:
                    expr = f"max({expr}, {c})"
                lines.append(f"p_{i}_{j} = {expr}")
    lines.append("L = " + " + ".join(f"g_{i}_{j}*p_{i}_{j}" for i in range(h // k) for j in range(w // k)))
    return "\n".join(lines)


def linear_program(n_in: int = 3, n_out: int = 2, activation: str | None = None) -> str:
    """``y_i = sum_j W_i_j x_j + b_i`` (then ``a_i = activation(y_i)``); ``L = sum g_i * (a_i or y_i)``."""
    lines = [f"y_{i} = " + " + ".join(f"W_{i}_{j}*x_{j}" for j in range(n_in)) + f" + b_{i}" for i in range(n_out)]
    top = "y"
    if activation:
        lines += [f"a_{i} = {activation}(y_{i})" for i in range(n_out)]
        top = "a"
    lines.append("L = " + " + ".join(f"g_{i}*{top}_{i}" for i in range(n_out)))
    return "\n".join(lines)


def cross_entropy_program(classes: int = 3, target: int = 0) -> str:
    """Softmax cross-entropy of logits ``z_0 .. z_{n-1}`` for the true class ``target``."""
    total = " + ".join(f"exp(z_{i})" for i in range(classes))
    return f"p = exp(z_{target})/({total})\nL = -log(p)"


def _compare(name: str, program: str, at: dict[str, float], torch_grads: dict[str, float],
             tol: float = 1e-9) -> GraphCheck:
    from ..check.gradients import gradients

    t0 = time.perf_counter()
    at = {k: float(v) for k, v in at.items()}
    report = gradients(program, at, methods=("fd", "torch"), simplify=False)

    def ours(k: str) -> float:
        grad = report.inputs[k].grad
        assert grad is not None  # every input has a value, so its gradient has one
        return float(grad)

    errs = [abs(ours(k) - v) for k, v in torch_grads.items()]
    worst = max(errs) if errs else 0.0
    grads = {k: [ours(k), v] for k, v in torch_grads.items()}
    statements = program.count("\n") + 1
    first = next(iter(torch_grads))
    example = f"dL/d{first} = {report.inputs[first].named}"
    return GraphCheck(name, program, statements, len(at), worst, worst <= tol * max(1.0, max(map(abs, torch_grads.values()))),
                      bool(report.ok), time.perf_counter() - t0, grads, example)


def _num(t: torch.Tensor) -> float:
    return t.detach().item()


def _grad(t: torch.Tensor) -> torch.Tensor:
    """``t.grad``, which the ``backward()`` before has filled in."""
    assert t.grad is not None
    return t.grad


def graph_checks(seed: int = 0) -> list[GraphCheck]:
    """Tiny instances of conv, pooling, linear + activations and softmax cross-entropy, each written out as a
    gradlab program; gradlab's symbolic gradients (evaluated) must equal the torch layer's for the same numbers."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    checks = []
    # conv: 1x4x4 input, one 2x2 kernel
    x, wk, b, up = rnd(1, 1, 4, 4), rnd(1, 1, 2, 2), rnd(1), rnd(1, 1, 3, 3)
    x.requires_grad_(True), wk.requires_grad_(True), b.requires_grad_(True)
    (nn.functional.conv2d(x, wk, b) * up).sum().backward()
    at = {f"x_{i}_{j}": _num(x[0, 0, i, j]) for i in range(4) for j in range(4)}
    at |= {f"w_{i}_{j}": _num(wk[0, 0, i, j]) for i in range(2) for j in range(2)}
    at |= {"b": _num(b[0])} | {f"g_{i}_{j}": _num(up[0, 0, i, j]) for i in range(3) for j in range(3)}
    tg = {f"w_{i}_{j}": _num(_grad(wk)[0, 0, i, j]) for i in range(2) for j in range(2)}
    tg |= {f"x_{i}_{j}": _num(_grad(x)[0, 0, i, j]) for i in range(4) for j in range(4)} | {"b": _num(_grad(b)[0])}
    checks.append(_compare("Conv2d 1x4x4 input, 2x2 kernel", conv_program(), at, tg))
    # pooling
    for kind, pool in (("avg", nn.functional.avg_pool2d), ("max", nn.functional.max_pool2d)):
        x, up = rnd(1, 1, 4, 4).requires_grad_(True), rnd(1, 1, 2, 2)
        (pool(x, 2) * up).sum().backward()
        at = {f"x_{i}_{j}": _num(x[0, 0, i, j]) for i in range(4) for j in range(4)}
        at |= {f"g_{i}_{j}": _num(up[0, 0, i, j]) for i in range(2) for j in range(2)}
        tg = {f"x_{i}_{j}": _num(_grad(x)[0, 0, i, j]) for i in range(4) for j in range(4)}
        checks.append(_compare(f"{'AvgPool2d' if kind == 'avg' else 'MaxPool2d'} 2x2 on 1x4x4", pool_program(kind),
                               at, tg))
    # linear 3 -> 2, plain and with each activation
    for act, fn in ((None, None), ("sigmoid", torch.sigmoid), ("tanh", torch.tanh), ("relu", torch.relu)):
        W, bb, x, up = rnd(2, 3), rnd(2), rnd(3), rnd(2)
        if act == "relu":
            x = _away_from_zero(x)
        for t in (W, bb, x):
            t.requires_grad_(True)
        y = W @ x + bb
        ((fn(y) if fn else y) * up).sum().backward()
        at = {f"W_{i}_{j}": _num(W[i, j]) for i in range(2) for j in range(3)}
        at |= {f"x_{j}": _num(x[j]) for j in range(3)} | {f"b_{i}": _num(bb[i]) for i in range(2)}
        at |= {f"g_{i}": _num(up[i]) for i in range(2)}
        tg = {f"W_{i}_{j}": _num(_grad(W)[i, j]) for i in range(2) for j in range(3)}
        tg |= {f"x_{j}": _num(_grad(x)[j]) for j in range(3)} | {f"b_{i}": _num(_grad(bb)[i]) for i in range(2)}
        label = f"Linear 3 -> 2 + {act}" if act else "Linear 3 -> 2"
        checks.append(_compare(label, linear_program(3, 2, act), at, tg))
    # softmax cross-entropy over 3 classes
    z = rnd(3).requires_grad_(True)
    target = 1
    nn.functional.cross_entropy(z[None], torch.tensor([target])).backward()
    checks.append(_compare("softmax cross-entropy, 3 classes", cross_entropy_program(3, target),
                           {f"z_{i}": _num(z[i]) for i in range(3)}, {f"z_{i}": _num(_grad(z)[i]) for i in range(3)}))
    return checks


# ----------------------------------------------------------------------------- everything at once
@dataclass
class GradcheckReport:
    """The result of :func:`run_gradchecks`; ``ok`` when every check passed."""

    layers: list[LayerCheck]
    graphs: list[GraphCheck]
    directional: list[DirectionalCheck]
    ok: bool

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "layers": [c.to_dict() for c in self.layers],
                "graphs": [c.to_dict() for c in self.graphs], "directional": [c.to_dict() for c in self.directional]}

    def __str__(self) -> str:
        lines = ["torch.autograd.gradcheck (float64):"]
        w = max(len(c.name) for c in self.layers)
        for c in self.layers:
            lines.append(f"  {'ok  ' if c.ok else 'FAIL'} {c.name:<{w}}  {c.what}" + (f"  [{c.message}]" if c.message else ""))
        if self.graphs:
            lines.append("tiny layers as gradlab graphs (symbolic gradients vs the torch layer):")
        w = max((len(c.name) for c in self.graphs), default=0)
        for g in self.graphs:
            lines.append(f"  {'ok  ' if g.ok else 'FAIL'} {g.name:<{w}}  {g.statements} statements, {g.inputs} inputs, "
                         f"max |gradlab - torch| = {g.max_abs_error:.1e}; engine check (symbolic = finite "
                         f"differences = torch) {'ok' if g.engine_ok else 'FAILED'}")
        if self.directional:
            lines.append("whole-model loss along a random direction (float64 copy, central differences):")
            for name, d in zip(self._dir_names, self.directional):
                lines.append(f"  {'ok  ' if d.ok else 'FAIL'} {name}: autograd {d.analytic:.6e}, differences "
                             f"{d.numeric:.6e}, rel err {d.rel_error:.1e}")
        lines.append("all checks passed" if self.ok else "SOME CHECKS FAILED")
        return "\n".join(lines)

    _dir_names: list[str] = field(default_factory=list, repr=False)


def run_gradchecks(models: list[str] | None = None, *, seed: int = 0, graphs: bool = True) -> GradcheckReport:
    """Layer checks, graph checks, and a directional check of each model's loss on a batch of random images."""
    from .models import build_model

    models = models if models is not None else ["lenet", "lenet-relu-maxpool", "lenet-bn", "lenet-dropout"]
    layers = layer_checks(models, seed=seed)
    gchecks = graph_checks(seed) if graphs else []
    dirs, names = [], []
    g = torch.Generator().manual_seed(seed)
    for name in models:
        model = build_model(name, seed=seed)
        x = torch.rand(8, *_input_shape(name), generator=g)
        y = torch.randint(0, 10, (8,), generator=g)
        dirs.append(directional_check(model, x, y, seed=seed))
        names.append(name)
    ok = all(c.ok for c in layers) and all(c.ok and c.engine_ok for c in gchecks) and all(c.ok for c in dirs)
    report = GradcheckReport(layers, gchecks, dirs, ok)
    report._dir_names = names
    return report
