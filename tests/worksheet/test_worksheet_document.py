"""The worksheet's document model: which blocks a sheet and a key hold, for a graph of numbers and one of
vectors and matrices; math kept as data for each format to print; a format is one small module."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from gradlab.engine.tensor_forms import M
from gradlab.worksheet import (
    Format,
    WorksheetError,
    build_worksheet,
    load_spec,
    make_worksheet,
    register_format,
    sheet_document,
    spec_from_program,
    unregister_format,
)
from gradlab.worksheet import html as html_out
from gradlab.worksheet import markdown as md_out
from gradlab.worksheet.document import (
    AnswerTable,
    Document,
    FormulaBox,
    Formulas,
    Grading,
    Heading,
    NamesNote,
    NumberBox,
    Numbers,
    Paragraph,
    Partial,
    Picture,
    Point,
    Program,
    Title,
)
from gradlab.worksheet.formats import chosen
from gradlab.worksheet.pictures import renderer

ROOT = Path(__file__).resolve().parents[2]
TASK6 = ROOT / "graphs" / "two_layer_softmax.toml"
PROGRAM = "z = w0*x0 + w1*x1 + w2; a = sigmoid(z)"


@pytest.fixture(scope="module")
def scalar():
    spec = spec_from_program(PROGRAM)
    spec.instructions = "Round to two decimals."
    spec.parts[0].questions = ["forward", "backward", "symbolic", "numeric"]
    spec.parts[0].numeric = ["w1"]
    return build_worksheet(spec, variants=2, seed=7, pictures=False)


@pytest.fixture(scope="module")
def tensor():
    spec = load_spec(TASK6)
    spec.parts[0].questions = ["forward", "matrix", "numeric"]
    return build_worksheet(spec, variants=1, seed=2024, pictures=False)


def kinds(doc: Document) -> list[str]:
    return [type(b).__name__ for b in doc.blocks]


def only(doc: Document, kind: type) -> list:
    return [b for b in doc.blocks if isinstance(b, kind)]


def test_a_scalar_sheet_is_the_blocks_of_its_questions_with_empty_boxes(scalar):
    v = scalar.variants[1]
    doc = sheet_document(scalar, v, key=False)
    assert (doc.variant, doc.key, doc.wide) == ("2", False, False)
    assert kinds(doc) == ["Title", "Paragraph", "Paragraph", "Program", "Point", "Paragraph",
                          "Heading", "AnswerTable", "Heading", "AnswerTable",
                          "Heading", "NamesNote", "Formulas", "Heading", "Numbers"]
    title, instructions, total = doc.blocks[:3]
    assert title == Title(scalar.title, "2", fields=True)
    assert instructions == Paragraph("Round to two decimals.", written=True)  # the author's words: escaped in Markdown
    assert total.style == "note" and f"{scalar.total_points:g} points" in total.text
    assert only(doc, Program) == [Program(scalar.spec.parts[0].program)]
    assert only(doc, Point)[0] == Point(v.parts[0].at, tensor=False)
    assert [p.style for p in only(doc, Paragraph)][-1] == "missing"  # no renderer asked for: no picture
    forward, backward = only(doc, AnswerTable)
    assert not forward.entries and not forward.key
    assert [r.box for r in forward.rows + backward.rows] == [i.id for q in scalar.questions[:2] for i in q.items]
    assert all(r.answer == "" and r.entry == "–" for r in forward.rows + backward.rows)
    assert all(r.where.startswith(("the wire from ", "the output wire")) for r in forward.rows + backward.rows)
    names = only(doc, NamesNote)[0]
    assert names.inputs == list(scalar.spec.parts[0].graph.inputs) and "z" in names.names
    formulas = only(doc, Formulas)[0]
    assert not formulas.matrices
    assert [b.partial for b in formulas.boxes] == [Partial("a", w) for w in scalar.spec.parts[0].wrt]
    assert all(b.answer is None and b.shape is None for b in formulas.boxes)
    assert only(doc, Numbers)[0].boxes[0].partial == Partial("a", "w1") and only(doc, Numbers)[0].boxes[0].answer is None
    assert not only(doc, Grading)
    headings = only(doc, Heading)
    assert all(h.level == 3 for h in headings) and headings[2].text.startswith("Question 3 (")


def test_a_scalar_key_holds_the_answers_as_data(scalar):
    v = scalar.variants[0]
    doc = sheet_document(scalar, v, key=True)
    assert only(doc, Title)[0] == Title(scalar.title + " — answer key", "1", fields=False)
    assert "Round to two decimals." not in [p.text for p in only(doc, Paragraph)]  # instructions: students only
    assert not only(doc, NamesNote)
    rows = [r for t in only(doc, AnswerTable) for r in t.rows]
    assert all(t.key for t in only(doc, AnswerTable))
    assert [r.answer for r in rows] == [v.answers[r.box].text for r in rows]
    formulas = only(doc, Formulas)[0]
    symbolic = scalar.questions[2]
    for box, it in zip(formulas.boxes, symbolic.items):
        assert isinstance(box.answer, sp.Expr) and box.answer == scalar.formulas[it.id]  # a formula, not text
    number = only(doc, Numbers)[0].boxes[0]
    assert number.answer == v.answers[scalar.questions[3].items[0].id].text
    assert float(number.answer) == pytest.approx(float(v.parts[0].evaluation.adjoints["w1"]), abs=0.005)
    grading = only(doc, Grading)
    assert len(grading) == 1 and doc.blocks[-1] is grading[0] and "·|answer|" in grading[0].tolerance


def test_a_tensor_sheet_and_key_ask_entries_and_matrix_formulas(tensor):
    g = tensor.spec.parts[0].graph
    v = tensor.variants[0]
    sheet, key = (sheet_document(tensor, v, key=k) for k in (False, True))
    assert sheet.wide and key.wide
    point = only(sheet, Point)[0]
    assert point.tensor and np.shape(point.values["A"]) == g.shape("A")
    notes = [p.text for p in only(sheet, Paragraph) if p.style == "note"]
    assert notes[1].startswith("A blank holds a vector or a matrix")
    assert notes[2].startswith("Write each gradient as a matrix formula")
    table = only(sheet, AnswerTable)[0]
    assert table.entries and [r.box for r in table.rows] == [i.id for i in tensor.questions[0].items]
    assert {r.entry for r in table.rows} >= {"1", "2"}
    formulas, key_formulas = only(sheet, Formulas)[0], only(key, Formulas)[0]
    assert formulas.matrices and key_formulas.matrices
    assert [b.partial.wrt for b in formulas.boxes] == tensor.spec.parts[0].wrt
    assert [b.shape for b in formulas.boxes] == [g.shape(w) for w in tensor.spec.parts[0].wrt]
    assert all(b.answer is None for b in formulas.boxes)
    assert all(isinstance(b.answer, M) for b in key_formulas.boxes)
    numbers = only(key, Numbers)[0].boxes
    assert numbers[0].partial == Partial("L", "B_1_2", entry=True)
    assert numbers[0].answer == v.answers[tensor.questions[2].items[0].id].text


def test_the_formats_print_the_same_math_their_own_way():
    x = sp.Symbol("x0")
    formula = FormulaBox(Partial("a", "x0"), x * (1 - x))
    doc = Document("T", "1", True, False, [Formulas([formula], matrices=False),
                                           Numbers([NumberBox(Partial("L", "B_1_2", entry=True), "0.25")])])
    md = md_out.render(doc)
    assert r"$\frac{\partial a}{\partial x_{0}} = " + sp.latex(formula.answer) + "$" in md
    assert r"$\frac{\partial L}{\partial B_{1,2}}$ at this point $=$ 0.25" in md
    page = html_out.section(doc)
    assert "<mfrac>" in page and "<msub><mi>B</mi><mrow><mn>1</mn><mo>,</mo><mn>2</mn></mrow></msub>" in page
    assert "<b>0.25</b>" in page and "$" not in page


# ----------------------------------------------------------------------------- a format is one small module

def _text_block(b) -> str:
    """A toy format: every block as plain text."""
    if isinstance(b, Title):
        return f"{b.text} (variant {b.variant})"
    if isinstance(b, (Heading, Paragraph, Program)):
        return b.text
    if isinstance(b, Point):
        return "At " + ", ".join(f"{n} = {x}" for n, x in b.values.items())
    if isinstance(b, AnswerTable):
        return "\n".join(f"({r.blank}) {r.where}: {r.answer or '____'}" for r in b.rows)
    if isinstance(b, (Formulas, Numbers)):
        return "\n".join(f"d{x.partial.of}/d{x.partial.wrt} = {x.answer if x.answer is not None else '____'}"
                         for x in b.boxes)
    return ""


def _text_files(job) -> dict[str, str | bytes]:
    return {f"text/{'key' if key else 'sheet'}-{v.id}.txt":
            "\n\n".join(t for t in map(_text_block, job.document(v, key=key).blocks) if t) + "\n"
            for v in job.ws.variants for key in (False, True)}


def test_a_new_format_is_registered_and_made_beside_the_others(tmp_path):
    register_format(Format("text", _text_files, "plain text"))
    try:
        r = make_worksheet(spec_from_program(PROGRAM), tmp_path, variants=2, seed=7, formats=("text", "markdown"))
    finally:
        unregister_format("text")
    assert {"text/sheet-1.txt", "text/key-2.txt", "markdown/sheet-1.md"} <= set(r.files)
    ws = build_worksheet(spec_from_program(PROGRAM), variants=2, seed=7, pictures=False)
    sheet = (tmp_path / "text" / "sheet-2.txt").read_text(encoding="utf-8")
    key = (tmp_path / "text" / "key-2.txt").read_text(encoding="utf-8")
    assert "(variant 2)" in sheet and "da/dx0 = ____" in sheet and "____" not in key
    x0 = next(i for i in ws.questions[2].items if i.wrt == "x0")
    assert f"da/dx0 = {ws.formulas[x0.id]}" in key  # the key's formula, printed by this format
    assert not (tmp_path / "moodle.xml").exists() and (tmp_path / "index.md").exists()
    with pytest.raises(WorksheetError, match="unknown format 'text'"):
        make_worksheet(spec_from_program(PROGRAM), tmp_path, formats=("text",))


def test_the_registry_adds_needed_formats_and_refuses_mistakes():
    assert [f.name for f in chosen(["moodle", "pdf"])] == ["html", "pdf", "moodle"]
    with pytest.raises(WorksheetError, match="unknown format 'docx'"):
        chosen(["markdown", "docx"])
    with pytest.raises(WorksheetError, match="needs the format 'latex'"):
        register_format(Format("slides", _text_files, needs=("latex",)))
    with pytest.raises(WorksheetError, match="one of gradlab's own formats"):
        unregister_format("html")


@pytest.mark.skipif(renderer() is None, reason="needs gradlab's renderer")
def test_pictures_are_blocks_and_the_markdown_format_writes_them_beside_the_sheet(tmp_path):
    ws = build_worksheet(spec_from_program("f = (x + y)*z"), variants=1, seed=3)
    doc = sheet_document(ws, ws.variants[0], key=True)
    (pic,) = only(doc, Picture)
    assert pic.name == "v1-part1-solution.svg" and pic.svg.lstrip().startswith("<") and "solution" in pic.alt
    assert "missing" not in [p.style for p in only(doc, Paragraph)]
    make_worksheet(spec_from_program("f = (x + y)*z"), tmp_path, variants=1, seed=3, formats=("markdown",))
    assert (tmp_path / "markdown" / pic.name).read_text(encoding="utf-8") == pic.svg
    assert f"]({pic.name})" in (tmp_path / "markdown" / "key-1.md").read_text(encoding="utf-8")
