"""Worksheets of tensor graphs (exercise sheet 2, task 6): variants of vectors and matrices, matrix
formula questions, keys from gradlab's engines, grading by verify, Markdown/HTML/Moodle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlab import evaluate, gradients, verify
from gradlab.check.graphfile import load_graph_file
from gradlab.grading import grade
from gradlab.model.answerkey import AnswerKey
from gradlab.worksheet import (
    WorksheetError,
    build_worksheet,
    check_moodle_xml,
    load_spec,
    make_worksheet,
    variant_point,
    why_not,
)

ROOT = Path(__file__).resolve().parents[2]
TASK6 = ROOT / "graphs" / "two_layer_softmax.toml"
FORMATS = ("markdown", "html", "moodle")


@pytest.fixture(scope="module")
def sheets(tmp_path_factory):
    out = tmp_path_factory.mktemp("task6")
    result = make_worksheet(TASK6, out, variants=3, seed=2024, formats=FORMATS)
    return out, result


@pytest.fixture(scope="module")
def key(sheets) -> AnswerKey:
    return AnswerKey.load(sheets[0] / "key.json")


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "spec.toml"
    p.write_text(text, encoding="utf-8")
    return p


# ----------------------------------------------------------------------------- defaults and variants

def test_a_bare_tensor_graph_file_gets_task6_s_questions():
    part = load_spec(TASK6).parts[0]
    assert part.questions == ["forward", "matrix", "numeric"]
    assert part.wrt == ["z", "B", "A"]  # dL/dz, dL/dB, dL/dA: the order of task 6 (b)-(d)
    assert part.numeric == ["B_1_2"]
    assert (part.ranges["A"].min, part.ranges["A"].max, part.ranges["A"].step) == (-1, 1, 0.1)


def test_the_same_seed_gives_byte_identical_files(sheets, tmp_path):
    out, _ = sheets
    again = tmp_path / "again"
    make_worksheet(TASK6, again, variants=3, seed=2024, formats=FORMATS)
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert all((out / f).read_bytes() == (again / f).read_bytes() for f in files)


def test_variants_are_vectors_and_matrices_with_one_hot_labels_and_no_saturation(key):
    g = load_graph_file(TASK6).graph
    points = [v.at for v in key.variants.values()]
    assert len({json.dumps(p) for p in points}) == 3
    for at in points:
        assert np.shape(at["A"]) == (2, 3) and np.shape(at["x"]) == (3,)
        assert sorted(at["y"]) == [0, 1]
        assert all(abs(10 * a - round(10 * a)) < 1e-9 for a in np.ravel(at["A"]))  # one decimal
        ev = evaluate(g, at)
        assert np.abs(ev.values["u"]).max() <= 2 and ev.values["p"].max() <= 0.98
        assert np.any(ev.adjoints["B"]) and np.any(ev.adjoints["A"]) and abs(ev.adjoints["B"][0, 1]) >= 0.05


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 1000))
def test_every_variant_point_passes_the_checks(seed, number):
    part = load_spec(TASK6).parts[0]
    at = variant_point(part, seed, number)
    assert why_not(part, at, margin=0.05) is None
    assert at == variant_point(part, seed, number)  # depends only on (seed, number)


def test_why_not_names_saturation_and_zero_gradients():
    part = load_spec(TASK6).parts[0]
    at = {"x": [2, 2, 2], "A": [[1, 1, 1], [-1, 0.5, 1]], "B": [[0.5, 0.5], [0.1, 0.2]], "y": [1, 0]}
    assert "tanh" in why_not(part, at, margin=0.05)
    at = variant_point(part, 1, 1)
    assert why_not(part, at, margin=0.05) is None
    at["x"] = [0, 0, 0]  # u = 0, v = 0: dL/dB is all zero
    assert "zero" in why_not(part, at, margin=0.05)


# ----------------------------------------------------------------------------- the key comes from the engines

def test_number_answers_are_the_graph_s_values_and_gradients(key):
    g = load_graph_file(TASK6).graph
    for v in key.variants.values():
        report = gradients(g, v.at)
        assert np.isclose(v.answers["3.1"].value, report.inputs["B"].grad[0, 1])  # dL/dB_1_2
        ev = evaluate(g, v.at)
        forward = [v.answers[f"1.{j}"].value for j in range(1, 16)]
        flat = np.concatenate([np.ravel(ev.values[n]) for n in ["u", "v", "z", "p", "t1", "t2", "t3", "t4", "L"]])
        assert np.allclose(forward, flat)


def test_matrix_answers_are_gradlab_s_checked_forms_and_verify_proves_them(key):
    g = load_graph_file(TASK6).graph
    formulas = {key.items[i].label: key.variants["1"].answers[i].formula for i in ("2.1", "2.2", "2.3")}
    assert formulas == {"∂L/∂z": "(p - y)/2", "∂L/∂B": "(p - y) @ v.T / 2",
                        "∂L/∂A": "((B.T @ (p - y)) * (1 - v**2)) @ x.T / 2"}
    for label, formula in formulas.items():
        r = verify(g, f"dL/d{label[-1]} = {formula}")
        assert r.ok and r.decided == "symbolic"
    assert all(v.answers["2.2"].formula == formulas["∂L/∂B"] for v in key.variants.values())


def test_the_key_lists_the_generated_wrong_matrix_answers(key):
    mistakes = {m.id: m.formula for m in key.variants["1"].answers["2.3"].mistakes}
    assert mistakes == {"factor": "((B.T @ (p - y)) * (1 - v**2)) @ x.T",
                        "sign": "((B.T @ (y - p)) * (1 - v**2)) @ x.T / 2",
                        "transposed": "x @ ((B.T @ (p - y)) * (1 - v**2)).T / 2",
                        "chain": "B.T @ (p - y) @ x.T / 2",
                        "label": "((B.T @ p) * (1 - v**2)) @ x.T / 2"}
    numbers = {m.id for m in key.variants["1"].answers["3.1"].mistakes}
    assert {"sign", "factor", "transposed"} <= numbers  # the same mistakes at the point, as numbers


# ----------------------------------------------------------------------------- grading a class

def test_a_class_is_graded_right_wrong_and_partial_with_named_mistakes(sheets, tmp_path):
    out, _ = sheets
    key = AnswerKey.load(out / "key.json")
    key.grading.partial = {"sign": 0.5, "factor": 0.5, "transposed": 0.5, "chain": 0.25, "label": 0.25}
    v1 = key.variants["1"]
    right_numbers = [f"{v1.answers[f'1.{j}'].value:.2f}" for j in range(1, 16)]
    header = ["id", "variant", *[f"1.{j}" for j in range(1, 16)], "2.1", "2.2", "2.3", "3.1"]
    b12 = f"{v1.answers['3.1'].value:.3f}"
    rows = [
        ["ada", "1", *right_numbers, "(p - y)/2", "(p - y) v^T / 2", "(B^T (p - y) ⊙ (1 - v²)) xᵀ / 2", b12],
        ["ben", "1", *right_numbers, "(y - p)/2", "(p - y) @ v.T", "(B.T @ (p - y)) @ x.T / 2",
         f"{-v1.answers['3.1'].value:.3f}"],
        ["cy", "01", *right_numbers, "p/2", "v @ (p - y).T / 2", "__import__('os').system('id')", "1e999"],
    ]
    report = grade((header, rows), key)
    got = {s.id: {a.item: (a.verdict.status, a.verdict.mistake, a.points) for a in s.answers} for s in report.students}
    assert all(got["ada"][i][0] == "correct" for i in got["ada"]) and report.students[0].score == key.total_points
    assert got["ben"]["2.1"] == ("partial", "sign", 1.0)
    assert got["ben"]["2.2"] == ("partial", "factor", 1.0)
    assert got["ben"]["2.3"] == ("partial", "chain", 0.5)
    assert got["ben"]["3.1"] == ("partial", "sign", 0.5)
    assert got["cy"]["2.1"] == ("partial", "label", 0.5)
    assert got["cy"]["2.2"] == ("partial", "transposed", 1.0)
    assert got["cy"]["2.3"][0] == "rejected" and got["cy"]["3.1"][0] == "rejected"
    assert got["cy"]["1.1"][0] == "correct"  # the rest of cy's answers are graded


# ----------------------------------------------------------------------------- sheets and exports

def test_markdown_and_html_show_the_point_the_questions_and_the_key(sheets):
    out, result = sheets
    assert [q["type"] for q in result.questions] == ["forward", "matrix", "numeric"]
    sheet = (out / "markdown" / "sheet-1.md").read_text(encoding="utf-8")
    key = (out / "markdown" / "key-1.md").read_text(encoding="utf-8")
    assert r"A = \begin{bmatrix}" in sheet and "![graph with numbered blanks, variant 1](v1-part1-blank.svg)" in sheet
    assert r"$\frac{\partial L}{\partial B} = \qquad$" in sheet and "(2×2, the shape of $B$)" in sheet
    assert r"\frac{\partial L}{\partial B_{1,2}}" in sheet and "| 1.3 | (2) | 1 | the wire from v into z (@) |  |" in sheet
    assert r"$\frac{\partial L}{\partial B} = \frac{1}{2} \left(p - y\right) v^{\top}$" in key
    assert "(p - y)" not in sheet.split("Matrix gradients")[1]  # the sheet gives no answer away
    html = (out / "html" / "key-1.html").read_text(encoding="utf-8")
    assert "<mtable>" in html and "<mo>⊙</mo>" in html and "$" not in html
    assert '<msup><mi>v</mi><mi mathvariant="normal">T</mi></msup>' in html
    assert 'figure class="wide"' in html and "size: A4 landscape" in html
    student = (out / "html" / "sheet-1.html").read_text(encoding="utf-8")
    assert "<mo>⊙</mo>" not in student and 'class="formula-box"' in student


def test_moodle_gets_essays_with_the_cas_note_and_numbers_for_entries(sheets):
    out, result = sheets
    xml = (out / "moodle.xml").read_text(encoding="utf-8")
    counts = check_moodle_xml(xml)
    assert counts["essay"] == 9 and counts["cloze"] == 3 and counts["numerical"] == 3
    assert "a matrix formula needs a CAS question type" in xml and r"\frac{1}{2} \left(p - y\right) v^{\top}" in xml
    assert any("question 2 (matrix) exported as essay questions" in n for n in result.notes)


def test_a_spec_picks_matrix_targets_numeric_entries_points_and_ranges(tmp_path):
    spec = load_spec(write(tmp_path, f"""
title = "Task 6, part (c)"
[numbers]
values = "one decimal"
min = -1
max = 1
[grading]
partial = {{ transposed = 0.5, label = 0.25 }}
[[part]]
graph = "{TASK6}"
description = "The network of the lecture, for one image of a dog or a cat."
questions = ["matrix", "numeric"]
wrt = ["B"]
numeric = ["z", "B_2_1"]
points = {{ matrix = 3, numeric = 0.5 }}
"""))
    ws = build_worksheet(spec, variants=2, seed=1, pictures=False)
    assert [(i.plain, i.points) for q in ws.questions for i in q.items] == [
        ("∂L/∂B", 3.0), ("∂L/∂z_1", 0.5), ("∂L/∂z_2", 0.5), ("∂L/∂B_2_1", 0.5)]
    assert ws.spec.grading.partial == {"transposed": 0.5, "label": 0.25}
    from gradlab.worksheet.markdown import sheet

    assert "The network of the lecture" in sheet(ws, ws.variants[0], key=False)


def test_bad_tensor_specs_are_refused_with_the_place(tmp_path):
    with pytest.raises(WorksheetError, match="line 4: .*no matrix form of dL/dt1"):
        load_spec(write(tmp_path, f'[[part]]\ngraph = "{TASK6}"\nquestions = ["matrix"]\nwrt = ["t1"]\n'))
    with pytest.raises(WorksheetError, match="entries"):
        load_spec(write(tmp_path, f'[[part]]\ngraph = "{TASK6}"\nnumeric = ["B_3_1"]\n'))
    with pytest.raises(WorksheetError, match="as matrix formulas"):
        build_worksheet(load_spec(write(tmp_path, f'[[part]]\ngraph = "{TASK6}"\nquestions = ["symbolic"]\n')),
                        pictures=False)


def test_a_variant_sheet_does_not_print_the_graph_file_s_description(tmp_path):
    # neuron.toml's description says "the expected numbers are the textbook's": not true of a variant
    ws = build_worksheet(load_spec(ROOT / "graphs" / "neuron.toml"), variants=1, seed=3, pictures=False)
    from gradlab.worksheet.markdown import sheet

    assert "textbook's" not in sheet(ws, ws.variants[0], key=False)
    assert "worked by hand" not in sheet(*_task6_sheet(), key=False)


def _task6_sheet():
    ws = build_worksheet(load_spec(TASK6), variants=1, seed=3, pictures=False)
    return ws, ws.variants[0]
