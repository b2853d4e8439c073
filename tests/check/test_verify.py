"""verify(): claimed gradient formulas decided symbolically, tested at random points, mistakes named."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gradlab import GradlabError, ParseError, gradients, verify
from gradlab.cli import main
from gradlab.lang.claims import parse_claim

NEURON = "z = w0*x0 + w1*x1 + w2; a = sigmoid(z)"
CIRCUIT = "z = w0*x0 + w1*x1 + w2; a = 1/(1+exp(-z))"


@pytest.mark.parametrize("claim", [
    "da/dx0 = w0*a*(1-a)",
    "da/dx0 = w0*sigmoid(z)*(1 - sigmoid(z))",
    "da/dx0 = w0*exp(-z)/(1 + exp(-z))**2",
    "da/dx0 = a*w0 - w0*a**2",
    "dz/dx0 = w0",
    "da/dz = a*(1-a)",
    "da/dw2 = a*(1-a)",
])
def test_right_claims_are_proved_symbolically(claim):
    for program in (NEURON, CIRCUIT):
        r = verify(program, claim)
        assert r.ok and r.decided == "symbolic" and r.counterexample is None and r.mistake is None, (program, r)


def test_two_argument_form_and_the_parsed_sides():
    r = verify(NEURON, "da/dx0", "w0*a*(1-a)")
    assert r.ok and r.lhs == "da/dx0" and r.of == "a" and r.wrt == "x0" and r.rhs == "a*w0*(1 - a)"
    assert parse_claim("∂a / ∂x0 = w0").wrt == "x0"


@pytest.mark.parametrize("claim, mistake", [
    ("da/dx0 = -w0*a*(1-a)", "sign"),
    ("da/dx0 = 2*w0*a*(1-a)", "missing factor 1/2"),
    ("da/dx0 = w0*a*(1-a)/3", "extra factor 1/3"),
    ("da/dx0 = w0", "missing activation derivative"),
    ("da/dx0 = x0*a*(1-a)", "wrong variable"),
    ("da/dx0 = w0*a", ("sigmoid", None)),  # σ for σ·(1 − σ): named where σ is a gate, as grading names it
])
def test_wrong_claims_get_a_counterexample_and_the_likely_mistake(claim, mistake):
    for program, named in zip((NEURON, CIRCUIT), mistake if isinstance(mistake, tuple) else (mistake, mistake)):
        r = verify(program, claim)
        assert not r.ok and r.decided == "numeric" and r.mistake == named, (program, r)
        ce = r.counterexample
        assert ce is not None and set(ce.point) == {"w0", "x0", "w1", "x1", "w2"}
        e = ce.entries[0]
        # the "true" value is gradlab's gradient at that point, checked there by fd and torch
        rep = gradients(program, at=ce.point)
        assert rep.ok and e.true == pytest.approx(rep.inputs["x0"].grad, rel=1e-9)
        assert abs(e.claimed - e.true) > 1e-6 * max(1, abs(e.true))


def test_a_claim_right_only_where_a_term_vanishes_is_caught():
    # df/dx = y + z; "y" is right only where z = 0, which no random point hits
    r = verify("f = x*y + z*x", "df/dx = y")
    assert not r.ok and r.counterexample.point["z"] != 0


def test_a_given_point_is_tested_first():
    r = verify(NEURON, "da/dx0 = w0", at=dict(w0=2, x0=-1, w1=-3, x1=-2, w2=-3), trials=3)
    assert not r.ok and r.counterexample.point == {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}
    assert r.counterexample.entries[0].true == pytest.approx(0.393224, abs=1e-6)


def test_random_points_avoid_poles_and_kinks():
    assert verify("f = log(x) + sqrt(y)", "df/dx = 1/x").ok
    assert verify("f = relu(x*y)", "df/dx = y*Heaviside(x*y)").ok
    assert verify("f = 1/(x - y)", "df/dy = 1/(x - y)**2").ok


def test_the_result_serialises_with_stable_keys():
    d = json.loads(verify(NEURON, "da/dx0 = w0").to_json())
    assert {"ok", "lhs", "rhs", "decided", "counterexample", "mistake", "message"} <= set(d)
    assert d["ok"] is False and d["counterexample"]["entries"][0]["entry"] == "da/dx0"
    assert {"claimed", "true", "index"} <= set(d["counterexample"]["entries"][0])


@pytest.mark.parametrize("claim, message", [
    ("a = w0", "must read d<output>/d<variable>"),
    ("da/dx0 w0", "write the claim"),
    ("dq/dx0 = 1", "'q' in 'dq/dx0' is not a node"),
    ("da/dx0 = w0*q", "unknown name 'q'"),
    ("da/dx0 = __import__('os').system('x')", "only known functions"),
    ("da/dx0 = w0.real", "attribute access"),
    ("da/dx0 = ", "empty"),
])
def test_bad_claims_are_clear_errors(claim, message):
    with pytest.raises(GradlabError, match=message.replace("(", r"\(")):
        verify(NEURON, claim)


def test_a_claim_about_an_anonymous_gate_asks_for_a_name():
    with pytest.raises(GradlabError, match="anonymous"):
        verify("a = sigmoid(w*x)", "da/dt1 = 1")


def test_lenient_student_syntax():
    assert verify(NEURON, "da/dx0 = w0 a(1-a)", lenient=True).ok
    with pytest.raises(ParseError):
        verify(NEURON, "da/dx0 = w0 a(1-a)")


# ---------------------------------------------------------------------------------------- CLI


def test_cli_exit_codes_and_json(capsys):
    assert main(["verify", NEURON, "da/dx0 = w0*a*(1-a)"]) == 0
    assert "TRUE (proved symbolically" in capsys.readouterr().out
    assert main(["verify", NEURON, "da/dx0", "w0", "--json"]) == 1
    d = json.loads(capsys.readouterr().out)
    assert d["ok"] is False and d["mistake"] == "missing activation derivative"
    assert main(["verify", NEURON, "da/dq = 1"]) == 2
    assert "error" in capsys.readouterr().err


def test_cli_prints_the_counterexample(capsys):
    assert main(["verify", NEURON, "da/dx0 = -w0*a*(1-a)", "--seed", "3", "--trials", "5"]) == 1
    out = capsys.readouterr().out
    assert "FALSE" in out and "likely mistake: sign" in out and "counterexample" in out and "da/dx0" in out


# ---------------------------------------------------------------------------------------- matrices
SHEET = ("x: (3,); A: (2, 3); B: (2, 2); y: onehot(2); u = A @ x; v = tanh(u); z = B @ v; p = softmax(z); "
         "L = -sum(y * log(p)) / 2")


@pytest.mark.parametrize("claim", [
    # the closed forms of point 4, each in two different forms
    "dL/dz = (p - y)/2", "dL/dz = (softmax(z) - y) / 2",
    "dL/dB = (p - y) @ v.T / 2", "dL/dB = outer(p - y, v) / 2",
    "dL/dA = ((B.T @ (p - y) / 2) * (1 - v**2)) @ x.T", "dL/dA = (B.T @ (p - y) * (1 - tanh(A @ x)**2)) @ x.T / 2",
    "dL/du = (B.T @ (p - y) / 2) * (1 - v**2)", "dL/dp = -y / (2*p)",
    # entry by entry, 1-based as on the sheet
    "dL/dB_1_2 = (p_1 - y_1) * v_2 / 2", "dL/dz_2 = (p_2 - y_2) / 2",
])
def test_the_closed_forms_are_proved(claim):
    r = verify(SHEET, claim)
    assert r.ok and r.decided == "symbolic" and r.trials == 25, r.message


@pytest.mark.parametrize("claim, mistake", [
    ("dL/dB = (p - y) @ v.T", "missing factor 1/2"),
    ("dL/dB = v @ (p - y).T / 2", "transposed"),
    ("dL/dB = v @ (p - y).T", "transposed, missing factor 1/2"),
    ("dL/dA = (B.T @ (p - y) / 2) @ x.T", "missing activation derivative"),
    ("dL/dB = (y - p) @ v.T / 2", "sign"),
    ("dL/dB = p @ v.T / 2", "p instead of p - y"),
    ("dL/dz = p / 2", "p instead of p - y"),
    ("dL/dA = ((B.T @ p / 2) * (1 - v**2)) @ x.T", "p instead of p - y"),
    ("dL/dx = (A.T @ ((B.T @ (p - y) / 2) * (1 - v**2))).T", "transposed"),
    ("dL/dA = ((B @ (p - y) / 2) * (1 - v**2)) @ x.T", "transposed B"),  # B is square: only values tell
    ("dL/dv = B @ (p - y) / 2", "transposed B"),
])
def test_wrong_matrix_claims_are_rejected_with_a_counterexample(claim, mistake):
    r = verify(SHEET, claim)
    assert not r.ok and r.mistake == mistake and r.decided == "numeric", r.message
    ce = r.counterexample
    assert set(ce.point) == {"x", "A", "B", "y"} and sorted(ce.point["y"]) == [0.0, 1.0]
    # the true values in the counterexample are the gradient at that point, by plain torch
    _, grads = _torch_sheet(ce.point)
    wrt = claim.split("=")[0].strip()[len("dL/d"):]
    if wrt in grads:
        assert np.allclose(np.asarray(ce.true_value), grads[wrt], rtol=1e-10)
    if ce.entries:
        e = ce.entries[0]
        assert e.entry.startswith(f"dL/d{wrt}_") and abs(e.claimed - e.true) > 1e-8


def _torch_sheet(point):
    import torch

    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in point.items()}
    v = torch.tanh(t["A"] @ t["x"])
    p = torch.softmax(t["B"] @ v, dim=0)
    loss = -0.5 * torch.sum(t["y"] * torch.log(p))
    loss.backward()
    return float(loss.detach()), {k: x.grad.numpy() for k, x in t.items()}


def test_a_claim_right_only_for_one_label_is_caught():
    # (p - y) @ v.T / 2 with y replaced by its first entry only: right for cat images, wrong for dogs
    r = verify(SHEET, "dL/dB = (p - y_2 * y) @ v.T / 2")
    assert not r.ok


def test_the_label_declaration_matters():
    plain = SHEET.replace("onehot(2)", "(2,)")
    r = verify(plain, "dL/dz = (p - y)/2")
    assert not r.ok   # for a y that does not sum to 1 the closed form is p*sum(y)/2 - y/2
    assert verify(plain, "dL/dz = (p*sum(y) - y)/2").ok


def test_matrix_claim_errors_are_clear():
    with pytest.raises(GradlabError, match="cannot multiply \\(p - y\\) @ v"):
        verify(SHEET, "dL/dB = (p - y) @ v / 2")
    with pytest.raises(GradlabError, match="Jacobian"):
        verify(SHEET, "dp/dz = p")
    with pytest.raises(GradlabError, match="entries count from 1"):
        verify(SHEET, "dL/dB_3_1 = 0")
    with pytest.raises(GradlabError, match="unknown name 'w'"):
        verify(SHEET, "dL/dB = w")
    r = verify(SHEET, "dL/dB = (p - y) @ x.T / 2")
    assert not r.ok and r.mistake == "wrong shape" and r.counterexample.claimed_shape == [2, 3]


def test_the_result_of_a_matrix_claim_serialises():
    d = json.loads(verify(SHEET, "dL/dB = v @ (p - y).T / 2").to_json())
    assert d["ok"] is False and d["mistake"] == "transposed" and d["shape"] == [2, 2]
    assert len(d["counterexample"]["true_value"]) == 2 and d["counterexample"]["entries"][0]["entry"].startswith("dL/dB_")


def test_cli_verify_a_graph_file(capsys):
    from pathlib import Path

    f = str(Path(__file__).resolve().parents[2] / "graphs" / "two_layer_softmax.toml")
    assert main(["verify", f, "dL/dB = (p - y) @ v.T / 2"]) == 0
    assert main(["verify", f, "dL/dA", "(B.T @ (p - y) / 2) @ x.T"]) == 1
    out = capsys.readouterr().out
    assert "likely mistake: missing activation derivative" in out and "1 - v**2" in out


@pytest.mark.parametrize("claim", ["dL/dB = exp(exp(exp(exp(exp(exp(B))))))", "dL/dB = B / (B - B)",
                                   "dL/dz = log(z - z)"])
def test_a_claim_that_overflows_or_is_undefined_is_wrong_not_right(claim):
    # inf is close to nothing: a claim that overflows at the random points is refuted there
    program = "x: (3,); A: (2, 3); B: (2, 2); y: onehot(2); v = tanh(A @ x); z = B @ v; p = softmax(z); L = -sum(y*log(p))/2"
    with np.errstate(all="raise"):
        r = verify(program, claim)
    assert not r.ok and r.counterexample is not None


def test_explain_false_decides_the_same_without_the_display_formula():
    program = "x: (3,); A: (2, 3); B: (2, 2); y: onehot(2); v = tanh(A @ x); z = B @ v; p = softmax(z); L = -sum(y*log(p))/2"
    for claim in ["dL/dB = (p - y) @ v.T / 2", "dL/dB = v @ (p - y).T / 2"]:
        full, lean = verify(program, claim), verify(program, claim, explain=False)
        assert (lean.ok, lean.decided, lean.mistake) == (full.ok, full.decided, full.mistake)
        assert full.truth == "(p - y) @ v.T / 2" and lean.truth is None
