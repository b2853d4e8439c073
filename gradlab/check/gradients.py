"""One call, every gradient, checked three ways: :func:`gradients` and its :class:`GradientReport`.

>>> from gradlab import gradients
>>> r = gradients("a = 1/(1+exp(-(w0*x0 + w1*x1 + w2)))", at=dict(w0=2, x0=-1, w1=-3, x1=-2, w2=-3))
>>> round(r.output.value, 4), round(r.inputs["x0"].grad, 4), r.ok
(0.7311, 0.3932, True)

Symbolic (SymPy, reverse accumulation) and numeric adjoints come from the gates' local
partials; finite differences and torch autograd check them independently.
Per input and per node: the values, the relative errors, pass or fail. When methods
disagree, :attr:`GradientReport.blame` names the first node in backward order whose
adjoint disagrees and the gate whose local derivative is wrong. When the point sits on
a kink of relu, abs, max or min, :attr:`GradientReport.kinks` says so and shows what each
convention gives; the disagreement it causes is not a failure.

:func:`gradients` is a pipeline of named steps over plain data, written once for every graph (a number
is the 0-d case of a vector or matrix): :func:`prepare` (graph, methods, tolerances) -> :func:`torch_send`
(the graph to a torch child process, where the command started one) ->
:func:`formulas` (symbolic) -> :func:`evaluate_point` (values and adjoints) -> :func:`find_kinks` ->
:func:`fd_step` (finite differences; a big graph: a sample, and :func:`fd_directions_step`) -> :func:`torch_step` -> :func:`kink_convention` ->
:func:`judge_inputs` / :func:`judge_nodes` -> :func:`find_blame` -> :class:`GradientReport`.
Where graphs of numbers and of arrays differ (formulas: matrix forms and entries; torch's engine; the
kink conventions) the difference lives in that one step.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

import numpy as np

from ..engine.closeness import close, max_rel_error
from ..engine.finite_diff import (
    FDEstimate,
    directional_differences,
    finite_difference_estimates,
    sample_plan,
    scale_atol,
)
from ..engine.numeric import Evaluation, backward, forward
from ..engine.plan import plan_of
from ..errors import GradlabError
from ..model.graph import Graph
from .blame import find_blame
from .budget import FORMULA_BUDGET, Budget, OutOfTime
from .kinks import as_value, find_kinks
from .referee import referee_blame, referee_step
from .results import (
    METHODS,
    Blame,
    FDSampling,
    GradientReport,
    InputResult,
    KinkResult,
    LazyEntries,
    NodeResult,
    OutputResult,
    StagedForm,
    Tolerances,
    Value,
)
from .staged import staged_form

if TYPE_CHECKING:
    from ..engine.torch_process import TorchProcess

__all__ = ["METHODS", "Blame", "Formulas", "GradientReport", "InputResult", "KinkResult", "NodeResult",
           "OutputResult", "Tolerances", "find_blame", "find_kinks", "gradients"]

#: Inputs with at most this many entries list every entry's formula; bigger ones a representative.
ENTRY_FORMULAS = 64
#: A graph of vectors and matrices gets entry formulas (SymPy, one per entry of every node) while its nodes hold at
#: most this many entries in all (the 64-32-10 network: about 2,600); bigger ones get the matrix-form chain rule
#: only, their numbers computed as fast as ever (a 100 x 100 ``A @ A`` took over 120 s entry by entry).
SYMBOLIC_ENTRIES = 8_192
#: The largest value, in entries, a gradient check takes on: every method holds a few such arrays per point
#: (finite differences several points at once), so past it the check would not finish in reasonable time.
MAX_CHECK_ENTRIES = 1_000_000
#: A big graph's formulas drop the SymPy objects behind them after this many inputs (see
#: :meth:`~gradlab.engine.symbolic.SymbolicGradients.forget`).
FORGET_EVERY = 1_000
#: After the torch step of a graph of at least this many nodes, the C heap's free pages go back to the system.
RELEASE_NODES = 20_000


@dataclass(slots=True)  # slots: a 100,000-gate chain's check holds 66,000 of them
class Formulas:
    """The symbolic step's text for one node: d output / d node as a formula (``expr``, in the inputs; ``named``,
    in the user's names; ``latex``), the chain-rule step (``staged``); for vectors and matrices also the matrix
    form, each entry's formula and the entry ``named`` shows (``representative``)."""

    expr: str = ""
    named: str = ""
    latex: str = ""
    staged: str = ""
    matrix: str | None = None
    entries: dict[str, str] = field(default_factory=dict)
    representative: str = ""
    #: why ``expr`` is the staged form, where it is (the time budget ran out, too big to read, a big graph)
    staged_reason: str = ""


# ------------------------------------------------------------------------------------------ the steps


def prepare(graph_or_program: Graph | str, at: Mapping[str, Any] | None, methods: Sequence[str],
            tol: Tolerances | None) -> tuple[Graph, tuple[str, ...], Tolerances]:
    """The graph (parsed, shapes of undeclared inputs from ``at``), the methods run (symbolic first) and the
    tolerances."""
    from ..lang.claims import as_graph

    unknown = [m for m in methods if m not in METHODS]
    graph = as_graph(graph_or_program, at)
    if unknown:
        raise GradlabError(f"unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}")
    if graph.is_tensor:  # the work, estimated up front: refuse what cannot finish in reasonable time
        biggest = max(graph.nodes, key=lambda n: int(np.prod(graph.shape(n), dtype=np.int64)))
        size = int(np.prod(graph.shape(biggest), dtype=np.int64))
        if size > MAX_CHECK_ENTRIES:
            raise GradlabError(f"'{biggest}' has {size:,} entries: a gradient check takes values of at most "
                               f"{MAX_CHECK_ENTRIES:,} entries (it would not finish in reasonable time); use "
                               "smaller shapes", graph.where(biggest))
    return graph, ("symbolic", *[m for m in methods if m != "symbolic"]), tol or Tolerances()


def formulas(graph: Graph, simplify: bool = True, budget: Budget | None = None) -> dict[str, Formulas]:
    """d output / d each node as text (inputs get the formulas, every node its chain-rule step); a graph of
    numbers builds its formulas in the inputs within ``budget`` (past it: the staged form)."""
    return _tensor_formulas(graph, simplify) if graph.is_tensor else _scalar_formulas(graph, simplify, budget)


def staged_step(graph: Graph, text: Mapping[str, Formulas]) -> StagedForm | None:
    """Where some input's formula is the staged form: the definitions a script needs to evaluate it, and why."""
    why = list(dict.fromkeys(text[n].staged_reason for n in plan_of(graph).inputs if text[n].staged_reason))
    if graph.is_tensor or not why:
        return None
    return staged_form(graph, "; ".join(why))


def _scalar_formulas(graph: Graph, simplify: bool, budget: Budget | None = None) -> dict[str, Formulas]:
    from ..engine.symbolic import FULL_FORM_LIMIT, symbolic_gradients, text

    sym = symbolic_gradients(graph, simplify=simplify)
    plan = plan_of(graph)
    if not sym.small:  # big graphs: the staged form of the inputs; LaTeX on request from symbolic_gradients()
        why = f"the graph has more than {FULL_FORM_LIMIT} gates"
        empty = Formulas()  # nodes other than inputs share one (nothing is written into it)
        found = dict.fromkeys(plan.nodes, empty)
        for i, n in enumerate(plan.inputs, 1):
            staged = text(sym.staged[n])
            found[n] = Formulas(staged, staged, staged_reason=why)
            if i % FORGET_EVERY == 0:  # only the text is kept: the SymPy objects go in batches
                sym.forget()
        return found
    found = {n: Formulas(staged=str(sym.staged[n])) for n in plan.nodes}
    sym.tick = budget.check if budget is not None else None
    try:
        with budget.interrupting() if budget is not None else contextlib.nullcontext():
            for n in plan_of(graph).inputs:
                if budget is not None:
                    budget.check()
                found[n] = Formulas(str(sym.expr(n)), str(sym.readable_named(n)), sym.latex(n, "expr"),
                                    str(sym.staged[n]), staged_reason="" if sym.form(n) != "staged"
                                    else "its formula in the inputs would be too big to read")
    except OutOfTime:  # the rest in the staged form, always linear in the graph
        assert budget is not None
        why = f"building the formulas in the inputs took longer than the formula budget of {budget.seconds:g} s"
        for n in plan_of(graph).inputs:
            if not found[n].expr:
                s = sym.staged[n]
                found[n] = Formulas(str(s), str(s), sym.latex(n, "staged"), str(s), staged_reason=why)
    return found


def _tensor_formulas(graph: Graph, simplify: bool) -> dict[str, Formulas]:
    from ..engine.tensor_forms import staged_forms
    from ..engine.tensor_symbolic import entry_name, tensor_symbolic
    from .forms import matrix_forms

    if sum(int(np.prod(graph.shape(n), dtype=np.int64)) for n in graph.nodes) > SYMBOLIC_ENTRIES:
        staged = staged_forms(graph)  # too big for entry formulas: the chain rule in matrix form only
        return {n: Formulas(staged.get(n, ""), staged.get(n, ""), staged=staged.get(n, ""), representative=n)
                if graph.kind(n) == "input" else Formulas(staged=staged.get(n, "")) for n in graph.nodes}
    ts = tensor_symbolic(graph, simplify=simplify)
    forms = matrix_forms(graph, ts)
    staged = staged_forms(graph)
    found = {n: Formulas(staged=staged.get(n, ""), matrix=forms.get(n)) for n in graph.nodes}
    for n in plan_of(graph).inputs:
        shape = graph.shape(n)
        idx, rep = ts.representative(n)
        f = found[n]
        if int(np.prod(shape)) <= ENTRY_FORMULAS:  # the text made when it is read (LazyEntries)
            f.entries = LazyEntries([entry_name(n, i, shape) for i in np.ndindex(*shape)],
                                    functools.partial(_entry_formulas, ts, n, shape))
        f.named = str(rep)
        f.expr = forms.get(n) or (f.named if shape == () else f"{entry_name(n, idx, shape)}: {f.named}")
        f.latex = _latex_entry(rep)
        f.representative = entry_name(n, idx, shape)
    return found


def _entry_formulas(ts: Any, n: str, shape: tuple[int, ...]) -> dict[str, Any]:
    from ..engine.tensor_symbolic import entry_name

    named = ts.named(n)
    return {entry_name(n, i, shape): named[i] for i in np.ndindex(*shape)}


def _latex_entry(e: Any) -> str:
    """LaTeX of an entry formula, ``B_1_2`` written ``B_{1,2}``."""
    import sympy as sp

    from ..lang.tensor_expr import ENTRY_RE

    if not isinstance(e, sp.Basic):
        return str(e)
    names = {}
    for s in e.free_symbols:
        m = ENTRY_RE.match(str(s))
        if m:
            idx = ",".join(g for g in m.groups()[1:] if g is not None)
            names[s] = f"{sp.latex(sp.Symbol(m.group(1)))}_{{{idx}}}"
    return str(sp.latex(e, symbol_names=names))


def evaluate_point(graph: Graph, at: Mapping[str, Any]) -> Evaluation:
    """Every node's value and adjoint d output / d node at one point."""
    values = forward(graph, at)
    out = graph.output
    if values[out].ndim != len(graph.shape(out)):
        raise GradlabError("gradients() checks one point at a time; pass numbers, not arrays "
                           "(use gradlab.engine.numeric.evaluate for a batch)")
    return backward(graph, values)


def _point(graph: Graph, ev: Evaluation) -> dict[str, np.ndarray]:
    return {n: ev.values[n] for n in plan_of(graph).inputs}  # the plan's list: no walk over every node


def fd_step(graph: Graph, ev: Evaluation, methods: Sequence[str]) -> dict[str, FDEstimate]:
    """Finite differences of the output for every input entry (none unless ``"fd"`` is among the methods); in a
    big graph for a fixed sample of them (:func:`~gradlab.engine.finite_diff.sample_plan`), the rest being
    checked by :func:`fd_directions_step`."""
    if "fd" not in methods:
        return {}
    return finite_difference_estimates(graph, _point(graph, ev), entries=sample_plan(graph))


def fd_directions_step(graph: Graph, ev: Evaluation, methods: Sequence[str], fd: Mapping[str, FDEstimate],
                       tol: Tolerances) -> FDSampling | None:
    """A big graph (None for others): every input entry checked at once along a few random directions, the
    directional differences against the gradient's dot product with each direction; and which entries
    :func:`fd_step` differenced one by one."""
    plan = sample_plan(graph) if "fd" in methods else None
    if plan is None:
        return None
    d = directional_differences(graph, _point(graph, ev))
    names = plan_of(graph).inputs
    count = len(d.value)
    grad = np.concatenate([np.ravel(ev.adjoints[n]) for n in names])
    dirs = np.concatenate([d.directions[n].reshape(count, -1) for n in names], axis=1)
    exact, scale = dirs @ grad, np.abs(dirs) @ np.abs(grad)
    usable = np.isfinite(d.error)
    fd_atol = scale_atol(tol.fd_atol, float(ev.output))
    agree = np.abs(d.value - exact) <= tol.fd_rtol * scale + fd_atol + 2 * d.error
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(scale > 0, np.abs(d.value - exact) / np.maximum(scale, 1e-300), 0.0)
    checked = [f"{n}[{', '.join(str(int(i)) for i in np.unravel_index(k, graph.shape(n)))}]" if graph.shape(n) else n
               for n, ks in plan.items() for k in ks.tolist()]
    return FDSampling(sum(int(np.prod(graph.shape(n))) for n in plan_of(graph).inputs), len(checked), checked,
                      len(d.value), [float(v) for v in d.value], [float(v) for v in exact],
                      float(np.max(rel[usable], initial=0.0)), bool(np.all(agree[usable])))


def torch_step(graph: Graph, ev: Evaluation, methods: Sequence[str],
               process: TorchProcess | None = None) -> dict[str, Value] | None:
    """d output / d every node by torch autograd (None unless ``"torch"`` is among the methods); from ``process``,
    a child sent the graph by :func:`torch_send`, where it has the answer."""
    if "torch" not in methods:
        return None
    from ..engine.numeric import point_values
    from ..engine.torch_process import torch_answer  # one autograd pass for every graph; torch loads only here

    answer = torch_answer(process, graph, point_values(graph, _point(graph, ev)))
    found = {n: as_value(a) for n, a in answer.adjoints.items()}
    if len(found) >= RELEASE_NODES:
        release_freed_memory()
    return found


def torch_send(graph: Graph, at: Mapping[str, Any] | None, methods: Sequence[str],
               process: TorchProcess | None) -> TorchProcess | None:
    """Send the graph and the point to a torch child process as soon as they are known (the process, or None where
    it is not needed or the point is not valid: the steps below then say what is wrong)."""
    if process is None:
        return None
    if at is None or "torch" not in methods:
        process.close()
        return None
    from ..engine.numeric import point_values

    try:
        point = point_values(graph, at)
    except GradlabError:
        process.close()
        return None
    process.send(graph, point)
    return process


def release_freed_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim``; elsewhere nothing). torch's
    tensors for every node of a big graph are freed when its step ends, but the C allocator keeps their pages,
    and the steps after it (Python's objects live elsewhere) would add to that high-water mark."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return
    trim(0)


def kink_convention(graph: Graph, ev: Evaluation, kinks: Sequence[KinkResult],
                    torch: Mapping[str, Value] | None) -> dict[str, np.ndarray] | None:
    """The adjoints recomputed with torch's convention at each kink the point sits on, which must equal torch's:
    on a kink the methods may rightly differ, but not silently. (Graphs of numbers; a vector gate has entries
    off its kink, whose partials a constant override would change.)"""
    if torch is None or graph.is_tensor or not any(k.exact for k in kinks):
        return None
    overrides = {(u, k.node, i): k.local_conventions["torch"][i]
                 for k in kinks if k.exact for i, u in enumerate(graph.args(k.node))}
    return backward(graph, ev.values, overrides=overrides).adjoints


@dataclass
class _Verdicts:
    """What every judgement needs: the nodes on and near a kink, and the adjoints with torch's convention."""

    tol: Tolerances
    on_kink: set[str]
    near_kink: set[str]
    convention: Mapping[str, np.ndarray] | None

    def __call__(self, n: str, agree_torch: bool, agree_fd: bool, torch: Value | None) -> tuple[bool, str]:
        """(ok, status) of one input or node; see :attr:`InputResult.status`."""
        if n in self.on_kink:
            if self.convention is not None and torch is not None and not close(
                    self.convention[n], torch, self.tol.torch_rtol, self.tol.torch_atol):
                return False, "mismatch"
            return True, "kink-agree" if (agree_torch and agree_fd) else "kink"
        if n in self.near_kink:  # no kink at the point itself: only finite differences may straddle it
            if not agree_torch:
                return False, "mismatch"
            return True, "near-kink-agree" if agree_fd else "near-kink"
        ok = agree_torch and agree_fd
        return ok, "ok" if ok else "mismatch"


def verdicts(kinks: Sequence[KinkResult], convention: Mapping[str, np.ndarray] | None,
             tol: Tolerances) -> _Verdicts:
    """The judge of every input and node: agreement decides, except upstream of a kink."""
    return _Verdicts(tol, {a for k in kinks for a in k.affected if k.exact},
                     {a for k in kinks for a in k.affected if not k.exact}, convention)


def judge_inputs(graph: Graph, ev: Evaluation, text: Mapping[str, Formulas], fd: Mapping[str, FDEstimate],
                 torch: Mapping[str, Value] | None, judge: _Verdicts) -> dict[str, InputResult]:
    """Each input's gradient beside finite differences and torch, with errors and a verdict."""
    tol = judge.tol
    fd_atol = scale_atol(tol.fd_atol, float(ev.output))
    tensor = graph.is_tensor  # once: it looks at every node
    found = {}
    for n in plan_of(graph).inputs:
        r = _input_result(graph, n, text[n], as_value(ev.values[n]), as_value(ev.adjoints[n]), tensor=tensor)
        grad = r.grad  # a float for a number: the comparisons below make no arrays
        agree_fd = agree_torch = True
        if n in fd:
            est = fd[n]
            r.fd = as_value(est.value)
            if not tensor and est.scheme != "":  # a number, differenced
                error = float(est.error)
                r.fd_error = error
                r.fd_rel_err = max_rel_error(grad, r.fd)
                agree_fd = close(grad, r.fd, tol.fd_rtol, fd_atol + 2 * error)
            else:
                # the entries differenced: all of them, but for the sample of a big graph (the others nan)
                m = np.asarray(est.scheme) != ""
                g, value, err = np.asarray(grad)[m], np.asarray(est.value)[m], np.asarray(est.error)[m]
                r.fd_error = float(np.max(err)) if np.size(err) else 0.0
                r.fd_rel_err = max_rel_error(g, value)
                # the estimated error of the differences widens the tolerance where they are unreliable
                agree_fd = close(g, value, tol.fd_rtol, fd_atol + 2 * err)
        if torch is not None:
            r.torch = torch[n]
            r.torch_rel_err = max_rel_error(grad, r.torch)
            agree_torch = close(grad, r.torch, tol.torch_rtol, tol.torch_atol)
        if not tensor and (n in judge.on_kink or n in judge.near_kink):
            r.conventions = _conventions(r, fd.get(n))
        r.ok, r.status = judge(n, agree_torch, agree_fd, r.torch)
        found[n] = r
    return found


def _conventions(r: InputResult, est: FDEstimate | None) -> dict[str, float]:
    """d output / d an input near a kink under each convention (a graph of numbers)."""
    conv = {"sympy": float(r.grad)} if r.grad is not None else {}
    if r.torch is not None:
        conv["torch"] = float(r.torch)
    if est is not None:
        conv.update({"fd_central": est.value, "fd_left": est.left, "fd_right": est.right})
    return conv


def judge_nodes(graph: Graph, ev: Evaluation, text: Mapping[str, Formulas], torch: Mapping[str, Value] | None,
                judge: _Verdicts) -> list[NodeResult]:
    """Each node's value and adjoint beside torch's, with the error and a verdict."""
    found = []
    rtol, atol = judge.tol.torch_rtol, judge.tol.torch_atol
    for n in plan_of(graph).nodes:
        r = _node_result(graph, n, text[n], as_value(ev.values[n]), as_value(ev.adjoints[n]))
        if torch is not None:
            adj = r.grad  # a float for a number: no arrays made
            r.torch = torch[n]
            r.rel_err = max_rel_error(adj, r.torch)
            r.ok, r.status = judge(n, close(adj, r.torch, rtol, atol), True, r.torch)
        found.append(r)
    return found


def _input_result(graph: Graph, n: str, f: Formulas, value: Value | None, grad: Value | None, *,
                  tensor: bool, **kw: Any) -> InputResult:
    return InputResult(n, value, grad, f.expr, f.named, f.latex, shape=list(graph.shape(n)), matrix=f.matrix,
                       entries=f.entries, staged=f.staged if tensor else "",
                       representative=f.representative, **kw)


def _node_result(graph: Graph, n: str, f: Formulas, value: Value | None, grad: Value | None,
                 **kw: Any) -> NodeResult:
    d = graph.attrs(n)
    return NodeResult(n, d["kind"], d["label"], value, grad, op=d.get("op"), named=bool(d.get("named")),
                      text=d.get("text"), staged=f.staged, shape=list(graph.shape(n)), matrix=f.matrix, **kw)


def symbolic_only(graph: Graph, text: Mapping[str, Formulas], tol: Tolerances) -> GradientReport:
    """The report without a point: the formulas alone."""
    tensor = graph.is_tensor
    inputs = {n: _input_result(graph, n, text[n], None, None, tensor=tensor, status="symbolic-only")
              for n in plan_of(graph).inputs}
    nodes = [_node_result(graph, n, text[n], None, None, status="symbolic-only") for n in graph.nodes]
    return GradientReport(_program(graph), OutputResult(graph.output, None), inputs, nodes, True, None,
                          ("symbolic",), title=graph.title, tolerances=tol, is_tensor=tensor)


def _program(graph: Graph) -> str:
    return graph.nx.graph.get("source") or ""


# ------------------------------------------------------------------------------------------ the pipeline


def gradients(graph_or_program: Graph | str, at: Mapping[str, Any] | None = None, *,
              methods: Sequence[str] = METHODS, tol: Tolerances | None = None,
              simplify: bool = True, formula_budget: float | None = FORMULA_BUDGET,
              torch_process: TorchProcess | None = None) -> GradientReport:
    """Every forward value and gradient of a graph, checked by independent methods.

    ``at`` maps each input to a number (an array for a vector or matrix input); without it, only
    symbolic results are given. ``methods`` picks the independent checks (``"fd"``, ``"torch"``);
    ``"symbolic"`` (with the numeric values computed from it) is always there. Formulas in the inputs are
    built within ``formula_budget`` seconds (None: no limit); past it an input's formula is the staged form
    (each node's gradient in its consumers' adjoints and local partials), and :attr:`GradientReport.staged_form`
    holds the definitions that evaluate it. ``torch_process``, a
    :class:`~gradlab.engine.torch_process.TorchProcess` started before SymPy loads, runs torch beside the
    symbolic pass (the command does it: same result, sooner); the check ends it.

    >>> r = gradients("f = (x + y)*z", at=dict(x=-2, y=5, z=-4), methods=["fd"])
    >>> r.inputs["x"].grad, r.inputs["x"].status, r.methods
    (-4.0, 'ok', ('symbolic', 'fd'))
    """
    try:
        with _collector_paused():
            return _gradients(graph_or_program, at, methods, tol, simplify, formula_budget, torch_process)
    finally:
        if torch_process is not None:
            torch_process.close()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused for one check, as it was before afterwards. A check makes hundreds of
    thousands of short-lived objects (numbers, SymPy terms, results), none in a cycle, and each full collection
    walks every live object again, the graph's included: a fifth of a 10,000-gate chain's check."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _gradients(graph_or_program: Graph | str, at: Mapping[str, Any] | None, methods: Sequence[str],
               tol: Tolerances | None, simplify: bool, formula_budget: float | None,
               process: TorchProcess | None = None) -> GradientReport:
    graph, methods, tol = prepare(graph_or_program, at, methods, tol)
    process = torch_send(graph, at, methods, process)
    ev = evaluate_point(graph, at) if at is not None else None
    # torch in this process runs first, while little else is alive: its tensors for every node of a big graph are
    # the check's peak memory; a child's answer is read last, after the work it runs beside
    early = torch_step(graph, ev, methods) if ev is not None and process is None else None
    text = formulas(graph, simplify, Budget(formula_budget))  # the budget's clock starts here
    staged = staged_step(graph, text)
    if ev is None:
        report = symbolic_only(graph, text, tol)
        report.staged_form = staged
        return report
    kinks = find_kinks(graph, ev.values, tol)
    fd = fd_step(graph, ev, methods)
    sampling = fd_directions_step(graph, ev, methods, fd, tol)
    torch = early if process is None else torch_step(graph, ev, methods, process)
    judge = verdicts(kinks, kink_convention(graph, ev, kinks, torch), tol)
    inputs = judge_inputs(graph, ev, text, fd, torch, judge)
    nodes = judge_nodes(graph, ev, text, torch, judge)
    refereed = referee_step(graph, ev, fd, inputs, nodes, judge.on_kink, tol)  # only where float64 cannot decide
    ok = all(r.ok for r in inputs.values()) and all(r.ok for r in nodes)
    blame: Blame | None = None if ok else (find_blame(graph, ev.values, inputs, nodes, excluded=judge.on_kink)
                                           or referee_blame(graph, refereed, inputs))
    if sampling is not None and not sampling.directional_ok and not judge.on_kink and not judge.near_kink:
        ok = False
        blame = blame or Blame(graph.output, "finite differences along random directions (every input at once) "
                                             "disagree with the gradient, while the sampled inputs agree: some "
                                             "input outside the sample has a wrong gradient")
    return GradientReport(_program(graph), OutputResult(graph.output, float(ev.output)), inputs, nodes, ok,
                          {n: r.value for n, r in inputs.items() if r.value is not None}, methods, kinks, blame, tol,
                          title=graph.title, is_tensor=graph.is_tensor, fd_sampling=sampling, referee=refereed,
                          staged_form=staged)


def _as_graph(graph_or_program: Graph | str, at: Mapping[str, Any] | None = None) -> Graph:
    """Kept for :mod:`gradlab.testing`: see :func:`gradlab.lang.claims.as_graph`."""
    from ..lang.claims import as_graph

    return as_graph(graph_or_program, at)
