"""The Markdown format: sheets and keys with GitHub math (``$...$``), the pictures beside them.

Prints the blocks of :mod:`gradlab.worksheet.document`; math as LaTeX.

>>> from gradlab.worksheet import build_worksheet, spec_from_program
>>> ws = build_worksheet(spec_from_program("f = x*y"), variants=1, seed=1, pictures=False)
>>> print(sheet(ws, ws.variants[0], key=True).splitlines()[-1])
Graded by `gradlab grade` with key.json; numbers within ±max(0.005, 0.01·|answer|).
"""

from __future__ import annotations

from functools import singledispatch
from typing import Any

from ..safetext import markdown_text
from .document import (
    AnswerTable,
    Document,
    Formulas,
    Grading,
    Heading,
    NamesNote,
    Numbers,
    Paragraph,
    Partial,
    Picture,
    Point,
    Program,
    Title,
    picture_name,
    sheet_document,
)
from .format import Files, Format, Job
from .mathtext import latex, number, partial_latex
from .matrixtext import assignment_latex, entry_partial_latex, matrix_latex, shape_words
from .questions import VariantView, Worksheet


def partial_tex(p: Partial) -> str:
    r"""``\frac{\partial a}{\partial x_{0}}``; an entry ``\frac{\partial L}{\partial B_{1,2}}``."""
    return entry_partial_latex(p.of, p.wrt) if p.entry else partial_latex(p.of, p.wrt)


def _name(n: str) -> str:
    import sympy as sp

    return sp.latex(sp.Symbol(n))


@singledispatch
def block(b: Any) -> str:
    """One block as Markdown (no blank line after it)."""
    raise TypeError(f"the Markdown format cannot print a {type(b).__name__}")  # pragma: no cover - every block


@block.register
def _(b: Title) -> str:
    fields = " · Name: ______________________ · Student id: ____________" if b.fields else ""
    return f"# {markdown_text(b.text)}\n\n**Variant {b.variant}**{fields}"


@block.register
def _(b: Heading) -> str:
    return "#" * b.level + " " + b.text[: len(b.text) - len(b.written)] + markdown_text(b.written)


@block.register
def _(b: Paragraph) -> str:
    if b.written:
        return markdown_text(b.text, paragraphs=True)
    return f"*{b.text}*" if b.style == "missing" else b.text


@block.register
def _(b: Program) -> str:
    return f"```text\n{b.text}\n```"


@block.register
def _(b: Point) -> str:
    if b.tensor:
        return "At the point (vectors are columns)\n\n$$" + r",\quad ".join(
            assignment_latex(n, x) for n, x in b.values.items()) + "$$"
    return "At " + ", ".join(f"${assignment_latex(n, x)}$" for n, x in b.values.items()) + "."


@block.register
def _(b: Picture) -> str:
    return f"![{b.alt}]({b.name})"


@block.register
def _(b: AnswerTable) -> str:
    head = "answer |" if b.key else "your answer |"
    if b.entries:
        lines = ["| box | blank | entry | where | " + head, "|---|---|---|---|---|"]
        lines += [f"| {r.box} | ({r.blank}) | {r.entry} | {r.where} | {r.answer} |" for r in b.rows]
    else:
        lines = ["| blank | where | " + head, "|---|---|---|"]
        lines += [f"| ({r.blank}) | {r.where} | {r.answer} |" for r in b.rows]
    return "\n".join(lines)


@block.register
def _(b: NamesNote) -> str:
    words = [f"the inputs {', '.join(b.inputs)}"]
    if b.names:
        words.append(f"the names {', '.join(b.names)} of the program")
    aliases = [f"{a} for {t}" for a, t in b.aliases.items()]
    if aliases:
        words.append("; ".join(aliases))
    return ("Write each answer as a formula in " + ", ".join(words) +
            ". You may write σ or sigmoid, exp, log, tanh, ^ for powers and 2w0 for 2·w0.")


@block.register
def _(b: Formulas) -> str:
    lines = []
    for j, box in enumerate(b.boxes, start=1):
        lhs = partial_tex(box.partial)
        if box.answer is not None:
            lines.append(f"{j}. ${lhs} = {matrix_latex(box.answer) if b.matrices else latex(box.answer)}$")
            continue
        shape = "" if box.shape is None else f" ({shape_words(box.shape)}, the shape of ${_name(box.partial.wrt)}$)"
        lines.append(f"{j}. ${lhs} = \\qquad$ ______________________________{shape}")
    return "\n".join(lines)


@block.register
def _(b: Numbers) -> str:
    return "\n".join(f"{j}. ${partial_tex(box.partial)}$ at this point $=$ "
                     f"{'______________' if box.answer is None else box.answer}"
                     for j, box in enumerate(b.boxes, start=1))


@block.register
def _(b: Grading) -> str:
    return f"---\n\nGraded by `gradlab grade` with key.json; numbers within ±{b.tolerance}."


def render(doc: Document) -> str:
    """A document as Markdown: its blocks, a blank line after each."""
    return "".join(block(b) + "\n\n" for b in doc.blocks)[:-1]


def sheet(ws: Worksheet, v: VariantView, *, key: bool) -> str:
    """One variant's student sheet (``key=False``) or answer key, as Markdown."""
    return render(sheet_document(ws, v, key=key))


def index(ws: Worksheet, pdf: bool) -> str:
    """The index page: every variant with links to its sheet and key."""
    out = [f"# {markdown_text(ws.title)}", "", f"{len(ws.variants)} variants, seed {ws.seed}, {ws.total_points:g} points each. "
           "Grade with `gradlab grade RESPONSES.csv --key key.json -o report/`.", ""]
    if pdf:
        out += ["All sheets: [students.pdf](students.pdf) · all keys: [keys.pdf](keys.pdf)", ""]
    out += ["| variant | sheet | key |", "|---|---|---|"]
    for v in ws.variants:
        out.append(f"| {v.id} | [Markdown](markdown/sheet-{v.id}.md) · [HTML](html/sheet-{v.id}.html) | "
                   f"[Markdown](markdown/key-{v.id}.md) · [HTML](html/key-{v.id}.html) |")
    return "\n".join(out) + "\n"


def _files(job: Job) -> Files:
    files: Files = {}
    for v in job.ws.variants:
        for key in (False, True):
            doc = job.document(v, key=key)
            files[f"markdown/{'key' if key else 'sheet'}-{v.id}.md"] = render(doc)
            files.update((f"markdown/{b.name}", b.svg) for b in doc.blocks if isinstance(b, Picture))
    return files


FORMAT = Format("markdown", _files, "markdown/sheet-07.md, key-07.md with GitHub math, the pictures beside them",
                index=lambda job: ("index.md", index(job.ws, "pdf" in job.formats)))


__all__ = ["FORMAT", "sheet", "render", "block", "index", "picture_name", "partial_tex", "number"]
