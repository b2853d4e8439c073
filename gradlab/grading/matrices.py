"""Matrix answers: a gradient of a tensor graph as a matrix formula, graded by :func:`gradlab.check.verify.verify`.

A matrix answer (``dL/dB = ?`` on a sheet) is a claim about the key's graph, and gradlab already
decides claims: :func:`grade_matrix` hands the student's formula to ``verify`` (lenient syntax:
``(p - y) v^T / 2``, ``outer(p - y, v)/2``, ``0.5*(p-y)vᵀ``), which

1. reads it with the safe matrix parser (:mod:`gradlab.lang.tensor_expr`, never ``eval``), first with
   the answer caps of :data:`gradlab.grading.formulas.ANSWER_LIMITS`;
2. tests it at random points of the graph (one-hot labels one-hot, away from kinks and poles)
   against the adjoint from the graph's own local derivatives;
3. for a right answer tries a bounded symbolic proof (under the worker's soft deadline; when time
   is up the random points decide), and for a wrong one names the mistake by comparing it with
   the generated wrong answers (its mutants: a factor, the transpose, a left-out activation
   derivative such as ``1 - v**2``, ``p`` for ``p - y``, another variable).

verify names the mistake with the key's mistake ids (``mistake_id``: :mod:`gradlab.model.mistakes` names mistakes
for verify and grading alike), so the spec's partial credit applies: ``transposed``, ``factor``, ``sign``,
``chain`` (a local derivative left out), ``tanh`` (``tanh`` for its derivative), ``label`` (``p`` instead of
``p - y``), ``variable``, ``shape``. Two at once (``transposed, missing factor 1/2``) earn the product of their
credits.

>>> from gradlab.model.answerkey import Answer, Grading
>>> key = Answer(formula="(p - y) @ v.T / 2", of="L", wrt="B", program=("x: (3,); A: (2, 3); B: (2, 2); "
...     "y: onehot(2); v = tanh(A @ x); z = B @ v; p = softmax(z); L = -sum(y * log(p)) / 2"))
>>> grade_matrix("0.5 (p - y) v^T", key, Grading()).status
'correct'
>>> v = grade_matrix("v @ (p - y).T / 2", key, Grading())
>>> v.status, v.mistake
('wrong', 'transposed')
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np

from ..errors import GradlabError, ParseError, ShapeError
from ..model.answerkey import Answer, Grading
from ..model.graph import Graph
from ..model.mistakes import MISTAKES, message, mistake_ids
from . import formulas
from .formulas import ANSWER_LIMITS, Deadline
from .verdict import Verdict

#: Random points a matrix answer is tested at (verify's default).
TRIALS = 25

#: Ids whose generic message gains from verify's specific explanation.
_EXPLAINED = {"factor", "chain", "label", "variable", "shape"}

_GRAPHS: dict[str, Graph] = {}


def answer_graph(answer: Answer) -> Graph:
    """The key's graph, built from the answer's program (cached by its content)."""
    from ..lang.parse import parse_tensor_program

    ident = hashlib.sha256(repr((answer.program, sorted(answer.shapes.items()),
                                 sorted(answer.domains.items()))).encode()).hexdigest()
    if ident not in _GRAPHS:
        g = parse_tensor_program(answer.program or "", shapes={k: tuple(v) for k, v in answer.shapes.items()})
        for n, dom in answer.domains.items():
            if n in g and g.kind(n) == "input":
                g.nx.nodes[n]["domain"] = dom
        if len(_GRAPHS) > 200:
            _GRAPHS.clear()
        _GRAPHS[ident] = g
    return _GRAPHS[ident]


def seed_of(answer: Answer) -> int:
    """The random points' seed: fixed per key answer, so every student is tested at the same points."""
    return int(hashlib.sha256(f"{answer.program}|{answer.of}|{answer.wrt}".encode()).hexdigest()[:8], 16)


def read_matrix(text: str, graph: Graph) -> Any:
    """Read the answer once at zeros with the answer caps: syntax, names and shapes, before any work."""
    from ..engine.tensor_symbolic import entry_name
    from ..lang.claims import claim_names
    from ..lang.tensor_expr import Tensor, parse_matrix_expression

    names = {n: Tensor(np.zeros((1,) + graph.shape(n)), graph.shape(n)) for n in claim_names(graph)}
    entries = {entry_name(n, idx, graph.shape(n)): np.zeros(1) for n in names if graph.shape(n)
               for idx in np.ndindex(*graph.shape(n))}
    with np.errstate(all="ignore"):
        return parse_matrix_expression(text, names, symbolic=False, lenient=True, entries=entries,
                                       limits=ANSWER_LIMITS)


def read_as(text: str, graph: Graph) -> str:
    """The answer in strict syntax, as gradlab read it (implicit products shown as a space)."""
    from ..lang.claims import claim_names
    from ..lang.tensor_expr import IMPLICIT, MatrixExpressionParser

    try:
        strict = MatrixExpressionParser({n: None for n in claim_names(graph)}, symbolic=False,
                                        lenient=True).normalise(text)
    except ParseError:
        strict = text
    strict = strict.replace(IMPLICIT, " ")
    return strict if len(strict) <= 200 else strict[:197] + "..."


def grade_matrix(text: str, answer: Answer, grading: Grading, *, prove_seconds: float = 1.0) -> Verdict:
    """Grade one matrix formula against the key (see the module docstring)."""
    from ..check.verify import verify

    if not text.strip():
        return Verdict.blank()
    graph = answer_graph(answer)
    lhs = f"d{answer.of}/d{answer.wrt}"
    shown = read_as(text, graph)
    try:
        read_matrix(text, graph)
    except ShapeError as e:
        return _named(["shape"], e.message, grading, shown)
    except ParseError as e:
        return Verdict.rejected(str(e))
    except GradlabError as e:
        return Verdict.rejected(e.message)
    seed = seed_of(answer)
    try:
        try:
            with formulas.SOFT_DEADLINE(prove_seconds), np.errstate(all="ignore"):
                r = verify(graph, lhs, text, lenient=True, seed=seed, trials=TRIALS, explain=False)
        except Deadline:  # the proof ran out of time: the random points decide
            with np.errstate(all="ignore"):
                r = verify(graph, lhs, text, lenient=True, seed=seed, trials=TRIALS, symbolic=False, explain=False)
    except ShapeError as e:  # pragma: no cover - read_matrix has found these
        return _named(["shape"], e.message, grading, shown)
    except GradlabError as e:
        return Verdict.rejected(e.message)
    if r.ok:
        method = "symbolic" if r.decided == "symbolic" else f"numeric ({r.trials} random points)"
        return Verdict("correct", 1.0, "correct", method=method, read_as=shown)
    ids = r.mistake_id.split("+") if r.mistake_id else mistake_ids(r.mistake)
    hint = yours(r.hint)
    if ids and all(i is not None for i in ids):
        return _named(ids, mistake_message(ids, hint), grading, shown)  # type: ignore[arg-type]
    feedback = f"likely mistake: {r.mistake} ({hint}); " if r.mistake else ""
    return Verdict("wrong", 0.0, feedback + _differs(r), mistake=None, method="numeric", read_as=shown)


def mistake_message(ids: list[str], hint: str) -> str:
    """The feedback for named mistakes: the key's message, with verify's explanation where it says more."""
    if ids == ["label"] and hint:
        return hint[0].upper() + hint[1:]
    if ids == ["variable"] and hint:
        return f"{MISTAKES['variable']}: {hint}"
    if ids == ["transposed"] and hint and ("stands where" in hint or "are swapped" in hint):  # one square matrix
        return f"transposed: {hint}"
    text = "; ".join(message(i) for i in ids)
    return text + (f" ({hint})" if hint and any(i in _EXPLAINED for i in ids) else "")


def yours(hint: str) -> str:
    """verify's explanation addressed to the student: 'your formula' for 'the claim'."""
    return hint.replace("the claim transposed", "your formula transposed").replace("the claim", "your formula")


def _named(ids: list[str], message: str, grading: Grading, shown: str) -> Verdict:
    credit = math.prod(float(grading.partial.get(i, 0.0)) for i in ids)
    note = f" (partial credit {credit:g})" if credit > 0 else ""
    return Verdict("partial" if credit > 0 else "wrong", credit, message + note, mistake="+".join(ids),
                   method="numeric", read_as=shown)


def _differs(r: Any) -> str:
    """Where the answer differs: the first differing entry at a random point (or the shapes)."""
    ce = r.counterexample
    if ce is None:  # pragma: no cover - a wrong verdict always has one
        return "not equal to the gradient"
    if ce.claimed_shape is not None:
        return (f"your formula has shape {_shape(ce.claimed_shape)}, the gradient {r.lhs} has shape "
                f"{_shape(ce.true_shape or [])}")
    at = ", ".join(f"{n} = {_short(v)}" for n, v in ce.point.items())
    if not ce.entries:  # pragma: no cover
        return f"not equal to the gradient at {at}"
    e = ce.entries[0]
    return (f"not equal to the gradient: at {at}, entry {e.entry} of your formula is {e.claimed:.4g}, "
            f"the gradient's is {e.true:.4g}")


def _shape(s: list[int]) -> str:
    return "(" + ", ".join(str(x) for x in s) + ("," if len(s) == 1 else "") + ")"


def _short(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_short(x) for x in v) + "]"
    return f"{float(v):.3g}"


__all__ = ["grade_matrix", "mistake_ids", "mistake_message", "yours", "answer_graph", "read_matrix", "TRIALS"]
