"""Plain JSON data from result objects: the one conversion every ``to_dict()`` uses.

>>> import numpy as np
>>> jsonable({"g": np.array([1.0, float("nan")]), 2: (np.float64(0.5), float("inf"))})
{'g': [1.0, None], '2': [0.5, None]}
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def jsonable(x: Any) -> Any:
    """``x`` with dict keys as strings, tuples and arrays as lists, numpy scalars as Python
    numbers, and NaN or infinity as ``None`` (JSON has no such numbers)."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, np.generic):
        return jsonable(x.item())
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    return x
