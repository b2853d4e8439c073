"""How long drawing takes, from 100 to 10,000 gates: DOT source, and Graphviz's own layout.

The graphs are the chain of benchmarks/scaling.py, ``h_i = tanh(w_i*h_{i-1} + b_i)`` (3 gates
a layer). For each size it times, at one point:

  * DOT, structure only (no numbers): ``to_dot(g)``;
  * DOT, full solution: ``evaluate`` (forward values and every wire's gradient) + ``to_dot``;
  * DOT, worksheet: the solution with every gradient a numbered blank, and its blank map;
  * Graphviz ``dot -Tsvg`` on the solution's DOT (sizes up to ``--layout-max``, each capped).

Run:  python benchmarks/render.py [--sizes 100,1000,10000] [--layout-max 1000] [--cap 120]
Target (2-core machine): the 10,000-gate graph to DOT (solution, evaluation included) in under 5 s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gradlab  # noqa: E402
from gradlab import Graph, draw, evaluate, to_dot  # noqa: E402
from gradlab.render import find_dot  # noqa: E402

from scaling import chain_program, point  # noqa: E402

TARGET_S = 5.0


def timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def layout_time(dot_source: str, cap: float) -> str:
    exe = find_dot()
    if exe is None:
        return "no dot"
    t0 = time.perf_counter()
    try:
        subprocess.run([exe, "-Tsvg"], input=dot_source.encode(), capture_output=True, timeout=cap, check=True)
    except subprocess.TimeoutExpired:
        return f"> {cap:.0f} s (cap)"
    return f"{time.perf_counter() - t0:.2f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--layout-max", type=int, default=1000, help="run Graphviz on graphs up to this many gates")
    ap.add_argument("--cap", type=float, default=120.0, help="time cap for one Graphviz run, seconds")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    to_dot("f = tanh(x)", {"x": 0.1})  # warm up: compile the local partials
    print(f"gradlab {gradlab.__version__}: drawing the chain h_i = tanh(w_i*h_(i-1) + b_i)")
    print(f"{'gates':>6} {'wires':>6} {'DOT lines':>9} {'structure':>10} {'evaluate':>9} {'solution':>9} "
          f"{'worksheet':>10} {'dot -Tsvg':>12}")
    results = {}
    for size in sizes:
        g = Graph.parse(chain_program(size))
        at = point(g)
        structure, t_structure = timed(lambda: to_dot(g))
        ev, t_eval = timed(lambda: evaluate(g, at))
        solution, t_solution = timed(lambda: to_dot(g, ev))
        sheet, t_sheet = timed(lambda: draw(g, ev, blanks="gradients", numbered=True))
        assert len(sheet.blanks) == len(g.edges()) + 1
        layout = layout_time(solution, args.cap) if len(g.op_nodes) <= args.layout_max else "-"
        results[size] = t_eval + t_solution
        print(f"{len(g.op_nodes):>6} {len(g.edges()) + 1:>6} {solution.count(chr(10)):>9} {t_structure:>9.2f}s "
              f"{t_eval:>8.2f}s {t_solution:>8.2f}s {t_sheet:>9.2f}s {layout:>12}")
    big = max(sizes)
    verdict = "PASS" if results[big] < TARGET_S else "FAIL"
    print(f"\n{big:,}-gate chain to DOT (evaluate + solution): {results[big]:.2f} s; target < {TARGET_S:g} s: {verdict}")
    if len(sizes) >= 2:
        mid = sorted(sizes)[-2]
        print(f"time({big:,}) / time({mid:,}) = {results[big] / results[mid]:.1f} (linear: about {big / mid:.0f})")


if __name__ == "__main__":
    main()
