"""What a worksheet asks about a graph with vectors and matrices, and how its values are drawn.

Defaults for a tensor graph (exercise sheet 2, task 6: ``u = A @ x``, ``v = tanh(u)``,
``z = B @ v``, ``p = softmax(z)``, ``L = -sum(y * log(p)) / 2``):

* questions ``forward`` (every entry of every gate's value on the picture), ``matrix`` (the
  gradient as a matrix formula) and ``numeric`` (one entry of a gradient at the variant's point);
  ``backward`` (every entry of the gradients on the gates' wires) on request;
* ``matrix`` asks for d output / d the named argument of a softmax (``dL/dz``), then the weight
  matrices from the output back (``dL/dB``, ``dL/dA``), each only where gradlab's engines have a
  checked matrix form (:func:`gradlab.check.forms.matrix_forms`); ``numeric`` for the entry
  (1, 2) of the first weight matrix (``dL/dB_1_2``);
* values: one decimal, matrices from -1 to 1 and vectors and numbers from -2 to 2 (with integers
  from -3 to 3, ``A @ x`` would saturate almost every tanh); a ``onehot`` label is a random
  one-hot vector (each column of a matrix of labels), ``probs`` a random probability vector with
  one decimal, ``positive`` positive values.

>>> from gradlab import Graph
>>> g = Graph.parse("x: (3,); A: (2, 3); B: (2, 2); y: onehot(2); u = A @ x; v = tanh(u); z = B @ v; "
...                 "p = softmax(z); L = -sum(y * log(p)) / 2")
>>> default_matrix_targets(g), default_numeric(g, ["z", "B", "A"])
(['z', 'B', 'A'], ['B_1_2'])
>>> split_entry(g, "B_1_2"), split_entry(g, "p_2"), split_entry(g, "B_3_1")
(('B', (0, 1)), ('p', (1,)), None)
"""

from __future__ import annotations

import hashlib
import random
from typing import Any, Sequence

import numpy as np

from ..model.graph import Graph
from ..ops.tensor import TENSOR_OPS
from .grid import Grid

#: Default value grids of a tensor graph's inputs: (min, max, step).
MATRIX_RANGE = (-1.0, 1.0, 0.1)
VECTOR_RANGE = (-2.0, 2.0, 0.1)
#: A softmax output above this is saturated (its gradient almost zero).
SOFTMAX_SATURATED = 0.98
#: The softmax-cross-entropy gates (their records say what the label brings in): their scores are asked about.
SOFTMAX_OPS = tuple(op.name for op in TENSOR_OPS.values() if op.label_term is not None)


def is_tensor(graph: Graph) -> bool:
    return graph.is_tensor


def default_range(graph: Graph, name: str) -> tuple[float, float, float]:
    """The value grid of an input when the spec gives none (see the module docstring)."""
    shape = graph.shape(name)
    return MATRIX_RANGE if len(shape) == 2 and shape[0] > 1 and shape[1] > 1 else VECTOR_RANGE


def labels(graph: Graph) -> list[str]:
    """Inputs declared ``onehot`` or ``probs``: labels, not asked about."""
    return [n for n in graph.inputs if graph.attrs(n).get("domain") in ("onehot", "probs")]


def default_matrix_targets(graph: Graph) -> list[str]:
    """``dL/dz`` for a named softmax argument, then the weight matrices from the output back (those
    with a checked matrix form); vectors when the graph has no matrix."""
    skip = set(labels(graph))
    first = []
    for n in graph.op_nodes:
        if graph.attrs(n)["op"] in SOFTMAX_OPS:
            z = graph.args(n)[0]
            if graph.attrs(z).get("named") and graph.kind(z) == "op" and z not in first:
                first.append(z)
    params = [n for n in reversed(graph.inputs) if n not in skip and graph.shape(n)]
    weights = [n for n in params if len(graph.shape(n)) == 2 and min(graph.shape(n)) > 1]
    wanted = first + (weights or params)
    forms = checked_forms(graph)
    return [n for n in wanted if n in forms]


def default_numeric(graph: Graph, targets: list[str]) -> list[str]:
    """One entry of the first matrix among the targets (``B_1_2``), else of the first vector."""
    from ..engine.tensor_symbolic import entry_name

    for want_matrix in (True, False):
        for n in targets:
            shape = graph.shape(n)
            if graph.kind(n) != "input" or not shape or (len(shape) == 2 and min(shape) > 1) != want_matrix:
                continue
            idx = (0, 1) if len(shape) == 2 and shape[1] > 1 and shape[0] > 1 else (0,) * len(shape)
            return [entry_name(n, idx, shape)]
    return targets[:1]


def split_entry(graph: Graph, name: str) -> tuple[str, tuple[int, ...] | None] | None:
    """``"B"`` -> ``("B", None)``; an entry ``"B_1_2"`` -> ``("B", (0, 1))`` (1-based names, 0-based
    indices); None when it names neither a node nor an entry of one."""
    from ..lang.tensor_expr import ENTRY_RE

    if name in graph:
        return name, None
    m = ENTRY_RE.match(name)
    if not m or m.group(1) not in graph:
        return None
    shape = graph.shape(m.group(1))
    i = int(m.group(2)) - 1
    j = int(m.group(3)) - 1 if m.group(3) else None
    if len(shape) == 1 and j is None and 0 <= i < shape[0]:
        return m.group(1), (i,)
    if len(shape) == 2 and shape[0] == 1 and j is None and 0 <= i < shape[1]:
        return m.group(1), (0, i)
    if len(shape) == 2 and j is not None and 0 <= i < shape[0] and 0 <= j < shape[1]:
        return m.group(1), (i, j)
    return None


def numeric_entries(graph: Graph, names: list[str]) -> list[tuple[str, str, tuple[int, ...]]]:
    """The entries a numeric question asks for: ``(entry name, node, index)``; a whole vector or
    matrix is every entry of it."""
    from ..engine.tensor_symbolic import entry_name

    out = []
    for name in names:
        found = split_entry(graph, name)
        if found is None:
            continue
        node, idx = found
        shape = graph.shape(node)
        for i in ([idx] if idx is not None else list(np.ndindex(*shape))):
            out.append((entry_name(node, i, shape) if shape else node, node, tuple(i)))
    return out


def entry_label(graph: Graph, node: str, idx: tuple[int, ...]) -> str:
    """How a sheet names one entry of a node's value: ``1``, ``2`` for a vector; ``1,2`` for a matrix."""
    shape = graph.shape(node)
    if not shape:
        return ""
    if len(shape) == 1:
        return str(idx[0] + 1)
    if shape[0] == 1:
        return str(idx[-1] + 1)
    return f"{idx[0] + 1},{idx[1] + 1}"


def graph_program(graph: Graph) -> tuple[str, dict[str, list[int]], dict[str, str]]:
    """The graph as a key stores it: its program, the input shapes and domains (self-contained:
    :func:`gradlab.grading.matrices.answer_graph` builds the same graph from these)."""
    from ..errors import GradlabError

    source = (graph.nx.graph.get("source") or "").strip()
    if not source:
        lines = []
        for n in graph.op_nodes:
            d = graph.attrs(n)
            if d.get("named"):
                if not d.get("text"):
                    raise GradlabError("matrix questions need the graph as a program (a graph file or "
                                       "program = \"...\" in the spec)")
                lines.append(f"{n} = {d['text']}")
        source = "\n".join(lines)
    shapes = {n: list(graph.shape(n)) for n in graph.inputs if graph.shape(n)}
    domains = {n: str(graph.attrs(n)["domain"]) for n in graph.inputs if graph.attrs(n).get("domain")}
    return source, shapes, domains


_FORMS: dict[str, dict[str, Any]] = {}


def checked_forms(graph: Graph) -> dict[str, Any]:
    """The gradient of every input and named node as a matrix formula (a :class:`~gradlab.engine.tensor_forms.M`
    tree), only those gradlab's check confirms at random points (cached per graph)."""
    from ..check.verify import check_formulas
    from ..engine.tensor_forms import raw_matrix_forms, show
    from ..errors import GradlabError

    try:
        ident = repr(graph_program(graph)) + graph.output
    except GradlabError:
        ident = repr(graph.to_json()) if hasattr(graph, "to_json") else str(id(graph))
    key = hashlib.sha256(ident.encode()).hexdigest()
    if key not in _FORMS:
        raw = raw_matrix_forms(graph)
        wanted = {n: m for n in graph.nodes if (graph.kind(n) == "input" or graph.attrs(n).get("named"))
                  and n != graph.output and (m := raw.get(n)) is not None}
        try:
            holds = check_formulas(graph, {n: show(m) for n, m in wanted.items()}) if wanted else {}
        except GradlabError:
            holds = {}
        _FORMS[key] = {n: m for n, m in wanted.items() if holds.get(n)}
    return _FORMS[key]


# ----------------------------------------------------------------------------- drawing values

def draw_value(rng: random.Random, graph: Graph, name: str, choices: Sequence[float]) -> Any:
    """One input's value for a variant: a number, or nested lists (labels one-hot, see the module docstring)."""
    from ..ops.tensor import softmax_axis, to2d

    shape = graph.shape(name)
    domain = graph.attrs(name).get("domain")
    if not shape:
        return _clean(rng.choice(_positive(choices) if domain == "positive" else choices))
    r, c = to2d(shape)
    if domain in ("onehot", "probs"):
        axis = softmax_axis(shape)
        k, others = (r, c) if axis == -2 else (c, r)
        cols = [_onehot(rng, k) if domain == "onehot" else _probs(rng, k) for _ in range(others)]
        arr = np.array(cols, dtype=float)
        arr = arr.T if axis == -2 else arr
    else:
        pool = _positive(choices) if domain == "positive" else choices
        arr = np.array([rng.choice(pool) for _ in range(r * c)], dtype=float).reshape(r, c)
    return _nested(arr.reshape(shape))


def _positive(choices: Sequence[float]) -> Sequence[float]:
    if isinstance(choices, Grid):
        return choices.positive()  # by index: a grid is never listed
    pos = [c for c in choices if c > 0]
    return pos or sorted({abs(c) for c in choices if c != 0}) or [1.0]


def _onehot(rng: random.Random, k: int) -> list[float]:
    hot = rng.randrange(k)
    return [1.0 if i == hot else 0.0 for i in range(k)]


def _probs(rng: random.Random, k: int) -> list[float]:
    units = 10 if k <= 9 else 100
    cuts = sorted(rng.sample(range(1, units), k - 1))
    parts = [b - a for a, b in zip([0] + cuts, cuts + [units])]
    return [round(p / units, 2) for p in parts]


def _clean(x: float) -> float:
    return float(int(x)) if float(x).is_integer() else float(x)


def _nested(a: np.ndarray) -> Any:
    if a.ndim == 0:
        return _clean(float(a))
    return [_nested(x) for x in a]


__all__ = ["default_matrix_targets", "default_numeric", "default_range", "split_entry", "numeric_entries",
           "entry_label", "graph_program", "checked_forms", "draw_value", "labels"]
