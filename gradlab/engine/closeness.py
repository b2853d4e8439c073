"""When two computed gradients agree, written once for numbers and arrays (a number is the 0-d case).

>>> close(1.0, 1.0 + 1e-12, rtol=1e-9, atol=0.0), close([1.0, 2.0], [1.0, 2.1], rtol=1e-3, atol=0.0)
(True, False)
>>> max_rel_error([1.0, 0.0], [1.1, 0.0])
0.09090909090909098
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_NUMBER = (float, int, np.floating)


def close(a: Any, b: Any, rtol: float, atol: Any) -> bool:
    """Every entry agrees: ``|a - b| <= atol + rtol * max(|a|, |b|)`` (symmetric; ``atol`` may be an array)."""
    if isinstance(a, _NUMBER) and isinstance(b, _NUMBER) and isinstance(atol, _NUMBER):  # numbers: no arrays made
        return bool(abs(a - b) <= atol + rtol * max(abs(a), abs(b)))
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return bool(np.all(np.abs(a - b) <= atol + rtol * np.maximum(np.abs(a), np.abs(b))))


def max_rel_error(a: Any, b: Any) -> float:
    """The largest ``|a - b| / max(|a|, |b|)`` over the entries: 0 where both are 0, inf where one is infinite."""
    if isinstance(a, _NUMBER) and isinstance(b, _NUMBER):  # numbers: the same rule without arrays
        scale = math.nan if math.isnan(a) or math.isnan(b) else max(abs(a), abs(b))  # NaN as numpy has it
        return 0.0 if scale == 0 else float(abs(a - b) / scale) if math.isfinite(scale) else math.inf
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(all="ignore"):
        rel = np.where(scale == 0, 0.0, np.where(np.isfinite(scale), np.abs(a - b) / scale, np.inf))
    return float(np.max(rel)) if rel.size else 0.0
