"""Keras models on disk: ``.keras`` files written atomically, read with ``safe_mode=True``.

A ``.keras`` file is a zip archive with ``config.json`` (the layers), ``metadata.json`` and
``model.weights.h5``. :func:`load_keras_file` checks that before Keras sees it, loads it with
``safe_mode=True`` (a ``Lambda`` layer's Python code is never deserialised) and turns every failure
into one line naming the file. :func:`compare_predictions` is the inference comparison of sheet 2,
task 4: the logits of the saved model against those of the reloaded one, bit for bit.

>>> save_keras_model(build_keras_model("lenet"), "lenet.keras")       # doctest: +SKIP
>>> model = load_keras_file("lenet.keras")                             # doctest: +SKIP
"""

from __future__ import annotations

import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..fileio import atomic_path, open_regular, path_kind
from .keras_env import import_keras
from .persist import MAX_WEIGHTS_BYTES, PersistError

__all__ = ["load_keras_file", "save_keras_model", "keras_model_path", "predict_logits", "compare_predictions",
           "PredictionComparison", "round_trip"]


def keras_model_path(path: str | Path) -> Path:
    """A ``.keras`` file, or the ``model.keras`` of a run folder."""
    p = Path(path)
    if path_kind(p) == "folder":
        for name in ("model.keras", "checkpoint.keras"):
            if path_kind(p / name) == "file":
                return p / name
        raise PersistError(f"{p}: no model.keras or checkpoint.keras in this folder")
    return p


def save_keras_model(model: Any, path: str | Path) -> Path:
    """``model.save`` to ``path`` (which must end in ``.keras``) completely or not at all."""
    p = Path(path)
    if p.suffix != ".keras":
        raise PersistError(f"{p}: a Keras model file must end in .keras")
    with atomic_path(p) as tmp:
        model.save(tmp)
    return p


def load_keras_file(path: str | Path, *, compile: bool = False) -> Any:
    """A Keras model from a ``.keras`` file (or a run folder's ``model.keras``), loaded with ``safe_mode=True``;
    anything that is not a readable Keras model is a :class:`PersistError` in one line."""
    p = keras_model_path(path)
    if path_kind(p) is None:
        raise PersistError(f"{p}: no such file")
    with open_regular(p, "Keras model file", limit=MAX_WEIGHTS_BYTES, error=PersistError) as f:
        head = f.read(4)
        if head[:2] != b"PK":
            what = "a pickle / torch.save file" if head[:1] == b"\x80" else \
                "an HDF5 file (the old Keras 2 .h5 format)" if head == b"\x89HDF" else "not a zip archive"
            raise PersistError(f"{p}: not a Keras model file ({what}); a .keras file is a zip archive written by "
                               "model.save('name.keras')")
        try:
            with zipfile.ZipFile(f) as z:
                names = set(z.namelist())
                unpacked = sum(i.file_size for i in z.infolist())
        except (zipfile.BadZipFile, OSError, ValueError) as e:
            raise PersistError(f"{p}: a damaged zip archive ({e}); the file is corrupt or truncated") from None
    if unpacked > MAX_WEIGHTS_BYTES:
        raise PersistError(f"{p}: too large unpacked ({unpacked:,} bytes; gradlab loads models of at most "
                           f"{MAX_WEIGHTS_BYTES:,})")
    if "config.json" not in names:
        raise PersistError(f"{p}: a zip archive, but not a Keras model file (no config.json inside)")
    keras = import_keras()
    try:
        return keras.saving.load_model(p, safe_mode=True, compile=compile)
    except Exception as e:  # noqa: BLE001 - Keras raises many kinds for files it cannot read
        text = " ".join(str(e).split())
        if "safe_mode" in text:
            raise PersistError(f"{p}: refused: the model holds Python code (a Lambda layer) that Keras would have to "
                               "run to load it; gradlab loads with safe_mode=True") from None
        if "Could not locate" in text or "Unknown layer" in text:
            raise PersistError(f"{p}: the model uses a custom layer or function this Python does not know "
                               f"({text[:160]})") from None
        raise PersistError(f"{p}: Keras cannot read this model ({type(e).__name__}: {text[:160]}); the file is "
                           "corrupt or was written by an incompatible Keras") from None


def predict_logits(model: Any, x: np.ndarray, batch: int = 1000) -> np.ndarray:
    """The model's outputs for channels-last images ``x`` (inference mode), as a float numpy array."""
    keras = import_keras()
    outs = [np.asarray(keras.ops.convert_to_numpy(model(x[i:i + batch], training=False)))
            for i in range(0, len(x), batch)]
    return np.concatenate(outs) if outs else np.zeros((0,), np.float32)


@dataclass
class PredictionComparison:
    """The logits of two models on the same images: bit-identical or not, the largest difference, the
    images whose predicted class differs."""

    images: int
    bit_identical: bool
    max_abs_diff: float
    different_predictions: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare_predictions(a: Any, b: Any, x: np.ndarray) -> PredictionComparison:
    """Compare two Keras models' logits on ``x`` (channels last) bit for bit."""
    la, lb = predict_logits(a, x), predict_logits(b, x)
    same = la.shape == lb.shape and bool(np.array_equal(la, lb))
    diff = float(np.abs(la - lb).max()) if la.shape == lb.shape and la.size else float("inf")
    moved = int((la.argmax(-1) != lb.argmax(-1)).sum()) if la.shape == lb.shape else len(x)
    return PredictionComparison(len(x), same, 0.0 if same else diff, moved)


def round_trip(model: Any, path: str | Path, x: np.ndarray) -> PredictionComparison:
    """Save ``model`` to ``path`` (``.keras``), load it back and compare the two models' logits on ``x``."""
    save_keras_model(model, path)
    return compare_predictions(model, load_keras_file(path), x)
