"""Network shapes and parameter counts: dense networks from layer widths, conv/pool stacks.

Pure functions over plain data; nothing here needs torch. Two entry points:

* :func:`dense_network` -- a fully connected network from its widths (``"8-4-4-4-2"``):
  the shapes of every ``A_i`` and ``b_i`` (column vectors, ``y = A x + b``), parameter
  counts, the expanded composition for identity activations (text, LaTeX, SymPy) and its
  collapse into one affine map, with operation counts.
* :func:`conv_shapes` -- a stack of conv2d / pooling / flatten / dense / activation layers
  (a spec string, a TOML file, or a list of dicts or layer objects): output size with its
  formula, receptive field (size and jump), parameters with their formula, totals and
  float32 memory.

Image shapes are written ``H x W x C`` (height, width, channels), as in the exercise
sheets and in Keras; torch stores the same tensor as ``C x H x W``.

>>> t = conv_shapes("input 32x32x5 | conv 1@5x5")
>>> t.rows[-1].output, t.rows[-1].params, t.total_params
('28x28x1', 126, 126)
>>> conv_shapes(lenet5()).total_params
61706
>>> net = dense_network("8-4-4-4-2")
>>> [layer.weight_shape for layer in net.layers]
[(4, 8), (4, 4), (4, 4), (2, 4)]
>>> net.total_params
86
"""

from __future__ import annotations

import json
import math
import re
import sys
import textwrap
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence, Union

from ..errors import ShapeError
from ..fileio import read_text

__all__ = [
    "Input", "Conv2d", "Pool2d", "Flatten", "Dense", "Activation", "Layer",
    "LayerShape", "ShapeTable", "DenseLayer", "DenseNetwork", "Cost",
    "conv_output_size", "receptive_field", "parse_widths", "dense_network",
    "parse_spec", "load_spec", "conv_shapes", "lenet5", "PRESETS", "format_bytes",
]

BYTES_PER_FLOAT32 = 4
ACTIVATIONS = ("relu", "tanh", "sigmoid", "softmax", "leaky_relu", "gelu", "elu", "identity")


# --------------------------------------------------------------------------------------
# small helpers


def format_bytes(n: int) -> str:
    """``n`` bytes in 1024-based units: ``format_bytes(246824) == '241.04 KiB'``."""
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            return f"{value:.2f} {unit}"
    raise AssertionError("unreachable")


def _pair(value: Any, what: str) -> tuple[int, int]:
    """An int, ``"5"``, ``"5x3"``, or a pair, as ``(h, w)``."""
    if isinstance(value, str):
        parts = [p for p in re.split(r"[x×,]", value.strip()) if p]
        try:
            nums = [int(p) for p in parts]
        except ValueError:
            raise ShapeError(f"{what} must be a number or HxW, got {value!r}") from None
        value = nums
    if isinstance(value, bool):
        raise ShapeError(f"{what} must be a number, got {value!r}")
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], int):
        return (value[0], value[0])
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return (int(value[0]), int(value[1]))
    raise ShapeError(f"{what} must be a number or a pair HxW, got {value!r}")


def _hw(pair: tuple[int, int]) -> str:
    return f"{pair[0]}x{pair[1]}"


def _short(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else _hw(pair)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(str(s) for s in shape)


# --------------------------------------------------------------------------------------
# layer specs


@dataclass(frozen=True)
class Input:
    """The input: ``(H, W, C)`` for an image or ``(n,)`` for a vector."""

    shape: tuple[int, ...]

    def __post_init__(self) -> None:
        shape = tuple(int(s) for s in self.shape)
        if len(shape) == 2:
            shape = shape + (1,)
        if len(shape) not in (1, 3) or any(s <= 0 for s in shape):
            raise ShapeError(f"the input must be HxWxC, HxW or a vector size n with positive sizes, "
                             f"got {_shape_text(shape) or 'nothing'}")
        object.__setattr__(self, "shape", shape)

    def describe(self) -> str:
        return f"input {_shape_text(self.shape)}"


@dataclass(frozen=True)
class Conv2d:
    """A 2-D convolution with ``filters`` output channels.

    ``padding`` is a number, a pair, ``"valid"`` (0) or ``"same"`` (output ``ceil(n/stride)``,
    as in Keras/TensorFlow; with stride 1 this is torch's ``padding="same"``).
    ``depth``, if given, is the kernel's third size (a "5x5x5 kernel"); it must equal the
    input channels divided by ``groups``.
    """

    filters: int
    kernel: tuple[int, int] = (3, 3)
    stride: tuple[int, int] = (1, 1)
    padding: Union[tuple[int, int], str] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    bias: bool = True
    depth: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kernel", _pair(self.kernel, "kernel"))
        object.__setattr__(self, "stride", _pair(self.stride, "stride"))
        object.__setattr__(self, "dilation", _pair(self.dilation, "dilation"))
        object.__setattr__(self, "padding", _padding(self.padding))

    def describe(self) -> str:
        text = f"conv {self.filters}@{_hw(self.kernel)}"
        if self.depth is not None:
            text += f"x{self.depth}"
        return text + _extras(self.stride, self.padding, self.dilation, self.groups, self.bias)

    def label(self) -> str:
        """How errors name the layer: ``conv 5x5, stride 1``."""
        text = f"conv {_hw(self.kernel)}, stride {_short(self.stride)}"
        if self.padding not in ((0, 0), "valid"):
            text += f", padding {self.padding if isinstance(self.padding, str) else _short(self.padding)}"
        if self.dilation != (1, 1):
            text += f", dilation {_short(self.dilation)}"
        return text


@dataclass(frozen=True)
class Pool2d:
    """Max or average pooling; ``stride`` defaults to the kernel size."""

    mode: str = "max"
    kernel: tuple[int, int] = (2, 2)
    stride: tuple[int, int] | None = None
    padding: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        mode = {"maxpool": "max", "avgpool": "avg", "average": "avg", "mean": "avg"}.get(self.mode, self.mode)
        if mode not in ("max", "avg"):
            raise ShapeError(f"pooling must be 'max' or 'avg', got {self.mode!r}")
        object.__setattr__(self, "mode", mode)
        object.__setattr__(self, "kernel", _pair(self.kernel, "pool size"))
        object.__setattr__(self, "stride", self.kernel if self.stride is None else _pair(self.stride, "stride"))
        pad = _padding(self.padding)
        if pad == "same":
            raise ShapeError("pooling padding must be a number here, not 'same'")
        if pad == "valid":
            pad = (0, 0)
        object.__setattr__(self, "padding", pad)

    def describe(self) -> str:
        assert self.stride is not None  # __post_init__ fills it in
        text = f"{self.mode}pool {_short(self.kernel)}"
        if self.stride != self.kernel:
            text += f" stride={_short(self.stride)}"
        if self.padding != (0, 0):
            text += f" pad={_short(self.padding)}"
        return text

    def label(self) -> str:
        assert self.stride is not None  # __post_init__ fills it in
        text = f"{self.mode}pool {_hw(self.kernel)}, stride {_short(self.stride)}"
        if self.padding != (0, 0):
            text += f", padding {_short(self.padding)}"
        return text


@dataclass(frozen=True)
class Flatten:
    """``H x W x C`` to a vector of ``H*W*C`` numbers (no parameters)."""

    def describe(self) -> str:
        return "flatten"

    label = describe


@dataclass(frozen=True)
class Dense:
    """A fully connected layer ``y = A x + b`` with ``units`` outputs."""

    units: int
    bias: bool = True

    def describe(self) -> str:
        return f"dense {self.units}" + ("" if self.bias else " bias=false")

    def label(self) -> str:
        return f"dense {self.units}"


@dataclass(frozen=True)
class Activation:
    """An elementwise function (relu, tanh, sigmoid, ...): same shape, no parameters."""

    name: str = "relu"

    def describe(self) -> str:
        return self.name

    label = describe


Layer = Union[Input, Conv2d, Pool2d, Flatten, Dense, Activation]


def _padding(value: Any) -> Union[tuple[int, int], str]:
    if isinstance(value, str) and value.strip().lower() in ("same", "valid"):
        return value.strip().lower()
    return _pair(value, "padding")


def _extras(stride, padding, dilation, groups, bias) -> str:
    parts = []
    if stride != (1, 1):
        parts.append(f"stride={_short(stride)}")
    if padding not in ((0, 0), "valid"):
        parts.append(f"pad={padding if isinstance(padding, str) else _short(padding)}")
    if dilation != (1, 1):
        parts.append(f"dilation={_short(dilation)}")
    if groups != 1:
        parts.append(f"groups={groups}")
    if not bias:
        parts.append("bias=false")
    return (" " + " ".join(parts)) if parts else ""


# --------------------------------------------------------------------------------------
# formulas


def conv_output_size(n: int, kernel: int, stride: int = 1, padding: int | str = 0, dilation: int = 1) -> int:
    """Output length along one axis: ``floor((n + 2p - d(k-1) - 1)/s) + 1``.

    ``padding="same"`` gives ``ceil(n/s)`` (Keras/TensorFlow); ``"valid"`` is 0.
    Raises :class:`ShapeError` when the (dilated) kernel does not fit in the padded input.

    >>> conv_output_size(32, 5)
    28
    >>> conv_output_size(28, 5, padding=2)
    28
    """
    if n <= 0 or kernel <= 0 or stride <= 0 or dilation <= 0:
        raise ShapeError(f"sizes must be positive: input {n}, kernel {kernel}, stride {stride}, dilation {dilation}")
    if padding == "same":
        return -(-n // stride)
    if padding == "valid":
        padding = 0
    if not isinstance(padding, int) or padding < 0:
        raise ShapeError(f"padding must be 'same', 'valid' or a number >= 0, got {padding!r}")
    span = dilation * (kernel - 1) + 1
    if n + 2 * padding < span:
        raise ShapeError(f"the input {n} (padded: {n + 2 * padding}) is smaller than the kernel span {span}")
    return (n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def receptive_field(layers: Sequence[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """``(r, j)`` after each of ``layers`` given as ``(kernel, stride, dilation)`` along one axis.

    ``r_out = r_in + (k-1)*d*j_in`` and ``j_out = j_in*s``, starting from ``r = j = 1``.

    >>> receptive_field([(3, 1, 1), (3, 1, 1), (2, 2, 1), (3, 1, 1)])
    [(3, 1), (5, 1), (6, 2), (10, 2)]
    """
    r, j, out = 1, 1, []
    for k, s, d in layers:
        r, j = r + (k - 1) * d * j, j * s
        out.append((r, j))
    return out


def _size_formula(n: int, k: int, s: int, p: int | str, d: int, out: int) -> str:
    if p == "same":
        return f"ceil({n}/{s}) = {out}"
    p = 0 if p == "valid" else p
    dil = f"{d}*({k}-1)" if d != 1 else f"({k}-1)"
    inner = f"{n} + 2*{p} - {dil} - 1"
    return f"floor(({inner})/{s}) + 1 = {out}"


# --------------------------------------------------------------------------------------
# dense networks from widths


#: The deepest dense network :func:`dense_network` describes (its expanded composition has depth² terms).
MAX_DENSE_LAYERS = 100


def parse_widths(widths: str | Sequence[int]) -> list[int]:
    """``"8-4-4-4-2"``, ``"8,4,4,4,2"``, ``"8 4 4 4 2"`` or ``[8, 4, 4, 4, 2]`` as a list of ints."""
    if isinstance(widths, str):
        parts = [p for p in re.split(r"[-,\s]+", widths.strip().strip("[]")) if p]
        try:
            values = [int(p) for p in parts]
        except ValueError:
            raise ShapeError(f"layer widths must be whole numbers like 8-4-4-4-2, got {widths!r}") from None
    else:
        values = list(widths)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise ShapeError(f"layer widths must be whole numbers, got {values!r}")
    if len(values) < 2:
        raise ShapeError(f"a network needs at least two widths (input and output), got {values!r}")
    if len(values) - 1 > MAX_DENSE_LAYERS:
        raise ShapeError(f"{len(values) - 1:,} layers are more than gradlab writes out (at most {MAX_DENSE_LAYERS}: "
                         "the expanded composition grows with the square of the depth)")
    for i, v in enumerate(values):
        if v <= 0:
            where = "the input" if i == 0 else f"layer {i}"
            raise ShapeError(f"{where} must have a positive width, got {v}")
    return values


@dataclass(frozen=True)
class DenseLayer:
    """Layer ``i``: ``h_i = f(A_i h_{i-1} + b_i)`` with ``A_i`` of shape ``out x in``."""

    index: int
    n_in: int
    n_out: int

    @property
    def weight_shape(self) -> tuple[int, int]:
        return (self.n_out, self.n_in)

    @property
    def bias_shape(self) -> tuple[int, int]:
        return (self.n_out, 1)

    @property
    def weights(self) -> int:
        return self.n_in * self.n_out

    @property
    def params(self) -> int:
        return self.n_in * self.n_out + self.n_out

    @property
    def formula(self) -> str:
        return f"{self.n_in}*{self.n_out} + {self.n_out} = {self.params}"

    def to_dict(self) -> dict:
        return {"index": self.index, "weight": f"A{self.index}", "bias": f"b{self.index}",
                "weight_shape": list(self.weight_shape), "bias_shape": list(self.bias_shape),
                "n_in": self.n_in, "n_out": self.n_out, "params": self.params, "formula": self.formula}


@dataclass(frozen=True)
class Cost:
    """Scalar multiplications and additions of one way to compute ``y``."""

    mul: int
    add: int

    @property
    def total(self) -> int:
        return self.mul + self.add

    def to_dict(self) -> dict:
        return {"mul": self.mul, "add": self.add}


@dataclass(frozen=True)
class DenseNetwork:
    """A fully connected network with identity activations (for the composition)."""

    widths: tuple[int, ...]
    layers: tuple[DenseLayer, ...]

    @property
    def total_params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def memory_bytes(self) -> int:
        return self.total_params * BYTES_PER_FLOAT32

    # ---- the composition ----
    def nested(self) -> str:
        """``y = A4(A3(A2(A1 x + b1) + b2) + b3) + b4``."""
        expr = "x"
        for layer in self.layers:
            i = layer.index
            expr = f"A{i} x + b{i}" if expr == "x" else f"A{i}({expr}) + b{i}"
        return f"y = {expr}"

    def expanded(self) -> str:
        """All products multiplied out: ``y = A4 A3 A2 A1 x + A4 A3 A2 b1 + ... + b4``."""
        return "y = " + " + ".join(self._terms(latex=False))

    def _terms(self, latex: bool) -> list[str]:
        L = len(self.layers)
        name = (lambda s, i: f"{s}_{{{i}}}") if latex else (lambda s, i: f"{s}{i}")
        terms = [" ".join([name("A", i) for i in range(L, 0, -1)] + ["x"])]
        for k in range(1, L + 1):
            terms.append(" ".join([name("A", i) for i in range(L, k, -1)] + [name("b", k)]))
        return terms

    def collapsed(self) -> str:
        """``y = A x + c`` with ``A = A4 A3 A2 A1`` and ``c = A4 A3 A2 b1 + ... + b4``."""
        terms = self._terms(latex=False)
        a = terms[0][:-2]
        return f"y = A x + c,  A = {a} ({self.widths[-1]}x{self.widths[0]}),  c = {' + '.join(terms[1:])}"

    def latex(self) -> dict[str, str]:
        """LaTeX of the nested, the expanded and the collapsed form."""
        L = len(self.layers)
        expr = "x"
        for i in range(1, L + 1):
            expr = f"A_{{{i}}} x + b_{{{i}}}" if expr == "x" else f"A_{{{i}}}\\left({expr}\\right) + b_{{{i}}}"
        terms = self._terms(latex=True)
        return {
            "nested": f"y = {expr}",
            "expanded": "y = " + " + ".join(terms),
            "collapsed": f"y = A x + c, \\quad A = {terms[0][:-2]}, \\quad c = {' + '.join(terms[1:])}",
        }

    def sympy(self):
        """The nested composition as a SymPy matrix expression (``.expand()`` multiplies it out)."""
        import sympy as sp

        expr = sp.MatrixSymbol("x", self.widths[0], 1)
        for layer in self.layers:
            A = sp.MatrixSymbol(f"A_{layer.index}", layer.n_out, layer.n_in)
            b = sp.MatrixSymbol(f"b_{layer.index}", layer.n_out, 1)
            expr = A * expr + b
        return expr

    # ---- costs ----
    def cost_layer_by_layer(self) -> Cost:
        """Per input, nested from the inside out: every layer one matrix-vector product plus bias."""
        n = sum(layer.n_in * layer.n_out for layer in self.layers)
        return Cost(mul=n, add=n)  # out*(in-1) sums + out bias adds = out*in

    def cost_expanded(self) -> Cost:
        """Per input, every term of the multiplied-out formula on its own (right to left), then summed."""
        mul = add = 0
        L = len(self.layers)
        for start in range(0, L + 1):  # term 0: through all layers from x; term k: b_k through k+1..L
            for layer in self.layers[start:]:
                mul += layer.n_out * layer.n_in
                add += layer.n_out * (layer.n_in - 1)
        add += L * self.widths[-1]  # summing the L+1 terms
        return Cost(mul=mul, add=add)

    def cost_collapsed_setup(self) -> Cost:
        """Once: ``A = A_L ... A_1`` (right to left) and ``c`` (nested, like the forward pass of the b's)."""
        n0 = self.widths[0]
        mul = add = 0
        for layer in self.layers[1:]:
            mul += layer.n_out * layer.n_in * n0
            add += layer.n_out * (layer.n_in - 1) * n0
            mul += layer.n_out * layer.n_in  # c_k = A_k c_{k-1} + b_k
            add += layer.n_out * layer.n_in
        return Cost(mul=mul, add=add)

    def cost_collapsed(self) -> Cost:
        """Per input with the collapsed map: ``A x + c``."""
        n = self.widths[-1] * self.widths[0]
        return Cost(mul=n, add=n)

    def break_even(self) -> int | None:
        """The smallest number of inputs for which collapsing first costs fewer operations in all
        (``None``: never, the collapsed product is not smaller per input)."""
        per_layer, per_coll = self.cost_layer_by_layer().total, self.cost_collapsed().total
        if per_coll >= per_layer:
            return None
        setup = self.cost_collapsed_setup().total
        return setup // (per_layer - per_coll) + 1

    def notes(self) -> list[str]:
        lbl, exp, coll, setup = (self.cost_layer_by_layer(), self.cost_expanded(), self.cost_collapsed(),
                                 self.cost_collapsed_setup())
        be = self.break_even()
        out = [
            f"Layer by layer (the nested formula, inside out) costs {lbl.mul} multiplications and {lbl.add} "
            f"additions per input; multiplying every term of the expanded formula out separately costs "
            f"{exp.mul} and {exp.add}: the nested form reuses A1 x + b1 etc. instead of recomputing them.",
            f"With identity activations the network is one affine map y = A x + c ({self.widths[-1]}x"
            f"{self.widths[0]} matrix A): {coll.mul} multiplications and {coll.add} additions per input, "
            f"after computing A and c once ({setup.mul} multiplications, {setup.add} additions).",
        ]
        if be is None:
            out.append("Here A is not smaller than the layers together, so collapsing never pays off.")
        else:
            out.append(f"Collapsing pays off from {be} inputs on (a batch, a data set); for a single input "
                       f"the layer-by-layer evaluation is cheaper.")
        out.append("With nonlinear activations (relu, sigmoid, ...) the layers do not collapse, and training "
                   "needs every intermediate h_i for backpropagation: compute layer by layer.")
        out.append("Sparsity: in a fully connected (dense) layer every A_i is full, no entry is forced to zero. "
                   "A drawing with missing edges gives a sparse A_i: the entry A_i[j, k] is 0 when unit k of "
                   "layer i-1 is not connected to unit j of layer i (and a convolution is such a sparse, "
                   "weight-shared matrix).")
        return out

    def to_dict(self) -> dict:
        lat = self.latex()
        return {
            "widths": list(self.widths),
            "layers": [layer.to_dict() for layer in self.layers],
            "total_params": self.total_params,
            "memory_bytes_float32": self.memory_bytes,
            "memory_float32": format_bytes(self.memory_bytes),
            "nested": self.nested(), "expanded": self.expanded(), "collapsed": self.collapsed(),
            "latex": lat,
            "cost": {"layer_by_layer": self.cost_layer_by_layer().to_dict(),
                     "expanded": self.cost_expanded().to_dict(),
                     "collapsed_per_input": self.cost_collapsed().to_dict(),
                     "collapsed_setup": self.cost_collapsed_setup().to_dict(),
                     "break_even_inputs": self.break_even()},
            "notes": self.notes(),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def __str__(self) -> str:
        head = ["layer", "in", "out", "A (out x in)", "b", "params", "formula"]
        rows = [[str(l.index), str(l.n_in), str(l.n_out), f"A{l.index}: {_hw(l.weight_shape)}",
                 f"b{l.index}: {l.n_out}x1", f"{l.params:,}", l.formula] for l in self.layers]
        lines = [f"dense network {'-'.join(map(str, self.widths))} (column vectors: h_i = f(A_i h_(i-1) + b_i))"]
        lines += _table(head, rows, right={1, 2, 5})
        lines.append(f"total params: {self.total_params:,} ({format_bytes(self.memory_bytes)} in float32)")
        lines.append("")
        lines.append("identity activations f(x) = x:")
        lines.append(f"  nested:    {self.nested()}")
        lines.append(f"  expanded:  {self.expanded()}")
        lines.append(f"  collapsed: {self.collapsed()}")
        lines.append("")
        lines += [textwrap.fill(note, 100, initial_indent="- ", subsequent_indent="  ") for note in self.notes()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """Jupyter's view: the layer table, the totals and the three forms of the composition (the notes folded)."""
        from ..htmltable import esc, html_table

        rows = [[layer.index, layer.n_in, layer.n_out, f"A{layer.index}: {_hw(layer.weight_shape)}",
                 f"b{layer.index}: {layer.n_out}x1", f"{layer.params:,}", layer.formula] for layer in self.layers]
        table = html_table(["layer", "in", "out", "A (out x in)", "b", "params", "formula"], rows, left=(3, 4, 6),
                           caption=f"dense network {'-'.join(map(str, self.widths))} (h_i = f(A_i h_(i-1) + b_i))")
        forms = "".join(f"<li>{name}: <code>{esc(text)}</code></li>" for name, text in
                        (("nested", self.nested()), ("expanded", self.expanded()), ("collapsed", self.collapsed())))
        notes = "".join(f"<li>{esc(n)}</li>" for n in self.notes())
        return (f'<div class="gradlab-network">{table}<p>total params: <b>{self.total_params:,}</b> '
                f"({esc(format_bytes(self.memory_bytes))} in float32)</p><p>identity activations f(x) = x:</p>"
                f"<ul>{forms}</ul><details><summary>cost and notes</summary><ul>{notes}</ul></details></div>")


def dense_network(widths: str | Sequence[int]) -> DenseNetwork:
    """The fully connected network with these layer widths (input first).

    >>> print(dense_network("3-2").nested())
    y = A1 x + b1
    """
    w = parse_widths(widths)
    layers = tuple(DenseLayer(i + 1, w[i], w[i + 1]) for i in range(len(w) - 1))
    return DenseNetwork(tuple(w), layers)


# --------------------------------------------------------------------------------------
# conv / pool stacks


@dataclass(frozen=True)
class LayerShape:
    """One row of a :class:`ShapeTable`."""

    index: int
    layer: str
    kind: str
    input: str
    output: str
    output_shape: tuple[int, ...]
    size_formula: str
    receptive_field: tuple[int, int] | None
    jump: tuple[int, int] | None
    params: int
    param_formula: str

    @property
    def output_elements(self) -> int:
        return math.prod(self.output_shape)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["output_shape"] = list(self.output_shape)
        d["receptive_field"] = None if self.receptive_field is None else list(self.receptive_field)
        d["jump"] = None if self.jump is None else list(self.jump)
        d["output_elements"] = self.output_elements
        return d


@dataclass(frozen=True)
class ShapeTable:
    """Shapes, receptive fields and parameters of a layer stack."""

    rows: tuple[LayerShape, ...]
    name: str | None = None

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def memory_bytes(self) -> int:
        return self.total_params * BYTES_PER_FLOAT32

    @property
    def activation_elements(self) -> int:
        """Numbers produced by all layers (not the input) for one sample."""
        return sum(r.output_elements for r in self.rows[1:])

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.rows[-1].output_shape

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "rows": [r.to_dict() for r in self.rows],
            "output_shape": list(self.output_shape),
            "total_params": self.total_params,
            "trainable_params": self.total_params,
            "memory_bytes_float32": self.memory_bytes,
            "memory_float32": format_bytes(self.memory_bytes),
            "activation_elements": self.activation_elements,
            "activation_memory_float32": format_bytes(self.activation_elements * BYTES_PER_FLOAT32),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def __str__(self) -> str:
        head = ["#", "layer", "output", "size formula", "RF", "jump", "params", "param formula"]
        rows = []
        for r in self.rows:
            rows.append([str(r.index), r.layer, r.output, r.size_formula,
                         "all" if r.receptive_field is None else _short(r.receptive_field),
                         "-" if r.jump is None else _short(r.jump), f"{r.params:,}", r.param_formula])
        lines = [f"{self.name}: shapes H x W x C" if self.name else "shapes H x W x C"]
        lines += _table(head, rows, right={0, 6})
        act = self.activation_elements * BYTES_PER_FLOAT32
        lines.append(f"total params: {self.total_params:,} ({format_bytes(self.memory_bytes)} in float32), "
                     f"all trainable")
        lines.append(f"activations per sample: {self.activation_elements:,} numbers ({format_bytes(act)} in float32)")
        lines.append("RF: receptive field (input pixels one output value sees), jump: input pixels between "
                     "neighbouring outputs")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """Jupyter's view: one row per layer (output, size formula, receptive field, parameters) and the totals."""
        from ..htmltable import esc, html_table

        rows = [[r.index, r.layer, r.output, r.size_formula,
                 "all" if r.receptive_field is None else _short(r.receptive_field),
                 "-" if r.jump is None else _short(r.jump), f"{r.params:,}", r.param_formula] for r in self.rows]
        table = html_table(["#", "layer", "output", "size formula", "RF", "jump", "params", "param formula"], rows,
                           caption=f"{self.name}: shapes H x W x C" if self.name else "shapes H x W x C",
                           left=(1, 2, 3, 7))
        act = self.activation_elements * BYTES_PER_FLOAT32
        return (f'<div class="gradlab-shapes">{table}<p>total params: <b>{self.total_params:,}</b> '
                f"({esc(format_bytes(self.memory_bytes))} in float32), all trainable; activations per sample: "
                f"{self.activation_elements:,} numbers ({esc(format_bytes(act))} in float32)</p>"
                "<p>RF: receptive field (input pixels one output value sees), jump: input pixels between "
                "neighbouring outputs</p></div>")


def _table(head: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) if rows else len(head[i]) for i in range(len(head))]

    def fmt(cells: list[str]) -> str:
        return "  ".join(c.rjust(widths[i]) if i in right else c.ljust(widths[i])
                         for i, c in enumerate(cells)).rstrip()

    return [fmt(head), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows]


def conv_shapes(spec: Union[str, Sequence[Any], Mapping[str, Any]], name: str | None = None) -> ShapeTable:
    """Walk a layer stack and compute every layer's output, receptive field and parameters.

    ``spec`` is a spec string (``"input 32x32x5 | conv 1@5x5"``), a list of layer objects
    (:class:`Input` first), a list of dicts (``{"type": "conv", "filters": 6, "kernel": 5}``)
    or a mapping as read from TOML (``{"input": "28x28x1", "layers": [...]}``).
    """
    layers = _to_layers(spec)
    if not layers or not isinstance(layers[0], Input):
        raise ShapeError("the stack must start with the input, e.g. 'input 32x32x5 | conv 6@5x5'")
    shape = layers[0].shape
    rf: tuple[int, int] | None = (1, 1) if len(shape) == 3 else None
    jump: tuple[int, int] | None = (1, 1) if len(shape) == 3 else None
    rows = [LayerShape(0, layers[0].describe(), "input", "", _shape_text(shape), shape, "", rf, jump, 0, "")]
    for idx, layer in enumerate(layers[1:], start=1):
        if isinstance(layer, Input):
            raise ShapeError(f"layer {idx}: only the first layer can be the input")
        where = f"layer {idx} ({layer.label()})"
        in_text = _shape_text(shape)
        formula, params, pformula = "", 0, "0"
        if isinstance(layer, (Conv2d, Pool2d)):
            if len(shape) != 3:
                raise ShapeError(f"{where}: needs an image H x W x C but gets the vector {in_text} "
                                 f"(put it before flatten/dense)")
            h, w, c = shape
            k, s, d = layer.kernel, layer.stride, getattr(layer, "dilation", (1, 1))
            p = layer.padding
            assert s is not None  # Pool2d.__post_init__ fills in the stride
            for name_, v in (("kernel", k), ("stride", s), ("dilation", d)):
                if min(v) <= 0:
                    raise ShapeError(f"{where}: the {name_} must be positive, got {_hw(v)}")
            if isinstance(layer, Pool2d):
                assert not isinstance(p, str)  # Pool2d.__post_init__ allows only numbers
                if min(p) < 0:
                    raise ShapeError(f"{where}: padding must be >= 0, got {_short(p)}")
                if p[0] * 2 > k[0] or p[1] * 2 > k[1]:
                    raise ShapeError(f"{where}: padding {_short(p)} is more than half the pool size {_hw(k)}")
            elif not isinstance(p, str) and min(p) < 0:
                raise ShapeError(f"{where}: padding must be >= 0, got {_short(p)}")
            outs, forms = [], []
            for axis, n in enumerate((h, w)):
                pa = p if isinstance(p, str) else p[axis]
                span = d[axis] * (k[axis] - 1) + 1
                if pa != "same" and n + 2 * (0 if isinstance(pa, str) else pa) < span:  # str: 'valid'
                    kern = _hw(k) if d == (1, 1) else f"{_hw(k)} (dilated: {span} wide)"
                    if isinstance(p, str) or pa == 0:  # no padding: 'valid' or 0
                        raise ShapeError(f"{where}: the input {h}x{w} is smaller than the kernel {kern}")
                    raise ShapeError(f"{where}: the padded input {h + 2 * p[0]}x{w + 2 * p[1]} ({h}x{w} with "
                                     f"padding {_short(p)}) is smaller than the kernel {kern}")
                o = conv_output_size(n, k[axis], s[axis], pa, d[axis])
                outs.append(o)
                forms.append(_size_formula(n, k[axis], s[axis], pa, d[axis], o))
            formula = forms[0] if forms[0] == forms[1] else f"H: {forms[0]}; W: {forms[1]}"
            if isinstance(layer, Conv2d):
                g = layer.groups
                if g <= 0 or layer.filters <= 0:
                    raise ShapeError(f"{where}: filters and groups must be positive, got {layer.filters} "
                                     f"filters, {g} groups")
                if c % g or layer.filters % g:
                    raise ShapeError(f"{where}: groups={g} must divide both the input channels ({c}) and the "
                                     f"filters ({layer.filters})")
                if layer.depth is not None and layer.depth != c // g:
                    raise ShapeError(f"{where}: the kernel depth {layer.depth} must equal the input channels "
                                     f"{c}" + (f" / groups {g} = {c // g}" if g != 1 else ""))
                cin = c // g
                params = k[0] * k[1] * cin * layer.filters + (layer.filters if layer.bias else 0)
                cin_text = f"({c}/{g})" if g != 1 else f"{c}"
                pformula = f"{k[0]}*{k[1]}*{cin_text}*{layer.filters}" + (f" + {layer.filters}" if layer.bias else "")
                pformula += f" = {params:,}"
                shape = (outs[0], outs[1], layer.filters)
            else:
                shape = (outs[0], outs[1], c)
            assert rf is not None and jump is not None
            rf = (rf[0] + (k[0] - 1) * d[0] * jump[0], rf[1] + (k[1] - 1) * d[1] * jump[1])
            jump = (jump[0] * s[0], jump[1] * s[1])
        elif isinstance(layer, Flatten):
            n = math.prod(shape)
            formula = "*".join(map(str, shape)) + f" = {n}" if len(shape) > 1 else f"{n}"
            shape = (n,)
            rf = jump = None
        elif isinstance(layer, Dense):
            if layer.units <= 0:
                raise ShapeError(f"{where}: the number of units must be positive, got {layer.units}")
            if len(shape) != 1:
                raise ShapeError(f"{where}: gets the image {in_text}; add 'flatten' before the first dense layer")
            n = shape[0]
            params = n * layer.units + (layer.units if layer.bias else 0)
            pformula = f"{n}*{layer.units}" + (f" + {layer.units}" if layer.bias else "") + f" = {params:,}"
            formula = f"{layer.units}"
            shape = (layer.units,)
            rf = jump = None
        elif isinstance(layer, Activation):
            formula = "same as input"
        else:  # pragma: no cover - _to_layers only makes the kinds above
            raise ShapeError(f"layer {idx}: unknown layer {layer!r}")
        kind = {Conv2d: "conv", Pool2d: "pool", Flatten: "flatten", Dense: "dense",
                Activation: "activation"}[type(layer)]
        rows.append(LayerShape(idx, layer.describe(), kind, in_text, _shape_text(shape), shape, formula,
                               rf, jump, params, pformula))
    return ShapeTable(tuple(rows), name)


# --------------------------------------------------------------------------------------
# reading specs: strings, dicts, TOML

_KEY_ALIASES = {
    "pad": "padding", "p": "padding", "padding": "padding",
    "s": "stride", "stride": "stride", "strides": "stride",
    "d": "dilation", "dilation": "dilation", "dilation_rate": "dilation",
    "g": "groups", "groups": "groups", "bias": "bias", "use_bias": "bias",
    "k": "kernel", "kernel": "kernel", "kernel_size": "kernel", "pool_size": "kernel", "size": "kernel",
    "filters": "filters", "out_channels": "filters", "channels": "filters",
    "units": "units", "out_features": "units", "depth": "depth",
}
_CONV = ("conv", "conv2d")
_POOL = {"maxpool": "max", "maxpool2d": "max", "max": "max", "avgpool": "avg", "avgpool2d": "avg",
         "avg": "avg", "averagepooling2d": "avg", "maxpooling2d": "max"}
_DENSE = ("dense", "linear", "fc")
_KNOWN = "input, conv, maxpool, avgpool, flatten, dense, " + ", ".join(ACTIVATIONS)


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
        return value.lower() in ("true", "yes", "1")
    raise ShapeError(f"{where}: bias must be true or false, got {value!r}")


def _int(value: Any, what: str, where: str) -> int:
    try:
        if isinstance(value, bool):
            raise ValueError
        return int(value)
    except (TypeError, ValueError):
        raise ShapeError(f"{where}: {what} must be a whole number, got {value!r}") from None


def _from_dict(d: Mapping[str, Any], where: str) -> Layer:
    d = dict(d)
    kind = str(d.pop("type", d.pop("kind", ""))).strip().lower()
    opts: dict[str, Any] = {}
    for key, value in d.items():
        canon = _KEY_ALIASES.get(str(key).lower())
        if canon is None:
            raise ShapeError(f"{where}: unknown option {key!r} for {kind or 'a layer'}")
        opts[canon] = value
    try:
        if kind in _CONV:
            if "filters" not in opts:
                raise ShapeError(f"{where}: a conv layer needs the number of filters, e.g. 'conv 6@5x5'")
            kernel = opts.pop("kernel", 3)
            depth = opts.pop("depth", None)
            if isinstance(kernel, str) and kernel.count("x") == 2:
                *hw, dep = kernel.split("x")
                kernel, depth = "x".join(hw), dep
            elif isinstance(kernel, (list, tuple)) and len(kernel) == 3:
                depth, kernel = kernel[2], kernel[:2]
            return Conv2d(filters=_int(opts.pop("filters"), "filters", where), kernel=kernel,
                          stride=opts.pop("stride", 1), padding=opts.pop("padding", 0),
                          dilation=opts.pop("dilation", 1), groups=_int(opts.pop("groups", 1), "groups", where),
                          bias=_bool(opts.pop("bias", True), where),
                          depth=None if depth is None else _int(depth, "kernel depth", where),
                          **_leftover(opts, where, kind))
        if kind in _POOL or kind == "pool":
            mode = _POOL.get(kind, "max")
            return Pool2d(mode=mode, kernel=opts.pop("kernel", 2), stride=opts.pop("stride", None),
                          padding=opts.pop("padding", 0), **_leftover(opts, where, kind))
        if kind == "flatten":
            return Flatten(**_leftover(opts, where, kind))
        if kind in _DENSE:
            if "units" not in opts:
                raise ShapeError(f"{where}: a dense layer needs its number of units, e.g. 'dense 120'")
            return Dense(units=_int(opts.pop("units"), "units", where), bias=_bool(opts.pop("bias", True), where),
                         **_leftover(opts, where, kind))
        if kind in ACTIVATIONS or kind in ("activation", "act"):
            return Activation(kind if kind in ACTIVATIONS else str(d.get("name", "relu")))
    except ShapeError as e:
        if e.message.startswith("layer "):
            raise
        raise ShapeError(f"{where}: {e.message}") from None
    raise ShapeError(f"{where}: unknown layer type {kind!r}; known: {_KNOWN}")


def _leftover(opts: dict, where: str, kind: str) -> dict:
    if opts:
        raise ShapeError(f"{where}: option(s) {', '.join(sorted(opts))} do not apply to {kind}")
    return {}


_CONV_HEAD = re.compile(r"^(\d+)@(\d+(?:x\d+){0,2})$")


def _parse_layer_text(text: str, index: int) -> Layer:
    """One layer in the spec language: ``conv 6@5x5 pad=2``, ``avgpool 2``, ``dense 120``, ``relu``."""
    where = f"layer {index} ({text.strip()!r})"
    tokens = text.replace("=", " = ").split()
    if not tokens:
        raise ShapeError(f"layer {index}: empty layer (two '|' in a row?)")
    kind, rest = tokens[0].lower(), tokens[1:]
    if kind == "input":
        if len(rest) != 1:
            raise ShapeError(f"{where}: write the input as 'input 32x32x5' (H x W x C) or 'input 784'")
        return _input(rest[0], where)
    if not (kind in _CONV or kind in _POOL or kind in _DENSE or kind in ACTIVATIONS
            or kind in ("pool", "flatten")):
        raise ShapeError(f"{where}: unknown layer type {kind!r}; known: {_KNOWN}")
    d: dict[str, Any] = {"type": kind}
    positional: list[str] = []
    i = 0
    while i < len(rest):
        tok = rest[i]
        if i + 1 < len(rest) and rest[i + 1] == "=":
            if i + 2 >= len(rest):
                raise ShapeError(f"{where}: '{tok}=' needs a value")
            d[tok] = rest[i + 2]
            i += 3
        elif tok.lower() in _KEY_ALIASES and i + 1 < len(rest):
            d[tok] = rest[i + 1]
            i += 2
        else:
            positional.append(tok)
            i += 1
    if kind in _CONV:
        if len(positional) != 1 or not _CONV_HEAD.match(positional[0]):
            raise ShapeError(f"{where}: write a conv layer as 'conv FILTERS@KHxKW', e.g. 'conv 6@5x5'")
        m = _CONV_HEAD.match(positional[0])
        assert m
        d["filters"], d["kernel"] = m.group(1), m.group(2)
    elif kind in _POOL or kind == "pool":
        if len(positional) > 1:
            raise ShapeError(f"{where}: write pooling as 'maxpool 2' or 'avgpool 2x2 stride=2'")
        if positional:
            d["kernel"] = positional[0]
    elif kind in _DENSE:
        if len(positional) != 1:
            raise ShapeError(f"{where}: write a dense layer as 'dense UNITS', e.g. 'dense 120'")
        d["units"] = positional[0]
    elif positional:
        raise ShapeError(f"{where}: unexpected {' '.join(positional)!r}")
    return _from_dict(d, f"layer {index} ({text.strip()})")


def _input(value: Any, where: str) -> Input:
    if isinstance(value, str):
        try:
            shape = tuple(int(p) for p in re.split(r"[x×,]", value.strip()) if p)
        except ValueError:
            raise ShapeError(f"{where}: the input must look like 32x32x5 (H x W x C), got {value!r}") from None
    elif isinstance(value, int) and not isinstance(value, bool):
        shape = (value,)
    elif isinstance(value, (list, tuple)):
        shape = tuple(_int(v, "an input size", where) for v in value)
    else:
        raise ShapeError(f"{where}: the input must look like 32x32x5 (H x W x C), got {value!r}")
    return Input(shape)


def parse_spec(text: str) -> list[Layer]:
    """``"input 32x32x5 | conv 1@5x5 | maxpool 2 | flatten | dense 10"`` as layer objects.

    Layers are separated by ``|``, ``;`` or new lines; options are ``key=value`` or
    ``key value`` (``pad``/``padding``, ``stride``, ``dilation``, ``groups``, ``bias``);
    ``#`` starts a comment.
    """
    lines = [re.sub(r"#.*", "", line) for line in text.splitlines()]
    parts = [p.strip() for p in re.split(r"[|;\n]", "\n".join(lines))]
    parts = [p for p in parts if p]
    if not parts:
        raise ShapeError("empty layer spec; try 'input 32x32x5 | conv 1@5x5'")
    return [_parse_layer_text(p, i) for i, p in enumerate(parts)]


def _to_layers(spec: Any) -> list[Layer]:
    if isinstance(spec, str):
        return parse_spec(spec)
    if isinstance(spec, Mapping):
        if "input" not in spec:
            raise ShapeError("a layer file needs 'input = \"HxWxC\"' and a 'layers' list")
        unknown = set(spec) - {"input", "layers", "layer", "name"}
        if unknown:
            raise ShapeError(f"unknown top-level key(s) {', '.join(sorted(unknown))}; expected input, layers, name")
        items: list[Any] = [_input(spec["input"], "input")]
        items += list(spec.get("layers", [])) + list(spec.get("layer", []))
        spec = items
    layers: list[Layer] = []
    for i, item in enumerate(spec):
        if isinstance(item, (Input, Conv2d, Pool2d, Flatten, Dense, Activation)):
            layers.append(item)
        elif isinstance(item, str):
            if i == 0 and not item.strip().lower().startswith("input"):
                layers.append(_input(item, "input"))
            else:
                layers.append(_parse_layer_text(item, i))
        elif isinstance(item, Mapping):
            kind = str(item.get("type", "")).lower()
            if kind == "input":
                value = item.get("shape", item.get("size"))
                layers.append(_input(value, f"layer {i}"))
            else:
                layers.append(_from_dict(item, f"layer {i} ({kind or '?'})"))
        else:
            raise ShapeError(f"layer {i}: expected a layer, a spec string or a table, got {item!r}")
    return layers


def load_spec(path: str | Path) -> dict:
    """Read a layer stack from TOML::

        name = "tiny"
        input = "32x32x5"
        layers = ["conv 6@5x5 pad=2", "maxpool 2"]   # strings, and/or tables after them:
        [[layer]]
        type = "dense"
        units = 10
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    p = Path(path)
    try:
        data = tomllib.loads(read_text(p, "layer spec", error=ShapeError))
    except tomllib.TOMLDecodeError as e:
        raise ShapeError(f"{p}: not valid TOML: {e}") from None
    except RecursionError:
        raise ShapeError(f"{p}: not valid TOML: arrays or tables nested too deeply") from None
    return data


# --------------------------------------------------------------------------------------
# presets


def lenet5(activation: str | None = "sigmoid") -> list[Layer]:
    """LeNet-5 as in d2l / pyprobml's ``lenet_torch`` notebook (28x28x1 MNIST input).

    ``activation`` after every conv and hidden dense layer (``None``: leave them out;
    they have no parameters, the total stays 61,706).
    """
    act = [Activation(activation)] if activation else []
    return [Input((28, 28, 1)),
            Conv2d(6, (5, 5), padding=(2, 2)), *act, Pool2d("avg", (2, 2)),
            Conv2d(16, (5, 5)), *act, Pool2d("avg", (2, 2)),
            Flatten(), Dense(120), *act, Dense(84), *act, Dense(10)]


PRESETS = {"lenet5": lenet5}
