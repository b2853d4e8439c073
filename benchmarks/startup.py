"""How long the command takes to answer before any work: start-up latency a user feels.

Each round starts fresh interpreters, interleaved so that a noisy machine slows all of them alike:

  * ``python -c pass``                     the floor: the interpreter alone;
  * ``python -c "import gradlab"``         the package (a lazy map: no SymPy, networkx or torch);
  * ``gradlab --help``                     the command's help (every subcommand registered);
  * ``gradlab shapes conv --preset lenet5`` a command that needs no engine;
  * ``python -c "import torch"``           the reference issue 16 names for ``gradlab grad``;
  * ``gradlab grad <the neuron>``          a full check (symbolic, finite differences, torch);
  * the same with ``GRADLAB_TORCH_PROCESS=0``: torch imported in the command's own process, after the
    symbolic work, instead of in a child process beside it (``gradlab.engine.torch_process``).

It prints the median and the spread of each over the rounds, and the ratio of ``gradlab grad`` to a bare
``import torch`` (both medians from the same rounds). ``--against DIR`` runs the gradlab cases a second
time with an older checkout's package first on the path (``git worktree add /tmp/old REV``), in the
same rounds, and prints old/new ratios.

Run:  python benchmarks/startup.py [--rounds 7] [--against /tmp/old]
Targets (issue 16): ``gradlab --help`` under 0.3 s; ``gradlab grad`` at most 1.15x ``import torch``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GRADLAB = [sys.executable, "-m", "gradlab"]
NEURON = ["grad", "z = w0*x0 + w1*x1 + w2; a = sigmoid(z)", "--at", "w0=2,x0=-1,w1=-3,x1=-2,w2=-3"]
CASES: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import gradlab": [sys.executable, "-c", "import gradlab"],
    "gradlab --help": [*GRADLAB, "--help"],
    "gradlab shapes conv --preset lenet5": [*GRADLAB, "shapes", "conv", "--preset", "lenet5"],
    "import torch": [sys.executable, "-c", "import torch"],
    "gradlab grad (the neuron)": [*GRADLAB, *NEURON],
    "gradlab grad, torch in process": [*GRADLAB, *NEURON],
}
#: extra environment of a case
ENV: dict[str, dict[str, str]] = {"gradlab grad, torch in process": {"GRADLAB_TORCH_PROCESS": "0"}}


ROOT = str(Path(__file__).resolve().parent.parent)


def seconds(argv: list[str], path: str | None = None, extra: dict[str, str] | None = None) -> float:
    """One run, with ``path`` (default: this checkout) first on the module path, from a neutral folder."""
    env = dict(os.environ, PYTHONPATH=path or ROOT, **(extra or {}))
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env,
                   cwd=tempfile.gettempdir())
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--against", metavar="DIR", help="an older checkout to time beside this one")
    args = ap.parse_args()
    runs = [(name, argv, None, ENV.get(name)) for name, argv in CASES.items()]
    if args.against:
        runs += [(f"{name} (old)", argv, args.against, ENV.get(name)) for name, argv in CASES.items()
                 if "gradlab" in name]
    for _, argv, path, extra in runs:  # warm the file cache once
        seconds(argv, path, extra)
    times: dict[str, list[float]] = {name: [] for name, _, _, _ in runs}
    for _ in range(args.rounds):
        for name, argv, path, extra in runs:
            times[name].append(seconds(argv, path, extra))
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"{'what':44s} {'median':>8s} {'min':>8s} {'max':>8s}   ({args.rounds} interleaved rounds)")
    for name, t in times.items():
        print(f"{name:44s} {med[name]:7.3f}s {min(t):7.3f}s {max(t):7.3f}s")
    print(f"\ngradlab --help: {med['gradlab --help']:.3f} s (target < 0.3 s)")
    ratio = med["gradlab grad (the neuron)"] / med["import torch"]
    print(f"gradlab grad / import torch: {ratio:.2f} (target <= 1.15)")
    alone = med["gradlab grad, torch in process"] / med["import torch"]
    print(f"gradlab grad with torch in process / import torch: {alone:.2f}")
    for name in CASES:
        if f"{name} (old)" in med:
            print(f"{name}: old / new = {med[f'{name} (old)'] / med[name]:.2f}")


if __name__ == "__main__":
    main()
