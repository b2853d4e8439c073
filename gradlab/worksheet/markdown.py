"""Student sheets and answer keys as Markdown with GitHub math (``$...$``), pictures beside them."""

from __future__ import annotations

from ..safetext import markdown_text
from .mathtext import latex, number, partial_latex, value_text
from .matrixtext import matrix_latex, shape_words, value_latex
from .questions import ENTRIES_NOTE, QuestionView, VariantView, Worksheet, matrix_note


def _values_latex(at: dict[str, float]) -> str:
    import sympy as sp

    return ", ".join(f"${sp.latex(sp.Symbol(n))} = {value_text(x)}$" for n, x in at.items())


def _names_note(ws: Worksheet, part: int) -> str:
    spec = ws.spec.parts[part]
    g = spec.graph
    named = [n for n in ws.definitions[part]]
    words = [f"the inputs {', '.join(g.inputs)}"]
    if named:
        words.append(f"the names {', '.join(named)} of the program")
    aliases = [f"{a} for {t}" for a, t in spec.aliases.items()]
    if aliases:
        words.append("; ".join(aliases))
    return ("Write each answer as a formula in " + ", ".join(words) +
            ". You may write σ or sigmoid, exp, log, tanh, ^ for powers and 2w0 for 2·w0.")


def _tensor_values_latex(at: dict) -> str:
    """The point of a tensor graph as one display formula: ``x = [...]ᵀ, A = [...]`` (vectors are columns)."""
    import sympy as sp

    return r",\quad ".join(f"{sp.latex(sp.Symbol(n))} = {value_latex(x)}" for n, x in at.items())


def picture_name(v: VariantView, part: int, key: bool) -> str:
    return f"v{v.id}-part{part + 1}-{'solution' if key else 'blank'}.svg"


def sheet(ws: Worksheet, v: VariantView, *, key: bool) -> str:
    """One variant's student sheet (``key=False``) or answer key, as Markdown."""
    title = ws.title + (" — answer key" if key else "")
    out = [f"# {markdown_text(title)}", "", f"**Variant {v.id}**" + ("" if key else " · Name: ______________________ · "
                                                         "Student id: ____________"), ""]
    if ws.spec.instructions and not key:
        out += [markdown_text(ws.spec.instructions, paragraphs=True), ""]
    total = ws.total_points
    out += [f"Total: {total:g} points. Numbers to {ws.spec.grading.decimals} decimals.", ""]
    by_part: dict[int, list[QuestionView]] = {}
    for q in ws.questions:
        by_part.setdefault(q.part, []).append(q)
    for p, questions in by_part.items():
        part = ws.spec.parts[p]
        pv = v.parts[p]
        if len(ws.spec.parts) > 1 or part.title:
            out += [f"## Part {p + 1}" + (f": {markdown_text(part.title)}" if part.title else ""), ""]
        if part.description.strip():
            out += [markdown_text(part.description, paragraphs=True), ""]
        out += ["```text", part.program, "```", ""]
        if part.graph.is_tensor:
            out += ["At the point (vectors are columns)", "", "$$" + _tensor_values_latex(pv.at) + "$$", ""]
        else:
            out += ["At " + _values_latex(pv.at) + ".", ""]
        if pv.pictures.student_svg is not None:
            name = picture_name(v, p, key)
            out += [f"![{'solution' if key else 'graph with numbered blanks'}, variant {v.id}]({name})", ""]
        elif any(q.type in ("forward", "backward") for q in questions):
            out += ["*(The picture needs gradlab's renderer; the blanks are listed below.)*", ""]
        for q in questions:
            out += [f"### Question {q.id} ({q.points:g} point{'s' * (q.points != 1)}). {q.title}", ""]
            if q.type in ("forward", "backward") and part.graph.is_tensor:
                out += [ENTRIES_NOTE, "", "| box | blank | entry | where | " + ("answer |" if key else "your answer |"),
                        "|---|---|---|---|---|"]
                for it in q.items:
                    where = it.plain.split(" on ", 1)[1] if " on " in it.plain else it.plain
                    ans = v.answers[it.id].text if key else ""
                    out.append(f"| {it.id} | ({it.blank}) | {it.entry_text or '–'} | {where} | {ans} |")
                out.append("")
            elif q.type in ("forward", "backward"):
                out += ["| blank | where | " + ("answer |" if key else "your answer |"), "|---|---|---|"]
                for it in q.items:
                    where = it.plain.split(" on ", 1)[1] if " on " in it.plain else it.plain
                    ans = v.answers[it.id].text if key else ""
                    out.append(f"| ({it.blank}) | {where} | {ans} |")
                out.append("")
            elif q.type == "symbolic":
                if not key:
                    out += [_names_note(ws, p), ""]
                for j, it in enumerate(q.items, start=1):
                    rhs = latex(ws.formulas[it.id]) if key else r"\qquad"
                    out.append(f"{j}. ${partial_latex(part.graph.output, it.wrt or '')} = {rhs}$"
                               + ("" if key else " ______________________________"))
                out.append("")
            elif q.type == "matrix":
                if not key:
                    out += [matrix_note(ws, p), ""]
                for j, it in enumerate(q.items, start=1):
                    shape = shape_words(part.graph.shape(it.wrt or ""))
                    if key:
                        out.append(f"{j}. ${it.latex} = {matrix_latex(ws.matrices[it.id])}$")
                    else:
                        out.append(f"{j}. ${it.latex} = \\qquad$ ______________________________ ({shape}, the "
                                   f"shape of ${_name(it.wrt or '')}$)")
                out.append("")
            elif q.type == "numeric":
                for j, it in enumerate(q.items, start=1):
                    ans = v.answers[it.id].text if key else "______________"
                    lhs = it.latex if it.entry is not None else partial_latex(part.graph.output, it.wrt or '')
                    out.append(f"{j}. ${lhs}$ at this point $=$ {ans}")
                out.append("")
    if key:
        out += ["---", "", f"Graded by `gradlab grade` with key.json; numbers within ±{_tol(ws)}.", ""]
    return "\n".join(out)


def _name(n: str) -> str:
    import sympy as sp

    return sp.latex(sp.Symbol(n))


def _tol(ws: Worksheet) -> str:
    g = ws.spec.grading
    if g.sigfigs:
        return f"{g.sigfigs} significant figures"
    return f"max({g.atol:g}, {g.rtol:g}·|answer|)"


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


__all__ = ["sheet", "index", "picture_name", "number"]
