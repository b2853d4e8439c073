"""Self-contained HTML sheets: pictures inlined (data URIs), math as MathML; no CDN, no network.

The HTML format prints the blocks of :mod:`gradlab.worksheet.document`, math as MathML: one file
per sheet and per key, and one file with every sheet (page breaks between them) that Chromium
prints to PDF (:mod:`gradlab.worksheet.pdf`).

>>> from gradlab.worksheet import build_worksheet, spec_from_program
>>> ws = build_worksheet(spec_from_program("f = x*y"), variants=1, seed=1, pictures=False)
>>> sheet_section(ws, ws.variants[0], key=True).splitlines()[0]
'<section class="sheet key" id="variant-1">'
"""

from __future__ import annotations

import base64
import html
from functools import singledispatch
from typing import Any

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
    sheet_document,
)
from .format import Files, Format, Job
from .mathtext import _math, esc, mathml, mathml_inner, name_mathml, partial_mathml_inner, value_text
from .matrixtext import (
    entry_partial_mathml_inner,
    matrix_mathml_inner,
    name_mathml_inner,
    shape_words,
    value_mathml_inner,
)
from .questions import VariantView, Worksheet
from .strips import print_strips

CSS = """
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; font-size: 11pt; color: #111;
       max-width: 52rem; margin: 1.5rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.45rem; margin: 0 0 .3rem; } h2 { font-size: 1.15rem; margin: 1.2rem 0 .4rem; }
h3 { font-size: 1rem; margin: 1rem 0 .35rem; }
.head { display: flex; justify-content: space-between; align-items: baseline; border-bottom: 2px solid #333;
        padding-bottom: .3rem; margin-bottom: .6rem; gap: 1rem; flex-wrap: wrap; }
.variant { font-weight: bold; border: 2px solid #333; padding: .1rem .5rem; border-radius: .3rem; }
.fill { display: inline-block; min-width: 11rem; border-bottom: 1px solid #333; height: 1.1rem; }
.formula-box { display: block; border: 1px solid #999; border-radius: .3rem; min-height: 2.4rem; margin: .2rem 0 .7rem; }
pre.program { background: #f5f5f5; border: 1px solid #ddd; padding: .5rem .7rem; border-radius: .3rem; }
figure { margin: .6rem 0; text-align: center; } figure img { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: .3rem 0 .8rem; }
th, td { border: 1px solid #bbb; padding: .25rem .6rem; text-align: left; vertical-align: middle; }
td.answer { min-width: 8rem; } .key td.answer { font-weight: bold; color: #0a5; }
ol.partials li { margin: .35rem 0; } .note { color: #444; font-size: .92em; }
.missing { color: #a00; font-style: italic; }
.point { margin: .4rem 0 .6rem; } .point math { margin-right: 1.2rem; }
td.box { color: #555; font-size: .9em; } .shape { color: #555; font-size: .92em; }
ol.matrices li { margin: .5rem 0; } ol.matrices math { font-size: 1.3em; }
math { font-size: 1.1em; }
.sheet + .sheet { margin-top: 3rem; }
@media print { body { margin: 0 auto; } .sheet { break-after: page; } .sheet:last-child { break-after: auto; } }
h1, h2, h3 { break-after: avoid; break-inside: avoid; }
figure.strips { display: none; break-inside: auto; } figure.strips img { break-inside: avoid; display: block; margin: .15rem auto; max-width: none; }
figure.strips img + img { border-top: 1px dashed #999; padding-top: .3rem; }
@media print { figure[data-print="strips"] { display: none; } figure.strips { display: block; } }
figure, table, tr, .point, ol.partials li, pre.program, p.note { break-inside: avoid; }
@page { size: A4; margin: 16mm 14mm 20mm; }
"""


#: A tensor graph's picture is long (a dozen gates in a row): it gets the width of the window rather
#: than the text column's, and printed pages are landscape.
WIDE_CSS = """
figure.wide { width: calc(100vw - 2rem); max-width: 96rem; position: relative; left: 50%; transform: translateX(-50%); }
@page { size: A4 landscape; margin: 10mm 12mm 15mm; }
"""


def page(title: str, body: str, *, wide: bool = False) -> str:
    """A complete HTML document around ``body`` (``wide``: room for long pictures, see :data:`WIDE_CSS`)."""
    css = CSS + (WIDE_CSS if wide else "")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{esc(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def _wide(ws: Worksheet) -> bool:
    return any(p.graph.is_tensor for p in ws.spec.parts)


def _img(svg: str, alt: str, wide: bool = False, attrs: str = "") -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    cls = ' class="wide"' if wide else ""
    return f'<figure{cls}{attrs}><img alt="{esc(alt)}" src="data:image/svg+xml;base64,{data}"></figure>'


def partial_inner(p: Partial) -> str:
    """∂a/∂x0 as MathML (inside a ``<math>``); an entry ``∂L/∂B₁,₂``."""
    return entry_partial_mathml_inner(p.of, p.wrt) if p.entry else partial_mathml_inner(p.of, p.wrt)


@singledispatch
def block(b: Any) -> str:
    """One block as HTML (empty: the block is not shown in HTML)."""
    raise TypeError(f"the HTML format cannot print a {type(b).__name__}")  # pragma: no cover - every block


@block.register
def _(b: Title) -> str:
    who = ('<span>Name: <span class="fill"></span></span><span>Student id: <span class="fill" '
           'style="min-width:7rem"></span></span>') if b.fields else ""
    return (f'<div class="head"><h1>{esc(b.text)}</h1><span class="variant">Variant {esc(b.variant)}</span>{who}'
            "</div>")


@block.register
def _(b: Heading) -> str:
    return f"<h{b.level}>{esc(b.text)}</h{b.level}>"


@block.register
def _(b: Paragraph) -> str:
    if b.style == "missing":
        return f'<p class="missing">{html.escape(b.text, quote=False)}</p>'
    return f'<p class="note">{esc(b.text)}</p>' if b.style == "note" else f"<p>{esc(b.text)}</p>"


@block.register
def _(b: Program) -> str:
    return f'<pre class="program">{esc(b.text)}</pre>'


@block.register
def _(b: Point) -> str:
    if b.tensor:  # each input as a bracketed column or matrix, side by side
        cells = [_math(f"<mrow>{name_mathml_inner(n)}<mo>=</mo>{value_mathml_inner(x)}</mrow>")
                 for n, x in b.values.items()]
        return '<p>At the point (vectors are columns):</p><p class="point">' + " ".join(cells) + "</p>"
    return "<p>At " + ", ".join(f"{name_mathml(n)} = {esc(value_text(x))}" for n, x in b.values.items()) + ".</p>"


#: The width of a printed page's text (pt): A4 less the margins of :data:`CSS`, portrait and landscape.
TEXT_WIDTH_PT = {False: 515.0, True: 760.0}


@block.register
def _(b: Picture) -> str:
    parts = print_strips(b.svg, TEXT_WIDTH_PT[b.wide])
    if not parts:
        return _img(b.svg, b.alt, wide=b.wide)
    screen = _img(b.svg, b.alt, wide=b.wide, attrs=' data-print="strips"')
    strips = "\n".join(f'<img alt="{esc(b.alt)}, part {k} of {len(parts)}" style="width: {w:.0f}pt" '
                       f'src="data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode("ascii")}">'
                       for k, (svg, w) in enumerate(parts, start=1))
    return (f'{screen}\n<figure class="strips">{strips}\n<figcaption>The picture in {len(parts)} rows, left to '
            "right: each row continues the one above.</figcaption></figure>")


@block.register
def _(b: AnswerTable) -> str:
    answer = "answer" if b.key else "your answer"
    if b.entries:
        lines = [f"<table><tr><th>box</th><th>blank</th><th>entry</th><th>where</th><th>{answer}</th></tr>"]
        lines += [f'<tr><td class="box">{esc(r.box)}</td><td>({r.blank})</td><td>{esc(r.entry)}</td>'
                  f'<td>{esc(r.where)}</td><td class="answer">{esc(r.answer)}</td></tr>' for r in b.rows]
    else:
        lines = [f"<table><tr><th>blank</th><th>where</th><th>{answer}</th></tr>"]
        lines += [f'<tr><td>({r.blank})</td><td>{esc(r.where)}</td><td class="answer">{esc(r.answer)}</td></tr>'
                  for r in b.rows]
    return "\n".join([*lines, "</table>"])


@block.register
def _(b: NamesNote) -> str:
    parts = ["the inputs " + ", ".join(name_mathml(n) for n in b.inputs)]
    if b.names:
        parts.append("the names " + ", ".join(name_mathml(n) for n in b.names) + " of the program")
    aliases = "; ".join(f"{esc(a)} for {esc(t)}" for a, t in b.aliases.items())
    if aliases:
        parts.append(aliases)
    return ('<p class="note">Write each answer as a formula in ' + ", ".join(parts) +
            ". You may write σ or sigmoid, exp, log, tanh, ^ for powers and 2w0 for 2·w0.</p>")


@block.register
def _(b: Formulas) -> str:
    lines = ['<ol class="partials matrices">' if b.matrices else '<ol class="partials">']
    for box in b.boxes:
        lhs = partial_inner(box.partial)
        if box.answer is not None:
            rhs = matrix_mathml_inner(box.answer) if b.matrices else mathml_inner(box.answer)
            lines.append(f"<li>{_math(f'<mrow>{lhs}<mo>=</mo>{rhs}</mrow>')}</li>")
            continue
        shape = ("" if box.shape is None else f'<span class="shape">({esc(shape_words(box.shape))}, the shape of '
                 f"{name_mathml(box.partial.wrt)})</span>")
        lines.append(f'<li>{_math(lhs)} = {shape}<span class="formula-box"></span></li>')
    return "\n".join([*lines, "</ol>"])


@block.register
def _(b: Numbers) -> str:
    lines = ['<ol class="partials">']
    for box in b.boxes:
        ans = '<span class="fill"></span>' if box.answer is None else f"<b>{esc(box.answer)}</b>"
        lines.append(f"<li>{_math(partial_inner(box.partial))} at this point = {ans}</li>")
    return "\n".join([*lines, "</ol>"])


@block.register
def _(b: Grading) -> str:
    return ""  # the HTML key ends with its answers


def section(doc: Document) -> str:
    """A document as a ``<section>`` (one printed page each)."""
    out = [f'<section class="sheet{" key" if doc.key else ""}" id="variant-{esc(doc.variant)}">']
    out += [text for text in map(block, doc.blocks) if text]
    out.append("</section>")
    return "\n".join(out)


def sheet_section(ws: Worksheet, v: VariantView, *, key: bool) -> str:
    """One sheet (or key) as a ``<section>``."""
    return section(sheet_document(ws, v, key=key))


def _title(doc: Document) -> str:
    return f"{doc.title} — variant {doc.variant}{' (key)' if doc.key else ''}"


def render(doc: Document) -> str:
    """A document as a complete, self-contained HTML file."""
    return page(_title(doc), section(doc), wide=doc.wide)


def sheet(ws: Worksheet, v: VariantView, *, key: bool) -> str:
    """One variant's sheet or key as a complete, self-contained HTML file."""
    return render(sheet_document(ws, v, key=key))


def all_documents(ws: Worksheet, docs: list[Document], *, key: bool) -> str:
    """Every document in one file, one per printed page (for the PDF)."""
    return page(f"{ws.title} — {'answer keys' if key else 'student sheets'}", "\n".join(map(section, docs)),
                wide=any(d.wide for d in docs))


def all_sheets(ws: Worksheet, *, key: bool) -> str:
    """Every variant's sheet (or key) in one document, one per printed page (for the PDF)."""
    return all_documents(ws, [sheet_document(ws, v, key=key) for v in ws.variants], key=key)


def index(ws: Worksheet, pdf: bool) -> str:
    """The index page: every variant with links to its sheet and key."""
    rows = "\n".join(
        f'<tr><td>{esc(v.id)}</td><td><a href="html/sheet-{esc(v.id)}.html">HTML</a> · '
        f'<a href="markdown/sheet-{esc(v.id)}.md">Markdown</a></td>'
        f'<td><a href="html/key-{esc(v.id)}.html">HTML</a> · <a href="markdown/key-{esc(v.id)}.md">Markdown</a></td></tr>'
        for v in ws.variants)
    pdfs = ('<p>All sheets: <a href="students.pdf">students.pdf</a> · all keys: <a href="keys.pdf">keys.pdf</a></p>'
            if pdf else "")
    body = (f"<h1>{esc(ws.title)}</h1><p>{len(ws.variants)} variants, seed {ws.seed}, {ws.total_points:g} points each. "
            f"Answer key for grading: <a href=\"key.json\">key.json</a>; Moodle: <a href=\"moodle.xml\">moodle.xml</a>; "
            f"responses template: <a href=\"responses-template.csv\">responses-template.csv</a>.</p>{pdfs}"
            f"<table><tr><th>variant</th><th>student sheet</th><th>answer key</th></tr>{rows}</table>")
    return page(ws.title, body)


def _files(job: Job) -> Files:
    return {f"html/{'key' if key else 'sheet'}-{v.id}.html": render(job.document(v, key=key))
            for v in job.ws.variants for key in (False, True)}


FORMAT = Format("html", _files, "html/sheet-07.html, key-07.html: self-contained, math as MathML",
                index=lambda job: ("index.html", index(job.ws, "pdf" in job.formats)))


__all__ = ["FORMAT", "sheet", "sheet_section", "section", "render", "block", "all_sheets", "all_documents", "index",
           "page", "mathml"]
