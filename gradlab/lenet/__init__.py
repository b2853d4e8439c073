"""The LeNet lab: LeNet-5 and variants on MNIST / Fashion-MNIST, with gradient checks on real layers.

Importing this package imports torch; ``import gradlab`` does not import it.

>>> from gradlab.lenet import TrainConfig, train
>>> result = train(TrainConfig(dataset="mnist5k", epochs=1, runs=1), "runs/demo")   # doctest: +SKIP

One module per idea: :mod:`.data` (IDX files, Debian's Fashion-MNIST, the embedded MNIST
subset), :mod:`.models` (the reference LeNet, variants, specs), :mod:`.train` (runs,
metrics, plots, checkpoints), :mod:`.sweep`, :mod:`.featuremaps`, :mod:`.summary`,
:mod:`.persist` (safetensors), :mod:`.augment`, :mod:`.gradcheck`; the Keras side (Keras 3 on torch, the
``keras`` extra, imported only when used): :mod:`.keras_env`, :mod:`.keras_models`, :mod:`.keras_summary`,
:mod:`.keras_persist`, :mod:`.keras_augment`, :mod:`.keras_train`.
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
from .keras_augment import keras_augmentation
from .keras_env import KERAS_DEFAULT_LR, KERAS_OPTIMIZERS, KerasError, import_keras
from .keras_models import build_keras_model
from .keras_persist import PredictionComparison, compare_predictions, load_keras_file, round_trip, save_keras_model
from .keras_summary import KerasSummary, keras_summary
from .keras_train import keras_train_run  # registers framework = "keras" with train_run
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
    "keras_augmentation", "KERAS_DEFAULT_LR", "KERAS_OPTIMIZERS", "KerasError", "import_keras", "build_keras_model",
    "PredictionComparison", "compare_predictions", "load_keras_file", "round_trip", "save_keras_model", "KerasSummary",
    "keras_summary", "keras_train_run",
    "VARIANTS", "Architecture", "ModelError", "architecture", "build_model",
    "PersistError", "load_any", "load_model", "save_model",
    "ModelSummary", "model_summary",
    "SweepError", "SweepResult", "SweepSpec", "run_sweep",
    "EpochMetrics", "RunResult", "TrainConfig", "TrainError", "TrainResult", "evaluate", "load_checkpoint",
    "plot_curves", "train", "train_run", "verdict",
]
