"""Self-contained HTML sheets: pictures inlined (data URIs), math as MathML; no CDN, no network.

One file per sheet and per key, and one file with every sheet (page breaks between them) that
Chromium prints to PDF.
"""

from __future__ import annotations

import base64

from .mathtext import _math, esc, mathml, name_mathml, partial_mathml, partial_mathml_inner, value_text
from .matrixtext import matrix_mathml_inner, name_mathml_inner, shape_words, value_mathml_inner
from .questions import ENTRIES_NOTE, QuestionView, VariantView, Worksheet, matrix_note

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
@page { size: A4; margin: 16mm 14mm; }
"""


#: A tensor graph's picture is long (a dozen gates in a row): it gets the width of the window rather
#: than the text column's, and printed pages are landscape.
WIDE_CSS = """
figure.wide { width: calc(100vw - 2rem); max-width: 96rem; position: relative; left: 50%; transform: translateX(-50%); }
@page { size: A4 landscape; }
"""


def page(title: str, body: str, *, wide: bool = False) -> str:
    """A complete HTML document around ``body`` (``wide``: room for long pictures, see :data:`WIDE_CSS`)."""
    css = CSS + (WIDE_CSS if wide else "")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{esc(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def _wide(ws: Worksheet) -> bool:
    return any(p.graph.is_tensor for p in ws.spec.parts)


def _img(svg: str, alt: str, wide: bool = False) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    cls = ' class="wide"' if wide else ""
    return f'<figure{cls}><img alt="{esc(alt)}" src="data:image/svg+xml;base64,{data}"></figure>'


def _values(at: dict[str, float]) -> str:
    return ", ".join(f"{name_mathml(n)} = {esc(value_text(x))}" for n, x in at.items())


def _tensor_values(at: dict) -> str:
    """The point of a tensor graph: each input as a bracketed column or matrix, side by side."""
    cells = [_math(f"<mrow>{name_mathml_inner(n)}<mo>=</mo>{value_mathml_inner(x)}</mrow>") for n, x in at.items()]
    return '<p>At the point (vectors are columns):</p><p class="point">' + " ".join(cells) + "</p>"


def _entry_partial(out: str, entry: str) -> str:
    return (f"<mfrac><mrow><mo>∂</mo>{name_mathml_inner(out)}</mrow>"
            f"<mrow><mo>∂</mo>{name_mathml_inner(entry)}</mrow></mfrac>")


def _names_note(ws: Worksheet, p: int) -> str:
    spec = ws.spec.parts[p]
    g = spec.graph
    named = list(ws.definitions[p])
    parts = ["the inputs " + ", ".join(name_mathml(n) for n in g.inputs)]
    if named:
        parts.append("the names " + ", ".join(name_mathml(n) for n in named) + " of the program")
    aliases = "; ".join(f"{esc(a)} for {esc(t)}" for a, t in spec.aliases.items())
    if aliases:
        parts.append(aliases)
    return ('<p class="note">Write each answer as a formula in ' + ", ".join(parts) +
            ". You may write σ or sigmoid, exp, log, tanh, ^ for powers and 2w0 for 2·w0.</p>")


def sheet_section(ws: Worksheet, v: VariantView, *, key: bool) -> str:
    """One sheet (or key) as a ``<section>``."""
    title = ws.title + (" — answer key" if key else "")
    who = "" if key else "<span>Name: <span class=\"fill\"></span></span><span>Student id: <span class=\"fill\" " \
                         "style=\"min-width:7rem\"></span></span>"
    out = [f'<section class="sheet{" key" if key else ""}" id="variant-{esc(v.id)}">',
           f'<div class="head"><h1>{esc(title)}</h1><span class="variant">Variant {esc(v.id)}</span>{who}</div>']
    if ws.spec.instructions and not key:
        out.append(f"<p>{esc(ws.spec.instructions.strip())}</p>")
    out.append(f'<p class="note">Total: {ws.total_points:g} points. Numbers to {ws.spec.grading.decimals} decimals.</p>')
    by_part: dict[int, list[QuestionView]] = {}
    for q in ws.questions:
        by_part.setdefault(q.part, []).append(q)
    for p, questions in by_part.items():
        part = ws.spec.parts[p]
        pv = v.parts[p]
        if len(ws.spec.parts) > 1 or part.title:
            out.append(f"<h2>Part {p + 1}{': ' + esc(part.title) if part.title else ''}</h2>")
        if part.description.strip():
            out.append(f"<p>{esc(part.description.strip())}</p>")
        out.append(f'<pre class="program">{esc(part.program)}</pre>')
        out.append(_tensor_values(pv.at) if part.graph.is_tensor else f"<p>At {_values(pv.at)}.</p>")
        svg = pv.pictures.solution_svg if key else pv.pictures.student_svg
        if svg is not None:
            out.append(_img(svg, f"{'solution' if key else 'graph with numbered blanks'}, variant {v.id}",
                            wide=part.graph.is_tensor))
        elif any(q.type in ("forward", "backward") for q in questions):
            out.append('<p class="missing">(The picture needs gradlab\'s renderer; the blanks are listed below.)</p>')
        for q in questions:
            out.append(f"<h3>Question {esc(q.id)} ({q.points:g} point{'s' * (q.points != 1)}). {esc(q.title)}</h3>")
            if q.type in ("forward", "backward") and part.graph.is_tensor:
                out.append(f'<p class="note">{esc(ENTRIES_NOTE)}</p>')
                out.append("<table><tr><th>box</th><th>blank</th><th>entry</th><th>where</th>"
                           f"<th>{'answer' if key else 'your answer'}</th></tr>")
                for it in q.items:
                    where = it.plain.split(" on ", 1)[1] if " on " in it.plain else it.plain
                    ans = esc(v.answers[it.id].text) if key else ""
                    out.append(f'<tr><td class="box">{esc(it.id)}</td><td>({it.blank})</td>'
                               f'<td>{esc(it.entry_text or "–")}</td><td>{esc(where)}</td>'
                               f'<td class="answer">{ans}</td></tr>')
                out.append("</table>")
            elif q.type in ("forward", "backward"):
                out.append(f"<table><tr><th>blank</th><th>where</th><th>{'answer' if key else 'your answer'}</th></tr>")
                for it in q.items:
                    where = it.plain.split(" on ", 1)[1] if " on " in it.plain else it.plain
                    ans = esc(v.answers[it.id].text) if key else ""
                    out.append(f'<tr><td>({it.blank})</td><td>{esc(where)}</td><td class="answer">{ans}</td></tr>')
                out.append("</table>")
            elif q.type == "symbolic":
                if not key:
                    out.append(_names_note(ws, p))
                out.append('<ol class="partials">')
                for it in q.items:
                    if key:
                        out.append(f"<li>{partial_mathml(part.graph.output, it.wrt or '', ws.formulas[it.id])}</li>")
                    else:
                        out.append(f'<li>{partial_mathml(part.graph.output, it.wrt or "")} = '
                                   '<span class="formula-box"></span></li>')
                out.append("</ol>")
            elif q.type == "matrix":
                if not key:
                    out.append(f'<p class="note">{esc(matrix_note(ws, p))}</p>')
                out.append('<ol class="partials matrices">')
                for it in q.items:
                    lhs = partial_mathml_inner(part.graph.output, it.wrt or "")
                    if key:
                        out.append(f"<li>{_math(f'<mrow>{lhs}<mo>=</mo>{matrix_mathml_inner(ws.matrices[it.id])}</mrow>')}"
                                   "</li>")
                    else:
                        shape = shape_words(part.graph.shape(it.wrt or ""))
                        out.append(f'<li>{_math(lhs)} = <span class="shape">({esc(shape)}, the shape of '
                                   f'{name_mathml(it.wrt or "")})</span><span class="formula-box"></span></li>')
                out.append("</ol>")
            elif q.type == "numeric":
                out.append('<ol class="partials">')
                for it in q.items:
                    ans = f"<b>{esc(v.answers[it.id].text)}</b>" if key else '<span class="fill"></span>'
                    lhs = (_math(_entry_partial(part.graph.output, it.entry_text)) if it.entry is not None
                           else partial_mathml(part.graph.output, it.wrt or ''))
                    out.append(f"<li>{lhs} at this point = {ans}</li>")
                out.append("</ol>")
    out.append("</section>")
    return "\n".join(out)


def sheet(ws: Worksheet, v: VariantView, *, key: bool) -> str:
    """One variant's sheet or key as a complete, self-contained HTML file."""
    return page(f"{ws.title} — variant {v.id}{' (key)' if key else ''}", sheet_section(ws, v, key=key), wide=_wide(ws))


def all_sheets(ws: Worksheet, *, key: bool) -> str:
    """Every variant's sheet (or key) in one document, one per printed page (for the PDF)."""
    return page(f"{ws.title} — {'answer keys' if key else 'student sheets'}",
                "\n".join(sheet_section(ws, v, key=key) for v in ws.variants), wide=_wide(ws))


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


__all__ = ["sheet", "all_sheets", "index", "page", "mathml"]
