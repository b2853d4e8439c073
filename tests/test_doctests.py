"""The examples in the docstrings are part of the documentation: they must run as written."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import gradlab

#: Subpackages whose examples need data or long runs are tested by their own suites.
SKIP = ("gradlab.cli", "gradlab.lenet", "gradlab.__main__")

MODULES = sorted(m.name for m in pkgutil.walk_packages(gradlab.__path__, "gradlab.")
                 if not m.name.startswith(SKIP))


@pytest.mark.parametrize("name", ["gradlab", *MODULES])
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) in {name} failed (run: python -m doctest -v)"
