"""The acceptance suite: deliberately broken gradients, each caught, the message naming the node.

A wrong local derivative (in a custom graph gate, in a custom torch.autograd.Function, in a
hand-done backward pass), a missing sum at a fork, a sign error and a gradient of the wrong
tensor shape; in graphs, in backward passes done by hand, in torch Functions, in NumPy code
with a hand-written gradient, and inside a torch module.
"""

import numpy as np
import pytest
import torch

from gradlab.testing import (
    GradientAssertionError,
    assert_adjoints,
    assert_function_gradients,
    assert_gradients,
    assert_module_gradients,
    check_function_gradients,
)

NEURON = "z = w0*x0 + w1*x1 + w2; a = sigmoid(z)"
NEURON_AT = dict(w0=2, x0=-1, w1=-3, x1=-2, w2=-3)


# ---------------------------------------------------------------------------- broken torch Functions


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


class WrongSigmoid(Sigmoid):
    """Wrong local derivative: s instead of s*(1 - s)."""

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved_tensors
        return g * s


class Square(torch.autograd.Function):
    """x*x: x feeds the product twice, so its gradient is the sum of both paths, 2*x*g."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x  # missing sum at the fork: only one of the two paths


class Sub(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, g  # sign error: d(a - b)/db is -1


class MatMul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return x @ w

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return g @ w.T, (x.T @ g).sum(0)  # wrong shape: the gradient for w must be x.T @ g, shape (3, 4)


class TooFew(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w):
        return x * w

    @staticmethod
    def backward(ctx, g):
        return g


class NoGradForW(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return x * w

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return g * w, None  # forgot the gradient for w


class BadSwish(torch.autograd.Function):
    """swish(x) = x*sigmoid(x) with a slip in its backward: (1 + s) where (1 - s) belongs."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * torch.sigmoid(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(x)
        return g * (s + x * s * (1 + s))


class TinyNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = torch.nn.Linear(3, 4)
        self.out = torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.out(BadSwish.apply(self.hidden(x)))


def _numpy_dense(wrong_shape: bool):
    rng = np.random.default_rng(0)
    x, w, dout = rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal((4, 2))
    grad_w = (lambda x: (x.T @ dout).T) if wrong_shape else (lambda x: -(x.T @ dout))  # transposed / sign error
    return (lambda x, w: float(np.sum((x @ w) * dout)), (x, w), lambda x, w: (dout @ w.T, grad_w(x)))


def _graph(program, at):
    return lambda: assert_gradients(program, at=at)


def _adjoints(program, at, adjoints):
    return lambda: assert_adjoints(program, at, adjoints, decimals=4)


def _function(fn, inputs, **kw):
    return lambda: assert_function_gradients(fn, inputs, **kw)


torch.manual_seed(0)
X3, W34, X23 = torch.randn(3), torch.randn(3, 4), torch.randn(2, 3)

#: what is broken, how it is checked, and the words of the message that name the place
BROKEN = {
    "wrong local derivative, custom graph gate": (
        _graph("z = w*x + b; a = badsig(z); L = a*a", dict(w=0.5, x=2, b=0.1)),
        ["z     +      1.1      1.12578   0.281152  0.281152     0.75     FAIL   <-- first disagreement",
         "Its consumer a (gate σ?, 'badsig(z)') has a wrong local derivative"]),
    "wrong local derivative, by hand": (
        _adjoints(NEURON, NEURON_AT, {"a": 1, "z": 0.25, "w0": -0.25}),
        ["WRONG LOCAL DERIVATIVE at z:", "gate a (σ): da/dz = a*(1 - a)"]),
    "wrong local derivative, torch Function": (
        _function(WrongSigmoid.apply, X3),
        ["first mismatch: input 'x'", "custom autograd Function in the graph: WrongSigmoid"]),
    "wrong local derivative, inside a module": (
        lambda: assert_module_gradients(TinyNet(), torch.randn(5, 3)),
        ["first mismatch: parameter 'hidden.weight'", "custom autograd Function in the graph: BadSwish"]),
    "missing sum at a fork, by hand": (
        _adjoints("q = x*y; f = q + x", dict(x=2, y=3), {"f": 1, "q": 1, "x": 1}),
        ["MISSING SUM AT A FORK at x:", "add what flows back through q: 3"]),
    "missing sum at a fork (x*x), by hand": (
        _adjoints("q = x*y; f = q*q", dict(x=2, y=3), {"q": 6, "x": 18}),
        ["MISSING SUM AT A FORK at q:", "add what flows back through f (argument 1): 6"]),
    "missing sum at a fork, torch Function": (
        _function(Square.apply, X3), ["first mismatch: input 'x'", "custom autograd Function in the graph: Square"]),
    "sign error, by hand": (
        _adjoints(NEURON, NEURON_AT, {"a": 1, "z": -0.1966, "x0": -0.3932}), ["SIGN ERROR at z:"]),
    "missing upstream factor, by hand": (
        _adjoints("q = x*y; f = 3*q", dict(x=2, y=3), {"q": 3, "x": 3}), ["MISSING UPSTREAM FACTOR at x:"]),
    "sign error, torch Function": (
        _function(Sub.apply, (X3, -X3)), ["first mismatch: input 'b'"]),
    "sign error, NumPy grad": (
        _function(*_numpy_dense(False)[:2], grad=_numpy_dense(False)[2]), ["first mismatch: input 'w'"]),
    "wrong tensor shape, torch Function": (
        _function(MatMul.apply, (X23, W34)),
        ["wrong gradient shape: the backward of MatMul returned a gradient of shape (4,) for input 'w'"]),
    "wrong tensor shape, NumPy grad": (
        _function(*_numpy_dense(True)[:2], grad=_numpy_dense(True)[2]),
        ["wrong gradient shape for 'w': grad returned shape (2, 3), but 'w' has shape (3, 2)"]),
}


@pytest.mark.parametrize("what", list(BROKEN))
def test_a_broken_gradient_is_caught_and_the_message_names_the_place(what, broken_sigmoid):
    run, named = BROKEN[what]
    with pytest.raises(GradientAssertionError) as info:
        run()
    for words in named:
        assert words in str(info.value), f"{what}: {words!r} not in\n{info.value}"


# ---------------------------------------------------------------------------- the details


def test_the_numbers_of_a_wrong_local_derivative_are_the_real_ones():
    x = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    r = check_function_gradients(WrongSigmoid.apply, x)
    bad = r.first_failure
    assert bad.name == "x" and bad.status == "mismatch" and bad.output == f"out[{bad.index[0]}]"
    s = torch.sigmoid(x[bad.index[0]]).item()
    assert bad.autograd == pytest.approx(s) and bad.fd == pytest.approx(s * (1 - s), rel=1e-8)


def test_missing_sum_at_a_fork_is_caught():
    x = torch.tensor([0.5, -1.0, 2.0])
    r = check_function_gradients(Square.apply, x)
    assert not r.ok
    bad = r.first_failure
    assert bad.name == "x" and bad.fd == pytest.approx(2 * bad.autograd)


def test_sign_error_names_the_second_argument_only():
    r = check_function_gradients(Sub.apply, (torch.randn(2), torch.randn(2)))
    assert [(t.name, t.ok) for t in r.results] == [("a", True), ("b", False)]
    assert r.results[1].autograd == pytest.approx(-r.results[1].fd)


def test_wrong_gradient_shape_names_the_input():
    x, w = torch.randn(2, 3), torch.randn(3, 4)
    with pytest.raises(GradientAssertionError) as info:
        assert_function_gradients(MatMul.apply, (x, w))
    assert ("wrong gradient shape: the backward of MatMul returned a gradient of shape (4,) for input 'w', its "
            "argument 1, which has shape (3, 4)") in str(info.value)
    # also when the Function is used inside a bigger function
    r = check_function_gradients(lambda x, w: torch.tanh(MatMul.apply(x, w)).sum(), (x, w))
    assert not r.ok and "for input 'w'" in r.error


def test_wrong_number_of_gradients_is_explained():
    r = check_function_gradients(TooFew.apply, (torch.randn(2), torch.randn(2)))
    assert "the backward of TooFew returned 1 gradients, but its forward takes 2 arguments" in r.error


def test_a_missing_gradient_is_reported_as_none():
    r = check_function_gradients(NoGradForW.apply, (torch.randn(3), torch.randn(3)))
    assert [(t.name, t.status) for t in r.results] == [("x", "ok"), ("w", "no-gradient")]
    assert "autograd gives no gradient (None)" in r.results[1].message


