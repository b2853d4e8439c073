"""Sweeps: several training setups x several seeds, one Markdown report with a table and plots.

A sweep file (TOML) names the shared settings and what varies::

    name = "learning rate"
    runs = 3                       # seeds per point
    [base]                         # any TrainConfig field
    dataset = "fashion-mnist"
    epochs = 10
    [vary]                         # a grid: every combination of these values
    lr = [0.1, 0.3, 0.9, 2.0]

or explicit points (each a table of overrides, ``label`` optional)::

    [[point]]
    label = "Adam"
    optimizer = "adam"

Every run keeps its own checkpoint, so an interrupted sweep continues where it stopped
(finished runs are reused, unfinished ones resume from their last epoch). Independent
runs can go to several processes (``jobs``), or to Ray (``engine="ray"``, a local Ray or a cluster).

>>> spec = SweepSpec.parse('name = "lr"\\nruns = 1\\n[base]\\nepochs = 1\\n[vary]\\nlr = [0.1, 0.9]')
>>> [p.label for p in spec.points]
['lr=0.1', 'lr=0.9']
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import GradlabError
from ..fileio import atomic_path, output_folder, read_text, write_atomic
from ..jsonable import jsonable

__all__ = ["SweepError", "SweepPoint", "SweepSpec", "SweepResult", "run_sweep", "ENGINES"]


class SweepError(GradlabError):
    """A sweep file that cannot be used."""


@dataclass
class SweepPoint:
    label: str
    overrides: dict[str, Any]

    @property
    def slug(self) -> str:
        s = re.sub(r"[^A-Za-z0-9.=+-]+", "_", self.label).strip("_")
        return s[:80] or "point"


@dataclass
class SweepSpec:
    name: str
    base: dict[str, Any]
    points: list[SweepPoint]
    runs: int = 3
    description: str = ""
    source: str = ""

    @classmethod
    def parse(cls, text: str, where: str = "sweep") -> "SweepSpec":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover
            import tomli as tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise SweepError(f"{where}: not valid TOML: {e}") from None
        except RecursionError:
            raise SweepError(f"{where}: not valid TOML: arrays or tables nested too deeply") from None
        return cls.from_dict(data, where, source=text)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "sweep", *, source: str = "") -> "SweepSpec":
        """A sweep from the data a sweep file holds (``name``, ``runs``, ``base``, ``vary`` or ``point``), e.g.
        from a notebook: ``SweepSpec.from_dict({"name": "lr", "base": {"epochs": 2}, "vary": {"lr": [0.1, 0.9]}})``.
        A ``None`` in ``base`` or a point keeps that setting's default."""
        from .train import TrainConfig

        if not isinstance(data, dict):
            raise SweepError(f"{where}: a sweep is a table of settings")
        known = {"name", "description", "runs", "base", "vary", "point", "points"}
        unknown = set(data) - known
        if unknown:
            raise SweepError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; expected {', '.join(sorted(known))}")
        if not isinstance(data.get("base", {}), dict):
            raise SweepError(f"{where}: [base] is a table of settings")
        base = {k: v for k, v in data.get("base", {}).items() if v is not None}
        runs = data.get("runs", base.pop("runs", 3))
        if not isinstance(runs, int) or isinstance(runs, bool) or runs < 1:
            raise SweepError(f"{where}: runs must be a whole number >= 1, got {runs!r}")
        explicit = list(data.get("point", [])) + list(data.get("points", []))
        vary = data.get("vary", {})
        if not isinstance(vary, dict) or any(not isinstance(v, list) or not v for v in vary.values()):
            raise SweepError(f"{where}: [vary] maps a setting to a non-empty list of values, e.g. lr = [0.1, 0.9]")
        grid = [dict(zip(vary, combo)) for combo in itertools.product(*vary.values())] if vary else [{}]
        bases = explicit or [{}]
        points: list[SweepPoint] = []
        for b in bases:
            if not isinstance(b, dict):
                raise SweepError(f"{where}: each [[point]] is a table of settings")
            b = {k: v for k, v in b.items() if v is not None}
            label = b.pop("label", None)
            for g in grid:
                over = {**b, **g}
                text = label or ", ".join(f"{k}={_short(v)}" for k, v in over.items()) or "base"
                if label and g:
                    text += " " + ", ".join(f"{k}={_short(v)}" for k, v in g.items())
                points.append(SweepPoint(text, over))
        if not explicit and not vary:
            raise SweepError(f"{where}: nothing varies: add a [vary] table or [[point]] tables")
        labels = [p.slug for p in points]
        if len(set(labels)) != len(labels):
            raise SweepError(f"{where}: two points have the same label; give each [[point]] its own label")
        for p in points:  # validate every configuration before anything runs
            cfg = {**base, **p.overrides, "runs": runs}
            TrainConfig.from_dict(cfg, f"{where}, point {p.label!r}")
        if not source:  # what sweep.toml in the output folder keeps: the same sweep as TOML
            source = _toml(data)
        return cls(str(data.get("name", "sweep")), base, points, runs, str(data.get("description", "")), source)

    @classmethod
    def load(cls, path: str | Path) -> "SweepSpec":
        p = Path(path)
        return cls.parse(read_text(p, "sweep spec", error=SweepError), str(p))

    def config(self, point: SweepPoint) -> Any:
        from .train import TrainConfig

        return TrainConfig.from_dict({**self.base, **point.overrides, "runs": self.runs})


def _toml(data: dict[str, Any]) -> str:
    """A sweep given as data, written as a sweep file (numbers, text, booleans and lists: JSON writes them as
    TOML does)."""
    def line(k: str, v: Any) -> str:
        key = k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k, ensure_ascii=False)
        return f"{key} = {json.dumps(v, ensure_ascii=False)}"

    out = [line(k, data[k]) for k in ("name", "description", "runs") if k in data]
    out += ["[base]", *(line(k, v) for k, v in data.get("base", {}).items() if v is not None)]
    if data.get("vary"):
        out += ["[vary]", *(line(k, v) for k, v in data["vary"].items())]
    for p in list(data.get("point", [])) + list(data.get("points", [])):
        out += ["[[point]]", *(line(k, v) for k, v in p.items() if v is not None)]
    return "\n".join(out) + "\n"


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


@dataclass
class SweepResult:
    spec: SweepSpec
    points: dict[str, list[Any]]  # label -> RunResult list
    summaries: dict[str, dict[str, Any]]
    out: str
    seconds: float
    files: list[str] = field(default_factory=list)

    def table(self) -> str:
        head = ("| point | final test acc | best test acc | final train loss | shifted/rotated test acc | "
                "time per run |\n|---|---|---|---|---|---|")
        rows = []
        for p in self.spec.points:
            s = self.summaries[p.label]
            if not s:
                continue
            shifted = _pm(s["test_acc_shifted"]) if "test_acc_shifted" in s else "-"
            rows.append(f"| {p.label} | {_pm(s['final_test_acc'])} | {_pm(s['best_test_acc'])} | "
                        f"{_pm(s['final_train_loss'])} | {shifted} | {s['seconds_per_run']['mean']:.1f} s |")
        return head + "\n" + "\n".join(rows)

    def _repr_html_(self) -> str:
        """Jupyter's view: the table of the report, and its bar chart inline when the sweep wrote one."""
        from ..htmltable import esc, html_table, png_img

        rows = []
        for p in self.spec.points:
            s = self.summaries[p.label]
            if s:
                rows.append([p.label, _pm(s["final_test_acc"]), _pm(s["best_test_acc"]), _pm(s["final_train_loss"]),
                             _pm(s["test_acc_shifted"]) if "test_acc_shifted" in s else "-",
                             f"{s['seconds_per_run']['mean']:.1f} s"])
        spread = f"mean ± std over {self.spec.runs} runs per point" if self.spec.runs > 1 else "one run per point"
        table = html_table(["point", "final test acc", "best test acc", "final train loss", "shifted/rotated test acc",
                            "time per run"], rows, left=(0,), caption=f"sweep {self.spec.name}: {spread}")
        picture = png_img(Path(self.out) / "final.png", "final test accuracy per point", width=640)
        return (f'<div class="gradlab-sweep">{table}{picture or ""}<p>{esc(f"total time {self.seconds:.0f} s; files in {self.out}")}'
                "</p></div>")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.spec.name, "runs": self.spec.runs, "base": self.spec.base, "seconds": self.seconds,
                "points": [{"label": p.label, "overrides": p.overrides, "summary": self.summaries[p.label],
                            "runs": [r.to_dict() for r in self.points[p.label]]} for p in self.spec.points]}


def _pm(s: dict[str, float]) -> str:
    return f"{s['mean']:.4f} ± {s['std']:.4f}" if s.get("n", 1) > 1 else f"{s['mean']:.4f}"


# ----------------------------------------------------------------------------- running
_DATA_CACHE: dict[tuple, Any] = {}


def _dataset(cfg: Any) -> Any:
    from .data import load_dataset

    key = (cfg.dataset, cfg.data_dir, cfg.train_limit, cfg.test_limit)
    if key not in _DATA_CACHE:
        d = load_dataset(cfg.dataset, cfg.data_dir, download_missing=cfg.download)
        if cfg.train_limit or cfg.test_limit:
            d = d.subset(cfg.train_limit, cfg.test_limit)
        _DATA_CACHE[key] = d
    return _DATA_CACHE[key]


def _task(cfg_dict: dict[str, Any], run_dir: str, run: int, seed: int, threads: int | None) -> dict[str, Any]:
    from .train import TrainConfig, train_run

    cfg = TrainConfig.from_dict(cfg_dict)
    if threads:
        cfg.threads = threads
    return train_run(cfg, _dataset(cfg), run_dir, run=run, seed=seed, resume=True).to_dict()


#: where the runs of a sweep go: this process or a local process pool (``jobs``), or Ray tasks
ENGINES = ("local", "ray")


def _finished(tasks: list[tuple[str, dict[str, Any], str, int, int]], out: Path, jobs: int, threads: int | None,
              engine: str, address: str | None) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """``(label, run, result dict)`` of every task, in the order they finish."""
    if engine == "ray":
        from .ray_engine import ray_runs

        yield from ray_runs(_task, tasks, out, address=address, threads=threads, num_cpus=max(jobs, 2))
        return
    jobs = max(1, min(jobs, len(tasks)))
    if jobs == 1:
        for label, cfg, run_dir, run, seed in tasks:
            yield label, run, _task(cfg, run_dir, run, seed, threads)
        return
    import multiprocessing as mp

    per = threads or max(1, (os.cpu_count() or 1) // jobs)
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
        futs = {pool.submit(_task, cfg, run_dir, run, seed, per): (label, run) for label, cfg, run_dir, run, seed in tasks}
        for fut in as_completed(futs):
            yield (*futs[fut], fut.result())


def run_sweep(spec: SweepSpec | str | Path, out: str | Path, *, jobs: int = 1, force: bool = False,
              log: Callable[[str], None] | None = None, threads: int | None = None,
              progress: bool = False, engine: str = "local", address: str | None = None) -> SweepResult:
    """Run every point x ``spec.runs`` seeds (``jobs`` processes), then write ``report.md``, ``sweep.json``,
    ``curves.png`` and ``final.png`` into ``out``. ``progress=True`` shows a bar over the runs (tqdm.auto: a
    widget in Jupyter, text in a terminal). ``engine="ray"`` runs every point and seed as a Ray task instead
    (:mod:`gradlab.lenet.ray_engine`): on a local Ray with ``max(jobs, 2)`` CPUs, or on the cluster at
    ``address``; the same files, resume rules and report."""
    if engine not in ENGINES:
        raise SweepError(f"unknown engine {engine!r}; choose {' or '.join(ENGINES)}")
    if address and engine != "ray":
        raise SweepError("--address names a Ray cluster: use it with --engine ray")
    if engine == "ray":  # before anything is written
        from ..extras import require

        require("ray", purpose="gradlab lenet sweep --engine ray")
    from .train import RunResult, _Progress, summarize

    if not isinstance(spec, SweepSpec):
        spec = SweepSpec.load(spec)
    from .models import build_model
    from .train import resolve_device

    configs = {p.slug: spec.config(p) for p in spec.points}
    for p in spec.points:  # every point's model and device, before a run starts or a file is written
        try:
            resolve_device(configs[p.slug].device)
            build_model(configs[p.slug].model, seed=0)
        except GradlabError as e:
            raise SweepError(f"point {p.label}: {e}") from None
    out = Path(out)
    if force and out.exists():
        import shutil

        for p in spec.points:
            shutil.rmtree(out / p.slug, ignore_errors=True)
    output_folder(out, "--out")
    write_atomic(out / "sweep.toml", spec.source or "")
    t0 = time.perf_counter()
    tasks = []
    for p in spec.points:
        cfg = configs[p.slug]
        for k in range(spec.runs):
            tasks.append((p.label, cfg.to_dict(), str(out / p.slug / f"run-{k + 1}"), k + 1, cfg.seed + k))
    results: dict[str, dict[int, Any]] = {p.label: {} for p in spec.points}
    total = len(tasks)
    earlier = {(label, run) for label, _, run_dir, run, _ in tasks if (Path(run_dir) / "result.json").is_file()}
    bar = _Progress(progress, total, f"sweep {spec.name}", unit="run")
    for done, (label, run, result) in enumerate(_finished(tasks, out, jobs, threads, engine, address), 1):
        r = results[label][run] = RunResult.from_dict(result)
        bar.update(1)
        if log:
            log(f"[{done}/{total}] {label}, run {run}: test acc {r.final['test_acc']:.4f}"
                + (" (finished earlier)" if (label, run) in earlier else f" ({r.seconds:.1f}s)"))
    bar.close()
    points = {label: [rs[k] for k in sorted(rs)] for label, rs in results.items()}
    summaries = {label: summarize(rs) for label, rs in points.items()}
    res = SweepResult(spec, points, summaries, str(out), time.perf_counter() - t0)
    write_atomic(out / "sweep.json", json.dumps(jsonable(res.to_dict()), indent=1))
    _plots(res, out)
    write_atomic(out / "report.md", report_markdown(res))
    res.files = ["report.md", "sweep.json", "curves.png", "final.png", "sweep.toml"]
    return res


def report_markdown(res: SweepResult) -> str:
    spec = res.spec
    base = ", ".join(f"{k}={_short(v)}" for k, v in spec.base.items()) or "defaults"
    lines = [f"# Sweep: {spec.name}", ""]
    if spec.description:
        lines += [spec.description, ""]
    lines += [f"Shared settings: {base}; {spec.runs} run{'s' * (spec.runs > 1)} (seeds) per point. " +
              ("Accuracies are mean ± standard deviation over the runs" if spec.runs > 1 else
               "Accuracies are those of the one run per point (no spread to show)") +
              "; 'final' is after the last epoch, 'best' the best epoch of each run.", "", res.table(), "",
              "![test accuracy and loss per epoch](curves.png)", "", "![final test accuracy per point](final.png)", "",
              "## Verdicts", ""]
    for p in spec.points:
        for r in res.points[p.label]:
            lines.append(f"- {p.label}, run {r.run} (seed {r.seed}): {r.verdict}")
    lines += ["", f"Total time {res.seconds:.0f} s."]
    return "\n".join(lines) + "\n"


def _runs_per_point(runs: int) -> str:
    """What a sweep's pictures show: the mean ± std of several runs, or the one run itself."""
    return f"{runs} runs per point (mean ± std band)" if runs > 1 else "1 run per point (the run itself, no spread)"


def _plots(res: SweepResult, out: Path) -> None:
    from .train import plot_curves

    plot_curves({p.label: res.points[p.label] for p in res.spec.points}, out / "curves.png",
                title=f"{res.spec.name}: {_runs_per_point(res.spec.runs)}",
                show_runs=res.spec.runs == 1,
                x="step" if any("iterations" in p.overrides for p in res.spec.points) or "iterations" in res.spec.base
                else "epoch")
    plot_final(res, out / "final.png")


def plot_final(res: SweepResult, path: Path) -> None:
    """Bars of the final, best and shifted/rotated test accuracy per point, on an axis from zero."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [p.label for p in res.spec.points if res.summaries[p.label]]
    keys = [k for k in ("final_test_acc", "best_test_acc", "test_acc_shifted")
            if all(k in res.summaries[lab] for lab in labels)]
    names = {"final_test_acc": "final test acc", "best_test_acc": "best test acc",
             "test_acc_shifted": "shifted/rotated test acc"}
    height = 0.8 / max(len(keys), 1)
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.28 * len(keys) * len(labels) + 0.6))
    for i, k in enumerate(keys):
        means = [res.summaries[lab][k]["mean"] for lab in labels]
        stds = [res.summaries[lab][k]["std"] for lab in labels]
        ys = [j + (i - (len(keys) - 1) / 2) * height for j in range(len(labels))]
        ax.barh(ys, means, height, xerr=stds, capsize=2, label=names[k])
        for y, m, sd in zip(ys, means, stds):
            ax.text(m + sd + 0.004, y, f"{m:.3f}", va="center", fontsize=7)
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("accuracy (mean ± std over the runs)" if res.spec.runs > 1 else "accuracy (one run)")
    ax.set_xlim(0.0, 1.04)  # from zero: a cut axis would make small differences look large
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12 if len(labels) > 3 else -0.25),
              ncol=len(keys), frameon=False)
    ax.set_title(f"{res.spec.name}: " + (f"{res.spec.runs} runs per point (mean, bars ± std)" if res.spec.runs > 1
                                         else _runs_per_point(1)), fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
