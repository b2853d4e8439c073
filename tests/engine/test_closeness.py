"""One closeness rule: the fast path for numbers gives what the array path gives."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gradlab.engine.closeness import close, max_rel_error

floats = st.floats(allow_nan=True, allow_infinity=True, width=64)


@given(floats, floats, st.floats(0, 1e-3), st.floats(0, 1e-3))
def test_numbers_and_0d_arrays_agree(a, b, rtol, atol):
    assert close(a, b, rtol, atol) == close(np.asarray(a), np.asarray(b), rtol, np.asarray(atol))
    x, y = max_rel_error(a, b), max_rel_error(np.asarray(a), np.asarray(b))
    assert x == y or (np.isnan(x) and np.isnan(y))
