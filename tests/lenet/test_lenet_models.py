import pytest
import torch
from torch import nn

from gradlab.lenet.models import VARIANTS, ModelError, architecture, build_model

import lenet_helpers  # noqa: F401  (one torch thread per test worker)


def test_reference_lenet_is_the_notebook_model():
    m = build_model("lenet", seed=0)
    kinds = [type(x).__name__ for x in m]
    assert kinds == ["Conv2d", "Sigmoid", "AvgPool2d", "Conv2d", "Sigmoid", "AvgPool2d", "Flatten", "Linear",
                     "Sigmoid", "Linear", "Sigmoid", "Linear"]
    assert (m[0].in_channels, m[0].out_channels, m[0].kernel_size, m[0].padding) == (1, 6, (5, 5), (2, 2))
    assert (m[3].in_channels, m[3].out_channels, m[3].padding) == (6, 16, (0, 0))
    assert [(l.in_features, l.out_features) for l in m if isinstance(l, nn.Linear)] == [(400, 120), (120, 84), (84, 10)]
    assert sum(p.numel() for p in m.parameters()) == 61706
    # Xavier-uniform weights: bound sqrt(6 / (fan_in + fan_out))
    bound = (6 / (400 + 120)) ** 0.5
    assert float(m[7].weight.detach().abs().max()) <= bound and float(m[7].weight.detach().abs().max()) > 0.9 * bound


def test_seed_fixes_the_initial_weights():
    a, b, c = build_model("lenet", seed=3), build_model("lenet", seed=3), build_model("lenet", seed=4)
    assert torch.equal(a[0].weight, b[0].weight) and not torch.equal(a[0].weight, c[0].weight)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_classifies_a_batch(name):
    m = build_model(name, seed=0)
    assert m(torch.rand(4, 1, 28, 28)).shape == (4, 10)


def test_variants_differ_where_they_say():
    assert any(isinstance(x, nn.ReLU) for x in build_model("lenet-relu"))
    assert any(isinstance(x, nn.MaxPool2d) for x in build_model("lenet-maxpool"))
    assert sum(isinstance(x, nn.Conv2d) for x in build_model("lenet-deep")) == 3
    assert any(isinstance(x, nn.BatchNorm2d) for x in build_model("lenet-bn"))
    assert any(isinstance(x, nn.Dropout) for x in build_model("lenet-dropout"))
    assert build_model("lenet-wide")[0].out_channels == 12 and build_model("lenet-narrow")[0].out_channels == 3


def test_custom_spec_string_and_toml(tmp_path):
    m = build_model("conv 4@3x3 pad=1 | relu | maxpool 2 | flatten | dropout 0.2 | dense 10")
    assert m(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    f = tmp_path / "mine.toml"
    f.write_text('description = "tiny"\nlayers = ["conv 2@5x5", "tanh", "avgpool 2", "flatten", "dense 10"]\n')
    arch = architecture(str(f))
    assert arch.name == "mine" and build_model(arch)(torch.rand(1, 1, 28, 28)).shape == (1, 10)


@pytest.mark.parametrize("spec, match", [
    ("conv 6@5x5 | dense 10", "add 'flatten'"),
    ("conv 6@5x5 | flatten | dense 12", "expected 10 class scores"),
    ("conv 6@5x5 | wobble | flatten | dense 10", "unknown layer type"),
    ("conv 6@29x29 | flatten | dense 10", "does not fit"),
    ("conv 6@5x5 | flatten | dropout 1.5 | dense 10", "dropout probability"),
])
def test_bad_architectures_are_clear_errors(spec, match):
    with pytest.raises(ModelError, match=match):
        build_model(spec)


def test_unknown_model_name():
    with pytest.raises(ModelError, match="unknown model 'lenett'"):
        build_model("lenett")
