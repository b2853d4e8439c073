"""Worksheets and grading at class scale, measured.

1. ``gradlab worksheet``: 100 variants of the sigmoid neuron (forward and backward blanks,
   five symbolic partials) as Markdown, HTML and key.json, with pictures when gradlab's
   renderer is installed (two Graphviz pictures a variant). Target: under 30 s.
2. ``gradlab grade``: 1,000 students with 5 formula answers each (the five symbolic partials),
   on 2 worker processes. Answers are simulated (gradlab.grading.simulate): right answers in
   many spellings, generated mistakes, wrong and hostile answers. Measured twice: as a class
   hands them in (identical answers graded once), and with every answer made distinct (no
   answer shares a grading with another). Target: under 60 s.

Run:  python benchmarks/worksheets.py [--variants 100] [--students 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from gradlab.grading import grade
from gradlab.grading.simulate import simulate_responses
from gradlab.worksheet import build_worksheet, make_worksheet, spec_from_graph
from gradlab.worksheet.pictures import renderer
from gradlab import Graph

ROOT = Path(__file__).resolve().parent.parent
NEURON = ROOT / "graphs" / "neuron_sigmoid_gate.toml"


def bench_worksheets(variants: int) -> float:
    with tempfile.TemporaryDirectory() as d:
        start = time.perf_counter()
        result = make_worksheet(NEURON, Path(d) / "sheets", variants=variants, seed=2024,
                                formats=("markdown", "html"))
        seconds = time.perf_counter() - start
        size = sum(p.stat().st_size for p in (Path(d) / "sheets").rglob("*") if p.is_file())
    pictures = "with pictures" if result.pictures else "WITHOUT pictures (gradlab.render not installed)"
    print(f"worksheet: {variants} variants (Markdown, HTML, key.json) {pictures}: {seconds:.1f} s, "
          f"{len(result.files)} files, {size / 1e6:.1f} MB  [target < 30 s]")
    return seconds


def bench_grading(students: int, *, distinct: bool) -> float:
    spec = spec_from_graph(Graph.load(NEURON))
    spec.parts[0].questions = ["symbolic"]
    key = build_worksheet(spec, variants=30, seed=2024, pictures=False).key()
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
    print(f"grade: {students} students x {len(key.items)} formula answers ({kind}): {seconds:.1f} s, "
          f"{report.distinct_graded:,} distinct of {report.answers_graded:,}, "
          f"{report.answers_graded / seconds:,.0f} answers/s, worker restarts {report.worker_restarts}; "
          f"{statuses}  [target < 60 s]")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", type=int, default=100)
    ap.add_argument("--students", type=int, default=1000)
    args = ap.parse_args()
    print(f"renderer: {'gradlab.render' if renderer() else 'not installed'}")
    bench_worksheets(args.variants)
    bench_grading(args.students, distinct=False)
    bench_grading(args.students, distinct=True)


if __name__ == "__main__":
    main()
