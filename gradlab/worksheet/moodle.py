"""Moodle XML export: one category per worksheet (a sub-category per question), one question per variant.

* a numeric partial -> a Moodle ``numerical`` question: the answer with its tolerance, and the
  generated wrong answers (sign error, missing chain-rule factor, ...) as further answers with
  feedback naming the mistake and the partial credit of the spec;
* a blank picture (forward or backward values) -> a ``cloze`` question with one NUMERICAL blank
  per numbered blank, the picture embedded;
* a symbolic partial needs a CAS question type (STACK); it is exported as an ``essay`` question
  for manual grading, with the model answer in the grader information, or left out
  (``symbolic="skip"``); so is a matrix formula (a gradient of a tensor graph), with the same note;
* a tensor graph's blanks and numeric entries are numbers like any other: one NUMERICAL blank per
  entry, one ``numerical`` question per entry of a gradient.

Pictures are embedded as ``<file name=... encoding="base64">`` in the question text and shown with
``@@PLUGINFILE@@/name``; math is written ``\\( ... \\)`` for Moodle's MathJax filter. To give every
student a variant at random, add a "random question" from a question's sub-category to the quiz.
:func:`check_moodle_xml` checks a file against the structure Moodle's importer reads.
"""

from __future__ import annotations

import base64
import math
import xml.etree.ElementTree as ET

from .document import item_partial, where
from .format import Files, Format, Job
from .markdown import partial_tex
from .mathtext import esc, latex
from .matrixtext import assignment_latex, matrix_latex
from .questions import ENTRIES_NOTE, QuestionView, VariantView, Worksheet, matrix_note

#: The grades Moodle accepts for an answer (percent).
MOODLE_FRACTIONS = (100, 90, 83.33333, 80, 75, 70, 66.66667, 60, 50, 40, 33.33333, 30, 25, 20, 16.66667, 14.28571,
                    12.5, 11.11111, 10, 5, 0)
QUESTION_TYPES = ("category", "numerical", "cloze", "essay")


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


def _pictures(v: VariantView, p: int) -> tuple[str, str]:
    """The ``<img>`` for the question text and the ``<file>`` elements that carry it."""
    png = v.parts[p].pictures.student_png
    if png is None:
        return "", ""
    name = f"v{v.id}-part{p + 1}.png"
    img = f'<p><img src="@@PLUGINFILE@@/{name}" alt="graph, variant {esc(v.id)}" style="max-width:100%"></p>'
    data = base64.b64encode(png).decode("ascii")
    return img, f'<file name="{name}" path="/" encoding="base64">{data}</file>'


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


def _numerical(ws: Worksheet, q: QuestionView, v: VariantView) -> str:
    img, files = _pictures(v, q.part) if any(t.type in ("forward", "backward") for t in ws.questions
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


def _cloze(ws: Worksheet, q: QuestionView, v: VariantView) -> str:
    img, files = _pictures(v, q.part)
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


def _essay(ws: Worksheet, q: QuestionView, v: VariantView) -> str:
    part = ws.spec.parts[q.part]
    out = []
    for it in q.items:
        lhs = partial_tex(item_partial(ws, q, it))
        if q.type == "matrix":
            model = matrix_latex(ws.matrices[it.id])
            text = (_intro(ws, v, q.part) + f"<p>Give \\({lhs}\\) as a matrix formula. {esc(matrix_note(ws, q.part))}"
                    "</p>")
        else:
            model = latex(ws.formulas[it.id])
            text = (_intro(ws, v, q.part) + f"<p>Give \\({lhs}\\) as a formula in {esc(', '.join(part.graph.inputs))}"
                    + (f" (you may use {esc(', '.join(ws.definitions[q.part]))})" if ws.definitions[q.part] else "")
                    + ".</p>")
        info = (f"<p>Model answer: \\({lhs} = {model}\\)</p>"
                f"<p>Note: a {'matrix formula' if q.type == 'matrix' else 'symbolic answer'} needs a CAS question "
                "type (such as STACK) for automatic grading in Moodle. This essay question is for manual grading; or "
                "collect the answers and grade them with 'gradlab grade', which checks equivalence and names common "
                "mistakes.</p>")
        out.append(_header(f"{ws.title} Q{it.id} variant {v.id}", f"{it.id}-{v.id}", "essay")
                   + _text("questiontext", text) + "\n" + _text("generalfeedback", info) + "\n"
                   + f"<defaultgrade>{it.points:g}</defaultgrade>\n<penalty>0</penalty>\n<hidden>0</hidden>\n"
                   + f"<idnumber>{esc(_idnumber(ws, it.id, v.id))}</idnumber>\n"
                   + "<responseformat>editor</responseformat>\n<responserequired>1</responserequired>\n"
                   + "<responsefieldlines>3</responsefieldlines>\n<attachments>0</attachments>\n"
                   + "<attachmentsrequired>0</attachmentsrequired>\n"
                   + _text("graderinfo", info) + "\n" + _text("responsetemplate", "") + "\n</question>")
    return "\n".join(out)


def _idnumber(ws: Worksheet, item: str, vid: str) -> str:
    return f"gradlab-{ws.seed}-{item}-{vid}"


def _category(path: str, info: str = "") -> str:
    return (f'<question type="category">\n<category><text>{esc(path)}</text></category>\n'
            + _text("info", info) + "\n</question>")


def moodle_xml(ws: Worksheet, *, symbolic: str = "essay") -> tuple[str, list[str]]:
    """The Moodle XML text, and notes on what was left out or changed (for the user)."""
    notes: list[str] = []
    base = "$course$/top/" + ws.title.replace("/", "-")
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>",
           _category(base, f"<p>Made by gradlab: {len(ws.variants)} variants, seed {ws.seed}.</p>")]
    for q in ws.questions:
        if q.type in ("symbolic", "matrix") and symbolic == "skip":
            notes.append(f"question {q.id} ({q.type}) left out: it needs a CAS question type such as STACK")
            continue
        out.append(_category(f"{base}/" + f"Q{q.id} {q.title}".replace("/", "-")))
        for v in ws.variants:
            if q.type == "numeric":
                out.append(_numerical(ws, q, v))
            elif q.type in ("forward", "backward"):
                out.append(_cloze(ws, q, v))
            elif q.type in ("symbolic", "matrix"):
                out.append(_essay(ws, q, v))
        if q.type in ("symbolic", "matrix"):
            notes.append(f"question {q.id} ({q.type}) exported as essay questions for manual grading: automatic "
                         "grading in Moodle needs a CAS question type such as STACK (or use 'gradlab grade')")
    out.append("</quiz>")
    return "\n".join(out) + "\n", notes


def _files(job: Job) -> Files:
    xml, notes = moodle_xml(job.ws, symbolic=job.options.get("moodle_symbolic", "essay"))
    job.notes += notes
    return {"moodle.xml": xml}


FORMAT = Format("moodle", _files, "moodle.xml: a question bank, one question per variant", png=True)


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
    return counts
