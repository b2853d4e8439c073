"""Big graphs stay linear: past FD_EXACT_WORK finite differences take a sample of the input entries one by one and
check every entry through random directional differences, and the report says which (``fd_sampling``)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gradlab import Graph, gradients
from gradlab.engine import finite_diff
from gradlab.errors import ParseError
from gradlab.lang import parse

CHAIN = "\n".join(["h0 = x"] + [f"h{i} = tanh(w{i}*h{i - 1} + b{i})" for i in range(1, 11)])


def chain_point(n_layers: int = 10) -> dict[str, float]:
    at = {"x": 0.4}
    for i in range(1, n_layers + 1):
        at[f"w{i}"], at[f"b{i}"] = 0.3 + 0.05 * i, -0.2 + 0.03 * i
    return at


@pytest.fixture
def small_threshold(monkeypatch):
    monkeypatch.setattr(finite_diff, "FD_EXACT_WORK", 50)
    monkeypatch.setattr(finite_diff, "FD_SAMPLE", 5)


def test_a_small_graph_differences_every_input_and_its_json_has_no_sampling():
    r = gradients(CHAIN, chain_point())
    assert r.fd_sampling is None and "fd_sampling" not in r.to_dict()
    assert all(i.fd is not None for i in r.inputs.values())


def test_a_big_graph_differences_a_sample_and_checks_every_input_along_directions(small_threshold):
    r = gradients(CHAIN, chain_point())
    s = r.fd_sampling
    assert r.ok and s is not None and s.directional_ok
    assert s.sample == len(s.checked) == 5 and s.entries == len(r.inputs) == 21 and s.directions == 4
    differenced = {n for n, i in r.inputs.items() if i.fd is not None}
    assert differenced == set(s.checked)
    assert all(i.status == "ok" for i in r.inputs.values())
    assert np.allclose(s.directional_fd, s.directional_grad, rtol=1e-6)
    d = json.loads(r.to_json())
    assert d["fd_sampling"]["checked"] == s.checked and set(d["inputs"]["x"]) == set(
        json.loads(gradients("f = x", {"x": 1.0}).to_json())["inputs"]["x"])
    assert "5 of 21 input entries" in str(r) and "agree" in str(r)
    assert gradients(CHAIN, chain_point()).fd_sampling.checked == s.checked  # the same sample each time


def test_a_wrong_gradient_outside_the_sample_fails_the_directional_check(small_threshold, broken_sigmoid):
    program = CHAIN.replace("h10 = tanh(", "h10 = badsig(")
    r = gradients(program, chain_point(), methods=["fd"])
    assert not r.ok and not r.fd_sampling.directional_ok
    assert r.blame is not None and "directions" in r.blame.message + str(r)


def test_a_tensor_input_gets_its_sampled_entries_and_nan_elsewhere(small_threshold):
    r = gradients("x: (12,); w: (12,); f = sum(tanh(w*x))",
                  {"x": np.linspace(-1, 1, 12), "w": np.linspace(0.5, 1.5, 12)})
    assert r.ok and r.fd_sampling is not None and r.fd_sampling.directional_ok
    fds = [np.asarray(i.fd) for i in r.inputs.values() if i.fd is not None]
    assert sum(int(np.isfinite(f).sum()) for f in fds) == 5
    assert all(i.status == "ok" for i in r.inputs.values())
    assert None in json.loads(r.to_json())["inputs"]["x"]["fd"] or len(fds) == 1


def test_the_program_limit_fits_a_chain_of_100000_gates_and_stays_bounded():
    layers = 100_000 // 3
    longest = len("\n".join(["h0 = x"] + [f"h{i} = tanh(w{i}*h{i - 1} + b{i})" for i in range(1, layers + 1)]))
    assert longest <= parse.MAX_PROGRAM_CHARS <= 4 * longest
    with pytest.raises(ParseError, match="too long"):
        parse.parse_program("f = x" + " " * parse.MAX_PROGRAM_CHARS)


def test_entry_formulas_are_text_only_when_read():
    from gradlab.engine.tensor_symbolic import tensor_symbolic

    r = gradients("x: (3,); A: (2, 3); f = sum(tanh(A @ x))", {"x": [1.0, 2.0, 3.0], "A": np.eye(2, 3)})
    e = r.inputs["A"].entries
    assert e.pending and len(e) == 6 and r.ok
    named = tensor_symbolic(Graph.parse("x: (3,); A: (2, 3); f = sum(tanh(A @ x))")).named("A")
    assert e["A_1_2"] == str(named[0, 1]) and not e.pending
    assert json.loads(r.to_json())["inputs"]["x"]["entries"] == dict(r.inputs["x"].entries)


def _bounded(argv: list[str]) -> subprocess.CompletedProcess:
    """``python -m gradlab ARGV`` under 10 s of CPU and 1 GiB of address space (the hostile-input corpus's limits)."""
    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (10, 10))
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run([sys.executable, "-m", "gradlab", *argv], env=env, capture_output=True, text=True,
                          preexec_fn=limits, timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("program", ["x: (500, 500)\nf = sum(x*x)", "A: (100, 100)\nf = sum(A @ A)"])
def test_big_tensor_graphs_answer_fast_in_matrix_form(program):
    """Issue 13 item 5: these ran 62 s and over 120 s building a formula per entry."""
    p = _bounded(["grad", program])
    assert p.returncode == 0, p.stderr
    assert "df/dt1" in p.stdout and "Traceback" not in p.stderr


def test_a_big_tensor_check_is_fast_and_samples_its_differences():
    rng = np.random.default_rng(1)
    r = gradients("A: (100, 100)\nf = sum(A @ A)", {"A": rng.normal(size=(100, 100))})
    assert r.ok and r.fd_sampling is not None and r.fd_sampling.directional_ok
    assert r.inputs["A"].expr == "df/dt1 @ A.T + A.T @ df/dt1" and not r.inputs["A"].entries


def test_a_big_graphs_formulas_are_the_same_when_its_sympy_objects_go_in_batches(monkeypatch):
    from gradlab.check import gradients as steps

    program = "\n".join(["h0 = x"] + [f"h{i} = tanh(w{i}*h{i - 1} + b{i})" for i in range(1, 200)])
    g = Graph.parse(program)
    kept = {n: (f.expr, f.named, f.staged_reason) for n, f in steps.formulas(g).items()}
    monkeypatch.setattr(steps, "FORGET_EVERY", 3)
    batched = {n: (f.expr, f.named, f.staged_reason) for n, f in steps.formulas(g).items()}
    assert batched == kept and kept["w5"][0] and "more than" in kept["w5"][2]


def test_a_parsed_program_keeps_each_statements_text_and_place():
    g = Graph.parse("z = w0*x0 + w1\nf = tanh(z)*z")
    assert [(n, g.attrs(n)["statement"], g.attrs(n)["line"], g.attrs(n)["text"]) for n in g.op_nodes] == [
        ("t1", 0, 1, "w0*x0"), ("z", 0, 1, "w0*x0 + w1"), ("t2", 1, 2, "tanh(z)"), ("f", 1, 2, "tanh(z)*z")]


def test_the_torch_step_gives_the_same_adjoints_when_it_releases_freed_memory(monkeypatch):
    from gradlab.check import gradients as steps

    g = Graph.parse("h1 = tanh(w1*x + b1); f = tanh(w2*h1 + b2)")
    at = {"x": 0.3, "w1": -1.2, "b1": 0.4, "w2": 0.7, "b2": -0.1}
    ev = steps.evaluate_point(g, at)
    kept = steps.torch_step(g, ev, steps.METHODS)
    monkeypatch.setattr(steps, "RELEASE_NODES", 0)
    assert steps.torch_step(g, ev, steps.METHODS) == kept and kept["x"] == pytest.approx(float(ev.adjoints["x"]))
