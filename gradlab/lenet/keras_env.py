"""Keras 3 on the torch backend: the one place gradlab imports Keras, and Keras's optimizer table.

gradlab sets ``KERAS_BACKEND=torch`` before Keras is imported (no TensorFlow is needed or used), so
Keras's layers compute with the same torch that the rest of the lab uses. Importing Keras takes
several seconds (it imports torch and torch's compiler), so only the Keras commands do it.

>>> KERAS_DEFAULT_LR["adam"], KERAS_DEFAULT_LR["sgd"]
(0.001, 0.01)
>>> keras = import_keras()                      # doctest: +SKIP
"""

from __future__ import annotations

import os
import sys
from typing import Any

from ..errors import GradlabError
from ..extras import require

__all__ = ["KerasError", "import_keras", "KERAS_OPTIMIZERS", "KERAS_DEFAULT_LR", "make_keras_optimizer"]


class KerasError(GradlabError):
    """Keras cannot be used here (another backend already loaded) or refuses a setting."""


#: lower-case name -> the class in ``keras.optimizers`` (the optimizers of Keras's "Optimizers" page)
KERAS_OPTIMIZERS: dict[str, str] = {
    "sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "adamax": "Adamax", "nadam": "Nadam", "rmsprop": "RMSprop",
    "adagrad": "Adagrad", "adadelta": "Adadelta", "adafactor": "Adafactor", "lion": "Lion", "ftrl": "Ftrl",
    "lamb": "Lamb",
}
#: Keras 3's own default learning rates (the ``learning_rate=`` default of each class; a test reads them from
#: Keras's signatures): 0.01 for SGD, 0.001 for every other optimizer
KERAS_DEFAULT_LR: dict[str, float] = {name: (0.01 if name == "sgd" else 0.001) for name in KERAS_OPTIMIZERS}


def import_keras(purpose: str = "the Keras side of the LeNet lab") -> Any:
    """The ``keras`` module on the torch backend; a :class:`KerasError` when Keras was already imported with
    another backend, a :class:`gradlab.extras.MissingExtraError` when Keras is not installed."""
    loaded = sys.modules.get("keras")
    if loaded is None:
        os.environ["KERAS_BACKEND"] = "torch"
    require("keras", purpose=purpose)
    import keras

    backend = keras.backend.backend()
    if backend != "torch":
        raise KerasError(f"Keras was imported with the {backend!r} backend before gradlab; gradlab uses Keras on "
                         "torch: start a fresh Python with KERAS_BACKEND=torch (or import gradlab's Keras side first)")
    return keras


def make_keras_optimizer(name: str, lr: float, *, momentum: float = 0.0, weight_decay: float = 0.0,
                         decay_steps: int | None = None) -> Any:
    """A Keras optimizer by its lower-case name, with Keras's defaults for everything not given; with
    ``decay_steps`` the rate follows Keras's ``CosineDecay`` from ``lr`` to 0 over that many steps.

    >>> make_keras_optimizer("lion", 1e-4).learning_rate   # doctest: +SKIP
    """
    keras = import_keras()
    key = name.lower()
    if key not in KERAS_OPTIMIZERS:
        raise KerasError(f"unknown Keras optimizer {name!r}; choose from {', '.join(KERAS_OPTIMIZERS)}")
    kw: dict[str, Any] = {}
    if weight_decay:
        kw["weight_decay"] = weight_decay
    if momentum:
        if key not in ("sgd", "rmsprop"):
            raise KerasError(f"momentum applies to sgd and rmsprop; {key} has its own moment estimates")
        kw["momentum"] = momentum
    rate: Any = lr
    if decay_steps:
        rate = keras.optimizers.schedules.CosineDecay(lr, decay_steps=decay_steps)
    return getattr(keras.optimizers, KERAS_OPTIMIZERS[key])(learning_rate=rate, **kw)
