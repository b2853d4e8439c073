import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlab.lenet.augment import Augment, AugmentError, affine_matrices, apply_affine, shifted_test_set

import lenet_helpers  # noqa: F401  (one torch thread per test worker)


def blob(n=1):
    x = torch.zeros(n, 1, 28, 28)
    x[:, :, 10:18, 10:18] = 1.0
    return x


def centre_x(img):
    w = img[0, 0].sum(0)
    return float((w * torch.arange(28)).sum() / w.sum())


def test_identity_transform_keeps_the_image():
    x = torch.rand(3, 1, 28, 28)
    aug = Augment(degrees=0, translate=0, scale=(1, 1), shear=0)
    assert torch.equal(aug(x), x)
    theta = affine_matrices(torch.zeros(3), torch.zeros(3), torch.zeros(3), torch.ones(3), torch.zeros(3))
    assert torch.allclose(apply_affine(x, theta), x, atol=1e-5)


def test_translation_moves_the_image_right():
    x = blob()
    n = torch.ones(1)
    moved = apply_affine(x, affine_matrices(0 * n, n * 3 / 28, 0 * n, n, 0 * n))  # 3 pixels to the right
    assert centre_x(moved) == pytest.approx(centre_x(x) + 3, abs=0.05)


@settings(max_examples=25, deadline=None)
@given(st.floats(-30, 30), st.floats(0.8, 1.2))
def test_rotation_and_scale_keep_the_centre_and_mass(deg, scale):
    x = torch.zeros(1, 1, 28, 28)
    x[:, :, 12:16, 12:16] = 1.0  # a centred square
    n = torch.ones(1)
    y = apply_affine(x, affine_matrices(deg * n, 0 * n, 0 * n, scale * n, 0 * n))
    assert centre_x(y) == pytest.approx(centre_x(x), abs=0.2)
    assert float(y.sum()) == pytest.approx(float(x.sum()) * scale**2, rel=0.2)


def test_augmentation_is_seeded_and_per_image():
    x = blob(4)
    aug = Augment.parse("affine+erase")
    a = aug(x, torch.Generator().manual_seed(1))
    b = aug(x, torch.Generator().manual_seed(1))
    c = aug(x, torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.equal(a[0], a[1])  # each image its own transform


def test_shifted_test_set_is_fixed_and_different():
    x = blob(5)
    s1, s2 = shifted_test_set(x), shifted_test_set(x)
    assert torch.equal(s1, s2) and not torch.allclose(s1, x)


def test_parse():
    assert Augment.parse("none") is None and Augment.parse(None) is None
    a = Augment.parse("degrees=20,translate=0.2,scale=0.8:1.3,erase=0.5")
    assert (a.degrees, a.translate, a.scale, a.erase) == (20, 0.2, (0.8, 1.3), 0.5)
    with pytest.raises(AugmentError, match="unknown key"):
        Augment.parse("spin=3")
    with pytest.raises(AugmentError, match="not a number"):
        Augment.parse("degrees=lots")
