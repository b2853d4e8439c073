import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gradlab.lenet.data import embedded_mnist
from gradlab.lenet.models import build_model
from gradlab.lenet.train import (
    OPTIMIZERS,
    EpochMetrics,
    TrainConfig,
    TrainError,
    load_checkpoint,
    make_optimizer,
    train,
    train_run,
    verdict,
)

import lenet_helpers  # noqa: F401  (one torch thread per test worker)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny():
    return embedded_mnist().subset(256, 100)


def cfg(**kw):
    base = dict(dataset="mnist5k", model="lenet-relu-maxpool", optimizer="adam", lr=3e-3, epochs=2, batch_size=64,
                runs=1, eval_shifted=False)
    base.update(kw)
    return TrainConfig(**base)


def test_training_learns_and_writes_every_file(tiny, tmp_path):
    res = train(cfg(runs=2, epochs=3, eval_shifted=True, lr=5e-3), tmp_path / "out", data=tiny)
    assert len(res.runs) == 2 and [r.seed for r in res.runs] == [0, 1]
    for r in res.runs:
        assert [h.epoch for h in r.history] == [1, 2, 3]
        assert r.history[-1].train_loss < r.history[0].train_loss  # it learns
        assert r.final["test_acc"] > 0.3 and 0 <= r.final["test_acc_shifted"] <= 1
        assert r.verdict
    for f in ["config.json", "metrics.csv", "metrics.json", "curves.png", "run-1/checkpoint.pt",
              "run-1/model.safetensors", "run-1/model.json", "run-2/result.json"]:
        assert (tmp_path / "out" / f).is_file(), f
    rows = (tmp_path / "out" / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("run,seed,epoch,step,train_loss,train_acc,test_loss,test_acc") and len(rows) == 1 + 6
    data = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert data["summary"]["final_test_acc"]["n"] == 2 and data["summary"]["final_test_acc"]["std"] >= 0
    assert "mean +/- std over 2 runs" in str(res)
    assert (tmp_path / "out" / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_runs_with_the_same_seed_are_identical_and_other_seeds_differ(tiny):
    a = train_run(cfg(epochs=1), tiny, None, seed=5)
    b = train_run(cfg(epochs=1), tiny, None, seed=5)
    c = train_run(cfg(epochs=1), tiny, None, seed=6)
    assert a.history[0].train_loss == b.history[0].train_loss
    assert a.history[0].train_loss != c.history[0].train_loss


def test_iterations_stop_mid_epoch(tiny):
    r = train_run(cfg(iterations=6, batch_size=64), tiny, None)  # 4 batches per epoch -> 4 + 2
    assert [h.step for h in r.history] == [4, 6]


def test_resume_after_interruption_gives_the_uninterrupted_result(tiny, tmp_path):
    c = cfg(epochs=3, model="lenet-dropout")  # dropout: the random masks must resume too
    whole = train_run(c, tiny, tmp_path / "whole")
    with pytest.raises(KeyboardInterrupt):
        train_run(c, tiny, tmp_path / "cut", stop_after_steps=6)  # in epoch 2
    state = load_checkpoint(tmp_path / "cut" / "checkpoint.pt")
    assert state["epoch"] == 1
    with pytest.raises(TrainError, match="--resume"):
        train_run(c, tiny, tmp_path / "cut")
    resumed = train_run(c, tiny, tmp_path / "cut", resume=True)
    assert [h.train_loss for h in resumed.history] == [h.train_loss for h in whole.history]
    assert resumed.final["test_acc"] == whole.final["test_acc"]
    (tmp_path / "cut2").mkdir()
    with pytest.raises(KeyboardInterrupt):
        train_run(c, tiny, tmp_path / "cut2", stop_after_steps=5)
    with pytest.raises(TrainError, match="other settings.*lr"):
        train_run(cfg(epochs=3, model="lenet-dropout", lr=0.1), tiny, tmp_path / "cut2", resume=True)


def test_sigkill_mid_epoch_then_resume(tmp_path):
    """A real interruption: the trainer runs in a subprocess, is killed with SIGKILL during epoch 2, and resumes."""
    out = tmp_path / "killed"
    script = f"""
import sys
from gradlab.lenet.data import embedded_mnist
from gradlab.lenet.train import TrainConfig, train
data = embedded_mnist().subset(1200, 100)
cfg = TrainConfig(dataset="mnist5k", model="lenet", optimizer="sgd", lr=0.5, epochs=3, batch_size=16, runs=1,
                  eval_shifted=False, threads=1)
train(cfg, {str(out)!r}, data=data, log=lambda m: print(m, flush=True), resume=True)
"""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    deadline = time.time() + 120
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if "epoch 1/3" in line:
                time.sleep(0.1)  # inside epoch 2 (75 batches)
                break
            assert time.time() < deadline, lines
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, "".join(lines)
    run = out / "run-1"
    state = load_checkpoint(run / "checkpoint.pt")  # loads: not corrupt
    assert state["epoch"] in (1, 2)  # killed during epoch 2 (or, on a very fast machine, 3)
    kept = json.loads(state["history"])
    assert not (run / "result.json").exists()
    data = embedded_mnist().subset(1200, 100)
    c = TrainConfig(dataset="mnist5k", model="lenet", optimizer="sgd", lr=0.5, epochs=3, batch_size=16, runs=1,
                    eval_shifted=False, threads=1)
    res = train(c, out, data=data, resume=True)
    h = res.runs[0].history
    assert [x.epoch for x in h] == [1, 2, 3]
    for old, new in zip(kept, h):  # completed epochs are kept as they were
        assert (new.train_loss, new.test_acc, new.step) == (old["train_loss"], old["test_acc"], old["step"])
    assert (run / "result.json").is_file() and (out / "metrics.json").is_file()
    assert not list(run.glob(".*tmp*"))


def test_a_finished_training_is_not_overwritten(tiny, tmp_path):
    train(cfg(epochs=1), tmp_path / "o", data=tiny, plot=False)
    with pytest.raises(TrainError, match="already holds"):
        train(cfg(epochs=1), tmp_path / "o", data=tiny)
    with pytest.raises(TrainError, match="other settings"):
        train(cfg(epochs=1, lr=0.5), tmp_path / "o", data=tiny, resume=True)
    again = train(cfg(epochs=1), tmp_path / "o", data=tiny, resume=True, plot=False)
    assert again.runs[0].history
    train(cfg(epochs=1, lr=0.5), tmp_path / "o", data=tiny, force=True, plot=False)


def test_check_every_records_finite_difference_checks(tiny):
    r = train_run(cfg(epochs=1, check_every=2, check_batch=8), tiny, None)
    assert r.history[0].check_count == 2 and r.history[0].check_ok is True
    assert r.final["checks"] == 2 and r.final["check_max_rel_err"] < 1e-5
    assert all(c["ok"] and c["batch"] == 8 for c in r.checks)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_takes_a_step(name):
    model = build_model("lenet-relu-maxpool", seed=0)
    opt = make_optimizer(name, model.parameters(), 1e-2)
    before = model[0].weight.detach().clone()
    loss = torch.nn.functional.cross_entropy(model(torch.rand(4, 1, 28, 28)), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    opt.step()
    assert not torch.equal(before, model[0].weight)


@pytest.mark.parametrize("kw, match", [
    (dict(optimizer="adamm"), "unknown optimizer"), (dict(epochs=0), "epochs"), (dict(lr=-1.0), "learning rate"),
    (dict(batch_size=0), "batch_size"), (dict(augment="wiggle"), "augmentation"),
])
def test_bad_settings(kw, match):
    with pytest.raises(Exception, match=match):
        cfg(**kw)


def test_momentum_only_where_it_applies():
    with pytest.raises(TrainError, match="momentum"):
        make_optimizer("adam", build_model("lenet").parameters(), 1e-3, momentum=0.9)


def em(epoch, loss, acc, test):
    return EpochMetrics(epoch, epoch * 10, loss, acc, 0.0, test, 1.0, 1.0, 0.1)


def test_verdicts():
    assert verdict([em(1, 2.0, 0.3, 0.3), em(2, math.nan, 0.1, 0.1)]).startswith("diverged")
    assert verdict([em(1, 2.30, 0.1, 0.1), em(2, 2.30, 0.1, 0.1)]).startswith("did not learn")
    assert verdict([em(1, 1.0, 0.6, 0.6), em(2, 0.5, 0.8, 0.8)]).startswith("still improving")
    assert verdict([em(1, 1.0, 0.6, 0.6), em(2, 0.50, 0.8, 0.8), em(3, 0.499, 0.8, 0.8)]).startswith("converged")
    noisy = verdict([em(e, 1 / e, 0.8, t) for e, t in enumerate([0.7, 0.8, 0.76, 0.81, 0.77, 0.80], start=1)])
    assert "noisy: test acc moves by up to 4.0 points between epochs and falls back by up to 4.0 (0.770 to 0.810" in noisy
    rising = verdict([em(e, 1 / e, 0.8, t) for e, t in enumerate([0.1, 0.1, 0.2, 0.4, 0.6, 0.7], start=1)])
    assert "noisy" not in rising  # a take-off is progress, not noise
    assert "overfitting" in verdict([em(1, 0.2, 0.99, 0.8), em(2, 0.199, 0.995, 0.8)])


def test_verdict_names_a_late_take_off_and_does_not_call_it_noisy():
    # lr 2 in the learning-rate sweep: seven epochs on the plateau (with a one-point wobble), then up fast
    accs = [0.10, 0.11, 0.10, 0.10, 0.10, 0.11, 0.10, 0.35, 0.55, 0.62]
    late = verdict([em(e, 2.3 if t < 0.2 else 1.5 - t, 0.1, t) for e, t in enumerate(accs, start=1)])
    assert "late take-off: test acc at chance level (at most 0.110) in epochs 1-7, 0.350 in epoch 8" in late
    assert "noisy" not in late
    # noise after a take-off is still noise
    accs = [0.10, 0.10, 0.10, 0.40, 0.60, 0.70, 0.66, 0.71, 0.65, 0.70]
    noisy = verdict([em(e, 2.3 if t < 0.2 else 1.5 - t, 0.1, t) for e, t in enumerate(accs, start=1)])
    assert "late take-off" in noisy and "noisy: test acc moves by up to 6.0 points" in noisy
    # a run that leaves the plateau after one epoch (the reference recipe) has no take-off to report
    early = verdict([em(e, 1 / e, 0.8, t) for e, t in enumerate([0.11, 0.5, 0.7, 0.75], start=1)])
    assert "take-off" not in early


def test_cosine_schedule_anneals_to_zero_and_resumes(tiny, tmp_path):
    c = cfg(epochs=2, schedule="cosine")
    r = train_run(c, tiny, None)
    assert r.history[0].lr == pytest.approx(c.lr * 0.5 * (1 + math.cos(math.pi * 3 / 8)))  # set before step 4 of 8
    assert r.history[-1].lr < 0.05 * c.lr
    with pytest.raises(KeyboardInterrupt):
        train_run(c, tiny, tmp_path / "cut", stop_after_steps=5)
    resumed = train_run(c, tiny, tmp_path / "cut", resume=True)
    assert [h.train_loss for h in resumed.history] == [h.train_loss for h in r.history]
    with pytest.raises(TrainError, match="unknown schedule"):
        cfg(schedule="triangle")


def test_devices():
    from gradlab.lenet.train import resolve_device

    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(TrainError, match="no CUDA GPU"):
            resolve_device("cuda")
    with pytest.raises(TrainError, match="unknown device"):
        resolve_device("tpu")


def test_a_diverged_run_read_back_from_its_json_is_summarised():
    """A NaN loss is null in result.json: read back it is NaN again, so the verdict and a sweep's report work."""
    from gradlab.lenet.train import EpochMetrics, RunResult, summarize, verdict

    h = EpochMetrics(1, 10, float("nan"), 0.1, float("nan"), 0.1, 1.0, 100.0, 0.1)
    run = RunResult.from_dict(RunResult(1, 0, [h], {**h.__dict__, "best_test_acc": 0.1}, "diverged").to_dict())
    assert math.isnan(run.final["train_loss"]) and math.isnan(run.history[0].train_loss)
    assert verdict(run.history).startswith("diverged")
    s = summarize([run, run])
    assert s["final_test_acc"]["mean"] == pytest.approx(0.1) and s["final_train_loss"]["mean"] != s["final_train_loss"]["mean"]
