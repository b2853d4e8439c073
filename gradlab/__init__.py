"""gradlab: make backpropagation checkable.

>>> import gradlab
>>> g = gradlab.Graph.parse("z = w0*x0 + w1*x1 + w2; a = sigmoid(z)")
>>> g.gates()
['*', '*', '+', '+', 'σ']

The public API is importable from here; each name is loaded from its module on first use (PEP 562),
so ``import gradlab`` and the ``gradlab`` command start without SymPy, networkx or torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Every public name, by the module that defines it (relative to this package).
_EXPORTS: dict[str, tuple[str, ...]] = {
    # graph model
    ".model.graph": ("Graph", "Node"),
    ".ops": ("OPS", "Op", "SYMPY_NAMESPACE", "register_op", "unregister_op"),
    ".lang.parse": ("parse_program", "parse_tensor_program"),
    # gradients
    ".check.gradients": ("gradients", "GradientReport", "InputResult", "NodeResult", "OutputResult", "KinkResult", "Blame",
               "Tolerances"),
    ".engine.symbolic": ("symbolic_gradients", "SymbolicGradients"),
    ".engine.numeric": ("evaluate", "forward", "Evaluation"),
    ".engine.finite_diff": ("finite_differences",),
    ".engine.torch_backend": ("torch_gradients", "torch_function"),
    # vectors and matrices
    ".engine.tensor_symbolic": ("tensor_symbolic", "TensorSymbolic"),
    ".engine.tensor_forms": ("staged_forms",),
    ".check.forms": ("matrix_forms",),
    ".check.tensor_check": ("TensorGradientReport",),
    ".lang.tensor_expr": ("parse_matrix_expression",),
    # network shapes and parameter counts
    ".model.networks": ("dense_network", "conv_shapes", "lenet5", "DenseNetwork", "ShapeTable"),
    # formulas typed by people, and claims about gradients
    ".lang.expr": ("parse_expression", "Limits"),
    ".check.verify": ("verify", "VerifyResult", "Counterexample", "EntryDiff"),
    # pictures
    ".render": ("draw", "to_dot", "blank_map", "backward_steps", "Drawing", "Blank", "Steps", "RenderOptions",
                "mimebundle"),
    # graph files
    ".check.graphfile": ("load_graph_file", "check_graph_file", "GraphFile", "FileReport"),
    # gradient assertions for tests (the pytest plugin is gradlab.testing.plugin)
    ".testing": ("assert_gradients", "assert_formula", "assert_adjoints", "assert_function_gradients",
                 "assert_module_gradients", "assert_graph_file", "GradientAssertionError"),
    # errors
    ".errors": ("GradlabError", "ParseError", "GraphError", "GraphFileError", "EvaluationError", "ShapeError",
                "RenderError", "Location"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = ["__version__", *_WHERE]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'gradlab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # the next look-up is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # what type checkers and IDEs see: the same names, imported eagerly
    from .check.forms import matrix_forms
    from .check.gradients import (
        Blame,
        GradientReport,
        InputResult,
        KinkResult,
        NodeResult,
        OutputResult,
        Tolerances,
        gradients,
    )
    from .check.graphfile import FileReport, GraphFile, check_graph_file, load_graph_file
    from .check.tensor_check import TensorGradientReport
    from .check.verify import Counterexample, EntryDiff, VerifyResult, verify
    from .engine.finite_diff import finite_differences
    from .engine.numeric import Evaluation, evaluate, forward
    from .engine.symbolic import SymbolicGradients, symbolic_gradients
    from .engine.tensor_forms import staged_forms
    from .engine.tensor_symbolic import TensorSymbolic, tensor_symbolic
    from .engine.torch_backend import torch_function, torch_gradients
    from .errors import (
        EvaluationError,
        GradlabError,
        GraphError,
        GraphFileError,
        Location,
        ParseError,
        RenderError,
        ShapeError,
    )
    from .lang.expr import Limits, parse_expression
    from .lang.parse import parse_program, parse_tensor_program
    from .lang.tensor_expr import parse_matrix_expression
    from .model.graph import Graph, Node
    from .model.networks import DenseNetwork, ShapeTable, conv_shapes, dense_network, lenet5
    from .ops import OPS, SYMPY_NAMESPACE, Op, register_op, unregister_op
    from .render import Blank, Drawing, RenderOptions, Steps, backward_steps, blank_map, draw, mimebundle, to_dot
    from .testing import (
        GradientAssertionError,
        assert_adjoints,
        assert_formula,
        assert_function_gradients,
        assert_gradients,
        assert_graph_file,
        assert_module_gradients,
    )
