"""One line in a test that says "these gradients are right", and a message that shows where they are not.

Every ``assert_*`` returns its report when the check passes and raises
:class:`GradientAssertionError` (an ``AssertionError``) with a compact table when it fails.
gradlab's own frames are hidden from pytest's traceback (``__tracebackhide__``), and a
mistake in the call itself (a typo in a program, a missing value) is a
:class:`~gradlab.errors.GradlabError` raised from the assertion's line.

>>> assert_gradients("z = w0*x0 + w1*x1 + w2; a = sigmoid(z)", at=dict(w0=2, x0=-1, w1=-3, x1=-2, w2=-3)).ok
True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..check.gradients import METHODS, GradientReport, Tolerances, _as_graph, gradients
from ..check.graphfile import FileReport, check_graph_file, load_graph_file
from ..check.report import num, table
from ..check.verify import VerifyResult, verify
from ..errors import GradlabError
from ..model.graph import Graph
from .adjoints import AdjointReport, check_adjoints
from .jacobian import JacobianReport, check_function_gradients, check_module_gradients
from .points import random_points
from .tables import gradient_table, point_text

__tracebackhide__ = True


class GradientAssertionError(AssertionError):
    """A gradient check failed; ``result`` holds the report (``to_dict()`` for JSON)."""

    def __init__(self, message: str, result: Any = None) -> None:
        super().__init__(message)
        self.result = result


GradientAssertionError.__module__ = "gradlab.testing"


# ----------------------------------------------------------------------------------- graphs


def _tolerances(tol: Tolerances | None, rtol: float | None, atol: float | None) -> Tolerances:
    """``rtol``/``atol`` apply to every comparison (finite differences and torch) when given."""
    base = tol or Tolerances()
    changes: dict[str, float] = {}
    if rtol is not None:
        changes.update(fd_rtol=rtol, torch_rtol=rtol)
    if atol is not None:
        changes.update(fd_atol=atol, torch_atol=atol)
    if any(v < 0 for v in changes.values()):
        raise GradlabError("rtol and atol must not be negative")
    return Tolerances(**{**base.__dict__, **changes})


def gradients_message(graph: Graph, report: GradientReport) -> str:
    """What a failed :func:`assert_gradients` says: the table, the blame, the kinks."""
    names = {"symbolic": "symbolic", "fd": "finite differences", "torch": "torch"}
    lines = [f"gradients of {report.output.name} disagree at {point_text(report.at)} "
             f"({', '.join(names[m] for m in report.methods)})", "", gradient_table(graph, report)]
    if report.blame:
        lines += ["", "BLAME: " + report.blame.message]
    for k in report.kinks:
        lines += ["", ("KINK: " if k.exact else "NEAR KINK: ") + k.note]
    return "\n".join(lines)


def _number(x: np.ndarray) -> str:
    return num(float(x)) if x.ndim == 0 else str(np.round(x, 6).tolist())


def _expected_table(rows: list[list[str]]) -> str:
    return table(["what", "name", "expected", "computed", "tolerance", "check"], rows)


def assert_gradients(graph_or_program: Graph | str, at: Mapping[str, float] | Sequence[Mapping[str, float]] | None
                     = None, *, methods: Sequence[str] = METHODS, rtol: float | None = None,
                     atol: float | None = None, tol: Tolerances | None = None,
                     expected: Mapping[str, float] | None = None, expected_values: Mapping[str, float] | None = None,
                     decimals: int | None = None, points: int = 3, seed: int = 0) -> GradientReport:
    """Symbolic gradients agree with finite differences and torch, at ``at`` (one point or a list).

    Without ``at``, at ``points`` random points (seeded). ``rtol``/``atol`` replace every
    comparison's tolerance (finer control: ``tol=gradlab.Tolerances(...)``). ``expected``
    (gradients by name) and ``expected_values`` (forward values) are compared at the first
    point: to ``rtol``/``atol`` (default 1e-6/1e-9), or with ``decimals=4`` to half a unit in
    the 4th decimal. Returns the report of the first point.
    """
    __tracebackhide__ = True
    try:
        graph = _as_graph(graph_or_program)
        tolerances = _tolerances(tol, rtol, atol)
        if not [m for m in methods if m != "symbolic"]:
            raise GradlabError("nothing to compare: methods needs 'fd' or 'torch' besides 'symbolic'")
        pts: Sequence[Mapping[str, Any]]
        if at is None:
            if expected or expected_values:
                raise GradlabError("expected numbers need the point: pass at={...}")
            pts = random_points(graph, points, seed)
        elif isinstance(at, Mapping):
            pts = [at]
        else:
            pts = list(at)
        reports = []
        for p in pts:
            report = gradients(graph, p, methods=methods, tol=tolerances)
            if not report.ok:
                break
            reports.append(report)
    except GradlabError as e:
        raise e.with_traceback(None) from None
    if not report.ok:
        raise GradientAssertionError(gradients_message(graph, report), report)
    first = reports[0]
    rows, bad = [], False
    e_rtol, e_atol = (1e-6 if rtol is None else rtol), (1e-9 if atol is None else atol)
    for kind, wanted in (("value", expected_values or {}), ("grad", expected or {})):
        for name, want in wanted.items():
            if name not in graph:
                raise GradlabError(f"expected {kind} of '{name}', which is not a node of the graph "
                                   f"(nodes: {', '.join(graph.nodes)})")
            got = next(n.value for n in first.nodes if n.id == name) if kind == "value" else first.grad(name)
            w, g = np.asarray(want, dtype=np.float64), np.asarray(got, dtype=np.float64)
            tol_ = 0.5 * 10.0 ** (-decimals) + 1e-12 if decimals is not None else e_atol + e_rtol * float(
                np.max(np.abs(w), initial=0.0))
            ok = w.shape == g.shape and bool(np.all(np.abs(g - w) <= tol_))
            bad |= not ok
            rows.append([kind, name if kind == "value" else f"d{first.output.name}/d{name}", _number(w), _number(g),
                         f"±{tol_:.2g}", "ok" if ok else "FAIL"])
    if bad:
        hint = "" if decimals is not None else "\n(numbers rounded by hand? pass decimals=4 to compare to 4 decimals)"
        raise GradientAssertionError(f"expected numbers differ at {point_text(first.at)}\n\n{_expected_table(rows)}"
                                     + hint, first)
    return first


def graph_file_message(report: FileReport, graph: Graph | None = None) -> str:
    """What a failed graph-file check says: the gradient table (if methods disagree) and the expected numbers."""
    parts = []
    if not report.report.ok:
        parts.append(gradients_message(graph, report.report) if graph is not None else str(report.report))
    bad = [e for e in report.expected if not e.ok]
    if bad:
        rows = [[e.kind, e.name, num(e.expected) if isinstance(e.expected, (int, float)) else str(e.expected),
                 num(e.actual) if isinstance(e.actual, (int, float)) else str(e.actual),
                 f"±{e.tolerance:.2g}" if isinstance(e.tolerance, (int, float)) else "as written",
                 "ok" if e.ok else "FAIL"] for e in report.expected]
        parts.append(f"expected numbers in {report.path} differ\n\n{_expected_table(rows)}")
    for f in report.formulas:
        if not f.ok:
            parts.append(f"formula {f.claim}: {f.message}")
    return "\n\n".join(parts)


def assert_graph_file(path: str | Path, *, methods: Sequence[str] = METHODS) -> FileReport:
    """A graph file passes ``gradlab check``: methods agree and its expected numbers match."""
    __tracebackhide__ = True
    try:
        gf = load_graph_file(path)
        report = check_graph_file(gf, methods=tuple(methods))
    except GradlabError as e:
        raise e.with_traceback(None) from None
    if not report.ok:
        raise GradientAssertionError(graph_file_message(report, gf.graph), report)
    return report


def assert_adjoints(graph_or_program: Graph | str, at: Mapping[str, float], adjoints: Mapping[str, float], *,
                    values: Mapping[str, float] | None = None, rtol: float = 1e-6, atol: float = 1e-9,
                    decimals: int | None = None) -> AdjointReport:
    """Your backward pass (adjoints by node name, forward ``values`` too if you like) is right.

    On a failure the message names the first wrong node in backward order and the mistake
    (sign error, missing sum at a fork, missing upstream factor, wrong local derivative).
    """
    __tracebackhide__ = True
    try:
        report = check_adjoints(graph_or_program, at, adjoints, values=values, rtol=rtol, atol=atol,
                                decimals=decimals)
    except GradlabError as e:
        raise e.with_traceback(None) from None
    if not report.ok:
        raise GradientAssertionError(str(report), report)
    return report


def formula_message(result: VerifyResult) -> str:
    """What a failed :func:`assert_formula` says: the verdict, the counterexample, the right formula."""
    text = str(result)
    if result.truth:
        text += f"\nthe right formula: {result.lhs} = {result.truth}"
    return text


def assert_formula(graph_or_program: Graph | str, claim: str, rhs: str | None = None, *,
                   at: Mapping[str, Any] | None = None, trials: int = 25, seed: int = 0, rtol: float = 1e-7,
                   atol: float = 1e-9, lenient: bool = False) -> VerifyResult:
    """A claimed gradient formula is right: ``assert_formula(g, "da/dx0", "w0*a*(1-a)")``.

    The claim may also be one string, ``"da/dx0 = w0*a*(1-a)"``, and may use the inputs and the
    names of the statements; matrix claims (``"dL/dW = (p - y) @ x.T"``) too. Decided by
    :func:`gradlab.verify` (symbolically where it can, at ``trials`` random points always); on a
    failure the message has a counterexample, the likely mistake and the right formula.
    """
    __tracebackhide__ = True
    try:
        result = verify(graph_or_program, claim, rhs, at=at, trials=trials, seed=seed, rtol=rtol, atol=atol,
                        lenient=lenient)
    except GradlabError as e:
        raise e.with_traceback(None) from None
    if not result.ok:
        raise GradientAssertionError(formula_message(result), result)
    return result


# ----------------------------------------------------------------------------------- torch functions


def assert_function_gradients(fn: Callable[..., Any], inputs: Any, *, grad: Callable[..., Any] | None = None,
                              kwargs: Mapping[str, Any] | None = None, mode: str = "auto", rtol: float = 1e-6,
                              atol: float = 1e-8, directions: int = 2, seed: int = 0) -> JacobianReport:
    """The gradient of any Python or torch function is right: autograd (or your ``grad``) against
    central finite differences, in float64. See :func:`gradlab.testing.check_function_gradients`."""
    __tracebackhide__ = True
    try:
        report = check_function_gradients(fn, inputs, grad=grad, kwargs=kwargs, mode=mode, rtol=rtol, atol=atol,
                                          directions=directions, seed=seed)
    except GradlabError as e:
        raise e.with_traceback(None) from None
    if not report.ok:
        raise GradientAssertionError(str(report), report)
    return report


def assert_module_gradients(module: Any, inputs: Any, *, kwargs: Mapping[str, Any] | None = None,
                            parameters: bool = True, input_gradients: bool = True, mode: str = "auto",
                            rtol: float = 1e-6, atol: float = 1e-8, directions: int = 2,
                            seed: int = 0) -> JacobianReport:
    """A torch module's parameter and input gradients are right (every Jacobian entry for small
    modules, random directions for large ones). See :func:`gradlab.testing.check_module_gradients`."""
    __tracebackhide__ = True
    try:
        report = check_module_gradients(module, inputs, kwargs=kwargs, parameters=parameters,
                                        input_gradients=input_gradients, mode=mode, rtol=rtol, atol=atol,
                                        directions=directions, seed=seed)
    except GradlabError as e:
        raise e.with_traceback(None) from None
    if not report.ok:
        raise GradientAssertionError(str(report), report)
    return report


# ----------------------------------------------------------------------------------- the fixture's helper


@dataclass
class GradCheck:
    """The helpers with shared defaults (the ``gradcheck`` pytest fixture gives one).

    ``rtol``/``atol``/``seed`` fill in whatever a call leaves out; ``None`` keeps each
    helper's own default.

    >>> GradCheck(rtol=1e-5).gradients("f = x*y", at=dict(x=2, y=3)).ok
    True
    """

    rtol: float | None = None
    atol: float | None = None
    seed: int = 0

    def _defaults(self, kw: dict[str, Any], seed: bool = True) -> dict[str, Any]:
        if self.rtol is not None:
            kw.setdefault("rtol", self.rtol)
        if self.atol is not None:
            kw.setdefault("atol", self.atol)
        if seed:
            kw.setdefault("seed", self.seed)
        return kw

    def gradients(self, graph_or_program: Graph | str, at: Any = None, **kw: Any) -> GradientReport:
        __tracebackhide__ = True
        return assert_gradients(graph_or_program, at, **self._defaults(kw))

    def adjoints(self, graph_or_program: Graph | str, at: Mapping[str, float], adjoints: Mapping[str, float],
                 **kw: Any) -> AdjointReport:
        __tracebackhide__ = True
        return assert_adjoints(graph_or_program, at, adjoints, **self._defaults(kw, seed=False))

    def formula(self, graph_or_program: Graph | str, claim: str, rhs: str | None = None, **kw: Any) -> VerifyResult:
        __tracebackhide__ = True
        return assert_formula(graph_or_program, claim, rhs, **self._defaults(kw))

    def function(self, fn: Callable[..., Any], inputs: Any, **kw: Any) -> JacobianReport:
        __tracebackhide__ = True
        return assert_function_gradients(fn, inputs, **self._defaults(kw))

    def module(self, module: Any, inputs: Any, **kw: Any) -> JacobianReport:
        __tracebackhide__ = True
        return assert_module_gradients(module, inputs, **self._defaults(kw))

    def graph_file(self, path: str | Path, **kw: Any) -> FileReport:
        __tracebackhide__ = True
        return assert_graph_file(path, **kw)
