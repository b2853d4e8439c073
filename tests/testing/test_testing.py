"""gradlab.testing on graphs: assert_gradients, assert_adjoints (a hand-done backward pass), assert_formula (verify).

Each deliberately broken gradient is caught, and the message names the node.
"""

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradlab import GradlabError, Graph, ParseError, gradients
from gradlab.testing import (
    GradCheck,
    GradientAssertionError,
    assert_adjoints,
    assert_formula,
    assert_gradients,
    assert_graph_file,
    check_adjoints,
)
from gradlab.testing.tables import node_finite_differences

NEURON = "z = w0*x0 + w1*x1 + w2; a = sigmoid(z)"
NEURON_AT = dict(w0=2, x0=-1, w1=-3, x1=-2, w2=-3)


def _row(message: str, node: str) -> str:
    return next(line for line in message.splitlines() if line.split()[:1] == [node])


# ---------------------------------------------------------------------------------- assert_gradients


def test_right_gradients_pass_and_return_the_report():
    r = assert_gradients(NEURON, at=NEURON_AT)
    assert r.ok and round(r.inputs["x0"].grad, 4) == 0.3932


def test_a_wrong_local_derivative_in_a_custom_op_is_caught_and_the_node_named(broken_sigmoid):
    with pytest.raises(GradientAssertionError) as info:
        assert_gradients("z = w*x + b; a = badsig(z); L = a*a", at=dict(w=0.5, x=2, b=0.1))
    msg = str(info.value)
    assert msg.startswith("gradients of L disagree at w=0.5, x=2, b=0.1")
    # the table runs in backward order; z is the first node whose adjoint disagrees
    assert "<-- first disagreement" in _row(msg, "z") and "FAIL" in _row(msg, "z")
    assert "ok" in _row(msg, "a").split() and "ok" in _row(msg, "L").split()
    assert "Its consumer a (gate σ?, 'badsig(z)') has a wrong local derivative" in msg
    # symbolic, torch and finite differences per node: torch and differences agree on z
    s = 1 / (1 + math.exp(-1.1))
    z_cells = _row(msg, "z").split()
    assert float(z_cells[4]) == pytest.approx(2 * s * s * (1 - s), rel=1e-5)
    assert float(z_cells[5]) == pytest.approx(2 * s * s * (1 - s), rel=1e-5)
    assert info.value.result.blame.gate == "a"


def test_without_a_point_random_points_are_checked(broken_sigmoid):
    assert assert_gradients("f = sin(x)*exp(y)").ok
    with pytest.raises(GradientAssertionError, match="<-- first disagreement"):
        assert_gradients("a = badsig(x*y)", points=2, seed=3)


def test_several_points_are_all_checked():
    r = assert_gradients("f = log(x)*y", at=[dict(x=1.0, y=2.0), dict(x=3.0, y=-1.0)])
    assert r.at == {"x": 1.0, "y": 2.0}


def test_a_kink_is_not_a_failure():
    assert assert_gradients("s = w*x + b; h = relu(s); f = 2*h", at=dict(w=2, x=1, b=-2)).kinks


def test_expected_numbers_to_the_decimals_written():
    r = assert_gradients(NEURON, at=NEURON_AT, expected={"x0": 0.3932, "w0": -0.1966}, expected_values={"a": 0.7311},
                         decimals=4)
    assert r.ok
    with pytest.raises(GradientAssertionError) as info:
        assert_gradients(NEURON, at=NEURON_AT, expected={"w0": 0.1966}, decimals=4)  # sign error in the key
    assert "da/dw0  0.1966    -0.196612" in str(info.value)
    with pytest.raises(GradientAssertionError, match="pass decimals=4"):
        assert_gradients(NEURON, at=NEURON_AT, expected={"x0": 0.3932})  # rounded, compared to 1e-6


def test_tolerances_apply_to_every_method():
    r = assert_gradients("f = x*y", at=dict(x=2, y=3), rtol=1e-3, atol=1e-4)
    assert r.tolerances.fd_rtol == r.tolerances.torch_rtol == 1e-3
    assert r.tolerances.fd_atol == r.tolerances.torch_atol == 1e-4


@pytest.mark.parametrize("call, message", [
    (lambda: assert_gradients("f = foo(x)", at=dict(x=1)), "unknown function 'foo'"),
    (lambda: assert_gradients("f = x*y", at=dict(x=1)), "missing value for input 'y'"),
    (lambda: assert_gradients("f = x*y", at=dict(x=1, y=2), methods=("symbolic",)), "nothing to compare"),
    (lambda: assert_gradients("f = x*y", expected={"x": 2}), "need the point"),
    (lambda: assert_gradients("f = x*y", at=dict(x=1, y=2), expected={"q": 2}), "'q', which is not a node"),
])
def test_mistakes_in_the_call_are_gradlab_errors_not_failures(call, message):
    with pytest.raises(GradlabError, match=message) as info:
        call()
    assert not isinstance(info.value, AssertionError)


def test_the_failure_table_of_a_big_graph_keeps_every_failing_row(broken_sigmoid):
    program = "; ".join(f"h{i} = tanh(h{i - 1} + x{i})" if i else "h0 = x0*2" for i in range(40)) + "; L = badsig(h39)"
    with pytest.raises(GradientAssertionError) as info:
        assert_gradients(program, at={f"x{i}": (-1) ** i * 0.02 * i for i in range(40)})
    msg = str(info.value)
    report = info.value.result
    failing = [n.id for n in report.nodes if not n.ok]
    assert len(failing) > 40  # more than the table's 40 rows ...
    rows = [line.split()[0] for line in msg.splitlines() if " FAIL " in f"{line} "]
    assert sorted(rows) == sorted(failing)  # ... yet every failing node is in it
    assert "more rows, all ok" in msg
    assert "<-- first disagreement" in _row(msg, "h39")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=st.floats(-2, 2), y=st.floats(0.2, 3))
def test_node_finite_differences_match_the_adjoints(x, y):
    g = Graph.parse("q = x*y + sin(x); r = log(y)*q; f = tanh(r) + q*q")
    report = gradients(g, dict(x=x, y=y), methods=("torch",))
    values = {n.id: n.value for n in report.nodes}
    fd = node_finite_differences(g, dict(x=x, y=y), values, g.nodes)
    for n in report.nodes:
        if n.kind != "const":
            assert fd[n.id].value == pytest.approx(n.grad, rel=1e-6, abs=1e-8), n.id


def test_graph_files_pass_and_a_wrong_one_fails_with_file_and_numbers(tmp_path):
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "graphs" / "neuron.toml"
    assert assert_graph_file(src).ok
    p = tmp_path / "wrong.toml"
    p.write_text(src.read_text().replace("w1 = -0.3932", "w1 = 0.3932"))
    with pytest.raises(GradientAssertionError) as info:
        assert_graph_file(p)
    assert f"expected numbers in {p} differ" in str(info.value)
    assert "grad   w1    0.3932" in str(info.value)


# ---------------------------------------------------------------------------------- assert_adjoints


def test_the_hints_give_the_right_chain_rule():
    r = check_adjoints("q = x*y; f = q + x", dict(x=2, y=3), {"x": 1})
    assert r.hint == "add what flows back through q: 3"
    r = check_adjoints(NEURON, NEURON_AT, {"z": 0.25}, decimals=4)
    assert "da/dz = da/da * da/dz = 1 * 0.196612 = 0.196612" in r.hint
    assert "gate a (σ): da/dz = a*(1 - a)" in r.hint


def test_a_wrong_forward_value_is_reported_first():
    r = check_adjoints("q = x*y; f = 3*q", dict(x=2, y=3), {"x": 4}, values={"q": 5})
    assert (r.first, r.mistake) == ("q", "wrong forward value")
    assert "q = x*y with x=2, y=3 is 6" in r.hint


def test_right_adjoints_pass_and_keys_may_be_written_as_derivatives():
    r = assert_adjoints(NEURON, NEURON_AT, {"da/dz": 0.1966, "dа/dx0".replace("а", "a"): 0.3932, "w2": 0.1966},
                        values={"z": 1, "a": 0.7311}, decimals=4)
    assert r.ok and len(r.checks) == 5
    assert json.loads(r.to_json())["ok"] is True


def test_adjoints_of_unknown_nodes_are_refused():
    with pytest.raises(GradlabError, match="'q' is not a node"):
        assert_adjoints("f = x*y", dict(x=1, y=2), {"q": 1})
    with pytest.raises(GradlabError, match="must be a number"):
        assert_adjoints("f = x*y", dict(x=1, y=2), {"x": "two"})


# ---------------------------------------------------------------------------------- assert_formula


def test_a_right_formula_passes_and_is_proved():
    r = assert_formula(NEURON, "da/dx0", "w0*a*(1-a)")
    assert r.ok and r.decided == "symbolic"
    assert assert_formula(NEURON, "da/dw2 = sigmoid(z)*(1 - sigmoid(z))").ok


def test_a_wrong_formula_fails_with_a_counterexample_and_the_right_formula():
    with pytest.raises(GradientAssertionError) as info:
        assert_formula(NEURON, "da/dx0", "-w0*a*(1-a)")
    msg = str(info.value)
    assert msg.startswith("claim:    da/dx0 = -w0*a*(1-a)\nverdict:  FALSE")
    assert "likely mistake: sign" in msg and "counterexample (a random point):" in msg
    assert msg.endswith("the right formula: da/dx0 = a*w0*(1 - a)")
    assert info.value.result.mistake.startswith("sign")


def test_matrix_claims_too():
    program = "z = W @ x; L = sum(z*z)"
    at = {"W": [[0.5, -1.0], [2.0, 0.3]], "x": [1.0, -2.0]}
    assert assert_formula(program, "dL/dW = 2*z @ x.T", at=at).ok
    with pytest.raises(GradientAssertionError, match="FALSE"):
        assert_formula(program, "dL/dW = z @ x.T", at=at)


@pytest.mark.parametrize("claim", ["dz/dq = w0", "da/dx0 = w0*b*", "a = w0"])
def test_malformed_claims_are_gradlab_errors(claim):
    with pytest.raises((GradlabError, ParseError)) as info:
        assert_formula(NEURON, claim)
    assert not isinstance(info.value, AssertionError)


def test_the_helper_object_fills_in_its_defaults():
    gc = GradCheck(rtol=1e-3, seed=5)
    r = gc.gradients("f = x*y", at=dict(x=1, y=2))
    assert r.tolerances.fd_rtol == 1e-3
    assert gc.adjoints("f = x*y", dict(x=1, y=2), {"x": 2}).ok
