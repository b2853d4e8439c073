"""Training with repeated runs, per-epoch metrics, plots, verdicts and resumable checkpoints.

>>> cfg = TrainConfig(dataset="mnist5k", model="lenet-relu-maxpool", optimizer="adam", epochs=2, runs=1)
>>> result = train(cfg, "runs/demo")                     # doctest: +SKIP
>>> result.summary["final_test_acc"]["mean"]             # doctest: +SKIP
0.93

Each run writes ``run-<k>/checkpoint.pt`` after every epoch (atomically: a temp file,
then a rename), so a run killed at any moment resumes with ``resume=True`` from its last
completed epoch. Shuffling, augmentation and dropout draw from generators seeded by
``(seed, epoch)``, so a resumed run computes exactly what an uninterrupted one would.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from ..errors import GradlabError
from ..fileio import atomic_path, write_atomic
from ..jsonable import jsonable as _jsonable
from .augment import Augment, shifted_test_set
from .data import Dataset, load_dataset
from .gradcheck import directional_check
from .keras_env import KERAS_DEFAULT_LR, KERAS_OPTIMIZERS
from .models import architecture, build_model
from .persist import (
    CHECKPOINT_FORMAT,
    PersistError,
    checkpoint_model,
    fit_weights,
    load_checkpoint,
    save_model,
)
from .speed import channels_last, compiled

__all__ = ["TrainConfig", "EpochMetrics", "RunResult", "TrainResult", "TrainError", "OPTIMIZERS", "DEFAULT_LR",
           "train", "train_run", "make_optimizer", "evaluate", "verdict", "load_checkpoint", "plot_curves"]



class TrainError(GradlabError):
    """A training setup that cannot run (unknown optimizer, bad numbers, a run folder in the way)."""


OPTIMIZERS: dict[str, str] = {
    "sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "adamax": "Adamax", "nadam": "NAdam", "radam": "RAdam",
    "rmsprop": "RMSprop", "adagrad": "Adagrad", "adadelta": "Adadelta", "adafactor": "Adafactor",
}
#: learning rates used when none is given: the reference notebook's SGD rate 0.9, and for every other optimizer
#: torch's own default (the ``lr=`` default of its class in torch.optim; Keras's defaults differ: with
#: ``framework = "keras"`` Keras's optimizers and defaults are used, see gradlab.lenet.keras_env)
DEFAULT_LR = {"sgd": 0.9, "adam": 1e-3, "adamw": 1e-3, "adamax": 2e-3, "nadam": 2e-3, "radam": 1e-3,
              "rmsprop": 1e-3, "adagrad": 1e-2, "adadelta": 1.0, "adafactor": 1e-2}


#: learning-rate schedules: constant, or cosine annealing from lr to 0 over all steps (set every step)
SCHEDULES = ("constant", "cosine")


@dataclass
class TrainConfig:
    """Everything that defines a training run; the defaults are the reference notebook's recipe."""

    dataset: str = "auto"
    data_dir: str | None = None
    download: bool = False
    model: str = "lenet"
    optimizer: str = "sgd"
    lr: float | None = None
    momentum: float = 0.0
    weight_decay: float = 0.0
    schedule: str = "constant"
    epochs: int = 10
    iterations: int | None = None
    batch_size: int = 256
    seed: int = 0
    runs: int = 1
    threads: int | None = None
    device: str = "cpu"
    compile: bool | None = None  # torch.compile: True, False, or None (auto: runs of 1,000 steps and more)
    augment: str | None = None
    check_every: int = 0
    check_batch: int = 32
    train_limit: int | None = None
    test_limit: int | None = None
    eval_shifted: bool = True
    framework: str = "torch"

    def __post_init__(self) -> None:
        self.optimizer = self.optimizer.lower()
        if self.framework not in ("torch", "keras"):
            raise TrainError(f"unknown framework {self.framework!r}; choose torch or keras (Keras 3 on torch)")
        table, defaults = (KERAS_OPTIMIZERS, KERAS_DEFAULT_LR) if self.framework == "keras" else (OPTIMIZERS, DEFAULT_LR)
        if self.optimizer not in table:
            raise TrainError(f"unknown optimizer {self.optimizer!r} for {self.framework}; choose from {', '.join(table)}")
        if self.lr is None:
            self.lr = defaults[self.optimizer]
        for name in ("epochs", "batch_size", "runs"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise TrainError(f"{name} must be a whole number >= 1, got {v!r}")
        if self.iterations is not None and (not isinstance(self.iterations, int) or self.iterations < 1):
            raise TrainError(f"iterations must be a whole number >= 1, got {self.iterations!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise TrainError(f"the learning rate must be a positive number, got {self.lr!r}")
        if self.schedule not in SCHEDULES:
            raise TrainError(f"unknown schedule {self.schedule!r}; choose from {', '.join(SCHEDULES)}")
        if self.check_every < 0:
            raise TrainError("check_every must be >= 0 (0: no checks)")
        if self.compile is not None and not isinstance(self.compile, bool):
            raise TrainError(f"compile must be true or false (or left out: auto), got {self.compile!r}")
        Augment.parse(self.augment)  # validates

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "config") -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise TrainError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(names))}")
        try:
            return cls(**d)
        except TypeError as e:
            raise TrainError(f"{where}: {e}") from None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def identity(self) -> dict[str, Any]:
        """The fields that must match for a checkpoint to be resumed (not threads, runs or limits of display)."""
        d = self.to_dict()
        for k in ("threads", "device", "runs", "download", "compile"):
            d.pop(k)
        return d


@dataclass
class EpochMetrics:
    """One row of the metrics table: train loss and accuracy are averages over the epoch's batches."""

    epoch: int
    step: int
    train_loss: float
    train_acc: float
    test_loss: float
    test_acc: float
    seconds: float
    images_per_s: float
    lr: float
    check_count: int = 0
    check_max_rel_err: float | None = None
    check_ok: bool | None = None


@dataclass
class RunResult:
    run: int
    seed: int
    history: list[EpochMetrics]
    final: dict[str, Any]
    verdict: str
    checks: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunResult":
        # JSON has no NaN: a diverged run's losses were written as null; they are NaN again here
        nan = ("train_loss", "train_acc", "test_loss", "test_acc")
        rows: list[dict[str, Any]] = [{k: math.nan if k in nan and v is None else v for k, v in h.items()}
                                      for h in d["history"]]
        history = [EpochMetrics(**row) for row in rows]
        final = {k: math.nan if k in nan and v is None else v for k, v in d["final"].items()}
        return cls(d["run"], d["seed"], history, final, d["verdict"], d.get("checks", []), d.get("seconds", 0.0))


@dataclass
class TrainResult:
    config: TrainConfig
    runs: list[RunResult]
    summary: dict[str, Any]
    data: dict[str, Any]
    out: str | None = None
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable({"config": self.config.to_dict(), "data": self.data, "summary": self.summary,
                          "runs": [r.to_dict() for r in self.runs], "files": self.files})

    def to_json(self, **kw: Any) -> str:
        return json.dumps(self.to_dict(), **kw)

    def __str__(self) -> str:
        lines = [f"{'run':>3}  {'seed':>4}  {'epochs':>6}  {'train loss':>10}  {'train acc':>9}  {'test acc':>8}  "
                 f"{'best test':>9}  {'time':>7}"]
        for r in self.runs:
            f = r.final
            lines.append(f"{r.run:>3}  {r.seed:>4}  {f['epoch']:>6}  {f['train_loss']:>10.4f}  {f['train_acc']:>9.4f}  "
                         f"{f['test_acc']:>8.4f}  {f['best_test_acc']:>9.4f}  {r.seconds:>6.1f}s")
        s = self.summary
        if len(self.runs) > 1:
            lines.append(f"mean +/- std over {len(self.runs)} runs: train loss {_pm(s['final_train_loss'])}, "
                         f"train acc {_pm(s['final_train_acc'])}, test acc {_pm(s['final_test_acc'])}, "
                         f"best test acc {_pm(s['best_test_acc'])}")
        if "test_acc_shifted" in s:
            lines.append(f"test accuracy on the shifted/rotated test set: {_pm(s['test_acc_shifted'])}")
        lines += [f"run {r.run} (seed {r.seed}): {r.verdict}" for r in self.runs]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """Jupyter's view: a row per run, mean ± std over the runs, each run's verdict, and the curves
        inline when the training wrote them."""
        from ..htmltable import esc, html_table, png_img

        c, s = self.config, self.summary
        rows: list[list[Any]] = []
        for r in self.runs:
            f = r.final
            rows.append([f"{r.run}", f"{r.seed}", f"{f['epoch']}", f"{f['train_loss']:.4f}", f"{f['train_acc']:.4f}",
                         f"{f['test_acc']:.4f}", f"{f['best_test_acc']:.4f}", f"{r.seconds:.1f} s"])
        if len(self.runs) > 1:
            rows.append(["mean ± std", "", "", *(_pm(s[k]).replace("+/-", "±") for k in
                         ("final_train_loss", "final_train_acc", "final_test_acc", "best_test_acc")), ""])
        table = html_table(["run", "seed", "epochs", "train loss", "train acc", "test acc", "best test acc", "time"],
                           rows, left=(0,), caption=f"{c.model} on {self.data.get('name', '?')}: {c.optimizer} lr "
                                                    f"{c.lr:g}, batch {c.batch_size}, {len(self.runs)} "
                                                    f"run{'s' * (len(self.runs) > 1)}")
        notes = [f"<li>run {r.run} (seed {r.seed}): {esc(r.verdict)}</li>" for r in self.runs]
        if "test_acc_shifted" in s:
            notes.append(f"<li>test accuracy on the shifted/rotated test set: "
                         f"{esc(_pm(s['test_acc_shifted']).replace('+/-', '±'))}</li>")
        picture = png_img(Path(self.out) / "curves.png", "train loss, train and test accuracy per epoch",
                          width=900) if self.out else None
        return f'<div class="gradlab-train">{table}<ul>{"".join(notes)}</ul>{picture or ""}</div>'


def _pm(stat: dict[str, float]) -> str:
    if stat.get("n", 1) > 1:
        return f"{stat['mean']:.4f} +/- {stat['std']:.4f}"
    return f"{stat['mean']:.4f}"


# ----------------------------------------------------------------------------- pieces
def make_optimizer(name: str, params: Any, lr: float, momentum: float = 0.0, weight_decay: float = 0.0
                   ) -> torch.optim.Optimizer:
    """A torch optimizer by its lower-case name (``sgd``, ``adam``, ..., ``adafactor``)."""
    key = name.lower()
    if key not in OPTIMIZERS:
        raise TrainError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")
    cls = getattr(torch.optim, OPTIMIZERS[key], None)
    if cls is None:  # pragma: no cover - old torch
        raise TrainError(f"this torch ({torch.__version__}) has no {OPTIMIZERS[key]}; upgrade torch")
    kw: dict[str, Any] = {"lr": lr}
    if weight_decay:
        kw["weight_decay"] = weight_decay
    if momentum:
        if key not in ("sgd", "rmsprop"):
            raise TrainError(f"momentum applies to sgd and rmsprop; {key} has its own moment estimates")
        kw["momentum"] = momentum
    return cls(params, **kw)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` (in eval mode) on float images ``x``."""
    was = model.training
    model.eval()
    loss_sum, correct = 0.0, 0
    dev = next(model.parameters()).device
    for i in range(0, len(y), batch):
        xb, yb = x[i:i + batch].to(dev), y[i:i + batch].to(dev)
        out = model(xb)
        loss_sum += float(nn.functional.cross_entropy(out, yb, reduction="sum"))
        correct += int((out.argmax(1) == yb).sum())
    model.train(was)
    n = max(len(y), 1)
    return loss_sum / n, correct / n


def set_threads(threads: int | None) -> int:
    """Use ``threads`` torch threads; ``None`` keeps torch's setting (by default, one per physical core)."""
    if threads and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def resolve_device(device: str) -> torch.device:
    d = device.lower()
    if d == "auto":
        d = "cuda" if torch.cuda.is_available() else "cpu"
    if d.startswith("cuda") and not torch.cuda.is_available():
        raise TrainError("--device cuda: no CUDA GPU is available here (this torch build: "
                         f"{torch.__version__}); use --device cpu")
    if d != "cpu" and not d.startswith("cuda"):
        raise TrainError(f"unknown device {device!r}; use cpu, cuda or auto")
    return torch.device(d)


def _epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch * 7_919) % (2**63 - 1)


def save_checkpoint(path: Path, *, model: nn.Module, optimizer: torch.optim.Optimizer, epoch: int, step: int,
                    history: list[EpochMetrics], checks: list[dict[str, Any]], config: TrainConfig, seed: int,
                    elapsed: float) -> None:
    state = {"format": CHECKPOINT_FORMAT, "version": 1, "epoch": epoch, "step": step, "seed": seed,
             "elapsed": elapsed, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "history": json.dumps([asdict(h) for h in history]), "checks": json.dumps(checks),
             "config": json.dumps(config.to_dict()),
             "architecture": json.dumps(architecture(config.model).to_dict())}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())


CHANCE_PLATEAU = 0.2
"""Test accuracy below this (chance is 0.1 for ten classes) counts as not yet learning."""


def _takeoff(history: list[EpochMetrics]) -> int:
    """How many leading epochs stay at chance level (test accuracy below ``CHANCE_PLATEAU``): the index of
    the first epoch off the plateau, or 0 when the run never leaves it (nothing took off)."""
    start = next((i for i, h in enumerate(history) if h.test_acc >= CHANCE_PLATEAU), None)
    return 0 if start is None else start


def verdict(history: list[EpochMetrics]) -> str:
    """One line on convergence: diverged, did not learn, still improving or converged; a late take-off off the
    chance-level plateau; and how noisy the test accuracy is after it.

    >>> verdict([])
    'no epoch completed'
    """
    if not history:
        return "no epoch completed"
    losses = [h.train_loss for h in history]
    bad = next((h.epoch for h in history if not math.isfinite(h.train_loss)), None)
    if bad is not None:
        return f"diverged: the loss became NaN/inf in epoch {bad} (learning rate too large?)"
    last, first = history[-1], history[0]
    chance = math.log(10)
    if last.train_loss > 0.95 * chance and last.test_acc < 0.2:
        return (f"did not learn: the train loss stays at {last.train_loss:.3f} ~ ln 10 = {chance:.3f}, test accuracy "
                f"{last.test_acc:.3f} is chance level (learning rate too small or too large, or too few iterations)")
    parts = []
    trend = f"train loss {first.train_loss:.3f} -> {last.train_loss:.3f}"
    if len(losses) >= 2:
        change = (losses[-2] - losses[-1]) / max(abs(losses[-2]), 1e-12)
        if last.train_loss > 0.8 * chance:
            parts.append(f"barely learning: {trend}, still near ln 10 = {chance:.2f} (chance level); train longer "
                         "or change the learning rate")
        elif change > 0.05:
            parts.append(f"still improving: {trend}, {100 * change:.1f} % lower in the last epoch; more epochs "
                         "would help")
        elif change > 0.01:
            parts.append(f"nearly converged: {trend}, still falling slowly ({100 * change:.1f} % in the last epoch)")
        elif change >= -0.01:
            parts.append(f"converged: {trend} ({100 * change:+.1f} % in the last epoch: a plateau)")
        elif change >= -0.05:
            parts.append(f"fluctuating: {trend}, up {-100 * change:.1f} % in the last epoch")
        else:
            parts.append(f"unstable: {trend}, up {-100 * change:.1f} % in the last epoch (learning rate too large?)")
    else:
        parts.append(f"one epoch only: train loss {last.train_loss:.3f}; train longer to judge convergence")
    best = max(history, key=lambda h: h.test_acc)
    parts.append(f"test acc {last.test_acc:.3f} (best {best.test_acc:.3f} in epoch {best.epoch})")
    start = _takeoff(history)
    if start >= 2:
        flat = max(h.test_acc for h in history[:start])
        parts.append(f"late take-off: test acc at chance level (at most {flat:.3f}) in epochs {history[0].epoch}-"
                     f"{history[start - 1].epoch}, {history[start].test_acc:.3f} in epoch {history[start].epoch}")
    after = history[start:]  # the plateau's small wobbles and the take-off itself are not noise
    if len(after) >= 3:
        # noise, not progress: in the second half after the take-off the test accuracy moves by 2 points or
        # more between epochs and also falls back by a point or more at least once
        tail = after[len(after) // 2:]
        steps = [b.test_acc - a.test_acc for a, b in zip(tail, tail[1:])]
        if steps and max(map(abs, steps)) >= 0.02 and min(steps) <= -0.01:
            lo, hi = min(h.test_acc for h in tail), max(h.test_acc for h in tail)
            parts.append(f"noisy: test acc moves by up to {100 * max(map(abs, steps)):.1f} points between epochs "
                         f"and falls back by up to {-100 * min(steps):.1f} ({lo:.3f} to {hi:.3f} in epochs "
                         f"{tail[0].epoch}-{tail[-1].epoch})")
    if last.train_acc - last.test_acc > 0.05:
        parts.append(f"overfitting: train acc {last.train_acc:.3f} vs test {last.test_acc:.3f}")
    return "; ".join(parts)


def _same_settings(state: dict[str, Any], config: TrainConfig, where: Path) -> None:
    saved = TrainConfig(**json.loads(state["config"]))
    if saved.identity() != config.identity():
        diff = [k for k, v in config.identity().items() if saved.identity().get(k) != v]
        raise TrainError(f"{where}: the checkpoint was made with other settings ({', '.join(diff)}); "
                         "use the same settings to resume, or --force to start over")


# ----------------------------------------------------------------------------- one run
#: the run functions of the other frameworks, each registered by its module: gradlab.lenet.keras_train adds "keras"
#: (the package gradlab.lenet imports it), so that train_run, train and the sweeps run them as they run torch's
RUNNERS: dict[str, Callable[..., "RunResult"]] = {}


class _Progress:
    def __init__(self, enabled: bool, total: int, desc: str, unit: str = "batch"):
        self.bar = None
        if enabled:
            try:
                with warnings.catch_warnings():  # Jupyter without ipywidgets: tqdm.auto falls back to a text bar
                    warnings.filterwarnings("ignore", message="IProgress not found")
                    from tqdm.auto import tqdm

                self.bar = tqdm(total=total, desc=desc, unit=unit, leave=False, mininterval=0.5,
                                dynamic_ncols=True, file=sys.stderr)
            except ImportError:  # pragma: no cover
                self.bar = None

    def update(self, n: int, loss: float | None = None) -> None:
        if self.bar is not None:
            self.bar.update(n)
            if loss is not None:
                self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def train_run(config: TrainConfig, data: Dataset, run_dir: str | Path | None, *, run: int = 1, seed: int | None = None,
              resume: bool = False, progress: bool = False, log: Callable[[str], None] | None = None,
              stop_after_steps: int | None = None) -> RunResult:
    """Train one model; with ``run_dir``, checkpoint every epoch there and write the run's metrics and model."""
    if config.framework in RUNNERS:
        return RUNNERS[config.framework](config, data, run_dir, run=run, seed=seed, resume=resume, progress=progress,
                                         log=log, stop_after_steps=stop_after_steps)
    seed = config.seed if seed is None else seed
    set_threads(config.threads)
    device = resolve_device(config.device)
    run_dir = Path(run_dir) if run_dir is not None else None
    ckpt_path = run_dir / "checkpoint.pt" if run_dir else None
    result_path = run_dir / "result.json" if run_dir else None
    if result_path is not None and result_path.is_file():
        if resume:
            if ckpt_path is not None and ckpt_path.is_file():
                _same_settings(load_checkpoint(ckpt_path), config, ckpt_path)
            done = RunResult.from_dict(json.loads(result_path.read_text()))
            done.verdict = verdict(done.history)  # the current wording
            return done
        raise TrainError(f"{run_dir} already holds a finished run; pass --resume to keep it or --force to start over")

    if run_dir is not None and run_dir.is_dir():  # temp files of a write that was killed halfway
        for stale in run_dir.glob(".*.tmp*"):
            stale.unlink(missing_ok=True)
    model = channels_last(build_model(config.model, seed=seed).to(device))
    assert config.lr is not None  # TrainConfig.__post_init__ fills it in
    opt = make_optimizer(config.optimizer, model.parameters(), float(config.lr), config.momentum, config.weight_decay)
    aug = Augment.parse(config.augment)
    history: list[EpochMetrics] = []
    checks: list[dict[str, Any]] = []
    start_epoch, step, elapsed = 0, 0, 0.0
    if ckpt_path is not None and ckpt_path.is_file():
        if not resume:
            raise TrainError(f"{run_dir} holds a checkpoint of an unfinished run; pass --resume to continue it "
                             "or --force to start over")
        state = load_checkpoint(ckpt_path)
        _same_settings(state, config, ckpt_path)

        fit_weights(model, state.get("model"), ckpt_path)
        opt.load_state_dict(state["optimizer"])
        history = [EpochMetrics(**h) for h in json.loads(state["history"])]
        checks = json.loads(state["checks"])
        start_epoch, step, elapsed = int(state["epoch"]), int(state["step"]), float(state["elapsed"])
        if log:
            log(f"run {run}: resuming after epoch {start_epoch} (step {step})")

    train_x, train_y = data.floats("train").to(device), data.train_y.to(device)
    test_x, test_y = data.floats("test"), data.test_y
    n = len(train_y)
    bs = config.batch_size
    steps_per_epoch = math.ceil(n / bs)
    total_steps = config.iterations or config.epochs * steps_per_epoch
    n_epochs = math.ceil(total_steps / steps_per_epoch)
    loss_fn = nn.CrossEntropyLoss()
    base_lr = float(config.lr)
    forward = compiled(model, config.compile, steps=total_steps - step, device=device, log=log)

    for epoch in range(start_epoch, n_epochs):
        t0 = time.perf_counter()
        gen = torch.Generator().manual_seed(_epoch_seed(seed, epoch))
        torch.manual_seed(_epoch_seed(seed, epoch) + 1)  # dropout masks
        perm = torch.randperm(n, generator=gen).to(device)
        steps = min(steps_per_epoch, total_steps - epoch * steps_per_epoch)
        model.train()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), dtype=torch.long, device=device)
        seen = 0
        epoch_checks: list[dict[str, Any]] = []
        bar = _Progress(progress, steps, f"run {run} epoch {epoch + 1}/{n_epochs}")
        for b in range(steps):
            idx = perm[b * bs:(b + 1) * bs]
            xb, yb = train_x[idx], train_y[idx]
            if aug is not None:
                xb = aug(xb.cpu(), gen).to(device)
            if config.schedule == "cosine":  # stateless: a resumed run sets the same rate
                for group in opt.param_groups:
                    group["lr"] = base_lr * 0.5 * (1 + math.cos(math.pi * step / total_steps))
            try:
                out = forward(xb)
                loss = loss_fn(out, yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
            except Exception as e:  # compiling failed (the plain model's errors are raised again below)
                if not forward.compiled:
                    raise
                forward.fall_back(e)
                out = forward(xb)
                loss = loss_fn(out, yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
            opt.step()
            with torch.no_grad():
                loss_sum += loss.detach() * len(yb)
                correct += (out.argmax(1) == yb).sum()
            seen += len(yb)
            step += 1
            if config.check_every and step % config.check_every == 0:
                c = directional_check(model, xb[:config.check_batch], yb[:config.check_batch], step=step, seed=seed)
                epoch_checks.append(c.to_dict())
            if bar.bar is not None:
                bar.update(1, float(loss.detach()))
            if stop_after_steps is not None and step >= stop_after_steps:  # for tests of interruption
                raise KeyboardInterrupt
        bar.close()
        train_seconds = time.perf_counter() - t0
        test_loss, test_acc = evaluate(model, test_x, test_y)
        seconds = time.perf_counter() - t0
        elapsed += seconds
        checks += epoch_checks
        rels = [c["rel_error"] for c in epoch_checks]
        m = EpochMetrics(epoch + 1, step, float(loss_sum) / seen, int(correct) / seen, test_loss, test_acc, seconds,
                         seen / max(train_seconds, 1e-9), float(opt.param_groups[0]["lr"]), len(epoch_checks),
                         max(rels) if rels else None, all(c["ok"] for c in epoch_checks) if epoch_checks else None)
        history.append(m)
        if log:
            extra = f", checks {len(rels)} (max rel err {max(rels):.1e})" if rels else ""
            log(f"run {run} epoch {m.epoch}/{n_epochs}: train loss {m.train_loss:.4f}, train acc {m.train_acc:.4f}, "
                f"test acc {m.test_acc:.4f} ({m.seconds:.1f}s{extra})")
        if ckpt_path is not None:
            save_checkpoint(ckpt_path, model=model, optimizer=opt, epoch=epoch + 1, step=step, history=history,
                            checks=checks, config=config, seed=seed, elapsed=elapsed)

    final = asdict(history[-1]) if history else {}
    final["best_test_acc"] = max((h.test_acc for h in history), default=float("nan"))
    final["best_epoch"] = max(history, key=lambda h: h.test_acc).epoch if history else None
    if config.eval_shifted and history:
        _, final["test_acc_shifted"] = evaluate(model, shifted_test_set(test_x), test_y)
    if checks:
        final["checks"] = len(checks)
        final["checks_failed"] = sum(not c["ok"] for c in checks)
        final["check_max_rel_err"] = max(c["rel_error"] for c in checks)
    result = RunResult(run, seed, history, final, verdict(history), checks, elapsed)
    if run_dir is not None:

        save_model(model, run_dir / "model", config=config, classes=data.classes, metrics=result.final,
                   dataset=data.describe())
        write_atomic(run_dir / "metrics.csv", _csv([result]))
        write_atomic(result_path, json.dumps(result.to_dict(), indent=1))  # type: ignore[arg-type]
    return result


# ----------------------------------------------------------------------------- several runs
def _stats(values: list[float | None]) -> dict[str, float]:
    # a diverged run's NaN loss is null in its result.json, and None when read back
    t = torch.tensor([math.nan if v is None else v for v in values], dtype=torch.float64)
    std = float(t.std(unbiased=True)) if len(values) > 1 else 0.0
    return {"mean": float(t.mean()), "std": std, "min": float(t.min()), "max": float(t.max()), "n": len(values)}


def summarize(runs: list[RunResult]) -> dict[str, Any]:
    s: dict[str, Any] = {}
    if not runs or not runs[0].history:
        return s
    for key, src in (("final_train_loss", "train_loss"), ("final_train_acc", "train_acc"),
                     ("final_test_acc", "test_acc"), ("final_test_loss", "test_loss"),
                     ("best_test_acc", "best_test_acc")):
        s[key] = _stats([r.final[src] for r in runs])
    if all("test_acc_shifted" in r.final for r in runs):
        s["test_acc_shifted"] = _stats([r.final["test_acc_shifted"] for r in runs])
    s["seconds_per_run"] = _stats([r.seconds for r in runs])
    s["seconds_per_epoch"] = _stats([h.seconds for r in runs for h in r.history])
    s["images_per_s"] = _stats([h.images_per_s for r in runs for h in r.history])
    if any(r.checks for r in runs):
        s["checks"] = sum(len(r.checks) for r in runs)
        s["checks_failed"] = sum(not c["ok"] for r in runs for c in r.checks)
        s["check_max_rel_err"] = max(c["rel_error"] for r in runs for c in r.checks)
    return s


def _csv(runs: list[RunResult]) -> str:
    buf = io.StringIO()
    names = [f.name for f in fields(EpochMetrics)]
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["run", "seed", *names])
    for r in runs:
        for h in r.history:
            w.writerow([r.run, r.seed, *["" if getattr(h, k) is None else getattr(h, k) for k in names]])
    return buf.getvalue()


def train(config: TrainConfig, out: str | Path | None = None, *, resume: bool = False, force: bool = False,
          progress: bool = False, log: Callable[[str], None] | None = None, data: Dataset | None = None,
          plot: bool = True) -> TrainResult:
    """``config.runs`` runs with seeds ``seed, seed+1, ...``; with ``out``, every file of the lab goes there:
    ``config.json``, ``metrics.csv``, ``metrics.json``, ``curves.png`` and ``run-<k>/`` (checkpoint, model)."""
    # what TrainConfig cannot check by itself fails here, before any file is written
    resolve_device(config.device)
    build_model(config.model, seed=0)
    if data is None:
        data = load_dataset(config.dataset, config.data_dir, download_missing=config.download)
        if config.train_limit or config.test_limit:
            data = data.subset(config.train_limit, config.test_limit)
    n_train = len(data.train_y)
    if config.batch_size > n_train:  # one batch would be the whole set at once: say so, do not run for minutes
        raise TrainError(f"batch size {config.batch_size:,} is larger than the training set ({n_train:,} images); "
                         f"choose at most {n_train:,} (the course uses 256)")
    if log:
        log(data.notice)
    out_dir = Path(out) if out is not None else None
    if out_dir is not None and (out_dir / "config.json").is_file() and not force:
        if not resume:
            raise TrainError(f"{out_dir} already holds a training; pass --resume to continue it or --force to "
                             "start over")
        try:
            saved = TrainConfig.from_dict(json.loads((out_dir / "config.json").read_text()))
        except (ValueError, GradlabError):
            saved = None
        if saved is not None and saved.identity() != config.identity():
            diff = [k for k, v in config.identity().items() if saved.identity().get(k) != v]
            raise TrainError(f"{out_dir} holds a training with other settings ({', '.join(diff)}); use the same "
                             "settings with --resume, or --force to start over")
    if out_dir is not None:
        if force and out_dir.exists():
            import shutil

            for k in range(1, 1000):
                d = out_dir / f"run-{k}"
                if not d.exists():
                    break
                shutil.rmtree(d)
        write_atomic(out_dir / "config.json", json.dumps(config.to_dict(), indent=1))
    runs = []
    for k in range(config.runs):
        run_dir = out_dir / f"run-{k + 1}" if out_dir is not None else None
        runs.append(train_run(config, data, run_dir, run=k + 1, seed=config.seed + k, resume=resume,
                              progress=progress, log=log))
    result = TrainResult(config, runs, summarize(runs), data.describe(), str(out_dir) if out_dir else None)
    if out_dir is not None:
        write_atomic(out_dir / "metrics.csv", _csv(runs))
        result.files = ["config.json", "metrics.csv", "metrics.json"]
        if plot:
            plot_curves({config.model if config.runs else "": runs}, out_dir / "curves.png",
                        title=f"{config.model}{' (Keras)' * (config.framework == 'keras')} on {data.name}: {config.optimizer} lr {config.lr:g}, "
                              f"batch {config.batch_size}, {config.runs} run{'s' * (config.runs > 1)}")
            result.files.append("curves.png")
        write_atomic(out_dir / "metrics.json", result.to_json(indent=1))
    return result


# ----------------------------------------------------------------------------- plots
def plot_curves(groups: dict[str, list[RunResult]], path: str | Path, *, title: str = "",
                show_runs: bool = True, x: str = "epoch") -> Path:
    """Train loss, train accuracy and test accuracy per epoch: every run as a thin line, and for
    several runs the mean with a +/- one standard deviation band; one colour per group.
    ``x="step"`` puts the iterations on the x axis (runs of different lengths, partial epochs)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    panels = [("train_loss", "train loss (mean over the epoch)"), ("train_acc", "train accuracy"),
              ("test_acc", "test accuracy (after each epoch)")]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    single = len(groups) == 1  # one setup: each run in its own colour, the mean in black
    for gi, (label, runs) in enumerate(groups.items()):
        color = "black" if single else colors[gi % len(colors)]
        runs = [r for r in runs if r.history]
        if not runs:
            continue
        for ax, (key, name) in zip(axes, panels):
            length = min(len(r.history) for r in runs)
            epochs = np.array([getattr(h, x) for h in runs[0].history[:length]])
            vals = np.array([[getattr(h, key) for h in r.history[:length]] for r in runs], dtype=float)
            if show_runs or single:
                for ri, r in enumerate(runs):
                    few = len(r.history) <= 12
                    ax.plot([getattr(h, x) for h in r.history], [getattr(h, key) for h in r.history],
                            color=colors[ri % len(colors)] if single else color,
                            lw=1.2 if single else 0.8, alpha=0.9 if single else (0.45 if len(runs) > 1 else 1.0),
                            marker="." if few else None, ms=5,
                            label=f"run {r.run} (seed {r.seed})" if single and len(runs) > 1 else None)
            if len(runs) > 1:
                mean, std = vals.mean(0), vals.std(0, ddof=1)
                ax.plot(epochs, mean, color=color, lw=2.0 if not single else 1.6, ls="--" if single else "-",
                        marker="." if length <= 12 and not single else None, ms=6,
                        label=(f"mean ± std of {len(runs)} runs" if single else
                               (f"{label} (mean of {len(runs)})" if label else f"mean of {len(runs)} runs")))
                ax.fill_between(epochs, mean - std, mean + std, color=color, alpha=0.10 if single else 0.18, lw=0)
            elif label and not single:
                ax.plot([], [], color=color, label=label)
            ax.set_title(name, fontsize=10)
            ax.set_xlabel("iteration (batches)" if x == "step" else "epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
    handles, labels = axes[2].get_legend_handles_labels()
    many = len(labels) > 4
    if labels and not many:
        axes[2].legend(fontsize=8, loc="lower right")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    if many:  # below the panels, where it hides no curve
        rows = math.ceil(len(labels) / 5)
        fig.subplots_adjust(bottom=0.14 + 0.055 * rows)
        fig.legend(handles, labels, loc="lower center", ncol=5, fontsize=8, frameon=False)
    p = Path(path)
    with atomic_path(p) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return p


def checkpoint_to_model(checkpoint: str | Path, out: str | Path, *, classes: list[str] | None = None) -> Path:
    """Export a training checkpoint's weights to ``<out>.safetensors`` + ``<out>.json``."""
    state = load_checkpoint(checkpoint)
    model, arch, settings = checkpoint_model(state, checkpoint)
    try:
        history = json.loads(state["history"])
        cfg = TrainConfig(**settings)
    except (KeyError, TypeError, ValueError, RecursionError) as e:
        raise PersistError(f"{checkpoint}: a damaged checkpoint: its history or settings cannot be read "
                           f"({type(e).__name__})") from None
    if classes is None:
        from .data import CLASS_NAMES

        classes = CLASS_NAMES.get(cfg.dataset, None)
    return save_model(model, out, config=cfg, arch=arch, classes=classes, metrics=history[-1] if history else {})
