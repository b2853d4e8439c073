"""Tensor graphs at network size: entrywise symbolic gradients and verifying matrix claims.

The network is the exercise sheet's two-layer network at 64-32-10 with biases (2,410 parameters):

    v = tanh(A @ x + a),  p = softmax(B @ v + b),  L = -sum(y * log(p)) / 2,  y one-hot

Measured, each from a fresh graph (no cache):

0. the full check, :func:`gradlab.gradients` at a random point (formulas, values and adjoints, finite
   differences, torch autograd, all judged);
1. entrywise symbolic gradient: d L / d every parameter entry as a formula in the entries
   (``dL/dA_1_2 = x_2*(1 - v_1**2)*(...)/2``), the formulas printed as text, and a sample of
   them evaluated at a random point and compared with torch autograd of the same network
   written directly in torch;
2. verifying claimed matrix formulas for it with :func:`gradlab.verify` (right claims, which are
   proved symbolically, and wrong ones, which get a counterexample and the likely mistake).

Run:  python benchmarks/tensor.py
Targets (2-core machine): (0) under 1.5 s; (1) under 30 s; (2) under 5 s per claim.
"""

from __future__ import annotations

import time

import numpy as np
import sympy as sp
import torch

import gradlab
from gradlab import parse_program, verify
from gradlab.engine.tensor_symbolic import _CACHE, _TIDY_MEMO, entry_name, tensor_symbolic

PROGRAM = """
x: (64,)
A: (32, 64)
a: (32,)
B: (10, 32)
b: (10,)
y: onehot(10)
v = tanh(A @ x + a)
p = softmax(B @ v + b)
L = -sum(y * log(p)) / 2
"""
PARAMS = ["A", "a", "B", "b"]
CLAIMS = [
    ("dL/dA = ((B.T @ (p - y) / 2) * (1 - v**2)) @ x.T", True),
    ("dL/dB = (p - y) @ v.T / 2", True),
    ("dL/da = (B.T @ (p - y) / 2) * (1 - v**2)", True),
    ("dL/dA = (B.T @ (p - y) * (1 - tanh(A @ x + a)**2)) @ x.T / 2", True),
    ("dL/dA = (B.T @ (p - y) / 2) @ x.T", False),
    ("dL/dB = v @ (p - y).T / 2", False),
    ("dL/dB = p @ v.T / 2", False),
]


def torch_reference(point: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in point.items()}
    v = torch.tanh(t["A"] @ t["x"] + t["a"])
    p = torch.softmax(t["B"] @ v + t["b"], dim=0)
    loss = -0.5 * torch.sum(t["y"] * torch.log(p))
    loss.backward()
    out = {k: x.grad.numpy() for k, x in t.items()}
    out["v"], out["p"] = v.detach().numpy(), p.detach().numpy()
    return out


def main() -> None:
    print(f"gradlab {gradlab.__version__}, sympy {sp.__version__}, torch {torch.__version__}")
    graph = parse_program(PROGRAM)
    n_params = sum(int(np.prod(graph.shape(n))) for n in PARAMS)
    print(f"network 64-32-10 with biases: {n_params:,} parameters\n")

    # 0. the full check ---------------------------------------------------------------------------
    rng = np.random.default_rng(0)
    at = {"x": rng.normal(size=64), "A": rng.normal(size=(32, 64)) / 8, "a": rng.normal(size=32) / 4,
          "B": rng.normal(size=(10, 32)) / 5, "b": rng.normal(size=10) / 4, "y": np.eye(10)[3]}
    gradlab.gradients("f = tanh(x)", {"x": 0.1})  # warm up: torch imported, partials compiled
    _CACHE.clear()
    _TIDY_MEMO.clear()
    t0, c0 = time.perf_counter(), time.process_time()
    report = gradlab.gradients(parse_program(PROGRAM), at)
    print(f"0. full check (gradients(): formulas, values, finite differences, torch, judged): "
          f"{time.perf_counter() - t0:.2f} s, {time.process_time() - c0:.2f} s CPU, ok={report.ok} "
          "(target < 1.5 s)\n")

    # 1. entrywise symbolic gradient ------------------------------------------------------------
    _CACHE.clear()
    _TIDY_MEMO.clear()
    t0 = time.perf_counter()
    ts = tensor_symbolic(graph)
    formulas = {}
    for n in PARAMS:
        named = ts.named(n)
        for idx in np.ndindex(*graph.shape(n)):
            formulas[entry_name(n, idx, graph.shape(n))] = str(named[idx])
    t_sym = time.perf_counter() - t0
    print(f"1. entrywise symbolic gradient: {len(formulas):,} formulas in {t_sym:.2f} s (target < 30 s)")
    for k in ["A_1_2", "a_1", "B_3_7", "b_10"]:
        print(f"   dL/d{k} = {formulas[k]}")

    rng = np.random.default_rng(0)
    point = {"x": rng.normal(size=64), "A": rng.normal(size=(32, 64)) / 8, "a": rng.normal(size=32) / 4,
             "B": rng.normal(size=(10, 32)) / 5, "b": rng.normal(size=10) / 4, "y": np.eye(10)[3]}
    ref = torch_reference(point)
    subs: dict[sp.Symbol, sp.Float] = {}
    for n in ["x", "A", "a", "B", "b", "y"]:
        subs.update({s: sp.Float(float(val)) for s, val in zip(ts.symbols[n].ravel(), np.ravel(point[n]))})
    subs.update({s: sp.Float(float(val)) for s, val in zip(ts.symbols["v"].ravel(), ref["v"])})
    subs.update({s: sp.Float(float(val)) for s, val in zip(ts.symbols["p"].ravel(), ref["p"])})
    sample = [(n, idx) for n in PARAMS for idx in list(np.ndindex(*graph.shape(n)))[:: max(1, int(np.prod(
        graph.shape(n))) // 25)]]
    worst = 0.0
    for n, idx in sample:
        got = float(ts.named(n)[idx].xreplace(subs))
        want = float(ref[n][idx])
        worst = max(worst, abs(got - want) / max(1e-12, abs(want)))
    print(f"   {len(sample)} formulas evaluated at a random point against torch autograd: largest relative "
          f"error {worst:.1e}\n")

    # 2. verifying claimed matrix formulas -------------------------------------------------------
    print("2. verify a claimed matrix formula (each from a fresh cache; target < 5 s):")
    for claim, right in CLAIMS:
        _CACHE.clear()
        _TIDY_MEMO.clear()
        t0 = time.perf_counter()
        r = verify(graph, claim)
        dt = time.perf_counter() - t0
        assert r.ok == right, (claim, r.message)
        what = "proved symbolically" if r.decided == "symbolic" else f"decided at {r.trials} random points"
        verdict = "TRUE " if r.ok else f"FALSE ({r.mistake})"
        print(f"   {dt:5.2f} s  {verdict:<44} {what}: {claim}")
    print("\n   (a right claim is proved at one entry per orbit of the index symmetry, see docs/verify.md)")


if __name__ == "__main__":
    main()
