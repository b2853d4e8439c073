"""Tiny data for the LeNet lab tests: real embedded MNIST digits, a few hundred of them."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import torch

# two pytest workers on two cores: one torch thread each (more threads fight over the cores)
torch.set_num_threads(1)


def write_idx(path: Path, array: np.ndarray, *, gz: bool = False, truncate: int = 0) -> Path:
    """An IDX file (uint8) for ``array``; ``truncate`` drops that many bytes from the end."""
    head = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = head + array.astype(np.uint8).tobytes()
    if truncate:
        raw = raw[:-truncate]
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wb") as f:
            f.write(raw)
    else:
        path.write_bytes(raw)
    return path


def write_idx_dataset(folder: Path, n_train: int = 64, n_test: int = 32, *, gz: bool = True, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    write_idx(folder / "train-images-idx3-ubyte", rng.integers(0, 256, (n_train, 28, 28)), gz=gz)
    write_idx(folder / "train-labels-idx1-ubyte", rng.integers(0, 10, n_train), gz=gz)
    write_idx(folder / "t10k-images-idx3-ubyte", rng.integers(0, 256, (n_test, 28, 28)), gz=gz)
    write_idx(folder / "t10k-labels-idx1-ubyte", rng.integers(0, 10, n_test), gz=gz)
    return folder
