"""The matrix forms people are shown: the engine's raw forms (:mod:`gradlab.engine.tensor_forms`), each only
where it holds at random points, by the same test as :func:`gradlab.verify`. No formula is shown unchecked.

>>> from gradlab import Graph
>>> matrix_forms(Graph.parse("x: (3,); A: (2, 3); y: onehot(2); p = softmax(A @ x); L = -sum(y*log(p))"))["A"]
'(p - y) @ x.T'
"""

from __future__ import annotations

from typing import Any, Sequence

from ..engine.tensor_forms import raw_matrix_forms, show
from ..errors import GradlabError
from ..model.graph import Graph
from .verify_tensor import check_formulas


def matrix_forms(graph: Graph, ts: Any = None, *, nodes: Sequence[str] | None = None, trials: int = 6,
                 seed: int = 12345) -> dict[str, str]:
    """The adjoint of each node (default: inputs and named nodes) as a matrix formula, only where
    the formula holds at random points (the same test as :func:`gradlab.verify`)."""
    g = graph
    raw = raw_matrix_forms(g, ts)
    wanted = list(nodes) if nodes is not None else [n for n in g.nodes if g.kind(n) == "input"
                                                    or g.attrs(n).get("named")]
    candidates = {n: show(raw[n]) for n in wanted if raw.get(n) is not None}  # type: ignore[arg-type]
    if not candidates:
        return {}
    try:
        holds = check_formulas(g, candidates, trials=trials, seed=seed)
    except GradlabError:  # no valid random point (a graph full of poles): show nothing unchecked
        return {}
    return {n: f for n, f in candidates.items() if holds.get(n)}


def matrix_form(graph: Graph, node: str, ts: Any = None) -> str | None:
    """The checked matrix formula of d output / d ``node``, or None."""
    return matrix_forms(graph, ts, nodes=[node]).get(node)


__all__ = ["matrix_forms", "matrix_form"]
