"""The worksheet as data: questions and answer boxes (the same on every sheet), and each variant's
point, pictures and answers (the key). The formats (Markdown, HTML, PDF, Moodle) only print this.

>>> from gradlab.worksheet.spec import spec_from_program
>>> ws = build_worksheet(spec_from_program("z = w0*x0 + w2; a = sigmoid(z)"), variants=2, seed=1, pictures=False)
>>> [q.type for q in ws.questions], ws.variants[0].id
(['forward', 'backward', 'symbolic'], '1')

A graph with vectors and matrices (see :mod:`gradlab.worksheet.tensors`): a blank of the picture
holds a vector or a matrix and gets one answer box per entry; a ``matrix`` question asks for a
gradient as a matrix formula (the key's formula from :func:`gradlab.check.forms.matrix_forms`,
checked at random points, graded by :func:`gradlab.check.verify.verify`); a ``numeric`` question asks
for entries of a gradient (``dL/dB_1_2``) at the variant's point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ..engine.numeric import Evaluation, evaluate
from ..engine.symbolic import node_symbol
from ..engine.tensor_forms import show
from ..errors import GradlabError
from ..grading.formulas import evaluate_points, strict_names
from ..lang.expr import parse_expression
from ..model.answerkey import Answer, AnswerKey, Item, Mistake, Question, Variant
from ..model.graph import Graph
from .followthrough import follow_recipes, partial_recipe
from .mathtext import key_text, latex, number, value_text
from .matrixtext import matrix_latex
from .mistakes import (
    adjoint,
    definitions,
    formula_mistakes,
    matrix_entry_mistakes,
    matrix_mistakes,
    tensor_definitions,
    tensor_wire_mistakes,
    wire_mistakes,
)
from .pictures import BlankSlot, PictureBatch, Pictures, blank_slots, wire_words
from .spec import Part, ValueRange, WorksheetError, WorksheetSpec
from .tensors import checked_forms, entry_label, graph_program, numeric_entries
from .variants import variant_point

TITLES = {
    "forward": "Forward pass: fill in the values at the numbered blanks",
    "backward": "Backward pass: fill in the gradients at the numbered blanks",
    "symbolic": "Symbolic gradients",
    "numeric": "Gradients as numbers",
    "matrix": "Matrix gradients",
}


@dataclass
class ItemView:
    """An answer box as the sheets show it."""

    id: str
    kind: str  # number | formula | matrix
    points: float
    plain: str  # "value (3)", "∂a/∂x0"
    wrt: str | None = None  # the node (a numeric item of a tensor: the node of the entry)
    blank: int | None = None
    entry: tuple[int, ...] | None = None  # an entry of a vector or matrix (0-based)
    entry_text: str = ""  # how the sheet names the entry: "1", "1,2"; a numeric item: "B_1_2"


@dataclass
class QuestionView:
    id: str
    type: str
    part: int
    title: str
    items: list[ItemView]

    @property
    def points(self) -> float:
        return sum(i.points for i in self.items)


@dataclass
class PartVariant:
    """One part of one variant: the point, its evaluation, pictures and blanks."""

    at: dict[str, Any]  # numbers; nested lists for vectors and matrices
    evaluation: Evaluation
    pictures: Pictures


@dataclass
class VariantView:
    id: str
    number: int
    parts: list[PartVariant]
    answers: dict[str, Answer] = field(default_factory=dict)


@dataclass
class Worksheet:
    """Everything the writers need (see the module docstring); :meth:`key` is what grading reads."""

    spec: WorksheetSpec
    seed: int
    questions: list[QuestionView]
    variants: list[VariantView]
    definitions: list[dict[str, str]]
    formulas: dict[str, sp.Expr] = field(default_factory=dict)  # item id -> right formula (named form)
    matrices: dict[str, Any] = field(default_factory=dict)  # matrix item id -> its formula (a tensor_forms.M)

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def total_points(self) -> float:
        return sum(q.points for q in self.questions)

    def items(self) -> list[ItemView]:
        return [i for q in self.questions for i in q.items]

    def key(self) -> AnswerKey:
        items = {i.id: Item(i.id, q.id, i.kind, i.points, i.plain, i.plain) for q in self.questions for i in q.items}
        questions = [Question(q.id, q.type, q.title, [i.id for i in q.items], q.part) for q in self.questions]
        variants = {v.id: Variant(v.id, {f"{n}" if len(v.parts) == 1 else f"{p + 1}.{n}": x
                                         for p, pv in enumerate(v.parts) for n, x in pv.at.items()}, v.answers)
                    for v in self.variants}
        return AnswerKey(self.title, self.seed, questions, items, variants, self.spec.grading, self.spec.path)


#: Above a table of a tensor graph's blanks.
ENTRIES_NOTE = ("A blank holds a vector or a matrix: give each entry in its box (a vector's entries from the top, a "
                "matrix's row by row: entry 1,2 is row 1, column 2).")


def matrix_note(ws: Worksheet, part: int) -> str:
    """How to write a matrix formula, in the names of this part's graph (plain text)."""
    g = ws.spec.parts[part].graph
    named = list(ws.definitions[part])
    words = f"the inputs {', '.join(g.inputs)}" + (f" and the names {', '.join(named)} of the program" if named else "")
    return (f"Write each gradient as a matrix formula in {words}: @ (or writing side by side) for the matrix "
            "product, .T (or ^T, ᵀ) for the transpose, * (or ⊙) for the product entry by entry, functions such "
            "as tanh entry by entry, sum(...), outer(a, b), numbers such as 1/2. Vectors are columns; the "
            "gradient has the shape of the variable.")


def variant_ids(count: int) -> list[str]:
    """``1..9`` for up to 9 variants, ``01..30`` for 30, ``001..100`` for 100."""
    width = len(str(count))
    return [f"{i:0{width}d}" for i in range(1, count + 1)]


def _probe_ranges(part: Part) -> dict[str, list[float]]:
    out = {}
    for n in part.graph.inputs:
        r = part.ranges.get(n, ValueRange())
        lo, hi = (r.fixed, r.fixed) if r.fixed is not None else (r.min, r.max)
        if hi - lo < 1:
            lo, hi = lo - 1, hi + 1
        out[n] = [float(lo), float(hi)]
    return out


def build_worksheet(spec: WorksheetSpec, *, variants: int | None = None, seed: int | None = None,
                    pictures: bool = True, png: bool = False) -> Worksheet:
    """Questions, variants and answers for a spec (pictures drawn when ``pictures``)."""
    n = spec.variants if variants is None else variants
    if not 1 <= n <= 1000:
        raise WorksheetError(f"the number of variants must be from 1 to 1000, got {n}")
    s = spec.seed if seed is None else seed
    decimals = spec.grading.decimals

    # 1. the structure, from a first evaluation (blanks depend only on the graph)
    questions: list[QuestionView] = []
    defs: list[dict[str, str]] = []
    qnum = 0
    first_points = [variant_point(p, s, 1, i, decimals=decimals) for i, p in enumerate(spec.parts)]
    for i, part in enumerate(spec.parts):
        defs.append(tensor_definitions(part.graph) if part.graph.is_tensor else definitions(part.graph))
        ev = evaluate(part.graph, first_points[i])
        blanks = blank_slots(part.graph, first_points[i], ev, part.questions)
        for qtype in part.questions:
            qnum += 1
            qid = str(qnum)
            items = _items(part, qtype, qid, blanks)
            if not items:
                hint = ""
                if qtype == "matrix" and not part.graph.is_tensor:
                    hint = " (matrix questions need a tensor graph)"
                elif qtype == "symbolic" and part.graph.is_tensor:
                    hint = " (a tensor graph's gradients are asked as matrix formulas: questions = [\"matrix\"])"
                raise WorksheetError(f"part {i + 1}: the question type '{qtype}' has nothing to ask for this graph"
                                     + hint)
            questions.append(QuestionView(qid, qtype, i, TITLES[qtype], items))

    # 2. the symbolic answers (the same on every sheet) and their generated mistakes
    formula_answers: dict[str, Answer] = {}
    formulas: dict[str, sp.Expr] = {}
    for q in questions:
        if q.type != "symbolic":
            continue
        part = spec.parts[q.part]
        g = part.graph
        for it in q.items:
            right = adjoint(g, it.wrt)  # type: ignore[arg-type]
            formulas[it.id] = right
            formula_answers[it.id] = Answer(formula=key_text(right), text=latex(right), names=defs[q.part],
                                            aliases=dict(part.aliases), inputs=list(g.inputs),
                                            probe=_probe_ranges(part), mistakes=formula_mistakes(g, it.wrt))  # type: ignore[arg-type]

    # 2b. the matrix answers (the same on every sheet) and their generated mistakes
    matrices: dict[str, Any] = {}
    wrong_forms: dict[tuple[int, str], list[tuple[Mistake, Any]]] = {}
    for q in questions:
        if q.type not in ("matrix", "numeric") or not spec.parts[q.part].graph.is_tensor:
            continue
        g = spec.parts[q.part].graph
        forms = checked_forms(g)
        for it in q.items:
            key = (q.part, it.wrt or "")
            if it.wrt in forms and key not in wrong_forms:
                wrong_forms[key] = matrix_mistakes(g, it.wrt, forms[it.wrt], seed=s)
            if q.type != "matrix":
                continue
            if it.wrt not in forms:
                raise WorksheetError(f"part {q.part + 1}: gradlab has no matrix form of d{g.output}/d{it.wrt} to ask "
                                     f"for; ask for its entries (numeric = [\"{it.wrt}\"]) instead")
            form = forms[it.wrt]
            matrices[it.id] = form
            try:
                program, shapes, domains = graph_program(g)
            except GradlabError as e:
                raise WorksheetError(f"part {q.part + 1}: {e.message}") from None
            formula_answers[it.id] = Answer(formula=show(form), text=matrix_latex(form), program=program,
                                            shapes=shapes, domains=domains, of=g.output, wrt=it.wrt,
                                            mistakes=[m for m, _ in wrong_forms[key]])

    # 3. each variant: its point, pictures, blanks and number answers
    views: list[VariantView] = []
    numeric_mistakes: dict[tuple[int, str], list[Any]] = {}
    batch = PictureBatch()  # the images of every variant come from one Graphviz run, at the end
    for number_, vid in enumerate(variant_ids(n), start=1):
        parts: list[PartVariant] = []
        for i, part in enumerate(spec.parts):
            at = first_points[i] if number_ == 1 else variant_point(part, s, number_, i, decimals=decimals)
            ev = evaluate(part.graph, at)
            if pictures:
                pics = batch.add(part.graph, at, ev, part.questions, decimals=decimals, png=png)
            else:
                pics = Pictures(None, None, blank_slots(part.graph, at, ev, part.questions))
            parts.append(PartVariant(at, ev, pics))
        view = VariantView(vid, number_, parts)
        for q in questions:
            pv = parts[q.part]
            g = spec.parts[q.part].graph
            for it in q.items:
                if q.type in ("forward", "backward") and it.entry is not None:
                    slot = _slot(pv.pictures.blanks, it.blank)  # type: ignore[arg-type]
                    value = float(np.asarray(slot.answer, dtype=float)[it.entry])
                    view.answers[it.id] = Answer(value=value, text=number(value, decimals),
                                                 mistakes=tensor_wire_mistakes(g, pv.evaluation, slot.wire, slot.kind,
                                                                               it.entry))
                elif q.type in ("forward", "backward"):
                    slot = _slot(pv.pictures.blanks, it.blank)  # type: ignore[arg-type]
                    view.answers[it.id] = Answer(value=slot.answer, text=number(slot.answer, decimals),
                                                 mistakes=wire_mistakes(g, pv.evaluation, slot.wire, slot.kind))
                elif q.type == "numeric" and g.is_tensor:
                    value = float(np.asarray(pv.evaluation.adjoints[it.wrt])[it.entry])  # type: ignore[index]
                    view.answers[it.id] = Answer(value=value, text=number(value, decimals),
                                                 mistakes=matrix_entry_mistakes(
                                                     g, pv.evaluation.values, it.wrt, it.entry, value,  # type: ignore
                                                     wrong_forms.get((q.part, it.wrt or ""), [])))
                elif q.type == "numeric":
                    assert it.wrt is not None  # a numeric item asks for a partial
                    value = float(pv.evaluation.adjoints[it.wrt])
                    key = (q.part, it.wrt)
                    if key not in numeric_mistakes:
                        numeric_mistakes[key] = formula_mistakes(g, it.wrt)
                    names = strict_names(Answer(names=defs[q.part], inputs=list(g.inputs)))
                    view.answers[it.id] = Answer(value=value, text=number(value, decimals),
                                                 mistakes=_numeric_mistakes(g, numeric_mistakes[key], names, pv.at, value))
                elif q.type in ("symbolic", "matrix"):
                    view.answers[it.id] = formula_answers[it.id]
        _add_recipes(spec, questions, view, decimals)
        views.append(view)
    batch.render()
    return Worksheet(spec, s, questions, views, defs, formulas, matrices)


def _add_recipes(spec: WorksheetSpec, questions: list[QuestionView], view: VariantView, decimals: int) -> None:
    """Each number blank's recipe from earlier blanks (follow-through marking; scalar graphs)."""
    for p, pv in enumerate(view.parts):
        g = spec.parts[p].graph
        if g.is_tensor:
            continue
        items = {it.blank: it.id for q in questions if q.part == p and q.type in ("forward", "backward")
                 for it in q.items if it.blank is not None}
        if not items:
            continue
        for item, follow in follow_recipes(g, pv.at, pv.evaluation, pv.pictures.blanks, items,
                                           decimals=decimals).items():
            view.answers[item].follow = follow
        for q in questions:
            if q.part == p and q.type == "numeric":
                for it in q.items:
                    if it.wrt is not None:
                        view.answers[it.id].follow = partial_recipe(g, pv.at, pv.evaluation, pv.pictures.blanks,
                                                                    items, it.wrt, decimals=decimals)


def _slot(blanks: list[BlankSlot], number_: int) -> BlankSlot:
    for b in blanks:
        if b.number == number_:
            return b
    raise WorksheetError(f"the picture has no blank ({number_})")  # pragma: no cover - same graph, same blanks


def _items(part: Part, qtype: str, qid: str, blanks: list[BlankSlot]) -> list[ItemView]:
    g = part.graph
    pts = float(part.points.get(qtype, 1.0))
    if g.is_tensor:
        return _tensor_items(part, qtype, qid, blanks, pts)
    if qtype in ("forward", "backward"):
        kind = "value" if qtype == "forward" else "gradient"
        return [ItemView(f"{qid}.{b.number}", "number", pts, f"{kind} {b.marker} on {wire_words(g, b.wire)}",
                         blank=b.number) for b in blanks if b.kind == kind]
    if qtype == "symbolic":
        return [ItemView(f"{qid}.{j}", "formula", pts, f"∂{g.output}/∂{w}", wrt=w)
                for j, w in enumerate(part.wrt, start=1)]
    if qtype == "numeric":
        return [ItemView(f"{qid}.{j}", "number", pts, f"∂{g.output}/∂{w}", wrt=w)
                for j, w in enumerate(part.numeric, start=1)]
    return []  # matrix: tensor graphs (see the module docs)


def _tensor_items(part: Part, qtype: str, qid: str, blanks: list[BlankSlot], pts: float) -> list[ItemView]:
    """Answer boxes of a tensor graph: one per entry of a blank or of a gradient; one per matrix formula."""
    g = part.graph
    out = g.output
    if qtype in ("forward", "backward"):
        kind = "value" if qtype == "forward" else "gradient"
        items: list[ItemView] = []
        for b in blanks:
            if b.kind != kind:
                continue
            for idx in np.ndindex(*np.shape(b.answer)):
                ent = entry_label(g, b.node, idx)
                label = f"{kind} {b.marker}" + (f" entry {ent}" if ent else "") + f" on {wire_words(g, b.wire)}"
                items.append(ItemView(f"{qid}.{len(items) + 1}", "number", pts, label, blank=b.number,
                                      entry=tuple(idx), entry_text=ent))
        return items
    if qtype == "matrix":
        return [ItemView(f"{qid}.{j}", "matrix", pts, f"∂{out}/∂{w}", wrt=w)
                for j, w in enumerate(part.wrt, start=1)]
    if qtype == "numeric":
        return [ItemView(f"{qid}.{j}", "number", pts, f"∂{out}/∂{name}", wrt=node, entry=idx,
                         entry_text=name)
                for j, (name, node, idx) in enumerate(numeric_entries(g, part.numeric), start=1)]
    return []  # symbolic: a gradient of a tensor graph is asked as a matrix formula


def _numeric_mistakes(graph: Graph, mistakes: list[Mistake], names: dict[str, Any], at: dict[str, float],
                      right: float) -> list[Mistake]:
    """The generated wrong formulas of a partial, evaluated at the variant's point."""
    inputs = [node_symbol(n) for n in graph.inputs]
    point = np.array([[at[n] for n in graph.inputs]])
    out: list[Mistake] = []
    seen = [right]
    for m in mistakes:
        assert m.formula is not None  # formula_mistakes gives formulas
        expr = parse_expression(m.formula, names, unknown_names=False)
        x = float(evaluate_points(expr, inputs, point)[0])
        if not np.isfinite(x) or any(abs(x - v) <= 1e-9 * max(1.0, abs(v)) for v in seen):
            continue
        seen.append(x)
        out.append(Mistake(m.id, m.message, value=x, detail=m.detail))
    return out


def value_list(at: dict[str, float]) -> str:
    return ", ".join(f"{n} = {value_text(x)}" for n, x in at.items())
