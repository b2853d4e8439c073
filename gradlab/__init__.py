"""gradlab: make backpropagation checkable.

>>> import gradlab
>>> g = gradlab.Graph.parse("z = w0*x0 + w1*x1 + w2; a = sigmoid(z)")
>>> g.gates()
['*', '*', '+', '+', 'σ']
"""

from __future__ import annotations

__version__ = "0.1.0"

from .check import (Blame, GradientReport, InputResult, KinkResult, NodeResult, OutputResult, Tolerances,
                    gradients)
from .errors import (EvaluationError, GradlabError, GraphError, GraphFileError, Location, ParseError,
                     RenderError, ShapeError)
from .expr import Limits, parse_expression
from .finite_diff import finite_differences
from .graph import Graph, Node
from .graphfile import FileReport, GraphFile, check_graph_file, load_graph_file
from .numeric import Evaluation, evaluate, forward
from .ops import OPS, SYMPY_NAMESPACE, Op
from .parse import parse_program
from . import tensor_ops  # noqa: F401  (registers the tensor gates)
from .render import Blank, Drawing, RenderOptions, Steps, backward_steps, blank_map, draw, to_dot
from .shapes import DenseNetwork, ShapeTable, conv_shapes, dense_network, lenet5
from .tensor_check import TensorGradientReport
from .tensor_expr import parse_matrix_expression
from .tensor_forms import matrix_forms, staged_forms
from .tensor_parse import parse_tensor_program
from .tensor_symbolic import TensorSymbolic, tensor_symbolic
from .symbolic import SymbolicGradients, symbolic_gradients
from .torch_backend import torch_function, torch_gradients
from .verify import Counterexample, EntryDiff, VerifyResult, verify
from .testing import (GradientAssertionError, assert_adjoints, assert_formula, assert_function_gradients,
                      assert_gradients, assert_graph_file, assert_module_gradients)

__all__ = [
    "__version__",
    # graph model
    "Graph", "Node", "OPS", "Op", "SYMPY_NAMESPACE", "parse_program",
    # gradients
    "gradients", "GradientReport", "InputResult", "NodeResult", "OutputResult", "KinkResult", "Blame",
    "Tolerances", "symbolic_gradients", "SymbolicGradients", "evaluate", "forward", "Evaluation",
    "finite_differences", "torch_gradients", "torch_function",
    # vectors and matrices
    "parse_tensor_program", "tensor_symbolic", "TensorSymbolic", "matrix_forms", "staged_forms",
    "TensorGradientReport", "parse_matrix_expression",
    # network shapes and parameter counts
    "dense_network", "conv_shapes", "lenet5", "DenseNetwork", "ShapeTable",
    # formulas typed by people, and claims about gradients
    "parse_expression", "Limits", "verify", "VerifyResult", "Counterexample", "EntryDiff",
    # pictures
    "draw", "to_dot", "blank_map", "backward_steps", "Drawing", "Blank", "Steps", "RenderOptions",
    # graph files
    "load_graph_file", "check_graph_file", "GraphFile", "FileReport",
    # gradient assertions for tests (gradlab.testing; the pytest plugin is gradlab.testing.plugin)
    "assert_gradients", "assert_formula", "assert_adjoints", "assert_function_gradients", "assert_module_gradients",
    "assert_graph_file", "GradientAssertionError",
    # errors
    "GradlabError", "ParseError", "GraphError", "GraphFileError", "EvaluationError", "ShapeError", "RenderError",
    "Location",
]
