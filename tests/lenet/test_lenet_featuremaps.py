"""Feature-map pictures: every map of a layer on one colour scale, with that scale's colour bar."""

import pytest
import torch

from gradlab.lenet.featuremaps import feature_maps, plot_feature_maps
from gradlab.lenet.models import build_model

import lenet_helpers  # noqa: F401  (one torch thread per test worker)


def test_maps_of_a_layer_share_one_colour_scale_and_a_colour_bar(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    seen = []
    save = Figure.savefig

    def spy(fig, fname, *a, **kw):  # the picture as it is written
        seen.append(fig)
        return save(fig, fname, *a, **kw)

    monkeypatch.setattr(Figure, "savefig", spy)
    model = build_model("lenet", seed=0)
    image = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    png = plot_feature_maps(model, image, tmp_path / "fm.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    (fig,) = seen
    bars = [ax for ax in fig.axes if ax.get_label().startswith("colour bar")]
    assert len(bars) == 3  # the kernels, conv 1, conv 2
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]
    assert len(titles) == 3 and all("one colour scale for the layer (bar at right)" in t for t in titles)
    maps = feature_maps(model, image)
    climits = [ax.images[0].get_clim() for ax in fig.axes if ax.images and not ax.get_label().startswith("colour bar")]
    kernels = model[0].weight.detach()[:, 0]
    sizes = [1, kernels.shape[0]] + [m.maps.shape[0] for m in maps]  # the input image first
    assert len(climits) == sum(sizes)
    lim = float(kernels.abs().max())
    assert all(c == pytest.approx((-lim, lim)) for c in climits[1:1 + sizes[1]])  # signed: symmetric about 0
    start = 1 + sizes[1]
    for m, n in zip(maps, sizes[2:]):
        block = climits[start:start + n]
        assert all(c == pytest.approx((float(m.maps.min()), float(m.maps.max()))) for c in block), m.layer
        start += n
