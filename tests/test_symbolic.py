"""Symbolic gradients: textbook forms, named and staged forms, linear cost."""


import sympy as sp

from gradlab import parse_program, symbolic_gradients
from gradlab.ops import sigmoid

w0, x0, w1, x1, w2 = sp.symbols("w0 x0 w1 x1 w2", real=True)
Z = w0 * x0 + w1 * x1 + w2
S = 1 / (1 + sp.exp(-Z))


def equivalent(a: sp.Expr, b: sp.Expr) -> bool:
    return sp.simplify((a - b).rewrite(sp.exp)) == 0


def test_neuron_da_dx0_is_w0_s_one_minus_s():
    sg = symbolic_gradients(parse_program("a = 1/(1+exp(-(w0*x0 + w1*x1 + w2)))"))
    assert equivalent(sg.expr("x0"), w0 * S * (1 - S))
    assert equivalent(sg.expr("w2"), S * (1 - S))
    assert equivalent(sg.expr("w1"), x1 * S * (1 - S))


def test_sigmoid_gate_gives_the_textbook_named_form():
    sg = symbolic_gradients(parse_program("z = w0*x0 + w1*x1 + w2; a = sigmoid(z)"))
    a = sp.Symbol("a", real=True)
    assert sp.expand(sg.named("x0") - w0 * a * (1 - a)) == 0
    assert sg.expr("x0").has(sigmoid)
    assert equivalent(sg.expr("x0"), w0 * S * (1 - S))


def test_staged_form_uses_adjoint_symbols_of_consumers():
    sg = symbolic_gradients(parse_program("q = x + y; f = q*z"))
    assert str(sg.staged["x"]) == "df_dq"
    assert str(sg.staged["q"]) == "z"
    assert sg.latex("x", "staged") == r"\frac{\partial f}{\partial q}"


def test_fork_sums_the_local_partials():
    sg = symbolic_gradients(parse_program("f = x*x + sin(x)"))
    x = sp.Symbol("x", real=True)
    assert sp.simplify(sg.expr("x") - (2 * x + sp.cos(x))) == 0


def test_latex_of_expression():
    sg = symbolic_gradients(parse_program("z = w*x; a = tanh(z)"))
    assert r"\tanh" in sg.latex("x")


def test_cost_is_linear_not_expression_swell():
    """The work is proportional to the graph: every staged adjoint refers only to its consumers'
    adjoint symbols, so the total size of all of them grows like the graph (timings live in
    benchmarks/scaling.py, not here)."""
    def chain(n):
        return "\n".join(["h0 = x"] + [f"h{i} = tanh(w{i}*h{i-1} + b{i})" for i in range(1, n + 1)])

    totals = []
    for n in (100, 800):
        g = parse_program(chain(n))
        sg = symbolic_gradients(g)
        sizes = [sp.count_ops(sg.staged[node]) for node in g.nodes]
        assert max(sizes) <= 6
        totals.append(sum(sizes))
        assert sg.form(g.inputs[1]) != "expr"  # no formula in the inputs for a deep chain
    assert totals[1] <= 8 * totals[0] * 1.05  # 8x the gates, 8x the work (swell would be 64x and more)
