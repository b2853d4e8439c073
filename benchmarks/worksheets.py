"""Worksheets and grading at class scale, measured, for a scalar and a tensor graph.

1. ``gradlab worksheet``: 100 variants as Markdown, HTML and key.json, with pictures when
   gradlab's renderer is installed (two Graphviz pictures a variant):
   * the sigmoid neuron (forward and backward blanks, five symbolic partials). Target: under 30 s;
   * the two-layer tanh-softmax network of exercise sheet 2, task 6 (vectors and matrices drawn,
     forward blanks entry by entry, three matrix-formula questions, one numeric entry).
   Then side by side, interleaved (``--rounds`` rounds, medians): every picture through its own
   ``dot`` process (the path before issue 16: ``gradlab.render.engine.BATCH = JOBS = 1``) against
   all of a worksheet's pictures through ``engine.JOBS`` (2) ``dot`` processes side by side.
   Target: 100 variants under 3 s.
2. ``gradlab grade`` on 2 worker processes:
   * 1,000 students with the neuron's 5 formula answers. Target: under 60 s;
   * 500 students with task 6's 3 matrix answers (dL/dz, dL/dB, dL/dA); each distinct answer is
     a ``gradlab.verify`` run (25 random points, a bounded symbolic proof for a right answer,
     the mistake named for a wrong one).
   Answers are simulated (gradlab.grading.simulate): right answers in many spellings, generated
   mistakes, wrong and hostile answers. Measured twice: as a class hands them in (identical
   answers graded once), and with every answer made distinct (no two share a grading).

Run:  python benchmarks/worksheets.py [--variants 100] [--students 1000] [--tensor-students 500]
                                     [--rounds 3] [--no-grading]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from gradlab import Graph
from gradlab.grading import grade
from gradlab.grading.simulate import simulate_responses
from gradlab.render import engine
from gradlab.worksheet import WorksheetSpec, build_worksheet, load_spec, make_worksheet, spec_from_graph
from gradlab.worksheet.pictures import renderer

ROOT = Path(__file__).resolve().parent.parent
NEURON = ROOT / "graphs" / "neuron_sigmoid_gate.toml"
TASK6 = ROOT / "graphs" / "two_layer_softmax.toml"


def bench_worksheets(graph: Path, name: str, variants: int, target: float) -> float:
    with tempfile.TemporaryDirectory() as d:
        start = time.perf_counter()
        result = make_worksheet(graph, Path(d) / "sheets", variants=variants, seed=2024,
                                formats=("markdown", "html"))
        seconds = time.perf_counter() - start
        size = sum(p.stat().st_size for p in (Path(d) / "sheets").rglob("*") if p.is_file())
    pictures = "with pictures" if result.pictures else "WITHOUT pictures (gradlab.render not installed)"
    print(f"worksheet: {variants} variants of {name} (Markdown, HTML, key.json) {pictures}: {seconds:.1f} s, "
          f"{len(result.files)} files, {size / 1e6:.1f} MB  [target < {target:g} s]")
    return seconds


def bench_one_dot(graph: Path, name: str, variants: int, rounds: int) -> float:
    """Seconds for ``variants`` variants, one ``dot`` process per picture against one for all,
    interleaved; prints the medians and their ratio. Returns the batched median."""
    batch, jobs = engine.BATCH, engine.JOBS
    times: dict[str, list[float]] = {"one by one": [], "one dot": []}
    try:
        for _ in range(rounds):
            for label, size, workers in (("one by one", 1, 1), ("one dot", batch, jobs)):
                engine.BATCH, engine.JOBS = size, workers
                with tempfile.TemporaryDirectory() as d:
                    start = time.perf_counter()
                    make_worksheet(graph, Path(d) / "sheets", variants=variants, seed=2024,
                                   formats=("markdown", "html"))
                    times[label].append(time.perf_counter() - start)
    finally:
        engine.BATCH, engine.JOBS = batch, jobs
    old, new = (statistics.median(times[k]) for k in ("one by one", "one dot"))
    print(f"pictures: {variants} variants of {name}, {2 * variants} pictures, medians of {rounds} interleaved "
          f"rounds: one dot process per picture {old:.2f} s, {jobs} dot processes for all {new:.2f} s, "
          f"ratio {old / new:.2f}x  [target < 3 s]")
    return new


def bench_grading(spec: WorksheetSpec, question: str, variants: int, students: int, *, distinct: bool) -> float:
    spec.parts[0].questions = [question]
    key = build_worksheet(spec, variants=variants, seed=2024, pictures=False).key()
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
    print(f"grade: {students} students x {len(key.items)} {question} answers ({kind}): {seconds:.1f} s, "
          f"{report.distinct_graded:,} distinct of {report.answers_graded:,}, "
          f"{report.distinct_graded / seconds:,.0f} distinct answers/s, worker restarts {report.worker_restarts}; "
          f"{statuses}  [target < 60 s]")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", type=int, default=100)
    ap.add_argument("--students", type=int, default=1000, help="students answering the neuron's formulas")
    ap.add_argument("--tensor-students", type=int, default=500, help="students answering task 6's matrices")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the one-dot comparison")
    ap.add_argument("--no-grading", action="store_true", help="only the worksheets")
    args = ap.parse_args()
    print(f"renderer: {'gradlab.render' if renderer() else 'not installed'}")
    bench_worksheets(NEURON, "the sigmoid neuron", args.variants, 30)
    bench_worksheets(TASK6, "task 6 (vectors and matrices)", args.variants, 60)
    if renderer() and engine.find_dot():
        bench_one_dot(NEURON, "the sigmoid neuron", args.variants, args.rounds)
        bench_one_dot(TASK6, "task 6 (vectors and matrices)", args.variants, args.rounds)
    if args.no_grading:
        return
    for distinct in (False, True):
        bench_grading(spec_from_graph(Graph.load(NEURON)), "symbolic", 30, args.students, distinct=distinct)
    for distinct in (False, True):
        bench_grading(load_spec(TASK6), "matrix", 20, args.tensor_students, distinct=distinct)


if __name__ == "__main__":
    main()
