"""Random scalar programs checked by :func:`gradlab.gradients` against the high-precision referee.

Each program uses gates of the op table at random (binary arithmetic, constants, every function), forks (a
value used again), ``x*x``, variable exponents, and points near kinks and domain edges. For each one the
check runs as a user runs it (symbolic, finite differences, torch, and the referee where needed); then the
referee is run on its own, always, as the truth. Counted:

* false failure: the check fails although the graph's gradient (built-in gates: always right) is right;
* silent pass: the check passes, the referee did not run, and the float64 gradient of some input is more
  than 1e-6 (relative) off the exact one (inputs on a kink left out: conventions differ there);
* crash: an exception that is not gradlab's own message for a point outside a gate's domain (refused
  points are counted apart);
* time per program of the check (median, p99, max), after one warm-up check (imports) that is not timed.

Run:  python benchmarks/referee.py [--programs 1000] [--seed 0] [--show 5]
      python benchmarks/referee.py --overhead [--rounds 5]

``--overhead`` measures what the referee costs where no disagreement calls for it: every graph of graphs/
and the chains of benchmarks/scaling.py (1,000 and 10,000 gates) are checked as a user checks them, and the
time spent in the referee's step (deciding whether float64 can decide, and running the referee when it
cannot) is summed beside the time of the whole check, both from the same calls; medians over ``--rounds``
rounds. Target (issue 12): under 5 % where no disagreement occurs.
Not a CI test: a 2-core machine takes a few minutes.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's gradlab

from gradlab import gradients  # noqa: E402
from gradlab.engine.referee import NotRefereeable, referee  # noqa: E402
from gradlab.errors import GradlabError  # noqa: E402

UNARY = ["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "softplus", "relu", "abs", "silu", "gelu",
         "softsign", "hardtanh", "elu", "leaky_relu"]
BINARY = ["+", "-", "*", "/", "max", "min", "**"]
CONSTS = ["1", "2", "0.5", "3", "1e8", "1e-3", "0.1"]


def random_program(rng: random.Random, statements: int) -> tuple[str, dict[str, float]]:
    """A program of ``statements`` lines over inputs x, y (and z), and a point: near a kink or an edge now
    and then, big and tiny magnitudes now and then."""
    names = ["x", "y", "z"][: rng.randint(1, 3)]
    lines = []
    pool = list(names)
    for i in range(statements):
        a, b = rng.choice(pool), rng.choice(pool)
        kind = rng.random()
        if kind < 0.35:
            f = rng.choice(UNARY)
            arg = rng.choice([a, f"{a} + {rng.choice(CONSTS)}", f"{a}*{b}"])
            if f in ("log", "sqrt"):
                arg = f"{a}*{a} + {rng.choice(['1', '0.001', '1e-12'])}"  # stays in the domain
            expr = f"{f}({arg})"
        elif kind < 0.75:
            op = rng.choice(BINARY)
            if op in ("max", "min"):
                expr = f"{op}({a}, {b})"
            elif op == "**":
                expr = f"({a}*{a} + 1)**{rng.choice([b, '2', '0.5', '3'])}"  # variable exponents, positive base
            elif op == "/":
                expr = f"{a} / ({b}*{b} + {rng.choice(['1', '0.01'])})"
            else:
                expr = f"{a} {op} {b}"
        elif kind < 0.85:
            expr = f"{a}*{a}"
        else:
            expr = f"({a} + {rng.choice(CONSTS)}) - {rng.choice(CONSTS)}"
        name = f"v{i + 1}"
        lines.append(f"{name} = {expr}")
        pool.append(name)
    lines.append(f"f = {' + '.join(rng.sample(pool[len(names):], min(2, len(pool) - len(names))))}")
    at = {}
    for n in names:
        r = rng.random()
        at[n] = (0.0 if r < 0.05 else rng.choice([1e-9, -1e-9, 1e-5]) if r < 0.15
                 else rng.choice([20.0, 40.0, -30.0, 1e6]) if r < 0.25 else round(rng.uniform(-3, 3), rng.choice([1, 3, 8])))
    if len(names) > 1 and rng.random() < 0.1:
        at[names[1]] = at[names[0]]  # max(x, y) at x = y: a kink
    return "\n".join(lines), at


def run(programs: int, seed: int, show: int) -> int:
    rng = random.Random(seed)
    times: list[float] = []
    false_failures: list[str] = []
    silent: list[str] = []
    crashes: list[str] = []
    refused = ran = not_refereeable = 0
    slowest = (0.0, "")
    gradients("f = sin(x)*exp(x)", at={"x": 1.0})  # imports (SymPy, torch) and first-call costs, not timed
    for k in range(programs):
        program, at = random_program(rng, rng.randint(2, 12))
        t0 = time.perf_counter()
        try:
            r = gradients(program, at=at)
        except GradlabError:
            refused += 1
            continue
        except Exception:  # noqa: BLE001 - a crash is what we count
            crashes.append(f"{program!r} at {at}\n{traceback.format_exc(limit=3)}")
            continue
        times.append(time.perf_counter() - t0)
        slowest = max(slowest, (times[-1], f"{program!r} at {at}"))
        ran += r.referee is not None
        try:
            ref = referee(program, at)
        except NotRefereeable:
            not_refereeable += 1
            continue
        if not r.ok:
            false_failures.append(f"{program!r} at {at}\n{r}")
            continue
        if r.referee is None:
            for n, i in r.inputs.items():
                exact, grad = ref.grad(n), float(i.grad)  # type: ignore[arg-type]
                if i.status.startswith(("kink", "near-kink")):
                    continue
                if abs(grad - exact) > 1e-6 * max(abs(grad), abs(exact)):
                    silent.append(f"{program!r} at {at}: d f/d {n} = {grad!r}, exact {exact!r}")
                    break
        if (k + 1) % 100 == 0:
            print(f"  {k + 1} programs ...", file=sys.stderr)
    times.sort()
    checked = len(times)
    print(f"programs: {programs}  checked: {checked}  refused (outside a domain): {refused}  "
          f"referee ran: {ran}  not refereeable: {not_refereeable}")
    print(f"false failures: {len(false_failures)}  silent passes: {len(silent)}  crashes: {len(crashes)}")
    if times:
        p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
        print(f"time per program: median {statistics.median(times) * 1e3:.0f} ms, p99 {p99 * 1e3:.0f} ms, "
              f"max {times[-1]:.2f} s")
        print(f"slowest: {slowest[1]}")
    for title, items in (("FALSE FAILURES", false_failures), ("SILENT PASSES", silent), ("CRASHES", crashes)):
        for item in items[:show]:
            print(f"\n{title}: {item}")
    return 1 if false_failures or silent or crashes else 0


def overhead(rounds: int) -> int:
    """The referee's share of a check's time on graphs/ and the scaling chains, where no disagreement occurs."""
    import gradlab.check.gradients as check
    from gradlab.check.graphfile import load_graph_file

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from gradlab import Graph

    from scaling import chain_program, point  # type: ignore[import-not-found]

    cases: list[tuple[str, Graph, dict]] = []
    for path in sorted((Path(__file__).resolve().parents[1] / "graphs").glob("*.toml")):
        gf = load_graph_file(path)
        cases.append((path.name, gf.graph, gf.at))
    for n in (1000, 10000):
        g = Graph.parse(chain_program(n))
        cases.append((f"chain of {n:,} gates", g, point(g)))
    real = check.referee_step
    spent = [0.0]
    ran: dict[str, bool] = {}

    def timed(*a, **k):  # the step as the check calls it, timed
        t0 = time.perf_counter()
        try:
            r = real(*a, **k)
        finally:
            spent[0] += time.perf_counter() - t0
        return r

    check.referee_step = timed
    share: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    whole: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    try:
        for name, g, at in cases:  # warm-up: imports, caches
            gradients(g, at)
        for _ in range(rounds):
            for name, g, at in cases:
                spent[0] = 0.0
                t0 = time.perf_counter()
                r = gradients(g, at)
                total = time.perf_counter() - t0
                share[name].append(spent[0] / total)
                whole[name].append(total)
                ran[name] = r.referee is not None
    finally:
        check.referee_step = real
    print(f"{'graph':32s} {'check':>9s} {'referee step':>13s}  referee ran  (medians of {rounds} rounds)")
    worst = 0.0
    for name in share:
        s, w = statistics.median(share[name]), statistics.median(whole[name])
        print(f"{name:32s} {w * 1e3:7.1f}ms {100 * s:12.2f}%  {'yes' if ran[name] else 'no'}")
        if not ran[name]:
            worst = max(worst, s)
    print(f"\nlargest share where the referee did not run: {100 * worst:.2f}% (target < 5%)")
    return 0 if worst < 0.05 else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--programs", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--show", type=int, default=5, help="how many of each finding to print")
    ap.add_argument("--overhead", action="store_true", help="the referee's share of a check where nothing calls "
                                                            "for it (graphs/ and the scaling chains)")
    ap.add_argument("--rounds", type=int, default=5, help="with --overhead: rounds (medians)")
    args = ap.parse_args()
    if args.overhead:
        return overhead(args.rounds)
    return run(args.programs, args.seed, args.show)


if __name__ == "__main__":
    sys.exit(main())
