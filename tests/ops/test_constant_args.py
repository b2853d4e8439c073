"""max/min/relu/abs with constant or symbolic-constant arguments (``softplus(c)`` for a constant ``c``) in every
engine: SymPy could not compare ``softplus(1)`` with a number, so the symbolic step crashed (issue 12)."""

from __future__ import annotations

import math

import pytest

from gradlab import gradients, verify

SP1 = math.log1p(math.e)  # softplus(1)


@pytest.mark.parametrize("program, u, want", [
    ("c = 1; f = max(softplus(c), u)", 0.6, 0.0),     # the constant is larger: no gradient reaches u
    ("c = 1; f = max(softplus(c), u)", 2.0, 1.0),
    ("c = 1; f = min(sigmoid(c), u)", 0.6, 1.0),
    ("c = 1; f = min(sigmoid(c), u)", 0.9, 0.0),
    ("c = 1; f = max(relu(softplus(c)), u)", 3.0, 1.0),
    ("c = 2; f = u*abs(sigmoid(c) - 1)", 0.5, 1 - 1 / (1 + math.exp(-2))),
    ("c = 1; f = max(silu(c), u*u)", 0.6, 0.0),
])
def test_constant_arguments_work_in_every_engine(program: str, u: float, want: float) -> None:
    r = gradients(program, at={"u": u})
    assert r.ok, r
    assert r.inputs["u"].grad == pytest.approx(want, abs=1e-12)
    assert r.inputs["u"].fd == pytest.approx(want, abs=1e-6)
    assert r.inputs["u"].torch == pytest.approx(want, abs=1e-12)


def test_on_the_constants_kink_the_conventions_are_named() -> None:
    r = gradients("c = 1; f = max(softplus(c), u)", at={"u": SP1})
    assert r.ok and r.inputs["u"].status.startswith("kink")
    assert [k.op for k in r.kinks] == ["max"]


def test_formula_keeps_the_constant_symbolic() -> None:
    r = gradients("c = 1; f = min(sigmoid(c), u)", at={"u": 0.6})
    assert "sigmoid(1)" in r.inputs["u"].expr


def test_a_claim_with_a_constant_argument_is_verified() -> None:
    v = verify("c = 1; f = min(sigmoid(c), u)", "df/du = Heaviside(sigmoid(1) - u)")
    assert v.ok, v
