"""LeNet lab benchmark: full training runs, accuracy targets and the trainer's speed.

    python benchmarks/lenet.py                      # every part
    python benchmarks/lenet.py --part reference     # or adam, mnist, speed (repeatable)

Parts:

* ``reference``  the notebook's recipe on the full Fashion-MNIST, 3 seeds x 10 epochs
                 (targets: each run's final train loss 0.44..0.50, train acc 0.80..0.85,
                 mean test acc >= 0.78);
* ``adam``       ReLU + max pooling + Adam (constant lr 1e-3) on Fashion-MNIST, 10 epochs, for comparison;
* ``adam-cosine`` the same with lr 2e-3 annealed to 0 (cosine), 10 epochs (target >= 0.90);
* ``mnist``      the embedded MNIST subset (4,000 / 1,000), the documented recipe (target >= 0.95);
* ``sweeps``     the sweeps of docs/lenet/sweeps/ (learning rate, iterations, architecture, optimizers,
                 augmentation), tables and plots for docs/lenet.md;
* ``pictures``   feature maps and kernels of the trained models, augmentation previews;
* ``speed``      gradlab's trainer (compiled, and with ``--no-compile``) against a plain PyTorch loop
                 of the same model, batch size and data, interleaved rounds in one process at 1 and
                 at 2 threads (target: images/s ratio >= 1.5 at each, the median of 6 rounds).

Results are merged into ``benchmarks/results/lenet.json`` and ``benchmarks/results/lenet.md``;
curves go to ``docs/images/lenet/``. Exit code 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gradlab.fileio import write_atomic  # noqa: E402
from gradlab.lenet.data import load_dataset, to_float  # noqa: E402
from gradlab.lenet.models import build_model  # noqa: E402
from gradlab.lenet.train import TrainConfig, evaluate, plot_curves, train, train_run  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
IMAGES = ROOT / "docs" / "images" / "lenet"
WORK = ROOT / "out" / "bench-lenet"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def machine() -> dict:
    return {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "python": platform.python_version(), "platform": platform.platform(),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def history_table(result) -> list[dict]:
    return [{"run": r.run, "seed": r.seed, "history": [vars(h) for h in r.history], "final": r.final,
             "verdict": r.verdict, "seconds": r.seconds} for r in result.runs]


def part_reference(args) -> dict:
    cfg = TrainConfig(dataset="fashion-mnist", model="lenet", optimizer="sgd", lr=0.9, batch_size=256, epochs=10,
                      runs=3, seed=0, threads=args.threads)
    res = train(cfg, WORK / "reference", force=True, log=log, plot=False)
    plot_curves({"LeNet (sigmoid, avg pool), SGD lr 0.9": res.runs}, IMAGES / "reference.png",
                title="Reference recipe on Fashion-MNIST: 3 seeds, batch 256, 10 epochs (mean +/- std band)")
    runs = res.runs
    ok_loss = all(0.44 <= r.final["train_loss"] <= 0.50 for r in runs)
    ok_acc = all(0.80 <= r.final["train_acc"] <= 0.85 for r in runs)
    mean_test = res.summary["final_test_acc"]["mean"]
    return {"config": cfg.to_dict(), "summary": res.summary, "runs": history_table(res),
            "targets": {"train_loss_0.44_0.50": ok_loss, "train_acc_0.80_0.85": ok_acc,
                        "mean_test_acc_ge_0.78": mean_test >= 0.78},
            "published": {"train_loss": 0.468, "train_acc": 0.823, "test_acc": 0.820}}


def part_adam(args) -> dict:
    cfg = TrainConfig(dataset="fashion-mnist", model="lenet-relu-maxpool", optimizer="adam", lr=1e-3, batch_size=128,
                      epochs=10, runs=3, seed=0, threads=args.threads)
    res = train(cfg, WORK / "adam", force=True, log=log, plot=False)
    plot_curves({"LeNet ReLU + max pool, Adam lr 1e-3, batch 128": res.runs}, IMAGES / "adam.png",
                title="ReLU + max pooling + Adam on Fashion-MNIST: 3 seeds, batch 128, 10 epochs")
    # for comparison with the cosine recipe: a constant rate keeps the last epochs noisy
    return {"config": cfg.to_dict(), "summary": res.summary, "runs": history_table(res),
            "observations": {"mean_test_acc_ge_0.90": res.summary["final_test_acc"]["mean"] >= 0.90,
                             "every_run_ge_0.90": all(r.final["test_acc"] >= 0.90 for r in res.runs)}}


def part_adam_cosine(args) -> dict:
    cfg = TrainConfig(dataset="fashion-mnist", model="lenet-relu-maxpool", optimizer="adam", lr=2e-3, batch_size=128,
                      schedule="cosine", epochs=10, runs=3, seed=0, threads=args.threads)
    res = train(cfg, WORK / "adam-cosine", force=True, log=log, plot=False)
    plot_curves({"LeNet ReLU + max pool, Adam lr 2e-3 cosine, batch 128": res.runs}, IMAGES / "adam-cosine.png",
                title="ReLU + max pooling + Adam (lr 2e-3, cosine annealing) on Fashion-MNIST: 3 seeds, batch 128")
    return {"config": cfg.to_dict(), "summary": res.summary, "runs": history_table(res),
            "targets": {"mean_test_acc_ge_0.90": res.summary["final_test_acc"]["mean"] >= 0.90,
                        "every_run_ge_0.90": all(r.final["test_acc"] >= 0.90 for r in res.runs)}}


def part_mnist(args) -> dict:
    out = {}
    groups = {}
    for key, aug in (("plain", None), ("augmented", "affine")):
        cfg = TrainConfig(dataset="mnist5k", model="lenet-relu-maxpool", optimizer="adam", lr=2e-3, batch_size=64,
                          epochs=20, runs=3, seed=0, augment=aug, threads=args.threads)
        res = train(cfg, WORK / f"mnist-{key}", force=True, log=log, plot=False)
        groups[f"Adam lr 2e-3, batch 64{', affine augmentation' if aug else ''}"] = res.runs
        out[key] = {"config": cfg.to_dict(), "summary": res.summary, "runs": history_table(res),
                    "targets": {"mean_test_acc_ge_0.95": res.summary["final_test_acc"]["mean"] >= 0.95}}
    plot_curves(groups, IMAGES / "mnist5k.png",
                title="Embedded MNIST subset (4,000 train / 1,000 test), LeNet ReLU + max pool, 3 seeds")
    out["targets"] = {"mean_test_acc_ge_0.95": out["plain"]["summary"]["final_test_acc"]["mean"] >= 0.95}
    return out


def plain_loop(model, x, y, test_x, test_y, *, epochs: int, batch: int, lr: float, seed: int) -> tuple[float, float]:
    """What a student writes: shuffle, forward, loss, backward, step; test accuracy after each epoch.
    Returns the seconds and the last test accuracy."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(y), generator=g)
        for i in range(0, len(y), batch):
            idx = perm[i:i + batch]
            loss = loss_fn(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        _, acc = evaluate(model, test_x, test_y)
    return time.perf_counter() - t0, acc


def _speed_trial(kind: str, data, x, y, tx, ty, *, r: int, epochs: int, threads: int) -> tuple[float, float]:
    """Seconds and test accuracy of one trial: the plain loop, or gradlab's trainer (compiled or not) with
    everything it writes."""
    torch.manual_seed(r)
    if kind == "plain":
        return plain_loop(build_model("lenet", seed=r), x, y, tx, ty, epochs=epochs, batch=256, lr=0.9, seed=r)
    cfg = TrainConfig(dataset="fashion-mnist", model="lenet", optimizer="sgd", lr=0.9, batch_size=256,
                      epochs=epochs, runs=1, seed=r, threads=threads, eval_shifted=False,
                      compile=kind == "gradlab")
    run_dir = WORK / "speed" / f"{kind}-{threads}-{r}"
    if run_dir.exists():
        import shutil

        shutil.rmtree(run_dir)
    t0 = time.perf_counter()
    res = train_run(cfg, data, run_dir, seed=r)
    return time.perf_counter() - t0, res.final["test_acc"]


def part_speed(args) -> dict:
    """gradlab's trainer (compiled, the default for long runs; and with --no-compile) against the plain loop,
    interleaved rounds at each thread count; the ratio is the median of the per-round ratios."""
    data = load_dataset("fashion-mnist")
    if args.speed_images:
        data = data.subset(args.speed_images, None)
    log(data.notice)
    x, y = to_float(data.train_x), data.train_y
    tx, ty = to_float(data.test_x), data.test_y
    epochs, rounds = args.speed_epochs, args.speed_rounds
    images = epochs * len(y)
    kinds = ("plain", "gradlab", "gradlab_no_compile")
    out: dict = {"epochs_per_trial": epochs, "rounds": rounds, "images_per_trial": images, "threads": {}}
    from torch._dynamo.utils import counters

    out["compile_seconds"] = {}
    graphs_in_rounds = 0
    for threads in args.speed_threads:
        torch.set_num_threads(threads)
        # the process's compile at this thread count (inductor's code is made for it; from the inductor cache when
        # an earlier run filled it), outside the rounds: the trainer compiles model(x) once per process with the
        # model as an argument, so every later trial (a new model of the same architecture) runs the compiled code
        # without compiling again, as the 10 epochs of one `gradlab lenet train` run do. The warm-up run has the
        # trials' batch shapes (full batches and the remainder).
        t0 = time.perf_counter()
        warm = TrainConfig(dataset="fashion-mnist", model="lenet", optimizer="sgd", lr=0.9, batch_size=256,
                           epochs=1, seed=0, eval_shifted=False, compile=True, threads=threads)
        train_run(warm, data.subset(512 + len(y) % 256, 256), None)
        compile_s = out["compile_seconds"][str(threads)] = time.perf_counter() - t0
        log(f"{threads} thread(s): the process's compile (and a {512 + len(y) % 256}-image epoch): {compile_s:.1f}s")
        graphs_before = counters["stats"]["unique_graphs"]
        times: dict[str, list[float]] = {k: [] for k in kinds}
        accs: dict[str, list[float]] = {k: [] for k in kinds}
        load_before = [round(v, 2) for v in os.getloadavg()]
        for r in range(rounds):
            for kind in (kinds if r % 2 == 0 else kinds[::-1]):  # alternate the order: drift hits all alike
                t, acc = _speed_trial(kind, data, x, y, tx, ty, r=r, epochs=epochs, threads=threads)
                times[kind].append(t)
                accs[kind].append(acc)
                log(f"{threads} thread(s), round {r + 1}/{rounds} {kind}: {t:.2f}s, {images / t:,.0f} images/s, "
                    f"test acc {acc:.4f} (load {os.getloadavg()[0]:.1f})")
        graphs_in_rounds += counters["stats"]["unique_graphs"] - graphs_before
        ips = {k: [images / t for t in v] for k, v in times.items()}
        ratios = {k: [p / q for p, q in zip(times["plain"], times[k])] for k in kinds[1:]}
        # the reference recipe (10 epochs) in a fresh process, its compile included: 10 median trials + the compile
        per_epoch = {k: statistics.median(v) / epochs for k, v in times.items()}
        recipe = {"plain": 10 * per_epoch["plain"], "gradlab": 10 * per_epoch["gradlab"] + compile_s,
                  "gradlab_no_compile": 10 * per_epoch["gradlab_no_compile"]}
        out["threads"][str(threads)] = {
            "recipe_seconds": recipe,
            "recipe_ratio": {k: recipe["plain"] / recipe[k] for k in kinds[1:]},
            "test_acc": accs, "test_acc_mean": {k: statistics.mean(v) for k, v in accs.items()},
            "seconds": times, "images_per_s_median": {k: statistics.median(v) for k, v in ips.items()},
            "ratio_rounds": ratios, "ratio": {k: statistics.median(v) for k, v in ratios.items()},
            "load_average_before": load_before, "load_average_after": [round(v, 2) for v in os.getloadavg()]}
    torch.set_num_threads(args.threads)
    out["graphs_compiled_in_rounds"] = graphs_in_rounds  # 0: no trial compiled
    log(f"graphs compiled during the rounds: {out['graphs_compiled_in_rounds']}")
    out["targets"] = {f"ratio_ge_1.5_at_{t}_threads": out["threads"][str(t)]["ratio"]["gradlab"] >= 1.5
                      for t in args.speed_threads}
    return out


SWEEPS = ROOT / "docs" / "lenet" / "sweeps"


def part_sweeps(args) -> dict:
    """The sweeps of docs/lenet/sweeps/ (one per lab question), their tables and plots for the docs."""
    import shutil

    from gradlab.lenet.sweep import SweepSpec, run_sweep

    out = {}
    names = args.sweep or sorted(p.stem for p in SWEEPS.glob("*.toml"))
    for name in names:
        spec = SweepSpec.load(SWEEPS / f"{name}.toml")
        res = run_sweep(spec, WORK / "sweeps" / name, log=log, threads=args.threads)
        for f in ("curves.png", "final.png"):
            shutil.copyfile(WORK / "sweeps" / name / f, IMAGES / f"sweep-{name}-{f}")
        out[name] = {"table": res.table(), "seconds": res.seconds,
                     "summaries": res.summaries, "verdicts": {p.label: [r.verdict for r in res.points[p.label]]
                                                              for p in spec.points}}
    return out


def part_pictures(args) -> dict:
    """Feature maps and kernels of the trained reference and Adam models, an augmentation preview."""
    from gradlab.lenet.augment import Augment, preview_grid
    from gradlab.lenet.featuremaps import plot_feature_maps, plot_kernels
    from gradlab.lenet.persist import load_any
    from gradlab.lenet.train import RunResult

    def saved_runs(folder):
        return [RunResult.from_dict(json.loads(f.read_text())) for f in sorted((WORK / folder).glob("run-*/result.json"))]

    made = []
    # the curves again from the saved results (the plot style may have changed since the runs)
    for folder, png, label, title in (
            ("reference", "reference.png", "LeNet (sigmoid, avg pool), SGD lr 0.9",
             "Reference recipe on Fashion-MNIST: 3 seeds, batch 256, 10 epochs"),
            ("adam", "adam.png", "LeNet ReLU + max pool, Adam lr 1e-3, batch 128",
             "ReLU + max pooling + Adam on Fashion-MNIST: 3 seeds, batch 128, 10 epochs")):
        runs = saved_runs(folder)
        if runs:
            plot_curves({label: runs}, IMAGES / png, title=title)
            made.append(png)
    groups = {lab: saved_runs(folder) for folder, lab in (("mnist-plain", "Adam lr 2e-3, batch 64"),
                                                          ("mnist-augmented", "Adam lr 2e-3, batch 64, affine augmentation"))}
    if all(groups.values()):
        plot_curves(groups, IMAGES / "mnist5k.png",
                    title="Embedded MNIST subset (4,000 train / 1,000 test), LeNet ReLU + max pool, 3 seeds")
        made.append("mnist5k.png")
    data = load_dataset("fashion-mnist")
    x = to_float(data.test_x)
    for key, label in (("reference", "reference LeNet (sigmoid), SGD"), ("adam", "ReLU + max pool, Adam")):
        src = WORK / key / "run-1"
        if not src.is_dir():
            continue
        model, _ = load_any(src)
        with torch.no_grad():
            pred = int(model(x[7:8]).argmax())
        plot_feature_maps(model, x[7], IMAGES / f"featuremaps-{key}.png", label=data.classes[int(data.test_y[7])],
                          prediction=data.classes[pred], title=f"Fashion-MNIST test image 7, {label}")
        plot_kernels(model, IMAGES / f"kernels-{key}.png", title=f"first-layer kernels, {label}")
        made += [f"featuremaps-{key}.png", f"kernels-{key}.png"]
    g = torch.Generator().manual_seed(0)
    idx = torch.randperm(len(data.test_y), generator=g)[:5]
    preview_grid(x[idx], Augment.parse("affine"), IMAGES / "augment-affine.png",
                 labels=[data.classes[int(data.test_y[i])] for i in idx])
    preview_grid(x[idx], Augment.parse("affine+erase"), IMAGES / "augment-affine-erase.png",
                 labels=[data.classes[int(data.test_y[i])] for i in idx])
    return {"files": made + ["augment-affine.png", "augment-affine-erase.png"]}


PARTS = {"reference": part_reference, "adam": part_adam, "adam-cosine": part_adam_cosine, "mnist": part_mnist, "speed": part_speed,
         "sweeps": part_sweeps, "pictures": part_pictures}


def markdown(results: dict) -> str:
    lines = ["# LeNet lab benchmark results", "",
             "Written by `benchmarks/lenet.py`; the numbers below are measured, not typed in.", ""]
    m = results.get("machine", {})
    if m:
        lines += [f"Machine: {m.get('cpu_count')} CPU cores, torch {m.get('torch')} with {m.get('torch_threads')} "
                  f"threads, Python {m.get('python')}; load average at the start of the last part: "
                  f"{m.get('load_average')} (above about 1.5 on 2 cores: other jobs shared the machine; each part's "
                  "table gives the load during its own rounds).", ""]

    def pm(s: dict) -> str:
        return f"{s['mean']:.4f} ± {s['std']:.4f}" if s.get("n", 1) > 1 else f"{s['mean']:.4f}"

    if "reference" in results:
        r = results["reference"]
        lines += ["## Reference recipe (Fashion-MNIST, LeNet sigmoid + avg pool, SGD lr 0.9, batch 256, 10 epochs)", "",
                  "| run | seed | train loss | train acc | test acc | best test acc (epoch) | time |",
                  "|---|---|---|---|---|---|---|"]
        for run in r["runs"]:
            f = run["final"]
            lines.append(f"| {run['run']} | {run['seed']} | {f['train_loss']:.4f} | {f['train_acc']:.4f} | "
                         f"{f['test_acc']:.4f} | {f['best_test_acc']:.4f} ({f['best_epoch']}) | {run['seconds']:.0f} s |")
        s = r["summary"]
        lines += [f"| mean ± std | | {pm(s['final_train_loss'])} | {pm(s['final_train_acc'])} | {pm(s['final_test_acc'])} "
                  f"| {pm(s['best_test_acc'])} | |", "",
                  "Published single run: train loss 0.468, train acc 0.823, test acc 0.820.", "",
                  "Test accuracy per epoch (SGD at lr 0.9 is noisy):", "",
                  "| epoch | " + " | ".join(f"run {run['run']}" for run in r["runs"]) + " |",
                  "|---|" + "---|" * len(r["runs"])]
        for e in range(len(r["runs"][0]["history"])):
            lines.append(f"| {e + 1} | " + " | ".join(f"{run['history'][e]['test_acc']:.4f}" for run in r["runs"]) + " |")
        from gradlab.lenet.train import EpochMetrics, verdict

        lines += [""] + [f"- run {run['run']}: {verdict([EpochMetrics(**h) for h in run['history']])}"
                         for run in r["runs"]]
        lines += ["", f"Targets: {r['targets']}", ""]
    for key, title in (("adam", "ReLU + max pooling + Adam (Fashion-MNIST, lr 1e-3 constant, batch 128, 10 epochs)"),
                       ("adam-cosine", "ReLU + max pooling + Adam (Fashion-MNIST, lr 2e-3 with cosine annealing, "
                                       "batch 128, 10 epochs)")):
        if key not in results:
            continue
        r = results[key]
        s = r["summary"]
        lines += [f"## {title}", "",
                  f"Final test accuracy {pm(s['final_test_acc'])} (runs: "
                  + ", ".join(f"{run['final']['test_acc']:.4f}" for run in r["runs"])
                  + f"); best {pm(s['best_test_acc'])}; train loss {pm(s['final_train_loss'])}; "
                  f"shifted/rotated test acc {pm(s['test_acc_shifted'])}.", "",
                  "Test accuracy per epoch: " + "; ".join(
                      f"run {run['run']}: " + " ".join(f"{h['test_acc']:.3f}" for h in run["history"])
                      for run in r["runs"]), "",
                  (f"Targets: {r['targets']}" if "targets" in r else f"For comparison (no target): {r.get('observations')}"),
                  ""]
    if "mnist" in results:
        r = results["mnist"]
        lines += ["## Embedded MNIST subset (4,000 train / 1,000 test)", "",
                  "Recipe: `gradlab lenet train --dataset mnist5k --model lenet-relu-maxpool --optimizer adam "
                  "--lr 2e-3 --batch-size 64 --epochs 20`", "",
                  "| variant | final test acc | best test acc | train acc | shifted/rotated test acc |",
                  "|---|---|---|---|---|"]
        for key in ("plain", "augmented"):
            s = r[key]["summary"]
            lines.append(f"| {key} | {pm(s['final_test_acc'])} | {pm(s['best_test_acc'])} | {pm(s['final_train_acc'])} | "
                         f"{pm(s['test_acc_shifted'])} |")
        lines += ["", f"Targets: {r['targets']}", ""]
    if "speed" in results:
        r = results["speed"]
        lines += ["## Speed (Fashion-MNIST, reference LeNet, batch 256, interleaved rounds in one process)", "",
                  f"{r['rounds']} rounds of {r['images_per_trial']:,} training images each (plus the 10,000-image "
                  "test pass), the order of the trainers reversed every other round; ratios are per round, then "
                  f"the median. The process's compile at each thread count, before its rounds (every trial's new model "
                  "reuses it): " + ", ".join(f"{s:.1f} s at {t}" for t, s in r["compile_seconds"].items())
                  + f"; graphs compiled during the rounds: "
                  f"{r.get('graphs_compiled_in_rounds', '?')}. The recipe column: the reference recipe's 10 epochs in a "
                  "fresh process, 10 median trials plus that compile.",
                  "", "| threads | plain loop images/s | gradlab images/s | ratio | gradlab --no-compile images/s | "
                  "ratio | recipe ratio, compile included | load average before -> after |",
                  "|---|---|---|---|---|---|---|---|"]
        for t, v in r["threads"].items():
            med = v["images_per_s_median"]
            lines.append(f"| {t} | {med['plain']:,.0f} | {med['gradlab']:,.0f} | **{v['ratio']['gradlab']:.3f}** | "
                         f"{med['gradlab_no_compile']:,.0f} | {v['ratio']['gradlab_no_compile']:.3f} | "
                         f"{v['recipe_ratio']['gradlab']:.3f} | "
                         f"{v['load_average_before'][0]} -> {v['load_average_after'][0]} |")
        lines += ["", "Test accuracy after each trial (seed = round; the same seeds for each trainer), mean over the "
                  "rounds: " + "; ".join(f"{t} thread(s): " + ", ".join(f"{k} {a:.4f}" for k, a in
                                                                     v.get("test_acc_mean", {}).items())
                                         for t, v in r["threads"].items()),
                  "", f"Targets: {r['targets']}", ""]
    if "sweeps" in results:
        lines += ["## Sweeps (docs/lenet/sweeps/*.toml)", ""]
        for name, r in results["sweeps"].items():
            if not isinstance(r, dict) or "table" not in r:  # wall_seconds, load_average_after
                continue
            lines += [f"### {name}", "", r["table"], "", f"![curves](../../docs/images/lenet/sweep-{name}-curves.png)",
                      "", f"![final](../../docs/images/lenet/sweep-{name}-final.png)", ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", action="append", choices=list(PARTS), help="run only this part (repeatable)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2: this machine has 2 cores)")
    ap.add_argument("--speed-epochs", type=int, default=1)
    ap.add_argument("--speed-rounds", type=int, default=6)
    ap.add_argument("--speed-threads", type=lambda t: [int(v) for v in t.split(",")], default=[1, 2],
                    help="thread counts of the speed part, each its own interleaved rounds (default 1,2)")
    ap.add_argument("--speed-images", type=int, help="training images per speed trial (default: all 60,000)")
    ap.add_argument("--sweep", action="append", help="with --part sweeps: only this sweep (file stem), repeatable")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "lenet.json"
    results = json.loads(path.read_text()) if path.is_file() else {}
    failed = []
    IMAGES.mkdir(parents=True, exist_ok=True)
    for name in args.part or list(PARTS):
        log(f"part {name}")
        results["machine"] = machine()
        t0 = time.perf_counter()
        results[name] = PARTS[name](args)
        results[name]["wall_seconds"] = time.perf_counter() - t0
        results[name]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        write_atomic(path, json.dumps(results, indent=1, default=lambda o: None if isinstance(o, float) and
                                      not math.isfinite(o) else str(o)))
        write_atomic(RESULTS / "lenet.md", markdown(results))
        targets = results[name].get("targets", {})
        log(f"part {name} done in {results[name]['wall_seconds']:.0f}s: targets {targets}")
        failed += [f"{name}:{k}" for k, v in targets.items() if not v]
    print(markdown(results))
    if failed:
        print("MISSED: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
