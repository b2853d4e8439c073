"""Random points where a graph can be evaluated (seeded), for checks that need no point of the user's.

>>> from gradlab import Graph
>>> pts = random_points(Graph.parse("f = log(x)*y"), 3, seed=0)
>>> len(pts), all(p["x"] > 0 for p in pts)
(3, True)
"""

from __future__ import annotations

import numpy as np

from ..errors import EvaluationError, GradlabError
from ..graph import Graph
from ..numeric import evaluate

__tracebackhide__ = True


def random_points(graph: Graph, n: int, seed: int = 0, *, scale: float = 1.5, tries: int = 20) -> list[dict[str, float]]:
    """``n`` points with inputs drawn from N(0, scale²), skipping points outside the graph's domain."""
    if n < 1:
        raise GradlabError("the number of random points must be at least 1")
    rng = np.random.default_rng(seed)
    points: list[dict[str, float]] = []
    for _ in range(tries * n):
        p = {name: float(rng.normal(0.0, scale)) for name in graph.inputs}
        try:
            evaluate(graph, p)
        except EvaluationError:
            continue
        points.append(p)
        if len(points) == n:
            return points
    if not points:
        raise GradlabError(f"found no random point where {graph.output} can be evaluated "
                           f"(tried {tries * n}): give one with at={{...}}")
    return points
