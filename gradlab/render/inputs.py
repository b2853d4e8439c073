"""What a picture is drawn from: a graph (or a program) and, optionally, its values (a point, or an evaluation)."""

from __future__ import annotations

from typing import Any, Mapping

from ..engine.numeric import evaluate
from ..lang.parse import parse_program
from ..model.graph import Graph


def _graph(graph: Graph | str) -> Graph:
    if isinstance(graph, Graph):
        return graph
    if isinstance(graph, str):
        return parse_program(graph)
    raise TypeError(f"expected a Graph or a program, got {type(graph).__name__}")


def evaluation_of(graph: Graph, at: Any) -> Any:
    """``None``, an evaluation (anything with ``values`` and ``adjoints``), or one from the point ``at``."""
    if at is None:
        return None
    if hasattr(at, "values") and hasattr(at, "adjoints") and not isinstance(at, Mapping):
        return at
    return evaluate(graph, at)
