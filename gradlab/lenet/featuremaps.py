"""Feature maps: what every conv layer of a trained model makes of one image, and the learned kernels.

>>> fm = feature_maps(model, image)                 # doctest: +SKIP
>>> [(m.layer, tuple(m.maps.shape)) for m in fm]    # doctest: +SKIP
[('conv 1 (Conv2d 1->6, 5x5) + Sigmoid', (6, 28, 28)), ('conv 2 (Conv2d 6->16, 5x5) + Sigmoid', (16, 10, 10))]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import GradlabError
from ..fileio import atomic_path

__all__ = ["LayerMaps", "feature_maps", "plot_feature_maps", "plot_kernels"]

_ACTS = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.GELU, nn.ELU, nn.LeakyReLU)


@dataclass
class LayerMaps:
    """The activation maps (``C x H x W``) of one conv layer, taken after its activation function if it has one."""

    layer: str
    index: int
    maps: torch.Tensor


@torch.no_grad()
def feature_maps(model: nn.Sequential, image: torch.Tensor) -> list[LayerMaps]:
    """Run one image (``1 x H x W`` or ``H x W``, float in [0, 1]) and keep every conv layer's output."""
    if not isinstance(model, nn.Sequential):
        raise GradlabError("feature maps need a gradlab (nn.Sequential) model")
    x = image.float()
    while x.dim() < 4:
        x = x.unsqueeze(0)
    was = model.training
    model.eval()
    mods = list(model)
    out: list[LayerMaps] = []
    conv_no = 0
    for i, m in enumerate(mods):
        x = m(x)
        if isinstance(m, nn.Conv2d):
            conv_no += 1
            # show the map after the layers that act pixel by pixel (batch norm, activation)
            j, label = i, f"conv {conv_no} ({m.in_channels}->{m.out_channels}, {m.kernel_size[0]}x{m.kernel_size[1]})"
            y = x
            while j + 1 < len(mods) and isinstance(mods[j + 1], (nn.modules.batchnorm._BatchNorm, *_ACTS)):
                j += 1
                y = mods[j](y)
                if isinstance(mods[j], _ACTS):
                    label += f" + {type(mods[j]).__name__}"
            out.append(LayerMaps(label, i, y[0].clone()))
    model.train(was)
    if not out:
        raise GradlabError("this model has no conv layer, so it has no feature maps")
    return out


def _grid(n: int, max_cols: int = 8) -> tuple[int, int]:
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


def _limits(tensor: torch.Tensor, *, symmetric: bool) -> tuple[float, float]:
    """The colour range shared by every map of a layer: ``-m..m`` around zero for signed weights,
    else the layer's own minimum and maximum (a constant layer gets a range of 1 around its value)."""
    if symmetric:
        lim = float(tensor.abs().max()) or 1.0
        return -lim, lim
    lo, hi = float(tensor.min()), float(tensor.max())
    return (lo, hi) if hi > lo else (lo - 0.5, lo + 0.5)


def plot_feature_maps(model: nn.Sequential, image: torch.Tensor, path: str | Path, *, title: str = "",
                      label: str = "", prediction: str = "") -> Path:
    """A PNG: the input image and first-layer kernels on top, then one block of maps per conv layer, every
    block on one colour scale with its colour bar (maps of a layer are comparable; layers are not)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.gridspec import GridSpec

    maps = feature_maps(model, image)
    first = next(m for m in model if isinstance(m, nn.Conv2d))
    kernels = first.weight.detach()
    blocks = [(f"first-layer kernels ({kernels.shape[0]} of {kernels.shape[1]}x{kernels.shape[2]}x{kernels.shape[3]})",
               kernels[:, 0], "bwr")] + [(m.layer, m.maps, "viridis") for m in maps]
    cols = 8
    heights = [1.0] + [_grid(b[1].shape[0], cols)[0] for b in blocks]
    fig = plt.figure(figsize=(cols * 1.15 + 1.6, sum(heights) * 1.2 + 0.9 + 0.35 * len(blocks)))
    gs = GridSpec(len(heights), 1, figure=fig, height_ratios=heights, hspace=0.55)
    ax = fig.add_subplot(gs[0])
    ax.axis("off")
    inner = gs[0].subgridspec(1, cols)
    a = fig.add_subplot(inner[0, 0])
    a.imshow(image.reshape(image.shape[-2:]).numpy(), cmap="gray", vmin=0, vmax=1)
    a.set_xticks([])
    a.set_yticks([])
    a.set_title("input", fontsize=8)
    text = "\n".join(t for t in (label and f"label: {label}", prediction and f"predicted: {prediction}") if t)
    if text:
        t = fig.add_subplot(inner[0, 1:4])
        t.axis("off")
        t.text(0.0, 0.5, text, fontsize=9, va="center")
    for bi, (name, tensor, cmap) in enumerate(blocks, start=1):
        rows, c = _grid(tensor.shape[0], cols)
        # one colour scale for the whole layer, so that maps can be compared; its bar in the last column
        sub = gs[bi].subgridspec(rows, cols + 1, wspace=0.08, hspace=0.12, width_ratios=[1.0] * cols + [0.18])
        vmin, vmax = _limits(tensor, symmetric=cmap == "bwr")
        image_ = None
        for k in range(tensor.shape[0]):
            a = fig.add_subplot(sub[k // cols, k % cols])
            image_ = a.imshow(tensor[k].numpy(), cmap=cmap, vmin=vmin, vmax=vmax)
            a.set_xticks([])
            a.set_yticks([])
            a.set_xlabel(str(k), fontsize=6, labelpad=1)
            if k == 0:
                a.set_title(f"{name}: one colour scale for the layer (bar at right)", fontsize=9, loc="left",
                            x=0.0, pad=4)
        assert image_ is not None  # every block has at least one map
        bar = fig.colorbar(image_, cax=fig.add_subplot(sub[:, cols], label=f"colour bar {bi}"))
        bar.ax.tick_params(labelsize=6)
    fig.suptitle(title or "feature maps", fontsize=11)
    p = Path(path)
    with atomic_path(p) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return p


def plot_kernels(model: nn.Sequential, path: str | Path, *, title: str = "") -> Path:
    """A PNG of the first conv layer's kernels (blue negative, red positive)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = next((m for m in model if isinstance(m, nn.Conv2d)), None)
    if first is None:
        raise GradlabError("this model has no conv layer")
    w = first.weight.detach()[:, 0]
    rows, cols = _grid(w.shape[0])
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.2 + 0.5), squeeze=False)
    lim = float(w.abs().max()) or 1.0
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < w.shape[0]:
            ax.imshow(w[k].numpy(), cmap="bwr", vmin=-lim, vmax=lim)
            ax.set_title(str(k), fontsize=7)
    fig.suptitle(title or "first-layer kernels", fontsize=10)
    p = Path(path)
    with atomic_path(p) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return p
