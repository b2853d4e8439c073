"""Training with framework = "keras": Keras optimizers at Keras's defaults, Keras augmentation layers, runs,
resume, load --compare and a sweep over optimizers, all with tiny settings."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest

from gradlab.extras import MissingExtraError
from gradlab.lenet.keras_env import KERAS_DEFAULT_LR, KERAS_OPTIMIZERS, import_keras, make_keras_optimizer

import lenet_helpers  # noqa: F401  (one torch thread per test worker)

# Keras's own calls of np.array on torch tensors, under numpy 2 (nothing gradlab can change)
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept:DeprecationWarning")

try:
    keras = import_keras()
except MissingExtraError:  # pragma: no cover - CI installs the keras extra (scripts/install.sh)
    pytest.skip("the keras extra is not installed", allow_module_level=True)

from gradlab.cli import main
from gradlab.lenet.augment import Augment, AugmentError
from gradlab.lenet.keras_augment import keras_augmentation
from gradlab.lenet.sweep import SweepSpec, run_sweep
from gradlab.lenet.train import DEFAULT_LR, TrainConfig, TrainError, train, train_run

TINY = {"framework": "keras", "dataset": "mnist5k", "train_limit": 128, "test_limit": 64, "batch_size": 64,
        "epochs": 1, "runs": 1, "threads": 1}


def test_every_optimizer_of_the_sheet_exists_with_keras_own_default_rate():
    sheet = {"Adam", "AdamW", "Adamax", "Adadelta", "Adafactor", "Adagrad", "SGD", "RMSprop", "Nadam", "Lion", "Ftrl",
             "Lamb"}
    assert set(KERAS_OPTIMIZERS.values()) == sheet
    for name, cls in KERAS_OPTIMIZERS.items():
        default = inspect.signature(getattr(keras.optimizers, cls)).parameters["learning_rate"].default
        assert KERAS_DEFAULT_LR[name] == default, name
        opt = make_keras_optimizer(name, KERAS_DEFAULT_LR[name])
        assert type(opt).__name__ == cls and float(opt.learning_rate) == pytest.approx(default)


def test_each_framework_has_its_own_optimizers_and_defaults():
    assert TrainConfig(framework="keras", optimizer="adadelta").lr == 0.001  # Keras's; torch's is 1.0
    assert TrainConfig(optimizer="adadelta").lr == DEFAULT_LR["adadelta"] == 1.0
    assert TrainConfig(framework="keras", optimizer="sgd").lr == 0.01
    with pytest.raises(TrainError, match="unknown optimizer 'radam' for keras"):
        TrainConfig(framework="keras", optimizer="radam")
    with pytest.raises(TrainError, match="unknown optimizer 'lion' for torch"):
        TrainConfig(optimizer="lion")
    with pytest.raises(TrainError, match="unknown framework"):
        TrainConfig(framework="jax")


def test_augmentation_uses_keras_preprocessing_layers():
    pipe = keras_augmentation(Augment.parse("affine+erase"), seed=0)
    assert [type(layer).__name__ for layer in pipe.layers] == ["RandomRotation", "RandomTranslation", "RandomZoom",
                                                               "RandomShear", "RandomErasing"]
    x = np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32)
    out = keras.ops.convert_to_numpy(pipe(x, training=True))
    assert out.shape == x.shape and not np.allclose(out, x)
    assert np.array_equal(keras.ops.convert_to_numpy(pipe(x, training=False)), x)
    with pytest.raises(AugmentError, match="RandomFlip"):
        keras_augmentation(Augment.parse("hflip=0.3"))


@pytest.fixture(scope="module")
def keras_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("keras-run")
    cfg = TrainConfig(**{**TINY, "optimizer": "adam", "augment": "affine", "seed": 3})
    return cfg, train(cfg, out, plot=True), out


def test_training_with_keras_writes_the_same_reports(keras_run):
    cfg, res, out = keras_run
    for name in ("config.json", "metrics.csv", "metrics.json", "curves.png", "run-1/model.keras",
                 "run-1/checkpoint.keras", "run-1/result.json"):
        assert (out / name).is_file(), name
    (h,) = res.runs[0].history
    assert h.step == 2 and h.lr == pytest.approx(0.001) and 0 <= h.test_acc <= 1 and h.train_loss > 0
    assert "test_acc_shifted" in res.runs[0].final
    assert json.loads((out / "config.json").read_text())["framework"] == "keras"
    # the same seed gives the same run
    again = train_run(cfg, res_data(), None, seed=3)
    assert again.history[0].train_loss == h.train_loss and again.history[0].test_acc == h.test_acc


def res_data():
    from gradlab.lenet.data import load_dataset

    return load_dataset("mnist5k").subset(TINY["train_limit"], TINY["test_limit"])


def test_load_compares_the_saved_model_with_its_checkpoint(keras_run, capsys):
    _, res, out = keras_run
    code = main(["lenet", "load", str(out / "run-1"), "--compare", str(out / "run-1" / "checkpoint.keras"),
                 "--dataset", "mnist5k", "--test-limit", "64"])
    printed = capsys.readouterr().out
    assert code == 0 and "bit-identical" in printed
    assert f"accuracy {res.runs[0].final['test_acc']:.4f}" in printed


def test_an_interrupted_keras_run_resumes_to_the_same_result(tmp_path):
    cfg = TrainConfig(**{**TINY, "epochs": 2, "optimizer": "adam", "model": "lenet"})
    data = res_data()
    whole = train_run(cfg, data, tmp_path / "whole")
    with pytest.raises(KeyboardInterrupt):
        train_run(cfg, data, tmp_path / "cut", stop_after_steps=3)  # in epoch 2, after epoch 1's checkpoint
    with pytest.raises(TrainError, match="--resume"):
        train_run(cfg, data, tmp_path / "cut")
    resumed = train_run(cfg, data, tmp_path / "cut", resume=True)
    assert [h.train_loss for h in resumed.history] == [h.train_loss for h in whole.history]
    assert resumed.final["test_acc"] == whole.final["test_acc"]


def test_a_keras_sweep_over_optimizers_runs(tmp_path):
    spec = SweepSpec.parse(
        'name = "keras optimizers"\nruns = 1\n[base]\n'
        + "".join(f"{k} = {json.dumps(v)}\n" for k, v in TINY.items() if k != "runs")
        + '[vary]\noptimizer = ["adafactor", "lion", "ftrl"]\n')
    res = run_sweep(spec, tmp_path / "sweep")
    assert [p.label for p in spec.points] == ["optimizer=adafactor", "optimizer=lion", "optimizer=ftrl"]
    for p in spec.points:
        (run,) = res.points[p.label]
        assert run.history[0].lr == pytest.approx(0.001) and 0 <= run.final["test_acc"] <= 1
    report = (tmp_path / "sweep" / "report.md").read_text()
    assert "optimizer=lion" in report and (tmp_path / "sweep" / "final.png").is_file()
