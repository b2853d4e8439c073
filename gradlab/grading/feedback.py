"""Feedback to hand back after grading: a page per student and a class overview, in HTML (offline: pictures and
plots inside the file, no network) and PDF (headless Chromium prints the HTML).

A student's page shows their variant's picture with each blank marked right (✓, green), partly right (◐) or
wrong (✗, red), then per question a row per answer: what they wrote, what gradlab read, the expected answer,
the verdict with the named mistake or the follow-through note, and the points. The overview has the scores'
histogram, how many got each blank right, the most common named mistakes (inline SVG plots,
:mod:`gradlab.grading.plots`), the table per blank and the list of students with links to their pages.

>>> report = grade("responses.csv", "sheets/key.json")                      # doctest: +SKIP
>>> files = write_feedback(report, AnswerKey.load("sheets/key.json"), "report/", sheets="sheets/")  # doctest: +SKIP
>>> files.overview                                                          # doctest: +SKIP
PosixPath('report/overview.html')

The pictures are the blank pictures beside the key (``sheets/markdown/v07-part1-blank.svg``, written by
``gradlab worksheet`` with the Markdown format); without them the pages have the tables alone.
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..errors import FileError
from ..fileio import output_folder, path_kind, read_text, write_atomic
from ..htmltable import esc
from ..model.answerkey import MISTAKES, AnswerKey
from . import plots
from .grade import GradeReport, StudentResult
from .numbers import is_plain_number

#: Students past this many get no page of their own (the overview is written whatever the class's size).
MAX_PAGES = 5000
#: A class of more students gets no PDF (Chromium prints every page of the class in one run).
MAX_PDF_STUDENTS = 1000
#: The overview lists this many students (scores.csv has every one).
MAX_LISTED = 2000
SVG_LIMIT = 4 * 1024 * 1024

SYMBOLS = {"correct": "✓", "partial": "◐", "wrong": "✗", "rejected": "!", "blank": "–"}
COLOURS = {"correct": plots.GREEN, "partial": plots.AMBER, "wrong": plots.RED, "rejected": plots.RED,
           "blank": plots.GREY}
_BLANK = re.compile(r"^(?:value|gradient)s? \((\d+)\)")

CSS = """
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; font-size: 11pt; color: #111;
       max-width: 60rem; margin: 1.5rem auto; padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.4rem; margin: 0 0 .3rem; } h2 { font-size: 1.12rem; margin: 1.1rem 0 .4rem; }
h1, h2, h3 { break-after: avoid; }
.head { border-bottom: 2px solid #333; padding-bottom: .3rem; margin-bottom: .6rem; }
.score { font-size: 1.15rem; font-weight: bold; }
figure { margin: .5rem 0; text-align: center; break-inside: avoid; } figure img { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: .9em; }
table { border-collapse: collapse; margin: .3rem 0 .8rem; width: 100%; }
th, td { border: 1px solid #bbb; padding: .22rem .45rem; text-align: left; vertical-align: top; }
tr { break-inside: avoid; } th { background: #f2f2f2; }
td.num { text-align: right; white-space: nowrap; } code { font-size: .95em; overflow-wrap: anywhere; }
td.correct { color: #2e7d32; } td.partial { color: #b7791f; } td.wrong, td.rejected { color: #c62828; }
td.blank { color: #666; } tr.wrong td:first-child, tr.rejected td:first-child { border-left: 4px solid #c62828; }
tr.partial td:first-child { border-left: 4px solid #b7791f; }
td.verdict { white-space: nowrap; font-weight: bold; }
.follow { background: #eef6ee; }
.mistake { font-weight: bold; }
.note { color: #444; font-size: .92em; }
.student + .student { margin-top: 3rem; }
.plots { display: flex; flex-wrap: wrap; gap: 1rem 2rem; }
.plots figure { margin: 0; }
@media print { body { margin: 0 auto; max-width: none; } .student { break-after: page; }
               .student:last-child { break-after: auto; } }
@page { size: A4; margin: 14mm 12mm 20mm; }
"""


def page(title: str, body: str) -> str:
    """A complete, self-contained HTML document."""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def blank_number(label: str) -> int | None:
    """The number of a picture's blank that an item fills in (``value (3) on the wire ...`` -> 3), else None.

    >>> blank_number("gradient (12) on the wire from x1 into the * gate"), blank_number("∂a/∂x0")
    (12, None)
    """
    m = _BLANK.match(label)
    return int(m.group(1)) if m else None


def _worst(statuses: Sequence[str]) -> str:
    """One mark for a blank with several boxes (the entries of a vector): right when all are."""
    for s in ("wrong", "rejected", "blank", "partial"):
        if s in statuses:
            return s
    return "correct"


_TEXT = re.compile(r'(<text\b[^>]*?)fill="[^"]*"([^>]*>)\((\d+)\)</text>')


def marked_picture(svg: str, marks: dict[int, str]) -> str:
    """A blank picture (SVG, as ``gradlab worksheet`` draws it) with each numbered blank ``(7)`` in ``marks``
    coloured by its status and followed by its symbol: ``(7) ✓``.

    >>> marked_picture('<text x="1" fill="#c62828">(7)</text>', {7: "wrong"})
    '<text x="1" fill="#c62828" font-weight="bold">(7) ✗</text>'
    """
    def mark(m: re.Match[str]) -> str:
        n = int(m.group(3))
        status = marks.get(n)
        if status is None:
            return m.group(0)
        rest = m.group(2)[:-1]
        bold = "" if "font-weight" in m.group(1) + rest else ' font-weight="bold"'
        return f'{m.group(1)}fill="{COLOURS[status]}"{rest}{bold}>({n}) {SYMBOLS[status]}</text>'

    return _TEXT.sub(mark, svg)


def _img(svg: str, alt: str) -> str:
    start = svg.find("<svg")
    data = base64.b64encode(svg[max(start, 0):].encode("utf-8")).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/svg+xml;base64,{data}">'


class Pictures:
    """The blank pictures of a worksheet folder (``markdown/v07-part1-blank.svg``), read once each."""

    def __init__(self, sheets: str | Path | None) -> None:
        self.folder = Path(sheets) if sheets is not None else None
        self._cache: dict[tuple[str, int], str | None] = {}

    def get(self, variant: str, part: int) -> str | None:
        if self.folder is None:
            return None
        k = (variant, part)
        if k not in self._cache:
            p = self.folder / "markdown" / f"v{variant}-part{part + 1}-blank.svg"
            try:
                self._cache[k] = read_text(p, "picture", limit=SVG_LIMIT) if path_kind(p) == "file" else None
            except FileError:
                self._cache[k] = None
        return self._cache[k]


def _pct(score: float, total: float) -> str:
    return f"{100 * score / total:.0f}%" if total else "–"


def _expected(key: AnswerKey, variant: str, item: str) -> str:
    v = key.variants.get(variant)
    a = v.answers.get(item) if v else None
    if a is None:
        return ""
    if a.kind == "number":
        return a.text or (f"{a.value:.4g}" if a.value is not None else "")
    return a.formula or a.text


def student_section(report: GradeReport, s: StudentResult, key: AnswerKey, pictures: Pictures, *,
                    number: int, of: int) -> str:
    """One student's feedback as a ``<section>`` (see the module docstring); ``number`` / ``of`` make the
    heading line ``Student 3 of 30`` by which the printed pages are found."""
    out = [f'<section class="student" id="student-{number}">',
           f'<div class="head"><h1>{esc(report.title or "Worksheet")}: your feedback</h1>'
           f'<div>Student {number} of {of}: <b>{esc(s.id)}</b> · Variant {esc(s.variant)}</div>']
    if s.error:
        out += [f'<p class="score">Not graded</p></div><p>{esc(s.error)}</p>', "</section>"]
        return "\n".join(out)
    out.append(f'<p class="score">{s.score:g} of {report.total_points:g} points '
               f"({_pct(s.score, report.total_points)})</p></div>")
    answers = {a.item: a for a in s.answers}
    shown_parts: set[int] = set()
    per_question = s.question_points(key)
    for q in key.questions:
        items = [i for i in q.items if i in answers]
        if not items:
            continue
        q_max = sum(key.items[i].points for i in q.items)
        out.append(f"<h2>Question {esc(q.id)}: {esc(q.title)} — {per_question.get(q.id, 0):g} of {q_max:g} "
                   "points</h2>")
        blanks = {i: blank_number(key.items[i].plain or key.items[i].label) for i in items}
        if any(n is not None for n in blanks.values()) and q.part not in shown_parts:
            shown_parts.add(q.part)
            out.append(_picture(s, key, pictures, q.part, answers))
        out.append(_answer_table([answers[i] for i in items], key, s.variant))
    out.append("</section>")
    return "\n".join(out)


def _picture(s: StudentResult, key: AnswerKey, pictures: Pictures, part: int, answers: dict[str, Any]) -> str:
    svg = pictures.get(s.variant, part)
    if svg is None:
        return ""
    statuses: dict[int, list[str]] = {}
    for q in key.questions:
        if q.part != part:
            continue
        for i in q.items:
            n = blank_number(key.items[i].plain or key.items[i].label)
            if n is not None and i in answers:
                statuses.setdefault(n, []).append(answers[i].verdict.status)
    marks = {n: _worst(st) for n, st in statuses.items()}
    counts = Counter(marks.values())
    caption = ", ".join(f"{counts[k]} {k}" for k in SYMBOLS if counts[k])
    return (f"<figure>{_img(marked_picture(svg, marks), f'variant {s.variant}: the blanks marked')}"
            f"<figcaption>Your blanks on variant {esc(s.variant)}'s picture: ✓ right, ◐ partly right, ✗ wrong, "
            f"– left empty ({esc(caption)}).</figcaption></figure>")


def _answer_table(answers: Sequence[Any], key: AnswerKey, variant: str) -> str:
    rows = ["<table><tr><th>box</th><th>question</th><th>your answer</th><th>expected</th><th>result</th>"
            "<th>points</th><th>feedback</th></tr>"]
    for a in answers:
        v = a.verdict
        item = key.items[a.item]
        read = (f'<div class="note">read as <code>{esc(v.read_as)}</code></div>'
                if v.read_as and v.read_as.replace(" ", "") != a.answer.replace(" ", "")
                and not (item.kind == "number" and is_plain_number(a.answer.strip())) else "")
        mistake = (f'<span class="mistake">{esc(v.mistake)}</span>: ' if v.mistake else "")
        follow = " follow" if "→ full marks by" in v.feedback else ""  # follow-through or rounding as told
        feedback = "" if v.status == "correct" and v.feedback == "correct" else f"{mistake}{esc(v.feedback)}"
        rows.append(f'<tr class="{v.status}{follow}"><td>{esc(a.item)}</td><td>{esc(item.plain or item.label)}</td>'
                    f"<td><code>{esc(a.answer)}</code>{read}</td><td><code>{esc(_expected(key, variant, a.item))}"
                    f'</code></td><td class="verdict {v.status}">{SYMBOLS.get(v.status, "")} {esc(v.status)}</td>'
                    f'<td class="num">{a.points:g} / {a.max_points:g}</td><td>{feedback}</td></tr>')
    rows.append("</table>")
    return "\n".join(rows)


def overview_body(report: GradeReport, key: AnswerKey, links: dict[int, str] | None = None) -> str:
    """The class overview (see the module docstring) as HTML; ``links`` maps a student's index to their page."""
    graded = [s for s in report.students if not s.error]
    scores = sorted(s.score for s in graded)
    total = report.total_points
    out = [f'<div class="head"><h1>{esc(report.title or "Worksheet")}: class overview</h1></div>']
    if scores:
        n = len(scores)
        median = scores[n // 2] if n % 2 else (scores[n // 2 - 1] + scores[n // 2]) / 2
        out.append(f"<p>{n} students graded{f', {len(report.students) - n} rows not graded' if n < len(report.students) else ''}; "
                   f"mean {sum(scores) / n:.2f} of {total:g} points ({_pct(sum(scores) / n, total)}), median {median:.4g}, "
                   f"lowest {scores[0]:g}, highest {scores[-1]:g}.</p>")
    else:
        out.append("<p>No student graded.</p>")
    bins = max(1, min(10, int(total) if total >= 1 else 1))
    figures = [f"<figure>{plots.histogram(scores, 0.0, total, bins=bins, label=f'points (of {total:g})')}"
               "<figcaption>Scores</figcaption></figure>"]
    mistakes: Counter[str] = Counter()
    where: dict[str, list[str]] = {}
    for i in report.items:
        for m, c in i.mistakes.items():
            mistakes[m] += c
            where.setdefault(m, []).append(i.item)
    if mistakes:
        top = mistakes.most_common(8)
        figures.append("<figure>" + plots.bars([(m, c, str(c)) for m, c in top], title="named mistakes",
                                               label_width=110, width=420)
                       + "<figcaption>The most common named mistakes (answers)</figcaption></figure>")
    out.append(f'<div class="plots">{"".join(figures)}</div>')
    rows = [(f"{i.item} {i.label.split(' on the ')[0]}", i.share_correct, f"{100 * i.share_correct:.0f}%") for i in report.items]
    out.append("<h2>Difficulty per blank: the share of the class who got it right</h2>")
    out.append("<figure>" + plots.bars(rows, scale=1.0, width=560, label_width=180,
                                       colours=[plots.share_colour(r[1]) for r in rows]) + "</figure>")
    if mistakes:
        out.append("<h2>Named mistakes</h2><table><tr><th>mistake</th><th>answers</th><th>what it means</th>"
                   "<th>boxes</th></tr>")
        out += [f"<tr><td class=\"mistake\">{esc(m)}</td><td class=\"num\">{c}</td><td>{esc(MISTAKES.get(m, ''))}</td>"
                f"<td>{esc(', '.join(where[m][:12]) + (' …' if len(where[m]) > 12 else ''))}</td></tr>"
                for m, c in mistakes.most_common()]
        out.append("</table>")
    out.append("<h2>Per box</h2><table><tr><th>box</th><th>question</th><th>mean</th><th>correct</th>"
               "<th>partial</th><th>wrong</th><th>rejected</th><th>blank</th><th>most common mistake</th></tr>")
    for i in report.items:
        top_m = max(i.mistakes.items(), key=lambda t: t[1]) if i.mistakes else None
        out.append(f"<tr><td>{esc(i.item)}</td><td>{esc(i.label)}</td><td class=\"num\">{i.mean_points:g} / "
                   f"{i.max_points:g}</td>" + "".join(f'<td class="num">{i.counts.get(c, 0)}</td>'
                                                      for c in ("correct", "partial", "wrong", "rejected", "blank"))
                   + f"<td>{esc(f'{top_m[0]} ({top_m[1]})' if top_m else '')}</td></tr>")
    out.append("</table>")
    out.append("<h2>Students</h2><table><tr><th>student</th><th>variant</th><th>points</th><th>percent</th>"
               "<th>note</th></tr>")
    for n, s in enumerate(report.students):
        if n == MAX_LISTED:
            out.append(f'<tr><td colspan="5">… and {len(report.students) - n:,} more (scores.csv lists them all)'
                       "</td></tr>")
            break
        name = esc(s.id)
        if links and n in links:
            name = f'<a href="{esc(links[n])}">{name}</a>'
        out.append(f"<tr><td>{name}</td><td>{esc(s.variant)}</td><td class=\"num\">{s.score:g}</td>"
                   f"<td class=\"num\">{_pct(s.score, total) if not s.error else ''}</td><td>{esc(s.error or '')}</td></tr>")
    out.append("</table>")
    if report.warnings:
        out.append("<h2>Warnings</h2><ul>" + "".join(f"<li>{esc(w)}</li>" for w in report.warnings) + "</ul>")
    return "\n".join(out)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_names(students: Sequence[StudentResult]) -> list[str]:
    """A file name per student (``ada``, ``ben-2`` for a second ben; other characters become ``_``).

    >>> file_names([StudentResult("ada", "07"), StudentResult("a/b", "07"), StudentResult("ada", "12")])
    ['ada', 'a_b', 'ada-2']
    """
    seen: Counter[str] = Counter()
    out = []
    for s in students:
        base = _UNSAFE.sub("_", s.id).strip("._")[:60] or "student"
        seen[base] += 1
        out.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return out


@dataclass
class FeedbackFiles:
    """What :func:`write_feedback` wrote (paths) and what it left out (``notes``)."""

    folder: Path
    overview: Path
    students: list[Path] = field(default_factory=list)
    pdfs: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def files(self) -> list[Path]:
        return [self.overview, *self.students, *self.pdfs]


def write_feedback(report: GradeReport, key: AnswerKey, folder: str | Path, *, sheets: str | Path | None = None,
                   pdf: bool = True) -> FeedbackFiles:
    """Write ``overview.html``, ``feedback/<student>.html`` and, with Chromium (``pdf``), ``overview.pdf``,
    ``feedback.pdf`` (every student, each starting on an odd page) and ``feedback/<student>.pdf``, all atomically.
    ``sheets``: the worksheet folder with the pictures (default: none)."""
    from ..worksheet import paging
    from ..worksheet.pdf import ChromiumNotFound, PrintError, print_pdf

    out = output_folder(folder)
    pictures = Pictures(sheets)
    names = file_names(report.students)
    many = len(report.students) > MAX_PAGES
    links = {} if many else {n: f"feedback/{name}.html" for n, name in enumerate(names)}
    overview = out / "overview.html"
    title = report.title or "Worksheet"
    write_atomic(overview, page(f"{title}: class overview", overview_body(report, key, links)))
    files = FeedbackFiles(out, overview)
    if many:
        files.notes.append(f"no page per student: {len(report.students):,} students (at most {MAX_PAGES:,})")
    else:
        for n, (s, name) in enumerate(zip(report.students, names)):
            path = out / "feedback" / f"{name}.html"
            write_atomic(path, page(f"{title}: feedback for {s.id}",
                                    student_section(report, s, key, pictures, number=n + 1, of=len(names))))
            files.students.append(path)
    if not pdf:
        return files
    if len(report.students) > MAX_PDF_STUDENTS:
        files.notes.append(f"no PDF files: {len(report.students):,} students (at most {MAX_PDF_STUDENTS:,}); "
                           "print the HTML pages")
        return files
    try:
        print_pdf(overview, out / "overview.pdf")
        files.pdfs.append(out / "overview.pdf")
        if files.students:
            files.pdfs += _class_pdf(report, key, pictures, names, out, paging, print_pdf)
    except (ChromiumNotFound, PrintError) as e:
        files.notes.append(f"PDF files not made: {e.message}")
    return files


def _class_pdf(report: GradeReport, key: AnswerKey, pictures: Pictures, names: list[str], out: Path,
               paging: Any, print_pdf: Any) -> list[Path]:
    """``feedback.pdf``: every student's page, each starting on an odd page with a footer, and split into
    ``feedback/<student>.pdf`` (pypdf; without it the one PDF as Chromium prints it)."""
    n = len(report.students)
    body = "\n".join(student_section(report, s, key, pictures, number=k + 1, of=n)
                     for k, s in enumerate(report.students))
    html_file = out / "feedback" / "all-students.html"
    write_atomic(html_file, page(f"{report.title}: feedback", body))
    target = out / "feedback.pdf"
    try:
        print_pdf(html_file, target)
    finally:
        html_file.unlink(missing_ok=True)
    made = [target]
    if paging.available():
        ids = [s.id for s in report.students]
        try:
            paged = paging.arrange(target, [f"Student {k + 1} of {n}" for k in range(n)],
                                   lambda d, k, c: f"{ids[d]}, variant {report.students[d].variant}: page {k} of {c}")
        except paging.PagingError:
            return made  # the one PDF as Chromium printed it
        made += paging.split(target, paged, [out / "feedback" / f"{name}.pdf" for name in names])
    return made


__all__ = ["write_feedback", "student_section", "overview_body", "marked_picture", "blank_number", "file_names",
           "page", "FeedbackFiles", "Pictures"]
