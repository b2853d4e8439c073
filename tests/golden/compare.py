"""Run a golden case in-process and compare it with the stored one: strings exactly, numbers by what they are.

A case is ``{"argv": [...], "exit": code, "output": parsed JSON or text, "stderr": text}``. ``{tmp}`` in argv
stands for a fresh temporary folder; a case that writes a ``.dot`` file there has that file's text as output.
Shared by ``record.py`` (run as a script, from this folder) and ``tests/test_golden.py`` (as ``golden.compare``).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any, Sequence

from gradlab.cli import main

ROOT = Path(__file__).resolve().parent.parent.parent
TMP = "{tmp}"

#: Numbers that are not reproducible to the last digit, found by their JSON key (the nearest dict key above them).
#: Finite differences round f(x ± h) and divide by h, so their last ~6 digits depend on the CPU's exp/log/BLAS
#: kernels: compared loosely.
FD_KEYS = frozenset({"fd", "fd_central", "fd_left", "fd_right"})
FD_RTOL, FD_ATOL = 1e-6, 1e-9
#: Error estimates and relative errors between methods are differences of nearly equal numbers (0.0 on one
#: machine, 1e-16 on another), and timings differ on every run: only their presence and type are compared.
UNCOMPARED_KEYS = frozenset({"fd_error", "fd_rel_err", "torch_rel_err", "rel_err", "elapsed", "seconds", "time"})
#: Every other number (forward values, symbolic and torch gradients, adjoints, tolerances) is deterministic.
RTOL, ATOL = 1e-12, 1e-300

#: A number in text (DOT labels and attributes): not inside a name like ``w0`` or a colour like ``#2e7d32``.
NUMBER = re.compile(r"(?<![\w#.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")
MAX_REPORTED = 20


def run(argv: Sequence[str]) -> dict[str, Any]:
    """``gradlab ARGV`` in-process, from the repository root, with Python warnings silenced (they print once
    per process, so they would depend on which cases ran before)."""
    out, err = io.StringIO(), io.StringIO()
    cwd = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        real = [a.replace(TMP, tmp) for a in argv]
        os.chdir(ROOT)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(real)
        except SystemExit as e:  # argparse: usage errors, --help
            code = e.code if isinstance(e.code, int) else int(e.code is not None)
        finally:
            os.chdir(cwd)
        written = [Path(r) for a, r in zip(argv, real) if TMP in a]
        output: Any = written[0].read_text() if written and written[0].is_file() else out.getvalue()
    if "--json" in argv and not written:
        with contextlib.suppress(json.JSONDecodeError):
            output = json.loads(output)
    return {"argv": list(argv), "exit": code, "output": output, "stderr": err.getvalue()}


def text_structure(text: str) -> list[dict[str, Any]]:
    """Each line of a text (DOT source) with its numbers masked, and the numbers, to compare line by line."""
    return [{"line": NUMBER.sub("#", line), "numbers": [float(n) for n in NUMBER.findall(line)]}
            for line in text.splitlines()]


def _number(expected: float, actual: float, key: str) -> bool:
    if key in UNCOMPARED_KEYS:
        return True
    if math.isnan(expected) or math.isnan(actual):
        return math.isnan(expected) and math.isnan(actual)
    rtol, atol = (FD_RTOL, FD_ATOL) if key in FD_KEYS else (RTOL, ATOL)
    return math.isclose(expected, actual, rel_tol=rtol, abs_tol=atol)  # 0.0 == -0.0


def compare(expected: Any, actual: Any, path: str = "", key: str = "") -> list[str]:
    """Differences between two JSON values, each as ``path: expected vs actual``; ``key`` is the dict key
    that numbers below it belong to (a list of fd values inherits ``fd``)."""
    at = path or "(top)"
    if type(expected) is not type(actual):
        return [f"{at}: {expected!r} ({type(expected).__name__}) vs {actual!r} ({type(actual).__name__})"]
    if isinstance(expected, dict):
        diffs = [f"{at}: key {k!r} added" for k in actual if k not in expected]
        for k, e in expected.items():
            sub = f"{path}.{k}" if path else k
            diffs += compare(e, actual[k], sub, k) if k in actual else [f"{sub}: missing"]
        return diffs
    if isinstance(expected, list):
        diffs = [f"{at}: {len(expected)} items vs {len(actual)}"] if len(expected) != len(actual) else []
        for i, (e, a) in enumerate(zip(expected, actual)):
            diffs += compare(e, a, f"{path}[{i}]", key)
        return diffs
    if isinstance(expected, float) or (isinstance(expected, int) and not isinstance(expected, bool)):
        return [] if _number(float(expected), float(actual), key) else [f"{at}: {expected!r} vs {actual!r}"]
    return [] if expected == actual else [f"{at}: {expected!r} vs {actual!r}"]


def compare_case(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Differences between a stored case and a rerun: exit code, stderr, output (text line by line)."""
    exp, act = expected["output"], actual["output"]
    if isinstance(exp, str) and isinstance(act, str):
        exp, act = text_structure(exp), text_structure(act)
    return compare({k: expected[k] for k in ("exit", "stderr")}, {k: actual[k] for k in ("exit", "stderr")}) \
        + compare(exp, act, "output")


def summary(diffs: Sequence[str]) -> str:
    """The first differences, one per indented line, for a failure message."""
    more = f"\n  ... and {len(diffs) - MAX_REPORTED} more" if len(diffs) > MAX_REPORTED else ""
    return "\n".join(f"  {d}" for d in diffs[:MAX_REPORTED]) + more
