import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from gradlab import Graph, gradients
from gradlab.lenet.gradcheck import (
    conv_program,
    cross_entropy_program,
    directional_check,
    graph_checks,
    layer_checks,
    linear_program,
    pool_program,
    run_gradchecks,
)
from gradlab.lenet.models import build_model

import lenet_helpers  # noqa: F401  (one torch thread per test worker)


def test_every_layer_type_passes_torch_gradcheck():
    checks = layer_checks(models=["lenet"])
    names = {c.name for c in checks}
    assert {"Conv2d", "AvgPool2d", "MaxPool2d", "Sigmoid", "Tanh", "ReLU", "Linear", "Flatten", "BatchNorm2d",
            "BatchNorm1d", "CrossEntropyLoss", "model lenet"} <= names
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]


def test_tiny_layers_as_graphs_equal_torch():
    checks = graph_checks()
    assert len(checks) == 8
    for c in checks:
        assert c.ok and c.engine_ok, c
        assert c.max_abs_error < 1e-12
    conv = checks[0]
    assert conv.statements == 10 and conv.inputs == 16 + 4 + 1 + 9


def test_generated_programs_are_the_textbook_formulas():
    assert conv_program(3, 3, 2).splitlines()[0] == "y_0_0 = w_0_0*x_0_0 + w_0_1*x_0_1 + w_1_0*x_1_0 + w_1_1*x_1_1 + b"
    assert pool_program("avg").splitlines()[0] == "p_0_0 = (x_0_0 + x_0_1 + x_1_0 + x_1_1)/4"
    assert pool_program("max").splitlines()[0] == "p_0_0 = max(max(max(x_0_0, x_0_1), x_1_0), x_1_1)"
    assert linear_program(3, 2, "sigmoid").splitlines()[2] == "a_0 = sigmoid(y_0)"
    assert cross_entropy_program(3, 0) == "p = exp(z_0)/(exp(z_0) + exp(z_1) + exp(z_2))\nL = -log(p)"
    # the cross-entropy gradient is softmax - one-hot
    z = {"z_0": 0.5, "z_1": -1.0, "z_2": 2.0}
    r = gradients(cross_entropy_program(3, 0), z)
    p = torch.softmax(torch.tensor(list(z.values()), dtype=torch.float64), 0)
    assert r.inputs["z_0"].grad == pytest.approx(float(p[0]) - 1, abs=1e-12)
    assert r.inputs["z_2"].grad == pytest.approx(float(p[2]), abs=1e-12)


@settings(max_examples=8, deadline=None)
@given(st.integers(2, 4), st.integers(2, 4), st.integers(1, 2), st.integers(0, 10**6))
def test_conv_program_matches_torch_for_any_small_size(h, w, k, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 1, h, w, generator=g, dtype=torch.float64, requires_grad=True)
    wk = torch.randn(1, 1, k, k, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(1, generator=g, dtype=torch.float64, requires_grad=True)
    up = torch.randn(1, 1, h - k + 1, w - k + 1, generator=g, dtype=torch.float64)
    (nn.functional.conv2d(x, wk, b) * up).sum().backward()
    at = {f"x_{i}_{j}": x[0, 0, i, j].item() for i in range(h) for j in range(w)}
    at |= {f"w_{i}_{j}": wk[0, 0, i, j].item() for i in range(k) for j in range(k)} | {"b": b.item()}
    at |= {f"g_{i}_{j}": up[0, 0, i, j].item() for i in range(h - k + 1) for j in range(w - k + 1)}
    r = gradients(Graph.parse(conv_program(h, w, k)), at, methods=())
    for i in range(k):
        for j in range(k):
            assert r.inputs[f"w_{i}_{j}"].grad == pytest.approx(wk.grad[0, 0, i, j].item(), abs=1e-12)
    assert r.inputs["x_0_0"].grad == pytest.approx(x.grad[0, 0, 0, 0].item(), abs=1e-12)


class _WrongSigmoid(torch.autograd.Function):
    """sigmoid with a wrong backward (s instead of s*(1-s)): the checks must catch it."""

    @staticmethod
    def forward(ctx, x):
        s = torch.sigmoid(x)
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved_tensors
        return g * s


class WrongSigmoid(nn.Module):
    def forward(self, x):
        return _WrongSigmoid.apply(x)


def test_directional_check_catches_a_wrong_backward():
    model = build_model("lenet", seed=0)
    x, y = torch.rand(4, 1, 28, 28), torch.tensor([1, 2, 3, 4])
    good = directional_check(model, x, y, seed=0)
    assert good.ok and good.rel_error < 1e-6
    model[1] = WrongSigmoid()
    bad = directional_check(model, x, y, seed=0)
    assert not bad.ok and bad.rel_error > 1e-3
    # and the model itself is untouched by the check
    assert model[0].weight.dtype == torch.float32


def test_report_ok_and_text():
    rep = run_gradchecks(["lenet-relu-maxpool"], graphs=False)
    assert rep.ok and "all checks passed" in str(rep)
    assert rep.to_dict()["directional"][0]["ok"] is True
