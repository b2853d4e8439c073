"""Graph files with vectors and matrices: array values, expected arrays, [formulas], clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gradlab import GradlabError, check_graph_file, load_graph_file
from gradlab.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXERCISE = ROOT / "graphs" / "two_layer_softmax.toml"


def test_the_exercise_file_checks_its_numbers_and_closed_forms():
    r = check_graph_file(EXERCISE)
    assert r.ok and r.report.ok
    assert {e.name for e in r.expected if e.kind == "grad"} == {"p", "z", "B", "v", "A", "x"}
    closed = {f.claim.split(" = ")[0]: f for f in r.formulas}
    for lhs in ["dL/dz", "dL/dB", "dL/dA", "dL/du", "dL/dp", "dL/dB_1_2"]:
        assert closed[lhs].ok and closed[lhs].decided == "symbolic"
    gf = load_graph_file(EXERCISE)
    assert gf.graph.attrs("y")["domain"] == "onehot" and gf.at["A"] == [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]]
    assert np.allclose(gf.expected_tol["grads.B"], 5e-7)  # half a unit in the last digit, entry by entry


def test_a_wrong_closed_form_in_a_file_fails_the_check(tmp_path):
    text = EXERCISE.read_text().replace('"dL/dB" = "(p - y) @ v.T / 2"', '"dL/dB" = "v @ (p - y).T / 2"')
    p = tmp_path / "wrong.toml"
    p.write_text(text)
    r = check_graph_file(p)
    assert not r.ok and r.report.ok
    bad = [f for f in r.formulas if not f.ok]
    assert len(bad) == 1 and bad[0].mistake == "transposed"
    d = json.loads(r.to_json())
    assert d["ok"] is False and d["formulas"][3]["ok"] is False


def test_a_wrong_expected_entry_fails(tmp_path):
    text = EXERCISE.read_text().replace("[0.034322, 0.171608]", "[0.034322, 0.171609]")
    p = tmp_path / "wrong.toml"
    p.write_text(text)
    r = check_graph_file(p)
    bad = [e for e in r.expected if not e.ok]
    assert not r.ok and [e.name for e in bad] == ["v"] and bad[0].actual == pytest.approx([0.034322, 0.171608],
                                                                                          abs=1e-6)


def test_undeclared_shapes_come_from_the_array_values(tmp_path):
    p = tmp_path / "g.toml"
    p.write_text('program = "v = tanh(A @ x)\\nL = sum(v)"\n[at]\nA = [[1.0, 0.0], [0.0, 2.0]]\nx = [0.5, 0.25]\n'
                 '[expected.values]\nv = [0.462117, 0.462117]\n[formulas]\n"dL/dA" = "(1 - v**2) @ x.T"\n')
    r = check_graph_file(p)
    assert r.ok and r.report.inputs["A"].shape == [2, 2]


HEAD = 'program = """\nx: (3,)\nA: (2, 3)\nL = sum(A @ x)\n"""\n'
MALFORMED = [
    (HEAD + '[at]\nx = [1, 2]\nA = [[1, 2, 3], [4, 5, 6]]\n', "has shape (2,), but 'x' is a column vector (3,)", 7),
    (HEAD + '[at]\nx = [1, 2, 3]\nA = [[1, 2, 3], [4, 5]]\n', "rows of equal length", 8),
    (HEAD + '[at]\nx = 3\nA = [[1, 2, 3], [4, 5, 6]]\n', "must be an array for a column vector (3,)", 7),
    (HEAD + '[at]\nx = [1, "a", 3]\nA = [[1, 2, 3], [4, 5, 6]]\n', "array of numbers", 7),
    (HEAD + '[at]\nx = [1, 2, 3]\nA = [[1, 2, 3], [4, 5, 6]]\n[expected.grads]\nA = [1, 2]\n',
     "has shape (2,), but 'A' is a 2x3 matrix", 10),
    (HEAD + '[formulas]\n"dL/dA" = "x @ @"\n', "syntax error", None),
    (HEAD + '[formulas]\n"L/A" = "x.T"\n', "must read d<output>/d<variable>", 7),
    (HEAD + '[formulas]\n"dL/dA" = 3\n', "must be a string", 7),
    (HEAD + '[formulas]\n"dL/dA" = "(x @ x)"\n', "cannot multiply x @ x", 7),
    ('program = "x: (2, 3, 4)\\nL = sum(x)"\n', "at most 2 axes", 1),
]


@pytest.mark.parametrize("text, message, line", MALFORMED)
def test_malformed_tensor_files_name_file_and_line(tmp_path, text, message, line):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(GradlabError) as info:
        check_graph_file(p)
    assert message in str(info.value) and str(p) in str(info.value)
    if line is not None:
        assert info.value.where.line == line


def test_cli_grad_and_check_take_tensors(capsys):
    assert main(["grad", "x: (2,); A: (2, 2); f = sum(tanh(A @ x))", "--at", "x=[1, 2]",
                 "--at", "A=[[0.5, 0], [0, -0.25]]", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert np.allclose(d["inputs"]["x"]["grad"], [0.393224, -0.196612], atol=1e-6)
    assert main(["check", str(EXERCISE), "--nodes"]) == 0
    out = capsys.readouterr().out
    assert "dL/dA = ((B.T @ (p - y)) * (1 - v**2)) @ x.T / 2" in out and "ok (symbolic)" in out
    assert "every node" in out and "softmax" in out
    assert main(["grad", "x: (2,); f = sum(x)", "--at", "x=[1, 2"]) == 2
    assert "not an array" in capsys.readouterr().err
