"""A practice page in the browser: the circuit with a box on every blank, instant feedback, hints, next step.

One self-contained HTML file (inline SVG, CSS and JavaScript; no network, no CDN) per graph or
worksheet variant. The student types a number into a box drawn over a numbered blank of the picture
and sees at once whether it is right, within the tolerance the worksheet is graded with
(``|x − key| ≤ max(atol, rtol·|key|)``, or significant figures). A wrong number that one of the
generated mistakes gives (a sign error, a missing local derivative, σ for σ') is named; any other
wrong number gets the rule that applies at that gate, a hint taken from the gate's op record
(:attr:`gradlab.ops.Op.hint`: "a multiply gate swaps its inputs ..."). "Show the next step" fills in
the next blank that is not right yet, in the picture's order (the forward values, then the
gradients as the backward pass finds them), and explains it: the gate's formula with its inputs, or
upstream gradient × local derivative. The expected values are in the page: it is practice, not an
exam.

>>> page = practice_page(practice_worksheet("f = x*y + z", at={"x": 2, "y": -3, "z": 1}))
>>> [(b.number, b.kind, b.text) for b in page.blanks][:4]
[(1, 'value', '-6.00'), (2, 'value', '-5.00'), (3, 'gradient', '1.00'), (4, 'gradient', '1.00')]
>>> from gradlab.ops import OPS
>>> page.blanks[-1].where, page.blanks[-1].hint == OPS["mul"].hint
('the wire from y into the * gate (x*y)', True)
>>> open("practice.html", "w").write(page.html())      # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..fileio import read_bytes
from ..model.graph import Graph
from ..ops import op_for
from .document import tolerance_words, where
from .mathtext import number, value_text
from .questions import VariantView, Worksheet, build_worksheet
from .spec import Part, ValueRange, WorksheetError, WorksheetSpec, load_spec, spec_from_graph
from .variants import why_not

#: The question types whose boxes a practice page shows on the picture.
PICTURE_QUESTIONS = ("forward", "backward")


@dataclass
class PracticeMistake:
    """A wrong number the page names: its value and what went wrong."""

    value: float
    message: str


@dataclass
class PracticeBlank:
    """One box of the page: a numbered blank of the picture, its answer, named mistakes, hint and step text."""

    number: int
    item: str  # the answer box's id on the sheet: "1.3"
    kind: str  # value | gradient
    where: str  # "the wire from z into a (σ)"
    answer: float
    text: str  # the answer as the key prints it
    hint: str
    step: str
    mistakes: list[PracticeMistake] = field(default_factory=list)


@dataclass
class PracticePage:
    """What a practice page shows (:meth:`html` writes it)."""

    title: str
    variant: str
    program: str
    at: dict[str, Any]
    svg: str | None  # the picture with an input box over every blank (None: no renderer, a list only)
    blanks: list[PracticeBlank]
    tolerance: dict[str, Any]  # rtol, atol, sigfigs: as grading compares numbers
    tolerance_text: str
    decimals: int

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("svg")
        return d

    def html(self) -> str:
        """The page: one self-contained HTML file."""
        return page_html(self)


def _graph_of(source: Graph | str | Path) -> Graph:
    if isinstance(source, Graph):
        return source
    from ..lang.parse import parse_program

    return parse_program(str(source))


def practice_worksheet(source: Graph | str | WorksheetSpec, *, at: Mapping[str, float] | None = None,
                       variants: int | None = None, seed: int | None = None) -> Worksheet:
    """A worksheet with forward and backward blanks for practice pages: from a spec (its own questions; it must
    ask for the picture's blanks), or from a graph or program at the point ``at`` (else at drawn variants).

    >>> ws = practice_worksheet("f = x*y + z", at={"x": 2, "y": -3, "z": 1})
    >>> [q.type for q in ws.questions], ws.variants[0].parts[0].at
    (['forward', 'backward'], {'x': 2.0, 'y': -3.0, 'z': 1.0})
    """
    if isinstance(source, WorksheetSpec):
        spec = source
        if not any(q in p.questions for p in spec.parts for q in PICTURE_QUESTIONS):
            raise WorksheetError("the worksheet asks for no blanks on a picture (questions = [\"forward\", "
                                 "\"backward\"]): a practice page has nothing to show")
    else:
        spec = spec_from_graph(_graph_of(source))
        part = spec.parts[0]
        part.questions = list(PICTURE_QUESTIONS)
        if at is not None:
            _fix_point(part, at)
    for i, p in enumerate(spec.parts):
        if p.graph.is_tensor and any(q in p.questions for q in PICTURE_QUESTIONS):
            raise WorksheetError(f"part {i + 1}: practice pages are for graphs of numbers; this graph has vectors "
                                 "or matrices")
    return build_worksheet(spec, variants=variants, seed=seed)


def _fix_point(part: Part, at: Mapping[str, float]) -> None:
    g = part.graph
    missing = [n for n in g.inputs if n not in at]
    if missing:
        raise WorksheetError(f"no value for the input '{missing[0]}' (give every input: "
                             f"{', '.join(g.inputs)})")
    extra = [n for n in at if n not in g.inputs]
    if extra:
        raise WorksheetError(f"'{extra[0]}' is not an input of the graph (its inputs: {', '.join(g.inputs)})")
    try:
        point = {n: float(at[n]) for n in g.inputs}
    except (TypeError, ValueError):
        raise WorksheetError("a practice page needs a number for every input") from None
    reason = why_not(part, point)
    if reason is not None:
        raise WorksheetError(f"this point makes no good exercise: {reason}")
    part.ranges = {n: ValueRange(fixed=x) for n, x in point.items()}


def practice_page(ws: Worksheet, v: VariantView | None = None, part: int = 0) -> PracticePage:
    """The practice page of one part of one variant (the first by default)."""
    v = v or ws.variants[0]
    p = ws.spec.parts[part]
    g = p.graph
    pv = v.parts[part]
    decimals = ws.spec.grading.decimals
    slots = {b.number: b for b in pv.pictures.blanks}
    blanks: list[PracticeBlank] = []
    for q in ws.questions:
        if q.part != part or q.type not in PICTURE_QUESTIONS:
            continue
        for it in q.items:
            if it.blank is None:
                continue
            slot = slots[it.blank]
            ans = v.answers[it.id]
            value = float(ans.value)  # type: ignore[arg-type]
            hint, step = _explain(g, pv.evaluation, slot.kind, slot.wire, decimals)
            blanks.append(PracticeBlank(it.blank, it.id, slot.kind, where(it), value, ans.text, hint, step,
                                        [PracticeMistake(float(m.value), m.message) for m in ans.mistakes
                                         if m.value is not None]))
    if not blanks:
        raise WorksheetError(f"part {part + 1} has no blanks on its picture (questions = [\"forward\", \"backward\"])")
    blanks.sort(key=lambda b: b.number)
    gr = ws.spec.grading
    svg = pv.pictures.student_svg
    title = ws.title + (f": {p.title}" if p.title and p.title != ws.title else "")
    return PracticePage(title, v.id, p.program, dict(pv.at), None if svg is None else svg_with_boxes(svg, blanks),
                        blanks, {"rtol": gr.rtol, "atol": gr.atol, "sigfigs": gr.sigfigs}, tolerance_words(ws),
                        decimals)


def _explain(graph: Graph, ev: Any, kind: str, wire: tuple[str, str | None, int], decimals: int) -> tuple[str, str]:
    """The hint (the rule that applies, from the op record) and the step's explanation with the numbers."""
    u, v, k = wire
    num = lambda x: number(float(x), decimals)  # noqa: E731
    out = graph.output
    if kind == "value":
        d = graph.attrs(u)
        op = op_for(d["op"])
        label = d.get("label") or (op.label(d.get("param")) if op else u)
        args = graph.args(u)
        form = op.table.value if op is not None and op.table is not None else (op.doc if op is not None else "")
        given = ", ".join(f"{'abcdefgh'[i]} = {_named(graph, a)}{num(ev.values[a])}" for i, a in enumerate(args))
        if d.get("param") is not None and op is not None and op.has_param:
            given += f", c = {value_text(float(d['param']))}"
        hint = f"the {label} gate computes {form} from its input{'s' * (len(args) != 1)}"
        result = f"its output {u} is" if d.get("named") else "its output is"
        return hint, f"Forward: the {label} gate computes {form} with {given}: {result} {num(ev.values[u])}."
    if v is None:
        return (f"the backward pass starts at the output: ∂{out}/∂{out} = 1",
                f"Backward: the pass starts on the output wire with ∂{out}/∂{out} = 1.")
    d = graph.attrs(v)
    op = op_for(d["op"])
    label = d.get("label") or v
    hint = op.backward_hint(d.get("param")) if op is not None else "upstream gradient × local derivative"
    up, local = float(ev.adjoints[v]), float(ev.local[(u, v, k)])
    fork = graph.nx.out_degree(v) + (v == out) > 1
    upstream = f"the gradient at the {label} gate's output is {_precise(up)}" + (
        " (the sum of the gradients on the wires leaving it)" if fork else "")
    return hint, (f"Backward: {upstream}; {hint}. The local derivative for this input is {_precise(local)}, so this "
                  f"wire gets {_precise(up)} × {_precise(local)} = {_precise(up * local)}, "
                  f"{num(up * local)} to {decimals} decimals.")


def _named(graph: Graph, node: str) -> str:
    """``z = `` for a named node or an input (the program's names), nothing for a gate of an expression."""
    d = graph.attrs(node)
    return f"{node} = " if d.get("named") or d["kind"] != "op" else ""


def _precise(x: float) -> str:
    """A number with four significant digits, so that a product shown in a step adds up: ``0.1966``, ``-2``."""
    return f"{x:.4g}".replace("-", "−")


_WIRE_GROUP = re.compile(r'(<g id="wire[^"]*" class="node">)(.*?)(</g>)', re.DOTALL)
_BLANK_TEXT = re.compile(r'<text [^>]*x="([-\d.]+)" y="([-\d.]+)"[^>]*>\((\d+)\)</text>')
_WIRE_LINE = re.compile(r'<polygon [^>]*points="([^"]+)"')


def svg_with_boxes(svg: str, blanks: list[PracticeBlank]) -> str:
    """The picture with an input box (``<foreignObject>``) over each numbered blank ``(n)``, ready to inline.

    A box is as wide as the wire's label (at least 46 units) and sits where the blank's marker is;
    a blank the picture does not show is left to the list below the picture.
    """
    wanted = {b.number: b for b in blanks}

    def group(m: re.Match[str]) -> str:
        body = m.group(2)
        line = _WIRE_LINE.search(body)
        xs = [float(p.split(",")[0]) for p in line.group(1).split()] if line else []
        boxes = []
        hidden = body
        for t in _BLANK_TEXT.finditer(body):
            n = int(t.group(3))
            if n not in wanted:
                continue
            x, y = float(t.group(1)), float(t.group(2))
            left, right = (min(xs), max(xs)) if xs else (x - 4, x + 40)
            width = max(right - left, 46.0)
            cx = (left + right) / 2
            b = wanted[n]
            top = y - (13.5 if b.kind == "value" else 10.5)  # clear of the wire: values above it, gradients below
            boxes.append(f'<foreignObject x="{cx - width / 2:.1f}" y="{top:.1f}" width="{width:.1f}" height="17">'
                         f'<input xmlns="http://www.w3.org/1999/xhtml" class="box {b.kind}" id="box-{n}" '
                         f'data-blank="{n}" inputmode="decimal" autocomplete="off" spellcheck="false" '
                         f'placeholder="({n})" aria-label="blank ({n}), {html.escape(b.kind)} on '
                         f'{html.escape(b.where)}"/></foreignObject>')
            hidden = hidden.replace(t.group(0), t.group(0).replace("<text ", '<text visibility="hidden" ', 1))
        return m.group(1) + hidden + "".join(boxes) + m.group(3)

    body = svg[svg.index("<svg"):] if "<svg" in svg else svg
    body = re.sub(r"<!--.*?-->", "", body, flags=re.DOTALL)
    body = re.sub(r'<svg width="[^"]*" height="[^"]*"', '<svg class="circuit"', body, count=1)
    return _WIRE_GROUP.sub(group, body)


def _json_for_script(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/").replace("<!--", "<\\!--")


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:1.2rem auto;max-width:70rem;
padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.35rem;margin:.2rem 0}
.meta{color:#555;margin:.2rem 0 .6rem}
pre{background:#f6f6f6;padding:.4rem .6rem;border-radius:4px;display:inline-block;margin:.2rem 0}
svg.circuit{width:100%;max-width:62rem;height:auto;display:block;margin:.4rem 0}
input.box{display:block;margin:0;box-sizing:border-box;width:100%;height:100%;font:bold 11px "DejaVu Sans",sans-serif;text-align:center;
padding:0 1px;border:1.5px solid #888;border-radius:3px;background:#fffef5}
input.box.value{color:#2e7d32}
input.box.gradient{color:#c62828}
input.box.right{border-color:#2e7d32;background:#e8f5e9}
input.box.wrong{border-color:#c62828;background:#ffebee}
input.box.shown{border-color:#1565c0;background:#e3f2fd}
.controls{margin:.6rem 0;display:flex;gap:.6rem;align-items:center;flex-wrap:wrap}
button{font:inherit;padding:.3rem .8rem;border-radius:4px;border:1px solid #1565c0;background:#1565c0;color:#fff;
cursor:pointer}
button.quiet{background:#fff;color:#1565c0}
#feedback{min-height:1.3rem;margin:.2rem 0;font-size:1rem}
#step{border-left:4px solid #1565c0;background:#f3f8fd;padding:.4rem .7rem;margin:.4rem 0;min-height:1.4rem}
#score{font-weight:bold}
ol.blanks{padding-left:0;list-style:none;columns:2 28rem}
ol.blanks li{break-inside:avoid;margin:.15rem 0 .45rem}
ol.blanks label{font-weight:bold}
ol.blanks input{font:inherit;width:6.5rem;margin:0 .3rem}
.fb{display:block;font-size:.92rem}
.fb.right{color:#2e7d32}.fb.wrong{color:#c62828}.fb.shown{color:#1565c0}.fb.info{color:#555}
.hint{display:block;font-size:.92rem;color:#6d4c00}
"""

_JS = r"""
(function(){
"use strict";
var data = JSON.parse(document.getElementById("practice-data").textContent);
var tol = data.tolerance, byNumber = {}, state = {};
data.blanks.forEach(function(b){ byNumber[b.number] = b; state[b.number] = ""; });
function parse(text){
  var s = String(text).trim().replace(/^(~|≈|approx\.?|about|ca\.)\s*/i, "");
  s = s.replace(/[\u2212\u2013\u2014\ufe63\uff0d]/g, "-").replace(/\s+/g, "");
  if (/^[+-]?(\d+,\d*|,\d+)$/.test(s)) s = s.replace(",", ".");
  var plain = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?$/;
  if (plain.test(s)) return parseFloat(s);
  var f = /^([+-]?\d+(\.\d*)?)\/([+-]?\d+(\.\d*)?)$/.exec(s);
  if (f && parseFloat(f[3]) !== 0) return parseFloat(f[1]) / parseFloat(f[3]);
  return NaN;
}
function matches(x, key, t){
  if (!isFinite(x) || !isFinite(key)) return false;
  if (t.sigfigs){
    if (key === 0) return Math.abs(x) <= Math.max(t.atol, Math.pow(10, -t.sigfigs));
    var e = Math.floor(Math.log10(Math.abs(key)));
    return Math.abs(x - key) <= 0.5 * Math.pow(10, e - t.sigfigs + 1) * (1 + 1e-9) + 1e-15;
  }
  return Math.abs(x - key) <= Math.max(t.atol, t.rtol * Math.abs(key)) * (1 + 1e-9) + 1e-15;
}
function verdict(b, text){
  if (!String(text).trim()) return {status: "", message: ""};
  var x = parse(text);
  if (isNaN(x)) return {status: "wrong", message: "Type a number such as -0.25 (a decimal point or comma; 3/4 works too)."};
  if (matches(x, b.answer, tol)) return {status: "right", message: "Right (graded within " + data.tolerance_text + ")."};
  for (var i = 0; i < b.mistakes.length; i++){
    var m = b.mistakes[i];
    if (matches(x, m.value, tol) && !matches(m.value, b.answer, tol))
      return {status: "wrong", message: "Not right: " + m.message + ".", hint: true};
  }
  var loose = {rtol: tol.rtol * 5, atol: tol.atol * 5, sigfigs: tol.sigfigs && tol.sigfigs > 1 ? tol.sigfigs - 1 : null};
  if (matches(x, b.answer, loose)) return {status: "wrong", message: "Close, but not within " + data.tolerance_text +
      ": check the rounding (keep more digits until the end)."};
  return {status: "wrong", message: "Not right.", hint: true};
}
function boxes(n){ return document.querySelectorAll('[data-blank="' + n + '"]'); }
function show(n, text, from){
  var b = byNumber[n], v = state[n] === "shown" ? {status: "shown", message: "Shown by \u201cnext step\u201d."} : verdict(b, text);
  boxes(n).forEach(function(el){
    if (el !== from) el.value = text;
    el.classList.remove("right", "wrong", "shown");
    if (v.status) el.classList.add(v.status);
    el.setAttribute("aria-invalid", v.status === "wrong" ? "true" : "false");
  });
  var fb = document.getElementById("fb-" + n), hint = document.getElementById("hint-" + n);
  fb.className = "fb " + v.status; fb.textContent = v.message;
  hint.textContent = v.hint ? "Hint: " + b.hint + "." : "";
  boxes(n).forEach(function(el){ el.title = v.message + (v.hint ? " Hint: " + b.hint + "." : ""); });
  if (from){
    var last = document.getElementById("feedback");
    last.className = "fb " + v.status;
    last.textContent = v.message ? "(" + n + ") " + v.message + (v.hint ? " Hint: " + b.hint + "." : "") : "";
  }
  if (state[n] !== "shown") state[n] = v.status;
  score();
}
function score(){
  var done = 0, total = data.blanks.length;
  data.blanks.forEach(function(b){ if (state[b.number] === "right") done++; });
  var shown = data.blanks.filter(function(b){ return state[b.number] === "shown"; }).length;
  document.getElementById("score").textContent = done + " of " + total + " right" + (shown ? ", " + shown + " shown" : "");
}
document.querySelectorAll("[data-blank]").forEach(function(el){
  el.addEventListener("input", function(){
    var n = +el.getAttribute("data-blank");
    if (state[n] === "shown") state[n] = "";
    show(n, el.value, el);
  });
});
document.getElementById("next").addEventListener("click", function(){
  var next = null;
  for (var i = 0; i < data.blanks.length; i++){
    var s = state[data.blanks[i].number];
    if (s !== "right" && s !== "shown"){ next = data.blanks[i]; break; }
  }
  var box = document.getElementById("step");
  if (!next){ box.textContent = "Every blank is filled in: the backward pass is complete."; return; }
  state[next.number] = "shown";
  show(next.number, next.text, null);
  box.textContent = "(" + next.number + ") " + next.step;
  box.setAttribute("data-blank-shown", String(next.number));
});
document.getElementById("reset").addEventListener("click", function(){
  data.blanks.forEach(function(b){ state[b.number] = ""; show(b.number, "", null); });
  var box = document.getElementById("step");
  box.textContent = "Fill in the blanks, or press \u201cShow the next step\u201d."; box.removeAttribute("data-blank-shown");
  document.getElementById("feedback").textContent = "";
});
score();
})();
"""


def page_html(page: PracticePage) -> str:
    """A practice page as one self-contained HTML file (see the module docstring)."""
    e = html.escape
    point = ", ".join(f"{n} = {value_text(x)}" for n, x in page.at.items())
    rows = []
    for b in page.blanks:
        what = "value" if b.kind == "value" else "gradient"
        rows.append(f'<li id="row-{b.number}"><label for="list-{b.number}">({b.number})</label> {what} on '
                    f'{e(b.where)} <input id="list-{b.number}" data-blank="{b.number}" inputmode="decimal" '
                    f'autocomplete="off" spellcheck="false" aria-describedby="fb-{b.number} hint-{b.number}">'
                    f'<span class="fb" id="fb-{b.number}" role="status"></span>'
                    f'<span class="hint" id="hint-{b.number}"></span></li>')
    picture = page.svg if page.svg is not None else (
        '<p class="meta">(The picture needs gradlab\'s renderer and Graphviz; the blanks are listed below.)</p>')
    data = {"title": page.title, "variant": page.variant, "tolerance": page.tolerance,
            "tolerance_text": page.tolerance_text,
            "blanks": [{"number": b.number, "item": b.item, "kind": b.kind, "answer": b.answer, "text": b.text,
                        "hint": b.hint, "step": b.step, "mistakes": [asdict(m) for m in b.mistakes]}
                       for b in page.blanks]}
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Practice: {e(page.title)}, variant {e(page.variant)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>Practice: {e(page.title)}</h1>
<p class="meta">Variant {e(page.variant)}. Type the value or the gradient into each numbered box; numbers to
{page.decimals} decimals, right within {e(page.tolerance_text)}.</p>
<pre>{e(page.program)}</pre>
<p class="meta">At {e(point)}.</p>
{picture}
<div class="controls"><button id="next" type="button">Show the next step</button>
<button id="reset" class="quiet" type="button">Start again</button> <span id="score" aria-live="polite"></span></div>
<div id="feedback" class="fb" aria-live="polite"></div>
<div id="step" aria-live="polite">Fill in the blanks, or press “Show the next step”.</div>
<ol class="blanks">
{chr(10).join(rows)}
</ol>
<script type="application/json" id="practice-data">{_json_for_script(data)}</script>
<script>{_JS}</script>
</body>
</html>
"""


def practice_pages(ws: Worksheet) -> dict[str, str]:
    """Every variant's practice page (each part with blanks), by file name: ``practice-07.html``
    (``practice-07-part2.html`` for a second part)."""
    out: dict[str, str] = {}
    parts = [i for i, p in enumerate(ws.spec.parts) if any(q in p.questions for q in PICTURE_QUESTIONS)]
    for v in ws.variants:
        for i in parts:
            suffix = "" if i == parts[0] else f"-part{i + 1}"
            out[f"practice-{v.id}{suffix}.html"] = practice_page(ws, v, i).html()
    return out


def load_practice_source(path: str | Path) -> tuple[WorksheetSpec | Graph, dict[str, float] | None]:
    """A worksheet spec, or a graph file's graph and its ``[at]`` point (None when it has none)."""
    from ..check.graphfile import load_graph_file

    spec = load_spec(path)  # a spec or a graph file, every mistake named with the file and line
    if not _is_graph_file(path):
        return spec, None
    gf = load_graph_file(path)
    if gf.graph.is_tensor:
        raise WorksheetError(f"{path}: practice pages are for graphs of numbers; this graph has vectors or matrices")
    return gf.graph, ({n: float(x) for n, x in gf.at.items()} if gf.at else None)


def _is_graph_file(path: str | Path) -> bool:
    """A graph file (a ``program``, no ``[[part]]``), as :func:`load_spec` tells them apart."""
    from .spec import tomllib

    data = tomllib.loads(read_bytes(Path(path), "worksheet spec", error=WorksheetError).decode("utf-8", "replace")
                         .removeprefix("\ufeff"))
    return "part" not in data and "program" in data


__all__ = ["PracticePage", "PracticeBlank", "PracticeMistake", "practice_worksheet", "practice_page",
           "practice_pages", "page_html", "svg_with_boxes", "load_practice_source", "PICTURE_QUESTIONS"]
