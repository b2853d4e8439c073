"""Annotated pictures of a graph, drawn with Graphviz: the textbook's backpropagation circuit.

Every wire carries its forward value above it (green) and its gradient below it (red); gates
are circles with their symbols (``+``, ``*``, ``*-1``, ``exp``, ``+1``, ``1/x``, ``σ``), inputs
are at the left and the output at the right. One call draws, with a result object:

>>> from gradlab import Graph
>>> g = Graph.parse("f = (x + y)*z")
>>> d = draw(g, {"x": -2, "y": 5, "z": -4}, blanks="gradients", numbered=True)
>>> [(b.marker, b.kind, b.wire, b.text) for b in d.blanks][:2]
[('(1)', 'gradient', ('f', None, 0), '1.00'), ('(2)', 'gradient', ('t1', 'f', 0), '-4.00')]
>>> "-12.00" in d.dot and "(3)" in d.dot
True

* :func:`draw` -> :class:`Drawing` (``.dot``, ``.blanks``, ``.save(path)``, ``.svg()``; shows itself
  in Jupyter); :func:`pipe_many` -> the pictures of many drawings from one Graphviz run;
  :func:`to_dot` -> DOT text; :func:`render` -> the written file's path;
  :func:`blank_map` -> the blanks alone (for worksheets);
* :func:`backward_steps` writes one picture per step of the backward pass and an HTML page that
  steps through them;
* options: :class:`RenderOptions` (modes, blanks, symbolic labels, highlighted chain-rule path,
  precision, themes and palettes). See docs/rendering.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..model.graph import Graph
from .dot import figure_to_dot
from .engine import (
    FORMATS,
    INSTALL_HINT,
    GraphvizNotFound,
    dot_available,
    find_dot,
    format_of,
    run_dot,
    run_dot_many,
    write_picture,
)
from .figure import (
    Blank,
    Figure,
    RenderOptions,
    Wire,
    _no_gc,
    build_figure,
    graph_wires,
    options,
    resolve_blanks,
    wire_text,
)
from .inputs import _graph, evaluation_of
from .steps import Steps, backward_steps
from .style import PALETTES, THEMES

__all__ = [
    "draw", "to_dot", "render", "blank_map", "backward_steps", "mimebundle", "pipe_many", "Drawing", "Steps", "Blank",
    "RenderOptions", "Wire", "GraphvizNotFound", "dot_available", "find_dot", "format_of", "FORMATS", "THEMES",
    "PALETTES", "INSTALL_HINT", "wire_text", "graph_wires", "resolve_blanks",
]


@dataclass
class Drawing:
    """A drawn graph: the DOT source, the blanks (the worksheet's answer key) and how it was drawn.

    ``save(path)`` writes it (``.svg``, ``.png``, ``.pdf``, ``.dot``); in Jupyter it shows itself.
    """

    graph: Graph
    dot: str
    blanks: list[Blank]
    options: RenderOptions
    mode: str
    caption: list[str] = field(default_factory=list)

    def pipe(self, fmt: str = "svg", *, dpi: float | None = 150, timeout: float | None = None) -> bytes:
        """The picture as bytes (``svg``, ``png``, ``pdf``)."""
        return run_dot(self.dot, fmt, dpi=dpi, timeout=timeout)

    def svg(self) -> str:
        """The picture as SVG text."""
        return self.pipe("svg").decode("utf-8")

    def save(self, path: str | Path, *, dpi: float | None = 150, timeout: float | None = None) -> Path:
        """Write the picture; the format comes from the suffix. Nothing half-written is left on failure."""
        return write_picture(self.dot, path, dpi=dpi, timeout=timeout)

    def answer_key(self) -> dict[str, Blank]:
        """Each blank by its marker: ``{"(1)": Blank(...), ...}`` (numbered drawings)."""
        return {b.marker if b.marker != "?" else f"({b.number})": b for b in self.blanks}

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "blanks": [b.to_dict() for b in self.blanks], "caption": self.caption,
                "options": _options_dict(self.options), "output": self.graph.output}

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return _bundle(self.dot, repr(self), len(self.graph.op_nodes))

    def _repr_svg_(self) -> str | None:
        return self._repr_mimebundle_().get("image/svg+xml")

    def __repr__(self) -> str:
        return (f"<Drawing of {self.graph.output}: mode={self.mode}, {len(self.blanks)} blanks, "
                f"{self.dot.count(chr(10))} lines of DOT>")


def pipe_many(drawings: Sequence[Drawing], fmt: str = "svg", *, dpi: float | None = 150,
              timeout: float | None = None) -> list[bytes]:
    """The pictures of many drawings as bytes, from one Graphviz run (see
    :func:`~gradlab.render.engine.run_dot_many`): the same bytes as each drawing's
    :meth:`Drawing.pipe` (``timeout`` is per picture).

    >>> svgs = pipe_many([draw("f = x*y", {"x": 2, "y": 3}), draw("f = x + y")])  # doctest: +SKIP
    >>> svgs[1] == draw("f = x + y").pipe("svg")                                   # doctest: +SKIP
    True
    """
    return run_dot_many([d.dot for d in drawings], fmt, dpi=dpi, timeout=timeout)


def _options_dict(o: RenderOptions) -> dict[str, Any]:
    d = {k: getattr(o, k) for k in RenderOptions.__dataclass_fields__}
    b = d["blanks"]
    if b is not None and not isinstance(b, (bool, str)):
        d["blanks"] = [list(x) if isinstance(x, tuple) else x for x in b]
    return d


#: Graphs with more gates than this are not drawn inline in Jupyter (Graphviz would take minutes).
INLINE_MAX_GATES = 400


def _bundle(dot_source: str, text: str, gates: int = 0) -> dict[str, Any]:
    if gates > INLINE_MAX_GATES:
        return {"text/plain": text + f"\n({gates} gates: too many to draw inline; write a file with "
                                     "graph.render('graph.svg') or the DOT source with graph.to_dot())"}
    if not dot_available():
        return {"text/plain": text + "\n(install Graphviz to see the picture: " + INSTALL_HINT + ")"}
    return {"image/svg+xml": fit_width(run_dot(dot_source, "svg").decode("utf-8")), "text/plain": text}


#: The widest picture Jupyter shows at its own size (points); a wider one is scaled down to this width, so that
#: a graph of many gates fits a notebook's output area instead of scrolling sideways.
INLINE_MAX_WIDTH_PT = 720.0


def fit_width(svg: str, max_pt: float = INLINE_MAX_WIDTH_PT) -> str:
    """Graphviz's SVG with its ``width``/``height`` scaled down to ``max_pt`` points wide if it is wider (the
    ``viewBox`` keeps the drawing whole).

    >>> fit_width('<svg width="1440pt" height="300pt" viewBox="0 0 1440 300">', 720)
    '<svg width="720pt" height="150pt" viewBox="0 0 1440 300">'
    """
    m = re.search(r'<svg width="([0-9.]+)pt" height="([0-9.]+)pt"', svg)
    if m is None or float(m.group(1)) <= max_pt:
        return svg
    width, height = float(m.group(1)), float(m.group(2))
    return (svg[:m.start()] + f'<svg width="{max_pt:g}pt" height="{height * max_pt / width:.6g}pt"'
            + svg[m.end():])


def figure(graph: Graph | str, at: Any = None, opts: RenderOptions | None = None, **kwargs: Any) -> Figure:
    """The picture as data (:class:`~gradlab.render.figure.Figure`), before it becomes DOT."""
    g = _graph(graph)
    o = options(opts, **kwargs)
    return build_figure(g, evaluation_of(g, at), o)


def draw(graph: Graph | str, at: Any = None, opts: RenderOptions | None = None, **kwargs: Any) -> Drawing:
    """Draw a graph (or a program) at the point ``at`` (input values, or an ``Evaluation``).

    Keywords are :class:`RenderOptions`: ``mode``, ``blanks``, ``numbered``, ``symbolic``,
    ``highlight``, ``precision``, ``theme``, ``palette``, ``group``, ``names``, ``title``.

    >>> d = draw("f = x*x", {"x": 3})
    >>> d.dot.count("-> n1"), "9.00" in d.dot, "3.00" in d.dot
    (2, True, True)
    """
    g = _graph(graph)
    fig = figure(g, at, opts, **kwargs)
    with _no_gc():
        source = figure_to_dot(fig)
    return Drawing(g, source, fig.blanks, fig.options, fig.mode, [t for t, _ in fig.caption])


def to_dot(graph: Graph | str, at: Any = None, opts: RenderOptions | None = None, **kwargs: Any) -> str:
    """The DOT source of the picture (no Graphviz needed): ``to_dot(g, {"x": 1}, blanks=True)``."""
    return draw(graph, at, opts, **kwargs).dot


def render(graph: Graph | str, path: str | Path, at: Any = None, opts: RenderOptions | None = None, *,
           dpi: float | None = 150, timeout: float | None = None, **kwargs: Any) -> Path:
    """Draw and write the picture to ``path`` (``.svg``, ``.png``, ``.pdf``, ``.dot``); returns the path.

    Use :func:`draw` when you also want the blanks (``draw(...).save(path)``).
    """
    return draw(graph, at, opts, **kwargs).save(path, dpi=dpi, timeout=timeout)


def blank_map(graph: Graph | str, at: Any = None, opts: RenderOptions | None = None, **kwargs: Any) -> list[Blank]:
    """The blanks a picture with these options has, numbered, with their answers (no DOT written).

    >>> [(b.number, b.kind, b.node, round(b.answer, 2)) for b in blank_map("f = x*y", {"x": 2, "y": 3}, blanks=["x", "value:f"])]
    [(1, 'value', 'f', 6.0), (2, 'gradient', 'x', 3.0)]
    """
    return figure(graph, at, opts, **kwargs).blanks


def mimebundle(obj: Any, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict[str, Any]:
    """Jupyter's rich display of a graph (its structure) or a :class:`Drawing`."""
    if isinstance(obj, Drawing):
        return obj._repr_mimebundle_(include, exclude)
    g = _graph(obj)
    gates = len(g.op_nodes)
    return _bundle(to_dot(g, None, **kwargs) if gates <= INLINE_MAX_GATES else "", repr(g), gates)
