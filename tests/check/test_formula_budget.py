"""Formulas within a time budget (issue 12 item 4): past it the staged form, said so in the report, and the JSON's
``staged_form`` carries the definitions that evaluate it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import pytest
import sympy as sp

from gradlab import gradients
from gradlab.check.budget import Budget, OutOfTime, _can_alarm
from gradlab.check.staged import formula_text
from gradlab.errors import GradlabError
from gradlab.lang.expr import parse_expression

#: A 36-statement program of benchmarks/referee.py's generator (36 statements, seed 7, program 1082) whose
#: formulas in the inputs took 0.3 to 1.7 s on a busy machine: a budget of 0.01 s runs out on any machine.
PROGRAM = """v1 = min(y, z)
v2 = cos(x + 1e-3)
v3 = (y*y + 1)**3
v4 = tanh(z*v3)
v5 = z*z
v6 = sin(x*z)
v7 = v5 * y
v8 = v3 + v2
v9 = v7 * v2
v10 = v4 - v3
v11 = hardtanh(v7)
v12 = min(v10, x)
v13 = relu(x + 1e8)
v14 = cos(v12)
v15 = max(v12, v13)
v16 = sin(z + 2)
v17 = y / (v15*v15 + 1)
v18 = v15 + v6
v19 = v13*v13
v20 = min(v8, v17)
v21 = (v4 + 2) - 1e8
v22 = v5 - v2
v23 = (v14*v14 + 1)**2
v24 = max(v9, v5)
v25 = hardtanh(v17 + 1e-3)
v26 = (v22 + 3) - 0.5
v27 = v1 * v4
v28 = (v25*v25 + 1)**0.5
v29 = max(v19, v15)
v30 = softplus(v3)
v31 = max(v28, v6)
v32 = hardtanh(v21 + 1e8)
v33 = (v15 + 0.1) - 1
v34 = (v32 + 2) - 1
v35 = min(v2, v21)
v36 = (v1 + 1e8) - 1e-3
f = v7 + v33"""
AT = {"x": 0.7, "y": 2.296, "z": 1.61046816}


def evaluate_staged(staged: dict[str, Any], at: dict[str, float]) -> dict[str, float]:
    """What a script does with the JSON: each value in order, then each adjoint in order, every formula read by
    gradlab's parser (no eval). Returns every adjoint's number."""
    env: dict[sp.Symbol, sp.Expr] = {sp.Symbol(n, real=True): sp.Float(v, 30) for n, v in at.items()}
    names = [*at, *staged["values"], *staged["adjoints"]]
    symbols = {n: sp.Symbol(n, real=True) for n in names}
    for group in ("values", "adjoints"):
        for name, text in staged[group].items():
            e = parse_expression(text, symbols, unknown_names=False, rational=False)
            env[symbols[name]] = sp.Float(sp.N(sp.sympify(e).xreplace(env), 30), 30)
    return {n: float(env[symbols[n]]) for n in staged["adjoints"]}


def test_the_budget_runs_out_and_the_staged_form_from_json_gives_the_gradient() -> None:
    t0 = time.perf_counter()
    r = gradients(PROGRAM, at=AT, formula_budget=0.01)
    took = time.perf_counter() - t0
    assert r.ok, r
    assert r.staged_form is not None and "formula budget of 0.01 s" in r.staged_form.reason
    assert "staged form: building the formulas in the inputs took longer than the formula budget" in str(r)
    for n in AT:
        assert r.inputs[n].expr.startswith("df_d") or "*df_d" in r.inputs[n].expr  # in its consumers' adjoints
    d = json.loads(r.to_json())
    got = evaluate_staged(d["staged_form"], AT)
    for n in AT:
        assert got[f"df_d{n}"] == pytest.approx(r.inputs[n].grad, rel=1e-9, abs=1e-12)
    assert took < 60  # the budget bounds the formulas; the rest of the check is fast


def test_staged_form_of_a_graph_too_big_to_read_also_evaluates() -> None:
    from pathlib import Path

    from gradlab.check.graphfile import check_graph_file

    r = check_graph_file(Path(__file__).parents[2] / "graphs" / "mlp_3_4_2.toml").report
    assert r.staged_form is not None and "too big to read" in r.staged_form.reason
    d = r.to_dict()
    got = evaluate_staged(d["staged_form"], {n: float(v) for n, v in d["at"].items()})
    for n, i in r.inputs.items():
        assert got[f"d{r.output.name}_d{n}"] == pytest.approx(i.grad, rel=1e-9, abs=1e-12), n


def test_within_the_budget_no_staged_form() -> None:
    r = gradients("z = w0*x0 + w1*x1 + w2; a = sigmoid(z)", at=dict(w0=2, x0=-1, w1=-3, x1=-2, w2=-3))
    assert r.staged_form is None and "staged_form" not in r.to_dict()
    assert r.inputs["x0"].expr == "w0*(1 - sigmoid(w0*x0 + w1*x1 + w2))*sigmoid(w0*x0 + w1*x1 + w2)"
    assert gradients(PROGRAM, at=AT, formula_budget=None).staged_form is None  # no limit: formulas in the inputs


def test_a_symbolic_only_report_falls_back_too() -> None:
    r = gradients("f = sin(x*y)", formula_budget=0)
    assert r.at is None and r.staged_form is not None
    assert r.inputs["x"].expr == "df_dt1*y" and dict(r.staged_form.values) == {"t1": "x*y", "f": "sin(t1)"}


@pytest.mark.parametrize("bad", [-1, float("nan"), "5", True])
def test_a_bad_budget_is_refused(bad: Any) -> None:
    with pytest.raises(GradlabError, match="formula budget"):
        gradients("f = x*y", at={"x": 1, "y": 2}, formula_budget=bad)


@pytest.mark.skipif(not _can_alarm(), reason="no SIGALRM here (another timer, a thread, or the platform)")
def test_a_single_long_step_is_interrupted_at_the_deadline() -> None:
    b = Budget(0.05)
    t0 = time.perf_counter()
    with pytest.raises(OutOfTime):
        with b.interrupting():
            time.sleep(5)
    assert time.perf_counter() - t0 < 3 and b.spent


def test_formula_text_reads_back() -> None:
    a, b = sp.symbols("a b", real=True)
    for e in [sp.Max(a, b, 2) * sp.Abs(a), sp.Min(a, b), sp.Piecewise((1, a > 0), (sp.Rational(1, 2) * sp.exp(a), True)),
              sp.Piecewise((a, b < 1), (2, True))]:
        back = parse_expression(formula_text(e), {"a": a, "b": b}, unknown_names=False)
        for va, vb in [(0.5, -1.0), (-0.5, 2.0), (0.0, 0.0), (1.5, 3.0)]:
            pt = {a: sp.Float(va), b: sp.Float(vb)}
            assert float(sp.N(back.xreplace(pt))) == pytest.approx(float(sp.N(e.xreplace(pt)))), (e, va, vb)


def test_cli_formula_budget() -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "gradlab", *args], capture_output=True, text=True, timeout=120)

    p = run("grad", "f = sin(x*y)", "--at", "x=1,y=2", "--formula-budget", "0", "--json")
    assert p.returncode == 0, p.stderr
    staged = json.loads(p.stdout)["staged_form"]
    assert staged["adjoints"]["df_dx"] == "df_dt1*y"
    assert evaluate_staged(staged, {"x": 1.0, "y": 2.0})["df_dx"] == pytest.approx(2 * float(sp.cos(2)))
    p = run("grad", "f = sin(x*y)", "--at", "x=1,y=2", "--formula-budget", "soon")
    assert p.returncode == 2 and "--formula-budget" in p.stderr and "Traceback" not in p.stderr
