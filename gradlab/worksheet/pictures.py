"""The worksheet's pictures and blanks, from gradlab's renderer (:mod:`gradlab.render`).

Worksheets never draw anything themselves: :func:`sheet_pictures` asks the renderer for the blank
student picture (numbered blanks) and the solution picture, and takes the blank map (marker ->
wire, kind, answer) from the same drawing, so the numbers on the picture and in the key agree.

A worksheet's pictures are drawn through one Graphviz run (:class:`PictureBatch`): each variant's
drawings are collected first (their blanks are known at once), and every SVG (and PNG) is made at
the end by :func:`gradlab.render.pipe_many` (two ``dot`` processes side by side), the same bytes
as one process per picture.

Without the renderer (an installation that lacks it), the blanks are still listed, in the
renderer's documented order (values in forward order, then gradients in backward order), and the
sheets say that the picture is missing.

A graph with vectors and matrices: the student picture shows the forward values (the inputs'
vectors and matrices, as the sheet gives them) with numbered blanks for every gate's value
(``forward``) and for the gradient on every gate's out-wire (``backward``); no other gradient is
drawn, so the picture gives away no answer of a matrix or numeric question. A blank holds a
vector or a matrix; the sheet asks for it entry by entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..engine.numeric import Evaluation
from ..model.graph import Graph

Wire = tuple[str, Optional[str], int]


@dataclass
class BlankSlot:
    """One numbered blank of a picture: a value or a gradient on a wire, and its answer."""

    number: int
    kind: str  # "value" | "gradient"
    wire: Wire
    node: str
    answer: Any  # a number; nested lists for a vector or a matrix

    @property
    def marker(self) -> str:
        return f"({self.number})"


@dataclass
class Pictures:
    """The student picture (blanks numbered) and the solution picture of one part of one variant."""

    student_svg: str | None
    solution_svg: str | None
    blanks: list[BlankSlot]
    student_png: bytes | None = None


def renderer() -> Any | None:
    """:mod:`gradlab.render` when it is installed, else None."""
    try:
        from .. import render
    except ImportError:
        return None
    return render if hasattr(render, "draw") else None


def blank_spec(questions: list[str], graph: Graph | None = None) -> Any:
    """Which blanks a picture gets for the questions asked about it: a keyword of the renderer, or
    for a tensor graph a list of ``(kind, wire)`` (see the module docstring)."""
    fwd, bwd = "forward" in questions, "backward" in questions
    if graph is not None and graph.is_tensor:
        wires = [w for w in graph_wires(graph) if graph.kind(w[0]) == "op"]
        slots = [("value", w) for w in wires if fwd] + [("gradient", w) for w in wires if bwd and w[1] is not None]
        return slots or None
    if fwd and bwd:
        return "all"
    if fwd:
        return "values"
    if bwd:
        return "gradients"
    return None


class PictureBatch:
    """Pictures whose blanks are known now and whose images come later, all from one Graphviz run.

    >>> batch = PictureBatch()                                                # doctest: +SKIP
    >>> pics = [batch.add(g, at, evaluate(g, at), ["forward"], decimals=2) for at in points]  # doctest: +SKIP
    >>> batch.render()  # every pics[i].student_svg and solution_svg is filled in    # doctest: +SKIP
    """

    def __init__(self) -> None:
        self._svg: list[tuple[Pictures, str, Any]] = []  # (pictures, field, drawing)
        self._png: list[tuple[Pictures, str, Any]] = []

    def add(self, graph: Graph, at: dict[str, float], ev: Evaluation, questions: list[str], *, decimals: int,
            png: bool = False) -> Pictures:
        """The pictures of one part of one variant, blanks filled in, images left for :meth:`render`."""
        spec = blank_spec(questions, graph)
        r = renderer()
        if r is None:
            return Pictures(None, None, fallback_blanks(graph, ev, spec))
        mode = "solution" if "backward" in questions or spec is None else "forward"
        if spec is None or graph.is_tensor:
            mode = "forward"
        student = r.draw(graph, ev, mode=mode, blanks=spec, numbered=True, precision=decimals)
        solution = r.draw(graph, ev, mode="solution", precision=decimals)
        blanks = [BlankSlot(b.number, b.kind, tuple(b.wire), b.node, _answer(b.answer)) for b in student.blanks]
        pics = Pictures(None, None, blanks)
        self._svg += [(pics, "student_svg", student), (pics, "solution_svg", solution)]
        if png:
            self._png.append((pics, "student_png", student))
        return pics

    def render(self) -> None:
        """Make every image added so far: one ``dot`` process per format."""
        r = renderer()
        for todo, fmt in ((self._svg, "svg"), (self._png, "png")):
            if not todo:
                continue
            images = r.pipe_many([d for _, _, d in todo], fmt) if r is not None else []
            for (pics, name, _), data in zip(todo, images):
                setattr(pics, name, data.decode("utf-8") if fmt == "svg" else data)
            todo.clear()


def sheet_pictures(graph: Graph, at: dict[str, float], ev: Evaluation, questions: list[str], *, decimals: int,
                   png: bool = False) -> Pictures:
    """Draw the student and solution pictures and return them with the blank map (for many
    pictures, :class:`PictureBatch` is faster)."""
    batch = PictureBatch()
    pics = batch.add(graph, at, ev, questions, decimals=decimals, png=png)
    batch.render()
    return pics


def blank_slots(graph: Graph, at: dict[str, float], ev: Evaluation, questions: list[str]) -> list[BlankSlot]:
    """The blank map alone (no picture drawn)."""
    spec = blank_spec(questions, graph)
    r = renderer()
    if r is None or spec is None:
        return fallback_blanks(graph, ev, spec)
    return [BlankSlot(b.number, b.kind, tuple(b.wire), b.node, _answer(b.answer))
            for b in r.blank_map(graph, ev, blanks=spec, numbered=True)]


def _answer(a: Any) -> Any:
    return a if isinstance(a, list) else float(a)


def graph_wires(graph: Graph) -> list[Wire]:
    """The picture's wires: each node's out-wires in drawing order, and the output wire."""
    out = graph.output
    pos = {n: i for i, n in enumerate(graph.nodes)}
    wires: list[Wire] = []
    for u in graph.nodes:
        for _, v, k in sorted(graph.nx.out_edges(u, keys=True), key=lambda e: (pos[e[1]], e[2])):
            wires.append((u, v, k))
        if u == out:
            wires.append((u, None, 0))
    return wires


def fallback_blanks(graph: Graph, ev: Evaluation, spec: Any) -> list[BlankSlot]:
    """The blanks in the renderer's order, for installations without the renderer."""
    if spec is None:
        return []
    wires = graph_wires(graph)
    slots: list[tuple[str, Wire]] = []
    if isinstance(spec, list):
        slots = list(spec)
    if spec in ("values", "all"):
        slots += [("value", w) for w in wires if graph.kind(w[0]) == "op"]
    if spec in ("gradients", "all"):
        slots += [("gradient", w) for w in wires]
    pos = {n: i for i, n in enumerate(graph.nodes)}
    end = len(pos)

    def order(s: tuple[str, Wire]) -> tuple[Any, ...]:
        kind, (u, v, k) = s
        pv = end if v is None else pos[v]
        return (0, pos[u], pv, k) if kind == "value" else (1, -pv, k, -pos[u])

    out = []
    for i, (kind, (u, v, k)) in enumerate(sorted(slots, key=order), start=1):
        if kind == "value":
            ans = ev.values[u]
        else:
            ans = np.ones(graph.shape(u)) if v is None else ev.edge_adjoints[(u, v, k)]
        a = np.asarray(ans, dtype=float)
        out.append(BlankSlot(i, kind, (u, v, k), u, float(a) if a.ndim == 0 else a.tolist()))
    return out


#: The longest program text that names an unnamed gate in a blank's words (longer is shortened with "...").
WORDS_TEXT = 28


def _gate_text(graph: Graph, n: str) -> str:
    text = str(graph.attrs(n).get("text") or graph.attrs(n)["label"])
    return text if len(text) <= WORDS_TEXT else text[: WORDS_TEXT - 3] + "..."


def wire_words(graph: Graph, w: Wire) -> str:
    """``the wire from z into a (σ)`` for a sheet's list of blanks; an unnamed gate is named by what it computes
    (``the wire from w0*x0 into the + gate (w0*x0 + w1*x1)``), so that two wires between gates of the same kind
    read differently."""
    u, v, _ = w
    src = u if graph.attrs(u).get("named") or graph.kind(u) != "op" else _gate_text(graph, u)
    if v is None:
        return f"the output wire ({u})"
    label = graph.attrs(v)["label"]
    dst = f"{v} ({label})" if graph.attrs(v).get("named") else f"the {label} gate ({_gate_text(graph, v)})"
    return f"the wire from {src} into {dst}"
