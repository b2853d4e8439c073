"""Grade a class: responses (CSV) against a worksheet's ``key.json``, scores and feedback out.

>>> report = grade("responses.csv", "sheets/key.json")          # doctest: +SKIP
>>> report.write("report/")                                     # doctest: +SKIP

The responses CSV has a row per student: ``id``, ``variant`` and one column per item of the key
(``1.1``, ``1.2``, ``3.1``, ... as the sheets number them; ``Q3.1`` works too). Every answer is
graded on its own: an answer that cannot be read, or takes too long, is rejected with a message
and the rest of the class is graded as usual. Identical answers to the same item are graded once.
A number blank that misses the key's value may still earn its points by follow-through, when the key's
``grading.mode`` asks for it (:mod:`gradlab.grading.followthrough`).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
import re
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from json.encoder import encode_basestring as _encode_str
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence, TextIO

from ..errors import GradlabError, Location
from ..fileio import atomic_path, open_regular, output_folder, path_kind
from ..fileio import shown as shown_path
from ..model.answerkey import MISTAKES, AnswerKey, normalise_variant
from ..safetext import markdown_text, shown
from .followthrough import follow_through
from .formulas import ANSWER_LIMITS
from .numbers import grade_number, is_plain_number
from .verdict import Verdict
from .worker import Budget, GradingPool, Task

MAX_RESPONSES_BYTES = 200 * 1024 * 1024
ID_COLUMNS = ("id", "student", "student_id", "studentid", "name", "matrikel", "email", "username")
VARIANT_COLUMNS = ("variant", "version", "sheet", "variant_id")


class ResponsesError(GradlabError):
    """A responses file that cannot be read (not the answers in it: those are graded one by one)."""


@dataclass
class AnswerResult:
    """One student's answer to one item, graded."""

    item: str
    answer: str
    points: float
    max_points: float
    verdict: Verdict


@dataclass(slots=True)
class StudentResult:
    """One row of the responses: the student's answers, graded, and the score.

    A class may have many rows, so the answers are kept compactly: ``items`` (item id and points,
    in the key's order, one tuple shared by every row), the answer ``texts`` and the ``verdicts``
    (shared by identical answers); :attr:`answers` reads them as :class:`AnswerResult`.
    """

    id: str
    variant: str
    error: str | None = None
    row: int = 0
    items: tuple[tuple[str, float], ...] = ()
    texts: tuple[str, ...] = ()
    verdicts: tuple[Verdict, ...] = ()
    score: float = 0.0  # the sum of the answers' points (set with the verdicts)

    @property
    def answers(self) -> list[AnswerResult]:
        return [AnswerResult(i, t, _points(m, v), m, v) for (i, m), t, v in zip(self.items, self.texts, self.verdicts)]

    def set_verdicts(self, verdicts: tuple[Verdict, ...]) -> None:
        self.verdicts = verdicts
        self.score = round(sum(_points(m, v) for (_, m), v in zip(self.items, verdicts)), 6)

    def question_points(self, key: AnswerKey) -> dict[str, float]:
        out = {q.id: 0.0 for q in key.questions}
        for (i, m), v in zip(self.items, self.verdicts):
            out[key.items[i].question] += _points(m, v)
        return {k: round(v, 6) for k, v in out.items()}


def _points(max_points: float, verdict: Verdict) -> float:
    return round(max_points * verdict.fraction, 6)


@dataclass
class ItemStats:
    """How the class did on one item."""

    item: str
    question: str
    label: str
    kind: str
    max_points: float
    answered: int = 0
    mean_points: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)  # correct / partial / wrong / rejected / blank
    mistakes: dict[str, int] = field(default_factory=dict)

    @property
    def share_correct(self) -> float:
        n = sum(self.counts.values())
        return self.counts.get("correct", 0) / n if n else 0.0


@dataclass
class GradeReport:
    """The graded class: per-student results, per-item statistics, and what grading cost."""

    title: str
    total_points: float
    students: list[StudentResult]
    items: list[ItemStats]
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    answers_graded: int = 0
    distinct_graded: int = 0
    worker_restarts: int = 0

    def to_dict(self, *, students: bool = True) -> dict[str, Any]:
        """The report as JSON-ready data (``students=False``: without the rows, for a summary)."""
        head = {
            "title": self.title, "total_points": self.total_points, "warnings": self.warnings,
            "seconds": round(self.seconds, 3), "answers_graded": self.answers_graded,
            "distinct_graded": self.distinct_graded, "worker_restarts": self.worker_restarts,
        }
        rest = {"items": [{**asdict(i), "share_correct": round(i.share_correct, 4)} for i in self.items]}
        if not students:
            return {**head, **rest}
        return {**head, "students": [_student_dict(s) for s in self.students], **rest}

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    def write_json(self, f: TextIO) -> None:
        """``report.json`` (as ``to_json(indent=1)`` writes it), one student at a time: the text of the
        whole class is never held at once."""
        marker = "\x00students\x00"
        summary = self.to_dict(students=False)
        items = summary.pop("items")
        text = json.dumps({**summary, "students": marker}, ensure_ascii=False, indent=1)
        start = text[: text.rindex(json.dumps(marker))]
        f.write(start)
        if not self.students:
            f.write("[]")
        else:
            f.write("[")
            cache: dict[tuple[str, int], str] = {}
            for n, s in enumerate(self.students):
                f.write(",\n" if n else "\n")
                f.write(_student_json(s, cache))
            f.write("\n ]")
        f.write(",\n" + json.dumps({"items": items}, ensure_ascii=False, indent=1)[2:])  # without its '{\n'

    def _repr_html_(self) -> str:
        """Jupyter's view: the class's scores in one line, a row per item (points, verdict counts, the most
        common mistake), then the warnings and the rows that were not graded."""
        from ..htmltable import esc, html_table

        scores = sorted(s.score for s in self.students if not s.error)
        errors = len(self.students) - len(scores)
        if scores:
            n = len(scores)
            median = scores[n // 2] if n % 2 else (scores[n // 2 - 1] + scores[n // 2]) / 2
            line = (f"{n} students graded, {errors} rows with errors; mean {sum(scores) / n:.2f} / "
                    f"{self.total_points:g} points, median {median:g}, lowest {scores[0]:g}, highest {scores[-1]:g}")
        else:
            line = f"no student graded, {errors} rows with errors"
        kinds = ("correct", "partial", "wrong", "rejected", "blank")
        rows = []
        for i in self.items:
            top = max(i.mistakes.items(), key=lambda t: t[1]) if i.mistakes else None
            rows.append([i.item, i.label, f"{i.max_points:g}", f"{i.mean_points:g}",
                         *(i.counts.get(c, 0) for c in kinds),
                         f"{top[0]} ({top[1]}): {MISTAKES.get(top[0], '')}" if top else ""])
        table = html_table(["item", "question", "max", "mean", *kinds, "most common mistake"], rows, left=(0, 1, 9),
                           caption=f"Grading report: {self.title or 'worksheet'}")
        notes = [f"<li>warning: {esc(w)}</li>" for w in self.warnings]
        bad = [s for s in self.students if s.error]
        notes += [f"<li>row {s.row}, {esc(s.id)}: {esc(s.error)}</li>" for s in bad[:20]]
        if len(bad) > 20:
            notes.append(f"<li>and {len(bad) - 20} more rows not graded (report.md lists them all)</li>")
        return (f'<div class="gradlab-grades"><p>{esc(line)}; {self.answers_graded:,} answers '
                f"({self.distinct_graded:,} distinct) graded in {self.seconds:.1f} s</p>{table}"
                + (f"<ul>{''.join(notes)}</ul>" if notes else "") + "</div>")

    def write(self, folder: str | Path, key: AnswerKey) -> list[Path]:
        """Write ``scores.csv``, ``answers.csv``, ``statistics.csv``, ``report.md`` and ``report.json``
        (each written as it is made, row by row, and renamed into place when complete)."""
        out = output_folder(folder)
        writers: dict[str, Callable[[TextIO], None]] = {
            "scores.csv": lambda f: _write_csv(f, _scores_rows(self, key)),
            "answers.csv": lambda f: _write_csv(f, _answers_rows(self, key)),
            "statistics.csv": lambda f: _write_csv(f, _statistics_rows(self)),
            "report.md": lambda f: f.writelines(_markdown_lines(self, key)),
            "report.json": self.write_json,
        }
        for name, write in writers.items():
            with atomic_path(out / name) as tmp:
                with open(tmp, "w", encoding="utf-8", newline="") as f:
                    write(f)
                    f.flush()
                    os.fsync(f.fileno())
        return [out / n for n in writers]


def _student_dict(s: StudentResult) -> dict[str, Any]:
    return {"id": s.id, "variant": s.variant, "score": s.score, "error": s.error,
            "answers": [{"item": a.item, "answer": a.answer, "points": a.points, "max_points": a.max_points,
                         **a.verdict.to_dict()} for a in s.answers]}


def _student_json(s: StudentResult, cache: dict[tuple[str, int], str]) -> str:
    """``_student_dict(s)`` as ``json.dumps(..., indent=1)`` writes it inside the report (two levels
    in), made fast: what an answer shares with identical answers to its item (points and verdict) is
    encoded once, in ``cache``."""
    d = _json_scalar
    head = (f'  {{\n   "id": {d(s.id)},\n   "variant": {d(s.variant)},\n   "score": {d(s.score)},\n'
            f'   "error": {d(s.error)},\n   "answers": ')
    if not s.verdicts:
        return head + "[]\n  }"
    parts = []
    for (item, max_points), text, v in zip(s.items, s.texts, s.verdicts):
        tail = cache.get((item, id(v)))
        if tail is None:
            fields = "".join(f",\n     {d(k)}: {d(x)}" for k, x in v.to_dict().items())
            tail = cache[item, id(v)] = (f'     "points": {d(_points(max_points, v))},\n     "max_points": '
                                         f'{d(max_points)}{fields}\n    }}')
        parts.append(f'    {{\n     "item": {d(item)},\n     "answer": {d(text)},\n{tail}')
    return head + "[\n" + ",\n".join(parts) + "\n   ]\n  }"


def _json_scalar(v: Any) -> str:
    """A string, number or None as ``json.dumps(v, ensure_ascii=False)`` writes it, faster."""
    if isinstance(v, str):
        return _encode_str(v)
    if isinstance(v, float) and math.isfinite(v):
        return repr(v)
    return json.dumps(v)


# ----------------------------------------------------------------------------- reading responses

def _column_key(name: str) -> str:
    s = name.strip().lower().replace(" ", "")
    s = re.sub(r"^(q|question|item)", "", s)
    return s.rstrip(":")


def read_responses(source: str | Path | Iterable[str]) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a responses CSV (comma, semicolon or tab separated, UTF-8 with or without BOM)."""
    header, rows = iter_responses(source)
    return header, list(rows)


def iter_responses(source: str | Path | Iterable[str]) -> tuple[list[str], Iterator[list[str]]]:
    """The header of a responses CSV and an iterator over its rows, read as they are needed (a file
    of any length is never held whole); blank rows are left out."""
    if isinstance(source, (str, Path)):
        p = Path(source)
        if path_kind(p) is None:
            raise ResponsesError(f"no such responses file: {shown_path(p)}")
        lines: Iterator[str] = _file_lines(p)
        name = str(p)
    else:
        lines, name = iter(io.StringIO("".join(source), newline="")), "<responses>"
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        raise ResponsesError(f"{name} is empty")
    delimiter = max([",", ";", "\t"], key=first.count)
    csv.field_size_limit(MAX_RESPONSES_BYTES)
    reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter)
    rows = _csv_rows(reader, name)
    header = next(rows, None)
    if header is None:
        raise ResponsesError(f"{name} has no header row (id, variant, then one column per answer box)")
    return [h.strip() for h in header], rows


def _file_lines(p: Path) -> Iterator[str]:
    """The lines of a UTF-8 file (a BOM dropped; ends of line kept, as ``open(..., newline="")``
    gives them), read as they are needed; a line that is not UTF-8 is named."""
    with open_regular(p, "responses file", limit=MAX_RESPONSES_BYTES, error=ResponsesError) as f:
        for n, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError:
                raise ResponsesError("not UTF-8 text (save the spreadsheet as 'CSV UTF-8')",
                                     Location(file=str(p), line=n)) from None
            if "\r" in text.rstrip("\r\n"):  # old Mac ends of line: split as text mode would
                yield from io.StringIO(text, newline="")
            else:
                yield text


def _csv_rows(reader: Any, name: str) -> Iterator[list[str]]:
    try:
        for row in reader:
            if any(c.strip() for c in row):
                yield row
    except csv.Error as e:
        raise ResponsesError(f"{name}, line {reader.line_num}: not a valid CSV file ({e})") from None


def _key_of(key: AnswerKey | str | Path) -> AnswerKey:
    return key if isinstance(key, AnswerKey) else AnswerKey.load(key)


def grade(responses: str | Path | tuple[list[str], Iterable[list[str]]], key: AnswerKey | str | Path, *,
          workers: int = 2, timeout: float | None = None, memory_mb: int | None = None,
          student_seconds: float | None = None, class_seconds: float | None = None) -> GradeReport:
    """Grade every answer of every student; see the module docstring. ``timeout`` (seconds per
    answer), ``memory_mb``, ``student_seconds`` and ``class_seconds`` (grading time per student and
    for the class) default to the key's."""
    started = time.perf_counter()
    k = _key_of(key)
    header, rows = responses if isinstance(responses, tuple) else iter_responses(responses)
    where = "" if isinstance(responses, tuple) else str(responses)
    keys = [_column_key(h) for h in header]
    try:
        id_col = next(i for i, h in enumerate(keys) if h in ID_COLUMNS)
    except StopIteration:
        raise ResponsesError(f"the responses need an 'id' column (the header is: {', '.join(header)[:200]})",
                             Location(file=where or None, line=1)) from None
    try:
        var_col = next(i for i, h in enumerate(keys) if h in VARIANT_COLUMNS)
    except StopIteration:
        raise ResponsesError("the responses need a 'variant' column (the variant id printed on each sheet)",
                             Location(file=where or None, line=1)) from None
    item_of = {_column_key(i): i for i in k.items}
    columns: dict[str, int] = {}
    warnings: list[str] = []
    for i, h in enumerate(keys):
        if i in (id_col, var_col):
            continue
        if h in item_of:
            columns[item_of[h]] = i
        elif h:
            warnings.append(f"column '{shown(header[i][:100])}' is not an item of the key; ignored")
    missing = [i for i in k.items if i not in columns]
    if missing:
        warnings.append(f"no column for item{'s' * (len(missing) > 1)} {', '.join(missing)}: graded as blank")
    if not columns:
        raise ResponsesError(f"no column of the responses names an item of the key (items: {', '.join(k.items)})",
                             Location(file=where or None, line=1))

    # One pass over the rows: each row keeps its answer texts and, per answer, the number of its
    # verdict in a table shared by identical answers; the answers that need the parser become tasks.
    items = tuple((i, it.points) for i, it in k.items.items())
    no_answer = Verdict.rejected("the key has no answer for this variant")
    students: list[StudentResult] = []
    row_slots: list[tuple[int, ...]] = []
    slot_of: dict[tuple[str, str, str], int] = {}
    table: list[Verdict | None] = [no_answer]  # slot 0: the key has no answer
    tasks: list[Task] = []
    task_slots: list[int] = []
    task_of_slot: dict[int, int] = {}
    owners: list[list[int]] = []  # per task: the rows that gave this answer (their time budgets)
    fingerprints: dict[tuple[str, str], str] = {}
    variant_ids: dict[str, str | None] = {}  # as written -> the key's id
    seen_ids: set[str] = set()
    dup: dict[str, None] = {}
    for r, row in enumerate(rows, start=2):
        row = row + [""] * (len(header) - len(row))
        sid = row[id_col].strip()[:200] or f"(row {r})"
        if sid in seen_ids:
            dup[sid] = None
        seen_ids.add(sid)
        student = StudentResult(sid, row[var_col].strip()[:20], row=r)
        students.append(student)
        row_slots.append(())
        vid = variant_ids.get(student.variant, "")
        if vid == "":
            vid = variant_ids[student.variant] = normalise_variant(student.variant, k.variants)
        if vid is None:
            student.error = f"unknown variant {student.variant!r}" if student.variant else "no variant given"
            continue
        student.variant = vid
        variant = k.variants[vid]
        texts: list[str] = []
        slots: list[int] = []
        for item_id, item in k.items.items():
            text = row[columns[item_id]] if item_id in columns else ""
            texts.append(_clip(text))
            answer = variant.answers.get(item_id)
            if answer is None:
                slots.append(0)
                continue
            tidy = " ".join(text.split())
            if item.kind in ("formula", "matrix"):  # the same formula on every sheet: graded once for all
                fingerprint = fingerprints.get((item_id, vid))
                if fingerprint is None:
                    fingerprint = fingerprints[item_id, vid] = _fingerprint(answer)
            else:
                fingerprint = vid
            cache_key = (item_id, fingerprint, tidy)
            slot = slot_of.get(cache_key)
            if slot is None:
                slot = slot_of[cache_key] = len(table)
                table.append(None)
                if not tidy:
                    table[slot] = Verdict.blank()
                elif len(tidy) > ANSWER_LIMITS.max_chars:
                    table[slot] = Verdict.rejected(f"the answer is too long ({len(tidy):,} characters; at most "
                                                   f"{ANSWER_LIMITS.max_chars:,})")
                elif item.kind == "number" and is_plain_number(tidy):
                    table[slot] = grade_number(tidy, answer, k.grading)  # plain decimals need no parser
                else:
                    task_of_slot[slot] = len(tasks)
                    task_slots.append(slot)
                    tasks.append(Task(item.kind, tidy, answer, k.grading))
                    owners.append([])
            if slot in task_of_slot:
                owners[task_of_slot[slot]].append(len(students) - 1)
            slots.append(slot)
        student.items, student.texts = items, tuple(texts)
        row_slots[-1] = tuple(slots)
    del seen_ids
    if dup:
        ids = list(dup)
        warnings.append(f"student id{'s' * (len(ids) > 1)} {', '.join(map(shown, ids[:5]))} appear{'s' * (len(ids) == 1)} "
                        "more than once; each row is graded")

    restarts = 0
    if tasks:
        budget = Budget(student_seconds or k.grading.student_seconds, class_seconds or k.grading.class_seconds)
        with GradingPool(workers, timeout=timeout or k.grading.timeout, memory_mb=memory_mb or k.grading.memory_mb) as pool:
            for slot, verdict in zip(task_slots, pool.grade(tasks, owners, budget)):
                table[slot] = verdict
            restarts = pool.restarts
            warnings += _budget_notes(pool, owners, students, budget)
    del owners
    follows = k.grading.mode != "strict" and any(a.follow for v in k.variants.values() for a in v.answers.values())
    item_ids = tuple(k.items)
    for student, numbers in zip(students, row_slots):
        verdicts = tuple(table[i] or Verdict.rejected("not graded") for i in numbers)
        if follows and verdicts:
            verdicts = follow_through(item_ids, verdicts, k.variants[student.variant], k.grading)
        student.set_verdicts(verdicts)
    del row_slots
    report = GradeReport(k.title, k.total_points, students, _statistics(students, k), warnings,
                         answers_graded=sum(len(s.verdicts) for s in students),
                         distinct_graded=len(table) - 1, worker_restarts=restarts)
    report.seconds = time.perf_counter() - started
    return report


def _budget_notes(pool: GradingPool, owners: list[list[int]], students: list[StudentResult],
                  budget: Budget) -> list[str]:
    """What the time budgets left ungraded, for the report's warnings."""
    notes = []
    if pool.over_student:
        rows = sorted({students[o].row for i in pool.over_student for o in owners[i]})
        shown_rows = ", ".join(map(str, rows[:10])) + (", ..." if len(rows) > 10 else "")
        notes.append(f"{len(pool.over_student):,} answer{'s' * (len(pool.over_student) != 1)} not graded: "
                     f"{len(rows):,} student{'s' * (len(rows) != 1)} used up the grading time per student "
                     f"({budget.per_student:g} s; rows {shown_rows}); give more with --student-seconds "
                     "or [grading] student_seconds")
    if pool.over_class:
        notes.append(f"{len(pool.over_class):,} answer{'s' * (len(pool.over_class) != 1)} not graded: the grading "
                     f"time for the class ({budget.total:g} s) was used up; give more with --class-seconds or "
                     "[grading] class_seconds")
    return notes


def _fingerprint(answer: Any) -> str:
    return json.dumps([answer.formula, answer.names, answer.aliases, answer.inputs, answer.program, answer.shapes,
                       answer.domains, answer.of, answer.wrt], sort_keys=True)


def _clip(text: str, n: int = 300) -> str:
    return text if len(text) <= n else text[: n - 20] + f"... ({len(text):,} characters)"


def _statistics(students: Sequence[StudentResult], key: AnswerKey) -> list[ItemStats]:
    stats = {i: ItemStats(i, it.question, it.plain or it.label, it.kind, it.points) for i, it in key.items.items()}
    totals: defaultdict[str, float] = defaultdict(float)
    graded: Counter[str] = Counter()
    for s in students:
        for (item, max_points), v in zip(s.items, s.verdicts):
            st = stats[item]
            st.counts[v.status] = st.counts.get(v.status, 0) + 1
            if v.status != "blank":
                st.answered += 1
            if v.mistake:
                st.mistakes[v.mistake] = st.mistakes.get(v.mistake, 0) + 1
            totals[item] += _points(max_points, v)
            graded[item] += 1
    for i, st in stats.items():
        st.mean_points = round(totals[i] / graded[i], 4) if graded[i] else 0.0
    return list(stats.values())


# ----------------------------------------------------------------------------- writing reports

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula (``=cmd|...``): text that starts
    with ``= + - @`` (after any spaces: spreadsheets skip them) and is not a plain number gets a
    leading apostrophe.

    >>> safe_cell("=1+1"), safe_cell(" =1+1"), safe_cell("-0.5"), safe_cell("w0*s")
    ("'=1+1", "' =1+1", '-0.5', 'w0*s')
    """
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(_DANGEROUS) or (value[0].isspace() and value.lstrip().startswith(_DANGEROUS)):
        if not is_plain_number(value.strip()):
            return "'" + value
    return value


def _write_csv(f: TextIO, rows: Iterable[Sequence[Any]]) -> None:
    w = csv.writer(f, lineterminator="\n")
    for r in rows:
        w.writerow([safe_cell(c) for c in r])


def _csv(rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    _write_csv(buf, rows)
    return buf.getvalue()


def _num(x: float) -> str:
    return f"{x:g}"


def scores_csv(report: GradeReport, key: AnswerKey) -> str:
    return _csv(_scores_rows(report, key))


def _scores_rows(report: GradeReport, key: AnswerKey) -> Iterator[list[Any]]:
    qs = key.questions
    yield ["id", "variant", *[f"Q{q.id}" for q in qs], "total", "max", "percent", "note"]
    for s in report.students:
        per = s.question_points(key) if not s.error else {q.id: 0.0 for q in qs}
        pct = 100.0 * s.score / report.total_points if report.total_points else 0.0
        yield [s.id, s.variant, *[_num(per[q.id]) for q in qs], _num(s.score), _num(report.total_points),
               f"{pct:.1f}", s.error or ""]


def answers_csv(report: GradeReport, key: AnswerKey) -> str:
    return _csv(_answers_rows(report, key))


def _answers_rows(report: GradeReport, key: AnswerKey) -> Iterator[list[Any]]:
    yield ["id", "variant", "item", "question", "answer", "read_as", "status", "points", "max_points", "mistake",
           "feedback"]
    for s in report.students:
        for a in s.answers:
            v = a.verdict
            yield [s.id, s.variant, a.item, key.items[a.item].plain or key.items[a.item].label, a.answer,
                   v.read_as, v.status, _num(a.points), _num(a.max_points), v.mistake or "", v.feedback]


def statistics_csv(report: GradeReport) -> str:
    return _csv(_statistics_rows(report))


def _statistics_rows(report: GradeReport) -> Iterator[list[Any]]:
    yield ["item", "question", "label", "kind", "max_points", "mean_points", "correct", "partial", "wrong",
           "rejected", "blank", "share_correct", "mistakes"]
    for i in report.items:
        mistakes = "; ".join(f"{m} {n}" for m, n in sorted(i.mistakes.items(), key=lambda t: -t[1]))
        yield [i.item, i.question, i.label, i.kind, _num(i.max_points), _num(i.mean_points),
               *[i.counts.get(c, 0) for c in ("correct", "partial", "wrong", "rejected", "blank")],
               f"{i.share_correct:.3f}", mistakes]


def report_markdown(report: GradeReport, key: AnswerKey) -> str:
    return "".join(_markdown_lines(report, key))


def _markdown_lines(report: GradeReport, key: AnswerKey) -> Iterator[str]:
    """``report.md``, line by line (each with its newline)."""
    scores = sorted(s.score for s in report.students if not s.error)
    yield f"# Grading report: {report.title or 'worksheet'}\n\n"
    if scores:
        mean = sum(scores) / len(scores)
        median = scores[len(scores) // 2] if len(scores) % 2 else (scores[len(scores) // 2 - 1] + scores[len(scores) // 2]) / 2
        yield (f"{len(scores)} students graded, {len(report.students) - len(scores)} rows with errors; "
               f"mean {mean:.2f} / {report.total_points:g} points, median {median:g}, "
               f"lowest {scores[0]:g}, highest {scores[-1]:g}.\n")
    del scores
    yield f"{report.answers_graded:,} answers ({report.distinct_graded:,} distinct) graded in {report.seconds:.1f} s.\n"
    yield "\n| item | question | max | mean | correct | partial | wrong | rejected | blank | most common mistake |\n"
    yield "|---|---|---|---|---|---|---|---|---|---|\n"
    for i in report.items:
        top = max(i.mistakes.items(), key=lambda t: t[1]) if i.mistakes else None
        top_text = f"{top[0]} ({top[1]}): {MISTAKES.get(top[0], '')}" if top else ""
        yield (f"| {i.item} | {_md(i.label)} | {i.max_points:g} | {i.mean_points:g} | "
               + " | ".join(str(i.counts.get(c, 0)) for c in ("correct", "partial", "wrong", "rejected", "blank"))
               + f" | {_md(top_text)} |\n")
    if report.warnings:
        yield "\n## Warnings\n\n"
        yield from (f"- {_md(w)}\n" for w in report.warnings)
    first = True
    for s in report.students:
        if s.error:
            if first:
                yield "\n## Rows not graded\n\n"
                first = False
            yield f"- row {s.row}, {_md(s.id)}: {_md(s.error or '')}\n"


def _md(text: str) -> str:
    """A table cell or list entry of report.md: what the text says, not markup (ids are written by anyone)."""
    return markdown_text(text)
