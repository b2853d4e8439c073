"""The compiled plan of a graph, and the fast paths that read it: numbers at one point give what arrays give,
staged forms made on demand are the ones made eagerly, the shortcut printer writes what SymPy's printer writes."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from gradlab import Graph
from gradlab.engine.numeric import backward, forward
from gradlab.engine.plan import plan_of
from gradlab.engine.symbolic import adjoint_symbol, node_symbol, symbolic_gradients, text

PROGRAMS = [
    "f = (x + y)*z",
    "z = w0*x0 + w1*x1 + w2; a = sigmoid(z)",
    "q = x*x + 3; f = log(q)/sqrt(q) - 2**x + relu(x - y) + max(x, y, 0.5)",
    "h1 = tanh(w1*x + b1); h2 = tanh(w2*h1 + b2); f = h2*h2 + abs(h1) - 1/x + x**1.5",
]


def test_plan_is_kept_and_made_again_when_the_graph_changes():
    g = Graph.parse("q = x + y; f = q*z")
    p = plan_of(g)
    assert plan_of(g) is p
    assert p.arg_names[p.index["f"]] == ("q", "z") and p.inputs == ("x", "y", "z")
    g.rename("t1" if "t1" in g else "q", "s")  # a rename: same size, new names
    assert plan_of(g) is not p and "s" in plan_of(g).index
    p2 = plan_of(g)
    g.set_output(g.apply("exp", g["f"]))  # a node added and the output moved
    assert plan_of(g) is not p2 and plan_of(g).output_name == g.output


def test_plan_keeps_argument_order_and_repeats():
    g = Graph.parse("f = x*x - y/x")
    p = plan_of(g)
    for i in p.gates:
        assert p.arg_names[i] == tuple(g.args(p.nodes[i]))
    assert (p.index["x"], p.index["x"]) in p.args


@pytest.mark.parametrize("program", PROGRAMS)
def test_numbers_at_one_point_equal_a_batch_of_one(program):
    g = Graph.parse(program)
    rng = np.random.default_rng(3)
    at = {n: float(rng.uniform(0.2, 1.5)) for n in g.inputs}
    one = backward(g, forward(g, at))
    batch = backward(g, forward(g, {n: np.array([v]) for n, v in at.items()}))
    for n in g.nodes:
        assert one.values[n].shape == () and one.adjoints[n].shape == ()
        assert float(one.values[n]) == float(batch.values[n][0])
        assert float(one.adjoints[n]) == float(batch.adjoints[n][0])
    for e, lp in batch.local.items():
        assert float(one.local[e]) == float(lp[0])
        assert float(one.edge_adjoints[e]) == float(batch.edge_adjoints[e][0])


def _eager_staged(g: Graph) -> dict[str, sp.Expr]:
    """The staged forms as the engine made them before: every wire's partial, then a sum per node."""
    out = g.output
    terms: dict[str, list[sp.Expr]] = {n: [] for n in g.nodes}
    from gradlab.engine.symbolic import arg_expr, sympy_param
    from gradlab.ops import OPS, as_sympy

    for v in g.op_nodes:
        d = g.attrs(v)
        args = g.args(v)
        parts = OPS[d["op"]].partials([arg_expr(g, a) for a in args], node_symbol(v), sympy_param(d.get("param")))
        for u, lp in zip(args, parts):
            lp = as_sympy(lp)
            terms[u].append(lp if v == out else adjoint_symbol(out, v) if lp == 1 else sp.Mul(adjoint_symbol(out, v), lp))
    found = {n: sp.Add(*t) if t else sp.Integer(0) for n, t in terms.items()}
    found[out] = sp.Integer(1)
    return found


@pytest.mark.parametrize("program", PROGRAMS)
def test_staged_forms_made_on_demand_are_the_eager_ones(program):
    g = Graph.parse(program)
    sg = symbolic_gradients(g)
    assert sg.staged.made == 0  # type: ignore[attr-defined]
    eager = _eager_staged(g)
    assert list(sg.staged) == list(eager)
    for n, e in eager.items():
        assert sg.staged[n] == e and text(sg.staged[n]) == str(e)


def test_text_writes_what_sympys_printer_writes():
    names = ["x", "y", "df_dt3", "dL_dh10", "h9", "A", "a_1", "Z2", "b"]
    syms = [node_symbol(n) for n in names]
    for a in syms:
        assert text(a) == str(a)
        for b in syms:
            for e in (a * b, a + b, 2 * a * b, a * b + 1, a / b):
                assert text(e) == str(e)
