"""The backward pass step by step: one picture per step, and an HTML page that steps through them.

Step 0 shows the forward values and the output's gradient 1.00. Each later step takes the
next gate in reverse order (a gate's turn comes when every wire leaving it has its gradient)
and fills the gradients on the wires into it: upstream gradient times local gradient. The
caption of each picture writes that product out. Every picture has the same layout (labels
reserve their final width), so stepping through them only fills in numbers.

The HTML page embeds every picture (no network access needed) and steps with buttons, the
arrow keys, Home/End and a slider; ``#5`` in the address opens step 5.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import RenderError
from ..fileio import write_atomic
from ..model.graph import Graph
from . import style as st
from .dot import figure_to_dot
from .engine import INSTALL_HINT, GraphvizNotFound, find_dot, run_dot_many
from .figure import RenderOptions, Wire, build_figure, graph_wires, options
from .inputs import _graph, evaluation_of

#: More steps than this need ``max_steps=`` (each step is one picture for Graphviz to lay out).
MAX_STEPS = 300


@dataclass
class Steps:
    """The pictures of a backward pass: ``frames[i]`` is step i, ``html`` the page that shows them."""

    folder: Path
    frames: list[Path]
    html: Path | None
    captions: list[list[str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"folder": str(self.folder), "frames": [str(p) for p in self.frames],
                "html": None if self.html is None else str(self.html), "captions": self.captions}

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)


def _order(graph: Graph) -> list[str]:
    """Gates in the order the backward pass visits them (those that reach the output)."""
    import networkx as nx

    out = graph.output
    live = nx.ancestors(graph.nx, out) | {out}
    return [n for n in reversed(graph.nodes) if graph.kind(n) == "op" and n in live]


def step_plan(graph: Graph, evaluation: Any, opts: RenderOptions) -> list[tuple[set[Wire], set[Wire], str | None,
                                                                                list[str]]]:
    """For each step: (wires whose gradient is known, wires new in this step, current gate, caption)."""
    from .figure import _Values

    vals = _Values(graph, evaluation)
    p = opts.precision
    num = lambda x: st.number(x, p)  # noqa: E731
    out = graph.output
    known: set[Wire] = {(out, None, 0)}
    plan: list[tuple[set[Wire], set[Wire], str | None, list[str]]] = [
        (set(known), {(out, None, 0)}, None,
         [f"Step 0: the forward pass gives {out} = {_value_text(vals, out, p)}; "
          f"the backward pass starts with ∂{out}/∂{out} = 1 on the output wire."])]
    partials = None
    if len(graph.op_nodes) <= 400:
        from ..engine.symbolic import symbolic_gradients

        partials = symbolic_gradients(graph).partials
    wires = graph_wires(graph)
    outs: dict[str, list[Wire]] = {}
    for w in wires:
        outs.setdefault(w[0], []).append(w)
    gates = _order(graph)
    for i, v in enumerate(gates, start=1):
        ins = [(u, v, k) for k, u in enumerate(graph.args(v))]
        known |= set(ins)
        lines = [f"Step {i} of {len(gates)}: gate {graph.attrs(v)['label']} ({v})"]
        up = vals.adjoint(v)
        scalar_v = not vals.shape(v)
        mine = outs.get(v, [])
        if scalar_v and len(mine) > 1:
            parts = " + ".join(_paren(num(vals.wire_gradient(w))) for w in mine if vals.wire_gradient(w) is not None)
            lines.append(f"its gradient ∂{out}/∂{v} = {parts} = {num(up)} (the gradients of its {len(mine)} wires add up)")
        else:
            lines.append(f"its gradient ∂{out}/∂{v} = {_tensor_or_number(vals, v, up, p)} (from the wire on its right)")
        for (u, _, k) in ins:
            w = (u, v, k)
            loc = vals.local(w)
            g = vals.wire_gradient(w)
            arg = f"argument {k + 1}, {u}" if len(ins) > 1 else u
            if loc is not None and g is not None and scalar_v:
                formula = ""
                if partials is not None:
                    f = st.formula(partials[w])
                    if not _is_number(f) and len(f) <= 30:
                        formula = f" = {f}"
                lines.append(f"wire from {arg}: local gradient ∂{v}/∂{u}{formula} = {num(loc)}; "
                             f"gradient on the wire {num(up)} × {_paren(num(loc))} = {num(g)}")
            else:
                lines.append(f"wire from {arg}: gradient {_tensor_or_number(vals, u, g, p)}")
        plan.append((set(known), set(ins), v, lines))
    return plan


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _paren(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


def _value_text(vals: Any, n: str, p: int) -> str:
    return _tensor_or_number(vals, n, vals.value(n), p)


def _tensor_or_number(vals: Any, n: str, a: Any, p: int) -> str:
    if a is None:
        return "–"
    shape = vals.shape(n)
    if not shape:
        return st.number(a, p)
    return " ".join(st.tensor_lines(a, shape, p)) + f" ({st.shape_text(shape)})"


def backward_steps(graph: Graph | str, at: Any, folder: str | Path, opts: RenderOptions | None = None, *,
                   fmt: str = "svg", html_page: bool = True, dpi: float | None = 150,
                   max_steps: int = MAX_STEPS, timeout: float | None = None, **kwargs: Any) -> Steps:
    """Write ``step-00.svg``, ``step-01.svg``, ... and ``index.html`` into ``folder``.

    ``at`` is the point (input values) or an evaluation; keywords are :class:`RenderOptions`
    (blanks and highlights aside). ``fmt`` is ``svg``, ``png`` or ``dot`` (no page for DOT).
    """

    g = _graph(graph)
    if at is None:
        raise RenderError("the backward pass needs the input values: give at={...} (or --at x=1 ...)")
    o = options(opts, **kwargs)
    if o.names == "auto":  # the captions name every gate
        o = replace(o, names="all")
    if o.blanks or o.highlight or o.symbolic == "local":
        raise RenderError("backward steps fill in the gradients themselves: leave out blanks, highlight and "
                          "symbolic='local'")
    o = replace(o, mode="solution")
    if fmt not in ("svg", "png", "dot"):
        raise RenderError(f"steps are written as svg, png or dot pictures, not '{fmt}'")
    if fmt != "dot" and find_dot() is None:
        raise GraphvizNotFound(f"the Graphviz program 'dot' is not installed, so no .{fmt} steps can be drawn; "
                               + INSTALL_HINT)
    ev = evaluation_of(g, at)
    plan = step_plan(g, ev, o)
    if len(plan) > max_steps:
        raise RenderError(f"the backward pass of this graph has {len(plan)} steps; backward_steps draws at most "
                          f"{max_steps} (pass max_steps=... to draw more)")
    # every caption gets the same number of lines and width, so every picture has the same size
    height = max(len(c) for *_, c in plan)
    width = int(1.08 * max(max(st.width_points(line, o.fontsize) for line in c) for *_, c in plan)) + 8
    sources: list[str] = []
    for known, new, current, caption in plan:
        padded = caption + [""] * (height - len(caption))
        fig = build_figure(g, ev, o, known=known, new=new, current=current, caption=padded)
        fig.caption_width = width
        sources.append(figure_to_dot(fig))
    images = [s.encode("utf-8") for s in sources] if fmt == "dot" else \
        run_dot_many(sources, fmt, dpi=dpi, timeout=timeout)
    folder = Path(folder)
    digits = max(2, len(str(len(plan) - 1)))
    frames: list[Path] = []
    for i, data in enumerate(images):
        path = folder / f"step-{i:0{digits}d}.{fmt}"
        write_atomic(path, data)
        frames.append(path)
    captions = [c for *_, c in plan]
    page = None
    if html_page and fmt != "dot":
        page = folder / "index.html"
        write_atomic(page, steps_html(images, fmt, captions, title=g.title or f"Backward pass of {g.output}",
                                      theme=o.theme, palette=o.palette))
    return Steps(folder, frames, page, captions)


def steps_html(images: list[bytes], fmt: str, captions: list[list[str]], *, title: str, theme: str = "light",
               palette: str = "classic") -> str:
    """A self-contained page that steps through the pictures (buttons, arrow keys, slider)."""
    mime = "image/svg+xml" if fmt == "svg" else "image/png"
    s = st.style(theme, palette)
    frames = []
    for i, (data, cap) in enumerate(zip(images, captions)):
        src = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        alt = html.escape(" ".join(cap), quote=True)
        frames.append(f'<figure class="frame" id="step-{i}" hidden><img src="{src}" alt="{alt}"></figure>')
    n = len(images)
    captions_json = json.dumps(captions, ensure_ascii=False).replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
  body {{ margin: 1.5rem; background: {s.background}; color: {s.text};
         font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }}
  h1 {{ font-size: 1.2rem; font-weight: 600; margin: 0 0 .8rem; }}
  nav {{ display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; margin-bottom: 1rem; }}
  button {{ font: inherit; padding: .3rem .8rem; border-radius: .4rem; border: 1px solid {s.muted};
           background: {s.gate_fill}; color: {s.text}; cursor: pointer; }}
  button:disabled {{ opacity: .4; cursor: default; }}
  input[type=range] {{ flex: 1 1 12rem; max-width: 28rem; }}
  #count {{ min-width: 8rem; font-variant-numeric: tabular-nums; }}
  figure {{ margin: 0; }}
  img {{ max-width: 100%; height: auto; }}
  .hint {{ color: {s.muted}; font-size: .85rem; }}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<nav aria-label="steps">
  <button id="first" title="first step (Home)">&#171; first</button>
  <button id="prev" title="previous step (&#8592;)">&#9664; back</button>
  <span id="count" aria-live="polite"></span>
  <button id="next" title="next step (&#8594;)">next &#9654;</button>
  <button id="last" title="last step (End)">last &#187;</button>
  <button id="play" title="play (space)">play</button>
  <input id="slider" type="range" min="0" max="{n - 1}" value="0" aria-label="step">
</nav>
{chr(10).join(frames)}
<p class="hint">Keys: &#8592; &#8594; step, Home / End, space plays.
<span style="color:{s.value}">&#9632;</span> forward values (above the wires),
<span style="color:{s.gradient}">&#9632;</span> gradients (below),
<span style="color:{s.new}">&#9632;</span> what this step computes.</p>
<script>
(function () {{
  var n = {n}, i = 0, timer = null;
  var frames = document.querySelectorAll(".frame");
  var count = document.getElementById("count"), slider = document.getElementById("slider");
  function show(k) {{
    i = Math.max(0, Math.min(n - 1, k));
    for (var j = 0; j < n; j++) frames[j].hidden = j !== i;
    count.textContent = "step " + i + " of " + (n - 1);
    slider.value = i;
    document.getElementById("first").disabled = document.getElementById("prev").disabled = i === 0;
    document.getElementById("last").disabled = document.getElementById("next").disabled = i === n - 1;
    if (history.replaceState) history.replaceState(null, "", "#" + i);
  }}
  function play() {{
    if (timer) {{ clearInterval(timer); timer = null; document.getElementById("play").textContent = "play"; return; }}
    if (i === n - 1) show(0);
    document.getElementById("play").textContent = "pause";
    timer = setInterval(function () {{ if (i >= n - 1) play(); else show(i + 1); }}, 1200);
  }}
  document.getElementById("first").onclick = function () {{ show(0); }};
  document.getElementById("prev").onclick = function () {{ show(i - 1); }};
  document.getElementById("next").onclick = function () {{ show(i + 1); }};
  document.getElementById("last").onclick = function () {{ show(n - 1); }};
  document.getElementById("play").onclick = play;
  slider.oninput = function () {{ show(parseInt(slider.value, 10)); }};
  document.addEventListener("keydown", function (e) {{
    if (e.target && e.target.tagName === "INPUT" && e.key !== " ") return;
    if (e.key === "ArrowRight" || e.key === "PageDown") {{ show(i + 1); e.preventDefault(); }}
    else if (e.key === "ArrowLeft" || e.key === "PageUp") {{ show(i - 1); e.preventDefault(); }}
    else if (e.key === "Home") {{ show(0); e.preventDefault(); }}
    else if (e.key === "End") {{ show(n - 1); e.preventDefault(); }}
    else if (e.key === " ") {{ play(); e.preventDefault(); }}
  }});
  var start = parseInt((location.hash || "#0").slice(1), 10);
  show(isNaN(start) ? 0 : start);
}})();
</script>
<script type="application/json" id="captions">{captions_json}</script>
</body>
</html>
"""
