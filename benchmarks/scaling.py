"""How the full gradient check scales with graph size, beside the naive SymPy route.

Two families of graphs, each at about 100, 1,000 and 10,000 gates:
  * chain: ``h_i = tanh(w_i*h_{i-1} + b_i)`` (3 gates a layer, deep);
  * wide:  ``f = w_1*x_1 + w_2*x_2 + ...`` (2 gates a term, shallow).

"full check" is :func:`gradlab.gradients` at one point: symbolic adjoints (staged form),
numeric values and adjoints, Richardson central differences for every input, and
torch autograd, all compared. "naive" is what a student would write first: substitute
the whole graph into one SymPy expression and call ``sympy.diff`` on it once per input,
then evaluate; it is stopped at a time cap and reported as over the cap.

Run:  python benchmarks/scaling.py [--cap 20] [--sizes 100,1000,10000]
      python benchmarks/scaling.py --against /tmp/old [--rounds 3] [--sizes 1000,10000]
      python benchmarks/scaling.py --fresh --sizes 10000,100000 [--rounds 5]
``--against DIR`` times the full check of each graph with this checkout and with an older one
(``git worktree add /tmp/old REV``), each in a fresh process, interleaved round by round, and prints
the medians and their ratio: the side-by-side figure for "no slower than the previous engine".
``--fresh`` checks the chain alone, each size in a fresh process, with CPU seconds and peak memory.
Targets (2-core machine): 10,000 gates fully checked in under 3 s, 100,000 in under 30 s and 1 GB;
time(100,000) / time(10,000) <= 12; no slower than the previous engine.
Measured (``--fresh --sizes 10000,100000 --rounds 5``, the 2-core machine shared, a slow day): 10,000 gates
0.78 to 0.94 s wall (CPU the same), 355 MB peak RSS; 100,000 gates 10.3 to 12.5 s, 936 MB; ratio 12.9 to 13.5.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import gradlab
from gradlab import Graph, gradients


def chain_program(gates: int) -> str:
    layers = max(1, gates // 3)
    return "\n".join(["h0 = x"] + [f"h{i} = tanh(w{i}*h{i - 1} + b{i})" for i in range(1, layers + 1)])


def wide_program(gates: int) -> str:
    terms = max(1, (gates + 1) // 2)
    return "f = " + " + ".join(f"w{i}*x{i}" for i in range(1, terms + 1))


def point(g: Graph) -> dict[str, float]:
    return {n: 0.3 + 0.4 * ((i * 7919) % 13) / 13 for i, n in enumerate(g.inputs)}


def naive(program: str, q: "mp.Queue[float | str]") -> None:
    import sympy as sp

    from gradlab.engine.symbolic import expr as expr_of
    from gradlab.engine.symbolic import node_symbol

    start = time.perf_counter()
    try:
        g = Graph.parse(program)
        expr = expr_of(g)
        subs = {node_symbol(n): v for n, v in point(g).items()}
        for n in g.inputs:
            float(sp.diff(expr, node_symbol(n)).evalf(subs=subs))
    except RecursionError:
        q.put(f"failed after {time.perf_counter() - start:.1f} s: the expression is too deep for SymPy "
              "(RecursionError)")
        return
    q.put(time.perf_counter() - start)


def run_naive(program: str, cap: float) -> str:
    q: mp.Queue = mp.get_context("fork").Queue()
    p = mp.get_context("fork").Process(target=naive, args=(program, q))
    p.start()
    p.join(cap)
    if p.is_alive():
        p.kill()
        p.join()
        return f"> {cap:.0f} s (over the cap)"
    result = q.get()
    return result if isinstance(result, str) else f"{result:.2f} s"


#: One full check in a fresh process: parse, warm up, then time gradients() alone (wall and CPU seconds), and the
#: process's peak resident memory (MB).
_TIMED = """
import resource, sys, time
from gradlab import Graph, gradients
sys.path.insert(0, {bench!r})
from scaling import {make}, point
g = Graph.parse({make}({size}))
gradients("f = tanh(x)", {{"x": 0.1}})
t, c = time.perf_counter(), time.process_time()
r = gradients(g, point(g))
print(time.perf_counter() - t, time.process_time() - c, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, r.ok)
"""


def measured(make: str, size: int, path: str) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak memory (MB) of one full check in a fresh process, with the gradlab
    package found first on ``path``."""
    code = _TIMED.format(bench=str(Path(__file__).parent), make=make, size=size)
    env = {**os.environ, "PYTHONPATH": path}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd="/", capture_output=True, text=True, check=True)
    seconds, cpu, rss, ok = out.stdout.split()
    if ok != "True":
        raise SystemExit(f"the check of {make}({size}) failed with {path}")
    return float(seconds), float(cpu), float(rss)


def timed(make: str, size: int, path: str) -> float:
    """Seconds of one full check with the gradlab package found first on ``path``."""
    return measured(make, size, path)[0]


def fresh(sizes: list[int], rounds: int = 1) -> None:
    """The chain's full check at each size in a fresh process: wall and CPU seconds, peak memory, and how the
    time grows per 10x (issue 16: 10,000 gates under 3 s, 100,000 under 30 s and 1 GB, ratio at most 12). With
    ``rounds`` > 1 the sizes are interleaved round by round (the order reversed every other round, so drift on a
    shared machine hits every size alike); the figures are medians, and each ratio is the median of the rounds'
    ratios."""
    here = str(Path(__file__).resolve().parent.parent)
    found: dict[int, list[tuple[float, float, float]]] = {s: [] for s in sizes}
    for r in range(rounds):
        for size in (sizes if r % 2 == 0 else sizes[::-1]):
            found[size].append(measured("chain_program", size, here))
    print(f"chain, full check in a fresh process, median of {rounds} interleaved round(s)")
    print(f"{'graph':6} {'gates':>7} {'wall':>8} {'cpu':>8} {'peak RSS':>9}   wall per round")
    for size in sizes:
        wall, cpu, rss = (statistics.median(x[i] for x in found[size]) for i in range(3))
        each = " ".join(f"{x[0]:.2f}" for x in found[size])
        print(f"{'chain':6} {size:>7} {wall:>7.2f}s {cpu:>7.2f}s {max(x[2] for x in found[size]):>6.0f} MB   {each}")
    for a, b in zip(sizes, sizes[1:]):
        wall = [q[0] / p[0] for p, q in zip(found[a], found[b])]
        cpu = [q[1] / p[1] for p, q in zip(found[a], found[b])]
        print(f"time({b:,}) / time({a:,}) = {statistics.median(wall):.1f} wall, {statistics.median(cpu):.1f} cpu "
              f"(rounds: {', '.join(f'{x:.1f}' for x in wall)} wall)")


def against(old: str, sizes: list[int], rounds: int) -> None:
    new = str(Path(__file__).resolve().parent.parent)
    print(f"full check, median of {rounds} interleaved rounds: this checkout vs {old}")
    print(f"{'graph':6} {'gates':>6} {'old':>8} {'new':>8} {'new/old':>8}")
    for make in ("chain_program", "wide_program"):
        for size in sizes:
            t: dict[str, list[float]] = {old: [], new: []}
            for _ in range(rounds):
                for path in (old, new):
                    t[path].append(timed(make, size, path))
            o, n = statistics.median(t[old]), statistics.median(t[new])
            print(f"{make.split('_')[0]:6} {size:>6} {o:>7.2f}s {n:>7.2f}s {n / o:>8.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cap", type=float, default=20.0, help="time cap for the naive route, seconds")
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--no-naive", action="store_true")
    ap.add_argument("--against", metavar="DIR", help="an older checkout to time beside this one")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (--against: 3 by default, "
                    "--fresh: 1)")
    ap.add_argument("--fresh", action="store_true", help="the chain alone, each size in a fresh process, with "
                    "CPU seconds and peak memory (e.g. --sizes 10000,100000)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.fresh:
        fresh(sizes, args.rounds or 1)
        return
    if args.against:
        against(args.against, sizes, args.rounds or 3)
        return
    gradients("f = tanh(x)", {"x": 0.1})  # warm up: import torch, compile the local partials
    print(f"gradlab {gradlab.__version__}: full check = symbolic + numeric + finite differences + torch")
    print(f"{'graph':6} {'gates':>6} {'inputs':>6} {'parse':>7} {'full check':>11} {'ok':>4}   naive sympy.diff")
    for family, make in (("chain", chain_program), ("wide", wide_program)):
        times = {}
        for size in sizes:
            program = make(size)
            t0 = time.perf_counter()
            g = Graph.parse(program)
            t1 = time.perf_counter()
            r = gradients(g, point(g))
            t2 = time.perf_counter()
            times[size] = t2 - t1
            naive_text = "-" if args.no_naive else run_naive(program, args.cap)
            print(f"{family:6} {len(g.op_nodes):>6} {len(g.inputs):>6} {t1 - t0:>6.2f}s {t2 - t1:>10.2f}s "
                  f"{str(r.ok):>5}   {naive_text}")
        if len(sizes) >= 2:
            big, mid = sizes[-1], sizes[-2]
            print(f"{family:6} time({big:,}) / time({mid:,}) = {times[big] / times[mid]:.1f}")


if __name__ == "__main__":
    main()
