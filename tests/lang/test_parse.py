"""The whitelist parser: structure as written, and every malformed program refused with its place."""

import time
from pathlib import Path

import pytest

from gradlab import GradlabError, Graph, ParseError, parse_program

NEURON = "a = 1/(1+exp(-(w0*x0 + w1*x1 + w2)))"


def test_neuron_decomposes_into_the_textbook_gates():
    g = parse_program(NEURON)
    assert g.gates() == ["*", "*", "+", "+", "*-1", "exp", "+1", "1/x"]
    assert g.inputs == ["w0", "x0", "w1", "x1", "w2"]
    assert g.output == "a"


def test_program_of_statements_uses_earlier_names_and_keeps_named_functions_as_one_gate():
    g = parse_program("z = w0*x0 + w1*x1 + w2; a = sigmoid(z)")
    assert g.gates() == ["*", "*", "+", "+", "σ"]
    assert g.args("a") == ["z"]
    assert g.attrs("z")["named"] and not g.attrs("t1")["named"]
    assert g.attrs("z")["text"] == "w0*x0 + w1*x1 + w2"


def test_newlines_and_semicolons_are_the_same_program():
    a = parse_program("q = x + y\nf = q*z")
    b = parse_program("q = x + y; f = q*z")
    assert a.edges() == b.edges() and a.gates() == b.gates()


def test_binary_operators_group_left_to_right():
    g = parse_program("f = a - b - c")
    # (a - b) - c: the first gate reads a and b
    assert g.args("t1") == ["a", "b"] and g.args("f") == ["t1", "c"]


def test_x_times_x_keeps_two_wires():
    g = parse_program("f = x*x")
    assert g.edges() == [("x", "f", 0), ("x", "f", 1)]


@pytest.mark.parametrize("program, label", [
    ("f = x + 1", "+1"), ("f = 1 + x", "+1"), ("f = x - 2", "-2"), ("f = 3 - x", "3-x"),
    ("f = -x", "*-1"), ("f = 2*x", "*2"), ("f = x/4", "/4"), ("f = 1/x", "1/x"), ("f = 2/x", "2/x"),
    ("f = x**2", "^2"), ("f = 2**x", "2^x"), ("f = x**y", "**"), ("f = x/y", "/"), ("f = x - y", "-"),
    ("f = relu(x)", "relu"), ("f = abs(x)", "|x|"), ("f = softplus(x)", "softplus"), ("f = sqrt(x)", "√"),
])
def test_constant_operands_make_one_input_gates(program, label):
    assert parse_program(program).gates()[-1] == label


def test_constants_fold_and_max_with_a_constant_feeds_a_constant_node():
    g = parse_program("f = max(x, 2*3)")
    consts = [n for n in g.nodes if g.kind(n) == "const"]
    assert [g.attrs(c)["value"] for c in consts] == [6]


def test_bare_expression_is_the_output_f():
    g = parse_program("x*y + 1")
    assert g.output == "f"


def test_alias_statement_makes_an_identity_gate():
    g = parse_program("z = x*y; a = z")
    assert g.gates() == ["*", "="] and g.output == "a"


def test_builder_api_matches_the_parser():
    g = Graph()
    w0, x0, w1, x1, w2 = (g.input(n) for n in ["w0", "x0", "w1", "x1", "w2"])
    z = (w0 * x0 + w1 * x1 + w2).named("z")
    a = (1 / (1 + (-z).exp())).named("a")
    g.set_output(a)
    assert g.gates() == parse_program("z = w0*x0 + w1*x1 + w2; a = 1/(1+exp(-z))").gates()


MALFORMED = [
    ("a = x +", "syntax error: the line ends after '+': a term is missing"),
    ("a = (x + y", "a ')' is missing"),
    ("a = x + y)", "a ')' has no '(' to close"),
    ("a = w0 x0", "two terms stand side by side; write the product with '*'"),
    ("a = 2x", "write the product with '*' (2*x, not 2x)"),
    ("f == x", "comparisons"),
    ("a = foo(x)", "unknown function 'foo'"),
    ("a = x.real", "attribute access"),
    ("__import__('os').system('touch CANARY')", "attribute access"),
    ("a = __import__('os')", "unknown function '__import__'"),
    ("a = (lambda: 1)()", "only known functions"),
    ("a = lambda x: x", "lambda is not allowed"),
    ("a = [x for x in y]", "comprehensions"),
    ("a = b + 1; b = a*2", "before it is assigned"),
    ("a = a + 1", "used in its own definition"),
    ("a = x; a = y", "assigned twice"),
    ("a = 9**9**9", "too large"),
    ("a = 'text'", "only numbers"),
    ("a = f'{x}'", "strings are not allowed"),
    ("a = x[0]", "indexing"),
    ("a = x if y else z", "'if ... else'"),
    ("a = x ^ 2", "use ** for powers"),
    ("a = x % 2", "'%' is not allowed"),
    ("a = x < y", "comparisons"),
    ("import os", "'import' statements are not allowed"),
    ("a = exp", "is a function; call it"),
    ("a = sum * x", "'sum' is a function; call it"),     # a vector function is a function in any program
    ("a = onehot(3)", "declares an input"),
    ("exp = x + 1", "name of a function"),
    ("a = exp(x, y)", "exactly one argument"),
    ("a = max(x)", "at least two arguments"),
    ("a = exp(x=1)", "no keyword arguments"),
    ("a = 1/0", "division by zero"),
    ("a = x / 0", "division by zero"),
    ("a = x ** 100000", "exponent"),
    ("_a = x", "not a valid name"),
    ("a = True", "only numbers"),
    ("a += 1", "'+=' and friends"),
    ("x = 1\n  y = 2", "syntax error"),
    ("", "empty"),
    ("a = " + "-" * 5000 + "x", "nested too deeply"),
    ("a = " + "(" * 300 + "x" + ")" * 300, "syntax error"),
    ("a = x; x*y; b = 2", "only the last statement may be a bare expression"),
    ("def f(): pass", "'functiondef' statements are not allowed"),
]


@pytest.mark.parametrize("program, message", MALFORMED)
def test_malformed_programs_give_one_clear_line(program, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    start = time.perf_counter()
    with pytest.raises(ParseError) as info:
        parse_program(program)
    assert time.perf_counter() - start < 5, "nothing may hang"
    text = str(info.value)
    assert message in text
    assert "\n" not in text
    assert not Path("CANARY").exists(), "nothing is executed"


def test_errors_name_the_line_and_column():
    with pytest.raises(ParseError) as info:
        parse_program("z = x + y\na = foo(z)")
    assert info.value.where.line == 2 and info.value.where.col == 5
    assert str(info.value).startswith("line 2, col 5: ")


def test_every_parse_error_is_a_gradlab_error_with_exit_code_2():
    with pytest.raises(GradlabError) as info:
        parse_program("a = x +")
    assert info.value.exit_code == 2


def test_non_text_program_is_refused():
    with pytest.raises(ParseError):
        parse_program(42)  # type: ignore[arg-type]
