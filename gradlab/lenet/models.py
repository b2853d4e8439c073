"""LeNet and its variants, built from a small layer spec a student can write.

An architecture is a list of layer lines, the spec language of :mod:`gradlab.model.networks`
plus ``dropout P`` and ``batchnorm``::

    conv 6@5x5 pad=2 | sigmoid | avgpool 2 | conv 16@5x5 | sigmoid | avgpool 2 |
    flatten | dense 120 | sigmoid | dense 84 | sigmoid | dense 10

:data:`VARIANTS` holds the reference LeNet (exactly the d2l / pyprobml notebook) and the
named variants for the architecture task; :func:`build_model` turns a name, a spec string,
or a TOML file (``name = "mine"``, ``layers = [...]``, optional ``init``) into a torch
``nn.Sequential`` with Xavier-uniform weights, as the notebook initialises them.

>>> model = build_model("lenet")
>>> sum(p.numel() for p in model.parameters())
61706
"""

from __future__ import annotations

import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from ..errors import GradlabError
from ..fileio import path_kind, read_text
from ..model.networks import Activation, Conv2d, Dense, Flatten, Input, Pool2d, parse_spec

__all__ = ["ModelError", "Architecture", "VARIANTS", "architecture", "build_model", "list_variants"]


class ModelError(GradlabError):
    """An architecture that cannot be built (unknown layer, shapes that do not fit, too large)."""


#: The largest model gradlab builds: parameters, and numbers in one image's input or a layer's output
#: (LeNet has 61,706 parameters and at most 4,704 numbers per layer; 20 million float32 numbers are 80 MB).
MAX_PARAMS = 20_000_000
MAX_ACTIVATION = 20_000_000
MAX_UNITS = 1_000_000


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_REF = ["conv 6@5x5 pad=2", "sigmoid", "avgpool 2", "conv 16@5x5", "sigmoid", "avgpool 2", "flatten",
        "dense 120", "sigmoid", "dense 84", "sigmoid", "dense 10"]


def _swap(layers: list[str], old: str, new: str) -> list[str]:
    return [new if line == old else line for line in layers]


#: name -> (description, layer lines)
VARIANTS: dict[str, tuple[str, list[str]]] = {
    "lenet": ("the reference LeNet of the notebook: sigmoid, average pooling", _REF),
    "lenet-relu": ("ReLU instead of sigmoid", _swap(_REF, "sigmoid", "relu")),
    "lenet-tanh": ("tanh instead of sigmoid (LeCun's original choice)", _swap(_REF, "sigmoid", "tanh")),
    "lenet-maxpool": ("max pooling instead of average pooling", _swap(_REF, "avgpool 2", "maxpool 2")),
    "lenet-relu-maxpool": ("ReLU and max pooling (the modern recipe)",
                           _swap(_swap(_REF, "sigmoid", "relu"), "avgpool 2", "maxpool 2")),
    "lenet-wide": ("twice the channels: 12 and 32 filters",
                   ["conv 12@5x5 pad=2", "sigmoid", "avgpool 2", "conv 32@5x5", "sigmoid", "avgpool 2", "flatten",
                    "dense 120", "sigmoid", "dense 84", "sigmoid", "dense 10"]),
    "lenet-narrow": ("half the channels: 3 and 8 filters",
                     ["conv 3@5x5 pad=2", "sigmoid", "avgpool 2", "conv 8@5x5", "sigmoid", "avgpool 2", "flatten",
                      "dense 120", "sigmoid", "dense 84", "sigmoid", "dense 10"]),
    "lenet-deep": ("an extra 3x3 conv layer (16 -> 32 filters) before the dense layers",
                   ["conv 6@5x5 pad=2", "relu", "maxpool 2", "conv 16@5x5", "relu", "conv 32@3x3 pad=1", "relu",
                    "maxpool 2", "flatten", "dense 120", "relu", "dense 84", "relu", "dense 10"]),
    "lenet-dropout": ("ReLU, max pooling, dropout 0.5 before each hidden dense layer",
                      ["conv 6@5x5 pad=2", "relu", "maxpool 2", "conv 16@5x5", "relu", "maxpool 2", "flatten",
                       "dropout 0.5", "dense 120", "relu", "dropout 0.5", "dense 84", "relu", "dense 10"]),
    "lenet-bn": ("batch normalisation after every conv and hidden dense layer (d2l's BNLeNet)",
                 ["conv 6@5x5 pad=2", "batchnorm", "sigmoid", "avgpool 2", "conv 16@5x5", "batchnorm", "sigmoid",
                  "avgpool 2", "flatten", "dense 120", "batchnorm", "sigmoid", "dense 84", "batchnorm", "sigmoid",
                  "dense 10"]),
}


@dataclass
class Architecture:
    """A model's recipe: its layer lines, input shape ``(C, H, W)``, classes and weight initialisation."""

    name: str
    layers: list[str]
    input_shape: tuple[int, int, int] = (1, 28, 28)
    num_classes: int = 10
    init: str = "xavier_uniform"
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["input_shape"] = list(self.input_shape)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Architecture":
        known = {"name", "layers", "input_shape", "num_classes", "init", "description"}
        unknown = set(d) - known
        if unknown:
            raise ModelError(f"unknown architecture key(s) {', '.join(sorted(unknown))}; expected {', '.join(sorted(known))}")
        if "layers" not in d or not isinstance(d["layers"], list) or not all(isinstance(x, str) for x in d["layers"]):
            raise ModelError("an architecture needs 'layers', a list of layer lines like \"conv 6@5x5 pad=2\"")
        shape = d.get("input_shape", (1, 28, 28))
        if not (isinstance(shape, (list, tuple)) and len(shape) == 3
                and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)):
            raise ModelError(f"input_shape must be [C, H, W], got {_short(shape)}")
        classes = d.get("num_classes", 10)
        if not isinstance(classes, int) or isinstance(classes, bool) or not 1 <= classes <= MAX_UNITS:
            raise ModelError(f"num_classes must be a whole number from 1 to {MAX_UNITS:,}, got {_short(classes)}")
        for key in ("name", "init", "description"):
            if key in d and not isinstance(d[key], str):
                raise ModelError(f"{key} must be a string, got {_short(d[key])}")
        return cls(str(d.get("name", "custom")), list(d["layers"]), tuple(shape), classes,
                   str(d.get("init", "xavier_uniform")), str(d.get("description", "")))


def list_variants() -> list[tuple[str, str, str]]:
    """``(name, description, spec)`` of every named variant."""
    return [(k, desc, " | ".join(layers)) for k, (desc, layers) in VARIANTS.items()]


def architecture(spec: "str | Architecture | dict[str, Any] | Path", *, input_shape: Sequence[int] = (1, 28, 28),
                 num_classes: int = 10) -> Architecture:
    """An :class:`Architecture` from a variant name, a layer spec string, a TOML file or a dict."""
    if isinstance(spec, Architecture):
        return spec
    if isinstance(spec, dict):
        return Architecture.from_dict(spec)
    text = str(spec).strip()
    if text in VARIANTS:
        desc, layers = VARIANTS[text]
        return Architecture(text, list(layers), tuple(input_shape), num_classes, description=desc)  # type: ignore[arg-type]
    if text.endswith(".toml") or (("|" not in text and "\n" not in text) and path_kind(text) == "file"):
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover
            import tomli as tomllib

        p = Path(text)
        try:
            data = tomllib.loads(read_text(p, "layer spec", error=ModelError))
        except tomllib.TOMLDecodeError as e:
            raise ModelError(f"{p}: not valid TOML: {e}") from None
        except RecursionError:
            raise ModelError(f"{p}: not valid TOML: arrays or tables nested too deeply") from None
        data.setdefault("name", p.stem)
        try:
            return Architecture.from_dict(data)
        except ModelError as e:
            raise ModelError(f"{p}: {e.message}") from None
    if "|" in text or "\n" in text or text.split()[0].lower() in ("conv", "conv2d", "dense", "linear"):
        lines = [p.strip() for p in re.split(r"[|;\n]", re.sub(r"#[^\n]*", "", text)) if p.strip()]
        return Architecture("custom", lines, tuple(input_shape), num_classes)  # type: ignore[arg-type]
    raise ModelError(f"unknown model {text!r}; choose a variant ({', '.join(VARIANTS)}), a layer spec "
                     "like \"conv 6@5x5 pad=2 | sigmoid | avgpool 2 | flatten | dense 10\", or a .toml file")


_ACT = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "gelu": nn.GELU, "elu": nn.ELU,
        "leaky_relu": nn.LeakyReLU, "identity": nn.Identity}


def build_model(spec: "str | Architecture | dict[str, Any] | Path", *, seed: int | None = None) -> nn.Sequential:
    """A torch model from an architecture (see :func:`architecture`); ``seed`` fixes the initial weights."""
    arch = architecture(spec)
    if seed is not None:  # before the layers are made: their default bias init draws from the global RNG
        torch.manual_seed(seed)
    c, h, w = arch.input_shape
    modules: list[nn.Module] = []
    shape: tuple[int, ...] = (c, h, w)
    if c * h * w > MAX_ACTIVATION:
        raise ModelError(f"{arch.name}: an input of {c}x{h}x{w} is too large ({c * h * w:,} numbers per image; "
                         f"gradlab builds models for at most {MAX_ACTIVATION:,})")
    params = 0
    for i, line in enumerate(arch.layers):
        where = f"{arch.name}, layer {i + 1} ({line!r})"
        tokens = line.split()
        if not tokens:
            raise ModelError(f"{where}: empty layer")
        kind = tokens[0].lower()
        if kind == "dropout":
            try:
                p = float(tokens[1]) if len(tokens) > 1 else 0.5
            except ValueError:
                raise ModelError(f"{where}: write dropout as 'dropout 0.5'") from None
            if not 0 <= p < 1:
                raise ModelError(f"{where}: the dropout probability must be in [0, 1)")
            modules.append(nn.Dropout(p) if len(shape) == 1 else nn.Dropout2d(p))
            continue
        if kind in ("batchnorm", "bn", "batchnorm2d", "batchnorm1d"):
            modules.append(nn.BatchNorm2d(shape[0]) if len(shape) == 3 else nn.BatchNorm1d(shape[0]))
            continue
        try:
            (layer,) = parse_spec(line)
        except GradlabError as e:
            raise ModelError(f"{where}: {e.message}") from None
        params += _estimate(layer, shape, where, params)
        if isinstance(layer, Conv2d):
            if len(shape) != 3:
                raise ModelError(f"{where}: a conv layer needs an image input, got a vector of {shape[0]}")
            if isinstance(layer.padding, str):
                pad: Any = layer.padding
                if pad == "same" and layer.stride != (1, 1):
                    raise ModelError(f"{where}: padding 'same' needs stride 1 in torch")
            else:
                pad = layer.padding
            if layer.depth is not None and layer.depth * layer.groups != shape[0]:
                raise ModelError(f"{where}: the kernel depth {layer.depth} does not match {shape[0]} input channels")
            m = nn.Conv2d(shape[0], layer.filters, layer.kernel, layer.stride, pad, layer.dilation, layer.groups,
                          layer.bias)
            modules.append(m)
        elif isinstance(layer, Pool2d):
            if len(shape) != 3:
                raise ModelError(f"{where}: pooling needs an image input")
            cls = nn.MaxPool2d if layer.mode == "max" else nn.AvgPool2d
            modules.append(cls(layer.kernel, layer.stride, layer.padding))
        elif isinstance(layer, Flatten):
            modules.append(nn.Flatten())
        elif isinstance(layer, Dense):
            if len(shape) != 1:
                raise ModelError(f"{where}: a dense layer needs a vector; add 'flatten' before it")
            modules.append(nn.Linear(shape[0], layer.units, bias=layer.bias))
        elif isinstance(layer, Activation):
            if layer.name not in _ACT:
                raise ModelError(f"{where}: unknown activation {layer.name!r}; known: {', '.join(_ACT)}")
            modules.append(_ACT[layer.name]())
        elif isinstance(layer, Input):
            raise ModelError(f"{where}: give the input as input_shape, not as a layer")
        else:  # pragma: no cover
            raise ModelError(f"{where}: unsupported layer")
        shape = _out_shape(modules[-1], shape, where)
    if shape != (arch.num_classes,):
        raise ModelError(f"{arch.name}: the last layer gives {'x'.join(map(str, shape))}, expected "
                         f"{arch.num_classes} class scores (end with 'dense {arch.num_classes}')")
    model = nn.Sequential(*modules)
    _init(model, arch.init, seed)
    return model


def _estimate(layer: Any, shape: tuple[int, ...], where: str, params: int) -> int:
    """The parameters of ``layer`` on an input of ``shape``, before anything is allocated; a :class:`ModelError`
    when they, the model's total so far (``params``) or the layer's output would be too large to build."""
    n, out = 0, 0
    size = layer.units if isinstance(layer, Dense) else layer.filters if isinstance(layer, Conv2d) else 1
    if size < 1:  # before torch would build (and warn about) a layer with no numbers in it
        raise ModelError(f"{where}: the output is empty (a layer needs at least 1 {'unit' if isinstance(layer, Dense) else 'filter'})")
    if isinstance(layer, Conv2d) and len(shape) == 3:
        kh, kw = layer.kernel
        n = layer.filters * (shape[0] // max(layer.groups, 1)) * kh * kw + (layer.filters if layer.bias else 0)
        ph, pw = (0, 0) if isinstance(layer.padding, str) else layer.padding
        out = layer.filters * (shape[1] + 2 * ph) * (shape[2] + 2 * pw)  # at least the output (stride >= 1)
    elif isinstance(layer, Pool2d) and len(shape) == 3:
        out = shape[0] * (shape[1] + 2 * layer.padding[0]) * (shape[2] + 2 * layer.padding[1])
    elif isinstance(layer, Dense) and len(shape) == 1:
        if layer.units > MAX_UNITS:
            raise ModelError(f"{where}: {layer.units:,} units is too many (at most {MAX_UNITS:,})")
        n, out = shape[0] * layer.units + (layer.units if layer.bias else 0), layer.units
    if params + n > MAX_PARAMS:
        raise ModelError(f"{where}: the model would have {params + n:,} parameters up to here ({4 * (params + n):,} "
                         f"bytes as float32); gradlab builds models of at most {MAX_PARAMS:,}")
    if out > MAX_ACTIVATION:
        raise ModelError(f"{where}: the output would have up to {out:,} numbers per image; gradlab builds models "
                         f"of at most {MAX_ACTIVATION:,} per layer")
    return n


def _out_shape(module: nn.Module, shape: tuple[int, ...], where: str) -> tuple[int, ...]:
    with torch.no_grad():
        try:
            out = module.eval()(torch.zeros(2, *shape))
        except RuntimeError as e:
            msg = str(e).splitlines()[0]
            raise ModelError(f"{where}: does not fit an input of {'x'.join(map(str, shape))} ({msg})") from None
        finally:
            module.train()
    if out.numel() == 0:
        raise ModelError(f"{where}: the output is empty for an input of {'x'.join(map(str, shape))}")
    return tuple(out.shape[1:])


def _init(model: nn.Module, how: str, seed: int | None) -> None:
    if how not in ("xavier_uniform", "torch_default", "kaiming_uniform"):
        raise ModelError(f"unknown init {how!r}; choose xavier_uniform, kaiming_uniform or torch_default")
    gen = None
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            if how == "torch_default":
                m.reset_parameters()
            elif how == "xavier_uniform":
                nn.init.xavier_uniform_(m.weight, generator=gen)
            else:
                nn.init.kaiming_uniform_(m.weight, nonlinearity="relu", generator=gen)
