"""verify decides in exact arithmetic and looks next to a claim's own kinks (issue 12 item 5): claims off by a factor
(1 + 1e-9), by 1e-12 or only in a thin band are FALSE with a reason; numeric-only verdicts say so; grading decides
as verify does, rounded constants aside."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from gradlab import verify
from gradlab.grading import grade_formula
from gradlab.lang.expr import parse_expression
from gradlab.model.answerkey import Answer, Grading

NEURON = "z = w0*x0 + w1*x1 + w2; a = sigmoid(z)"
RELU_LAYER = "x: (3,); W: (2, 3); t: (2,); u = W @ x; h = relu(u); L = sum((h - t)**2)/2"


# ---------------------------------------------------------------- the three claims


def test_a_factor_one_plus_1e_minus_9_is_false_in_exact_arithmetic() -> None:
    r = verify(NEURON, "da/dx0 = w0*a*(1-a)*(1 + 1e-9)")
    assert not r.ok and r.decided == "exact"
    assert "in exact arithmetic it differs from the true derivative" in r.message
    assert "1000000000, not 0" in r.hint  # the difference itself: w0*a*(1 - a)/10**9
    ce = r.counterexample
    assert ce is not None and ce.entries[0].claimed == pytest.approx(ce.entries[0].true, rel=1e-8)
    text = str(r)
    assert "FALSE (decided in exact arithmetic" in text and "reason:" in text
    assert verify(NEURON, "da/dx0 = w0*a*(1-a)").decided == "symbolic"  # the right one still proved


def test_an_added_1e_minus_12_is_false_in_exact_arithmetic() -> None:
    r = verify("f = (x + y)*z", "df/dx = z + 1e-12")
    assert not r.ok and r.decided == "exact"
    assert r.hint == "the claim minus the true derivative is 1/1000000000000, not 0"
    assert r.counterexample is not None and r.counterexample.entries[0].claimed - r.counterexample.entries[0].true \
        == pytest.approx(1e-12, rel=1e-3)


def test_a_threshold_off_the_kink_is_found_next_to_it() -> None:
    r = verify(RELU_LAYER, "dL/dW = ((h - t) * Heaviside(u - 0.01)) @ x.T")
    assert not r.ok and r.decided == "numeric"
    ce = r.counterexample
    assert ce is not None
    u = np.asarray(ce.values["u"])
    assert np.any((u > 0) & (u <= 0.0100001))  # wrong only where 0 < u < 0.01: the counterexample is there
    assert any("next to the claim's own kinks or thresholds" in n for n in r.notes)
    right = verify(RELU_LAYER, "dL/dW = ((h - t) * Heaviside(u)) @ x.T")
    assert right.ok and right.decided == "symbolic"


@pytest.mark.parametrize("program, claim", [
    ("f = relu(x)*y", "df/dx = Heaviside(x - 0.01)*y"),
    ("f = max(x, y)*x", "df/dx = max(x, y) + x*Heaviside(x - y - 0.001)"),  # beside the graph's own kink
    ("f = hardtanh(x)*y", "df/dx = Heaviside(0.99 - x)*Heaviside(x + 1)*y"),
    ("f = relu(x)*y", "df/dx = relu(x - 0.001)/(x - 0.001)*y"),  # a gate's kink in the claim
])
def test_thin_bands_of_scalar_claims_are_found(program: str, claim: str) -> None:
    r = verify(program, claim)
    assert not r.ok, r


@pytest.mark.parametrize("program, claim", [
    ("f = relu(x)*y", "df/dx = Heaviside(x)*y"),
    ("f = max(x, y)*x", "df/dx = max(x, y) + x*Heaviside(x - y)"),
    ("f = hardtanh(x)*y", "df/dx = Heaviside(1 - x)*Heaviside(x + 1)*y"),
    ("f = abs(x)*x", "df/dx = 2*abs(x)"),
])
def test_right_claims_with_kinks_stay_true_next_to_them(program: str, claim: str) -> None:
    r = verify(program, claim)
    assert r.ok, r
    assert r.trials > 25  # the points next to the kinks were tested too


# ---------------------------------------------------------------- decimals exact on both sides


def test_the_graphs_decimals_are_the_rationals_written() -> None:
    assert verify("f = 0.1*x*y", "df/dx = y/10").decided == "symbolic"
    r = verify("f = 0.1*x*y", "df/dx = 0.1*y + 1e-20")  # 1e-20 is not 0 (it once read as 0)
    assert not r.ok and r.decided == "exact"
    assert parse_expression("1e-20") != 0 and parse_expression("0.3333333333333333") == parse_expression("1/3")


def test_rounded_constants_are_named() -> None:
    r = verify("f = x*y/3", "df/dx = 0.33333333*y")
    assert not r.ok and r.decided == "exact" and r.mistake == "rounded constant"
    assert "0.33333333 for 1/3" in r.hint


def test_numeric_only_verdicts_say_so() -> None:
    r = verify("f = relu(x)*y", "df/dx = relu(sign(x))*y")  # right, and beyond the symbolic proof
    assert r.ok and r.decided == "numeric"
    assert "numeric only: no symbolic proof found; equal in exact arithmetic" in r.message
    assert "numeric only" in str(r)
    r = verify("f = relu(x)*y", "df/dx = relu(sign(x))*y", symbolic=False)
    assert r.ok and "numeric only: no symbolic proof found; true at" in r.message


def test_cli_verify_exact() -> None:
    p = subprocess.run([sys.executable, "-m", "gradlab", "verify", NEURON, "da/dx0 = w0*a*(1-a)*(1 + 1e-9)", "--json"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stderr
    d = json.loads(p.stdout)
    assert d["ok"] is False and d["decided"] == "exact"


# ---------------------------------------------------------------- grading decides as verify does


@pytest.fixture(scope="module")
def neuron_key() -> Answer:
    inputs = ["w0", "x0", "w1", "x1", "w2"]
    return Answer(formula="w0*a*(1 - a)", names={"z": "w0*x0 + w1*x1 + w2", "a": "sigmoid(z)"}, inputs=inputs,
                  probe={n: [-3, 3] for n in inputs})


@pytest.mark.parametrize("text", ["w0*a*(1-a)*(1 + 1e-9)", "w0*a*(1-a) + 1e-12"])
def test_grade_marks_wrong_what_verify_calls_false(neuron_key: Answer, text: str) -> None:
    v = grade_formula(text, neuron_key, Grading())
    assert v.status == "wrong" and v.method == "exact" and "in exact arithmetic" in v.feedback
    assert not verify(NEURON, f"da/dx0 = {text}").ok


def test_grade_accepts_rounded_constants_and_exact_decimals() -> None:
    key = Answer(formula="x*x/3 + y*y/4", inputs=["x", "y"], probe={"x": [-3, 3], "y": [-3, 3]})
    v = grade_formula("0.33333333*x*x + 0.25*y*y", key, Grading())  # within the probes' tolerance (1e-7)
    assert v.status == "correct" and "rounded constants: 0.33333333 for 1/3" in v.feedback
    assert grade_formula("x*x/3 + 0.25*y*y", key, Grading()).method == "symbolic"  # 0.25 is 1/4 itself
    assert grade_formula("0.3333*x*x + 0.25*y*y", key, Grading()).status == "wrong"  # beyond it
