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


# the one reverse accumulation ------------------------------------------------------------------------------


def test_one_reverse_pass_gives_the_same_adjoints_by_the_vjp_and_by_the_local_partials():
    """Scalar forms come from the local partials, tensor forms from each gate's VJP: the same loop, equal results."""
    from gradlab.engine.symbolic import accumulate_adjoints, as_object, reverse_accumulation, value_exprs, vjp_shares

    g = parse_program("q = x + y; a = tanh(q*w); f = a*a*x + exp(q) - log(w)")
    full = value_exprs(g)
    by_partials = accumulate_adjoints(g, symbolic_gradients(g).partials, full)
    by_vjp = reverse_accumulation(g, vjp_shares(g, {n: as_object(e) for n, e in full.items()}))
    for n in g.nodes:
        assert by_vjp[n].shape == ()
        assert sp.simplify(by_vjp[n][()] - by_partials[n]) == 0
    x, w = sp.symbols("x w", real=True)
    assert sp.simplify(by_partials["w"] - sp.diff(full["f"], w)) == 0
    assert sp.simplify(by_partials["x"] - sp.diff(full["f"], x)) == 0


def test_one_reverse_pass_adds_up_at_forks_and_leaves_unreached_nodes_zero():
    from gradlab.engine.symbolic import as_object, reverse_accumulation, value_exprs, vjp_shares

    g = parse_program("u = 3*z; f = x*x*x")

    adj = reverse_accumulation(g, vjp_shares(g, {n: as_object(e) for n, e in value_exprs(g).items()}))
    x = sp.Symbol("x", real=True)
    assert adj["x"][()] == 3 * x**2  # three wires from x
    assert adj["z"][()] == 0 and adj["u"][()] == 0  # off the path to the output


def test_one_reverse_pass_rewrites_each_adjoint_before_passing_it_on():
    from gradlab.engine.symbolic import as_object, reverse_accumulation, value_exprs, vjp_shares

    g = parse_program("z = x*y; f = z + z")
    seen = []

    def prepare(v: str, gv):  # type: ignore[no-untyped-def]
        seen.append(v)
        return as_object(sp.Integer(10)) if v == "z" else gv

    adj = reverse_accumulation(g, vjp_shares(g, {n: as_object(e) for n, e in value_exprs(g).items()}),
                               prepare=prepare)
    assert "f" not in seen and "z" in seen  # the output's adjoint is 1, never rewritten
    y = sp.Symbol("y", real=True)
    assert adj["x"][()] == 10 * y  # what z passed on is the rewritten 10, not 2


def test_graph_model_holds_no_sympy():
    """The SymPy views are the symbolic engine's functions: graph.py imports no SymPy."""
    import ast
    from pathlib import Path

    import gradlab.model.graph

    tree = ast.parse(Path(gradlab.model.graph.__file__).read_text(encoding="utf-8"))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {m for m in names if m.split(".")[0] in ("sympy", "torch")}
    assert not any(hasattr(gradlab.model.graph.Graph, m) for m in ("symbol", "local_expr", "expr"))


def test_sympy_views_of_a_graph():
    from gradlab.engine.symbolic import expr, local_expr, node_symbol, value_exprs

    g = parse_program("z = 2.0*x; f = (z + y)*z")
    x, y, z = sp.symbols("x y z", real=True)
    assert node_symbol("x") == x
    assert local_expr(g, "f") == sp.Symbol("t1", real=True) * z
    assert expr(g) == 2.0 * x * (2.0 * x + y)
    assert expr(g, "z") == 2.0 * x
    assert value_exprs(g, named=True)["t1"] == z + y


def test_forget_drops_the_sympy_objects_and_they_come_back_the_same():
    g = parse_program("h1 = tanh(w1*x + b1); h2 = tanh(w2*h1 + b2); f = h2*h2")
    sg = symbolic_gradients(g)
    before = {n: str(sg.staged[n]) for n in g.nodes}
    partials = {e: str(sg.partials[e]) for e in sg.partials}
    assert sg.staged.made == len(g.nodes) and sg.partials.made == len(partials)
    sg.forget()
    assert sg.staged.made == 0 and sg.partials.made == 0
    assert {n: str(sg.staged[n]) for n in g.nodes} == before
    assert {e: str(sg.partials[e]) for e in sg.partials} == partials
