"""One variant's sheet or answer key as data: a list of blocks that every format prints its own way.

:func:`sheet_document` is the one place that knows the question types and tells a graph of
numbers from one of vectors and matrices; a format (:mod:`gradlab.worksheet.format`) only prints
blocks. Math stays data: a :class:`Partial` is (output, variable), a key's formula a SymPy
expression or a matrix formula (:class:`gradlab.engine.tensor_forms.M`), a point the numbers, vectors and
matrices themselves; Markdown prints them as LaTeX, HTML as MathML.

>>> from gradlab.worksheet import build_worksheet, spec_from_program
>>> ws = build_worksheet(spec_from_program("z = w0*x0 + w2; a = sigmoid(z)"), variants=1, seed=2024, pictures=False)
>>> doc = sheet_document(ws, ws.variants[0], key=True)
>>> [type(b).__name__ for b in doc.blocks][:5]
['Title', 'Paragraph', 'Program', 'Point', 'Paragraph']
>>> table = next(b for b in doc.blocks if isinstance(b, AnswerTable))
>>> table.rows[0].box, table.rows[0].where
('1.1', 'the wire from w0*x0 into z (+)')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from .questions import ENTRIES_NOTE, ItemView, QuestionView, VariantView, Worksheet, matrix_note


@dataclass(frozen=True)
class Title:
    """The head of a sheet: its title, the variant, and (on a student's sheet) lines for name and id."""

    text: str
    variant: str
    fields: bool


@dataclass(frozen=True)
class Heading:
    """A part (level 2) or a question (level 3). ``written`` is the end of ``text`` that the spec's author wrote
    (a part's title): formats with markup show it as written (escaped)."""

    text: str
    level: int
    written: str = ""


@dataclass(frozen=True)
class Paragraph:
    """Text: ``style`` is ``text``, ``note`` (how to answer, totals) or ``missing`` (what the sheet lacks);
    ``written`` when the spec's author wrote it (instructions, a description): formats with markup show it as
    written (escaped), blank lines still separating paragraphs."""

    text: str
    style: str = "text"
    written: bool = False


@dataclass(frozen=True)
class Program:
    """The part's program, as a listing."""

    text: str


@dataclass(frozen=True)
class Point:
    """The variant's point: input name -> a number, or nested lists for a vector or matrix (``tensor``)."""

    values: dict[str, Any]
    tensor: bool


@dataclass(frozen=True)
class Picture:
    """A drawing (SVG text), the file name it has beside a sheet, its alternative text; ``wide``: a
    tensor graph's long picture."""

    svg: str
    name: str
    alt: str
    wide: bool


@dataclass(frozen=True)
class AnswerRow:
    """One answer box of a picture's blank: ``entry`` is ``–`` for a number, ``answer`` empty on a sheet."""

    box: str
    blank: int | None
    entry: str
    where: str
    answer: str


@dataclass(frozen=True)
class AnswerTable:
    """The boxes of the blanks; ``entries``: a tensor graph's table (box and entry columns)."""

    rows: list[AnswerRow]
    entries: bool
    key: bool


@dataclass(frozen=True)
class NamesNote:
    """Which names a formula may use: the inputs, the program's names, extra aliases (alias -> name)."""

    inputs: list[str]
    names: list[str]
    aliases: dict[str, str]


@dataclass(frozen=True)
class Partial:
    """∂of/∂wrt; ``entry``: ``wrt`` names an entry of a vector or matrix (``B_1_2``)."""

    of: str
    wrt: str
    entry: bool = False


@dataclass(frozen=True)
class FormulaBox:
    """A partial and the key's formula (None: an empty box); ``shape`` for a matrix formula's box."""

    partial: Partial
    answer: Any | None
    shape: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Formulas:
    """Numbered formula boxes: SymPy formulas, or matrix formulas when ``matrices``."""

    boxes: list[FormulaBox]
    matrices: bool


@dataclass(frozen=True)
class NumberBox:
    """A partial at the variant's point, and the key's number (None: an empty box)."""

    partial: Partial
    answer: str | None


@dataclass(frozen=True)
class Numbers:
    """Numbered number boxes."""

    boxes: list[NumberBox]


@dataclass(frozen=True)
class Grading:
    """The key's last word: how numbers are graded (``tolerance`` in words)."""

    tolerance: str


Block = Union[Title, Heading, Paragraph, Program, Point, Picture, AnswerTable, NamesNote, Formulas, Numbers, Grading]


@dataclass
class Document:
    """One variant's sheet (``key=False``) or answer key; ``wide``: a part has a tensor graph."""

    title: str
    variant: str
    key: bool
    wide: bool
    blocks: list[Block] = field(default_factory=list)


def picture_name(v: VariantView, part: int, key: bool) -> str:
    """The file name of a part's picture beside the sheet: ``v07-part1-blank.svg``, ``v07-part1-solution.svg``."""
    return f"v{v.id}-part{part + 1}-{'solution' if key else 'blank'}.svg"


def where(it: ItemView) -> str:
    """Where a blank's box is: ``the wire from z into a (σ)`` (its label without the kind and marker)."""
    return it.plain.split(" on ", 1)[1] if " on " in it.plain else it.plain


def answer_rows(q: QuestionView, v: VariantView, *, key: bool) -> list[AnswerRow]:
    """The boxes of a forward or backward question, with the key's numbers when ``key``."""
    return [AnswerRow(it.id, it.blank, it.entry_text or "–", where(it), v.answers[it.id].text if key else "")
            for it in q.items]


def item_partial(ws: Worksheet, q: QuestionView, it: ItemView) -> Partial:
    """The partial a formula or number box asks for (an entry of a gradient for a tensor graph's numbers)."""
    out = ws.spec.parts[q.part].graph.output
    if it.entry is not None:
        return Partial(out, it.entry_text, entry=True)
    return Partial(out, it.wrt or "")


def tolerance_words(ws: Worksheet) -> str:
    """``max(0.005, 0.01·|answer|)`` or ``2 significant figures``."""
    g = ws.spec.grading
    if g.sigfigs:
        return f"{g.sigfigs} significant figures"
    return f"max({g.atol:g}, {g.rtol:g}·|answer|)"


def sheet_document(ws: Worksheet, v: VariantView, *, key: bool) -> Document:
    """One variant's student sheet (``key=False``) or answer key, as blocks (see the module docstring)."""
    doc = Document(ws.title, v.id, key, any(p.graph.is_tensor for p in ws.spec.parts))
    add = doc.blocks.append
    add(Title(ws.title + (" — answer key" if key else ""), v.id, fields=not key))
    if ws.spec.instructions and not key:
        add(Paragraph(ws.spec.instructions.strip(), written=True))
    add(Paragraph(f"Total: {ws.total_points:g} points. Numbers to {ws.spec.grading.decimals} decimals.", "note"))
    by_part: dict[int, list[QuestionView]] = {}
    for q in ws.questions:
        by_part.setdefault(q.part, []).append(q)
    for p, questions in by_part.items():
        part = ws.spec.parts[p]
        pv = v.parts[p]
        tensor = part.graph.is_tensor
        if len(ws.spec.parts) > 1 or part.title:
            add(Heading(f"Part {p + 1}" + (f": {part.title}" if part.title else ""), 2, written=part.title))
        if part.description.strip():
            add(Paragraph(part.description.strip(), written=True))
        add(Program(part.program))
        add(Point(dict(pv.at), tensor))
        svg = pv.pictures.solution_svg if key else pv.pictures.student_svg
        if svg is not None:
            add(Picture(svg, picture_name(v, p, key), f"{'solution' if key else 'graph with numbered blanks'}, "
                        f"variant {v.id}", tensor))
        elif any(q.type in ("forward", "backward") for q in questions):
            add(Paragraph("(The picture needs gradlab's renderer; the blanks are listed below.)", "missing"))
        for q in questions:
            add(Heading(f"Question {q.id} ({q.points:g} point{'s' * (q.points != 1)}). {q.title}", 3))
            doc.blocks += _question(ws, q, v, key=key)
    if key:
        add(Grading(tolerance_words(ws)))
    return doc


def _question(ws: Worksheet, q: QuestionView, v: VariantView, *, key: bool) -> list[Block]:
    part = ws.spec.parts[q.part]
    g = part.graph
    blocks: list[Block] = []
    if q.type in ("forward", "backward"):
        if g.is_tensor:
            blocks.append(Paragraph(ENTRIES_NOTE, "note"))
        blocks.append(AnswerTable(answer_rows(q, v, key=key), entries=g.is_tensor, key=key))
    elif q.type == "symbolic":
        if not key:
            blocks.append(NamesNote(list(g.inputs), list(ws.definitions[q.part]), dict(part.aliases)))
        blocks.append(Formulas([FormulaBox(item_partial(ws, q, it), ws.formulas[it.id] if key else None)
                                for it in q.items], matrices=False))
    elif q.type == "matrix":
        if not key:
            blocks.append(Paragraph(matrix_note(ws, q.part), "note"))
        blocks.append(Formulas([FormulaBox(item_partial(ws, q, it), ws.matrices[it.id] if key else None,
                                           g.shape(it.wrt or "")) for it in q.items], matrices=True))
    elif q.type == "numeric":
        blocks.append(Numbers([NumberBox(item_partial(ws, q, it), v.answers[it.id].text if key else None)
                               for it in q.items]))
    return blocks


__all__ = ["Document", "Block", "Title", "Heading", "Paragraph", "Program", "Point", "Picture", "AnswerRow",
           "AnswerTable", "NamesNote", "Partial", "FormulaBox", "Formulas", "NumberBox", "Numbers", "Grading",
           "sheet_document", "answer_rows", "item_partial", "picture_name", "where", "tolerance_words"]
