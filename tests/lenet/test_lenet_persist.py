import hashlib
import json
import pickle

import pytest
import torch

from gradlab.lenet.data import embedded_mnist, to_float
from gradlab.lenet.models import build_model
from gradlab.lenet.persist import PersistError, load_any, load_model, save_model
from gradlab.lenet.train import TrainConfig, load_checkpoint, train_run

import lenet_helpers  # noqa: F401  (one torch thread per test worker)


@pytest.fixture()
def saved(tmp_path):
    model = build_model("lenet-bn", seed=1)
    model.train()
    model(torch.rand(8, 1, 28, 28))  # move the batch-norm running statistics away from their defaults
    model.eval()
    w = save_model(model, tmp_path / "m", arch="lenet-bn", classes=list("abcdefghij"), metrics={"test_acc": 0.5})
    return model, w


def test_round_trip_gives_bit_identical_logits(saved):
    model, w = saved
    x = torch.rand(64, 1, 28, 28)
    loaded, info = load_model(w)
    assert torch.equal(model(x), loaded(x))
    meta = info.meta
    assert meta["architecture"]["name"] == "lenet-bn" and meta["classes"][0] == "a"
    assert meta["normalisation"]["scale"] == 1 / 255 and meta["metrics"]["test_acc"] == 0.5
    assert meta["tensors"]["0.weight"] == [6, 1, 5, 5] and len(meta["sha256"]) == 64
    for other in (w.with_suffix(".json"), w.with_suffix(""), w.parent):  # any of the paths names the model
        if other == w.parent:
            (w.parent / "model.safetensors").write_bytes(w.read_bytes())
            (w.parent / "model.json").write_text(w.with_suffix(".json").read_text())
        assert torch.equal(load_any(other)[0](x), model(x))


def test_corrupt_weights_are_refused(saved):
    _, w = saved
    data = bytearray(w.read_bytes())
    data[-5] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(PersistError, match="do not match their checksum"):
        load_model(w)


def test_truncated_weights_without_checksum_are_refused(saved):
    _, w = saved
    meta = json.loads(w.with_suffix(".json").read_text())
    del meta["sha256"]
    w.with_suffix(".json").write_text(json.dumps(meta))
    w.write_bytes(w.read_bytes()[:200])
    with pytest.raises(PersistError, match="not a valid safetensors file"):
        load_model(w)


def test_pickles_are_refused(saved, tmp_path):
    _, w = saved
    torch.save(build_model("lenet-bn").state_dict(), w)  # a torch.save zip where safetensors should be
    with pytest.raises(PersistError, match="pickle"):
        load_model(w)
    p = tmp_path / "evil.pt"
    p.write_bytes(pickle.dumps(print))  # a pickle that names a Python callable
    with pytest.raises(PersistError, match="pickle"):
        load_any(p)


def test_a_checkpoint_with_code_in_it_is_refused(tmp_path):
    class Sneaky:
        def __reduce__(self):
            return (print, ("this must never run",))

    p = tmp_path / "checkpoint.pt"
    torch.save({"format": "gradlab-lenet-checkpoint", "payload": Sneaky()}, p)
    with pytest.raises(PersistError, match="pickled Python objects"):
        load_checkpoint(p)


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    data = embedded_mnist().subset(64, 32)
    cfg = TrainConfig(dataset="mnist5k", epochs=1, batch_size=32, eval_shifted=False)
    train_run(cfg, data, tmp_path / "run")
    ck = tmp_path / "run" / "checkpoint.pt"
    ck.write_bytes(ck.read_bytes()[:1000])
    with pytest.raises(PersistError, match="corrupt or truncated"):
        load_checkpoint(ck)


@pytest.mark.parametrize("content", [b"x", b"\x80\x02garbage", b"PK\x03\x04 not really a zip"])
def test_garbage_is_called_corrupt_not_pickled_code(tmp_path, content):
    p = tmp_path / "checkpoint.pt"
    p.write_bytes(content)
    with pytest.raises(PersistError, match="corrupt or truncated") as info:
        load_checkpoint(p)
    assert "pickled" not in str(info.value) and "Weights only load failed" not in str(info.value)


def test_weights_that_do_not_fit_the_architecture(saved):
    _, w = saved
    meta = json.loads(w.with_suffix(".json").read_text())
    meta["architecture"]["layers"] = ["conv 6@5x5 pad=2", "relu", "maxpool 2", "flatten", "dense 10"]
    w.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(PersistError, match="do not fit the architecture"):
        load_model(w)


def test_missing_files(tmp_path):
    with pytest.raises(PersistError, match="no such file"):
        load_model(tmp_path / "nothing")


def test_trained_run_saves_a_model_that_reloads_identically(tmp_path):
    data = embedded_mnist().subset(128, 64)
    cfg = TrainConfig(dataset="mnist5k", model="lenet-dropout", optimizer="adam", epochs=1, batch_size=32,
                      eval_shifted=False)
    train_run(cfg, data, tmp_path / "run")
    from_ckpt, _ = load_any(tmp_path / "run" / "checkpoint.pt")
    from_model, info = load_any(tmp_path / "run")
    x = to_float(data.test_x)
    assert torch.equal(from_ckpt(x), from_model(x))
    assert info["dataset"] == "mnist5k" and info["classes"][3] == "3"


def test_a_safetensors_file_whose_header_length_starts_with_0x80_is_not_taken_for_a_pickle(tmp_path, capsys):
    """Issue 13, item 11: the header length is little-endian, so its first byte is 0x80 for about 1 in 32
    architectures; pad the metadata until it is, and the model must still load and be summarised."""
    from safetensors.torch import load, save

    from gradlab.cli import main
    from gradlab.lenet.persist import FORMAT, sniff

    model = build_model("lenet", seed=3)
    w = save_model(model, tmp_path / "m")
    state = load(w.read_bytes())
    blob = next(b for b in (save(state, metadata={"format": FORMAT, "pad": "x" * k}) for k in range(300))
                if b[0] == 0x80)
    assert blob[0] == 0x80 and sniff(blob[:9]) == "safetensors"
    w.write_bytes(blob)
    meta = json.loads(w.with_suffix(".json").read_text())
    meta["sha256"] = hashlib.sha256(blob).hexdigest()
    w.with_suffix(".json").write_text(json.dumps(meta))
    loaded, _ = load_model(w)
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(loaded(x), model.eval()(x))
    assert load_any(w)[1]["architecture"]["name"] == "lenet"
    assert main(["lenet", "summary", str(w)]) == 0
    assert "61,706" in capsys.readouterr().out


@pytest.mark.parametrize("head, kind", [
    (b"\x80\x04\x95\x00\x00\x00\x00\x00\x00", "pickle"),  # pickle protocol 4
    (b"PK\x03\x04\x00\x00\x08\x08\x00", "zip"),  # torch.save
    ((0x4B50).to_bytes(8, "little") + b"{", "safetensors"),  # a header length whose bytes start with "PK"
    (b"", "other"),
])
def test_sniff(head, kind):
    from gradlab.lenet.persist import sniff

    assert sniff(head) == kind


def test_a_checkpoint_whose_weights_do_not_fit_names_the_tensor(tmp_path):
    from gradlab.lenet.train import checkpoint_to_model

    p = tmp_path / "c.pt"
    state = {"format": "gradlab-lenet-checkpoint", "model": build_model("lenet-wide").state_dict(),
             "architecture": json.dumps({"name": "lenet", "layers": build_model.__globals__["VARIANTS"]["lenet"][1]}),
             "config": json.dumps(TrainConfig(dataset="mnist5k").to_dict()), "history": "[]", "epoch": 1}
    torch.save(state, p)
    with pytest.raises(PersistError, match=r"tensor 0\.weight has shape \(12, 1, 5, 5\)"):
        checkpoint_to_model(p, tmp_path / "out")
    with pytest.raises(PersistError, match="tensor 0.weight"):
        load_any(p)
    assert not (tmp_path / "out.safetensors").exists()
