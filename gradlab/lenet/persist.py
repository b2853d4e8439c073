"""Saving and loading models: weights in safetensors, everything else in a JSON file beside them.

``save_model(model, "out/model", ...)`` writes ``out/model.safetensors`` (tensors only: no
code can hide in it) and ``out/model.json`` (architecture, input normalisation, class
names, metrics, the SHA-256 of the weights). :func:`load_model` rebuilds the model from
the JSON, checks the weights' hash, names and shapes, and gives logits identical to the
saved model's, bit for bit. Pickles (``torch.save`` files) are refused: unpickling runs code.

>>> path = save_model(build_model("lenet"), "/tmp/gradlab-demo/model")   # doctest: +SKIP
>>> model, meta = load_model(path)                                          # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import GradlabError
from ..extras import require
from ..fileio import LIMITS, open_regular, path_kind, read_bytes, read_text, write_atomic
from ..jsonable import jsonable
from .models import Architecture, architecture, build_model

#: What a gradlab LeNet training checkpoint says it is (written by gradlab.lenet.train, read here).
CHECKPOINT_FORMAT = "gradlab-lenet-checkpoint"

__all__ = ["PersistError", "SavedModel", "save_model", "load_model", "refuse_unsafe", "model_paths", "FORMAT"]

FORMAT = "gradlab-lenet-model"
MAX_WEIGHTS_BYTES = LIMITS["weights file"]
NORMALISATION = {"scale": 1 / 255, "mean": 0.0, "std": 1.0,
                 "text": "x = pixel / 255 (values in [0, 1]), no mean/std normalisation, as in the reference notebook"}


class PersistError(GradlabError):
    """A model file that cannot be loaded safely: missing, corrupt, a pickle, weights that do not fit."""


@dataclass
class SavedModel:
    """What :func:`load_model` returns besides the model: the JSON metadata and the file paths."""

    meta: dict[str, Any]
    weights: Path
    config: Path


def model_paths(path: str | Path) -> tuple[Path, Path]:
    """``model``, ``model.safetensors`` or ``model.json`` -> (weights path, JSON path)."""
    p = Path(path)
    if path_kind(p) == "folder":
        p = p / "model"
    if p.suffix in (".safetensors", ".json"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".safetensors"), p.with_name(p.name + ".json")


def save_model(model: nn.Module, path: str | Path, *, config: Any = None, arch: Any = None,
               classes: list[str] | None = None, metrics: dict[str, Any] | None = None,
               dataset: dict[str, Any] | None = None) -> Path:
    """Write ``<path>.safetensors`` and ``<path>.json`` (atomically); returns the weights path."""
    require("safetensors", purpose="saving a model")
    from safetensors.torch import save

    from .. import __version__

    weights, meta_path = model_paths(path)
    if arch is None:
        arch = architecture(config.model if config is not None else "lenet")
    arch = architecture(arch)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    blob = save(state, metadata={"format": FORMAT})
    meta = {"format": FORMAT, "version": 1, "gradlab": __version__, "torch": torch.__version__,
            "architecture": arch.to_dict(), "normalisation": NORMALISATION,
            "classes": classes or [str(i) for i in range(arch.num_classes)],
            "dtype": str(next(iter(state.values())).dtype).replace("torch.", "") if state else "float32",
            "tensors": {k: list(v.shape) for k, v in state.items()},
            "sha256": hashlib.sha256(blob).hexdigest(), "weights": weights.name,
            "metrics": metrics or {}, "dataset": dataset or {},
            "train_config": config.to_dict() if hasattr(config, "to_dict") else (config or {})}
    write_atomic(weights, blob)
    write_atomic(meta_path, json.dumps(jsonable(meta), indent=1))
    return weights


_PICKLE_HINT = ("gradlab loads weights only from safetensors files (a pickle can run code when it is loaded); "
                "convert a trusted torch.save file yourself with safetensors.torch.save_file(model.state_dict(), ...)")


def refuse_unsafe(path: Path, error: BaseException | None = None) -> None:
    """Raise :class:`PersistError` when a load failed because the file holds pickled code."""
    text = str(error or "")
    # torch's message always mentions weights_only; only a refused global means pickled code
    if "Unsupported global" in text or "GLOBAL" in text:
        raise PersistError(f"{path}: the file contains pickled Python objects other than tensors "
                           f"(refused: torch.load(weights_only=True) would have to run code). {_PICKLE_HINT}")


def sniff(head: bytes) -> str:
    """What the first bytes of a file say it is: ``"safetensors"`` (an 8-byte little-endian header length,
    then the JSON header's ``{``), ``"zip"`` (torch.save's format), ``"pickle"`` (a pickle's protocol
    byte 0x80) or ``"other"``. A safetensors file is recognised first: its header length may well start
    with the byte 0x80 or the letters "PK".

    >>> sniff((128).to_bytes(8, "little") + b'{"__metadata__"')
    'safetensors'
    >>> sniff(b"\\x80\\x02}q\\x00"), sniff(b"PK\\x03\\x04")
    ('pickle', 'zip')
    """
    if len(head) >= 9 and head[8:9] == b"{" and 2 <= int.from_bytes(head[:8], "little") <= 100_000_000:
        return "safetensors"
    if head[:2] == b"PK":
        return "zip"
    if head[:1] == b"\x80":
        return "pickle"
    return "other"


def _sniff(path: Path) -> str:
    with open_regular(path, "model file", limit=MAX_WEIGHTS_BYTES, error=PersistError) as f:
        return sniff(f.read(9))


def load_model(path: str | Path, *, device: str = "cpu") -> tuple[nn.Sequential, SavedModel]:
    """Rebuild a saved model (eval mode); any damage or mismatch is a :class:`PersistError`."""
    require("safetensors", purpose="loading a saved model")
    from safetensors import SafetensorError
    from safetensors.torch import load

    weights, meta_path = model_paths(path)
    if Path(path).suffix not in ("", ".safetensors", ".json") and path_kind(path) is not None:
        kind = _sniff(Path(path))
        if kind in ("zip", "pickle"):
            raise PersistError(f"{path}: this is a pickle / torch.save file, not a safetensors model. {_PICKLE_HINT}")
    for p in (weights, meta_path):
        if path_kind(p) is None:
            raise PersistError(f"{p}: no such file (a saved model is a .safetensors file and a .json file beside it)")
    if _sniff(weights) in ("zip", "pickle"):
        raise PersistError(f"{weights}: this is a pickle / torch.save file, not safetensors. {_PICKLE_HINT}")
    text = read_text(meta_path, "model description", error=PersistError)
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as e:
        raise PersistError(f"{meta_path}: not valid JSON ({e})") from None
    except RecursionError:
        raise PersistError(f"{meta_path}: not a gradlab model description (nested too deeply)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise PersistError(f"{meta_path}: not a gradlab model description (format {meta.get('format') if isinstance(meta, dict) else None!r})")
    blob = read_bytes(weights, "weights file", limit=MAX_WEIGHTS_BYTES, error=PersistError)
    digest = hashlib.sha256(blob).hexdigest()
    if meta.get("sha256") and digest != meta["sha256"]:
        raise PersistError(f"{weights}: the weights do not match their checksum in {meta_path.name} "
                           f"(SHA-256 {digest[:12]}..., expected {str(meta['sha256'])[:12]}...); the file is corrupt "
                           "or was changed")
    try:
        state = load(blob)
    except (SafetensorError, ValueError, RuntimeError, OSError) as e:
        raise PersistError(f"{weights}: not a valid safetensors file ({e}); it is corrupt or truncated") from None
    try:
        model = build_model(meta["architecture"])
    except (KeyError, GradlabError) as e:
        raise PersistError(f"{meta_path}: cannot rebuild the architecture ({e})") from None
    fit_weights(model, state, weights)
    model.to(device).eval()
    return model, SavedModel(meta, weights, meta_path)


def fit_weights(model: nn.Module, state: Any, where: str | Path) -> None:
    """Load ``state`` into ``model`` after checking every tensor's name, shape and values; a
    :class:`PersistError` naming ``where`` and the tensor when they do not fit."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise PersistError(f"{where}: the weights are not a table of tensors")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise PersistError(f"{where}: the tensors do not fit the architecture (missing: {', '.join(missing) or '-'}; "
                           f"unexpected: {', '.join(map(str, extra)) or '-'})")
    for k, v in state.items():
        if tuple(v.shape) != tuple(expected[k].shape):
            raise PersistError(f"{where}: tensor {k} has shape {tuple(v.shape)}, the architecture needs "
                               f"{tuple(expected[k].shape)}")
        if v.is_floating_point() and not torch.isfinite(v).all():
            raise PersistError(f"{where}: tensor {k} holds NaN or inf values")
    model.load_state_dict(state)


def checkpoint_model(state: dict[str, Any], where: str | Path) -> tuple[nn.Sequential, Architecture, dict[str, Any]]:
    """The model of a training checkpoint (see :func:`gradlab.lenet.train.load_checkpoint`), its architecture
    and its training settings; a damaged checkpoint or weights that do not fit are a :class:`PersistError`."""
    try:
        arch = architecture(json.loads(state["architecture"]))
        cfg = json.loads(state["config"])
        if not isinstance(cfg, dict):
            raise TypeError("the settings are not a table")
    except (KeyError, TypeError, ValueError, RecursionError) as e:
        raise PersistError(f"{where}: a damaged checkpoint: its architecture or settings cannot be read "
                           f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else '-'})") from None
    except GradlabError as e:
        raise PersistError(f"{where}: cannot rebuild the architecture ({e})") from None
    try:
        model = build_model(arch)
    except GradlabError as e:
        raise PersistError(f"{where}: cannot rebuild the architecture ({e})") from None
    fit_weights(model, state.get("model"), where)
    return model, arch, cfg


def load_any(path: str | Path) -> tuple[nn.Sequential, dict[str, Any]]:
    """A model from a saved model (``.safetensors``/``.json``/stem), a training checkpoint (``.pt``) or a run
    folder (its ``model`` or ``checkpoint.pt``); returns the model (eval mode) and what is known about it:
    ``dataset``, ``classes``, ``architecture``, ``train_config``, ``source``."""
    from .data import CLASS_NAMES

    p = Path(path)
    if path_kind(p) == "folder":
        if path_kind(p / "model.safetensors"):
            p = p / "model"
        elif path_kind(p / "checkpoint.pt"):
            p = p / "checkpoint.pt"
        else:
            raise PersistError(f"{p}: no model.safetensors or checkpoint.pt in this folder")
    if p.suffix == ".pt" or (path_kind(p) and p.suffix not in (".safetensors", ".json") and _sniff(p) == "zip"):
        state = load_checkpoint(p)
        model, arch, cfg = checkpoint_model(state, p)
        model.eval()
        return model, {"dataset": cfg.get("dataset"), "classes": CLASS_NAMES.get(str(cfg.get("dataset")), None),
                       "architecture": arch.to_dict(), "train_config": cfg, "source": str(p),
                       "epoch": state.get("epoch")}
    model, saved = load_model(p)
    cfg = saved.meta.get("train_config") or {}
    return model, {"dataset": saved.meta.get("dataset", {}).get("name") or cfg.get("dataset"),
                   "classes": saved.meta.get("classes"), "architecture": saved.meta["architecture"],
                   "train_config": cfg, "source": str(saved.weights), "metrics": saved.meta.get("metrics", {})}


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A training checkpoint, read with ``torch.load(weights_only=True)``; a damaged one is a clear error."""
    p = Path(path)
    if path_kind(p) is None:
        raise PersistError(f"{p}: no such checkpoint")
    try:
        import warnings

        with warnings.catch_warnings(), open_regular(p, "checkpoint", error=PersistError) as f:
            warnings.simplefilter("ignore", UserWarning)  # torch warns about foreign pickle protocols before refusing them
            state = torch.load(f, map_location="cpu", weights_only=True)
    except PersistError:
        raise
    except Exception as e:  # noqa: BLE001 - torch raises many kinds for damaged files
        refuse_unsafe(p, e)
        raise PersistError(f"{p}: not a readable checkpoint: the file is corrupt or truncated "
                           f"({_torch_reason(e)})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise PersistError(f"{p}: not a gradlab LeNet checkpoint")
    return state


def _torch_reason(error: BaseException) -> str:
    """The informative line of torch.load's error (its messages open with pages of advice)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("Unsupported operand", "PytorchStreamReader", "invalid load key")) or "EOF" in line:
            return line.split(". ")[0][:120]
    return f"{type(error).__name__}: {lines[0][:120]}" if lines else type(error).__name__
