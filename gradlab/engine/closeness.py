"""When two computed gradients agree, written once for numbers and arrays (a number is the 0-d case).

>>> close(1.0, 1.0 + 1e-12, rtol=1e-9, atol=0.0), close([1.0, 2.0], [1.0, 2.1], rtol=1e-3, atol=0.0)
(True, False)
>>> max_rel_error([1.0, 0.0], [1.1, 0.0])
0.09090909090909098
"""

from __future__ import annotations

from typing import Any

import numpy as np


def close(a: Any, b: Any, rtol: float, atol: Any) -> bool:
    """Every entry agrees: ``|a - b| <= atol + rtol * max(|a|, |b|)`` (symmetric; ``atol`` may be an array)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return bool(np.all(np.abs(a - b) <= atol + rtol * np.maximum(np.abs(a), np.abs(b))))


def max_rel_error(a: Any, b: Any) -> float:
    """The largest ``|a - b| / max(|a|, |b|)`` over the entries: 0 where both are 0, inf where one is infinite."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(all="ignore"):
        rel = np.where(scale == 0, 0.0, np.where(np.isfinite(scale), np.abs(a - b) / scale, np.inf))
    return float(np.max(rel)) if rel.size else 0.0
