"""Blame texts true of the graph at hand, and T free as a value name (issue 12 item 6)."""

from __future__ import annotations

import numpy as np

from gradlab import Graph, gradients
from gradlab.check.blame import _fd_blame, _gate_blame
from gradlab.check.results import InputResult, NodeResult
from gradlab.engine.numeric import forward


def _input(grad: float, fd: float, torch: float | None) -> InputResult:
    r = InputResult("x", 1.0, grad, "", "", "", fd=fd, torch=torch, fd_rel_err=abs(grad - fd) / abs(fd))
    if torch is not None:
        r.torch_rel_err = abs(grad - torch) / max(abs(grad), abs(torch))
    return r


def test_torch_is_named_as_agreeing_only_where_it_agrees() -> None:
    g = Graph.parse("f = tanh(x)/x")
    assert "while torch agrees" in _fd_blame(g, _input(2.0, 1.0, 2.0)).message
    differs = _fd_blame(g, _input(2.0, 1.0, 0.0)).message
    assert "torch agrees" not in differs and "torch differs too" in differs
    assert "torch did not run" in _fd_blame(g, _input(2.0, 1.0, None)).message


def _blame_of(program: str, node: str) -> str:
    g = Graph.parse(program)
    values = forward(g, {"x": 0.5})
    first = NodeResult(node, "op", "", float(values[node]), 1.0, torch=2.0, ok=False)
    return _gate_blame(g, values, first).message


def test_a_fork_is_named_only_where_there_is_one() -> None:
    assert "gradients must add up at a fork" in _blame_of("u = exp(x); f = u*sin(u)", "u")
    lone = _blame_of("u = exp(x); f = sin(u)", "u")
    assert "fork" not in lone and "one consumer" in lone


def test_T_is_free_as_a_value_name() -> None:
    r = gradients("T = x*2; f = T*T", at={"x": 1.5})
    assert r.ok and r.inputs["x"].grad == 12.0
    r = gradients("T: (2, 2); x: (2,); f = sum(T.T @ x)", at={"x": [1.0, 2.0], "T": [[1, 2], [3, 4]]})
    assert r.ok and np.allclose(r.inputs["T"].grad, [[1, 1], [2, 2]])
