"""``gradlab grade RESPONSES.csv --key DIR/key.json -o report/``: grade a class's answers."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from .common import UsageError, add_json, print_json

if TYPE_CHECKING:  # pragma: no cover
    from ..grading.grade import GradeReport


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "grade", help="grade a class's worksheet answers (CSV) against key.json: scores, feedback, statistics",
        description="Grade every answer of every student: numbers by tolerance (or significant figures), "
                    "formulas by safe parsing, numerical probing and symbolic equivalence, with partial credit "
                    "and feedback that names common mistakes. Each answer is graded in a worker with time and "
                    "memory limits; an answer that cannot be read is rejected with a message and the rest of "
                    "the class is graded. Writes scores.csv, answers.csv, statistics.csv, report.md, report.json, "
                    "a feedback page per student (feedback/ID.html, with their variant's picture marked) and a "
                    "class overview (overview.html, with plots), and their PDFs when Chromium is installed.",
        epilog="the CSV has a row per student: id, variant, and one column per answer box (see "
               "DIR/responses-template.csv written by 'gradlab worksheet')")
    p.add_argument("responses", metavar="RESPONSES.csv", help="the class's answers")
    p.add_argument("--key", required=True, metavar="KEY.json", help="the key.json that 'gradlab worksheet' wrote")
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="folder for the reports")
    p.add_argument("--workers", type=int, default=2, help="grading worker processes (default 2)")
    p.add_argument("--timeout", type=float, default=None, help="seconds per answer (default: the key's, 5)")
    p.add_argument("--student-seconds", type=float, default=None,
                   help="grading time for one student's answers; the rest are not graded (default: the key's, 30)")
    p.add_argument("--class-seconds", type=float, default=None,
                   help="grading time for the whole class (default: the key's, 3600)")
    p.add_argument("--sheets", metavar="DIR", default=None,
                   help="the worksheet folder whose pictures the feedback pages show (default: the key's folder)")
    p.add_argument("--no-feedback", action="store_true", help="no feedback pages or class overview")
    p.add_argument("--no-pdf", action="store_true", help="feedback pages and overview in HTML only (no Chromium)")
    add_json(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..fileio import output_folder
    from ..grading import grade
    from ..model.answerkey import AnswerKey

    if not 1 <= args.workers <= 64:
        raise UsageError("--workers must be from 1 to 64")
    if args.timeout is not None and not 0.1 <= args.timeout <= 600:
        raise UsageError("--timeout must be from 0.1 to 600 seconds")
    for name, hi in (("student_seconds", 86400), ("class_seconds", 604800)):
        value = getattr(args, name)
        if value is not None and not 1 <= value <= hi:
            raise UsageError(f"--{name.replace('_', '-')} must be from 1 to {hi} seconds")
    key = AnswerKey.load(args.key)
    output_folder(args.out, create=False)
    report = grade(args.responses, key, workers=args.workers, timeout=args.timeout,
                   student_seconds=args.student_seconds, class_seconds=args.class_seconds)
    files = report.write(args.out, key)
    notes: list[str] = []
    if not args.no_feedback:
        from pathlib import Path

        from ..grading.feedback import write_feedback

        sheets = args.sheets if args.sheets is not None else Path(args.key).parent
        feedback = write_feedback(report, key, args.out, sheets=sheets, pdf=not args.no_pdf)
        files += [f for f in feedback.files if f.parent == feedback.folder]
        if feedback.students:
            files.append(feedback.folder / "feedback")
        notes = feedback.notes
    if args.json:
        print_json({"files": [str(f) for f in files], **{k: v for k, v in report.to_dict(students=False).items()
                                                          if k != "students"},
                    "scores": [{"id": s.id, "variant": s.variant, "score": s.score, "error": s.error}
                               for s in report.students]})
    else:
        print(report_summary(report))
        print(f"wrote {', '.join(f.name + ('/' if f.is_dir() else '') for f in files)} to {args.out}")
    for w in report.warnings:
        sys.stderr.write(f"gradlab grade: warning: {w}\n")
    for n in notes:
        sys.stderr.write(f"gradlab grade: note: {n}\n")
    return 0


def report_summary(report: GradeReport) -> str:
    from ..check.report import table

    graded = [s for s in report.students if not s.error]
    lines = [f"{report.title}: {len(graded)} students graded"
             + (f", {len(report.students) - len(graded)} rows not graded" if len(graded) < len(report.students) else "")
             + f"; {report.answers_graded:,} answers ({report.distinct_graded:,} distinct) in {report.seconds:.1f} s"]
    rows = []
    for i in report.items:
        top = max(i.mistakes.items(), key=lambda t: t[1])[0] if i.mistakes else "-"
        rows.append([i.item, i.label[:28], f"{i.mean_points:g}/{i.max_points:g}", i.counts.get("correct", 0),
                     i.counts.get("partial", 0), i.counts.get("wrong", 0), i.counts.get("rejected", 0),
                     i.counts.get("blank", 0), top])
    lines.append(table(["item", "question", "mean", "correct", "partial", "wrong", "rejected", "blank",
                        "top mistake"], rows))
    return "\n".join(lines)
