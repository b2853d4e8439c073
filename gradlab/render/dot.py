"""A :class:`~gradlab.render.figure.Figure` as Graphviz DOT source: the textbook's circuit.

Left to right: the inputs' names, a circle for each gate with its symbol, the output's name.
Each wire passes through a small label of three rows: the forward value above, the wire
itself, the gradient below, so the numbers sit above and below the line as in CS231n's
pictures. Every wire of the graph is drawn, so ``x*x`` has two arrows into its gate.

DOT ids are short and safe (``n3`` for the fourth node, ``w7`` for the eighth wire label,
``out`` for the output's name); the SVG ids say what a shape is: ``node-x0``,
``wire-x0-t1-0``, ``wire-a-output-0``, ``output-a``.
"""

from __future__ import annotations

import html
from typing import Iterable

from .figure import Figure, NodeView, Slot, WireView
from .style import FONT, Style


def _q(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _h(text: str) -> str:
    """Text for a Graphviz HTML-like label."""
    return html.escape(text, quote=True)


def _font(text: str, color: str, size: float | None = None, bold: bool = False) -> str:
    inner = _h(text) if text else "&#160;"
    if bold:
        inner = f"<B>{inner}</B>"
    size_attr = f' POINT-SIZE="{size:g}"' if size else ""
    return f'<FONT COLOR="{color}"{size_attr}>{inner}</FONT>'


def _matrix(rows: list[list[str]], color: str, bold: bool) -> str:
    """A small vector or matrix between brackets (cell borders on three sides)."""
    n = len(rows)
    out = []
    for i, row in enumerate(rows):
        cells = "".join(f'<TD ALIGN="RIGHT" CELLPADDING="1">{_font(x, color, bold=bold)}</TD>' for x in row)
        if i == 0:
            left = f'<TD ROWSPAN="{n}" BORDER="1" SIDES="LTB" COLOR="{color}" WIDTH="4"></TD>'
            right = f'<TD ROWSPAN="{n}" BORDER="1" SIDES="RTB" COLOR="{color}" WIDTH="4"></TD>'
            cells = left + cells + right
        out.append(f"<TR>{cells}</TR>")
    return '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1" CELLPADDING="0">' + "".join(out) + "</TABLE>"


def _slot_cell(slot: Slot, color: str, s: Style, width: int) -> str:
    bold = slot.blank is not None or slot.emphasis
    fg = s.new if (slot.emphasis and slot.blank is None) else color
    if slot.matrix is not None and slot.blank is None:
        body = _matrix(slot.matrix, fg, bold)
    else:
        body = "<BR/>".join(_font(line, fg, bold=bold) for line in (slot.lines or [""]))
    return f'<TR><TD WIDTH="{width}" CELLPADDING="1">{body}</TD></TR>'


def wire_label(w: WireView, s: Style, fontsize: float, wire_color: str, thickness: int) -> str:
    rows = []
    header = "  ".join(t for t in (w.name, w.shape) if t)
    if header:
        rows.append(f'<TR><TD CELLPADDING="0"><I>{_font(header, s.muted, fontsize * 0.8)}</I></TD></TR>')
    rows.append(_slot_cell(w.value, s.value, s, w.width))
    rows.append(f'<TR><TD PORT="p" HEIGHT="{thickness}" CELLPADDING="0" BGCOLOR="{wire_color}"></TD></TR>')
    rows.append(_slot_cell(w.gradient, s.gradient, s, w.width))
    if w.local:
        rows.append(f'<TR><TD CELLPADDING="0">{_font(w.local, s.highlight, fontsize * 0.8)}</TD></TR>')
    return '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">' + "".join(rows) + "</TABLE>>"


def _node_id(index: int) -> str:
    return f"n{index}"


def _svg_id(*parts: object) -> str:
    return "-".join(str(p) for p in parts)


def _node_line(dot_id: str, nv: NodeView, s: Style, fontsize: float) -> str:
    svg_id = _svg_id("output" if nv.kind == "output" else "node", nv.id)
    attrs = [f"id={_q(svg_id)}", f"tooltip={_q(nv.tooltip)}"]
    if nv.kind == "op":
        label = nv.label
        size = fontsize + 3 if len(label) <= 1 else (fontsize + 1 if len(label) <= 3 else fontsize)
        border = s.highlight if (nv.current or nv.highlighted) else s.gate_border
        pen = 2.6 if nv.current else (2.0 if nv.highlighted else 1.2)
        fill = s.gate_fill
        attrs += ["shape=circle", f"label={_q(label)}", f"fontsize={size:g}", "width=0.46", "height=0.46",
                  "margin=0.02", "style=filled", f"fillcolor={_q(fill)}", f"color={_q(border)}",
                  f"penwidth={pen:g}", f"fontcolor={_q(s.text)}"]
        if nv.total is not None:
            attrs.append(f"xlabel=<{_total(nv, s, fontsize)}>")
    else:
        color = s.muted if nv.kind == "const" else s.text
        name = _font(nv.label, color, fontsize + 2 if nv.kind != "const" else fontsize, bold=nv.kind == "output")
        if nv.total is not None:
            name = (f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0"><TR><TD>{name}</TD></TR>'
                    f"<TR><TD>{_total(nv, s, fontsize)}</TD></TR></TABLE>")
        attrs += ["shape=plaintext", "margin=0.04", f"label=<{name}>"]
    return f"  {dot_id} [{', '.join(attrs)}];"


def _total(nv: NodeView, s: Style, fontsize: float) -> str:
    """The sum of the gradients at a fork, in a cell of fixed width (``Σ ?`` on a worksheet)."""
    text = _font(nv.total or "", s.gradient, fontsize * 0.8, bold=nv.total == "Σ ?")
    return (f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0"><TR>'
            f'<TD WIDTH="{nv.total_width}">{text}</TD></TR></TABLE>')


def _caption(lines: Iterable[tuple[str, str]], fontsize: float, bold_first: bool = False, width: int = 0) -> str:
    rows = []
    for i, (line, color) in enumerate(lines):
        rows.append(f'<TR><TD ALIGN="LEFT" HEIGHT="{round(fontsize * 1.5)}">'
                    f'{_font(line, color, fontsize, bold=bold_first and i == 0)}</TD></TR>')
    width_attr = f' WIDTH="{width}"' if width else ""
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2"{width_attr}>' + "".join(rows) + "</TABLE>>"


def figure_to_dot(fig: Figure) -> str:
    """DOT source of a figure (see the module docstring)."""
    g = fig.graph
    opts = fig.options
    s = opts.style
    fs = opts.fontsize
    index = {n: i for i, n in enumerate(g.nodes)}
    out: list[str] = [
        f"digraph {_q(g.title or 'gradlab')} {{",
        f"  graph [rankdir=LR, bgcolor={_q(s.background)}, fontname={_q(FONT)}, fontcolor={_q(s.text)}, "
        "nodesep=0.18, ranksep=0.22, pad=0.25, newrank=true, ordering=out, outputorder=edgesfirst, "
        f"forcelabels=true, labeljust=l];",
        f"  node [fontname={_q(FONT)}, fontsize={fs:g}, fontcolor={_q(s.text)}];",
        f"  edge [color={_q(s.wire)}, penwidth=1.3, arrowsize=0.7, fontname={_q(FONT)}];",
    ]
    body: list[str] = []
    by_statement: dict[int, list[str]] = {}
    inputs: list[str] = []
    for nv in fig.nodes:
        dot_id = "out" if nv.kind == "output" else _node_id(index[nv.id])
        line = _node_line(dot_id, nv, s, fs)
        if nv.statement is not None and nv.statement in fig.clusters:
            by_statement.setdefault(nv.statement, []).append(line)
        else:
            body.append(line)
        if nv.kind == "input":
            inputs.append(dot_id)
    edges: list[str] = []
    for j, w in enumerate(fig.wires):
        u, v, k = w.wire
        wid = f"w{j}"
        color = s.highlight if w.highlighted else (s.new if w.gradient.emphasis else s.wire)
        thick = 2 if w.highlighted else 1  # the same in every step of the backward pass: the layout stays put
        pen = 2.6 if w.highlighted else (2.0 if w.gradient.emphasis else 1.3)
        label = wire_label(w, s, fs, color, thick)
        line = (f"  {wid} [id={_q(_svg_id('wire', u, 'output' if v is None else v, k))}, shape=plaintext, "
                f"margin=0, label={label}];")
        if w.statement is not None and w.statement in fig.clusters:
            by_statement.setdefault(w.statement, []).append(line)
        else:
            body.append(line)
        src = _node_id(index[u])
        dst = "out" if v is None else _node_id(index[v])
        style = f", color={_q(color)}, penwidth={pen:g}" if (w.highlighted or w.gradient.emphasis) else ""
        if w.const:
            style += ", style=dashed"
        edges.append(f"  {src} -> {wid}:p:w [arrowhead=none{style}];")
        edges.append(f"  {wid}:p:e -> {dst} [{style.lstrip(', ')}];" if style else f"  {wid}:p:e -> {dst};")
    inputs_left = opts.inputs_left if opts.inputs_left is not None else not fig.clusters
    content = body
    for stmt in sorted(by_statement):
        content.append(f"  subgraph cluster_s{stmt} {{")
        content.append(f"    label={_q(fig.clusters[stmt])}; labeljust=l; style=\"rounded,dashed\"; penwidth=1; "
                       f"color={_q(s.cluster)}; fontcolor={_q(s.muted)}; fontsize={fs * 0.8:g}; margin=10;")
        content.extend("  " + line for line in by_statement[stmt])
        content.append("  }")
    ranks = ["  {rank=max; out;}"]
    if inputs_left and inputs:
        ranks.append("  {rank=min; " + "; ".join(inputs) + ";}")
        if len(inputs) > 1:  # keep the program's order, top to bottom
            ranks.append("  " + " -> ".join(inputs) + " [style=invis];")
    out.extend(content)
    out.extend(ranks)
    out.extend(edges)
    # the title (bold) and the caption share the graph's label: at the top with a title, else below
    # (a title in a cluster of its own would change the order of the inputs)
    colors = {"text": s.text, "highlight": s.highlight}
    lines = ([(fig.title, s.text)] if fig.title else []) + [(t, colors[c]) for t, c in fig.caption]
    if lines:
        out.append(f"  label={_caption(lines, fs, bold_first=bool(fig.title), width=fig.caption_width)}; "
                   f"labelloc={'t' if fig.title else 'b'};")
    out.append("}")
    return "\n".join(out) + "\n"
