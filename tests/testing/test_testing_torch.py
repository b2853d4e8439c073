"""gradlab.testing on torch code and NumPy: functions, custom autograd.Functions and modules.

(The deliberately broken backward passes are in test_testing_broken.py.)
"""

import json

import numpy as np
import pytest
import torch

from gradlab import GradlabError
from gradlab.testing import (
    GradientAssertionError,
    assert_function_gradients,
    assert_module_gradients,
    check_function_gradients,
    check_module_gradients,
)

# ------------------------------------------------------------------------ custom autograd Functions


class Sigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        s = torch.sigmoid(x)
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved_tensors
        return g * s * (1 - s)


def test_a_right_custom_function_passes():
    r = assert_function_gradients(Sigmoid.apply, torch.randn(4))
    assert r.ok and r.mode == "full" and r.custom_functions == ["Sigmoid"]


def test_a_detached_computation_is_caught():
    r = check_function_gradients(lambda x: torch.tensor(np.sin(x.detach().numpy())) + 0 * x, torch.randn(3))
    assert not r.ok and r.first_failure.name == "x"


# ------------------------------------------------------------------------ functions, NumPy, grad=


def test_inputs_as_a_dict_with_static_arguments_and_kwargs():
    def f(x, w, power, *, scale=1.0):
        return scale * (x * w).sum(dim=-1) ** power

    r = assert_function_gradients(f, dict(x=torch.randn(2, 3), w=torch.randn(3), power=2), kwargs=dict(scale=0.5))
    assert [t.name for t in r.results] == ["x", "w"]


def test_numpy_code_with_a_hand_written_gradient():
    dout = np.random.default_rng(0).standard_normal((4, 2))

    def loss(x, w):  # a dense layer's output projected on a fixed dout: the CS231n way
        return float(np.sum((x @ w) * dout))

    def grad(x, w):
        return dout @ w.T, x.T @ dout

    x, w = np.random.default_rng(1).standard_normal((4, 3)), np.random.default_rng(2).standard_normal((3, 2))
    assert assert_function_gradients(loss, (x, w), grad=grad).gradient == "grad"
    with pytest.raises(GradientAssertionError, match="first mismatch: input 'w'"):
        assert_function_gradients(loss, (x, w), grad=lambda x, w: (dout @ w.T, x.T @ dout * 2))
    r = check_function_gradients(loss, (x, w), grad=lambda x, w: (dout @ w.T, (x.T @ dout).T))
    assert r.error == "wrong gradient shape for 'w': grad returned shape (2, 3), but 'w' has shape (3, 2)"
    r = check_function_gradients(loss, dict(x=x, w=w), grad=lambda x, w: {"x": dout @ w.T, "w": x.T @ dout})
    assert r.ok


def test_plain_python_floats_work_with_grad():
    import math

    r = assert_function_gradients(lambda a, b: math.sin(a) * b, (0.3, 2.0), grad=lambda a, b: (math.cos(a) * b,
                                                                                                math.sin(a)))
    assert r.ok and [t.shape for t in r.results] == [[], []]


@pytest.mark.parametrize("call, message", [
    (lambda: check_function_gradients(lambda x: x.detach().sum().item(), np.ones(3)), "returns float, not torch tensors"),
    (lambda: check_function_gradients(lambda x: x, np.ones(3), grad=lambda x: x), "must return one number"),
    (lambda: check_function_gradients(lambda n: n, 3), "no input to differentiate"),
    (lambda: check_function_gradients(42, torch.ones(1)), "must be callable"),
    (lambda: check_function_gradients(torch.sin, torch.ones(1), mode="fast"), "unknown mode"),
    (lambda: check_module_gradients(torch.sin, torch.ones(1)), "expected a torch.nn.Module"),
])
def test_mistakes_in_the_call_are_gradlab_errors(call, message):
    with pytest.raises(GradlabError, match=message):
        call()


def test_numpy_code_without_grad_gets_a_note_on_its_own_error():
    with pytest.raises(TypeError) as info:
        check_function_gradients(lambda x: np.sum(x, axis=0), np.ones(3))
    assert "pass grad=<your gradient function>" in "".join(getattr(info.value, "__notes__", []))


class _ErrorWithoutAddNote(TypeError):
    """A TypeError as Python 3.10 raises it: no add_note() (PEP 678 came with 3.11)."""

    def __getattribute__(self, name):
        if name == "add_note":
            raise AttributeError(name)
        return super().__getattribute__(name)


@pytest.mark.parametrize("own_notes", [None, ["a note of the user's own"]])
def test_the_note_reaches_the_users_error_where_exceptions_have_no_add_note(own_notes):
    def numpy_code(x):
        e = _ErrorWithoutAddNote("the user's own error")
        if own_notes is not None:
            e.__notes__ = list(own_notes)
        raise e

    with pytest.raises(_ErrorWithoutAddNote) as info:
        check_function_gradients(numpy_code, np.ones(3))
    assert not hasattr(info.value, "add_note")
    assert info.value.args == ("the user's own error",)  # the user's error itself, unchanged
    *kept, note = info.value.__notes__
    assert kept == (own_notes or [])
    assert "pass grad=<your gradient function>" in note


def test_large_inputs_are_checked_along_random_directions():
    r = check_function_gradients(lambda x: torch.tanh(x).sum(dim=0), torch.randn(40, 10))
    assert r.ok and r.mode == "directions"
    assert r.evaluations < 20


# ------------------------------------------------------------------------ modules


class LeakyBadReLU(torch.autograd.Function):
    """ReLU whose backward is wrong at one entry (index 7 of the flattened tensor): 2*g there, always."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        gi = g * (x > 0)
        gi.view(-1)[7] = 2 * g.reshape(-1)[7]
        return gi


class Net(torch.nn.Module):
    def __init__(self, bad: bool = False, dropout: float = 0.0):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3)
        self.fc = torch.nn.Linear(4 * 6 * 6, 10)
        self.drop = torch.nn.Dropout(dropout)
        self.bad = bad

    def forward(self, image):
        h = self.conv(image)
        h = LeakyBadReLU.apply(h) if self.bad else torch.relu(h)
        return self.fc(self.drop(h.flatten(1)))


def test_a_small_module_gets_every_entry_checked():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    r = assert_module_gradients(net, torch.randn(5, 3))
    assert r.mode == "full"
    assert [(t.name, t.kind) for t in r.results] == [("0.weight", "parameter"), ("0.bias", "parameter"),
                                                      ("2.weight", "parameter"), ("2.bias", "parameter"),
                                                      ("input", "input")]
    assert json.loads(r.to_json())["ok"] is True


def test_the_users_module_is_left_as_it_was():
    net = torch.nn.Linear(3, 2)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    assert_module_gradients(net, torch.randn(2, 3))
    assert net.weight.dtype == torch.float32
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_a_large_module_with_dropout_passes_along_random_directions():
    torch.manual_seed(0)
    r = assert_module_gradients(Net(dropout=0.3).train(), torch.randn(2, 1, 8, 8))
    assert r.mode == "directions"


def test_a_wrong_entry_in_a_large_module_is_narrowed_down():
    torch.manual_seed(0)
    with pytest.raises(GradientAssertionError) as info:
        assert_module_gradients(Net(bad=True), torch.randn(2, 1, 8, 8))
    r = info.value.result
    bad = {t.name: t for t in r.results if not t.ok}
    assert set(bad) >= {"conv.weight", "conv.bias", "image"} and "fc.weight" not in bad
    # entry 7 of the conv output is channel 0, row 1, column 1 of the first image: its bias is conv.bias[0]
    assert bad["conv.bias"].index == [0]
    assert "narrowed down to conv.bias[0]" in bad["conv.bias"].message
    assert "custom autograd Function in the graph: LeakyBadReLU (check the backward)" in str(info.value)


def test_parameters_only_and_integer_inputs():
    emb = torch.nn.Embedding(5, 3)
    r = assert_module_gradients(emb, torch.tensor([0, 3, 3]))
    assert [t.name for t in r.results] == ["weight"]
    loss = torch.nn.CrossEntropyLoss()
    r = assert_module_gradients(loss, (torch.randn(3, 4), torch.tensor([0, 2, 1])))
    assert [t.name for t in r.results] == ["input"]


def test_batch_norm_in_training_mode():
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Tanh()).train()
    assert assert_module_gradients(m, torch.randn(6, 4)).ok


def test_outputs_that_are_not_tensors_are_left_out_of_an_autograd_check():
    r = assert_function_gradients(lambda x: (torch.sin(x), 1.0, "label", torch.tensor([1, 2])), torch.ones(2))
    assert r.output_shapes == [[2]]
