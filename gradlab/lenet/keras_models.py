"""The lab's architectures as Keras models: the same layer spec, written as Keras code would write it.

An activation line right after a conv or dense layer becomes that layer's ``activation=`` (as in
``Conv2D(6, 5, padding="same", activation="sigmoid")``), so the reference LeNet has the 8 Keras layers
of the usual Keras code; ``conv ... pad=2`` with a 5x5 kernel is ``padding="same"``. Images are
channels last, ``(None, 28, 28, 1)``. Weights start as Keras initialises them (Glorot uniform, zero
biases), from ``keras.utils.set_random_seed(seed)``. Layer names are the ones a fresh Keras session
gives (``conv2d``, ``conv2d_1``, ...), whatever was built before in the same process.

>>> model = build_keras_model("lenet")          # doctest: +SKIP
>>> model.count_params()                        # doctest: +SKIP
61706
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import GradlabError
from ..model.networks import Activation, Conv2d, Dense, Flatten, Input, Pool2d, parse_spec
from .keras_env import import_keras
from .models import Architecture, ModelError, architecture, build_model

__all__ = ["build_keras_model", "KERAS_ACTIVATIONS"]

#: gradlab's activation names -> Keras's
KERAS_ACTIVATIONS = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "gelu": "gelu", "elu": "elu",
                     "leaky_relu": "leaky_relu", "identity": "linear"}


def _snake(name: str) -> str:
    """Keras's automatic layer name for a class name: ``AveragePooling2D`` -> ``average_pooling2d``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def build_keras_model(spec: "str | Architecture | dict[str, Any] | Path", *, seed: int | None = None) -> Any:
    """A ``keras.Sequential`` for an architecture (a variant name, spec, TOML file or :class:`Architecture`);
    the spec is first checked as for torch (:func:`gradlab.lenet.models.build_model`), so a mistake names its
    layer the same way."""
    keras = import_keras()
    arch = architecture(spec)
    build_model(arch)  # every check of the spec and of the sizes, before Keras builds anything
    if seed is not None:
        keras.utils.set_random_seed(seed)
    L = keras.layers
    counters: dict[str, int] = {}

    def make(cls: Any, *args: Any, **kw: Any) -> Any:
        base = _snake(cls.__name__)
        k = counters.get(base, 0)
        counters[base] = k + 1
        return cls(*args, name=base if k == 0 else f"{base}_{k}", **kw)

    c, h, w = arch.input_shape
    layers: list[Any] = []
    image = True
    for i, line in enumerate(arch.layers):
        where = f"{arch.name}, layer {i + 1} ({line!r})"
        tokens = line.split()
        kind = tokens[0].lower()
        if kind == "dropout":
            p = float(tokens[1]) if len(tokens) > 1 else 0.5
            layers.append(make(L.SpatialDropout2D if image else L.Dropout, p))
            continue
        if kind in ("batchnorm", "bn", "batchnorm2d", "batchnorm1d"):
            layers.append(make(L.BatchNormalization))
            continue
        try:
            (layer,) = parse_spec(line)
        except GradlabError as e:  # pragma: no cover - build_model has parsed it already
            raise ModelError(f"{where}: {e.message}") from None
        if isinstance(layer, Conv2d):
            kh, kw = layer.kernel
            padding = "valid"
            if isinstance(layer.padding, str):
                padding = layer.padding
            elif layer.padding != (0, 0):
                ph, pw = layer.padding
                if layer.stride == (1, 1) and kh % 2 and kw % 2 and (ph, pw) == ((kh - 1) // 2, (kw - 1) // 2):
                    padding = "same"
                else:
                    layers.append(make(L.ZeroPadding2D, (ph, pw)))
            layers.append(make(L.Conv2D, layer.filters, layer.kernel, strides=layer.stride, padding=padding,
                               dilation_rate=layer.dilation, groups=layer.groups, use_bias=layer.bias))
        elif isinstance(layer, Pool2d):
            if layer.padding != (0, 0):
                raise ModelError(f"{where}: Keras's pooling layers take no padding; pad with a conv layer instead")
            cls = L.MaxPooling2D if layer.mode == "max" else L.AveragePooling2D
            layers.append(make(cls, layer.kernel, strides=layer.stride))
        elif isinstance(layer, Flatten):
            layers.append(make(L.Flatten))
            image = False
        elif isinstance(layer, Dense):
            layers.append(make(L.Dense, layer.units, use_bias=layer.bias))
        elif isinstance(layer, Activation):
            name = KERAS_ACTIVATIONS[layer.name]
            last = layers[-1] if layers else None
            if isinstance(last, (L.Conv2D, L.Dense)) and last.activation is keras.activations.linear:
                last.activation = keras.activations.get(name)  # Conv2D(..., activation="sigmoid")
            else:
                layers.append(make(L.Activation, name))
        elif isinstance(layer, Input):  # pragma: no cover - build_model refuses it
            raise ModelError(f"{where}: give the input as input_shape, not as a layer")
    model = keras.Sequential([keras.Input((h, w, c)), *layers], name=arch.name)
    return model
