"""Moodle XML export: one category per worksheet (a sub-category per question), one question per variant.

* a numeric partial -> a Moodle ``numerical`` question: the answer with the worksheet's grading
  tolerance (``max(atol, rtol·|answer|)``, or half a unit of the last significant figure), and the
  generated wrong answers (sign error, missing chain-rule factor, ...) as further answers with
  feedback naming the mistake and the partial credit of the spec;
* a blank picture (forward or backward values) -> a ``cloze`` question with one NUMERICAL blank
  per numbered blank (the same tolerance and named wrong answers), the picture embedded;
* a symbolic partial needs a computer-algebra question type: with ``symbolic="stack"`` it is a
  STACK question (:mod:`gradlab.worksheet.stack`: Maxima checks the answer, each generated mistake
  named, partial credit as in the spec); otherwise, and for a formula Maxima cannot say, an ``essay``
  question for manual grading with the model answer in the grader information; or left out
  (``symbolic="skip"``). A matrix formula (a gradient of a tensor graph) is an essay (or left out);
* a tensor graph's blanks and numeric entries are numbers like any other: one NUMERICAL blank per
  entry, one ``numerical`` question per entry of a gradient.

Pictures are embedded as ``<file name=... encoding="base64">`` in the question text and shown with
``@@PLUGINFILE@@/name``: SVG by default (the drawing's text, comments and tooltips left out: about
10 kB a picture), or PNG (``pictures="png"``, for a Moodle that does not show SVG: 16 shades, about
20 kB). Math is written ``\\( ... \\)`` for Moodle's MathJax filter. To give every student a variant at
random, add a "random question" from a question's sub-category to the quiz.
:func:`check_moodle_xml` checks a file against the structure Moodle's importer reads.
"""

from __future__ import annotations

import base64
import math
import re
import xml.etree.ElementTree as ET

from .document import item_partial, where
from .format import Files, Format, Job
from .markdown import partial_tex
from .mathtext import esc, latex
from .matrixtext import assignment_latex, matrix_latex
from .questions import ENTRIES_NOTE, ItemView, QuestionView, VariantView, Worksheet, matrix_note
from .stack import NotMaxima, StackAnswer, stack_answer, stack_question

#: The grades Moodle accepts for an answer (percent).
MOODLE_FRACTIONS = (100, 90, 83.33333, 80, 75, 70, 66.66667, 60, 50, 40, 33.33333, 30, 25, 20, 16.66667, 14.28571,
                    12.5, 11.11111, 10, 5, 0)
QUESTION_TYPES = ("category", "numerical", "cloze", "essay", "stack")
SYMBOLIC = ("essay", "stack", "skip")
PICTURES = ("svg", "png")


def _fraction(credit: float) -> str:
    pct = 100.0 * max(0.0, min(1.0, credit))
    best = min(MOODLE_FRACTIONS, key=lambda f: abs(f - pct))
    return f"{best:g}"


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _text(tag: str, html: str, fmt: str = "html", files: str = "") -> str:
    return f'<{tag} format="{fmt}"><text>{_cdata(html)}</text>{files}</{tag}>'


def _tolerance(ws: Worksheet, value: float) -> float:
    g = ws.spec.grading
    if g.sigfigs and value != 0:
        return 0.5 * 10.0 ** (math.floor(math.log10(abs(value))) - g.sigfigs + 1)
    return max(g.atol, g.rtol * abs(value))


def _num(x: float) -> str:
    return repr(float(round(x, 12)))


def _pictures(v: VariantView, p: int, fmt: str) -> tuple[str, str]:
    """The ``<img>`` for the question text and the ``<file>`` element that carries it."""
    pics = v.parts[p].pictures
    if fmt == "png":
        data = None if pics.student_png is None else small_png(pics.student_png)
    else:
        data = None if pics.student_svg is None else small_svg(pics.student_svg).encode("utf-8")
    if data is None:
        return "", ""
    name = f"v{v.id}-part{p + 1}.{fmt}"
    img = f'<p><img src="@@PLUGINFILE@@/{name}" alt="graph, variant {esc(v.id)}" style="max-width:100%"></p>'
    return img, f'<file name="{name}" path="/" encoding="base64">{base64.b64encode(data).decode("ascii")}</file>'


def small_svg(svg: str) -> str:
    """A Graphviz SVG without what a reader never sees: the XML prolog and doctype, comments, tooltips
    (``<title>``), ids and classes, the whitespace between elements; coordinates to a tenth of a point,
    and the font named once.

    >>> small_svg('<?xml version="1.0"?>\\n<!-- x -->\\n<svg width="9pt"><g id="a1" class="node">\\n<title>n1</title>'
    ...           '<text x="1.234" font-family="Sans">0.125</text>\\n</g></svg>')
    '<svg xmlns="http://www.w3.org/2000/svg" width="9pt"><style>text{font-family:Sans}</style><g><text x="1.2">0.125</text></g></svg>'
    """
    body = svg[svg.index("<svg"):] if "<svg" in svg else svg
    body = re.sub(r"<!--.*?-->", "", body, flags=re.DOTALL)
    body = re.sub(r"<title>[^<]*</title>", "", body)
    body = re.sub(r"(<g)(?: id=\"[^\"]*\"| class=\"[^\"]*\")+", r"\1", body)
    body = re.sub(r"<[^>]*>", lambda m: re.sub(r"(\d\.\d)\d+", r"\1", m.group(0)), body)  # in tags, not text
    fonts = set(re.findall(r' font-family="([^"]*)"', body))
    if len(fonts) == 1:
        body = body.replace(f' font-family="{next(iter(fonts))}"', "")
        body = re.sub(r"(<svg[^>]*>)", lambda m: m.group(1) + f"<style>text{{font-family:{next(iter(fonts))}}}</style>",
                      body, count=1)
    body = re.sub(r">\s+<", "><", body).strip()
    if "xmlns=" not in body[:body.index(">")]:  # a file of its own needs the namespace
        body = body.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
    return body


def small_png(png: bytes, colors: int = 16) -> bytes:
    """A PNG with a palette of ``colors`` shades (a drawing has few), compressed hard; the PNG as it was when
    Pillow is missing."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        return png
    import io

    with Image.open(io.BytesIO(png)) as im:
        small = im.convert("RGB").quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        out = io.BytesIO()
        small.save(out, format="PNG", optimize=True)
    return out.getvalue() if out.tell() < len(png) else png


def _intro(ws: Worksheet, v: VariantView, p: int) -> str:
    part = ws.spec.parts[p]
    if part.graph.is_tensor:
        at = r",\quad ".join(assignment_latex(n, x) for n, x in v.parts[p].at.items())
        return (f"<p>Variant {esc(v.id)}.</p><pre>{esc(part.program)}</pre><p>At the point (vectors are columns) "
                f"\\[{at}\\]</p>")
    at = ", ".join(f"\\({assignment_latex(n, x)}\\)" for n, x in v.parts[p].at.items())
    return (f"<p>Variant {esc(v.id)}.</p><pre>{esc(part.program)}</pre><p>At {at}.</p>")


def _header(name: str, idnumber: str, qtype: str) -> str:
    return f'<question type="{qtype}">\n<name><text>{esc(name)}</text></name>\n'


def _numerical(ws: Worksheet, q: QuestionView, v: VariantView, fmt: str) -> str:
    img, files = _pictures(v, q.part, fmt) if any(t.type in ("forward", "backward") for t in ws.questions
                                             if t.part == q.part) else ("", "")
    out = []
    for it in q.items:
        ans = v.answers[it.id]
        value = float(ans.value)  # type: ignore[arg-type]
        tol = _tolerance(ws, value)
        lhs = partial_tex(item_partial(ws, q, it))
        text = (_intro(ws, v, q.part) + img +
                f"<p>Give \\({lhs}\\) at this point "
                f"(to {ws.spec.grading.decimals} decimals).</p>")
        answers = [f'<answer fraction="100" format="moodle_auto_format"><text>{_num(value)}</text>'
                   f"<tolerance>{_num(tol)}</tolerance>{_text('feedback', 'Correct.')}</answer>"]
        for m in ans.mistakes:
            if m.value is None or abs(m.value - value) <= 2 * tol:
                continue
            credit = ws.spec.grading.partial.get(m.id, 0.0)
            answers.append(f'<answer fraction="{_fraction(credit)}" format="moodle_auto_format"><text>{_num(m.value)}'
                           f"</text><tolerance>{_num(_tolerance(ws, m.value))}</tolerance>"
                           f"{_text('feedback', esc(m.message))}</answer>")
        answers.append('<answer fraction="0" format="moodle_auto_format"><text>*</text><tolerance>0</tolerance>'
                       f"{_text('feedback', 'Not correct: follow the chain rule from the output back to the input.')}"
                       "</answer>")
        out.append(_header(f"{ws.title} Q{it.id} variant {v.id}", f"{it.id}-{v.id}", "numerical")
                   + _text("questiontext", text, files=files) + "\n"
                   + _text("generalfeedback", f"<p>The answer is {esc(ans.text)}.</p>") + "\n"
                   + f"<defaultgrade>{it.points:g}</defaultgrade>\n<penalty>0.3333333</penalty>\n<hidden>0</hidden>\n"
                   + f"<idnumber>{esc(_idnumber(ws, it.id, v.id))}</idnumber>\n" + "\n".join(answers) + "\n"
                   + "<unitgradingtype>0</unitgradingtype>\n<unitpenalty>0.1000000</unitpenalty>\n"
                   + "<showunits>3</showunits>\n<unitsleft>0</unitsleft>\n</question>")
    return "\n".join(out)


def _cloze_escape(text: str) -> str:
    return "".join("\\" + ch if ch in '}#~/"\\' else ch for ch in text)


def _cloze(ws: Worksheet, q: QuestionView, v: VariantView, fmt: str) -> str:
    img, files = _pictures(v, q.part, fmt)
    tensor = ws.spec.parts[q.part].graph.is_tensor
    rows = []
    for it in q.items:
        ans = v.answers[it.id]
        value = float(ans.value)  # type: ignore[arg-type]
        tol = _tolerance(ws, value)
        parts = [f"={_num(value)}:{_num(tol)}#{_cloze_escape('Correct.')}"]
        for m in ans.mistakes:
            if m.value is None or abs(m.value - value) <= 2 * tol:
                continue
            credit = ws.spec.grading.partial.get(m.id, 0.0)
            parts.append(f"%{_fraction(credit)}%{_num(m.value)}:{_num(_tolerance(ws, m.value))}#"
                         f"{_cloze_escape(m.message)}")
        entry = f"<td>{esc(it.entry_text or '–')}</td>" if tensor else ""
        rows.append(f"<tr><td>({it.blank})</td>{entry}<td>{esc(where(it))}</td>"
                    f"<td>{{{_weight(it.points)}:NUMERICAL:{'~'.join(parts)}}}</td></tr>")
    head = "<th>blank</th><th>entry</th>" if tensor else "<th>blank</th>"
    text = (_intro(ws, v, q.part) + img + f"<p>{esc(q.title)} (to {ws.spec.grading.decimals} decimals).</p>"
            + (f"<p>{esc(ENTRIES_NOTE)}</p>" if tensor else "")
            + f"<table><tr>{head}<th>where</th><th>answer</th></tr>" + "".join(rows) + "</table>")
    return (_header(f"{ws.title} Q{q.id} variant {v.id}", f"{q.id}-{v.id}", "cloze")
            + _text("questiontext", text, files=files) + "\n" + _text("generalfeedback", "") + "\n"
            + f"<penalty>0.3333333</penalty>\n<hidden>0</hidden>\n<idnumber>{esc(_idnumber(ws, q.id, v.id))}</idnumber>\n"
            + "</question>")


def _weight(points: float) -> int:
    return max(1, int(round(points * 2)))  # cloze weights are whole numbers: half points count 1


def _essay(ws: Worksheet, q: QuestionView, v: VariantView, it: ItemView) -> str:
    text, lhs = _formula_text(ws, q, v, it)
    model = matrix_latex(ws.matrices[it.id]) if q.type == "matrix" else latex(ws.formulas[it.id])
    info = (f"<p>Model answer: \\({lhs} = {model}\\)</p>"
            f"<p>Note: a {'matrix formula' if q.type == 'matrix' else 'symbolic answer'} needs a CAS question "
            "type (such as STACK) for automatic grading in Moodle. This essay question is for manual grading; or "
            "collect the answers and grade them with 'gradlab grade', which checks equivalence and names common "
            "mistakes.</p>")
    return (_header(f"{ws.title} Q{it.id} variant {v.id}", f"{it.id}-{v.id}", "essay")
            + _text("questiontext", text) + "\n" + _text("generalfeedback", info) + "\n"
            + f"<defaultgrade>{it.points:g}</defaultgrade>\n<penalty>0</penalty>\n<hidden>0</hidden>\n"
            + f"<idnumber>{esc(_idnumber(ws, it.id, v.id))}</idnumber>\n"
            + "<responseformat>editor</responseformat>\n<responserequired>1</responserequired>\n"
            + "<responsefieldlines>3</responsefieldlines>\n<attachments>0</attachments>\n"
            + "<attachmentsrequired>0</attachmentsrequired>\n"
            + _text("graderinfo", info) + "\n" + _text("responsetemplate", "") + "\n</question>")


def _formula_text(ws: Worksheet, q: QuestionView, v: VariantView, it: ItemView) -> tuple[str, str]:
    """The question text of a formula box (the variant's point, what to give) and the partial in LaTeX."""
    part = ws.spec.parts[q.part]
    lhs = partial_tex(item_partial(ws, q, it))
    if q.type == "matrix":
        return (_intro(ws, v, q.part) + f"<p>Give \\({lhs}\\) as a matrix formula. {esc(matrix_note(ws, q.part))}"
                "</p>"), lhs
    return (_intro(ws, v, q.part) + f"<p>Give \\({lhs}\\) as a formula in {esc(', '.join(part.graph.inputs))}"
            + (f" (you may use {esc(', '.join(ws.definitions[q.part]))})" if ws.definitions[q.part] else "")
            + ".</p>"), lhs


def _stack(ws: Worksheet, q: QuestionView, v: VariantView, it: ItemView, sa: StackAnswer) -> str:
    text, lhs = _formula_text(ws, q, v, it)
    defs = ws.definitions[q.part]
    if defs:
        text += ("<p>Type it as in a calculator: <code>*</code> for products, <code>^</code> for powers, "
                 "<code>exp(-z)</code>; " + ", ".join(f"<code>{esc(n)}</code> = {esc(f)}" for n, f in defs.items())
                 + ".</p>")
    general = f"<p>The answer: \\({lhs} = {latex(ws.formulas[it.id])}\\)</p>"
    return stack_question(f"{ws.title} Q{it.id} variant {v.id}", _idnumber(ws, it.id, v.id), text, general,
                          it.points, sa, ws.spec.grading.partial)


def _formula_questions(ws: Worksheet, q: QuestionView, symbolic: str, notes: list[str]) -> list[str]:
    """Every variant's questions of a symbolic or matrix question: STACK where asked for and possible, else
    essays."""
    out: list[str] = []
    stack: dict[str, StackAnswer | None] = {}
    if symbolic == "stack" and q.type == "symbolic":
        for it in q.items:  # a formula is the same on every sheet: its Maxima form too
            try:
                stack[it.id] = stack_answer(ws.variants[0].answers[it.id], ws.formulas[it.id])
            except NotMaxima as e:
                stack[it.id] = None
                notes.append(f"question {it.id} exported as essay questions: {e}, which STACK's Maxima does not "
                             "have in this form")
    for v in ws.variants:
        for it in q.items:
            sa = stack.get(it.id)
            out.append(_stack(ws, q, v, it, sa) if sa is not None else _essay(ws, q, v, it))
    essays = [it.id for it in q.items if stack.get(it.id) is None]
    if essays and not (symbolic == "stack" and q.type == "symbolic"):
        notes.append(f"question {q.id} ({q.type}) exported as essay questions for manual grading: automatic "
                     "grading in Moodle needs a CAS question type such as STACK ("
                     + ("--moodle-symbolic stack writes STACK questions; " if q.type == "symbolic" else "")
                     + "or use 'gradlab grade')")
    return out


def _idnumber(ws: Worksheet, item: str, vid: str) -> str:
    return f"gradlab-{ws.seed}-{item}-{vid}"


def _category(path: str, info: str = "") -> str:
    return (f'<question type="category">\n<category><text>{esc(path)}</text></category>\n'
            + _text("info", info) + "\n</question>")


def moodle_xml(ws: Worksheet, *, symbolic: str | None = None, pictures: str | None = None) -> tuple[str, list[str]]:
    """The Moodle XML text, and notes on what was left out or changed (for the user). ``symbolic``: formula
    questions as ``essay``, ``stack`` or ``skip``; ``pictures``: ``svg`` or ``png`` (default: the spec's
    ``[moodle]`` table, else essay and SVG)."""
    symbolic = symbolic or ws.spec.moodle.get("symbolic", "essay")
    pictures = pictures or ws.spec.moodle.get("pictures", "svg")
    if symbolic not in SYMBOLIC:
        raise MoodleXMLError(f"symbolic questions go to Moodle as {', '.join(SYMBOLIC)}, not {symbolic!r}")
    if pictures not in PICTURES:
        raise MoodleXMLError(f"pictures go to Moodle as {' or '.join(PICTURES)}, not {pictures!r}")
    notes: list[str] = []
    base = "$course$/top/" + ws.title.replace("/", "-")
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>",
           _category(base, f"<p>Made by gradlab: {len(ws.variants)} variants, seed {ws.seed}.</p>")]
    for q in ws.questions:
        if q.type in ("symbolic", "matrix") and symbolic == "skip":
            notes.append(f"question {q.id} ({q.type}) left out: it needs a CAS question type such as STACK")
            continue
        out.append(_category(f"{base}/" + f"Q{q.id} {q.title}".replace("/", "-")))
        if q.type in ("symbolic", "matrix"):
            out += _formula_questions(ws, q, symbolic, notes)
            continue
        for v in ws.variants:
            out.append(_numerical(ws, q, v, pictures) if q.type == "numeric" else _cloze(ws, q, v, pictures))
    out.append("</quiz>")
    return "\n".join(out) + "\n", notes


def _files(job: Job) -> Files:
    xml, notes = moodle_xml(job.ws, symbolic=job.options.get("moodle_symbolic"),
                            pictures=job.options.get("moodle_pictures"))
    job.notes += notes
    return {"moodle.xml": xml}


FORMAT = Format("moodle", _files, "moodle.xml: a question bank, one question per variant",
                png=lambda options: options.get("moodle_pictures") == "png")


class MoodleXMLError(ValueError):
    """A Moodle XML file that Moodle's importer would not read as intended."""


def check_moodle_xml(text: str) -> dict[str, int]:
    """Check the structure Moodle's XML importer reads; returns counts per question type.

    Every question has a type Moodle knows, a name and a question text with a format; numerical
    answers have a fraction from Moodle's list, a number and a tolerance; cloze questions have
    well-formed NUMERICAL blanks; every ``@@PLUGINFILE@@`` reference has its base64 ``<file>``.
    """
    import re

    root = ET.fromstring(text)
    if root.tag != "quiz":
        raise MoodleXMLError("the root element must be <quiz>")
    counts: dict[str, int] = {}
    allowed = {f"{f:g}" for f in MOODLE_FRACTIONS} | {f"-{f:g}" for f in MOODLE_FRACTIONS}
    for q in root.findall("question"):
        qtype = q.get("type", "")
        if qtype not in QUESTION_TYPES:
            raise MoodleXMLError(f"unknown question type {qtype!r}")
        counts[qtype] = counts.get(qtype, 0) + 1
        if qtype == "category":
            if not (q.findtext("category/text") or "").startswith("$course$/"):
                raise MoodleXMLError("a category needs <category><text>$course$/...</text></category>")
            continue
        name = q.findtext("name/text")
        qt = q.find("questiontext")
        if not name or qt is None or qt.get("format") not in ("html", "moodle_auto_format", "plain_text", "markdown"):
            raise MoodleXMLError(f"a {qtype} question needs <name><text> and <questiontext format=...>")
        body = qt.findtext("text") or ""
        files = {f.get("name"): f for f in qt.findall("file")}
        for ref in re.findall(r"@@PLUGINFILE@@/([^\"'\s>]+)", body):
            f = files.get(ref)
            if f is None or f.get("encoding") != "base64":
                raise MoodleXMLError(f"question {name!r} shows {ref} but does not embed it as base64")
            base64.b64decode(f.text or "", validate=True)
        if qtype == "numerical":
            answers = q.findall("answer")
            if not answers:
                raise MoodleXMLError(f"numerical question {name!r} has no answer")
            for a in answers:
                if a.get("fraction") not in allowed:
                    raise MoodleXMLError(f"question {name!r}: fraction {a.get('fraction')} is not a Moodle grade")
                t = a.findtext("text")
                if t != "*":
                    float(t or "x")
                float(a.findtext("tolerance") or "x")
            if not any(a.get("fraction") == "100" for a in answers):
                raise MoodleXMLError(f"numerical question {name!r} has no fully correct answer")
        if qtype == "cloze":
            blanks = re.findall(r"\{(\d+):NUMERICAL:([^{}]*(?:\\\}[^{}]*)*)\}", body)
            if not blanks:
                raise MoodleXMLError(f"cloze question {name!r} has no NUMERICAL blank")
            for _, spec in blanks:
                if not spec.startswith("="):
                    raise MoodleXMLError(f"cloze question {name!r}: a blank must start with its correct answer")
        if qtype == "essay" and q.findtext("responseformat") is None:
            raise MoodleXMLError(f"essay question {name!r} needs <responseformat>")
        if qtype == "stack":
            _check_stack(q, name, body, allowed)
    return counts


#: STACK's answer tests that these checks know (gradlab writes AlgEquiv).
STACK_TESTS = ("AlgEquiv", "CasEqual", "EqualComAss", "NumRelative", "NumAbsolute", "Diff")


def _check_stack(q: ET.Element, name: str, body: str, allowed: set[str]) -> None:
    """A STACK question: its inputs shown in the text, each with a model answer; a potential response tree
    whose nodes test known answer tests with scores from 0 to 1, next nodes that exist, feedback shown."""
    import re

    def bad(what: str) -> MoodleXMLError:
        return MoodleXMLError(f"STACK question {name!r}: {what}")

    inputs = {i.findtext("name"): i for i in q.findall("input")}
    if not inputs:
        raise bad("no <input>")
    for iname, i in inputs.items():
        if f"[[input:{iname}]]" not in body or f"[[validation:{iname}]]" not in body:
            raise bad(f"the text does not show the input {iname} and its validation")
        if not i.findtext("type") or not i.findtext("tans"):
            raise bad(f"the input {iname} needs a <type> and a model answer <tans>")
    if not (q.findtext("questionvariables/text") or "").strip():
        raise bad("no question variables (the model answer is defined there)")
    prts = q.findall("prt")
    if not prts:
        raise bad("no potential response tree <prt>")
    feedback = q.findtext("specificfeedback/text") or ""
    for prt in prts:
        pname = prt.findtext("name")
        if f"[[feedback:{pname}]]" not in feedback + body:
            raise bad(f"the feedback of {pname} is shown nowhere")
        nodes = {n.findtext("name"): n for n in prt.findall("node")}
        if "0" not in nodes:
            raise bad(f"{pname} has no node 0")
        for n in nodes.values():
            if n.findtext("answertest") not in STACK_TESTS:
                raise bad(f"unknown answer test {n.findtext('answertest')!r}")
            if not n.findtext("sans") or not n.findtext("tans"):
                raise bad("a node needs <sans> and <tans>")
            for side in ("true", "false"):
                if not 0 <= float(n.findtext(f"{side}score") or "x") <= 1:
                    raise bad("a score must be from 0 to 1")
                nxt = n.findtext(f"{side}nextnode") or ""
                if nxt != "-1" and nxt not in nodes:
                    raise bad(f"node {n.findtext('name')} goes on to node {nxt}, which does not exist")
        variables = prt.findtext("feedbackvariables/text") or ""
        if not (any(n.findtext("sans") in inputs for n in nodes.values())
                or any(re.search(rf"\b{re.escape(str(i))}\b", variables) for i in inputs)):
            raise bad(f"{pname} never reads the student's answer")
