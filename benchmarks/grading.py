"""Grading overhead per answer: 5,000 distinct formula answers (1,000 students x the neuron's 5 partials,
simulated and each made distinct) through a pool of 2 workers, answers sent one per round trip against in
batches, interleaved rounds (issue 16, item 6). Target: under 2 s with 2 workers on a quiet machine.

Run:  python benchmarks/grading.py [--students 1000] [--rounds 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from gradlab import Graph
from gradlab.grading import grade
from gradlab.grading import worker as worker_module
from gradlab.grading.simulate import simulate_responses
from gradlab.worksheet import build_worksheet, spec_from_graph

NEURON = Path(__file__).resolve().parent.parent / "graphs" / "neuron_sigmoid_gate.toml"




def responses(students: int) -> tuple[object, tuple[list[str], list[list[str]]]]:
    spec = spec_from_graph(Graph.load(NEURON))
    spec.parts[0].questions = ["symbolic"]
    key = build_worksheet(spec, variants=30, seed=2024, pictures=False).key()
    header, rows = simulate_responses(key, students, seed=1, hostile=0.01)
    for r, row in enumerate(rows):  # a different text for every answer: no two answers share a grading
        for c in range(2, len(row)):
            if row[c]:
                row[c] = f"({row[c]}) + 0*{r * 10 + c}"
    return key, (header, rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    key, data = responses(args.students)
    batch = worker_module.MAX_BATCH
    times: dict[str, list[float]] = {"one per round trip": [], "batches": []}
    verdicts: dict[str, list[str]] = {}
    try:
        for _ in range(args.rounds):
            for label, size in (("one per round trip", 1), ("batches", batch)):
                worker_module.MAX_BATCH = size
                start = time.perf_counter()
                report = grade(data, key, workers=args.workers)  # type: ignore[arg-type]
                times[label].append(time.perf_counter() - start)
                verdicts[label] = [a.verdict.status for s in report.students for a in s.answers]
    finally:
        worker_module.MAX_BATCH = batch
    old, new = (statistics.median(times[k]) for k in times)
    print(f"grade: {report.distinct_graded:,} distinct answers, {args.workers} workers, medians of {args.rounds} "
          f"interleaved rounds: one per round trip {old:.2f} s, batches of up to {batch} {new:.2f} s, ratio "
          f"{old / new:.2f}x; same verdicts: {verdicts['batches'] == verdicts['one per round trip']}  "
          "[target < 2 s]")


if __name__ == "__main__":
    main()
