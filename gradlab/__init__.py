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
import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Every public name, by the module that defines it (relative to this package).
_EXPORTS: dict[str, tuple[str, ...]] = {
    # graph model
    ".graph": ("Graph", "Node"),
    ".ops": ("OPS", "Op", "SYMPY_NAMESPACE", "register_op", "unregister_op"),
    ".parse": ("parse_program", "parse_tensor_program"),
    # gradients
    ".check": ("gradients", "GradientReport", "InputResult", "NodeResult", "OutputResult", "KinkResult", "Blame",
               "Tolerances"),
    ".symbolic": ("symbolic_gradients", "SymbolicGradients"),
    ".numeric": ("evaluate", "forward", "Evaluation"),
    ".finite_diff": ("finite_differences",),
    ".torch_backend": ("torch_gradients", "torch_function"),
    # vectors and matrices
    ".tensor_symbolic": ("tensor_symbolic", "TensorSymbolic"),
    ".tensor_forms": ("matrix_forms", "staged_forms"),
    ".tensor_check": ("TensorGradientReport",),
    ".tensor_expr": ("parse_matrix_expression",),
    # network shapes and parameter counts
    ".shapes": ("dense_network", "conv_shapes", "lenet5", "DenseNetwork", "ShapeTable"),
    # formulas typed by people, and claims about gradients
    ".expr": ("parse_expression", "Limits"),
    ".verify": ("verify", "VerifyResult", "Counterexample", "EntryDiff"),
    # pictures
    ".render": ("draw", "to_dot", "blank_map", "backward_steps", "Drawing", "Blank", "Steps", "RenderOptions"),
    # graph files
    ".graphfile": ("load_graph_file", "check_graph_file", "GraphFile", "FileReport"),
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


class _Package(types.ModuleType):
    """This package, whose public functions ``verify`` and ``tensor_symbolic`` share their names with the
    modules that define them: importing such a module sets the package attribute to the module, and here
    the function keeps its place (``from gradlab import verify`` is the function, whatever ran before)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in _WHERE:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


if TYPE_CHECKING:  # what type checkers and IDEs see: the same names, imported eagerly
    from .check import Blame, GradientReport, InputResult, KinkResult, NodeResult, OutputResult, Tolerances, gradients
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
    from .expr import Limits, parse_expression
    from .finite_diff import finite_differences
    from .graph import Graph, Node
    from .graphfile import FileReport, GraphFile, check_graph_file, load_graph_file
    from .numeric import Evaluation, evaluate, forward
    from .ops import OPS, SYMPY_NAMESPACE, Op, register_op, unregister_op
    from .parse import parse_program, parse_tensor_program
    from .render import Blank, Drawing, RenderOptions, Steps, backward_steps, blank_map, draw, to_dot
    from .shapes import DenseNetwork, ShapeTable, conv_shapes, dense_network, lenet5
    from .symbolic import SymbolicGradients, symbolic_gradients
    from .tensor_check import TensorGradientReport
    from .tensor_expr import parse_matrix_expression
    from .tensor_forms import matrix_forms, staged_forms
    from .tensor_symbolic import TensorSymbolic, tensor_symbolic
    from .testing import (
        GradientAssertionError,
        assert_adjoints,
        assert_formula,
        assert_function_gradients,
        assert_gradients,
        assert_graph_file,
        assert_module_gradients,
    )
    from .torch_backend import torch_function, torch_gradients
    from .verify import Counterexample, EntryDiff, VerifyResult, verify
