"""Worksheets: specs, reproducible variants without kinks or poles, answer keys, Markdown and HTML."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlab import Graph, evaluate, gradients
from gradlab.engine.symbolic import expr as value_in_inputs
from gradlab.engine.symbolic import node_symbol
from gradlab.grading.formulas import strict_names
from gradlab.lang.expr import parse_expression
from gradlab.model.answerkey import AnswerKey
from gradlab.ops import OPS
from gradlab.worksheet import (
    WorksheetError,
    build_worksheet,
    load_spec,
    make_worksheet,
    spec_from_program,
    variant_point,
    why_not,
)
from gradlab.worksheet.pictures import renderer

ROOT = Path(__file__).resolve().parents[2]
NEURON = ROOT / "graphs" / "neuron_sigmoid_gate.toml"


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# ----------------------------------------------------------------------------- specs

def test_a_bare_graph_file_gets_sensible_defaults():
    spec = load_spec(NEURON)
    part = spec.parts[0]
    assert part.questions == ["forward", "backward", "symbolic"]
    assert part.wrt == ["w0", "x0", "w1", "x1", "w2"]
    assert part.aliases == {"alpha": "a"}  # the sheet's α is the output a
    assert spec.title.startswith("Sigmoid neuron")


def test_a_spec_picks_graphs_questions_points_ranges_and_tolerance(tmp_path):
    spec = load_spec(write(tmp_path, f"""
title = "Quiz"
seed = 7
variants = 4
[numbers]
values = "one decimal"
min = -1
max = 1
decimals = 3
sigfigs = 2
[grading]
partial = {{ sign = 0.25, chain = 0.1 }}
[[part]]
graph = "{NEURON}"
questions = ["numeric", "symbolic"]
wrt = ["x0", "w0"]
points = {{ symbolic = 3 }}
aliases = {{ s = "a" }}
[part.values]
w2 = 1
x0 = {{ min = 1, max = 2, step = 0.5 }}
"""))
    part = spec.parts[0]
    assert (spec.title, spec.seed, spec.variants) == ("Quiz", 7, 4)
    assert part.questions == ["symbolic", "numeric"] and part.wrt == ["x0", "w0"] and part.numeric == ["x0"]
    assert part.points["symbolic"] == 3 and part.aliases == {"alpha": "a", "s": "a"}
    assert spec.grading.sigfigs == 2 and spec.grading.decimals == 3 and spec.grading.partial["chain"] == 0.1
    assert part.ranges["w2"].choices() == [1.0]
    assert list(part.ranges["x0"].choices()) == [1.0, 1.5, 2.0]
    assert -0.5 in part.ranges["w0"].choices() and 0 not in part.ranges["w0"].choices()
    for v in range(1, 5):
        at = variant_point(part, 7, v)
        assert at["w2"] == 1 and at["x0"] in (1, 1.5, 2) and round(at["w0"], 1) == at["w0"]


@pytest.mark.parametrize("text, message, line", [
    ('title = "x"\ncolour = 1\n[[part]]\nprogram = "f = x*y"\n', "unknown key 'colour'", 2),
    ('[[part]]\nprogram = "f = x*y"\nquestions = ["draw"]\n', "questions is a list", 3),
    ('[[part]]\nprogram = "f = x*y"\n[part.values]\nq = 1\n', "'q', which is not an input", 4),
    ('variants = 0\n[[part]]\nprogram = "f = x*y"\n', "variants must be", 1),
    ('[[part]]\nprogram = "f = x*"\n', "part 1", None),
    ('[grading]\npartial = { typo = 1 }\n[[part]]\nprogram = "f = x*y"\n', "unknown mistake 'typo'", 2),
    ('title = "no parts"\n', "at least one [[part]]", None),
])
def test_spec_mistakes_are_named_with_file_and_line(tmp_path, text, message, line):
    p = write(tmp_path, text)
    with pytest.raises(WorksheetError) as info:
        load_spec(p)
    assert message in str(info.value)
    assert str(p) in str(info.value)
    if line:
        assert f"line {line}" in str(info.value)


# ----------------------------------------------------------------------------- variants

def test_a_variant_depends_only_on_seed_and_number():
    part = load_spec(NEURON).parts[0]
    assert variant_point(part, 2024, 7) == variant_point(part, 2024, 7)
    few = build_worksheet(load_spec(NEURON), variants=8, seed=2024, pictures=False)
    many = build_worksheet(load_spec(NEURON), variants=30, seed=2024, pictures=False)
    assert [v.parts[0].at for v in few.variants] == [v.parts[0].at for v in many.variants[:8]]
    other = build_worksheet(load_spec(NEURON), variants=8, seed=2025, pictures=False)
    assert [v.parts[0].at for v in other.variants] != [v.parts[0].at for v in few.variants]
    assert len({tuple(v.parts[0].at.values()) for v in many.variants}) >= 25  # variants really vary


KINKY = ["f = relu(w*x + b)", "f = max(x, y) * z", "f = abs(x - y) + x", "f = 1/(x - y) + x",
         "f = log(x*y) + y", "f = sqrt(x + y) * x", "f = min(x*x, y) + relu(x)"]


@settings(max_examples=25, deadline=None)
@given(program=st.sampled_from(KINKY), seed=st.integers(0, 10**6))
def test_variants_avoid_kinks_poles_and_zero_gradients(program, seed):
    part = spec_from_program(program).parts[0]
    at = variant_point(part, seed, 1)
    assert why_not(part, at) is None
    g = part.graph
    ev = evaluate(g, at)
    for n in g.op_nodes:
        d = g.attrs(n)
        op = OPS[d["op"]]
        if op.kink_distance is not None:
            assert float(op.kink_distance([ev.values[a] for a in g.args(n)], d.get("param"))) >= 0.49
    assert any(float(ev.adjoints[x]) != 0 for x in g.inputs)
    assert all(np.isfinite(float(ev.adjoints[x])) for x in g.inputs)


def test_why_not_names_the_problem():
    part = spec_from_program("f = relu(x*w)").parts[0]
    assert "kink" in why_not(part, {"x": 0.0, "w": 2.0})
    assert "pole" in why_not(spec_from_program("f = 1/(x - y)").parts[0], {"x": 1.0, "y": 1.0})
    assert "zero" in why_not(spec_from_program("f = relu(x) * y").parts[0], {"x": -1.0, "y": 2.0})
    assert "saturated" in why_not(spec_from_program("a = sigmoid(x*w)").parts[0], {"x": 3.0, "w": 2.0})


def test_impossible_ranges_give_a_clear_error(tmp_path):
    spec = load_spec(write(tmp_path, '[[part]]\nprogram = "f = relu(x)"\n[part.values]\nx = { min = -3, max = -1 }\n'))
    with pytest.raises(WorksheetError, match=r"no good values.*most often rejected: every gradient is zero"):
        build_worksheet(spec, variants=1, pictures=False)


# ----------------------------------------------------------------------------- the key

def test_key_numbers_are_the_graph_s_values_and_gradients_checked_independently():
    ws = build_worksheet(load_spec(NEURON), variants=5, seed=11, pictures=False)
    key = ws.key()
    g = ws.spec.parts[0].graph
    for v in ws.variants:
        at = v.parts[0].at
        report = gradients(g, at)  # finite differences and torch check the same numbers
        assert report.ok
        ev = evaluate(g, at)
        for it in ws.items():
            ans = key.variants[v.id].answers[it.id]
            if it.blank is not None:
                slot = next(b for b in v.parts[0].pictures.blanks if b.number == it.blank)
                u, w, k = slot.wire
                want = float(ev.values[u]) if slot.kind == "value" else (1.0 if w is None else float(ev.edge_adjoints[(u, w, k)]))
                assert ans.value == pytest.approx(want)
        out_value = next(a for i, a in key.variants[v.id].answers.items() if i == "1.5")
        assert out_value.value == pytest.approx(report.output.value)


def test_symbolic_key_answers_equal_sympy_s_own_derivative():
    ws = build_worksheet(spec_from_program("z = w0*x0 + w1*x1 + w2; a = 1/(1 + exp(-z))"), variants=1, seed=3,
                         pictures=False)
    key = ws.key()
    g = ws.spec.parts[0].graph
    full = value_in_inputs(g)
    for it in ws.items():
        if it.kind != "formula":
            continue
        ans = key.variants["1"].answers[it.id]
        expr = parse_expression(ans.formula, strict_names(ans), unknown_names=False)
        assert sp.simplify(expr - sp.diff(full, node_symbol(it.wrt))) == 0
        assert {m.id for m in ans.mistakes} >= {"chain", "sign", "forward"}


def test_key_json_round_trips_and_mistakes_are_named():
    ws = build_worksheet(load_spec(NEURON), variants=2, seed=1, pictures=False)
    data = json.loads(ws.key().to_json())
    key = AnswerKey.from_dict(data)
    assert set(key.items) == {i.id for i in ws.items()}
    sym = key.variants["1"].answers["3.2"]
    assert sym.formula and sym.names == {"z": "w0*x0 + w1*x1 + w2", "a": "sigmoid(z)"}
    assert {m.id for m in sym.mistakes} >= {"chain", "sigmoid", "sign", "forward"}
    grad_blank = next(a for i, a in key.variants["1"].answers.items() if i.startswith("2.") and a.mistakes)
    assert any(m.id in ("local", "chain", "forward") for m in grad_blank.mistakes)


def test_a_fork_graph_generates_the_unsummed_branch_mistake():
    ws = build_worksheet(spec_from_program("h = tanh(w*x); y = h*u + h*v"), variants=1, seed=5, pictures=False)
    ans = ws.key().variants["1"].answers[next(i.id for i in ws.items() if i.wrt == "w")]
    assert [m.id for m in ans.mistakes].count("fork") == 2
    assert "tanh" in [m.id for m in ans.mistakes]


# ----------------------------------------------------------------------------- files

@pytest.fixture(scope="module")
def sheets(tmp_path_factory):
    out = tmp_path_factory.mktemp("sheets")
    result = make_worksheet(NEURON, out, variants=3, seed=2024, formats=("markdown", "html", "moodle"))
    return out, result


def test_the_folder_has_sheets_keys_index_and_key_json(sheets):
    out, result = sheets
    for vid in ("1", "2", "3"):
        for kind in ("sheet", "key"):
            assert (out / "markdown" / f"{kind}-{vid}.md").is_file()
            assert (out / "html" / f"{kind}-{vid}.html").is_file()
    assert (out / "index.html").is_file() and (out / "index.md").is_file()
    assert AnswerKey.load(out / "key.json").variants.keys() == {"1", "2", "3"}
    header = (out / "responses-template.csv").read_text().splitlines()[0].split(",")
    assert header[:2] == ["id", "variant"] and "3.1" in header
    assert result.total_points == 17.5


def test_markdown_sheets_use_github_math_and_print_the_variant(sheets):
    out, _ = sheets
    sheet = (out / "markdown" / "sheet-2.md").read_text()
    key = (out / "markdown" / "key-2.md").read_text()
    assert "**Variant 2**" in sheet
    assert r"$\frac{\partial a}{\partial w_{0}} = \qquad$" in sheet
    assert r"$\frac{\partial a}{\partial x_{0}} = a w_{0} \left(1 - a\right)$" in key
    for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", sheet + key):
        assert (out / "markdown" / link).is_file()
    if renderer() is not None:
        assert re.search(r"!\[graph with numbered blanks, variant 2\]\(v2-part1-blank\.svg\)", sheet)


def test_html_sheets_are_self_contained_with_mathml(sheets):
    out, _ = sheets
    html = (out / "html" / "sheet-1.html").read_text()
    assert html.count("<math") >= 6 and "<mfrac>" in html
    urls = re.findall(r"(?:src|href)=\"([^\"]+)\"", html)
    assert all(u.startswith("data:") for u in urls)  # nothing to fetch
    assert "cdn" not in html.lower() and "<script" not in html
    assert "Variant 1" in html
    key = (out / "html" / "key-1.html").read_text()
    assert "&#963;" in key or "σ" in key or "<mi>a</mi>" in key


def test_the_same_seed_gives_byte_identical_files(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for d, seed in ((a, 5), (b, 5), (c, 6)):
        make_worksheet(NEURON, d, variants=2, seed=seed, formats=("markdown", "html", "moodle"))
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    assert (a / "key.json").read_bytes() != (c / "key.json").read_bytes()


def test_graphs_without_symbolic_output_or_with_bad_formats_are_refused(tmp_path):
    with pytest.raises(WorksheetError, match="unknown format 'docx'"):
        make_worksheet(NEURON, tmp_path, formats=("docx",))
    spec = spec_from_program("f = x*y")
    spec.parts[0].questions = ["matrix"]
    with pytest.raises(WorksheetError, match="matrix questions need a tensor graph"):
        build_worksheet(spec, pictures=False)


def test_graph_objects_work_as_sources(tmp_path):
    r = make_worksheet(Graph.parse("f = (x + y)*z"), tmp_path, variants=2, seed=1, formats=("markdown",))
    assert r.variants == 2 and (tmp_path / "markdown" / "key-2.md").is_file()


def test_a_variant_sheet_prints_the_spec_s_description_not_the_graph_file_s(tmp_path):
    # neuron.toml's description says "The expected numbers are the textbook's": not true of a variant
    from gradlab.worksheet import html as html_out
    from gradlab.worksheet import markdown as md_out

    ws = build_worksheet(load_spec(ROOT / "graphs" / "neuron.toml"), variants=2, seed=3, pictures=False)
    for v in ws.variants:
        for text in (md_out.sheet(ws, v, key=False), html_out.sheet(ws, v, key=True)):
            assert "textbook's" not in text and "The expected numbers" not in text
    spec = load_spec(write(tmp_path, f'[[part]]\ngraph = "{ROOT / "graphs" / "neuron.toml"}"\n'
                                     'description = "The neuron of the lecture, with new numbers."\n'))
    ws = build_worksheet(spec, variants=1, seed=3, pictures=False)
    assert "The neuron of the lecture, with new numbers." in md_out.sheet(ws, ws.variants[0], key=False)
