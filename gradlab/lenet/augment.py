"""Data augmentation for image batches in plain torch: random affine maps and random erasing.

Each image of a batch gets its own rotation, translation, scale and shear (one
``affine_grid`` + ``grid_sample`` for the whole batch), drawn from a seeded generator,
so training stays reproducible. :func:`shifted_test_set` makes the fixed shifted and
rotated copy of the test set on which "with and without augmentation" is compared.

>>> aug = Augment.parse("affine")
>>> x = torch.rand(4, 1, 28, 28)
>>> aug(x, torch.Generator().manual_seed(0)).shape
torch.Size([4, 1, 28, 28])
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import GradlabError

__all__ = ["Augment", "affine_matrices", "apply_affine", "random_erasing", "shifted_test_set", "preview_grid"]


class AugmentError(GradlabError):
    """An augmentation spec that cannot be used."""


@dataclass(frozen=True)
class Augment:
    """Random affine (``degrees``, ``translate`` as a fraction of the size, ``scale`` range, ``shear``
    in degrees), random erasing (probability ``erase``) and a left-right flip (probability ``hflip``), each
    applied per image."""

    degrees: float = 10.0
    translate: float = 0.1
    scale: tuple[float, float] = (0.9, 1.1)
    shear: float = 5.0
    erase: float = 0.0
    hflip: float = 0.0

    @classmethod
    def parse(cls, text: "str | dict[str, Any] | None") -> "Augment | None":
        """``none``, ``affine`` (the defaults), ``affine+erase`` or ``degrees=15,translate=0.1,erase=0.5``."""
        if text is None:
            return None
        if isinstance(text, dict):
            d = dict(text)
            if "scale" in d:
                d["scale"] = tuple(d["scale"])
            try:
                return cls(**d)
            except TypeError as e:
                raise AugmentError(f"augmentation: {e}") from None
        t = str(text).strip().lower()
        if t in ("", "none", "off", "false", "no"):
            return None
        presets = {"affine": {}, "affine+erase": {"erase": 0.5}, "erase": {"degrees": 0, "translate": 0,
                                                                           "scale": (1.0, 1.0), "shear": 0, "erase": 0.5},
                   "strong": {"degrees": 20, "translate": 0.15, "scale": (0.8, 1.2), "shear": 10, "erase": 0.5}}
        if t in presets:
            return cls(**presets[t])  # type: ignore[arg-type]
        kw: dict[str, Any] = {}
        for part in t.replace(";", ",").split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise AugmentError(f"augmentation: expected key=value or one of none, {', '.join(presets)}; got {part!r}")
            k, v = (s.strip() for s in part.split("=", 1))
            try:
                if k == "scale":
                    lo, hi = (float(x) for x in v.replace("..", ":").split(":"))
                    kw[k] = (lo, hi)
                elif k in ("degrees", "translate", "shear", "erase", "hflip"):
                    kw[k] = float(v)
                else:
                    raise AugmentError(f"augmentation: unknown key {k!r}; known: degrees, translate, scale, shear, "
                                       "erase, hflip")
            except ValueError:
                raise AugmentError(f"augmentation: {k}={v!r} is not a number (scale is written 0.9:1.1)") from None
        return cls(**kw)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["scale"] = list(self.scale)
        return d

    def __call__(self, x: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
        """An augmented copy of the batch ``x`` (``N x C x H x W``, float)."""
        n = x.shape[0]

        def uniform(lo: float, hi: float) -> torch.Tensor:
            return torch.rand(n, generator=gen) * (hi - lo) + lo

        out = x
        if self.degrees or self.translate or self.shear or self.scale != (1.0, 1.0):
            theta = affine_matrices(uniform(-self.degrees, self.degrees), uniform(-self.translate, self.translate),
                                    uniform(-self.translate, self.translate), uniform(*self.scale),
                                    uniform(-self.shear, self.shear))
            out = apply_affine(out, theta)
        if self.hflip:
            flip = torch.rand(n, generator=gen) < self.hflip
            out = torch.where(flip[:, None, None, None], out.flip(-1), out)
        if self.erase:
            out = random_erasing(out, self.erase, gen)
        return out


def affine_matrices(degrees: torch.Tensor, tx: torch.Tensor, ty: torch.Tensor, scale: torch.Tensor,
                    shear: torch.Tensor) -> torch.Tensor:
    """``N x 2 x 3`` matrices for ``affine_grid``: rotate, shear, scale about the centre, then translate
    (``tx``, ``ty`` as fractions of the width and height)."""
    a = degrees * math.pi / 180
    s = shear * math.pi / 180
    cos, sin, tan = torch.cos(a), torch.sin(a), torch.tan(s)
    # forward map M = R @ Sh @ S; affine_grid wants the inverse (output -> input coordinates)
    m = torch.zeros(len(a), 3, 3)
    m[:, 0, 0] = cos * scale
    m[:, 0, 1] = (cos * tan - sin) * scale
    m[:, 1, 0] = sin * scale
    m[:, 1, 1] = (sin * tan + cos) * scale
    m[:, 0, 2] = 2 * tx
    m[:, 1, 2] = 2 * ty
    m[:, 2, 2] = 1
    return torch.linalg.inv(m)[:, :2, :]


def apply_affine(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Warp each image of ``x`` by its ``2 x 3`` matrix (bilinear, zeros outside)."""
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def random_erasing(x: torch.Tensor, p: float, gen: torch.Generator | None = None,
                   area: tuple[float, float] = (0.02, 0.2)) -> torch.Tensor:
    """Zero one random rectangle (2 % to 20 % of the image) in each image with probability ``p``."""
    n, _, h, w = x.shape
    frac = torch.rand(n, generator=gen) * (area[1] - area[0]) + area[0]
    aspect = torch.exp(torch.rand(n, generator=gen) * 2.2 - 1.1)  # about 1/3 .. 3
    eh = (torch.sqrt(frac * h * w * aspect)).clamp(1, h).long()
    ew = (torch.sqrt(frac * h * w / aspect)).clamp(1, w).long()
    top = (torch.rand(n, generator=gen) * (h - eh + 1).float()).long()
    left = (torch.rand(n, generator=gen) * (w - ew + 1).float()).long()
    rows = torch.arange(h)[None, :, None]
    cols = torch.arange(w)[None, None, :]
    box = ((rows >= top[:, None, None]) & (rows < (top + eh)[:, None, None]) &
           (cols >= left[:, None, None]) & (cols < (left + ew)[:, None, None]))
    apply = (torch.rand(n, generator=gen) < p)[:, None, None]
    return x.masked_fill((box & apply)[:, None], 0.0)


def shifted_test_set(x: torch.Tensor, seed: int = 1234, degrees: float = 15.0, shift_px: float = 3.0) -> torch.Tensor:
    """A fixed perturbed copy of test images: each rotated by up to ``degrees`` and shifted by up to
    ``shift_px`` pixels (seeded, the same for every model it is compared on)."""
    gen = torch.Generator().manual_seed(seed)
    n, _, h, w = x.shape
    u = lambda lo, hi: torch.rand(n, generator=gen) * (hi - lo) + lo  # noqa: E731
    theta = affine_matrices(u(-degrees, degrees), u(-shift_px, shift_px) / w, u(-shift_px, shift_px) / h,
                            torch.ones(n), torch.zeros(n))
    out = []
    for i in range(0, n, 2048):
        out.append(apply_affine(x[i:i + 2048], theta[i:i + 2048]))
    return torch.cat(out)


def preview_grid(x: torch.Tensor, aug: Augment, path: str | Path, *, copies: int = 7, seed: int = 0,
                 labels: list[str] | None = None, title: str = "") -> Path:
    """A PNG: each row one image, first the original, then ``copies`` augmented versions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..fileio import atomic_path

    gen = torch.Generator().manual_seed(seed)
    rows = x.shape[0]
    fig, axes = plt.subplots(rows, copies + 1, figsize=(1.2 * (copies + 1), 1.25 * rows + 0.5), squeeze=False)
    versions = [x] + [aug(x, gen) for _ in range(copies)]
    for r in range(rows):
        for c, v in enumerate(versions):
            ax = axes[r, c]
            ax.imshow(v[r, 0].clamp(0, 1).numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title("original" if c == 0 else f"aug {c}", fontsize=8)
            if c == 0 and labels:
                ax.set_ylabel(labels[r], fontsize=8)
    fig.suptitle(title or f"augmentation: {_describe(aug)}", fontsize=9)
    fig.tight_layout()
    p = Path(path)
    with atomic_path(p) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return p


def _describe(aug: Augment) -> str:
    parts = [f"rotate ±{aug.degrees:g}°", f"shift ±{aug.translate:g}", f"scale {aug.scale[0]:g}..{aug.scale[1]:g}",
             f"shear ±{aug.shear:g}°"]
    if aug.erase:
        parts.append(f"erase p={aug.erase:g}")
    if aug.hflip:
        parts.append(f"flip p={aug.hflip:g}")
    return ", ".join(parts)
