"""The trainer's speed settings (issue 16, item 4): channels-last weights, torch.compile when it pays and a
clean fallback. No test here compiles anything: the suite stays fast."""

import pytest
import torch

from gradlab.cli import main
from gradlab.lenet import speed
from gradlab.lenet.data import embedded_mnist
from gradlab.lenet.models import build_model
from gradlab.lenet.speed import AUTO_COMPILE_STEPS, channels_last, compiled
from gradlab.lenet.train import TrainConfig, TrainError, train_run

import lenet_helpers  # noqa: F401  (one torch thread per test worker)


@pytest.fixture(scope="module")
def tiny():
    return embedded_mnist().subset(128, 64)


def cfg(**kw):
    base = dict(dataset="mnist5k", model="lenet", optimizer="sgd", lr=0.5, epochs=2, batch_size=32, runs=1,
                eval_shifted=False)
    base.update(kw)
    return TrainConfig(**base)


def test_channels_last_changes_the_layout_not_the_numbers():
    x = torch.rand(8, 1, 28, 28)
    plain = build_model("lenet", seed=3)
    fast = channels_last(build_model("lenet", seed=3))
    assert fast[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), fast.state_dict().values()))
    assert torch.allclose(plain(x), fast(x), rtol=1e-5, atol=1e-6)
    dense = build_model("flatten | dense 10")  # no 4-d weights: left alone
    assert channels_last(dense) is dense


@pytest.fixture(autouse=True)
def fresh_shared(monkeypatch):
    """Every test starts without the process's compiled function (a fake one must not leak into others)."""
    monkeypatch.setattr(speed, "_SHARED", [])


def fake_compile(made):
    def compile(fn, **kw):
        made.append(kw)
        return fn
    return compile


def test_auto_compiles_long_runs_only(monkeypatch):
    made: list = []
    monkeypatch.setattr(torch, "compile", fake_compile(made))
    model = build_model("lenet")
    assert not compiled(model, None, steps=AUTO_COMPILE_STEPS - 1).compiled
    assert not compiled(model, False, steps=10 * AUTO_COMPILE_STEPS).compiled
    assert made == []
    if speed.compiler_missing(torch.device("cpu")) is None:
        assert compiled(model, None, steps=AUTO_COMPILE_STEPS).compiled
        assert compiled(model, True, steps=1).compiled
        assert made == [{"dynamic": False}]  # once per process, not once per model


def test_one_compiled_function_serves_every_model(monkeypatch):
    made: list = []
    monkeypatch.setattr(torch, "compile", fake_compile(made))
    monkeypatch.setattr(speed, "compiler_missing", lambda device: None)
    a, b = build_model("lenet", seed=1), build_model("lenet-relu", seed=2)
    fa, fb = compiled(a, True, steps=1), compiled(b, True, steps=1)
    x = torch.rand(4, 1, 28, 28)
    assert len(made) == 1
    assert torch.equal(fa(x), a(x)) and torch.equal(fb(x), b(x))  # each Forward runs its own model
    assert not torch.equal(fa(x), fb(x))


def test_no_compiler_is_one_line_and_a_plain_run(monkeypatch):
    monkeypatch.setattr(speed.shutil, "which", lambda name: None)
    monkeypatch.delenv("CXX", raising=False)
    logs: list[str] = []
    fwd = compiled(build_model("lenet"), True, steps=5, log=logs.append)
    assert not fwd.compiled and len(logs) == 1 and "no C++ compiler" in logs[0]
    assert compiled(build_model("lenet"), None, steps=10**6, log=logs.append).compiled is False
    assert len(logs) == 1  # auto says nothing: nobody asked for it


def test_a_failing_compile_falls_back_with_one_line(tiny, monkeypatch):
    def broken(model, **kw):
        def fn(*args):
            raise RuntimeError("inductor: C++ compile error\nmore lines")
        return fn

    monkeypatch.setattr(torch, "compile", broken)
    monkeypatch.setattr(speed, "compiler_missing", lambda device: None)
    logs: list[str] = []
    failed = train_run(cfg(compile=True), tiny, None, log=logs.append)
    plain = train_run(cfg(compile=False), tiny, None)
    said = [m for m in logs if "torch.compile" in m]
    assert len(said) == 1 and "RuntimeError: inductor: C++ compile error" in said[0] and "more lines" not in said[0]
    assert [h.train_loss for h in failed.history] == [h.train_loss for h in plain.history]
    assert failed.final["test_acc"] == plain.final["test_acc"]


def test_compile_is_a_setting_not_part_of_a_runs_identity(tmp_path, tiny):
    assert cfg(compile=True).identity() == cfg(compile=None).identity()
    with pytest.raises(TrainError, match="compile must be"):
        cfg(compile="yes")
    # a run started without compiling resumes with --compile set either way
    first = train_run(cfg(compile=False, epochs=1), tiny, tmp_path / "r")
    again = train_run(cfg(compile=None, epochs=1), tiny, tmp_path / "r", resume=True)
    assert again.final == first.final


def test_cli_compile_flags(tmp_path, monkeypatch):
    import importlib

    seen = []

    def stop(config, *args, **kw):
        seen.append(config.compile)
        raise TrainError("stop here")

    monkeypatch.setattr(importlib.import_module("gradlab.lenet.train"), "train", stop)
    for flag, want in (("--compile", True), ("--no-compile", False), (None, None)):
        args = ["lenet", "train", "--dataset", "mnist5k", "--out", str(tmp_path / "o")] + ([flag] if flag else [])
        assert main(args) == 2
        assert seen[-1] is want
