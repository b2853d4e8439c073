"""The failure table of a graph's gradient check: every node, its adjoint by each method.

Rows run in backward order (the output first), as backpropagation visits the nodes, so
the first row marked FAIL is where the methods first disagree; it is marked
``<-- first disagreement``. Besides the symbolic adjoints (gradlab's local partials) and
torch's, each node gets its own finite-difference adjoint: the node's value is nudged
with the graph downstream of it re-evaluated, so all three are independent.

>>> from gradlab import Graph, gradients
>>> g = Graph.parse("f = (x + y)*z")
>>> print(gradient_table(g, gradients(g, at=dict(x=-2, y=5, z=-4))))  # doctest: +NORMALIZE_WHITESPACE
node  gate   value  symbolic  torch  finite diff  rel err  check
----  -----  -----  --------  -----  -----------  -------  -----
f     *      -12    1         1      1            0        ok
z     input  -4     3         3      3            ...      ok
t1    +      3      -4        -4     -4           ...      ok
y     input  5      -4        -4     -4           ...      ok
x     input  -2     -4        -4     -4           ...      ok
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..check.gradients import GradientReport
from ..check.report import num, table
from ..engine.closeness import max_rel_error
from ..engine.finite_diff import FDEstimate, finite_difference_estimates
from ..errors import GradlabError
from ..model.graph import Graph

__tracebackhide__ = True

#: At most this many rows; beyond it, rows that pass are left out (the failing ones never).
MAX_ROWS = 40


def node_finite_differences(graph: Graph, at: Mapping[str, float], values: Mapping[str, float],
                            nodes: Sequence[str]) -> dict[str, FDEstimate]:
    """d output / d node by central differences: the node becomes an input, cut from its arguments."""
    out: dict[str, FDEstimate] = {}
    inputs = [n for n in nodes if graph.kind(n) == "input"]
    if inputs:
        out.update(finite_difference_estimates(graph, at, inputs=inputs))
    for n in nodes:
        if n in out or graph.kind(n) == "input":
            continue
        cut = graph.copy()
        cut.nx.remove_edges_from(list(cut.nx.in_edges(n, keys=True)))
        attrs = cut.nx.nodes[n]
        for key in ("op", "param", "value"):
            attrs.pop(key, None)
        attrs["kind"] = "input"
        point = {i: at[i] for i in graph.inputs}
        point[n] = values[n]
        try:
            out[n] = finite_difference_estimates(cut, point, inputs=[n])[n]
        except GradlabError:  # no step stays inside the domain of every gate: no estimate
            continue
    return out


def _is_scalar_report(report: GradientReport) -> bool:
    return not report.is_tensor and all(
        isinstance(n.value, (int, float)) or n.value is None for n in report.nodes)


def gradient_table(graph: Graph, report: GradientReport, *, max_rows: int = MAX_ROWS) -> str:
    """Node values and adjoints by each method, backward order, the first disagreement marked."""
    if not _is_scalar_report(report) or report.at is None:
        return str(report)
    values = {n.id: float(n.value) for n in report.nodes if n.value is not None}
    order = list(reversed([n for n in report.nodes if n.kind != "const" or not n.ok]))
    fd: dict[str, FDEstimate | float | None] = {}
    if "fd" in report.methods:
        at = {k: float(v) for k, v in report.at.items()}
        fd.update(node_finite_differences(graph, at, values, [n.id for n in order if n.id not in report.inputs]))
        fd.update({name: None if r.fd is None else float(r.fd) for name, r in report.inputs.items()})
    first = report.blame.node if report.blame else None
    rows = []
    keep = []
    for n in order:
        f = fd.get(n.id)
        f_val = f.value if isinstance(f, FDEstimate) else f
        errs = [max_rel_error(n.grad, x) for x in (n.torch, f_val) if x is not None and n.grad is not None]
        ok = n.ok and (n.id not in report.inputs or report.inputs[n.id].ok)
        status = report.inputs[n.id].status if n.id in report.inputs else n.status
        check = "ok" if ok and not status.startswith(("kink", "near-kink")) else (
            status.replace("-agree", "") if ok else "FAIL")
        gate = "input" if n.kind == "input" else ("const" if n.kind == "const" else n.label)
        mark = "<-- first disagreement" if n.id == first else ""
        rows.append([n.id, gate, num(n.value), num(n.grad), num(n.torch) if "torch" in report.methods else "-",
                     num(f_val) if "fd" in report.methods else "-", num(max(errs), 2) if errs else "-", check, mark])
        keep.append(not ok or n.id == first or n.id == report.output.name)
    if len(rows) > max_rows:
        budget = max_rows - sum(keep)
        for i in range(len(rows)):
            if not keep[i] and budget > 0:
                keep[i], budget = True, budget - 1
        left_out = len(rows) - sum(keep)
        rows = [r for r, k in zip(rows, keep) if k]
        rows.append([f"... {left_out} more rows, all ok", "", "", "", "", "", "", "", ""])
    headers = ["node", "gate", "value", "symbolic", "torch", "finite diff", "rel err", "check", ""]
    if not any(r[-1] for r in rows):
        headers, rows = headers[:-1], [r[:-1] for r in rows]
    return table(headers, rows)


def point_text(at: Mapping[str, Any] | None) -> str:
    if not at:
        return ""
    return ", ".join(f"{k}={num(float(v)) if np.ndim(v) == 0 else np.asarray(v).tolist()}" for k, v in at.items())
