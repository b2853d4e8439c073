"""The TOML loaders on Python 3.10, which has no tomllib: there the tomli backport reads the files."""

import sys

import pytest

import gradlab.lenet.train  # noqa: F401  (imported by SweepSpec.parse; loaded before Python 3.10 is faked)
from gradlab.lenet.models import architecture
from gradlab.lenet.sweep import SweepSpec
from gradlab.model.networks import load_spec

import lenet_helpers  # noqa: F401  (one torch thread per test worker)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@pytest.fixture
def python310(monkeypatch):
    """``import tomllib`` fails as on Python 3.10; ``import tomli`` gives the same parser."""
    monkeypatch.setattr(sys, "version_info", (3, 10, 14, "final", 0))
    monkeypatch.setitem(sys.modules, "tomllib", None)
    monkeypatch.setitem(sys.modules, "tomli", tomllib)


def test_load_spec(tmp_path, python310):
    f = tmp_path / "net.toml"
    f.write_text('input = "32x32x5"\nlayers = ["conv 1@5x5"]\n', encoding="utf-8")
    assert load_spec(f) == {"input": "32x32x5", "layers": ["conv 1@5x5"]}


def test_architecture_from_toml(tmp_path, python310):
    f = tmp_path / "mine.toml"
    f.write_text('layers = ["conv 6@5x5 pad=2", "relu", "maxpool 2", "flatten", "dense 10"]\n', encoding="utf-8")
    assert architecture(str(f)).name == "mine"


def test_sweep_spec(python310):
    spec = SweepSpec.parse('name = "lr"\nruns = 1\n[base]\nepochs = 1\n[vary]\nlr = [0.001, 0.01]\n')
    assert [p.label for p in spec.points] == ["lr=0.001", "lr=0.01"]
