"""One call, every gradient, checked three ways: :func:`gradients` and its :class:`GradientReport`.

>>> from gradlab import gradients
>>> r = gradients("a = 1/(1+exp(-(w0*x0 + w1*x1 + w2)))", at=dict(w0=2, x0=-1, w1=-3, x1=-2, w2=-3))
>>> round(r.output.value, 4), round(r.inputs["x0"].grad, 4), r.ok
(0.7311, 0.3932, True)

Symbolic (SymPy, reverse accumulation) and numeric adjoints come from the gates' local
partials; central finite differences and torch autograd check them independently.
Per input and per node: the values, the relative errors, pass or fail. When methods
disagree, :attr:`GradientReport.blame` names the first node in backward order whose
adjoint disagrees and the gate whose local derivative is wrong. When the point sits on
a kink of relu, abs, max or min, :attr:`GradientReport.kinks` says so and shows what each
convention gives; the disagreement it causes is not a failure.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

import networkx as nx
import numpy as np

from .errors import GradlabError
from .finite_diff import finite_difference_estimates, scale_atol
from .graph import Graph
from .jsonable import jsonable as _jsonable
from .numeric import backward, forward, is_close, local_partials, rel_error
from .ops import OPS

METHODS = ("symbolic", "fd", "torch")


@dataclass(frozen=True)
class Tolerances:
    """When two methods agree: ``|a - b| <= atol + rtol * max(|a|, |b|)``.

    Finite differences have truncation and rounding error (about 1e-10 relative at the
    default step), so they get ``fd_rtol``/``fd_atol`` (``fd_atol`` is scaled by
    ``max(1, |output|)``, and widened by twice the differences' own error estimate, see
    :class:`gradlab.finite_diff.FDEstimate`); torch computes the same float64 arithmetic
    in another order.
    """

    fd_rtol: float = 1e-6
    fd_atol: float = 1e-8
    torch_rtol: float = 1e-9
    torch_atol: float = 1e-10
    #: a kink argument closer than this (relative) to the kink counts as "near" it
    near_kink: float = 1e-4


@dataclass
class OutputResult:
    name: str
    value: float | None


@dataclass
class InputResult:
    """One input: its value, d output / d input by each method, and whether they agree."""

    name: str
    value: float | None
    grad: float | None
    expr: str
    named: str
    latex: str
    fd: float | None = None
    torch: float | None = None
    fd_rel_err: float | None = None
    fd_error: float | None = None  # estimated error of the finite differences themselves
    torch_rel_err: float | None = None
    ok: bool = True
    #: ok | mismatch | symbolic-only | kink / near-kink (methods differ, as conventions allow) |
    #: kink-agree / near-kink-agree (on or near a kink, and still every method agrees)
    status: str = "ok"
    #: on or near a kink: d output / d input under each convention (sympy, torch, fd_central,
    #: fd_left, fd_right: the one-sided difference quotients)
    conventions: dict[str, float] = field(default_factory=dict)


@dataclass
class NodeResult:
    """One node: its value and adjoint (numeric from the symbolic partials, and by torch)."""

    id: str
    kind: str
    label: str
    value: float | None
    grad: float | None
    torch: float | None = None
    rel_err: float | None = None
    ok: bool = True
    status: str = "ok"
    op: str | None = None
    named: bool = False
    text: str | None = None
    staged: str = ""


@dataclass
class KinkResult:
    """A gate evaluated exactly on (or near) its kink, and what each convention gives there."""

    node: str
    op: str
    args: dict[str, float]
    distance: float
    exact: bool
    local_conventions: dict[str, list[float]]
    affected: list[str]
    note: str


@dataclass
class Blame:
    """Where methods first disagree, in backward order, and which gate is to blame."""

    node: str
    message: str
    gate: str | None = None
    argument: int | None = None
    symbolic_local: float | None = None
    torch_local: float | None = None
    fd_local: float | None = None


@dataclass
class GradientReport:
    """The result of :func:`gradients`; ``to_json()`` keeps the documented stable keys."""

    program: str
    output: OutputResult
    inputs: dict[str, InputResult]
    nodes: list[NodeResult]
    ok: bool
    at: dict[str, float] | None = None
    methods: tuple[str, ...] = METHODS
    kinks: list[KinkResult] = field(default_factory=list)
    blame: Blame | None = None
    tolerances: Tolerances = field(default_factory=Tolerances)
    title: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["methods"] = list(self.methods)
        return _jsonable(d)

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    def __str__(self) -> str:
        from .report import format_report

        return format_report(self)

    def grad(self, name: str) -> float | None:
        """d output / d name for an input or any node."""
        if name in self.inputs:
            return self.inputs[name].grad
        for n in self.nodes:
            if n.id == name:
                return n.grad
        raise KeyError(name)


def _as_graph(graph_or_program: Graph | str, at: Mapping[str, Any] | None = None) -> Graph:
    if isinstance(graph_or_program, Graph):
        graph_or_program.validate()
        return graph_or_program
    if isinstance(graph_or_program, str):
        from .tensor_parse import looks_like_tensor_program, parse_tensor_program, shapes_of

        if at is not None and looks_like_tensor_program(graph_or_program):  # undeclared shapes from the values
            return parse_tensor_program(graph_or_program, shapes=shapes_of(at))
        return Graph.parse(graph_or_program)
    raise GradlabError(f"expected a Graph or a program text, got {type(graph_or_program).__name__}")


def _f(x: Any) -> float:
    return float(np.asarray(x).reshape(()))


def gradients(graph_or_program: Graph | str, at: Mapping[str, float] | None = None, *,
              methods: Sequence[str] = METHODS, tol: Tolerances | None = None,
              simplify: bool = True) -> GradientReport:
    """Every forward value and gradient of a graph, checked by independent methods.

    ``at`` maps each input to a number; without it, only symbolic results are given.
    ``methods`` picks the independent checks (``"fd"``, ``"torch"``); ``"symbolic"``
    (with the numeric values computed from it) is always there.
    """
    from .symbolic import symbolic_gradients

    graph = _as_graph(graph_or_program, at)
    if graph.is_tensor:  # vectors and matrices: the tensor engine, same report with arrays
        from .tensor_check import tensor_gradients

        return tensor_gradients(graph, at, methods=methods, tol=tol, simplify=simplify)
    tol = tol or Tolerances()
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise GradlabError(f"unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}")
    sym = symbolic_gradients(graph, simplify=simplify)
    out = graph.output
    program = graph.nx.graph.get("source") or ""
    small = sym.small

    def expr_texts(n: str) -> tuple[str, str, str]:
        """The formula (as readable as its size allows), the named form and LaTeX."""
        if not small:  # big graphs: the staged form; LaTeX on request from symbolic_gradients()
            staged = str(sym.staged[n])
            return staged, staged, ""
        return str(sym.expr(n)), str(sym.readable_named(n)), sym.latex(n, "expr")

    def staged_text(n: str) -> str:
        return str(sym.staged[n]) if small else ""

    if at is None:
        inputs = {}
        for n in graph.inputs:
            e, nm, lx = expr_texts(n)
            inputs[n] = InputResult(n, None, None, e, nm, lx, status="symbolic-only")
        nodes = [NodeResult(n, graph.kind(n), graph.attrs(n)["label"], None, None, op=graph.attrs(n).get("op"),
                            named=bool(graph.attrs(n).get("named")), text=graph.attrs(n).get("text"),
                            staged=staged_text(n), status="symbolic-only")
                 for n in graph.nodes]
        return GradientReport(program, OutputResult(out, None), inputs, nodes, True, None, ("symbolic",),
                              title=graph.title, tolerances=tol)

    values = forward(graph, at)
    if values[out].ndim != 0:
        raise GradlabError("gradients() checks one point at a time; pass numbers, not arrays "
                           "(use gradlab.numeric.evaluate for a batch)")
    ev = backward(graph, values)
    f_out = _f(values[out])
    point = {n: _f(values[n]) for n in graph.inputs}

    kinks = find_kinks(graph, values, tol)
    on_kink = {a for k in kinks for a in k.affected if k.exact}
    near_kink = {a for k in kinks for a in k.affected if not k.exact}

    fd = finite_difference_estimates(graph, point) if "fd" in methods else {}
    tg = None
    if "torch" in methods:
        from .torch_backend import torch_gradients

        tg = torch_gradients(graph, point)

    # On a kink the derivative is undefined and the methods may rightly differ. No silent pass:
    # the symbolic adjoints recomputed with torch's convention at each kink must equal torch's.
    torch_convention = None
    if tg is not None and on_kink:
        overrides = {(u, k.node, i): k.local_conventions["torch"][i]
                     for k in kinks if k.exact for i, u in enumerate(graph.args(k.node))}
        torch_convention = backward(graph, values, overrides=overrides).adjoints

    def judge(n: str, agree_torch: bool, agree_fd: bool, t_value: float | None) -> tuple[bool, str]:
        """(ok, status) of one input or node; see InputResult.status."""
        if n in on_kink:
            conv_ok = torch_convention is None or t_value is None or is_close(
                _f(torch_convention[n]), t_value, tol.torch_rtol, tol.torch_atol)
            if not conv_ok:
                return False, "mismatch"
            return True, "kink-agree" if (agree_torch and agree_fd) else "kink"
        if n in near_kink:  # no kink at the point itself: only finite differences may straddle it
            if not agree_torch:
                return False, "mismatch"
            return True, "near-kink-agree" if agree_fd else "near-kink"
        ok_ = agree_torch and agree_fd
        return ok_, "ok" if ok_ else "mismatch"

    fd_atol = scale_atol(tol.fd_atol, f_out)
    input_results: dict[str, InputResult] = {}
    for n in graph.inputs:
        g = _f(ev.adjoints[n])
        e, nm, lx = expr_texts(n)
        r = InputResult(n, point[n], g, e, nm, lx)
        agree_fd = agree_torch = True
        if n in fd:
            est = fd[n]
            r.fd = est.value
            r.fd_error = est.error
            r.fd_rel_err = rel_error(g, est.value)
            # the estimated error of the differences widens the tolerance where they are unreliable
            agree_fd = is_close(g, est.value, tol.fd_rtol, fd_atol + 2 * est.error)
        if tg is not None:
            r.torch = float(tg.adjoints[n])
            r.torch_rel_err = rel_error(g, r.torch)
            agree_torch = is_close(g, r.torch, tol.torch_rtol, tol.torch_atol)
        if n in on_kink or n in near_kink:
            r.conventions["sympy"] = g
            if r.torch is not None:
                r.conventions["torch"] = r.torch
            if n in fd:
                r.conventions.update({"fd_central": fd[n].value, "fd_left": fd[n].left, "fd_right": fd[n].right})
        r.ok, r.status = judge(n, agree_torch, agree_fd, r.torch)
        input_results[n] = r

    node_results: list[NodeResult] = []
    for n in graph.nodes:
        d = graph.attrs(n)
        g = _f(ev.adjoints[n])
        nr = NodeResult(n, d["kind"], d["label"], _f(values[n]), g, op=d.get("op"), named=bool(d.get("named")),
                        text=d.get("text"), staged=staged_text(n))
        if tg is not None:
            nr.torch = float(tg.adjoints[n])
            nr.rel_err = rel_error(g, nr.torch)
            agree = is_close(g, nr.torch, tol.torch_rtol, tol.torch_atol)
            nr.ok, nr.status = judge(n, agree, True, nr.torch)
        node_results.append(nr)

    ok = all(r.ok for r in input_results.values()) and all(n.ok for n in node_results)
    blame = None if ok else find_blame(graph, values, ev.adjoints, tg.adjoints if tg else None, input_results, tol,
                                       excluded=on_kink)
    return GradientReport(program, OutputResult(out, f_out), input_results, node_results, ok, point,
                          tuple(["symbolic", *[m for m in methods if m != "symbolic"]]), kinks, blame, tol,
                          title=graph.title)


def find_kinks(graph: Graph, values: Mapping[str, np.ndarray], tol: Tolerances | None = None) -> list[KinkResult]:
    """Gates of relu, abs, max, min whose arguments sit on (or within ``tol.near_kink`` of) the kink."""
    tol = tol or Tolerances()
    found = []
    for n in graph.op_nodes:
        d = graph.attrs(n)
        op = OPS[d["op"]]
        if op.kink_distance is None:
            continue
        args = graph.args(n)
        arg_vals = [values[a] for a in args]
        dist = _f(op.kink_distance(arg_vals, d.get("param")))
        scale = 1.0 + max(abs(_f(v)) for v in arg_vals)
        if dist > tol.near_kink * scale:
            continue
        exact = dist == 0.0
        affected = sorted(nx.ancestors(graph.nx, n), key=graph.nodes.index)
        what = f"{d['label']}({', '.join(f'{a}={_f(v):g}' for a, v in zip(args, arg_vals))})"
        if exact:
            conv = op.conventions(d.get("param"))
            note = (f"{what} sits on its kink: the derivative is not defined there. SymPy's convention "
                    f"(Heaviside(0) = 1/2) gives {conv.get('sympy')}, torch gives {conv.get('torch')}, "
                    f"one-sided slopes {conv.get('left')} (left) and {conv.get('right')} (right). "
                    "Differences between methods upstream of this gate are expected, not errors.")
        else:
            note = (f"{what} is within {dist:.3g} of its kink: finite differences may straddle it, "
                    "so a finite-difference mismatch upstream is not counted as an error.")
        found.append(KinkResult(n, d["op"], {a: _f(v) for a, v in zip(args, arg_vals)}, dist, exact,
                                op.conventions(d.get("param")), affected, note))
    return found


def find_blame(graph: Graph, values: Mapping[str, np.ndarray], adjoints: Mapping[str, np.ndarray],
               torch_adjoints: Mapping[str, float] | None, inputs: Mapping[str, InputResult],
               tol: Tolerances, excluded: set[str] = frozenset()) -> Blame | None:  # type: ignore[assignment]
    """The first node in backward order whose adjoint disagrees, and the gate whose local partial is wrong."""
    from .torch_backend import torch_local_partials

    first = None
    if torch_adjoints is not None:
        for n in reversed(graph.nodes):
            if n in excluded or graph.kind(n) == "const":
                continue
            if not is_close(_f(adjoints[n]), float(torch_adjoints[n]), tol.torch_rtol, tol.torch_atol):
                first = n
                break
    if first is None:
        bad = [r.name for r in inputs.values() if not r.ok]
        if not bad:
            return None
        first = bad[0]
        r = inputs[first]
        return Blame(first, f"d {graph.output}/d {first}: the gradient {r.grad:.6g} disagrees with finite "
                            f"differences {r.fd:.6g} while torch agrees; check the point is not near a pole or kink")
    # which consumer gate has a wrong local derivative?
    for v, k in sorted(graph.consumers(first), key=lambda vk: graph.nodes.index(vk[0])):
        sym_local = _f(local_partials(graph, v, values)[k])
        t_local = torch_local_partials(graph, v, values)[k]
        fd_local = _fd_local(graph, v, k, values)
        if not is_close(sym_local, t_local, 1e-7, 1e-9):
            msg = (f"first disagreement in backward order at {graph.describe(first)}: adjoint "
                   f"{_f(adjoints[first]):.6g} (symbolic) vs {float(torch_adjoints[first]):.6g} (torch). "  # type: ignore[index]
                   f"Its consumer {graph.describe(v)} has a wrong local derivative for argument {k}: "
                   f"symbolic {sym_local:.6g}, torch {t_local:.6g}, finite differences {fd_local:.6g}")
            return Blame(first, msg, v, k, sym_local, t_local, fd_local)
    d_first = _f(adjoints[first])
    t_first = float(torch_adjoints[first])  # type: ignore[index]
    return Blame(first, f"first disagreement in backward order at {graph.describe(first)}: adjoint {d_first:.6g} "
                        f"(symbolic) vs {t_first:.6g} (torch); the local derivatives of its consumers agree, so "
                        "the sum over its out-wires is wrong (gradients must add up at a fork)")


def _fd_local(graph: Graph, v: str, k: int, values: Mapping[str, np.ndarray]) -> float:
    """d gate / d its argument k by finite differences of the gate alone, at its argument values."""
    d = graph.attrs(v)
    gate = Graph()
    args = [gate.input(f"a{i}") for i in range(len(graph.args(v)))]
    gate.set_output(gate.apply(d["op"], *args, param=d.get("param")))
    at = {f"a{i}": _f(values[a]) for i, a in enumerate(graph.args(v))}
    return finite_difference_estimates(gate, at, inputs=[f"a{k}"])[f"a{k}"].value
