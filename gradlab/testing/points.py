"""Random points where a graph can be evaluated (seeded), for checks that need no point of the user's.

Values are drawn as :func:`gradlab.verify` draws them: magnitudes in [0.25, 2] with random signs
(no zeros, no saturated activations), vectors and matrices of their node's shape, labels
declared ``onehot``/``probs`` on the simplex.

>>> from gradlab import Graph
>>> pts = random_points(Graph.parse("f = log(x)*y"), 3, seed=0)
>>> len(pts), all(p["x"] > 0 for p in pts)
(3, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..check.verify_tensor import random_input
from ..engine.numeric import forward
from ..errors import EvaluationError, GradlabError
from ..model.graph import Graph

__tracebackhide__ = True


def random_points(graph: Graph, n: int, seed: int = 0, *, tries: int = 20) -> list[dict[str, Any]]:
    """``n`` points (fewer if the graph's domain is hard to hit), skipping points where it cannot be evaluated."""
    if n < 1:
        raise GradlabError("the number of random points must be at least 1")
    rng = np.random.default_rng(seed)
    points: list[dict[str, Any]] = []
    for attempt in range(tries * n):
        p: dict[str, Any] = {}
        for name in graph.inputs:
            v = random_input(rng, 1, graph.shape(name), graph.attrs(name).get("domain"),
                              positive=attempt >= tries * n // 2)[0]
            p[name] = float(v) if np.ndim(v) == 0 else v
        try:
            forward(graph, p)
        except EvaluationError:
            continue
        points.append(p)
        if len(points) == n:
            return points
    if not points:
        raise GradlabError(f"found no random point where {graph.output} can be evaluated "
                           f"(tried {tries * n}): give one with at={{...}}")
    return points
