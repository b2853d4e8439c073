"""torch autograd as an independent check (gradlab.engine.torch_backend)."""

from __future__ import annotations

import pytest

from gradlab import Graph
from gradlab.engine.numeric import point_values
from gradlab.engine.plan import plan_of
from gradlab.engine.torch_backend import plan_gradients

pytest.importorskip("torch")


@pytest.mark.parametrize("program, at", [
    ("q = x + y; f = q*z", {"x": -2.0, "y": 5.0, "z": -4.0}),
    ("h1 = tanh(w1*x + b1); h2 = tanh(w2*h1 + b2); f = h2*h2", {"x": 0.5, "w1": 0.3, "b1": -0.2, "w2": 1.5, "b2": 0.1}),
    ("x: (3,); W: (2, 3); f = sum(tanh(W @ x))", {"x": [1.0, -2.0, 0.5], "W": [[0.1, 0.2, 0.3], [-0.4, 0.5, -0.6]]}),
])
def test_adjoints_alone_are_the_adjoints_read_with_the_values(program, at):
    """The check reads back only the adjoints (``with_values=False``): the same numbers, node for node."""
    g = Graph.parse(program)
    plan, point = plan_of(g), point_values(g, at)
    both, alone = plan_gradients(plan, point), plan_gradients(plan, point, with_values=False)
    assert alone.values == {}
    assert set(both.values) == set(both.adjoints) == set(alone.adjoints) == set(g.nodes)
    for n in g.nodes:
        assert both.adjoints[n] == pytest.approx(alone.adjoints[n], rel=1e-12, abs=1e-12)
    assert both.adjoints[g.output] == pytest.approx(1.0)
