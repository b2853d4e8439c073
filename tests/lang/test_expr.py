"""The formula parser: what people type becomes SymPy; nothing is ever evaluated as Python."""

from __future__ import annotations

import time

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradlab.errors import ParseError
from gradlab.lang.expr import Limits, normalise, parse_expression
from gradlab.ops import sigmoid

x, y, z, s, w0, a = sp.symbols("x y z s w0 a", real=True)


@pytest.mark.parametrize("text, expected", [
    ("w0*s*(1 - s)", w0 * s * (1 - s)),
    ("x**2 + 1/2", x**2 + sp.Rational(1, 2)),
    ("max(x, y, z)", sp.Max(x, y, z)),
    ("sigmoid(z)", sigmoid(z)),
    ("-x", -x),
    ("0.1*x", x / 10),
])
def test_strict_formulas(text, expected):
    assert sp.simplify(parse_expression(text) - expected) == 0


@pytest.mark.parametrize("text, expected", [
    ("2w0", 2 * w0),
    ("2(x+1)", 2 * (x + 1)),
    ("s(1-s)", s * (1 - s)),
    ("w0 s (1 − s)", w0 * s * (1 - s)),
    ("x^2", x**2),
    ("x²", x**2),
    ("e^x", sp.exp(x)),
    ("e^(-z)", sp.exp(-z)),
    ("σ(z)(1-σ(z))", sigmoid(z) * (1 - sigmoid(z))),
    ("ln(x)", sp.log(x)),
    ("x·y", x * y),
    ("(x+1)(x-1)", (x + 1) * (x - 1)),
])
def test_lenient_formulas_accept_what_students_type(text, expected):
    assert sp.simplify(parse_expression(text, lenient=True) - expected) == 0


def test_greek_letters_become_names_and_can_be_mapped():
    expr = parse_expression("α(1−α)", {"alpha": a}, lenient=True)
    assert sp.expand(expr - a * (1 - a)) == 0


def test_known_names_are_used_and_unknown_names_can_be_refused():
    assert parse_expression("q + 1", {"q": z}) == z + 1
    with pytest.raises(ParseError, match="unknown name 'q'; the formula may use: x"):
        parse_expression("q + 1", {"x": x}, unknown_names=False)


ATTACKS = [
    "__import__('os').system('id')",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__",
    "lambda: 1",
    "[x for x in ()]",
    "{x: 1}",
    "f'{x}'",
    "'abc'",
    "b'abc'",
    "x if y else z",
    "(y := 2)",
    "x[0]",
    "exec('1')",
    "eval('1')",
    "open('/etc/passwd')",
    "getattr(x, 'y')",
    "9**9**9",
    "9**9**9**9",
    "2**1000",
    "10**" + "9" * 50,
    "(" * 10_000 + "x" + ")" * 10_000,
    "x" * 1_000_000,
    "-" * 4000 + "x",
    "+".join(["x"] * 3000),
    "а + 1",  # Cyrillic a
    "x; import os",
    "x\nimport os",
    "exp(x, y)",
    "exp(x=1)",
    "__builtins__",
    "x.real",
    "not x",
    "x < y",
    "x and y",
    "*x",
    "1/0",
    "foo(x)",
    "",
]


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda t: repr(t[:30]))
def test_hostile_text_is_refused_quickly_with_a_message(attack):
    start = time.perf_counter()
    with pytest.raises(ParseError) as info:
        parse_expression(attack, lenient=False)
    assert str(info.value)  # one clear line
    assert "\n" not in str(info.value)
    assert time.perf_counter() - start < 5.0, "nothing may hang"


@pytest.mark.parametrize("attack", [a for a in ATTACKS if a != "foo(x)"], ids=lambda t: repr(t[:30]))
def test_hostile_text_is_refused_in_lenient_mode_too(attack):
    with pytest.raises(ParseError):
        parse_expression(attack, lenient=True)


def test_lenient_mode_reads_an_unknown_name_before_brackets_as_a_product():
    # s(1-s) is how students write s*(1-s); an unknown function is therefore a product
    assert parse_expression("foo(x)", lenient=True) == sp.Symbol("foo", real=True) * x


def test_limits_are_configurable():
    with pytest.raises(ParseError, match="too long"):
        parse_expression("x + y", limits=Limits(max_chars=3))
    with pytest.raises(ParseError, match="nested too deeply"):
        parse_expression("exp(" * 20 + "x" + ")" * 20, limits=Limits(max_depth=10))
    assert parse_expression("x**200", limits=Limits(max_exponent=500)) == x**200


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_any_text_is_parsed_or_refused_with_a_parse_error(text):
    for lenient in (False, True):
        try:
            result = parse_expression(text, lenient=lenient)
        except ParseError:
            continue
        assert isinstance(result, sp.Basic)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["x", "y", "2", "0.5", "+", "-", "*", "/", "**", "^", "(", ")", "exp(", "σ(",
                                 "log(", " ", "e", "w0", "3x", "__", ".", "[", "'"]), max_size=25))
def test_formula_like_token_soup_never_escapes_the_parser(tokens):
    text = "".join(tokens)
    for lenient in (False, True):
        try:
            parse_expression(text, lenient=lenient)
        except ParseError:
            pass


def test_normalise_shows_the_strict_form():
    assert normalise("2w0 σ(z)") == "2*w0*sigmoid(z)"


@pytest.mark.parametrize("text, clause", [
    ("lambda: 1", "lambda is not allowed"),
    ("x[0]", "indexing with [] is not allowed"),
    ("x if y else z", "'if ... else' is not allowed"),
    ("'text'", "strings are not allowed; only numbers"),
    ("x % 2", "the operator '%' is not allowed"),
    ("x ^ 2", "(use ** for powers)"),
])
def test_a_formula_and_a_program_refuse_alike(text, clause):
    from gradlab import parse_program

    for read in (lambda: parse_expression(text), lambda: parse_program(f"f = {text}")):
        with pytest.raises(ParseError) as info:
            read()
        assert clause in str(info.value)
