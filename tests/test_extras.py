"""Missing optional extras (issue 13, item 2): one line naming the extra to install, exit 2, before any work."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gradlab.cli import main
from gradlab.extras import EXTRAS, MissingExtraError, require

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def test_every_extra_named_is_one_of_pyprojects_extras_and_holds_the_package():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for package, extra in EXTRAS.items():
        assert any(req.split(">")[0].split("<")[0].split("=")[0].strip() == package for req in extras[extra]), package


def test_require_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchinfo", None)  # as if it were not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'gradlab\[lab\]'"):
        require("torchinfo", purpose="x")
    require("json", purpose="x")


@pytest.mark.parametrize("argv, missing", [
    (["lenet", "summary", "lenet"], "torchinfo"),
    (["lenet", "train", "--dataset", "mnist5k", "--epochs", "1", "--runs", "1"], "safetensors"),
    (["lenet", "save", "run", "model"], "safetensors"),
    (["lenet", "sweep", str(ROOT / "docs" / "lenet" / "sweeps" / "architecture.toml")], "safetensors"),
])
def test_a_missing_extra_is_one_line_and_exit_2_before_any_work(argv, missing, monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, missing, None)
    monkeypatch.chdir(tmp_path)
    for name in [m for m in sys.modules if m.startswith(missing + ".")]:
        monkeypatch.setitem(sys.modules, name, None)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"needs the package {missing}" in err and "pip install 'gradlab[lab]'" in err
    assert list(tmp_path.iterdir()) == []  # nothing trained, nothing written
