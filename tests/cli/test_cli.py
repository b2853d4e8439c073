"""End-to-end: the gradlab command, its exit codes and its JSON."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gradlab.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    return subprocess.run([sys.executable, "-m", "gradlab", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def test_grad_prints_the_table(capsys):
    assert main(["grad", "z = w0*x0 + w1*x1 + w2; a = sigmoid(z)", "--at", "w0=2,x0=-1,w1=-3,x1=-2,w2=-3"]) == 0
    out = capsys.readouterr().out
    assert "output a = 0.731059" in out
    assert "x1     -2     -0.589836" in out
    assert "da/dx0 = " in out and "= a*w0*(1 - a)" in out


def test_grad_json_has_the_stable_keys(capsys):
    assert main(["grad", "f = (x+y)*z", "--at", "x=-2", "--at", "y=5", "--at", "z=-4", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["output"] == {"name": "f", "value": -12.0}
    assert {k: d["inputs"]["x"][k] for k in ("value", "grad", "fd", "torch")} == pytest.approx(
        {"value": -2, "grad": -4, "fd": -4, "torch": -4})
    assert d["inputs"]["z"]["expr"] == "x + y" and d["ok"] is True and len(d["nodes"]) == 5


def test_grad_without_at_is_symbolic_only(capsys):
    assert main(["grad", "f = x*sin(y)"]) == 0
    out = capsys.readouterr().out
    assert "df/dx = sin(y)" in out and "finite diff" not in out


@pytest.mark.parametrize("program, at", [("f = (x+y)*z", "x=-2,y=5,z=-4"), ("L = sum(A @ x)", "A=[[1, 2]],x=[3, 4]")])
def test_grad_without_independent_methods_does_not_claim_they_agree(capsys, program, at):
    assert main(["grad", program, "--at", at, "--methods", ""]) == 0
    out = capsys.readouterr().out
    assert "all methods agree" not in out and "no independent check run" in out


@pytest.mark.parametrize("program, at, fd", [
    ("f = log(x)", "x=1e-12", {"x": 1e12}),
    ("f = sqrt(x)", "x=1e-14", {"x": 5e6}),
    ("f = sqrt(x)", "x=1e-8", {"x": 5e3}),
    ("f = sqrt(x - 2)*y", "x=2.000000001,y=1", {"x": 0.5 / (2.000000001 - 2) ** 0.5, "y": (2.000000001 - 2) ** 0.5}),
    ("f = log(x - 1)", "x=1.0000000001", {"x": 1 / (1.0000000001 - 1)}),
    ("f = log(x)*y", "x=1e-300,y=1", {"x": 1e300, "y": -690.7755278982137}),
    ("f = 1/x", "x=1e-9", {"x": -1e18}),
    ("x: (2,); f = sum(log(x))", "x=[1e-12, 1]", {"x": [1e12, 1.0]}),
])
def test_grad_checks_a_point_next_to_a_domain_edge_without_stepping_over_it(capsys, program, at, fd):
    assert main(["grad", program, "--at", at, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["ok"] is True
    for name, want in fd.items():
        assert d["inputs"][name]["fd"] == pytest.approx(want, rel=1e-7)


def test_grad_of_a_graph_file_uses_its_point(capsys):
    assert main(["grad", str(ROOT / "graphs" / "add_mul.toml"), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["output"]["value"] == -12.0 and d["inputs"]["y"]["grad"] == -4.0


def test_check_default_folder_passes():
    p = run("check", "-q")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "graph files pass" in p.stdout


def test_check_json_is_a_list_with_paths(capsys):
    assert main(["check", str(ROOT / "graphs" / "add_mul.toml"), str(ROOT / "graphs" / "neuron.toml"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [Path(d["path"]).name for d in data] == ["add_mul.toml", "neuron.toml"]
    assert all(d["ok"] and "inputs" in d and "expected" in d for d in data)


def test_check_exit_1_when_an_expected_number_is_wrong(tmp_path, capsys):
    (tmp_path / "g.toml").write_text('program = "f = x*y"\n[at]\nx = 2\ny = 3\n[expected.grads]\nx = 4\n')
    assert main(["check", str(tmp_path)]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_check_exit_2_for_a_broken_file_but_checks_the_others(tmp_path, capsys):
    (tmp_path / "a.toml").write_text('program = "f = x*y"\n[at]\nx = 2\ny = 3\n')
    (tmp_path / "b.toml").write_text('program = "f = foo(x)"\n')
    assert main(["check", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "a.toml" in captured.out and "PASS" in captured.out
    assert "b.toml" in captured.err and "unknown function 'foo'" in captured.err


@pytest.mark.parametrize("args, message", [
    (["grad", "f = __import__('os')", "--at", "x=1"], "unknown function '__import__'"),
    (["grad", "f = x.y"], "attribute access"),
    (["grad", "f = x*y", "--at", "x=1"], "missing value for input 'y'"),
    (["grad", "f = x*y", "--at", "x=one", "--at", "y=1"], "'one' is not a number"),
    (["grad", "f = x*y", "--at", "x=nan", "--at", "y=1"], "finite number"),
    (["grad", "f = log(x)", "--at", "x=-1"], "log of a non-positive number"),
    (["grad", "f = 1/(x-1)", "--at", "x=1"], "division by zero"),
    (["grad", "a = b + 1; b = a*2"], "before it is assigned"),
    (["grad", "f = 9**9**9"], "too large"),
    (["grad", "f = x", "--methods", "magic"], "unknown method"),
    (["check", "no/such/dir"], "no such file or folder"),
])
def test_bad_input_exit_2_one_line_no_traceback(args, message):
    p = run(*args)
    assert p.returncode == 2, p.stdout + p.stderr
    assert message in p.stderr
    assert "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_help_on_every_command():
    from gradlab.cli import COMMANDS

    for name in [None, *COMMANDS]:
        with pytest.raises(SystemExit) as info:
            main(([name] if name else []) + ["--help"])
        assert info.value.code == 0
