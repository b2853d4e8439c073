"""Gradient assertions for tests, and a pytest plugin that checks graph files.

One line in a test says "these gradients are right"; when they are not, the message shows
where: a table of node values and adjoints by each method with the first disagreement
marked, or, for torch code, the input (or parameter) and the entry whose gradient is wrong.

* :func:`assert_gradients`: a graph's symbolic gradients agree with finite differences and torch;
* :func:`assert_formula`: a claimed formula ``da/dx0 = w0*a*(1-a)`` is right (:func:`gradlab.verify`);
* :func:`assert_adjoints`: a backward pass done by hand, node by node, with the mistake named;
* :func:`assert_function_gradients`: autograd (or your ``grad``) of any function against
  central finite differences in float64; custom ``torch.autograd.Function`` included;
* :func:`assert_module_gradients`: a torch module's parameter and input gradients;
* :func:`assert_graph_file`: a graph file passes ``gradlab check``.

The torch and adjoint checks have ``check_*`` twins that return the report instead of
raising (for graphs: :func:`gradlab.gradients`, :func:`gradlab.verify`). The pytest plugin
(:mod:`gradlab.testing.plugin`, loaded automatically) adds ``--gradlab-graphs``, the ini
option ``gradlab_graphs`` and the ``gradcheck`` fixture; see docs/testing.md.
"""

from __future__ import annotations

from .adjoints import AdjointCheck, AdjointReport, check_adjoints
from .assertions import (
    GradCheck,
    GradientAssertionError,
    assert_adjoints,
    assert_formula,
    assert_function_gradients,
    assert_gradients,
    assert_graph_file,
    assert_module_gradients,
)
from .jacobian import JacobianReport, TensorResult, check_function_gradients, check_module_gradients

__all__ = [
    "assert_gradients", "assert_formula", "assert_adjoints", "assert_function_gradients", "assert_module_gradients",
    "assert_graph_file", "GradientAssertionError", "GradCheck",
    "check_adjoints", "check_function_gradients", "check_module_gradients",
    "AdjointReport", "AdjointCheck", "JacobianReport", "TensorResult",
]
