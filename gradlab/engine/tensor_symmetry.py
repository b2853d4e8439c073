"""Index symmetry of tensor graphs: why one entry of a big gradient can stand for all of them.

Every tensor gate of gradlab treats the indices of its axes alike: permuting the rows of ``A``
and the entries of ``A @ x`` together gives the same result permuted (entrywise gates, ``@``,
``.T``, ``sum``, ``softmax``, ``cross_entropy``, ``outer`` all commute with such permutations).
Axes that a gate ties together (the columns of ``A`` and the rows of ``x`` in ``A @ x``) must
be permuted together; the ties split the axes of a graph into *classes*
(:func:`axis_classes`). Since the inputs' entries are independent symbols, the gradient
``G = dL/dW`` is then *equivariant*: for every permutation ``s`` of the classes,
``G(s·point) = s·G(point)``. So is a claimed formula built from the same gates, and so is their
difference ``D``. If ``D`` is identically 0 at one entry of each orbit of the permutations, it is
identically 0 at every entry.

For ``W`` with rows and columns in different classes every entry lies in one orbit: checking
``dL/dW_1_1`` decides all of ``dL/dW``. Rows and columns in one class (``x.T @ W @ x``) give two
orbits, the diagonal and the rest. :func:`representatives` returns one entry per orbit.

>>> from gradlab import parse_program
>>> g = parse_program("x: (64,); A: (32, 64); B: (10, 32); v = tanh(A @ x); L = sum(B @ v)")
>>> representatives(g, "A"), representatives(parse_program("x: (3,); W: (3, 3); s = x.T @ W @ x"), "W")
([(0, 0)], [(0, 0), (0, 1)])
"""

from __future__ import annotations

from typing import Iterable

from ..model.graph import Graph
from ..ops import op_for
from ..ops.tensor import OUT, TensorOp, to2d

Axis = tuple[str, int]


class _Classes:
    """Union-find over axes ``(node, 0)`` (rows) and ``(node, 1)`` (columns)."""

    def __init__(self) -> None:
        self.parent: dict[Axis, Axis] = {}

    def find(self, a: Axis) -> Axis:
        self.parent.setdefault(a, a)
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: Axis, b: Axis) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[ra] = rb


def _dims(graph: Graph, n: str) -> tuple[int, int]:
    return to2d(graph.shape(n))


def link_axes(graph: Graph, classes: _Classes, rename: dict[str, str] | None = None) -> bool:
    """Tie the axes of ``graph``'s gates into ``classes`` (node names mapped by ``rename``).
    Returns False if a gate is not known to treat its indices alike (then no symmetry is used)."""
    rename = rename or {}

    def key(n: str, axis: int) -> Axis:
        return (rename.get(n, n), axis)

    for v in graph.op_nodes:
        d = graph.attrs(v)
        op = op_for(d["op"])
        args = graph.args(v)
        dv = _dims(graph, v)
        for i in (0, 1):
            if dv[i] > 1:
                classes.find(key(v, i))
        if op is None:
            return False
        if not isinstance(op, TensorOp):  # entry by entry, with broadcasting
            for a in args:
                da = _dims(graph, a)
                for i in (0, 1):
                    if da[i] > 1:
                        classes.union(key(a, i), key(v, i))
            continue
        if op.symmetry is None:
            return False
        node = {OUT: v, **dict(enumerate(args))}  # the record's names for the gate's output and arguments
        for (k, i), (m, j) in op.symmetry([_dims(graph, a) for a in args], dv, d.get("param")):
            classes.union(key(node[k], i), key(node[m], j))
    return True


def axis_classes(graph: Graph, extra: Iterable[tuple[Graph, dict[str, str]]] = ()) -> _Classes | None:
    """The classes of axes tied by the gates of ``graph`` (and of ``extra`` graphs, e.g. a claim
    read as a program, whose inputs are renamed onto ``graph``'s nodes); None if some gate breaks
    the symmetry."""
    classes = _Classes()
    if not link_axes(graph, classes):
        return None
    for g, rename in extra:
        if not link_axes(g, classes, rename):
            return None
    return classes


def representatives(graph: Graph, node: str, classes: _Classes | None = None) -> list[tuple[int, ...]]:
    """One entry of ``node`` per orbit of the index permutations (see the module docstring)."""
    classes = classes if classes is not None else axis_classes(graph)
    shape = graph.shape(node)
    if classes is None:
        raise ValueError("the graph has a gate without index symmetry")
    if len(shape) < 2:
        return [(0,) * len(shape)]
    r, c = shape
    if r > 1 and c > 1 and classes.find((node, 0)) == classes.find((node, 1)):
        return [(0, 0), (0, 1)]
    return [(0, 0)]


def claim_graph(text: str, graph: Graph, names: Iterable[str]) -> tuple[Graph, dict[str, str]] | None:
    """A claimed formula read as a one-statement program over ``graph``'s names (with their shapes),
    and the renaming of its nodes onto ``graph`` (inputs keep their names, gates get a prefix);
    None if the formula is not a plain program (student syntax, entries, functions of claims only)."""
    from ..errors import GradlabError
    from ..lang.parse import parse_tensor_program

    shapes = {n: graph.shape(n) for n in names}
    try:
        g = parse_tensor_program(f"claim__ = {text}", shapes={n: s for n, s in shapes.items() if s != ()})
    except (GradlabError, RecursionError):
        return None
    rename = {}
    for n in g.nodes:
        if g.kind(n) == "input":
            if n not in shapes or g.shape(n) != shapes[n]:
                return None
            rename[n] = n
        else:
            rename[n] = f"claim::{n}"
    return g, rename


__all__ = ["axis_classes", "representatives", "claim_graph", "link_axes"]
