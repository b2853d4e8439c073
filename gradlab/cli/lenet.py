"""``gradlab lenet``: the LeNet lab (training, sweeps, feature maps, summary, persistence, gradient checks).

    gradlab lenet train [--dataset fashion-mnist] [--model lenet] [--optimizer sgd] [--runs 3] [--out runs/lenet]
    gradlab lenet sweep SPEC.toml [--out DIR] [--jobs 2]
    gradlab lenet featuremaps MODEL_OR_CHECKPOINT --index 7 [--out featuremaps.png]
    gradlab lenet summary [MODEL] [--dtype float32] [--layout keras] [--framework keras]
    gradlab lenet save CHECKPOINT OUT          gradlab lenet load MODEL [--compare CHECKPOINT]
    gradlab lenet gradcheck [--model lenet ...] gradlab lenet augment --preview aug.png
    gradlab lenet models                        gradlab lenet data [--dataset ...]

torch is imported only when a lenet command runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..extras import require
from ..fileio import output_folder, path_kind
from .common import UsageError, print_json


def _data_args(p: argparse.ArgumentParser, default: str = "auto") -> None:
    p.add_argument("--dataset", default=default,
                   help="fashion-mnist, mnist, mnist5k (the embedded 5,000 real MNIST digits) or auto: Fashion-MNIST "
                        "where it is installed, else the embedded subset" + (f" (default {default})" if default else
                                                                            " (default: the model's own)"))
    p.add_argument("--data-dir", help="a folder with the four IDX files (train-images-idx3-ubyte[.gz], ...)")
    p.add_argument("--download", action="store_true", help="download into the cache (checksums verified) if missing")


def _train_args(p: argparse.ArgumentParser) -> None:
    _data_args(p)
    p.add_argument("--model", default="lenet", help="a variant (see 'gradlab lenet models'), a layer spec "
                   "'conv 6@5x5 pad=2 | relu | maxpool 2 | flatten | dense 10', or a .toml file (default lenet)")
    p.add_argument("--framework", default="torch", choices=["torch", "keras"],
                   help="train with torch (default) or Keras 3 on torch (needs gradlab[keras]): the same data, runs, "
                        "curves and reports; Keras writes model.keras")
    p.add_argument("--optimizer", default="sgd", help="torch: sgd, adam, adamw, adamax, nadam, radam, rmsprop, "
                   "adagrad, adadelta, adafactor; keras: sgd, adam, adamw, adamax, nadam, rmsprop, adagrad, adadelta, "
                   "adafactor, lion, ftrl, lamb (default sgd)")
    p.add_argument("--lr", type=float, help="learning rate (default: torch: 0.9 for sgd as in the notebook, else "
                   "torch's default for the optimizer; keras: Keras's default, 0.01 for sgd and 0.001 for the others)")
    p.add_argument("--momentum", type=float, default=0.0, help="momentum for sgd and rmsprop (default 0)")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--schedule", default="constant", choices=["constant", "cosine"],
                   help="learning rate: constant, or cosine annealing to 0 over the training (default constant)")
    p.add_argument("--epochs", type=int, default=10, help="passes over the training set (default 10)")
    p.add_argument("--iterations", type=int, help="train for this many batches instead (the last epoch may be partial)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--seed", type=int, default=0, help="seed of the first run; run k uses seed + k - 1")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's own, one per physical core)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="torch.compile the model (default: for runs of 1,000 steps or more, where a C++ compiler "
                        "is there; compiled kernels are cached in ~/.cache/gradlab/inductor)")
    p.add_argument("--augment", help="none, affine, affine+erase, strong, or keys: degrees=15,translate=0.1,"
                   "scale=0.9:1.1,shear=5,erase=0.5,hflip=0.5 (erase and hflip are probabilities per image; "
                   "hflip mirrors left-right)")
    p.add_argument("--check-every", type=int, default=0, metavar="K",
                   help="every K steps, check the whole model's gradient by finite differences (float64 copy)")
    p.add_argument("--train-limit", type=int, help="use only the first N training images")
    p.add_argument("--test-limit", type=int, help="use only the first N test images")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("lenet", help="the LeNet lab: train, sweep, feature maps, summary, save/load, gradcheck",
                              description="LeNet-5 and variants on MNIST / Fashion-MNIST: repeated runs, sweeps, "
                                          "optimizers, augmentation, feature maps, a Keras-style summary, safe "
                                          "persistence and gradient checks on real layers.")
    sub = p.add_subparsers(dest="lenet_command", metavar="COMMAND", parser_class=type(p))

    t = sub.add_parser("train", help="train a model (3 runs by default), write metrics, curves and checkpoints",
                       description="Train RUNS models with seeds seed, seed+1, ...; per-epoch metrics to "
                                   "metrics.csv/json, curves.png with the runs overlaid, a checkpoint per epoch, "
                                   "model.safetensors per run, and a verdict on convergence.")
    _train_args(t)
    t.add_argument("--runs", type=int, default=3, help="independent runs with consecutive seeds (default 3)")
    t.add_argument("--out", default="runs/lenet", help="output folder (default runs/lenet)")
    t.add_argument("--resume", action="store_true", help="continue an interrupted training in --out")
    t.add_argument("--force", action="store_true", help="discard earlier results in --out and start over")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--json", action="store_true", help="print the results as JSON")
    t.set_defaults(func=run_train)

    s = sub.add_parser("sweep", help="points x runs from a TOML spec, with a Markdown report",
                       description="Run every point of SPEC (a TOML file with [base], [vary] or [[point]]) "
                                   "x runs; resumable; writes report.md, sweep.json, curves.png, final.png.")
    s.add_argument("spec", help="the sweep file (see docs/lenet.md; examples in docs/lenet/sweeps/)")
    s.add_argument("--out", help="output folder (default runs/sweep-<spec name>)")
    s.add_argument("--jobs", type=int, default=1, help="processes for independent runs (default 1; with --engine "
                   "ray: the local Ray's CPUs, at least 2)")
    s.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local: this process or --jobs processes; ray: every point and seed as a Ray task "
                        "(needs the extra gradlab[ray])")
    s.add_argument("--address", help="with --engine ray: the Ray cluster to use (auto, HOST:6379 or "
                   "ray://HOST:10001; default: a local Ray started for the sweep)")
    s.add_argument("--threads", type=int, help="torch threads per run")
    s.add_argument("--force", action="store_true", help="discard finished runs and start over")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=run_sweep)

    f = sub.add_parser("featuremaps", help="PNG of every conv layer's activation maps for one image, and the kernels")
    f.add_argument("model", help="a saved model (.safetensors/.json), a checkpoint.pt or a run folder")
    f.add_argument("--index", type=int, default=0, help="test image index (default 0)")
    f.add_argument("--out", default="featuremaps.png", help="output PNG (default featuremaps.png)")
    f.add_argument("--kernels", help="also write the first-layer kernels alone to this PNG")
    _data_args(f, default="")
    f.set_defaults(func=run_featuremaps)

    m = sub.add_parser("summary", help="Keras-style table (or Keras's own): output shapes, Param # with formulas, "
                       "memory", description="A model summary where every Param # shows its formula. With "
                       "--framework keras: Keras's own model.summary(line_length=80, expand_nested=True, "
                       "show_trainable=True), then each row, the memory, (None, 10) and the arguments explained.")
    m.add_argument("model", nargs="?", default="lenet", help="a variant, layer spec, .toml file, or saved model "
                   "(with --framework keras also a .keras file)")
    m.add_argument("--framework", default="torch", choices=["torch", "keras"],
                   help="torch (gradlab's table of the torch model) or keras (Keras 3's own summary, on torch)")
    m.add_argument("--line-length", type=int, default=80, help="keras: model.summary's line_length (default 80)")
    m.add_argument("--no-expand-nested", action="store_true", help="keras: expand_nested=False")
    m.add_argument("--no-show-trainable", action="store_true", help="keras: show_trainable=False")
    m.add_argument("--dtype", default="float32", choices=["float16", "bfloat16", "float32", "float64"])
    m.add_argument("--layout", default="torch", choices=["torch", "keras"],
                   help="print shapes as torch (None, C, H, W) or Keras (None, H, W, C)")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=run_summary)

    sv = sub.add_parser("save", help="export a checkpoint to safetensors weights + a JSON config")
    sv.add_argument("checkpoint", help="a checkpoint.pt or a run folder")
    sv.add_argument("out", help="output stem: OUT.safetensors and OUT.json are written")
    sv.set_defaults(func=run_save)

    ld = sub.add_parser("load", help="load a saved model, evaluate it, compare its logits with a checkpoint")
    ld.add_argument("model", help="a saved model (.safetensors/.json or their stem), a Keras .keras file, or a run "
                    "folder")
    ld.add_argument("--compare", metavar="CHECKPOINT", help="check that the logits on the test set are bit-identical "
                    "to this checkpoint's (or model's)")
    ld.add_argument("--test-limit", type=int, help="evaluate on the first N test images")
    _data_args(ld, default="")
    ld.add_argument("--json", action="store_true")
    ld.set_defaults(func=run_load)

    g = sub.add_parser("gradcheck", help="gradient checks on real layers (torch gradcheck, gradlab graphs, directional)")
    g.add_argument("--model", action="append", help="whole models to check (repeatable; default lenet, "
                   "lenet-relu-maxpool, lenet-bn, lenet-dropout)")
    g.add_argument("--no-graphs", action="store_true", help="skip the tiny gradlab graph instances")
    g.add_argument("--programs", action="store_true", help="print the gradlab programs of the tiny instances")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--json", action="store_true")
    g.set_defaults(func=run_gradcheck)

    a = sub.add_parser("augment", help="preview an augmentation on real images")
    a.add_argument("--augment", default="affine", help="as for train --augment (default affine)")
    a.add_argument("--preview", default="augment.png", help="output PNG (default augment.png)")
    a.add_argument("--images", type=int, default=6, help="rows (images) in the preview")
    a.add_argument("--seed", type=int, default=0)
    _data_args(a, default="auto")
    a.set_defaults(func=run_augment)

    ls = sub.add_parser("models", help="list the named LeNet variants")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=run_models)

    d = sub.add_parser("data", help="say which data would be used, and its size")
    _data_args(d, default="auto")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=run_data)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _config(args: argparse.Namespace) -> Any:
    from ..lenet.train import TrainConfig

    return TrainConfig(dataset=args.dataset, data_dir=args.data_dir, download=args.download, model=args.model,
                       optimizer=args.optimizer, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay,
                       schedule=args.schedule,
                       epochs=args.epochs, iterations=args.iterations, batch_size=args.batch_size, seed=args.seed,
                       runs=args.runs, threads=args.threads, device=args.device, compile=args.compile, augment=args.augment,
                       check_every=args.check_every, train_limit=args.train_limit, test_limit=args.test_limit,
                       framework=args.framework)


def run_train(args: argparse.Namespace) -> int:
    from ..lenet.models import architecture
    from ..lenet.train import train

    cfg = _config(args)
    architecture(cfg.model)
    if args.resume and args.force:
        raise UsageError("--resume and --force contradict each other")
    if cfg.framework == "keras":
        from ..lenet.keras_env import import_keras

        import_keras(purpose="gradlab lenet train --framework keras")
    else:
        require("safetensors", purpose="gradlab lenet train (it saves each run's model)")
    output_folder(args.out, "--out", create=False)
    res = train(cfg, args.out, resume=args.resume, force=args.force,
                progress=not args.no_progress and sys.stderr.isatty(), log=_log)
    if args.json:
        print(res.to_json(indent=1))
    else:
        print(res)
        runs = ("checkpoint.keras, model.keras" if cfg.framework == "keras" else
                "checkpoint.pt, model.safetensors, model.json")
        print(f"wrote {args.out}/: " + ", ".join(res.files) + f", run-*/ ({runs})")
    return 0


def run_sweep(args: argparse.Namespace) -> int:
    from ..lenet.sweep import SweepSpec
    from ..lenet.sweep import run_sweep as _run

    if args.address and args.engine != "ray":
        raise UsageError("--address names a Ray cluster: use it with --engine ray")
    if args.engine == "ray":
        require("ray", purpose="gradlab lenet sweep --engine ray")
    spec = SweepSpec.load(args.spec)
    if any(spec.config(p).framework == "keras" for p in spec.points):
        from ..lenet.keras_env import import_keras

        import_keras(purpose="a sweep with framework = \"keras\"")
    require("safetensors", purpose="gradlab lenet sweep (it saves each run's model)")
    out = args.out or f"runs/sweep-{spec.points[0].slug if not spec.name else _slug(spec.name)}"
    res = _run(spec, out, jobs=args.jobs, force=args.force, log=_log, threads=args.threads, engine=args.engine,
               address=args.address)
    if args.json:
        print_json(res.to_dict())
    else:
        print(res.table())
        print(f"wrote {out}/report.md (with curves.png, final.png) and sweep.json")
    return 0


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "sweep"


def _dataset_for(args: argparse.Namespace, info: dict[str, Any]) -> Any:
    from ..lenet.data import load_dataset

    name = args.dataset or info.get("dataset") or "auto"
    cfg = info.get("train_config") or {}
    data_dir = args.data_dir or (cfg.get("data_dir") if not args.dataset else None)
    return load_dataset(name, data_dir, download_missing=args.download)


def run_featuremaps(args: argparse.Namespace) -> int:
    import torch

    from ..lenet.data import to_float
    from ..lenet.featuremaps import plot_feature_maps, plot_kernels
    from ..lenet.persist import load_any

    model, info = load_any(args.model)
    data = _dataset_for(args, info)
    _log(data.notice)
    n = len(data.test_y)
    if not -n <= args.index < n:
        raise UsageError(f"--index {args.index}: the test set has {n:,} images (0..{n - 1})")
    x = to_float(data.test_x[args.index:args.index + 1] if args.index >= 0 else data.test_x[args.index:][:1])[0]
    label = data.classes[int(data.test_y[args.index])]
    with torch.no_grad():
        probs = torch.softmax(model(x[None]), 1)[0]
    k = int(probs.argmax())
    pred = f"{data.classes[k]} ({100 * float(probs[k]):.1f} %)"
    plot_feature_maps(model, x, args.out, label=label, prediction=pred,
                      title=f"feature maps of test image {args.index} ({data.name}), model {info['architecture']['name']}")
    print(f"wrote {args.out}: test image {args.index}, label {label}, predicted {pred}")
    if args.kernels:
        plot_kernels(model, args.kernels)
        print(f"wrote {args.kernels}")
    return 0


def run_summary(args: argparse.Namespace) -> int:
    if args.framework == "keras":
        return _keras_summary(args)
    require("torchinfo", purpose="gradlab lenet summary")
    from ..lenet.summary import model_summary

    spec: Any = args.model
    p = Path(args.model)
    if p.suffix in (".safetensors", ".pt") or path_kind(p) == "folder" or (p.suffix == ".json" and path_kind(p)):
        from ..lenet.persist import load_any

        model, info = load_any(p)
        s = model_summary(model, input_shape=tuple(info["architecture"]["input_shape"]), dtype=args.dtype,
                          layout=args.layout, name=info["architecture"]["name"])
    else:
        s = model_summary(spec, dtype=args.dtype, layout=args.layout)
    print(s.to_json(indent=1) if args.json else s)
    return 0


def _keras_summary(args: argparse.Namespace) -> int:
    if not 40 <= args.line_length <= 400:
        raise UsageError(f"--line-length {args.line_length}: give 40 to 400 characters")
    from ..lenet.keras_env import import_keras
    from ..lenet.keras_summary import keras_summary

    import_keras(purpose="gradlab lenet summary --framework keras")
    s = keras_summary(args.model, line_length=args.line_length, expand_nested=not args.no_expand_nested,
                      show_trainable=not args.no_show_trainable)
    print(s.to_json(indent=1) if args.json else s)
    return 0


def run_save(args: argparse.Namespace) -> int:
    require("safetensors", purpose="gradlab lenet save")
    from ..lenet.train import checkpoint_to_model

    src = Path(args.checkpoint)
    if path_kind(src) == "folder":
        src = src / "checkpoint.pt"
    w = checkpoint_to_model(src, args.out)
    print(f"wrote {w} and {w.with_suffix('.json')}")
    return 0


def _is_keras(path: str) -> bool:
    p = Path(path)
    return p.suffix == ".keras" or (path_kind(p) == "folder" and path_kind(p / "model.keras") == "file")


def _keras_load(args: argparse.Namespace) -> int:
    from ..lenet.augment import shifted_test_set
    from ..lenet.data import load_dataset, to_float
    from ..lenet.keras_env import import_keras
    from ..lenet.keras_persist import compare_predictions, keras_model_path, load_keras_file, predict_logits
    from ..lenet.keras_train import channels_last

    import_keras(purpose="gradlab lenet load of a .keras model")
    model = load_keras_file(args.model)
    data = load_dataset(args.dataset or "auto", args.data_dir, download_missing=args.download)
    if args.test_limit:
        data = data.subset(None, args.test_limit)
    _log(data.notice)
    x, y = to_float(data.test_x), data.test_y.numpy()
    xk = channels_last(x)
    acc = float((predict_logits(model, xk).argmax(-1) == y).mean())
    acc_shifted = float((predict_logits(model, channels_last(shifted_test_set(x))).argmax(-1) == y).mean())
    out: dict[str, Any] = {"model": str(keras_model_path(args.model)), "architecture": model.name,
                           "framework": "keras", "dataset": data.name, "test_images": len(y), "test_acc": acc,
                           "test_acc_shifted": acc_shifted}
    if args.compare:
        c = compare_predictions(model, load_keras_file(args.compare), xk)
        out["compare"] = {"with": str(keras_model_path(args.compare)), **c.to_dict()}
    return _loaded(args, out, "Keras")


def run_load(args: argparse.Namespace) -> int:
    if _is_keras(args.model):
        return _keras_load(args)
    import torch

    from ..lenet.augment import shifted_test_set
    from ..lenet.data import to_float
    from ..lenet.persist import load_any

    model, info = load_any(args.model)
    data = _dataset_for(args, info)
    if args.test_limit:
        data = data.subset(None, args.test_limit)
    _log(data.notice)
    x, y = to_float(data.test_x), data.test_y
    with torch.no_grad():
        logits = torch.cat([model(x[i:i + 1000]) for i in range(0, len(y), 1000)])
        shifted = torch.cat([model(xs) for xs in shifted_test_set(x).split(1000)])
    acc = float((logits.argmax(1) == y).float().mean())
    acc_shifted = float((shifted.argmax(1) == y).float().mean())
    out: dict[str, Any] = {"model": info["source"], "architecture": info["architecture"]["name"],
                           "dataset": data.name, "test_images": len(y), "test_acc": acc,
                           "test_acc_shifted": acc_shifted}
    if args.compare:
        other, oinfo = load_any(args.compare)
        with torch.no_grad():
            ologits = torch.cat([other(x[i:i + 1000]) for i in range(0, len(y), 1000)])
        out["compare"] = {"with": oinfo["source"], "bit_identical": torch.equal(logits, ologits),
                          "max_abs_diff": float((logits - ologits).abs().max())}
    return _loaded(args, out)


def _loaded(args: argparse.Namespace, out: dict[str, Any], framework: str = "") -> int:
    """What ``gradlab lenet load`` prints (or its JSON) for either framework; 1 when a compared model's logits
    differ."""
    if args.json:
        print_json(out)
    else:
        print(f"loaded {out['model']} ({out['architecture']}{', ' + framework if framework else ''}); "
              f"{out['dataset']} test set, {out['test_images']:,} images: accuracy {out['test_acc']:.4f}; "
              f"on the shifted/rotated test set {out['test_acc_shifted']:.4f}")
        c = out.get("compare")
        if c:
            differ = f", {c['different_predictions']} predictions differ" if "different_predictions" in c else ""
            print(f"logits vs {c['with']}: " + ("bit-identical" if c["bit_identical"] else
                                                 f"DIFFERENT (max |difference| {c['max_abs_diff']:.3g}{differ})"))
    return 0 if "compare" not in out or out["compare"]["bit_identical"] else 1


def run_gradcheck(args: argparse.Namespace) -> int:
    from ..lenet.gradcheck import run_gradchecks
    from ..lenet.models import architecture

    for m in args.model or []:
        architecture(m)
    rep = run_gradchecks(args.model, seed=args.seed, graphs=not args.no_graphs)
    if args.json:
        print_json(rep.to_dict())
    else:
        print(rep)
        if args.programs:
            for c in rep.graphs:
                print(f"\n# {c.name}\n{c.program}\n# {c.example}")
    return 0 if rep.ok else 1


def run_augment(args: argparse.Namespace) -> int:
    import torch

    from ..lenet.augment import Augment, preview_grid
    from ..lenet.data import load_dataset, to_float

    aug = Augment.parse(args.augment)
    if aug is None:
        raise UsageError("--augment none: nothing to preview")
    data = load_dataset(args.dataset, args.data_dir, download_missing=args.download)
    _log(data.notice)
    g = torch.Generator().manual_seed(args.seed)
    idx = torch.randperm(len(data.test_y), generator=g)[:args.images]
    preview_grid(to_float(data.test_x[idx]), aug, args.preview, seed=args.seed,
                 labels=[data.classes[int(data.test_y[i])] for i in idx])
    print(f"wrote {args.preview}")
    return 0


def run_models(args: argparse.Namespace) -> int:
    from ..lenet.models import VARIANTS, build_model

    rows: list[dict[str, Any]] = []
    for name, (desc, layers) in VARIANTS.items():
        n = sum(p.numel() for p in build_model(name).parameters())
        rows.append({"name": name, "params": n, "description": desc, "layers": layers})
    if args.json:
        print_json(rows)
        return 0
    w = max(len(r["name"]) for r in rows)
    for r in rows:
        print(f"{r['name']:<{w}}  {r['params']:>8,}  {r['description']}")
        print(f"{'':<{w}}  {'':>8}  {' | '.join(r['layers'])}")
    return 0


def run_data(args: argparse.Namespace) -> int:
    from ..lenet.data import load_dataset

    d = load_dataset(args.dataset, args.data_dir, download_missing=args.download)
    if args.json:
        print_json({**d.describe(), "notice": d.notice})
    else:
        print(d.notice)
        print("classes: " + ", ".join(f"{i} {c}" for i, c in enumerate(d.classes)))
    return 0
