"""Value grids of worksheet ranges: drawn by index (never listed), the same draws as a listed grid, absurd
ranges refused naming the spec line (issue 13, item 6)."""

from __future__ import annotations

import math
import random
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlab.cli import main
from gradlab.worksheet import load_spec, variant_point
from gradlab.worksheet.grid import Grid


def listed(lo: float, hi: float, step: float, zero: bool) -> list[float]:
    """The grid as the worksheet listed it before grids were computed by index (the reference)."""
    n = int(math.floor((hi - lo) / step + 1e-9))
    digits = max(0, -int(math.floor(math.log10(step) + 1e-9))) if step < 1 else 0
    vals = [round(lo + i * step, digits + 2) for i in range(n + 1)]
    return [v for v in vals if zero or v != 0]


def listed_positive(choices: list[float]) -> list[float]:
    pos = [c for c in choices if c > 0]
    return pos or sorted({abs(c) for c in choices if c != 0}) or [1.0]


grids = st.tuples(st.integers(-40, 40), st.integers(0, 60), st.sampled_from([1, 0.1, 0.5, 0.25, 0.2, 0.05, 0.3, 2, 3]),
                  st.booleans())


@settings(max_examples=300, deadline=None)
@given(grids)
def test_a_grid_holds_the_values_the_listed_grid_held(g):
    start, width, step, zero = g
    lo, hi = start * step, start * step + width * 0.37
    grid = Grid(lo, hi, step, zero=zero)
    assert list(grid) == listed(lo, hi, step, zero)
    assert list(grid.positive()) == listed_positive(listed(lo, hi, step, zero))
    if len(grid):  # random.choice draws an index, so the same seed draws the same value
        assert [random.Random(k).choice(grid) for k in range(5)] == [
            random.Random(k).choice(listed(lo, hi, step, zero)) for k in range(5)]


def test_a_huge_grid_is_drawn_from_at_once():
    grid = Grid(-1e6, 1e6, 1e-6, zero=False)
    assert len(grid) == 2 * 10**12  # 0 left out of 2e12 + 1
    started = time.perf_counter()
    xs = [random.Random(k).choice(grid) for k in range(1000)]
    assert time.perf_counter() - started < 1.0
    assert all(-1e6 <= x <= 1e6 and x != 0 for x in xs)
    assert grid[-1] == 1e6 and grid[0] == -1e6


def spec(tmp_path: Path, numbers: str, values: str = "") -> Path:
    p = tmp_path / "spec.toml"
    p.write_text(f'title = "t"\n[numbers]\n{numbers}\n[[part]]\nprogram = "f = x*y + u"\n[part.values]\n{values}\n',
                 encoding="utf-8")
    return p


def one_line_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("numbers,values,line,words", [
    ("min = -1e308\nmax = 1e308", "", 3, "too large"),
    ("min = -3\nmax = 1e15", "", 4, "too large"),
    ("step = 1e-9", "", 3, "too fine"),
    ("", "x = { min = -1e308, max = 1e308 }", 7, "too large"),
    ("", "y = 1e300", 7, "too large"),
    ("", "u = { min = 0, max = 1, step = 1e-300 }", 7, "too fine"),
])
def test_an_absurd_range_is_refused_naming_its_line(tmp_path, capsys, numbers, values, line, words):
    p = spec(tmp_path, numbers, values)
    err = one_line_error(capsys, ["worksheet", str(p), "-o", str(tmp_path / "out"), "--no-pdf"])
    assert f"line {line}" in err and words in err, err
    assert not (tmp_path / "out").exists()


def test_a_fine_range_within_the_bounds_is_used(tmp_path):
    p = spec(tmp_path, "values = \"one decimal\"\nmin = -1\nmax = 1", "u = { min = 0.5, max = 2, step = 0.001 }")
    part = load_spec(p).parts[0]
    at = variant_point(part, seed=1, variant=1)
    assert 0.5 <= at["u"] <= 2 and round(at["u"], 3) == at["u"]
