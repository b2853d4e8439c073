"""Fixtures shared by several test modules."""

import pytest

from gradlab.ops import FUNCTIONS, OPS, Op


@pytest.fixture
def broken_sigmoid(monkeypatch):
    """A custom gate whose local derivative is wrong: sigmoid' written as out instead of out*(1 - out)."""
    good = OPS["sigmoid"]
    bad = Op("badsig", 1, good.sym, lambda a, o, p: [o], good.np_fn, good.torch_fn, lambda p: "σ?", "wrong sigmoid'")
    monkeypatch.setitem(OPS, "badsig", bad)
    monkeypatch.setitem(FUNCTIONS, "badsig", "badsig")
    return bad
