"""Training with Keras 3 (on torch): the same data, runs, metrics, curves and reports as the torch side.

:func:`gradlab.lenet.train.train_run` hands a run here when ``config.framework == "keras"`` (this module
registers :func:`keras_train_run` in ``train.RUNNERS``; importing :mod:`gradlab.lenet` imports it). The
model is :func:`~gradlab.lenet.keras_models.build_keras_model`'s, compiled with a Keras optimizer
(Keras's default learning rate unless one is given), ``SparseCategoricalCrossentropy(from_logits=True)``
and accuracy, and trained with ``model.fit`` one epoch at a time on the same shuffled batches as the
torch side (the permutation comes from the same seeded generator). Augmentation goes through
Keras's preprocessing layers (:mod:`.keras_augment`). After every epoch the run writes
``checkpoint.keras`` (model and optimizer state) and ``checkpoint.json`` (history), atomically, so an
interrupted run resumes from its last finished epoch; at the end it writes ``model.keras``.

>>> cfg = TrainConfig(framework="keras", dataset="mnist5k", optimizer="adam", epochs=1)   # doctest: +SKIP
>>> keras_train_run(cfg, load_dataset("mnist5k"), "runs/k/run-1").final["test_acc"]     # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..fileio import write_atomic
from .augment import Augment, shifted_test_set
from .data import Dataset
from .keras_env import import_keras, make_keras_optimizer
from .keras_models import build_keras_model
from .keras_persist import load_keras_file, save_keras_model
from .persist import PersistError
from .train import (
    RUNNERS,
    EpochMetrics,
    RunResult,
    TrainConfig,
    TrainError,
    _csv,
    _epoch_seed,
    _Progress,
    resolve_device,
    set_threads,
    verdict,
)

__all__ = ["keras_train_run", "channels_last", "KERAS_CHECKPOINT_FORMAT"]

KERAS_CHECKPOINT_FORMAT = "gradlab-lenet-keras-checkpoint"


def channels_last(x: torch.Tensor) -> np.ndarray:
    """Float images ``N x C x H x W`` (torch's order) as a numpy array ``N x H x W x C`` (Keras's)."""
    return np.ascontiguousarray(x.permute(0, 2, 3, 1).cpu().numpy())


def _accuracy(model: Any, x: np.ndarray, y: np.ndarray, batch: int = 1000) -> tuple[float, float]:
    loss, acc = model.evaluate(x, y, batch_size=batch, verbose=0)
    return float(loss), float(acc)


def _callback(keras: Any, bar: _Progress, step0: int, stop_after_steps: int | None) -> Any:
    class Steps(keras.callbacks.Callback):
        """Moves the progress bar; raises KeyboardInterrupt after ``stop_after_steps`` (tests of interruption)."""

        def __init__(self) -> None:
            super().__init__()
            self.step = step0

        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            self.step += 1
            if bar.bar is not None:
                bar.update(1, float((logs or {}).get("loss", float("nan"))))
            if stop_after_steps is not None and self.step >= stop_after_steps:
                raise KeyboardInterrupt

    return Steps()


def keras_train_run(config: TrainConfig, data: Dataset, run_dir: str | Path | None, *, run: int = 1,
                    seed: int | None = None, resume: bool = False, progress: bool = False,
                    log: Callable[[str], None] | None = None, stop_after_steps: int | None = None) -> RunResult:
    """Train one Keras model; with ``run_dir``, checkpoint every epoch there and write the run's metrics and
    ``model.keras``."""
    keras = import_keras(purpose="training with framework = \"keras\"")
    seed = config.seed if seed is None else seed
    if config.check_every:
        raise TrainError("check_every (finite-difference checks during training) works on the torch side only; "
                         "use framework = \"torch\" for it")
    set_threads(config.threads)
    device = resolve_device(config.device)
    run_dir = Path(run_dir) if run_dir is not None else None
    ckpt = run_dir / "checkpoint.keras" if run_dir else None
    state_path = run_dir / "checkpoint.json" if run_dir else None
    result_path = run_dir / "result.json" if run_dir else None
    if result_path is not None and result_path.is_file():
        if resume:
            done = RunResult.from_dict(json.loads(result_path.read_text()))
            done.verdict = verdict(done.history)
            return done
        raise TrainError(f"{run_dir} already holds a finished run; pass --resume to keep it or --force to start over")

    n = len(data.train_y)
    bs = config.batch_size
    steps_per_epoch = math.ceil(n / bs)
    total_steps = config.iterations or config.epochs * steps_per_epoch
    n_epochs = math.ceil(total_steps / steps_per_epoch)
    history: list[EpochMetrics] = []
    start_epoch, step, elapsed = 0, 0, 0.0
    with keras.device(device.type):
        if state_path is not None and state_path.is_file() and ckpt is not None:
            if not resume:
                raise TrainError(f"{run_dir} holds a checkpoint of an unfinished run; pass --resume to continue it "
                                 "or --force to start over")
            state = _read_state(state_path, config)
            model = load_keras_file(ckpt, compile=True)
            history = [EpochMetrics(**h) for h in state["history"]]
            start_epoch, step, elapsed = int(state["epoch"]), int(state["step"]), float(state["elapsed"])
            if log:
                log(f"run {run}: resuming after epoch {start_epoch} (step {step})")
        else:
            model = build_keras_model(config.model, seed=seed)
            assert config.lr is not None  # TrainConfig fills it in
            opt = make_keras_optimizer(config.optimizer, float(config.lr), momentum=config.momentum,
                                       weight_decay=config.weight_decay,
                                       decay_steps=total_steps if config.schedule == "cosine" else None)
            model.compile(optimizer=opt, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                          metrics=["accuracy"])
        aug = Augment.parse(config.augment)
        train_x, train_y = channels_last(data.floats("train")), data.train_y.numpy()
        test_x, test_y = channels_last(data.floats("test")), data.test_y.numpy()
        for epoch in range(start_epoch, n_epochs):
            t0 = time.perf_counter()
            es = _epoch_seed(seed, epoch)
            keras.utils.set_random_seed(es % 2**32)  # dropout masks and Keras's other random draws
            perm = torch.randperm(n, generator=torch.Generator().manual_seed(es)).numpy()
            steps = min(steps_per_epoch, total_steps - epoch * steps_per_epoch)
            idx = perm[:steps * bs]
            xb, yb = train_x[idx], train_y[idx]
            if aug is not None:
                from .keras_augment import keras_augmentation

                pipeline = keras_augmentation(aug, seed=es % 2**31)
                xb = np.concatenate([keras.ops.convert_to_numpy(pipeline(xb[i:i + bs], training=True))
                                     for i in range(0, len(xb), bs)])
            bar = _Progress(progress, steps, f"run {run} epoch {epoch + 1}/{n_epochs}")
            fit = model.fit(xb, yb, batch_size=bs, epochs=1, shuffle=False, verbose=0,
                            callbacks=[_callback(keras, bar, step, stop_after_steps)])
            bar.close()
            step += steps
            train_seconds = time.perf_counter() - t0
            test_loss, test_acc = _accuracy(model, test_x, test_y)
            seconds = time.perf_counter() - t0
            elapsed += seconds
            lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
            m = EpochMetrics(epoch + 1, step, float(fit.history["loss"][-1]), float(fit.history["accuracy"][-1]),
                             test_loss, test_acc, seconds, len(yb) / max(train_seconds, 1e-9), lr)
            history.append(m)
            if log:
                log(f"run {run} epoch {m.epoch}/{n_epochs}: train loss {m.train_loss:.4f}, train acc "
                    f"{m.train_acc:.4f}, test acc {m.test_acc:.4f} ({m.seconds:.1f}s, Keras)")
            if ckpt is not None and state_path is not None:
                save_keras_model(model, ckpt)
                write_atomic(state_path, json.dumps({
                    "format": KERAS_CHECKPOINT_FORMAT, "epoch": epoch + 1, "step": step, "seed": seed,
                    "elapsed": elapsed, "history": [asdict(h) for h in history], "config": config.to_dict()},
                    indent=1))

        final: dict[str, Any] = asdict(history[-1]) if history else {}
        final["best_test_acc"] = max((h.test_acc for h in history), default=float("nan"))
        final["best_epoch"] = max(history, key=lambda h: h.test_acc).epoch if history else None
        if config.eval_shifted and history:
            _, final["test_acc_shifted"] = _accuracy(model, channels_last(shifted_test_set(data.floats("test"))),
                                                     test_y)
    result = RunResult(run, seed, history, final, verdict(history), [], elapsed)
    if run_dir is not None and result_path is not None:
        save_keras_model(model, run_dir / "model.keras")
        write_atomic(run_dir / "metrics.csv", _csv([result]))
        write_atomic(result_path, json.dumps(result.to_dict(), indent=1))
    return result


def _read_state(path: Path, config: TrainConfig) -> dict[str, Any]:
    try:
        state = json.loads(path.read_text())
        if not isinstance(state, dict) or state.get("format") != KERAS_CHECKPOINT_FORMAT:
            raise ValueError("not a gradlab Keras checkpoint")
        saved = TrainConfig.from_dict(state["config"])
    except (ValueError, KeyError, TypeError, RecursionError) as e:
        raise PersistError(f"{path}: a damaged checkpoint ({str(e).splitlines()[0][:120] if str(e) else e!r})"
                           ) from None
    if saved.identity() != config.identity():
        diff = [k for k, v in config.identity().items() if saved.identity().get(k) != v]
        raise TrainError(f"{path}: the checkpoint was made with other settings ({', '.join(diff)}); use the same "
                         "settings to resume, or --force to start over")
    return state


RUNNERS["keras"] = keras_train_run
