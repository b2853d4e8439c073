"""The LeNet lab: LeNet-5 and variants on MNIST / Fashion-MNIST, with gradient checks on real layers.

Importing this package imports torch; ``import gradlab`` does not import it.

>>> from gradlab.lenet import TrainConfig, train
>>> result = train(TrainConfig(dataset="mnist5k", epochs=1, runs=1), "runs/demo")   # doctest: +SKIP

One module per idea: :mod:`.data` (IDX files, Debian's Fashion-MNIST, the embedded MNIST
subset), :mod:`.models` (the reference LeNet, variants, specs), :mod:`.train` (runs,
metrics, plots, checkpoints), :mod:`.sweep`, :mod:`.featuremaps`, :mod:`.summary`,
:mod:`.persist` (safetensors), :mod:`.augment`, :mod:`.gradcheck`.
"""

from __future__ import annotations

from .augment import Augment, preview_grid, shifted_test_set
from .data import DataError, Dataset, load_dataset, read_idx
from .featuremaps import feature_maps, plot_feature_maps, plot_kernels
from .gradcheck import (
    DirectionalCheck,
    GradcheckReport,
    GraphCheck,
    LayerCheck,
    directional_check,
    graph_checks,
    layer_checks,
    run_gradchecks,
)
from .models import VARIANTS, Architecture, ModelError, architecture, build_model
from .persist import PersistError, load_any, load_model, save_model
from .summary import ModelSummary, model_summary
from .sweep import SweepError, SweepResult, SweepSpec, run_sweep
from .train import (
    EpochMetrics,
    RunResult,
    TrainConfig,
    TrainError,
    TrainResult,
    evaluate,
    load_checkpoint,
    plot_curves,
    train,
    train_run,
    verdict,
)

__all__ = [
    "Augment", "preview_grid", "shifted_test_set",
    "DataError", "Dataset", "load_dataset", "read_idx",
    "feature_maps", "plot_feature_maps", "plot_kernels",
    "DirectionalCheck", "GradcheckReport", "GraphCheck", "LayerCheck", "directional_check", "graph_checks",
    "layer_checks", "run_gradchecks",
    "VARIANTS", "Architecture", "ModelError", "architecture", "build_model",
    "PersistError", "load_any", "load_model", "save_model",
    "ModelSummary", "model_summary",
    "SweepError", "SweepResult", "SweepSpec", "run_sweep",
    "EpochMetrics", "RunResult", "TrainConfig", "TrainError", "TrainResult", "evaluate", "load_checkpoint",
    "plot_curves", "train", "train_run", "verdict",
]
