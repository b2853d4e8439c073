"""A value grid (``min`` to ``max`` in steps of ``step``) whose values are computed by index, never stored.

A worksheet draws each input from such a grid. The grid is a read-only sequence: ``len(grid)`` is
a count, ``grid[i]`` is ``min + i*step`` rounded, so drawing one value costs the same for 13 values
as for 10**12 (``random.choice(grid)`` draws an index, then computes that one value). A grid may
leave out 0 (an input that is never zero) and give its positive part (an input declared positive).

>>> g = Grid(-3.0, 3.0, 1.0, zero=False)
>>> len(g), list(g)
(6, [-3.0, -2.0, -1.0, 1.0, 2.0, 3.0])
>>> list(Grid(-1.0, 1.0, 0.5).positive()), list(Grid(-2.0, 0.0, 0.5).positive())
([0.5, 1.0], [0.5, 1.0, 1.5, 2.0])
"""

from __future__ import annotations

import math
from typing import Sequence, overload


class Grid(Sequence[float]):
    """The values ``low + i*step`` (``i`` = 0, 1, ...) up to ``high``, each rounded to two digits
    below the step's; without 0 unless ``zero``. ``lo``/``hi`` (grid indices) and ``mirror`` (the
    absolute values of a grid's non-zero values, smallest first) are for :meth:`positive`."""

    def __init__(self, low: float, high: float, step: float, *, zero: bool = True,
                 lo: int = 0, hi: int | None = None, mirror: bool = False) -> None:
        self.min, self.max, self.step, self.zero, self.mirror = low, high, step, zero, mirror
        self.digits = max_digits(step)
        self.last = int(math.floor((high - low) / step + 1e-9))  # the grid's last index
        self.lo, self.hi = lo, self.last if hi is None else hi
        zi = None if zero else self._zero_index()
        self.skip = zi if zi is not None and self.lo <= zi <= self.hi else None
        self.size = max(0, self.hi - self.lo + 1 - (self.skip is not None))

    def value(self, i: int) -> float:
        """The grid's value number ``i`` (counting from ``min``, 0 included)."""
        return round(self.min + i * self.step, self.digits + 2)

    def _zero_index(self) -> int | None:
        guess = round(-self.min / self.step)
        return next((i for i in (guess - 1, guess, guess + 1) if 0 <= i <= self.last and self.value(i) == 0), None)

    def _index(self, k: int) -> int:
        """The grid index of this sequence's item ``k`` (0 <= k < len)."""
        if self.mirror:
            i = self.hi - k
            return i - 1 if self.skip is not None and i <= self.skip else i
        i = self.lo + k
        return i + 1 if self.skip is not None and i >= self.skip else i

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, k: int) -> float: ...

    @overload
    def __getitem__(self, k: slice) -> Sequence[float]: ...

    def __getitem__(self, k: int | slice) -> float | Sequence[float]:
        if isinstance(k, slice):
            return [self[j] for j in range(*k.indices(self.size))]
        if k < 0:
            k += self.size
        if not 0 <= k < self.size:
            raise IndexError("grid index out of range")
        v = self.value(self._index(k))
        return abs(v) if self.mirror else v

    def positive(self) -> Sequence[float]:
        """The values above 0; when there are none, the absolute values of the non-zero ones,
        smallest first; when there are none either, ``[1.0]``."""
        first = self._first_positive()
        if first is not None:
            return Grid(self.min, self.max, self.step, zero=False, lo=first)
        mirrored = Grid(self.min, self.max, self.step, zero=False, mirror=True)
        return mirrored if len(mirrored) else [1.0]

    def _first_positive(self) -> int | None:
        """The smallest grid index with a value above 0 (the values grow with the index)."""
        if self.value(self.last) <= 0:
            return None
        lo, hi = 0, self.last
        while lo < hi:
            mid = (lo + hi) // 2
            if self.value(mid) > 0:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def __repr__(self) -> str:
        return f"Grid({self.min:g}..{self.max:g} step {self.step:g}, {self.size} values)"


def max_digits(step: float) -> int:
    """The decimals of a step below 1 (0.1 -> 1, 0.25 -> 1, 0.05 -> 2); 0 for a step of 1 or more."""
    return max(0, -int(math.floor(math.log10(step) + 1e-9))) if step < 1 else 0
