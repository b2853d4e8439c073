import gzip
import hashlib

import numpy as np
import pytest
import torch

from gradlab.lenet.data import DataError, download, embedded_mnist, find_idx_files, load_dataset, read_idx, to_float

from lenet_helpers import write_idx, write_idx_dataset


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path, gz):
    a = np.arange(2 * 3 * 4).reshape(2, 3, 4) % 256
    p = write_idx(tmp_path / "x-idx3-ubyte", a, gz=gz)
    assert np.array_equal(read_idx(p), a)


def test_truncated_and_corrupt_files_are_clear_errors(tmp_path):
    p = write_idx(tmp_path / "t", np.zeros((5, 28, 28)), truncate=10)
    with pytest.raises(DataError, match="truncated.*5 x 28 x 28"):
        read_idx(p)
    bad = tmp_path / "bad"
    bad.write_bytes(b"hello world, not an idx file")
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(bad)
    gz = tmp_path / "broken.gz"
    gz.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + b"\x00\x00\x00\x05" + b"12345")[:-12])
    with pytest.raises(DataError, match="corrupt or truncated"):
        read_idx(gz)
    with pytest.raises(DataError, match="no such file"):
        read_idx(tmp_path / "missing")


def test_load_idx_folder_in_either_spelling(tmp_path):
    d = write_idx_dataset(tmp_path / "fashion", 40, 20, gz=True)
    ds = load_dataset("auto", d)
    assert ds.name == "fashion-mnist" and ds.train_x.shape == (40, 28, 28) and ds.test_y.shape == (20,)
    assert ds.train_x.dtype == torch.uint8 and ds.train_y.dtype == torch.int64
    assert "40 train / 20 test" in ds.notice
    plain = write_idx_dataset(tmp_path / "digits", 8, 4, gz=False)
    assert find_idx_files(plain) is not None and load_dataset("mnist", plain).name == "mnist"
    with pytest.raises(DataError, match="four IDX files"):
        load_dataset("mnist", tmp_path / "nothing-here")


def test_mismatched_image_and_label_counts(tmp_path):
    d = write_idx_dataset(tmp_path / "d", 10, 5)
    write_idx(d / "t10k-labels-idx1-ubyte", np.zeros(4), gz=True)
    with pytest.raises(DataError, match="5 images but 4 labels"):
        load_dataset("mnist", d)


def test_embedded_mnist_is_a_stratified_seeded_split():
    ds = embedded_mnist()
    assert ds.train_x.shape == (4000, 28, 28) and ds.test_x.shape == (1000, 28, 28)
    assert torch.bincount(ds.test_y).tolist() == [100] * 10
    assert torch.bincount(ds.train_y).tolist() == [400] * 10
    # train and test hold different images, the split is reproducible and the seed changes it
    train_rows = {bytes(r) for r in ds.train_x.reshape(4000, -1).numpy()}
    assert not any(bytes(r) in train_rows for r in ds.test_x.reshape(1000, -1).numpy())
    again, other = embedded_mnist(), embedded_mnist(seed=1)
    assert torch.equal(again.test_x, ds.test_x) and not torch.equal(other.test_x, ds.test_x)
    assert "embedded MNIST subset" in ds.notice and ds.train_x.float().mean() > 20  # real digits, not blank
    x = to_float(ds.test_x[:3])
    assert x.shape == (3, 1, 28, 28) and 0 <= float(x.min()) and float(x.max()) <= 1


def test_download_verifies_checksums(tmp_path):
    src = write_idx_dataset(tmp_path / "mirror", 6, 3, gz=True)
    sums = {k: hashlib.md5((src / f"{stem}.gz").read_bytes()).hexdigest() for k, stem in
            [("train_x", "train-images-idx3-ubyte"), ("train_y", "train-labels-idx1-ubyte"),
             ("test_x", "t10k-images-idx3-ubyte"), ("test_y", "t10k-labels-idx1-ubyte")]}
    dest = download("mnist", tmp_path / "cache", mirrors=[src.as_uri() + "/"], checksums=sums)
    assert load_dataset("mnist", dest).train_x.shape == (6, 28, 28)
    wrong = dict(sums, train_x="0" * 32)
    with pytest.raises(DataError, match="checksum mismatch"):
        download("mnist", tmp_path / "cache2", mirrors=[src.as_uri() + "/"], checksums=wrong)
    assert not (tmp_path / "cache2" / "train-images-idx3-ubyte.gz").exists()  # nothing unverified is kept


def test_unknown_dataset():
    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset("cifar")
