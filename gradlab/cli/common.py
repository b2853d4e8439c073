"""Helpers shared by the subcommands: reading ``--at`` values, programs or graph files, atomic writes."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any, Sequence

from ..errors import GradlabError
from ..fileio import write_atomic  # noqa: F401  (re-exported for the subcommands)


class UsageError(GradlabError):
    """A command line that gradlab cannot use (exit code 2)."""


def parse_at(items: Sequence[str] | None) -> dict[str, float] | None:
    """``["x=1", "y=2,z=3"]`` -> ``{"x": 1.0, "y": 2.0, "z": 3.0}``; ``None`` when no ``--at``."""
    if not items:
        return None
    at: dict[str, float] = {}
    for item in items:
        for part in item.split(","):
            part = part.strip()
            if not part:
                continue
            if "=" not in part:
                raise UsageError(f"--at expects name=value, got '{part}'")
            name, value = (s.strip() for s in part.split("=", 1))
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
                        help="a value for an input (repeat, or separate with commas): --at x=1 --at y=2")


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of tables")


def looks_like_file(text: str) -> bool:
    return text.endswith(".toml") or (("=" not in text) and Path(text).is_file())


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))
