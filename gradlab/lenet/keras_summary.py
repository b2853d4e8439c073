"""Keras's own ``model.summary``, captured, and explained row by row (sheet 2, task 2).

The table is the one Keras prints for ``model.summary(line_length=80, expand_nested=True,
show_trainable=True)`` (captured through ``print_fn``, not imitated). gradlab adds, for every row,
how its ``Param #`` comes from the layer's weights (checked against Keras's count), why the memory
in brackets means float32, what ``(None, 10)`` means, and what each of the three arguments
changes, measured on this model.

>>> s = keras_summary("lenet")                       # doctest: +SKIP
>>> s.total_params, s.total_memory                   # doctest: +SKIP
(61706, '241.04 KB')
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..fileio import path_kind
from .keras_env import import_keras
from .summary import DTYPE_BYTES, format_kb

__all__ = ["KerasRow", "KerasSummary", "keras_summary", "keras_model_for", "capture_summary"]


@dataclass
class KerasRow:
    """One row of Keras's table: the layer, its depth (1 inside a nested model), its parameters and how they
    are counted."""

    name: str
    type: str
    depth: int
    output_shape: str
    params: int
    trainable_params: int
    non_trainable_params: int
    formula: str
    why: str
    trainable: str  # Y, N or - (no weights), as Keras's Trainable column


@dataclass
class KerasSummary:
    """Keras's summary text and gradlab's explanation of it; ``str()`` prints both."""

    name: str
    text: str
    rows: list[KerasRow]
    total_params: int
    trainable_params: int
    non_trainable_params: int
    total_memory: str
    dtypes: list[str]
    arguments: dict[str, Any]
    explanations: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, **kw: Any) -> str:
        return json.dumps(self.to_dict(), **kw)

    def explanation(self) -> str:
        """gradlab's part: the rows, then the memory, the output shape and the three arguments."""
        out = ["How each Param # is computed (from the layer's weights; each sum checked against Keras's count):"]
        w = max((len("  " * r.depth + r.name) for r in self.rows), default=4)
        for r in self.rows:
            out.append(f"  {'  ' * r.depth + r.name:<{w}}  {r.formula}")
            if r.why:
                out.append(f"  {'':<{w}}    {r.why}")
        out += ["", "Memory in brackets: " + self.explanations["memory"], "",
                "Output shape: " + self.explanations["output"], "",
                "The three arguments of model.summary:"]
        out += [f"  {k}: {self.explanations[k]}" for k in ("line_length", "expand_nested", "show_trainable")]
        out += self.notes
        return "\n".join(out)

    def __str__(self) -> str:
        return self.text.rstrip("\n") + "\n\n" + self.explanation()

    def _repr_html_(self) -> str:
        """Jupyter's view: Keras's table as Keras prints it, then the explanation as a table."""
        from ..htmltable import esc, html_table

        rows = [["\u00a0\u00a0" * r.depth + r.name, r.type, r.output_shape, r.formula, r.why] for r in self.rows]
        table = html_table(["layer", "type", "output shape", "Param #", "why"], rows, left=(0, 1, 2, 3, 4),
                           caption=f'Model "{self.name}": how each Param # is computed')
        parts = "".join(f"<p><b>{esc(k)}</b>: {esc(self.explanations[k])}</p>"
                        for k in ("memory", "output", "line_length", "expand_nested", "show_trainable"))
        return f'<div class="gradlab-summary"><pre>{esc(self.text)}</pre>{table}{parts}</div>'


def capture_summary(model: Any, *, line_length: int = 80, expand_nested: bool = True,
                    show_trainable: bool = True) -> str:
    """The text of Keras's ``model.summary(...)``, exactly as Keras makes it."""
    lines: list[str] = []
    model.summary(line_length=line_length, expand_nested=expand_nested, show_trainable=show_trainable,
                  print_fn=lambda s, line_break=True: lines.append(s))
    return "\n".join(lines)


def keras_model_for(model: Any) -> Any:
    """A Keras model from a model, a ``.keras`` file (or a run folder holding ``model.keras``), or an
    architecture (a variant name, spec or TOML file)."""
    keras = import_keras()
    if isinstance(model, keras.Model):
        return model
    text = str(model)
    if text.endswith(".keras") or (path_kind(text) == "folder" and path_kind(Path(text) / "model.keras")):
        from .keras_persist import load_keras_file

        return load_keras_file(text)
    from .keras_models import build_keras_model

    return build_keras_model(model, seed=0)


def _n(shape: Any) -> int:
    return math.prod(int(d) for d in shape)


def _shape(layer: Any) -> str:
    try:
        return "(" + ", ".join("None" if d is None else str(d) for d in layer.output.shape) + ")"
    except (AttributeError, ValueError):
        return "?"


def _formula(layer: Any, keras: Any) -> tuple[str, str, int, int]:
    """(formula, why, trainable, non-trainable) from the layer's own weights."""
    ws = list(layer.weights)
    tr = sum(_n(w.shape) for w in ws if w.trainable)
    nt = sum(_n(w.shape) for w in ws if not w.trainable)
    n = tr + nt
    named = {w.path.rsplit("/", 1)[-1]: tuple(int(d) for d in w.shape) for w in ws}
    L = keras.layers
    if not ws:
        return "0", "no weights: it computes from its input only, nothing is learned", 0, 0
    if isinstance(layer, L.Conv2D) and "kernel" in named:
        kh, kw, cin, f = named["kernel"]
        text = f"{f}*({kh}*{kw}*{cin})" + (f" + {f}" if "bias" in named else "") + f" = {n:,}"
        why = (f"{f} filters, each a {kh}x{kw} kernel over {cin} input channel{'s' * (cin > 1)}"
               + (f", plus one bias per filter ({f})" if "bias" in named else ""))
        return text, why, tr, nt
    if isinstance(layer, L.Dense) and "kernel" in named and len(named["kernel"]) == 2:
        nin, units = named["kernel"]
        text = f"{nin}*{units}" + (f" + {units}" if "bias" in named else "") + f" = {n:,}"
        why = (f"one weight for each of the {nin:,} inputs and {units:,} units"
               + (f", plus one bias per unit ({units:,})" if "bias" in named else ""))
        return text, why, tr, nt
    if isinstance(layer, L.BatchNormalization):
        c = next(iter(named.values()))[0]
        parts = [k for k in ("gamma", "beta", "moving_mean", "moving_variance") if k in named]
        text = f"{len(parts)}*{c} = {n:,}"
        why = (f"per channel ({c}): {' and '.join(k for k in parts if k in ('gamma', 'beta'))} (scale and shift, "
               f"trainable: {tr:,}); moving_mean and moving_variance (statistics kept for inference, "
               f"non-trainable: {nt:,})")
        return text, why, tr, nt
    pieces = [f"{k} {'*'.join(map(str, s)) or '1'}" for k, s in named.items()]
    return " + ".join(pieces) + f" = {n:,}", "the sizes of its weights", tr, nt


def _rows(model: Any, keras: Any, depth: int, expand: bool) -> list[KerasRow]:
    rows: list[KerasRow] = []
    for layer in model.layers:
        kind = type(layer).__name__
        if isinstance(layer, keras.Model):
            inner = _rows(layer, keras, depth + 1, expand)
            tr = sum(_n(w.shape) for w in layer.trainable_weights)
            nt = sum(_n(w.shape) for w in layer.non_trainable_weights)
            direct = [r for r in inner if r.depth == depth + 1]
            formula = " + ".join(f"{r.params:,}" for r in direct) + f" = {tr + nt:,}" if direct else "0"
            rows.append(KerasRow(layer.name, kind, depth, _shape(layer), tr + nt, tr, nt, formula,
                                 f"a nested model: the sum of its {len(direct)} layers", "Y" if layer.trainable
                                 and (tr + nt) else ("N" if tr + nt else "-")))
            if expand:
                rows += inner
            continue
        formula, why, tr, nt = _formula(layer, keras)
        if layer.built and layer.count_params() != tr + nt:  # pragma: no cover - a layer Keras counts otherwise
            why += f" (Keras counts {layer.count_params():,})"
        rows.append(KerasRow(layer.name, kind, depth, _shape(layer), tr + nt, tr, nt, formula, why,
                             "-" if not layer.weights else ("Y" if layer.trainable else "N")))
    return rows


_FOOT = re.compile(r"^\s*(Total|Trainable|Non-trainable) params: ([\d,]+) \(([^)]*)\)", re.M)


def keras_summary(model: Any = "lenet", *, line_length: int = 80, expand_nested: bool = True,
                  show_trainable: bool = True) -> KerasSummary:
    """Keras's summary of ``model`` (see :func:`keras_model_for`) and gradlab's explanation of it."""
    keras = import_keras()
    net = keras_model_for(model)
    text = capture_summary(net, line_length=line_length, expand_nested=expand_nested, show_trainable=show_trainable)
    rows = _rows(net, keras, 0, True)
    top = [r for r in rows if r.depth == 0]
    tr = sum(_n(w.shape) for w in net.trainable_weights)
    nt = sum(_n(w.shape) for w in net.non_trainable_weights)
    foot = {m.group(1): (int(m.group(2).replace(",", "")), m.group(3)) for m in _FOOT.finditer(text)}
    notes = []
    if foot.get("Total", (tr + nt, ""))[0] != tr + nt or sum(r.params for r in top) != tr + nt:
        notes.append(f"Note: the rows add up to {sum(r.params for r in top):,}, Keras's total is "
                     f"{foot.get('Total', ('?', ''))[0]:,}: weights outside the layers (for example shared "
                     "layers) count once.")
    dtypes = sorted({str(w.dtype) for w in net.weights})
    n_bytes = sum(_n(w.shape) * DTYPE_BYTES.get(str(w.dtype), 4) for w in net.weights)
    total_memory = foot.get("Total", (0, format_kb(n_bytes)))[1]
    total = tr + nt
    if dtypes == ["float32"]:
        memory = (f"{total:,} parameters x 4 bytes = {n_bytes:,} bytes = {n_bytes / 1024:,.2f} KB (Keras counts "
                  f"1 KB = 1024 bytes), the {total_memory} in brackets. 4 bytes per number means 32-bit floating point numbers, "
                  f"float32 (the dtype of every weight here). The same parameters would take "
                  f"{format_kb(2 * total)} as float16 and {format_kb(8 * total)} as float64. Trainable and "
                  "non-trainable params are counted the same way.")
    else:
        memory = (f"{n_bytes:,} bytes = {format_kb(n_bytes)}: each weight counts the bytes of its dtype "
                  f"({', '.join(dtypes)}).")
    last = top[-1].output_shape if top else "?"
    m = re.fullmatch(r"\(None, (\d+)\)", last)
    output = (f"{last} is the shape of the model's output. None is the batch dimension: it is not fixed when the "
              "model is built, so any number of images can go through at once (a batch of 256 gives "
              f"(256, {m.group(1) if m else '...'})). " if last.startswith("(None") else f"{last}: the output. ")
    if m:
        output += f"{m.group(1)} is the number of scores per image, one per class. "
    image = next((r for r in rows if re.fullmatch(r"\(None, \d+, \d+, \d+\)", r.output_shape)), None)
    if image is not None:
        h, w, c = re.findall(r"\d+", image.output_shape)
        output += (f"Image rows are channels last, as Keras stores images: (None, height, width, channels); "
                   f"{image.output_shape} ({image.name}) is {c} feature map{'s' * (c != '1')} of {h}x{w}. torch "
                   "orders them (None, channels, height, width).")
    explanations = {"memory": memory, "output": output, **_arguments(net, text, rows, line_length, expand_nested,
                                                                      show_trainable)}
    return KerasSummary(net.name, text, rows, total, tr, nt, total_memory, dtypes,
                        {"line_length": line_length, "expand_nested": expand_nested, "show_trainable": show_trainable},
                        explanations, notes)


def _arguments(net: Any, text: str, rows: list[KerasRow], line_length: int, expand_nested: bool,
               show_trainable: bool) -> dict[str, str]:
    """What each argument changes, measured on this model's table."""
    table = [ln for ln in text.splitlines() if ln[:1] in "┏┃┡│├└"]
    width = max((len(ln) for ln in table), default=0)
    cells = [ln.strip("│").split("│") for ln in table if ln.startswith("│")]
    wrapped = sum(1 for c in cells if len(c) > 1 and c[0].strip() and not any(x.strip() for x in c[1:]))
    cut = "…" in "".join(ln for ln in table if ln.startswith("┃"))
    ll = (f"the width of the table in characters: {width} here. Keras shares it among the columns; text that does "
          f"not fit wraps onto a second line ({wrapped} row{'s' * (wrapped != 1)} here"
          f"{', e.g. the (AveragePooling2D) type' if 'AveragePooling2D)' in text and wrapped else ''})"
          + (", and a header that does not fit is cut with … (Trai… is Trainable)" if cut else "")
          + ". It changes only the layout, never a number.")
    nested = [r for r in rows if r.why.startswith("a nested model")]
    top = sum(1 for r in rows if r.depth == 0)
    if nested:
        en = (f"{'True' if expand_nested else 'False'}: this model holds {len(nested)} nested model"
              f"{'s' * (len(nested) > 1)} ({', '.join(r.name for r in nested)}). expand_nested=True lists their "
              f"layers too, indented with └ under their model: {len(rows)} rows; expand_nested=False shows each "
              f"nested model as one row with its total: {top} rows. The totals are the same.")
    else:
        en = ("this model has no nested model (no Sequential or Model used as a layer), so expand_nested changes "
              "nothing here; with one, True lists the nested model's layers indented with └ under it, False shows "
              "the nested model as one row with its total.")
    frozen = [r.name for r in rows if r.trainable == "N"]
    st = ("adds the Trainable column: Y for a layer whose weights training updates, N for a frozen one "
          "(layer.trainable = False), - for a layer without weights. "
          + (f"Frozen here: {', '.join(frozen)} (their params count as non-trainable). " if frozen else
             "No layer is frozen here. ")
          + "Without it the column is gone and the others get its width.")
    return {"line_length": ll, "expand_nested": en, "show_trainable": st}
