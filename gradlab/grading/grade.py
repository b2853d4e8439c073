"""Grade a class: responses (CSV) against a worksheet's ``key.json``, scores and feedback out.

>>> report = grade("responses.csv", "sheets/key.json")          # doctest: +SKIP
>>> report.write("report/")                                     # doctest: +SKIP

The responses CSV has a row per student: ``id``, ``variant`` and one column per item of the key
(``1.1``, ``1.2``, ``3.1``, ... as the sheets number them; ``Q3.1`` works too). Every answer is
graded on its own: an answer that cannot be read, or takes too long, is rejected with a message
and the rest of the class is graded as usual. Identical answers to the same item are graded once.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..answerkey import MISTAKES, AnswerKey, normalise_variant
from ..errors import GradlabError, Location
from ..fileio import output_folder, path_kind, read_bytes, shown, write_atomic
from .formulas import ANSWER_LIMITS
from .numbers import grade_number, is_plain_number
from .verdict import Verdict
from .worker import GradingPool, Task

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


@dataclass
class StudentResult:
    """One row of the responses: the student's answers, graded, and the score."""

    id: str
    variant: str
    answers: list[AnswerResult] = field(default_factory=list)
    error: str | None = None
    row: int = 0

    @property
    def score(self) -> float:
        return round(sum(a.points for a in self.answers), 6)

    def question_points(self, key: AnswerKey) -> dict[str, float]:
        out = {q.id: 0.0 for q in key.questions}
        for a in self.answers:
            out[key.items[a.item].question] += a.points
        return {k: round(v, 6) for k, v in out.items()}


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title, "total_points": self.total_points, "warnings": self.warnings,
            "seconds": round(self.seconds, 3), "answers_graded": self.answers_graded,
            "distinct_graded": self.distinct_graded, "worker_restarts": self.worker_restarts,
            "students": [{"id": s.id, "variant": s.variant, "score": s.score, "error": s.error,
                          "answers": [{"item": a.item, "answer": a.answer, "points": a.points,
                                       "max_points": a.max_points, **a.verdict.to_dict()} for a in s.answers]}
                         for s in self.students],
            "items": [{**asdict(i), "share_correct": round(i.share_correct, 4)} for i in self.items],
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    def write(self, folder: str | Path, key: AnswerKey) -> list[Path]:
        """Write ``scores.csv``, ``answers.csv``, ``statistics.csv``, ``report.md`` and ``report.json``."""
        out = output_folder(folder)
        files = {
            "scores.csv": scores_csv(self, key),
            "answers.csv": answers_csv(self, key),
            "statistics.csv": statistics_csv(self),
            "report.md": report_markdown(self, key),
            "report.json": self.to_json(indent=1),
        }
        for name, text in files.items():
            write_atomic(out / name, text)
        return [out / n for n in files]


# ----------------------------------------------------------------------------- reading responses

def _column_key(name: str) -> str:
    s = name.strip().lower().replace(" ", "")
    s = re.sub(r"^(q|question|item)", "", s)
    return s.rstrip(":")


def read_responses(source: str | Path | Iterable[str]) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a responses CSV (comma, semicolon or tab separated, UTF-8 with or without BOM)."""
    if isinstance(source, (str, Path)):
        p = Path(source)
        if path_kind(p) is None:
            raise ResponsesError(f"no such responses file: {shown(p)}")
        try:
            text = read_bytes(p, "responses file", limit=MAX_RESPONSES_BYTES, error=ResponsesError).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ResponsesError(f"{p} is not UTF-8 text (save the spreadsheet as 'CSV UTF-8')") from None
        name = str(p)
    else:
        text, name = "".join(source), "<responses>"
    if not text.strip():
        raise ResponsesError(f"{name} is empty")
    first = text.splitlines()[0]
    delimiter = max([",", ";", "\t"], key=first.count)
    csv.field_size_limit(MAX_RESPONSES_BYTES)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as e:
        raise ResponsesError(f"{name}: not a valid CSV file ({e})") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    return [h.strip() for h in rows[0]], rows[1:]


# ----------------------------------------------------------------------------- grading

def _key_of(key: AnswerKey | str | Path) -> AnswerKey:
    return key if isinstance(key, AnswerKey) else AnswerKey.load(key)


def grade(responses: str | Path | tuple[list[str], list[list[str]]], key: AnswerKey | str | Path, *,
          workers: int = 2, timeout: float | None = None, memory_mb: int | None = None) -> GradeReport:
    """Grade every answer of every student; see the module docstring."""
    started = time.perf_counter()
    k = _key_of(key)
    header, rows = responses if isinstance(responses, tuple) else read_responses(responses)
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
            warnings.append(f"column '{header[i]}' is not an item of the key; ignored")
    missing = [i for i in k.items if i not in columns]
    if missing:
        warnings.append(f"no column for item{'s' * (len(missing) > 1)} {', '.join(missing)}: graded as blank")
    if not columns:
        raise ResponsesError(f"no column of the responses names an item of the key (items: {', '.join(k.items)})",
                             Location(file=where or None, line=1))

    students: list[StudentResult] = []
    tasks: list[Task] = []
    task_of: dict[tuple[str, str, str], int] = {}
    pending: list[tuple[StudentResult, str, str, tuple[str, str, str]]] = []  # student, item, text, cache key
    local: dict[tuple[str, str, str], Verdict] = {}
    seen_ids: Counter[str] = Counter()
    for r, row in enumerate(rows, start=2):
        row = row + [""] * (len(header) - len(row))
        sid = row[id_col].strip()[:200] or f"(row {r})"
        seen_ids[sid] += 1
        student = StudentResult(sid, row[var_col].strip()[:20], row=r)
        students.append(student)
        vid = normalise_variant(student.variant, k.variants)
        if vid is None:
            student.error = f"unknown variant {student.variant!r}" if student.variant else "no variant given"
            continue
        student.variant = vid
        variant = k.variants[vid]
        for item_id, item in k.items.items():
            text = row[columns[item_id]] if item_id in columns else ""
            answer = variant.answers.get(item_id)
            if answer is None:
                student.answers.append(AnswerResult(item_id, _clip(text), 0.0, item.points,
                                                    Verdict.rejected("the key has no answer for this variant")))
                continue
            tidy = " ".join(text.split())
            fingerprint = _fingerprint(answer) if item.kind in ("formula", "matrix") else vid
            cache_key = (item_id, fingerprint, tidy)
            if cache_key in local or cache_key in task_of:
                pass
            elif not tidy:
                local[cache_key] = Verdict.blank()
            elif len(tidy) > ANSWER_LIMITS.max_chars:
                local[cache_key] = Verdict.rejected(f"the answer is too long ({len(tidy):,} characters; at most "
                                                    f"{ANSWER_LIMITS.max_chars:,})")
            elif item.kind == "number" and is_plain_number(tidy):
                local[cache_key] = grade_number(tidy, answer, k.grading)  # plain decimals need no parser
            else:
                task_of[cache_key] = len(tasks)
                tasks.append(Task(item.kind, tidy, answer, k.grading))
            pending.append((student, item_id, text, cache_key))
    dup = [s for s, n in seen_ids.items() if n > 1]
    if dup:
        warnings.append(f"student id{'s' * (len(dup) > 1)} {', '.join(dup[:5])} appear{'s' * (len(dup) == 1)} "
                        "more than once; each row is graded")

    restarts = 0
    verdicts: list[Verdict] = []
    if tasks:
        with GradingPool(workers, timeout=timeout or k.grading.timeout, memory_mb=memory_mb or k.grading.memory_mb) as pool:
            verdicts = pool.grade(tasks)
            restarts = pool.restarts
    for student, item_id, text, cache_key in pending:
        verdict = local[cache_key] if cache_key in local else verdicts[task_of[cache_key]]
        student.answers.append(AnswerResult(item_id, _clip(text), 0.0, k.items[item_id].points, verdict))
    order = {i: n for n, i in enumerate(k.items)}
    for s in students:
        s.answers.sort(key=lambda a: order[a.item])
        for a in s.answers:
            a.points = round(a.max_points * a.verdict.fraction, 6)
    report = GradeReport(k.title, k.total_points, students, _statistics(students, k), warnings,
                         answers_graded=sum(len(s.answers) for s in students),
                         distinct_graded=len(tasks) + len(local), worker_restarts=restarts)
    report.seconds = time.perf_counter() - started
    return report


def _fingerprint(answer: Any) -> str:
    return json.dumps([answer.formula, answer.names, answer.aliases, answer.inputs, answer.program, answer.shapes,
                       answer.domains, answer.of, answer.wrt], sort_keys=True)


def _clip(text: str, n: int = 300) -> str:
    return text if len(text) <= n else text[: n - 20] + f"... ({len(text):,} characters)"


def _statistics(students: Sequence[StudentResult], key: AnswerKey) -> list[ItemStats]:
    stats = {i: ItemStats(i, it.question, it.plain or it.label, it.kind, it.points) for i, it in key.items.items()}
    totals: defaultdict[str, float] = defaultdict(float)
    for s in students:
        for a in s.answers:
            st = stats[a.item]
            st.counts[a.verdict.status] = st.counts.get(a.verdict.status, 0) + 1
            if a.verdict.status != "blank":
                st.answered += 1
            if a.verdict.mistake:
                st.mistakes[a.verdict.mistake] = st.mistakes.get(a.verdict.mistake, 0) + 1
            totals[a.item] += a.points
    graded = Counter(a.item for s in students for a in s.answers)
    for i, st in stats.items():
        st.mean_points = round(totals[i] / graded[i], 4) if graded[i] else 0.0
    return list(stats.values())


# ----------------------------------------------------------------------------- writing reports

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula (``=cmd|...``): text that starts
    with ``= + - @`` and is not a plain number gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_DANGEROUS) and not is_plain_number(value):
        return "'" + value
    return value


def _csv(rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for r in rows:
        w.writerow([safe_cell(c) for c in r])
    return buf.getvalue()


def _num(x: float) -> str:
    return f"{x:g}"


def scores_csv(report: GradeReport, key: AnswerKey) -> str:
    qs = key.questions
    rows: list[list[Any]] = [["id", "variant", *[f"Q{q.id}" for q in qs], "total", "max", "percent", "note"]]
    for s in report.students:
        per = s.question_points(key) if not s.error else {q.id: 0.0 for q in qs}
        pct = 100.0 * s.score / report.total_points if report.total_points else 0.0
        rows.append([s.id, s.variant, *[_num(per[q.id]) for q in qs], _num(s.score), _num(report.total_points),
                     f"{pct:.1f}", s.error or ""])
    return _csv(rows)


def answers_csv(report: GradeReport, key: AnswerKey) -> str:
    rows: list[list[Any]] = [["id", "variant", "item", "question", "answer", "read_as", "status", "points",
                              "max_points", "mistake", "feedback"]]
    for s in report.students:
        for a in s.answers:
            v = a.verdict
            rows.append([s.id, s.variant, a.item, key.items[a.item].plain or key.items[a.item].label, a.answer,
                         v.read_as, v.status, _num(a.points), _num(a.max_points), v.mistake or "", v.feedback])
    return _csv(rows)


def statistics_csv(report: GradeReport) -> str:
    rows: list[list[Any]] = [["item", "question", "label", "kind", "max_points", "mean_points", "correct", "partial",
                              "wrong", "rejected", "blank", "share_correct", "mistakes"]]
    for i in report.items:
        mistakes = "; ".join(f"{m} {n}" for m, n in sorted(i.mistakes.items(), key=lambda t: -t[1]))
        rows.append([i.item, i.question, i.label, i.kind, _num(i.max_points), _num(i.mean_points),
                     *[i.counts.get(c, 0) for c in ("correct", "partial", "wrong", "rejected", "blank")],
                     f"{i.share_correct:.3f}", mistakes])
    return _csv(rows)


def report_markdown(report: GradeReport, key: AnswerKey) -> str:
    graded = [s for s in report.students if not s.error]
    scores = sorted(s.score for s in graded)
    lines = [f"# Grading report: {report.title or 'worksheet'}", ""]
    if scores:
        mean = sum(scores) / len(scores)
        median = scores[len(scores) // 2] if len(scores) % 2 else (scores[len(scores) // 2 - 1] + scores[len(scores) // 2]) / 2
        lines.append(f"{len(graded)} students graded, {len(report.students) - len(graded)} rows with errors; "
                     f"mean {mean:.2f} / {report.total_points:g} points, median {median:g}, "
                     f"lowest {scores[0]:g}, highest {scores[-1]:g}.")
    lines.append(f"{report.answers_graded:,} answers ({report.distinct_graded:,} distinct) graded in "
                 f"{report.seconds:.1f} s.")
    lines += ["", "| item | question | max | mean | correct | partial | wrong | rejected | blank | most common mistake |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for i in report.items:
        top = max(i.mistakes.items(), key=lambda t: t[1]) if i.mistakes else None
        top_text = f"{top[0]} ({top[1]}): {MISTAKES.get(top[0], '')}" if top else ""
        lines.append(f"| {i.item} | {_md(i.label)} | {i.max_points:g} | {i.mean_points:g} | "
                     + " | ".join(str(i.counts.get(c, 0)) for c in ("correct", "partial", "wrong", "rejected", "blank"))
                     + f" | {_md(top_text)} |")
    if report.warnings:
        lines += ["", "## Warnings", ""] + [f"- {_md(w)}" for w in report.warnings]
    errors = [s for s in report.students if s.error]
    if errors:
        lines += ["", "## Rows not graded", ""] + [f"- row {s.row}, {_md(s.id)}: {_md(s.error or '')}" for s in errors]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
