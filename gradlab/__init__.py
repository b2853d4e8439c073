"""gradlab: make backpropagation checkable.

>>> import gradlab
>>> g = gradlab.Graph.parse("z = w0*x0 + w1*x1 + w2; a = sigmoid(z)")
>>> g.gates()
['*', '*', '+', '+', 'σ']
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import (EvaluationError, GradlabError, GraphError, GraphFileError, Location, ParseError,
                     ShapeError)
from .graph import Graph, Node
from .ops import OPS, SYMPY_NAMESPACE, Op
from .parse import parse_program

__all__ = [
    "__version__",
    "EvaluationError", "GradlabError", "GraphError", "GraphFileError", "Location", "ParseError", "ShapeError",
    "Graph", "Node", "OPS", "Op", "SYMPY_NAMESPACE", "parse_program",
]
