"""Check a claimed gradient formula: ``verify(graph, "da/dx0 = w0*a*(1-a)")``.

A claim is ``d<of>/d<wrt> = <formula>``; the formula may use the graph's inputs and the
names of its statements (``a``, ``z``), the functions of :mod:`gradlab.lang.expr` and, for vectors
and matrices, ``@``, ``.T`` and the functions of :mod:`gradlab.lang.tensor_expr`
(``dL/dB = (p - y) @ v.T / 2``, or one entry: ``dL/dB_1_2 = (p_1 - y_1)*v_2/2``). It is read
by our own whitelisted parser (never ``eval``). The claim is

* **decided symbolically** when the difference to gradlab's own derivative reduces to 0
  (in the names of the graph first, then with named nodes replaced by their definitions,
  down to the inputs);
* **always tested numerically** at many random points (``trials``) that avoid kinks and
  poles: at each, the claimed value is compared with the adjoint from the graph's local
  derivatives. A wrong claim comes with a counterexample (the point, the claimed and the
  true values) and, when gradlab recognises it, the likely mistake (a sign, a missing
  factor, a missing activation derivative, a transpose, p where p - y belongs).

>>> r = verify("z = w0*x0 + w1*x1 + w2; a = sigmoid(z)", "da/dx0 = w0*a*(1-a)")
>>> r.ok, r.decided
(True, 'symbolic')
>>> r = verify("z = w0*x0 + w1*x1 + w2; a = sigmoid(z)", "da/dx0", "w0")
>>> r.ok, r.mistake
(False, 'missing activation derivative')
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import GradlabError
from ..jsonable import jsonable as _jsonable
from ..lang.claims import (
    TRIALS,
    Claim,
    as_graph,
    close_entries,
    is_zero,
    parse_claim,
    prove_equal,
)
from ..model.graph import Graph
from ..model.mistakes import Candidate, Named, name_mistake
from .verify_points import near_kink_points
from .verify_scalar import EXACT_POINTS, ScalarProblem
from .verify_tensor import TensorProblem, check_formulas  # noqa: F401  (re-exported: worksheets check many forms)

#: Differing entries listed in a counterexample.
MAX_ENTRIES = 8
#: The most random points a check may ask for (each evaluates the graph and the claim).
MAX_TRIALS = 10_000


# ------------------------------------------------------------------------------- results


@dataclass
class EntryDiff:
    """One entry where the claim and the true derivative differ (``entry`` names it: ``dL/dB_1_2``)."""

    entry: str
    index: list[int]
    claimed: float
    true: float


@dataclass
class Counterexample:
    """A point where the claim is wrong: the inputs, the named nodes' values there, the differing entries."""

    point: dict[str, Any]
    values: dict[str, Any]
    entries: list[EntryDiff]
    claimed_shape: list[int] | None = None
    true_shape: list[int] | None = None
    claimed_value: Any = None
    true_value: Any = None


@dataclass
class VerifyResult:
    """The verdict on one claim; ``to_json()`` keeps these keys stable.

    ``decided`` is ``"symbolic"`` when gradlab proved the claim right (the difference reduces
    to 0); ``"exact"`` when the claim is within float64's tolerance at every point but exact arithmetic
    (decimals as the rationals they are written as, 50 digits) finds it off; else ``"numeric"`` (a
    counterexample proves it wrong; a right claim that could not be proved symbolically holds at every one of
    ``trials`` random points, and for a graph of numbers equals the truth to 30 digits at a few of them:
    numeric only, and the message says so).
    """

    ok: bool
    claim: str
    lhs: str
    rhs: str
    of: str
    wrt: str
    shape: list[int]
    decided: str
    trials: int
    counterexample: Counterexample | None
    mistake: str | None
    message: str
    seed: int = 0
    hint: str = ""
    truth: str | None = None
    notes: list[str] = field(default_factory=list)
    mistake_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    def __str__(self) -> str:
        return format_result(self)

    def _repr_html_(self) -> str:
        """Jupyter's view: :func:`html_result`."""
        return html_result(self)


# ------------------------------------------------------------------------------- diagnosis


def diagnose(claimed: np.ndarray, truth: np.ndarray, mutants: Sequence[Candidate], *,
             rtol: float, atol: float) -> Named | None:
    """The likely mistake: which simple change of the true derivative gives the claimed values; named by
    :func:`gradlab.model.mistakes.name_mistake`, as grading names it (a constant factor, a transpose, then each
    mutant: a forgotten local derivative, a gate's output for its derivative, a dropped label, ...)."""
    return name_mistake(claimed, truth, mutants, rtol=rtol, atol=atol)


# ------------------------------------------------------------------------------- verify


def verify(graph_or_program: Graph | str, claim: str, rhs: str | None = None, *,
           at: Mapping[str, Any] | None = None, trials: int = TRIALS, seed: int = 0, rtol: float = 1e-7,
           atol: float = 1e-9, lenient: bool = False, symbolic: bool = True, explain: bool = True) -> VerifyResult:
    """Check a claimed derivative ``"dL/dB = (p - y) @ v.T / 2"`` (or ``claim="da/dx0", rhs="w0*a*(1-a)"``).

    ``at`` adds a point of the user's to the ``trials`` random ones; ``seed`` makes the random
    points reproducible; ``lenient`` accepts student syntax (``^``, ``σ``, implicit products);
    ``symbolic=False`` skips the symbolic decision; ``explain=False`` leaves out ``truth`` (gradlab's
    own formula for a matrix claim costs more than deciding the claim: graders do without it).
    """
    if trials < 0 or (trials == 0 and at is None):
        raise GradlabError("trials must be at least 1 (or give a point with 'at')")
    if trials > MAX_TRIALS:
        raise GradlabError(f"trials must be at most {MAX_TRIALS:,}, got {trials:,}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        raise GradlabError(f"the seed must be a whole number from 0 to 2**63 - 1, got {seed!r}")
    c = parse_claim(claim, rhs)
    graph = as_graph(graph_or_program, at)
    problem: Any = TensorProblem(graph, c, lenient) if graph.is_tensor else ScalarProblem(graph, c, lenient)
    problem.notes = []
    problem.explain = explain
    rng = np.random.default_rng(seed)
    values = problem.sample(trials, rng, at)
    near = near_kink_points(problem, values, trials, rng) if trials else None
    n_near = 0
    if near is not None:  # points next to the claim's own kinks and thresholds, where it may be wrong alone
        values = {n: np.concatenate([v, near[n]]) for n, v in values.items()}
        n_near = next(iter(near.values())).shape[0]
    truth = problem.truth_numeric(values)
    claimed = problem.claim_numeric(values)
    n_points = truth.shape[0]
    shape = list(problem.shape)
    rhs_text = c.rhs if graph.is_tensor else str(problem.expr)
    notes = problem.notes
    if n_near:
        notes.append(f"{n_near} of the {n_points} points lie next to the claim's own kinks or thresholds")
    same_shape = claimed.shape == truth.shape
    if same_shape:
        axes = tuple(range(1, truth.ndim))
        close = close_entries(claimed, truth, rtol, atol, axes)
        bad_points = np.flatnonzero(~close.reshape(n_points, -1).all(axis=1))
    else:
        close = None
        bad_points = np.arange(n_points)
    if len(bad_points) == 0:
        # right at every point in float64: prove it, in exact arithmetic (a proof of a wrong claim cannot succeed)
        proved = problem.decide() if symbolic else False
        truth_text = getattr(problem, "truth_text", None)
        exact = problem.exact_difference(values) if symbolic and not proved else None
        if exact is not None:
            return _exactly_wrong(problem, c, rhs_text, shape, values, n_points, seed, truth_text, notes, *exact)
        if proved:
            how = "proved symbolically"
        elif getattr(problem, "exact_checked", False):
            how = (f"numeric only: no symbolic proof found; equal in exact arithmetic at "
                   f"{min(n_points, EXACT_POINTS)} of them")
        else:
            how = "numeric only: no symbolic proof found"
        message = f"{c.lhs} = {c.rhs} holds ({how}; true at {n_points} random point{'s' * (n_points != 1)})"
        return VerifyResult(True, c.text, c.lhs, rhs_text, c.of, c.wrt, shape, "symbolic" if proved else "numeric",
                            n_points, None, None, message, seed, "", truth_text, notes)
    truth_text = problem.truth_formula() if symbolic and explain else None
    i = int(bad_points[0])
    point, named = problem.point_of(values, i)
    diffs: list[EntryDiff] = []
    ce = Counterexample(point, named, diffs)
    if close is not None:
        flat_c, flat_t, flat_ok = claimed[i].reshape(-1), truth[i].reshape(-1), close[i].reshape(-1)
        for j in np.flatnonzero(~flat_ok)[:MAX_ENTRIES]:
            idx = tuple(int(k) for k in np.unravel_index(j, truth[i].shape)) if truth[i].ndim else ()
            diffs.append(EntryDiff(problem.entry_name(idx), list(idx), float(flat_c[j]), float(flat_t[j])))
    else:
        ce.claimed_shape, ce.true_shape = list(claimed.shape[1:]), list(truth.shape[1:])
    if truth[i].ndim and truth[i].size <= 100:
        ce.claimed_value, ce.true_value = claimed[i].tolist(), truth[i].tolist()
    named = diagnose(claimed, truth, problem.mutants(values), rtol=rtol, atol=atol)
    found: tuple[str, str] | None = (named.name, named.hint) if named is not None else None
    mistake_id = named.id if named is not None else None
    if found is None and same_shape and isinstance(problem, TensorProblem):
        found = problem.transpose_hint(values, truth, rtol, atol) or problem.label_hint(seed, rtol, atol)
        mistake_id = _id_of(found)
    if found is None and not same_shape:
        found = ("wrong shape", f"the claim is {_shape_words(claimed.shape[1:])}, {c.lhs} has the shape of "
                                f"{c.wrt}: {_shape_words(truth.shape[1:])}")
        mistake_id = "shape"
    mistake, why = found if found else (None, "")
    where = (f"at {len(bad_points)} of {n_points} random points it differs from the true derivative" if same_shape
             else f"it has shape {tuple(claimed.shape[1:])}, the gradient {tuple(truth.shape[1:])}")
    message = f"{c.lhs} = {c.rhs} is wrong: {where}" + (f"; likely mistake: {mistake} ({why})" if mistake else "")
    return VerifyResult(False, c.text, c.lhs, rhs_text, c.of, c.wrt, shape, "numeric", n_points,
                        ce, mistake, message, seed, why, truth_text, notes, mistake_id=mistake_id)


def _id_of(found: tuple[str, str] | None) -> str | None:
    """The id of a mistake named by its text alone (``transposed B`` -> ``transposed``), or None."""
    from ..model.mistakes import mistake_ids

    ids = mistake_ids(found[0]) if found else []
    return "+".join(i for i in ids if i) if ids and all(ids) else None


def _exactly_wrong(problem: Any, c: Claim, rhs_text: str, shape: list[int], values: Mapping[str, np.ndarray],
                   n_points: int, seed: int, truth_text: str | None, notes: list[str], i: int,
                   found: tuple[float, float, float]) -> VerifyResult:
    """The verdict on a claim float64 cannot tell from the truth while exact arithmetic can."""
    claimed, true, diff = found
    point, named = problem.point_of(values, i)
    ce = Counterexample(point, named, [EntryDiff(c.lhs, [], claimed, true)])
    mistake, hint = problem.exact_reason(values)
    rel = abs(diff) / max(abs(claimed), abs(true), 1e-300)
    message = (f"{c.lhs} = {c.rhs} is wrong: in exact arithmetic it differs from the true derivative by {diff:.3g} "
               f"at a random point ({rel:.1e} of its size, too little for float64 to see)"
               + (f"; {hint}" if hint else ""))
    return VerifyResult(False, c.text, c.lhs, rhs_text, c.of, c.wrt, shape, "exact", n_points, ce, mistake,
                        message, seed, hint, truth_text, notes, mistake_id=_id_of((mistake, hint)) if mistake else None)


def _shape_words(shape: tuple[int, ...]) -> str:
    from ..ops.tensor import shape_text

    return shape_text(tuple(shape))


# ------------------------------------------------------------------------------- text


def _fmt(v: Any) -> str:
    if isinstance(v, (list, tuple, np.ndarray)):
        return np.array2string(np.asarray(v, dtype=float), precision=6, suppress_small=False, separator=", ",
                               max_line_width=10_000).replace("\n", "")
    return f"{v:.6g}"


def format_result(r: VerifyResult) -> str:
    """The verdict as the CLI prints it."""
    lines = [f"claim:    {r.claim}"]
    if r.ok:
        how = ("proved symbolically, and true at" if r.decided == "symbolic"
               else "numeric only: no symbolic proof found; true at")
        lines.append(f"verdict:  TRUE ({how} {r.trials} random point{'s' * (r.trials != 1)})")
    elif r.decided == "exact":
        lines.append(f"verdict:  FALSE (decided in exact arithmetic: within float64's tolerance at all {r.trials} "
                     "points, but not equal)")
        lines.append(f"reason:   {r.message.split(' is wrong: ', 1)[-1]}")
        if r.mistake:
            lines.append(f"likely mistake: {r.mistake}")
    else:
        lines.append(f"verdict:  FALSE (wrong at a random point; {r.trials} points tested)")
        if r.mistake:
            lines.append(f"likely mistake: {r.mistake}" + (f" ({r.hint})" if r.hint else ""))
        ce = r.counterexample
        if ce is not None:
            lines.append("counterexample (a random point):")
            for n, v in ce.point.items():
                lines.append(f"  {n} = {_fmt(v)}")
            if ce.values:
                lines.append("  so " + ", ".join(f"{n} = {_fmt(v)}" for n, v in ce.values.items()))
            if ce.claimed_shape is not None:
                lines.append(f"  the claim has shape {tuple(ce.claimed_shape)}, {r.lhs} has shape {tuple(ce.true_shape or [])}")
            from .report import table

            rows = [[e.entry, f"{e.claimed:.6g}", f"{e.true:.6g}"] for e in ce.entries]
            if rows:
                lines.append("  " + table(["entry", "claimed", "true"], rows).replace("\n", "\n  "))
    for note in r.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def html_result(r: VerifyResult) -> str:
    """The verdict as Jupyter shows it: the claim, TRUE or FALSE, and for a wrong claim the likely mistake
    and the counterexample (the point, and a table of the entries that differ).

    >>> h = html_result(verify("f = x*y", "df/dx = x"))
    >>> "FALSE" in h and "likely mistake" in h and h.count("<table") == 2
    True
    """
    from ..htmltable import esc, html_table, html_text

    if r.ok:
        how = ("proved symbolically, and true at" if r.decided == "symbolic"
               else "numeric only: no symbolic proof found; true at")
        verdict = html_text("b", "TRUE", "color:#1b7a2e") + esc(f" ({how} {r.trials} random point{'s' * (r.trials != 1)})")
    elif r.decided == "exact":
        verdict = html_text("b", "FALSE", "color:#b00020") + esc(" (decided in exact arithmetic: " +
                                                                  r.message.split(" is wrong: ", 1)[-1] + ")")
    else:
        verdict = html_text("b", "FALSE", "color:#b00020") + esc(f" (wrong at a random point; {r.trials} points tested)")
    parts = [f"<p>claim: {html_text('code', r.claim)}<br>verdict: {verdict}</p>"]
    if r.mistake:
        parts.append(f"<p>likely mistake: {esc(r.mistake)}" + (f" ({esc(r.hint)})" if r.hint else "") + "</p>")
    ce = r.counterexample
    if ce is not None:
        rows = [[n, _fmt(v)] for n, v in {**ce.point, **ce.values}.items()]
        parts.append("<p>counterexample (a random point):</p>" + html_table(["at", "value"], rows, left=(0,)))
        if ce.claimed_shape is not None:
            parts.append(f"<p>{esc(f'the claim has shape {tuple(ce.claimed_shape)}, {r.lhs} has shape {tuple(ce.true_shape or [])}')}</p>")
        if ce.entries:
            parts.append(html_table(["entry", "claimed", "true"],
                                    [[e.entry, f"{e.claimed:.6g}", f"{e.true:.6g}"] for e in ce.entries], left=(0,)))
    parts += [f"<p>note: {esc(n)}</p>" for n in r.notes]
    return '<div class="gradlab-verify">' + "".join(parts) + "</div>"


__all__ = ["verify", "html_result", "VerifyResult", "Counterexample", "EntryDiff", "Claim", "parse_claim", "prove_equal", "is_zero"]
