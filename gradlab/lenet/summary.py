"""A Keras-style model summary where every ``Param #`` shows how it is computed.

torchinfo runs the model once to find each layer's output shape and parameter count;
gradlab adds the formula for each count, checks that formula against torchinfo's number,
and gives the memory of the parameters for float16, float32 and float64.

>>> s = model_summary("lenet")
>>> s.rows[0].formula, s.total_params
('6*(1*5*5) + 6 = 156', 61706)
>>> s.memory("float32")
'241.04 KB'
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from torch import nn

from ..errors import GradlabError
from ..extras import require
from .models import Architecture, architecture, build_model

__all__ = ["SummaryRow", "ModelSummary", "model_summary", "format_kb", "DTYPE_BYTES", "NONE_EXPLAINED"]

DTYPE_BYTES = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8}

NONE_EXPLAINED = (
    "(None, 10) is the shape of the output: 'None' stands for the batch dimension, which is not fixed when the "
    "model is built (any number of images can go through it at once), and 10 is the number of class scores "
    "(logits) per image. A batch of 256 images gives an output of shape (256, 10).")


def format_kb(n_bytes: int) -> str:
    """Bytes in 1024-based units as Keras prints them: ``format_kb(246824) == '241.04 KB'``."""
    value = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.2f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


@dataclass
class SummaryRow:
    """One layer: its name and type, output shape (``None`` for the batch), parameters and their formula."""

    name: str
    type: str
    output_shape: list[int | None]
    params: int
    trainable_params: int
    non_trainable_params: int
    formula: str
    trainable: bool | None

    def shape_text(self, layout: str = "torch") -> str:
        dims = list(self.output_shape)
        if layout == "keras" and len(dims) == 4:  # N, C, H, W -> N, H, W, C
            dims = [dims[0], dims[2], dims[3], dims[1]]
        return "(" + ", ".join("None" if d is None else str(d) for d in dims) + ")"


@dataclass
class ModelSummary:
    """The table and its totals; ``str()`` prints it like Keras' ``model.summary(show_trainable=True)``."""

    name: str
    input_shape: list[int]
    rows: list[SummaryRow]
    total_params: int
    trainable_params: int
    non_trainable_params: int
    dtype: str = "float32"
    mult_adds: int = 0
    layout: str = "torch"
    notes: list[str] = field(default_factory=list)

    def memory(self, dtype: str | None = None, n: int | None = None) -> str:
        dt = dtype or self.dtype
        return format_kb((self.total_params if n is None else n) * DTYPE_BYTES[dt])

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["memory"] = {dt: {"bytes": self.total_params * b, "text": self.memory(dt)} for dt, b in DTYPE_BYTES.items()}
        d["output_shape_explained"] = NONE_EXPLAINED
        return d

    def to_json(self, **kw: Any) -> str:
        return json.dumps(self.to_dict(), **kw)

    def __str__(self) -> str:
        head = ["Layer (type)", "Output Shape", "Param #", "Trainable"]
        body = [[f"{r.name} ({r.type})", r.shape_text(self.layout), r.formula,
                 "-" if r.trainable is None else ("Y" if r.trainable else "N")] for r in self.rows]
        widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
        line = "  ".join("{:<%d}" % w for w in widths)
        total_w = sum(widths) + 2 * (len(widths) - 1)
        order = "(batch, height, width, channels) as Keras" if self.layout == "keras" else \
            "(batch, channels, height, width) as torch"
        out = [f'Model: "{self.name}"   input {"x".join(map(str, self.input_shape))} (C x H x W); shapes '
               f"are {order}", "=" * total_w, line.format(*head), "=" * total_w]
        out += [line.format(*b).rstrip() for b in body]
        b = DTYPE_BYTES[self.dtype]
        out += ["=" * total_w,
                f" Total params: {self.total_params:,} ({format_kb(self.total_params * b)})",
                f" Trainable params: {self.trainable_params:,} ({format_kb(self.trainable_params * b)})",
                f" Non-trainable params: {self.non_trainable_params:,} ({format_kb(self.non_trainable_params * b)})",
                "=" * total_w,
                f"Memory of the parameters ({self.dtype} shown above; 1 KB = 1024 bytes): "
                + ", ".join(f"{dt} ({DTYPE_BYTES[dt]} bytes each) {self.memory(dt)}" for dt in ("float16", "float32",
                                                                                                 "float64")),
                f"{self.total_params:,} x {b} bytes = {self.total_params * b:,} bytes = {self.memory()}: the number in "
                f"brackets is the parameter count times the bytes of one {self.dtype} number.",
                NONE_EXPLAINED]
        if self.mult_adds:
            out.append(f"Multiply-adds for one image: {self.mult_adds:,}.")
        out += self.notes
        return "\n".join(out)

    def _repr_html_(self) -> str:
        """Jupyter's view: the table with each ``Param #`` as its formula, the totals and their memory."""
        from ..htmltable import esc, html_table

        order = "(batch, height, width, channels)" if self.layout == "keras" else "(batch, channels, height, width)"
        rows = [[f"{r.name} ({r.type})", r.shape_text(self.layout), r.formula,
                 "-" if r.trainable is None else ("Y" if r.trainable else "N")] for r in self.rows]
        b = DTYPE_BYTES[self.dtype]
        table = html_table(["Layer (type)", "Output Shape", "Param #", "Trainable"], rows, left=(0, 1),
                           caption=f'Model: "{self.name}", input {"x".join(map(str, self.input_shape))} (C x H x W); '
                                   f"shapes {order}")
        totals = html_table(["", "params", self.dtype], [
            ["Total", f"{self.total_params:,}", format_kb(self.total_params * b)],
            ["Trainable", f"{self.trainable_params:,}", format_kb(self.trainable_params * b)],
            ["Non-trainable", f"{self.non_trainable_params:,}", format_kb(self.non_trainable_params * b)]], left=(0,))
        memory = ", ".join(f"{dt} {self.memory(dt)}" for dt in ("float16", "float32", "float64"))
        extra = f"<p>Multiply-adds for one image: {self.mult_adds:,}.</p>" if self.mult_adds else ""
        return (f'<div class="gradlab-summary">{table}{totals}<p>Memory of the parameters (1 KB = 1024 bytes): '
                f"{esc(memory)}.</p>{extra}<details><summary>what (None, ...) means</summary>"
                f"<p>{esc(NONE_EXPLAINED)}</p>{''.join(f'<p>{esc(n)}</p>' for n in self.notes)}</details></div>")


def _formula(m: nn.Module) -> tuple[str, int, int]:
    """(formula, trainable, non-trainable) for one leaf module."""
    if isinstance(m, nn.Conv2d):
        kh, kw = m.kernel_size
        cin = m.in_channels // m.groups
        w = m.out_channels * cin * kh * kw
        text = f"{m.out_channels}*({cin}*{kh}*{kw})"
        if m.bias is not None:
            text += f" + {m.out_channels}"
        n = w + (m.out_channels if m.bias is not None else 0)
        return f"{text} = {n:,}", n, 0
    if isinstance(m, nn.Linear):
        n = m.out_features * m.in_features + (m.out_features if m.bias is not None else 0)
        text = f"{m.out_features}*{m.in_features}" + (f" + {m.out_features}" if m.bias is not None else "")
        return f"{text} = {n:,}", n, 0
    if isinstance(m, nn.modules.batchnorm._BatchNorm):
        c = m.num_features
        tr = 2 * c if m.affine else 0
        nt = 2 * c if m.track_running_stats else 0
        text = (f"2*{c} = {tr}" if tr else "0") + (f" (+ 2*{c} = {nt} non-trainable: running mean and variance)"
                                                   if nt else "")
        return text, tr, nt
    n = sum(p.numel() for p in m.parameters(recurse=False))
    return (f"{n:,}" if n else "0"), n, 0


def model_summary(model: "str | Architecture | nn.Module" = "lenet", *, input_shape: tuple[int, ...] | None = None,
                  dtype: str = "float32", layout: str = "torch", name: str | None = None) -> ModelSummary:
    """The summary of a model (a variant name, spec, TOML file, :class:`Architecture` or a torch module)."""
    require("torchinfo", purpose="the model summary")
    import torchinfo

    if dtype not in DTYPE_BYTES:
        raise GradlabError(f"unknown dtype {dtype!r}; choose from {', '.join(DTYPE_BYTES)}")
    if layout not in ("torch", "keras"):
        raise GradlabError("layout must be 'torch' (N, C, H, W) or 'keras' (N, H, W, C)")
    if isinstance(model, nn.Module):
        net, label, shape = model, name or type(model).__name__, tuple(input_shape or (1, 28, 28))
    else:
        arch = architecture(model)
        net, label, shape = build_model(arch), name or arch.name, tuple(input_shape or arch.input_shape)
    stats = torchinfo.summary(net, input_size=(1, *shape), verbose=0, device="cpu",
                              col_names=("output_size", "num_params", "trainable"))
    rows: list[SummaryRow] = []
    counters: dict[str, int] = {}
    for info in stats.summary_list:
        if not info.is_leaf_layer:
            continue
        m = info.module
        kind = type(m).__name__
        idx = counters.get(kind, 0)
        counters[kind] = idx + 1
        formula, tr, nt = _formula(m)
        if tr != info.num_params and not isinstance(m, nn.modules.batchnorm._BatchNorm):
            raise AssertionError(f"formula {formula} disagrees with torchinfo's {info.num_params}")  # pragma: no cover
        trainable = None if tr == 0 and nt == 0 else all(p.requires_grad for p in m.parameters())
        rows.append(SummaryRow(f"{kind.lower()}_{idx}", kind, [None, *info.output_size[1:]], tr + nt, tr, nt,
                               formula, trainable))
    trainable_total = sum(p.numel() for p in net.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in net.parameters() if not p.requires_grad)
    buffers = sum(r.non_trainable_params for r in rows)
    notes = []
    if buffers:
        notes.append("Batch normalisation keeps a running mean and variance per channel: Keras counts them as "
                     "non-trainable params, torch stores them as buffers; both are counted here.")
    return ModelSummary(label, list(shape), rows, trainable_total + frozen + buffers, trainable_total, frozen + buffers,
                        dtype, int(stats.total_mult_adds), layout, notes)
