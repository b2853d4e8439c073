"""The lab's augmentation as Keras preprocessing layers (sheet 2, task 5, the Keras way).

The same ``--augment`` spec as the torch side (:class:`gradlab.lenet.augment.Augment`) becomes a
``keras.Sequential`` of Keras's own image augmentation layers: ``RandomRotation``,
``RandomTranslation``, ``RandomZoom``, ``RandomShear``, ``RandomFlip`` and ``RandomErasing``, each
filling with black (0) where the image moves away, and each seeded. They act in training only
(``pipeline(x, training=True)``); at inference they pass the images through unchanged.

>>> pipeline = keras_augmentation(Augment.parse("affine"), seed=0)     # doctest: +SKIP
>>> [layer.__class__.__name__ for layer in pipeline.layers]             # doctest: +SKIP
['RandomRotation', 'RandomTranslation', 'RandomZoom', 'RandomShear']
"""

from __future__ import annotations

import math
from typing import Any

from .augment import Augment, AugmentError
from .keras_env import import_keras

__all__ = ["keras_augmentation", "describe_keras_augmentation"]


def keras_augmentation(aug: Augment, seed: int = 0) -> Any:
    """Keras preprocessing layers doing what ``aug`` describes, for channels-last images in [0, 1]."""
    keras = import_keras()
    L = keras.layers
    layers: list[Any] = []
    fill = {"fill_mode": "constant", "fill_value": 0.0}
    if aug.degrees:
        layers.append(L.RandomRotation(aug.degrees / 360.0, seed=seed, **fill))  # factor: a fraction of a turn
    if aug.translate:
        layers.append(L.RandomTranslation(aug.translate, aug.translate, seed=seed + 1, **fill))
    if aug.scale != (1.0, 1.0):
        lo, hi = aug.scale  # Keras: a negative zoom factor zooms in (the image grows), a positive one out
        layers.append(L.RandomZoom((1.0 - hi, 1.0 - lo), seed=seed + 2, **fill))
    if aug.shear:
        layers.append(L.RandomShear(x_factor=math.tan(math.radians(aug.shear)), seed=seed + 3, **fill))
    if aug.hflip:
        if aug.hflip != 0.5:
            raise AugmentError(f"augmentation: Keras's RandomFlip mirrors half the images; hflip={aug.hflip:g} "
                               "works on the torch side only (use hflip=0.5 with Keras)")
        layers.append(L.RandomFlip("horizontal", seed=seed + 4))
    if aug.erase:
        layers.append(L.RandomErasing(factor=(aug.erase, aug.erase), scale=(0.02, 0.2), fill_value=0.0,
                                      value_range=(0.0, 1.0), seed=seed + 5))
    return keras.Sequential(layers, name="augmentation")


def describe_keras_augmentation(aug: Augment) -> str:
    """The Keras layers of ``aug`` in one line, as Keras code would create them."""
    parts = []
    if aug.degrees:
        parts.append(f"RandomRotation({aug.degrees / 360:.4g})")
    if aug.translate:
        parts.append(f"RandomTranslation({aug.translate:g}, {aug.translate:g})")
    if aug.scale != (1.0, 1.0):
        parts.append(f"RandomZoom(({1 - aug.scale[1]:.3g}, {1 - aug.scale[0]:.3g}))")
    if aug.shear:
        parts.append(f"RandomShear(x_factor={math.tan(math.radians(aug.shear)):.3g})")
    if aug.hflip:
        parts.append('RandomFlip("horizontal")')
    if aug.erase:
        parts.append(f"RandomErasing(factor=({aug.erase:g}, {aug.erase:g}))")
    return ", ".join(parts) or "none"
