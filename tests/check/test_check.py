"""gradients(): the acceptance numbers, three methods agreeing on random programs, kinks and blame."""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gradlab import EvaluationError, Graph, gradients

NEURON_AT = dict(w0=2, x0=-1, w1=-3, x1=-2, w2=-3)


def test_neuron_acceptance_numbers():
    r = gradients("a = 1/(1+exp(-(w0*x0 + w1*x1 + w2)))", at=NEURON_AT)
    assert round(r.output.value, 4) == 0.7311
    got = {n: round(i.grad, 4) for n, i in r.inputs.items()}
    assert got == {"w0": -0.1966, "x0": 0.3932, "w1": -0.3932, "x1": -0.5898, "w2": 0.1966}
    assert r.ok
    for i in r.inputs.values():
        assert i.fd == pytest.approx(i.grad, rel=1e-8) and i.torch == pytest.approx(i.grad, rel=1e-12)


def test_json_keys_are_stable():
    d = gradients("f = (x + y)*z", at=dict(x=-2, y=5, z=-4)).to_dict()
    assert d["output"] == {"name": "f", "value": -12.0}
    assert set(d["inputs"]["x"]) >= {"value", "grad", "expr", "fd", "torch"}
    assert isinstance(d["nodes"], list) and d["ok"] is True
    x, y, z = sp.symbols("x y z")
    assert sp.sympify(d["inputs"]["z"]["expr"]) == x + y


def test_without_a_point_only_symbolic_results():
    r = gradients("f = (x + y)*z")
    assert r.inputs["x"].grad is None and r.inputs["x"].expr == "z" and r.methods == ("symbolic",)


# ---------------------------------------------------------------- random programs (property test)
UNARY = ["neg", "exp", "sin", "cos", "sigmoid", "tanh", "relu", "abs", "softplus", "log", "sqrt"]
BINARY = ["add", "sub", "mul", "div", "pow", "max", "min"]
CONST = ["add_const", "rsub_const", "mul_const", "div_const", "rdiv_const", "pow_const", "rpow_const"]


def positive(g: Graph, a):
    """a*a + 0.5: a safe argument for log, sqrt, division and powers."""
    return g.binary("+", g.binary("*", a, a), 0.5)


@st.composite
def programs(draw):
    g = Graph()
    n_inputs = draw(st.integers(1, 4))
    nodes = [g.input(f"x{i}") for i in range(n_inputs)]
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["unary", "binary", "const"]))
        a = draw(st.sampled_from(nodes))
        if kind == "unary":
            op = draw(st.sampled_from(UNARY))
            arg = positive(g, a) if op in ("log", "sqrt") else a
            if op == "exp":
                arg = g.apply("tanh", a)  # keep values moderate
            nodes.append(g.apply(op, arg))
        elif kind == "binary":
            op = draw(st.sampled_from(BINARY))
            b = draw(st.sampled_from(nodes))
            if op == "div":
                b = positive(g, b)
            if op == "pow":
                a, b = positive(g, a), g.apply("tanh", b)
            nodes.append(g.apply(op, a, b))
        else:
            op = draw(st.sampled_from(CONST))
            c = draw(st.sampled_from([-2, -0.5, 0.5, 1.5, 3]))
            if op in ("rdiv_const", "pow_const"):
                a = positive(g, a)
            if op == "pow_const":
                c = draw(st.sampled_from([2, 3, -1, 0.5]))
            if op == "rpow_const":
                c, a = abs(c), g.apply("tanh", a)
            nodes.append(g.apply(op, a, param=c))
    out = nodes[-1]
    # sum every node so that all of them matter to the output
    for n in nodes[n_inputs:-1]:
        out = g.binary("+", out, n)
    g.set_output(out)
    point = {f"x{i}": draw(st.floats(-2, 2).filter(lambda v: abs(v) > 1e-3)) for i in range(n_inputs)}
    return g, point


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(programs())
def test_symbolic_finite_differences_and_torch_agree_on_random_programs(gp):
    g, point = gp
    assert len(g.op_nodes) <= 60
    try:
        r = gradients(g, point, simplify=False)
    except EvaluationError:
        assume(False)
    assume(not r.kinks)  # away from kinks: relu/abs/max/min arguments not near their kink
    assume(all(abs(n.value) < 1e6 for n in r.nodes))
    assert r.ok, str(r)
    for i in r.inputs.values():
        assert i.fd == pytest.approx(i.grad, rel=1e-6, abs=1e-8 * max(1, abs(r.output.value)))
        assert i.torch == pytest.approx(i.grad, rel=1e-6, abs=1e-12)


# ---------------------------------------------------------------- kinks
def test_relu_kink_is_reported_with_each_convention_and_is_not_a_failure():
    r = gradients("s = w*x + b; f = 2*relu(s)", at=dict(w=2, x=1, b=-2))
    assert r.ok
    assert [k.node for k in r.kinks] == ["t2"] or len(r.kinks) == 1
    w = r.inputs["w"]
    assert w.status.startswith("kink")
    assert w.conventions["sympy"] == 1.0  # 2 * x * Heaviside(0) with Heaviside(0) = 1/2
    assert w.conventions["torch"] == 0.0
    assert w.conventions["fd_left"] == pytest.approx(0.0, abs=1e-6)
    assert w.conventions["fd_right"] == pytest.approx(2.0, rel=1e-6)


def test_max_tie_splits_the_gradient():
    r = gradients("f = max(x, y)*z", at=dict(x=3, y=3, z=2))
    assert r.inputs["x"].grad == 1.0 and r.inputs["y"].grad == 1.0 and r.inputs["x"].torch == 1.0
    assert r.kinks and r.kinks[0].exact


def test_no_kink_no_kink_report():
    assert not gradients("f = relu(x)", at=dict(x=0.5)).kinks


# ---------------------------------------------------------------- blame


def test_wrong_local_derivative_is_blamed_on_its_gate(broken_sigmoid):
    r = gradients("z = w*x + b; a = badsig(z); L = a*a", at=dict(w=0.5, x=2, b=0.1))
    assert not r.ok
    assert r.blame is not None
    assert r.blame.node == "z" and r.blame.gate == "a" and r.blame.argument == 0
    s = 1 / (1 + math.exp(-1.1))
    assert r.blame.torch_local == pytest.approx(s * (1 - s))
    assert r.blame.symbolic_local == pytest.approx(s)
    assert "wrong local derivative" in r.blame.message
    failing = [i.name for i in r.inputs.values() if not i.ok]
    assert failing == ["w", "x", "b"]


def test_batch_points_are_refused_with_a_clear_message():
    with pytest.raises(Exception, match="one point at a time"):
        gradients("f = x*y", at={"x": np.array([1.0, 2.0]), "y": 1.0})


def test_a_wrong_derivative_upstream_of_a_kink_is_not_excused_by_the_kink(broken_sigmoid):
    # max(sigmoid(x), 0.5) ties at x = 0; torch splits 1/2 to each side. The symbolic adjoints
    # recomputed with torch's convention must still equal torch's: the broken sigmoid' shows.
    r = gradients("s = badsig(x); m = max(s, 0.5); f = 3*m", at=dict(x=0.0))
    assert r.kinks and r.kinks[0].exact
    assert not r.ok
    assert r.inputs["x"].status == "mismatch"


def test_near_a_kink_symbolic_and_torch_must_still_agree(broken_sigmoid):
    r = gradients("s = badsig(x); f = relu(s - 0.5)", at=dict(x=1e-9))
    assert r.kinks and not r.kinks[0].exact
    assert not r.ok and r.blame is not None and r.blame.gate == "s"


def test_on_a_kink_with_correct_gates_every_convention_is_reported_and_ok():
    r = gradients("s = sigmoid(x); m = max(s, 0.5); f = 3*m", at=dict(x=0.0))
    assert r.ok and r.inputs["x"].status.startswith("kink")
    assert set(r.inputs["x"].conventions) == {"sympy", "torch", "fd_central", "fd_left", "fd_right"}


@pytest.mark.parametrize("program", ["f = max(x, 0)", "f = min(x, 2)*x", "f = max(0, x) + max(x, 1)"])
def test_constant_nodes_get_adjoints_checked_by_torch_too(program):
    r = gradients(program, at=dict(x=-1.5))
    assert r.ok, [(n.id, n.grad, n.torch) for n in r.nodes]
    consts = [n for n in r.nodes if n.kind == "const"]
    assert consts and all(n.torch is not None and n.torch == pytest.approx(n.grad) for n in consts)
