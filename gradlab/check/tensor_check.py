"""Every gradient of a tensor graph, checked three ways: the names of before :func:`gradlab.gradients` was one
pipeline for every graph (:mod:`gradlab.check`).

A report of a graph of vectors and matrices is a :class:`gradlab.GradientReport` with ``is_tensor`` set: the
same fields and JSON keys as for scalar graphs, with arrays (nested lists in JSON) in place of numbers, plus
per input and node its ``shape``, the gradient's checked ``matrix`` form (``(p - y) @ v.T / 2``), its
``entries`` in the named form (``dL/dB_1_2``), and the ``staged`` matrix form (``dL/dz @ v.T``). Each entry
of each gradient is compared with central finite differences and torch autograd; the errors reported are
the largest over the entries.

>>> from gradlab import gradients
>>> r = gradients("x: (3,); A: (2, 3); y: onehot(2); p = softmax(A @ x); L = -sum(y*log(p))",
...               at={"x": [1, 2, 3], "A": [[0.1, 0.2, 0.3], [0.0, -0.1, 0.2]], "y": [1, 0]})
>>> r.ok, r.is_tensor, r.inputs["A"].matrix, r.inputs["A"].grad.shape
(True, True, '(p - y) @ x.T', (2, 3))
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..model.graph import Graph
from .gradients import ENTRY_FORMULAS, METHODS, gradients
from .kinks import find_kinks as tensor_kinks
from .report import PRINT_ENTRIES, format_tensor_report
from .results import GradientReport, InputResult, NodeResult, Tolerances

#: One report type for every graph: the tensor names are the same classes.
TensorGradientReport = GradientReport
TensorInputResult = InputResult
TensorNodeResult = NodeResult

__all__ = ["ENTRY_FORMULAS", "PRINT_ENTRIES", "TensorGradientReport", "TensorInputResult", "TensorNodeResult",
           "format_tensor_report", "tensor_gradients", "tensor_kinks"]


def tensor_gradients(graph: Graph, at: Mapping[str, Any] | None = None, *, methods: Sequence[str] = METHODS,
                     tol: Tolerances | None = None, simplify: bool = True) -> GradientReport:
    """:func:`gradlab.gradients` of a graph (kept name)."""
    return gradients(graph, at, methods=methods, tol=tol, simplify=simplify)
