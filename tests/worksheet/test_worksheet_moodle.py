"""Moodle XML: the structure Moodle's importer reads, parsed back."""

from __future__ import annotations

import base64
import re
import struct
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from gradlab.grading.formulas import strict_names
from gradlab.lang.expr import parse_expression
from gradlab.worksheet import (
    MoodleXMLError,
    WorksheetError,
    build_worksheet,
    check_moodle_xml,
    load_spec,
    moodle_xml,
    spec_from_program,
)
from gradlab.worksheet.moodle import MOODLE_FRACTIONS
from gradlab.worksheet.pictures import renderer


def _png(width: int = 2, height: int = 2) -> bytes:
    """A tiny valid PNG (for installations without the renderer)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def sheet():
    spec = spec_from_program("z = w0*x0 + w1*x1 + w2; a = sigmoid(z)", title="Neuron")
    spec.parts[0].questions = ["forward", "backward", "symbolic", "numeric"]
    spec.parts[0].numeric = ["w0", "x1"]
    ws = build_worksheet(spec, variants=3, seed=2024, pictures=renderer() is not None, png=True)
    for v in ws.variants:
        if v.parts[0].pictures.student_png is None:
            v.parts[0].pictures.student_png = _png()
    return ws


def test_one_category_per_worksheet_and_one_question_per_variant(sheet):
    text, notes = moodle_xml(sheet)
    root = ET.fromstring(text)
    cats = [q.findtext("category/text") for q in root.findall("question[@type='category']")]
    assert cats[0] == "$course$/top/Neuron"
    assert all(c.startswith("$course$/top/Neuron/Q") for c in cats[1:])
    numerical = root.findall("question[@type='numerical']")
    assert len(numerical) == 2 * 3  # two partials, three variants
    assert len(root.findall("question[@type='cloze']")) == 2 * 3  # forward and backward blanks
    assert len(root.findall("question[@type='essay']")) == 5 * 3
    assert any("CAS question type" in n for n in notes)
    assert check_moodle_xml(text) == {"category": 5, "cloze": 6, "essay": 15, "numerical": 6}


def test_numerical_questions_carry_answer_tolerance_and_named_mistakes(sheet):
    root = ET.fromstring(moodle_xml(sheet)[0])
    key = sheet.key()
    for q in root.findall("question[@type='numerical']"):
        name = q.findtext("name/text")
        item, vid = re.search(r"Q(\S+) variant (\S+)$", name).groups()
        ans = key.variants[vid].answers[item]
        first = q.find("answer")
        assert first.get("fraction") == "100"
        assert float(first.findtext("text")) == pytest.approx(ans.value)
        assert float(first.findtext("tolerance")) == pytest.approx(max(0.005, 0.01 * abs(ans.value)))
        feedback = [a.findtext("feedback/text") for a in q.findall("answer")]
        assert all(float(a.get("fraction")) in MOODLE_FRACTIONS for a in q.findall("answer"))
        assert q.findall("answer")[-1].findtext("text") == "*"  # anything else: wrong, with a hint
        tol = float(first.findtext("tolerance"))
        named = [m for m in ans.mistakes if abs(m.value - ans.value) > 2 * tol]
        assert len(feedback) == 2 + len(named)
        for m, a in zip(named, q.findall("answer")[1:-1]):  # each named mistake: its value, credit, message
            assert float(a.findtext("text")) == pytest.approx(m.value)
            assert a.get("fraction") == ("50" if m.id == "sign" else "0")
            assert a.findtext("feedback/text") == m.message


def test_pictures_are_embedded_as_small_svg_files_referenced_by_pluginfile(sheet):
    root = ET.fromstring(moodle_xml(sheet)[0])
    cloze = root.find("question[@type='cloze']")
    qt = cloze.find("questiontext")
    assert qt.get("format") == "html"
    refs = re.findall(r"@@PLUGINFILE@@/([\w.-]+)", qt.findtext("text"))
    files = {f.get("name"): f for f in qt.findall("file")}
    assert refs and set(refs) == set(files)
    blanks = re.findall(r"\{(\d+):NUMERICAL:=([-\d.e]+):([\d.e-]+)", qt.findtext("text"))
    assert len(blanks) == 5  # the forward question's five value blanks
    if renderer() is None:
        return
    for name, f in files.items():
        assert name.endswith(".svg") and f.get("encoding") == "base64" and f.get("path") == "/"
        svg = base64.b64decode(f.text).decode("utf-8")
        drawing = ET.fromstring(svg)  # a well-formed SVG file of its own
        assert drawing.tag == "{http://www.w3.org/2000/svg}svg"
        assert "<title>" not in svg and "<!--" not in svg and len(svg) < 0.75 * len(
            sheet.variants[0].parts[0].pictures.student_svg)
        assert [f"({i})" for i in range(1, 16)] == sorted(re.findall(r">(\(\d+\))<", svg), key=lambda m: int(m[1:-1]))


def test_pictures_as_png_have_a_small_palette(sheet):
    text, _ = moodle_xml(sheet, pictures="png")
    root = ET.fromstring(text)
    qt = root.find("question[@type='cloze']").find("questiontext")
    (f,) = qt.findall("file")
    data = base64.b64decode(f.text)
    assert f.get("name").endswith(".png") and data.startswith(b"\x89PNG")
    if renderer() is not None:
        assert data[25] == 3  # colour type 3: a palette
        assert len(data) < len(sheet.variants[0].parts[0].pictures.student_png) / 2
    assert check_moodle_xml(text)["cloze"] == 6


def test_symbolic_questions_can_be_left_out(sheet):
    text, notes = moodle_xml(sheet, symbolic="skip")
    assert "essay" not in check_moodle_xml(text)
    assert any("left out" in n for n in notes)


@pytest.mark.parametrize("broken, message", [
    ("<notquiz/>", "root element"),
    ('<quiz><question type="shortanswer"><name><text>x</text></name></question></quiz>', "unknown question type"),
    ('<quiz><question type="numerical"><name><text>x</text></name><questiontext format="html"><text>t</text>'
     '</questiontext><answer fraction="42"><text>1</text><tolerance>0</tolerance></answer></question></quiz>',
     "not a Moodle grade"),
    ('<quiz><question type="numerical"><name><text>x</text></name><questiontext format="html"><text>'
     '&lt;img src="@@PLUGINFILE@@/a.png"&gt;</text></questiontext><answer fraction="100"><text>1</text>'
     "<tolerance>0</tolerance></answer></question></quiz>", "does not embed it"),
])
def test_the_checker_finds_what_moodle_would_not_import(broken, message):
    with pytest.raises(MoodleXMLError, match=message):
        check_moodle_xml(broken)


def _maxima_to_sympy(text: str, names: dict):
    """Read back what gradlab wrote for Maxima (``^``, exp, log, abs) with gradlab's own safe parser."""
    return parse_expression(text, names, lenient=True, unknown_names=False)


def test_symbolic_questions_as_stack_are_checked_by_maxima_against_the_key(sheet):
    text, notes = moodle_xml(sheet, symbolic="stack")
    assert check_moodle_xml(text) == {"category": 5, "cloze": 6, "stack": 15, "numerical": 6}
    assert not any("essay" in n for n in notes)
    key = sheet.key()
    inputs = {n: sp.Symbol(n, real=True) for n in sheet.spec.parts[0].graph.inputs}
    rng = np.random.default_rng(0)
    points = [{s: float(x) for s, x in zip(inputs.values(), rng.uniform(-2, 2, len(inputs)))} for _ in range(4)]
    for q in ET.fromstring(text).findall("question[@type='stack']"):
        item, vid = re.search(r"Q(\S+) variant (\S+)$", q.findtext("name/text")).groups()
        answer = key.variants[vid].answers[item]
        right = parse_expression(answer.formula, strict_names(answer), unknown_names=False)
        body = q.findtext("questiontext/text")
        assert "[[input:ans1]]" in body and q.findtext("input/tans") == "ta"
        ta = re.fullmatch(r"ta: (.*);", q.findtext("questionvariables/text")).group(1)
        variables = dict(re.findall(r"^(\w+): (.*);$", q.findtext("prt/feedbackvariables/text"), re.M))
        subst = dict(re.findall(r"(\w+) = ([^,\]]+(?:\([^)]*\))?[^,\]]*)", variables["sa"]))
        names = dict(inputs)
        names.update({n: _maxima_to_sympy(v, inputs) for n, v in subst.items()})
        model = _maxima_to_sympy(ta, names)  # the model answer in the names, what the student sees
        key_form = _maxima_to_sympy(variables["tb"], inputs)
        nodes = q.findall("prt/node")
        assert [n.findtext("answertest") for n in nodes] == ["AlgEquiv"] * len(nodes)
        assert nodes[0].findtext("tans") == "tb" and float(nodes[0].findtext("truescore")) == 1
        for point in points:
            want = float(right.subs(point).evalf())
            assert float(model.subs(point).evalf()) == pytest.approx(want, rel=1e-9, abs=1e-12)
            assert float(key_form.subs(point).evalf()) == pytest.approx(want, rel=1e-9, abs=1e-12)
        named = [m for m in answer.mistakes if m.formula]
        assert len(nodes) == 1 + len(named)
        for m, node in zip(named, nodes[1:]):  # each generated mistake: its formula, credit and message
            wrong = parse_expression(m.formula, strict_names(answer), unknown_names=False)
            mine = _maxima_to_sympy(variables[node.findtext("tans")], inputs)
            point = points[0]
            assert float(mine.subs(point).evalf()) == pytest.approx(float(wrong.subs(point).evalf()), rel=1e-9)
            assert float(node.findtext("truescore")) == sheet.spec.grading.partial.get(m.id, 0.0)
            assert node.findtext("truefeedback/text").startswith("<p>")


def test_a_formula_maxima_cannot_say_stays_an_essay():
    spec = spec_from_program("z = w0*x0 + w2; a = relu(z)", title="ReLU")
    ws = build_worksheet(spec, variants=1, seed=3, pictures=False)
    text, notes = moodle_xml(ws, symbolic="stack")
    counts = check_moodle_xml(text)
    assert counts.get("essay", 0) >= 1 and any("Heaviside" in n for n in notes)


def test_the_spec_chooses_stack_and_png_and_the_command_line_wins(tmp_path):
    spec_file = tmp_path / "s.toml"
    spec_file.write_text('title = "T"\n[moodle]\nsymbolic = "stack"\npictures = "png"\n[[part]]\n'
                         'program = "z = w0*x0 + w2; a = sigmoid(z)"\n')
    spec = load_spec(spec_file)
    assert spec.moodle == {"symbolic": "stack", "pictures": "png"}
    ws = build_worksheet(spec, variants=1, seed=1, pictures=False)
    assert "stack" in check_moodle_xml(moodle_xml(ws)[0]) and "essay" in check_moodle_xml(moodle_xml(ws, symbolic="essay")[0])
    spec_file.write_text('[moodle]\nsymbolic = "cas"\n[[part]]\nprogram = "f = x*y"\n')
    with pytest.raises(WorksheetError, match="symbolic must be one of essay, stack, skip"):
        load_spec(spec_file)


def test_thirty_variants_of_the_neuron_quiz_fit_in_a_small_file():
    """The issue's 8.4 MB for 30 variants (a PNG picture in every question): with SVG pictures 1.6 MB, with
    STACK questions 2.4 MB (docs/worksheets.md quotes them)."""
    if renderer() is None:
        pytest.skip("the pictures need gradlab's renderer")
    ROOT = Path(__file__).resolve().parents[2]
    ws = build_worksheet(load_spec(ROOT / "docs" / "examples" / "neuron_quiz.toml"))
    essays, stack = moodle_xml(ws)[0], moodle_xml(ws, symbolic="stack")[0]
    assert check_moodle_xml(essays) == {"category": 5, "cloze": 60, "essay": 150, "numerical": 30}
    assert check_moodle_xml(stack) == {"category": 5, "cloze": 60, "stack": 150, "numerical": 30}
    assert len(essays.encode("utf-8")) < 2_000_000 and len(stack.encode("utf-8")) < 3_000_000
