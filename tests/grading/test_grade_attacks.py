"""Answers are hostile input: nothing executes, every answer is graded or rejected in bounded time,
and the rest of the class is still graded."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradlab.grading import grade, grade_formula, grade_number
from gradlab.model.answerkey import AnswerKey
from gradlab.worksheet import build_worksheet, spec_from_program

CANARY = Path("/tmp/gradlab-attack-canary")

ATTACKS = [
    "__import__('os').system('touch /tmp/gradlab-attack-canary')",
    "__import__('os').system('id')",
    "().__class__.__bases__[0].__subclasses__()",
    "().__class__.__bases__",
    "w0.__class__.__mro__",
    "x0.__globals__",
    "lambda: __import__('os')",
    "(lambda f: f(f))(lambda f: f(f))",
    "[x for x in range(10**9)]",
    "{x: 1 for x in 'ab'}",
    "(x for x in ())",
    "f'{__import__(\"os\").system(\"id\")}'",
    "'abc' * 10**9",
    "b'\\x00'",
    "9**9**9**9",
    "9**9**9",
    "10**10**10",
    "2**(2**100)",
    "exp(exp(exp(exp(exp(1000)))))",
    "(" * 10_000 + "w0" + ")" * 10_000,
    "x0" * 500_000,                         # a 1 MB answer
    "w0 " * 400_000,
    "-" * 5000 + "w0",
    "+".join(["w0"] * 5000),
    "w0*s*(1-ѕ)",                           # Cyrillic ѕ looks like s
    "ｗ0.__class__",                         # fullwidth w
    "w\u200b0*s",                           # zero-width space
    "exec('import os')",
    "eval('1+1')",
    "open('/etc/passwd').read()",
    "getattr(w0, '__class__')",
    "globals()",
    "w0; import os",
    "w0\nimport os",
    "w0 if s else x0",
    "(y := 2)",
    "w0[0]",
    "*w0",
    "await w0",
    "yield w0",
    "w0 < x0",
    "not w0",
    "1/0",
    "sigmoid(x0=1)",
    "max(w0)",
    "\x00",
    "1e999",
    "123456789012345678901234567890123",
    "sin(" * 200 + "w0" + ")" * 200,
]


@pytest.fixture(scope="module")
def key() -> AnswerKey:
    return build_worksheet(spec_from_program("z = w0*x0 + w1*x1 + w2; s = sigmoid(z)"), variants=2, seed=7,
                           pictures=False).key()


def test_the_corpus_is_big_enough():
    assert len(ATTACKS) >= 30


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda t: repr(t[:25]))
def test_an_attack_is_rejected_or_graded_wrong_quickly_in_process(key, attack):
    item = next(i for i in key.items.values() if i.kind == "formula")
    started = time.perf_counter()
    v = grade_formula(attack, key.variants["1"].answers[item.id], key.grading)
    assert v.status in ("rejected", "wrong", "blank")
    assert "\n" not in v.feedback
    assert time.perf_counter() - started < 3.0
    number_item = next(i for i in key.items.values() if i.kind == "number")
    assert grade_number(attack, key.variants["1"].answers[number_item.id], key.grading).status in ("rejected", "wrong")


def test_a_class_with_hostile_answers_is_still_graded(key):
    CANARY.unlink(missing_ok=True)
    formula_items = [i.id for i in key.items.values() if i.kind == "formula"]
    header = ["id", "variant", *key.items]
    rows = []
    for n, attack in enumerate(ATTACKS):  # one attacker per attack, each beside an honest student
        attacker = [f"attacker{n}", "1"] + ["" for _ in key.items]
        honest = [f"honest{n}", "1"] + ["" for _ in key.items]
        for item in formula_items:
            attacker[header.index(item)] = attack
        first = formula_items[0]
        honest[header.index(first)] = "w0*s*(1-s)" if key.items[first].label == "∂s/∂x0" else "x0*s*(1-s)"
        rows += [attacker, honest]
    started = time.perf_counter()
    report = grade((header, rows), key, workers=2, timeout=3)
    assert time.perf_counter() - started < 60
    assert not CANARY.exists()  # nothing ran
    for s in report.students:
        assert s.error is None
        if s.id.startswith("attacker"):
            assert all(a.verdict.status in ("rejected", "wrong", "blank") for a in s.answers), s.id
            assert all(a.verdict.feedback for a in s.answers)
        else:
            assert next(a for a in s.answers if a.item == formula_items[0]).verdict.status == "correct"


def test_fullwidth_letters_read_as_their_plain_letters_but_look_alikes_do_not(key):
    item = next(i for i in key.items.values() if i.label == "∂s/∂x0")
    ans = key.variants["1"].answers[item.id]
    assert grade_formula("ｗ0*s*(1-s)", ans, key.grading).status == "correct"  # Python reads identifiers NFKC
    assert grade_formula("w0*ѕ*(1-ѕ)", ans, key.grading).status == "rejected"  # Cyrillic ѕ is another letter


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80))
def test_any_text_is_graded_or_rejected(key, text):
    item = next(i for i in key.items.values() if i.kind == "formula")
    v = grade_formula(text, key.variants["1"].answers[item.id], key.grading)
    assert v.status in ("correct", "partial", "wrong", "rejected", "blank")
    assert 0.0 <= v.fraction <= 1.0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["w0", "x0", "s", "z", "σ(", "exp(", "(", ")", "^", "**", "*", "/", "-", "−", "+",
                                 "1", "2", "0.5", "e", " ", "__", ".", "[", "'", "lambda", ":", "α", "9**9"]),
                max_size=30))
def test_formula_like_soup_is_graded_or_rejected(key, tokens):
    item = next(i for i in key.items.values() if i.kind == "formula")
    started = time.perf_counter()
    v = grade_formula("".join(tokens), key.variants["1"].answers[item.id], key.grading)
    assert v.status in ("correct", "partial", "wrong", "rejected", "blank")
    assert time.perf_counter() - started < 3.0
