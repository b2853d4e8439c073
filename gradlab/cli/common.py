"""Helpers shared by the subcommands: reading ``--at`` values, programs or graph files, atomic writes."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any, Sequence

from ..errors import GradlabError
from ..fileio import (
    path_kind,
    shown,
    write_atomic,  # noqa: F401  (re-exported for the subcommands)
)


class UsageError(GradlabError):
    """A command line that gradlab cannot use (exit code 2)."""


def _split_top(text: str) -> list[str]:
    """Split on commas outside brackets: ``"x=[1,2],y=3"`` -> ``["x=[1,2]", "y=3"]``."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "[") - (ch == "]")
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def parse_at(items: Sequence[str] | None) -> dict[str, Any] | None:
    """``["x=1", "y=2,z=3"]`` -> ``{"x": 1.0, "y": 2.0, "z": 3.0}``; ``None`` when no ``--at``.
    Vectors and matrices as JSON arrays: ``--at "A=[[1, 2], [3, 4]]"``."""
    if not items:
        return None
    at: dict[str, Any] = {}
    for item in items:
        for part in _split_top(item):
            part = part.strip()
            if not part:
                continue
            if "=" not in part:
                raise UsageError(f"--at expects name=value, got '{part}'")
            name, value = (s.strip() for s in part.split("=", 1))
            if value.startswith("["):
                try:
                    arr = json.loads(value)
                except (json.JSONDecodeError, RecursionError):
                    raise UsageError(f"--at {name}: '{shown(value, 60)}' is not an array of numbers like [1, 2] or "
                                     "[[1, 2], [3, 4]]") from None
                if name in at:
                    raise UsageError(f"--at gives '{name}' twice")
                at[name] = arr
                continue
            try:
                v = float(value)
            except ValueError:
                raise UsageError(f"--at {name}: '{value}' is not a number") from None
            if not math.isfinite(v):
                raise UsageError(f"--at {name}: the value must be a finite number, got '{value}'")
            if name in at:
                raise UsageError(f"--at gives '{name}' twice")
            at[name] = v
    return at


def add_at(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--at", action="append", metavar="NAME=VALUE",
                        help="a value for an input (repeat, or separate with commas): --at x=1 --at y=2; "
                             "vectors and matrices as arrays: --at 'x=[1, 2]' --at 'A=[[1, 0], [0, 1]]'")


def add_formula_budget(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--formula-budget", type=_seconds, default=None, metavar="SECONDS",
                        help="time for building each report's formulas in the inputs (default 5); past it they "
                             "are shown in the staged form, and the JSON's staged_form defines it")


def _seconds(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not math.isfinite(v) or v < 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds (0 or more)")
    return v


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of tables")


def looks_like_file(text: str) -> bool:
    """Whether a PROGRAM_OR_FILE argument names a file (a text too long for a file name is a program)."""
    return text.endswith(".toml") or (("=" not in text) and path_kind(text) is not None)



def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))
