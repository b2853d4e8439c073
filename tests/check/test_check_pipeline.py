"""gradients() as a pipeline of named steps with one report type: the steps by hand give the same report,
one closeness test for numbers and arrays, the report's JSON keys per kind of graph, its HTML in Jupyter,
and one judge for every graph (a wrong derivative near a kink is not excused, for vectors either)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from gradlab import GradientReport, gradients
from gradlab.check import gradients as steps
from gradlab.check.tensor_check import TensorGradientReport, TensorInputResult, TensorNodeResult, tensor_gradients
from gradlab.engine.closeness import close, max_rel_error

SHEET = "x: (3,); A: (2, 3); y: onehot(2); p = softmax(A @ x); L = -sum(y*log(p))"
SHEET_AT = {"x": [1.0, 2.0, 3.0], "A": [[0.1, 0.2, 0.3], [0.0, -0.1, 0.2]], "y": [1.0, 0.0]}
NEURON = "a = 1/(1+exp(-(w0*x0 + w1*x1 + w2)))"
NEURON_AT = dict(w0=2, x0=-1, w1=-3, x1=-2, w2=-3)
TENSOR_KEYS = {"shape", "matrix", "entries", "staged", "representative"}


def by_hand(program, at):
    """The pipeline's steps called one by one, as gradients() calls them."""
    graph, methods, tol = steps.prepare(program, at, steps.METHODS, None)
    text = steps.formulas(graph)
    ev = steps.evaluate_point(graph, at)
    kinks = steps.find_kinks(graph, ev.values, tol)
    fd, torch = steps.fd_step(graph, ev, methods), steps.torch_step(graph, ev, methods)
    judge = steps.verdicts(kinks, steps.kink_convention(graph, ev, kinks, torch), tol)
    inputs = steps.judge_inputs(graph, ev, text, fd, torch, judge)
    nodes = steps.judge_nodes(graph, ev, text, torch, judge)
    return graph, inputs, nodes


@pytest.mark.parametrize("program, at", [(NEURON, NEURON_AT), (SHEET, SHEET_AT)])
def test_the_steps_by_hand_give_what_gradients_reports(program, at):
    graph, inputs, nodes = by_hand(program, at)
    r = gradients(program, at)
    assert r.is_tensor == graph.is_tensor
    assert list(inputs) == list(r.inputs) == graph.inputs
    for name, i in inputs.items():
        assert np.array_equal(i.grad, r.inputs[name].grad) and i.status == r.inputs[name].status == "ok"
        assert i.expr == r.inputs[name].expr and i.fd_rel_err == r.inputs[name].fd_rel_err
    assert [n.id for n in nodes] == [n.id for n in r.nodes] and all(n.ok for n in nodes)


def test_one_closeness_test_for_numbers_and_arrays():
    assert close(1.0, 1.0 + 1e-12, 1e-9, 0.0) and not close(1.0, 1.1, 1e-9, 0.0)
    assert close([1.0, 0.0], [1.0, 1e-12], 0.0, 1e-10) and not close([1.0, 0.0], [1.0, 1e-9], 0.0, 1e-10)
    assert close([1.0, 2.0], [1.0, 2.5], 0.0, np.array([0.0, 1.0]))  # an array of absolute tolerances
    assert max_rel_error(2.0, 1.0) == 0.5 and max_rel_error(0.0, 0.0) == 0.0
    assert max_rel_error([[1.0, 4.0]], [[1.0, 2.0]]) == 0.5 and max_rel_error([], []) == 0.0
    assert math.isinf(max_rel_error(math.inf, 1.0))


def test_one_report_type_and_the_old_names_stay():
    r = gradients(SHEET, SHEET_AT)
    assert type(r) is GradientReport and TensorGradientReport is GradientReport
    assert isinstance(r.inputs["A"], TensorInputResult) and isinstance(r.nodes[0], TensorNodeResult)
    graph = steps.prepare(SHEET, SHEET_AT, (), None)[0]
    assert tensor_gradients(graph, SHEET_AT).to_json() == r.to_json()


def test_a_graph_of_numbers_keeps_its_json_keys_and_a_tensor_graph_adds_its_own():
    d = gradients(NEURON, NEURON_AT).to_dict()
    assert "is_tensor" not in d and not TENSOR_KEYS & set(d["inputs"]["x0"])
    assert "staged" in d["nodes"][0] and not {"shape", "matrix"} & set(d["nodes"][0])
    t = json.loads(gradients(SHEET, SHEET_AT).to_json())
    assert list(t)[-1] == "is_tensor" and t["is_tensor"] is True
    assert list(t["inputs"]["A"])[-5:] == ["shape", "matrix", "entries", "staged", "representative"]
    assert list(t["nodes"][0])[-2:] == ["shape", "matrix"] and t["inputs"]["A"]["shape"] == [2, 3]


def test_a_report_shows_as_an_html_table_in_jupyter():
    r = gradients("f = x*y + x", at=dict(x=2, y=3))
    h = r._repr_html_()
    assert h.startswith('<table class="gradlab-report">') and h.count("<tr>") == 3  # header + two inputs
    assert "<td>x</td><td>2</td><td>4</td><td>4</td><td>4</td>" in h and "all methods agree" in h
    t = gradients(SHEET, SHEET_AT)._repr_html_()
    assert "<td>A</td>" in t and "[[" in t and "all methods agree" in t
    s = gradients("f = x*y")  # no point: the formulas
    s.title = "<b>x</b> & y"
    h = s._repr_html_()
    assert "symbolic only" in h and "<td>y</td><td>-</td><td>x</td>" in h
    assert "<caption>&lt;b&gt;x&lt;/b&gt; &amp; y</caption>" in h


def test_the_html_of_a_failed_check_says_fail_and_blames(broken_sigmoid):
    h = gradients("z = w*x + b; a = badsig(z); L = a*a", at=dict(w=0.5, x=2, b=0.1))._repr_html_()
    assert "FAIL" in h and "CHECK FAILED" in h and "BLAME: first disagreement" in h


def test_a_wrong_derivative_near_a_kink_is_not_excused_for_vectors_either(broken_sigmoid):
    # entry 0 of s - 0.5 sits within 1e-9 of relu's kink: only finite differences may straddle it
    r = gradients("x: (2,); s = badsig(x); L = sum(relu(s - 0.5))", at={"x": [1e-9, 1.0]})
    assert r.kinks and not r.kinks[0].exact
    assert not r.ok and r.inputs["x"].status == "mismatch" and r.blame is not None
    ok = gradients("x: (2,); s = sigmoid(x); L = sum(relu(s - 0.5))", at={"x": [1e-9, 1.0]})
    assert ok.ok and ok.inputs["x"].status.startswith("near-kink")
