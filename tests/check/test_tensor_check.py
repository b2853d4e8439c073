"""gradients() on tensor graphs: arrays in the same report, checked against finite differences and
torch autograd entry by entry; random tensor programs (property test)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradlab import GradlabError, evaluate, forward, gradients, parse_program
from gradlab.check.tensor_check import TensorGradientReport
from gradlab.engine.finite_diff import finite_differences
from gradlab.engine.torch_backend import torch_gradients

SHEET = ("x: (3,); A: (2, 3); B: (2, 2); y: onehot(2); u = A @ x; v = tanh(u); z = B @ v; p = softmax(z); "
         "L = -sum(y * log(p)) / 2")
AT = {"x": [1.0, -0.5, 2.0], "A": [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]], "B": [[0.7, -0.8], [0.9, 0.2]],
      "y": [1.0, 0.0]}


def torch_reference(at):
    """The sheet's network written directly in torch (independent of gradlab's graph)."""
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in at.items()}
    v = torch.tanh(t["A"] @ t["x"])
    p = torch.softmax(t["B"] @ v, dim=0)
    loss = -0.5 * torch.sum(t["y"] * torch.log(p))
    loss.backward()
    return float(loss.detach()), {k: x.grad.numpy() for k, x in t.items()}


def test_the_sheet_network_three_ways_and_against_plain_torch():
    r = gradients(SHEET, at=AT)
    assert isinstance(r, TensorGradientReport) and r.ok and r.methods == ("symbolic", "fd", "torch")
    loss, grads = torch_reference(AT)
    assert r.output.value == pytest.approx(loss, rel=1e-14)
    for n in ["x", "A", "B", "y"]:
        i = r.inputs[n]
        assert i.grad.shape == np.shape(AT[n]) and np.allclose(i.grad, grads[n], rtol=1e-12, atol=1e-15)
        assert i.fd_rel_err < 1e-6 and i.torch_rel_err < 1e-12 and i.status == "ok"
    assert r.inputs["B"].matrix == "(p - y) @ v.T / 2" and r.inputs["B"].entries["B_1_2"] == "v_2*(p_1 - y_1)/2"
    assert r.grad("z") == pytest.approx((np.array([0.656785, 0.343215]) - [1, 0]) / 2, abs=1e-6)


def test_the_report_keeps_the_stable_keys_with_arrays_in_json():
    d = json.loads(gradients(SHEET, at=AT).to_json())
    assert d["output"]["name"] == "L" and isinstance(d["output"]["value"], float)
    assert {"value", "grad", "expr", "named", "latex", "fd", "torch", "ok", "status"} <= set(d["inputs"]["A"])
    assert d["inputs"]["A"]["shape"] == [2, 3] and len(d["inputs"]["A"]["grad"]) == 2
    assert d["inputs"]["A"]["matrix"] == "((B.T @ (p - y)) * (1 - v**2)) @ x.T / 2"
    node = next(n for n in d["nodes"] if n["id"] == "p")
    assert node["shape"] == [2] and len(node["value"]) == 2 and node["ok"] is True


def test_text_report_lists_matrix_forms_and_entries():
    text = str(gradients(SHEET, at=AT))
    assert "dL/dB = (p - y) @ v.T / 2" in text and "dL/dB_1_2 = v_2*(p_1 - y_1)/2" in text
    assert "all methods agree" in text and "A      (2, 3)" in text


def test_without_a_point_only_the_formulas():
    r = gradients(SHEET)
    assert r.at is None and r.inputs["A"].grad is None and r.inputs["A"].matrix.endswith("@ x.T / 2")


def test_shapes_come_from_the_values_when_not_declared():
    r = gradients("v = tanh(A @ x); L = sum(v)", at={"A": np.eye(2), "x": [0.5, -0.5]})
    assert r.ok and r.inputs["A"].matrix == "(1 - v**2) @ x.T"
    with pytest.raises(Exception, match="one point at a time"):   # scalar programs keep refusing batches
        gradients("f = x*y", at={"x": np.array([1.0, 2.0]), "y": 1.0})


def test_core_evaluate_and_forward_take_tensor_graphs():
    g = parse_program(SHEET)
    ev = evaluate(g, AT)
    assert ev.values["p"].shape == (2,) and ev.adjoints["A"].shape == (2, 3)
    assert np.allclose(forward(g, AT)["u"], [0.8, -1.05])
    assert ev.edge_adjoints[("v", "z", 1)].shape == (2,)  # z = B @ v: the share of v


@pytest.mark.parametrize("program, at, message", [
    ("x: (3,); p = softmax(x)", {"x": [1, 2, 3]}, "gradients need a number"),
    ("x: (3,); L = sum(log(x))", {"x": [1, -2, 3]}, "log of a non-positive number"),
    ("x: (3,); L = sum(x)", {"x": [1, 2]}, "has shape (2,), but 'x' is a column vector (3,)"),
    ("x: (3,); L = sum(x)", {"x": [1, float("nan"), 2]}, "not finite"),
])
def test_bad_points_are_clear_errors(program, at, message):
    with pytest.raises(GradlabError, match=message.replace("(", r"\(").replace(")", r"\)")):
        gradients(program, at=at)


def test_an_entry_on_a_relu_kink_is_reported_not_failed():
    r = gradients("x: (2,); W: (2, 2); L = sum(relu(W @ x))", at={"x": [1.0, 1.0], "W": [[1.0, -1.0], [2.0, 0.5]]})
    assert r.kinks and r.kinks[0].exact and r.ok
    assert r.inputs["W"].status.startswith("kink")


# ---------------------------------------------------------------------- random tensor programs
LAYERS = st.lists(st.sampled_from(["tanh", "sigmoid", "softplus", "sin", "square", "exp_small"]),
                  min_size=1, max_size=3)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(2, 4), min_size=2, max_size=4), acts=LAYERS, loss=st.sampled_from(
    ["ce", "mse", "sum"]), seed=st.integers(0, 10**6))
def test_random_networks_agree_three_ways(sizes, acts, loss, seed):
    rng = np.random.default_rng(seed)
    lines, at = [f"x: ({sizes[0]},)"], {"x": rng.normal(size=sizes[0])}
    h = "x"
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        act = acts[i % len(acts)]
        lines += [f"W{i}: ({b}, {a})", f"b{i}: ({b},)"]
        at[f"W{i}"], at[f"b{i}"] = rng.normal(size=(b, a)) / np.sqrt(a), rng.normal(size=b)
        pre = f"W{i} @ {h} + b{i}"
        body = {"square": f"({pre})**2", "exp_small": f"exp(({pre})/4)"}.get(act, f"{act}({pre})")
        lines.append(f"h{i} = {body}")
        h = f"h{i}"
    k = sizes[-1]
    if loss == "ce" and k > 1:
        lines += [f"y: onehot({k})", f"L = cross_entropy({h}, y)"]
        at["y"] = np.eye(k)[rng.integers(k)]
    elif loss == "mse":
        lines += [f"t: ({k},)", f"L = mean(({h} - t)**2)"]
        at["t"] = rng.normal(size=k)
    else:
        lines.append(f"L = sum({h})")
    program = "\n".join(lines)
    g = parse_program(program)
    for n in g.inputs:
        at[n] = np.asarray(at[n]).reshape(g.shape(n)).tolist()
    # the engines directly (gradients() adds the formulas, tested above): VJPs = torch = differences
    ev = evaluate(g, at)
    tg = torch_gradients(g, at)
    fd = finite_differences(g, at)
    for n in g.inputs:
        assert np.allclose(ev.adjoints[n], tg.adjoints[n], rtol=1e-9, atol=1e-12), (program, n)
        assert np.allclose(ev.adjoints[n], fd[n], rtol=1e-5, atol=1e-6), (program, n)
