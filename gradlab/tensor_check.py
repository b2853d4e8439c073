"""Every gradient of a tensor graph, checked three ways: :func:`tensor_gradients`.

:func:`gradlab.gradients` calls this for graphs with vectors and matrices, and returns a
:class:`TensorGradientReport`: the same fields and JSON keys as for scalar graphs, with arrays
(nested lists in JSON) in place of numbers, plus per input and node its ``shape``, the
gradient's checked ``matrix`` form (``(p - y) @ v.T / 2``), its ``entries`` in the named form
(``dL/dB_1_2``), and the ``staged`` matrix form (``dL/dz @ v.T``). Each entry of each
gradient is compared with central finite differences and torch autograd; the errors reported
are the largest over the entries.

>>> from gradlab import gradients
>>> r = gradients("x: (3,); A: (2, 3); y: onehot(2); p = softmax(A @ x); L = -sum(y*log(p))",
...               at={"x": [1, 2, 3], "A": [[0.1, 0.2, 0.3], [0.0, -0.1, 0.2]], "y": [1, 0]})
>>> r.ok, r.inputs["A"].matrix, r.inputs["A"].grad.shape
(True, '(p - y) @ x.T', (2, 3))
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

import networkx as nx
import numpy as np
import sympy as sp

from .check import METHODS, Blame, GradientReport, InputResult, KinkResult, NodeResult, OutputResult, Tolerances
from .errors import GradlabError
from .graph import Graph
from .jsonable import jsonable as _jsonable
from .ops import op_for
from .tensor_ops import TensorOp, expand, size

#: Inputs with at most this many entries list every entry's formula; bigger ones a representative.
ENTRY_FORMULAS = 64
#: Arrays with at most this many entries are printed in full in text reports.
PRINT_ENTRIES = 24


@dataclass
class TensorInputResult(InputResult):
    """An input of a tensor graph: value, gradient, fd and torch are arrays of the input's shape."""

    shape: list[int] = field(default_factory=list)
    matrix: str | None = None
    entries: dict[str, str] = field(default_factory=dict)
    staged: str = ""
    representative: str = ""


@dataclass
class TensorNodeResult(NodeResult):
    """A node of a tensor graph: value, adjoint and torch's adjoint are arrays of its shape."""

    shape: list[int] = field(default_factory=list)
    matrix: str | None = None


@dataclass
class TensorGradientReport(GradientReport):
    """:class:`gradlab.GradientReport` of a tensor graph (see the module docstring)."""

    is_tensor: bool = True

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["methods"] = list(self.methods)
        return _jsonable(d)

    def __str__(self) -> str:
        return format_tensor_report(self)


def _value(a: np.ndarray) -> Any:
    """A number for a scalar node (as the scalar report has), an array for a tensor."""
    a = np.asarray(a, dtype=np.float64)
    return float(a) if a.ndim == 0 else a


def _max_rel(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(all="ignore"):
        rel = np.where(scale == 0, 0.0, np.abs(a - b) / scale)
    return float(np.max(rel)) if rel.size else 0.0


def _close(a: np.ndarray, b: np.ndarray, rtol: float, atol: Any) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.abs(a - b) <= atol + rtol * np.maximum(np.abs(a), np.abs(b))


def _latex_entry(e: sp.Expr) -> str:
    from .tensor_expr import ENTRY_RE

    names = {}
    for s in e.free_symbols:
        m = ENTRY_RE.match(str(s))
        if m:
            idx = ",".join(g for g in m.groups()[1:] if g is not None)
            names[s] = f"{sp.latex(sp.Symbol(m.group(1)))}_{{{idx}}}"
    return sp.latex(e, symbol_names=names)


def tensor_gradients(graph: Graph, at: Mapping[str, Any] | None = None, *, methods: Sequence[str] = METHODS,
                     tol: Tolerances | None = None, simplify: bool = True) -> TensorGradientReport:
    """Every value and gradient of a tensor graph, by the symbolic VJPs, finite differences and torch."""
    from .tensor_forms import matrix_forms, staged_forms
    from .tensor_symbolic import entry_name, tensor_symbolic

    g = graph
    tol = tol or Tolerances()
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise GradlabError(f"unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}")
    out = g.output
    ts = tensor_symbolic(g, simplify=simplify)
    forms = matrix_forms(g, ts)
    staged = staged_forms(g)
    program = g.nx.graph.get("source") or ""

    def formulas(n: str) -> tuple[str, str, str, dict[str, str]]:
        shape = g.shape(n)
        idx, rep = ts.representative(n)
        entries = {}
        if size(shape) <= ENTRY_FORMULAS:
            named = ts.named(n)
            entries = {entry_name(n, i, shape): str(named[i]) for i in np.ndindex(*shape)}
        rep_text = str(rep)
        expr = forms.get(n) or (rep_text if shape == () else f"{entry_name(n, idx, shape)}: {rep_text}")
        return expr, rep_text, _latex_entry(rep) if isinstance(rep, sp.Basic) else str(rep), entries

    def input_result(n: str, value: Any, grad: Any, **kw: Any) -> TensorInputResult:
        expr, named, latex, entries = formulas(n)
        idx, _ = ts.representative(n)
        return TensorInputResult(n, value, grad, expr, named, latex, shape=list(g.shape(n)), matrix=forms.get(n),
                                 entries=entries, staged=staged.get(n, ""),
                                 representative=entry_name(n, idx, g.shape(n)), **kw)

    def node_result(n: str, value: Any, grad: Any, **kw: Any) -> TensorNodeResult:
        d = g.attrs(n)
        return TensorNodeResult(n, d["kind"], d["label"], value, grad, op=d.get("op"), named=bool(d.get("named")),
                                text=d.get("text"), staged=staged.get(n, ""), shape=list(g.shape(n)),
                                matrix=forms.get(n), **kw)

    if at is None:
        inputs: dict[str, TensorInputResult] = {n: input_result(n, None, None, status="symbolic-only")
                                                for n in g.inputs}
        nodes: list[TensorNodeResult] = [node_result(n, None, None, status="symbolic-only") for n in g.nodes]
        return TensorGradientReport(program, OutputResult(out, None), inputs, nodes, True, None, ("symbolic",),  # type: ignore[arg-type]
                                    title=g.title, tolerances=tol)

    from .finite_diff import finite_difference_estimates
    from .numeric import backward, forward

    values = forward(g, at)
    ev = backward(g, values)
    f_out = float(values[out])
    point = {n: _value(values[n]) for n in g.inputs}
    kinks = tensor_kinks(g, values, tol)
    on_kink = {a for k in kinks for a in k.affected if k.exact}
    near_kink = {a for k in kinks for a in k.affected if not k.exact}
    fd = finite_difference_estimates(g, at) if "fd" in methods else {}
    tg = None
    if "torch" in methods:
        from .tensor_torch import torch_gradients

        tg = torch_gradients(g, at)
    fd_atol = tol.fd_atol * max(1.0, abs(f_out))
    inputs = {}
    for n in g.inputs:
        grad = ev.adjoints[n]
        r = input_result(n, point[n], _value(grad))
        oks = []
        if n in fd:
            est = fd[n]
            r.fd, r.fd_error = _value(est.value), float(np.max(est.error)) if est.error.size else 0.0
            r.fd_rel_err = _max_rel(grad, est.value)
            oks.append(bool(np.all(_close(grad, est.value, tol.fd_rtol, fd_atol + 2 * est.error))))
        if tg is not None:
            r.torch = _value(tg.adjoints[n])
            r.torch_rel_err = _max_rel(grad, tg.adjoints[n])
            oks.append(bool(np.all(_close(grad, tg.adjoints[n], tol.torch_rtol, tol.torch_atol))))
        agree = all(oks)
        if n in on_kink or n in near_kink:
            r.status = ("kink" if n in on_kink else "near-kink") + ("-agree" if agree else "")
            r.ok = True  # a convention difference at a kink is not a failure
        else:
            r.ok, r.status = agree, "ok" if agree else "mismatch"
        inputs[n] = r
    nodes = []
    for n in g.nodes:
        nr = node_result(n, _value(values[n]), _value(ev.adjoints[n]))
        if tg is not None:
            nr.torch = _value(tg.adjoints[n])
            nr.rel_err = _max_rel(ev.adjoints[n], tg.adjoints[n])
            agree = bool(np.all(_close(ev.adjoints[n], tg.adjoints[n], tol.torch_rtol, tol.torch_atol)))
            if n in on_kink or n in near_kink:
                nr.status = ("kink" if n in on_kink else "near-kink") + ("-agree" if agree else "")
            else:
                nr.ok, nr.status = agree, "ok" if agree else "mismatch"
        nodes.append(nr)
    ok = all(r.ok for r in inputs.values()) and all(n.ok for n in nodes)
    blame = None
    if not ok:
        bad = next((n for n in reversed(nodes) if not n.ok), None)
        if bad is not None:
            blame = Blame(bad.id, f"first disagreement in backward order at {g.describe(bad.id)}: the adjoints by "
                                  f"gradlab's VJPs and by torch differ (largest relative error {bad.rel_err:.3g})")
        else:
            first = next(r for r in inputs.values() if not r.ok)
            blame = Blame(first.name, f"d{out}/d{first.name}: finite differences disagree while torch agrees "
                                      f"(largest relative error {first.fd_rel_err:.3g}); is the point near a pole?")
    return TensorGradientReport(program, OutputResult(out, f_out), inputs, nodes, ok, point,  # type: ignore[arg-type]
                                tuple(["symbolic", *[m for m in methods if m != "symbolic"]]), kinks, blame, tol,
                                title=g.title)


def tensor_kinks(graph: Graph, values: Mapping[str, np.ndarray], tol: Tolerances | None = None) -> list[KinkResult]:
    """Elementwise relu/abs/max/min gates with an entry on (or near) its kink."""
    tol = tol or Tolerances()
    found = []
    for n in graph.op_nodes:
        d = graph.attrs(n)
        op = op_for(d["op"])
        if op is None or isinstance(op, TensorOp) or op.kink_distance is None:
            continue
        args = graph.args(n)
        arg_vals = [expand(values[a], graph.shape(a), graph.shape(n)) for a in args]
        dist = np.asarray(op.kink_distance(arg_vals, d.get("param")), dtype=float)
        scale = 1.0 + np.max(np.abs(np.stack(np.broadcast_arrays(*arg_vals))), axis=0)
        near = dist <= tol.near_kink * scale
        if not np.any(near):
            continue
        exact = bool(np.any(dist == 0.0))
        affected = sorted(nx.ancestors(graph.nx, n), key=graph.nodes.index)
        where = [list(map(int, i)) for i in np.argwhere(near)][:5]
        note = (f"{d['label']} at {graph.describe(n)} has entries {'on' if exact else 'near'} its kink (at "
                f"{where}): the derivative there depends on the convention (SymPy's Heaviside(0) = 1/2, torch's 0), "
                "so differences between methods upstream of this gate are expected, not errors.")
        found.append(KinkResult(n, d["op"], {a: _value(v) for a, v in zip(args, arg_vals)}, float(np.min(dist)),
                                exact, op.conventions(d.get("param")), affected, note))
    return found


# ------------------------------------------------------------------------------- text


def _arr(a: Any) -> str:
    if a is None:
        return "-"
    arr = np.asarray(a, dtype=float)
    if arr.ndim == 0:
        from .report import num

        return num(float(arr))
    if arr.size > PRINT_ENTRIES:
        return f"<{'x'.join(map(str, arr.shape))} array>"
    return np.array2string(arr, precision=6, separator=", ", suppress_small=False, max_line_width=200).replace("\n", "")


def format_tensor_report(r: TensorGradientReport, *, nodes: bool = False) -> str:
    """The text report of a tensor graph (``gradlab grad`` and ``gradlab check`` print it)."""
    from .report import header_lines, table

    out = r.output.name
    lines = header_lines(r, _arr, " = ")
    if r.at is not None:
        headers = ["input", "shape", f"d{out}/d input"]
        if "fd" in r.methods:
            headers.append("fd rel err")
        if "torch" in r.methods:
            headers.append("torch rel err")
        headers.append("check")
        rows = []
        for i in r.inputs.values():
            shape = tuple(i.shape)  # type: ignore[attr-defined]
            row = [i.name, str(shape) if shape else "()", _arr(i.grad)]
            if "fd" in r.methods:
                row.append(f"{i.fd_rel_err:.1e}" if i.fd_rel_err is not None else "-")
            if "torch" in r.methods:
                row.append(f"{i.torch_rel_err:.1e}" if i.torch_rel_err is not None else "-")
            row.append("ok" if i.ok and i.status == "ok" else (i.status.upper() if i.ok else "FAIL"))
            rows.append(row)
        lines.append(table(headers, rows))
    matrix = [(i.name, i.matrix) for i in r.inputs.values() if i.matrix]  # type: ignore[attr-defined]
    named_nodes = [(n.id, n.matrix) for n in r.nodes if n.named and n.kind == "op" and n.matrix and n.id != out]  # type: ignore[attr-defined]
    if matrix or named_nodes:
        lines.append("")
        lines.append("gradients in matrix form (each checked at random points):")
        for n, f in matrix + named_nodes:
            lines.append(f"  d{out}/d{n} = {f}")
    lines.append("")
    lines.append("entry by entry (1-based: B_1_2 is the entry in row 1, column 2):")
    for i in r.inputs.values():
        entries = i.entries  # type: ignore[attr-defined]
        if i.shape == []:  # type: ignore[attr-defined]
            lines.append(f"  d{out}/d{i.name} = {i.named}")
        elif entries and len(entries) <= 6:
            for e, f in entries.items():
                lines.append(f"  d{out}/d{e} = {f}")
        else:
            n_entries = int(np.prod(i.shape))  # type: ignore[attr-defined]
            lines.append(f"  d{out}/d{i.representative} = {i.named}   (one of {n_entries} entries)")  # type: ignore[attr-defined]
    if nodes:
        chain = [(n.id, n.staged) for n in r.nodes if n.staged and n.id != out and (n.kind == "input" or n.named)]
        if chain:
            lines.append("")
            lines.append("the chain rule, one gate at a time (each adjoint from its consumers' adjoints):")
            lines += [f"  d{out}/d{n} = {s}" for n, s in chain]
    if nodes and r.at is not None:
        lines.append("")
        lines.append(f"every node (value, adjoint d{out}/d node by gradlab's VJPs, and the check against torch):")
        rows = [[n.id, n.label, str(tuple(n.shape)) if n.shape else "()", _arr(n.value), _arr(n.grad),  # type: ignore[attr-defined]
                 f"{n.rel_err:.1e}" if n.rel_err is not None else "-", "ok" if n.ok else "FAIL"] for n in r.nodes]
        lines.append(table(["node", "gate", "shape", "value", "adjoint", "torch rel err", "check"], rows))
    for k in r.kinks:
        lines.append("")
        lines.append(("KINK: " if k.exact else "NEAR KINK: ") + k.note)
    if r.blame:
        lines.append("")
        lines.append("BLAME: " + r.blame.message)
    if r.at is not None:
        lines.append("")
        if r.ok and not set(r.methods) - {"symbolic"}:
            lines.append("no independent check run (--methods ''): the gradients are the symbolic ones, evaluated")
        else:
            lines.append("all methods agree" if r.ok else "CHECK FAILED: the methods disagree (see FAIL above)")
    return "\n".join(lines)
