"""Worksheets of a tensor graph (exercise sheet 2, task 6) and matrix-formula grading, measured.

1. ``gradlab worksheet graphs/two_layer_softmax.toml``: 100 variants (vectors and matrices drawn,
   forward blanks entry by entry, three matrix-formula questions, one numeric entry) as Markdown,
   HTML and key.json with two Graphviz pictures a variant. Target: under 60 s.
2. ``gradlab grade``: 500 students with the 3 matrix answers (dL/dz, dL/dB, dL/dA), on 2 worker
   processes; each distinct answer is a ``gradlab.verify`` run (25 random points, a bounded
   symbolic proof for a right answer, the mistake named for a wrong one). Answers are simulated
   (gradlab.grading.simulate: right ones in several spellings, the generated mistakes, wrong and
   hostile ones), graded as handed in and with every answer made distinct. Target: under 60 s.

Run:  python benchmarks/worksheets_tensor.py [--variants 100] [--students 500]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from gradlab.grading import grade
from gradlab.grading.simulate import simulate_responses
from gradlab.worksheet import build_worksheet, load_spec, make_worksheet
from gradlab.worksheet.pictures import renderer

ROOT = Path(__file__).resolve().parent.parent
TASK6 = ROOT / "graphs" / "two_layer_softmax.toml"


def bench_worksheets(variants: int) -> float:
    with tempfile.TemporaryDirectory() as d:
        start = time.perf_counter()
        result = make_worksheet(TASK6, Path(d) / "sheets", variants=variants, seed=2024,
                                formats=("markdown", "html"))
        seconds = time.perf_counter() - start
    pictures = "with pictures" if result.pictures else "WITHOUT pictures (gradlab.render not installed)"
    print(f"worksheet: {variants} variants of task 6 (Markdown, HTML, key.json) {pictures}: {seconds:.1f} s, "
          f"{len(result.files)} files  [target < 60 s]")
    return seconds


def bench_grading(students: int, *, distinct: bool) -> float:
    spec = load_spec(TASK6)
    spec.parts[0].questions = ["matrix"]
    key = build_worksheet(spec, variants=20, seed=2024, pictures=False).key()
    header, rows = simulate_responses(key, students, seed=1, hostile=0.01)
    if distinct:  # a different text for every answer: no two answers share a grading
        for r, row in enumerate(rows):
            for c in range(2, len(row)):
                if row[c]:
                    row[c] = f"({row[c]}) + 0*{r * 10 + c}"
    start = time.perf_counter()
    report = grade((header, rows), key, workers=2)
    seconds = time.perf_counter() - start
    statuses: dict[str, int] = {}
    for s in report.students:
        for a in s.answers:
            statuses[a.verdict.status] = statuses.get(a.verdict.status, 0) + 1
    kind = "every answer distinct" if distinct else "as handed in"
    print(f"grade: {students} students x {len(key.items)} matrix answers ({kind}): {seconds:.1f} s, "
          f"{report.distinct_graded:,} distinct of {report.answers_graded:,}, "
          f"{report.distinct_graded / seconds:,.0f} distinct answers/s, worker restarts {report.worker_restarts}; "
          f"{statuses}  [target < 60 s]")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", type=int, default=100)
    ap.add_argument("--students", type=int, default=500)
    args = ap.parse_args()
    print(f"renderer: {'gradlab.render' if renderer() else 'not installed'}")
    bench_worksheets(args.variants)
    bench_grading(args.students, distinct=False)
    bench_grading(args.students, distinct=True)


if __name__ == "__main__":
    main()
