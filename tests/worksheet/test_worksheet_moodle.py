"""Moodle XML: the structure Moodle's importer reads, parsed back."""

from __future__ import annotations

import base64
import re
import struct
import xml.etree.ElementTree as ET
import zlib

import pytest

from gradlab.worksheet import MoodleXMLError, build_worksheet, check_moodle_xml, moodle_xml, spec_from_program
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


def test_pictures_are_embedded_as_base64_files_referenced_by_pluginfile(sheet):
    root = ET.fromstring(moodle_xml(sheet)[0])
    cloze = root.find("question[@type='cloze']")
    qt = cloze.find("questiontext")
    assert qt.get("format") == "html"
    refs = re.findall(r"@@PLUGINFILE@@/([\w.-]+)", qt.findtext("text"))
    files = {f.get("name"): f for f in qt.findall("file")}
    assert refs and set(refs) == set(files)
    for f in files.values():
        assert f.get("encoding") == "base64" and f.get("path") == "/"
        assert base64.b64decode(f.text).startswith(b"\x89PNG")
    blanks = re.findall(r"\{(\d+):NUMERICAL:=([-\d.e]+):([\d.e-]+)", qt.findtext("text"))
    assert len(blanks) == 5  # the forward question's five value blanks


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
