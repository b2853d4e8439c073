"""Sweeps on Ray (issue 16, item 7): a tiny sweep on a local Ray gives the local engine's report."""

import json
import re
import sys

import pytest

from gradlab.cli import main
from gradlab.extras import MissingExtraError
from gradlab.lenet.sweep import SweepError, SweepSpec, run_sweep

import lenet_helpers  # noqa: F401  (one torch thread per test worker)

SPEC = """name = "tiny"
runs = 2
[base]
dataset = "mnist5k"
model = "lenet-relu-maxpool"
optimizer = "adam"
epochs = 2
batch_size = 64
train_limit = 128
test_limit = 64
[vary]
lr = [0.003]
"""

#: what differs between two runs of the same sweep: the clock
TIMES = {"seconds", "images_per_s", "seconds_per_run", "seconds_per_epoch"}


def _without_times(x):
    if isinstance(x, dict):
        return {k: _without_times(v) for k, v in x.items() if k not in TIMES}
    if isinstance(x, list):
        return [_without_times(v) for v in x]
    return x


def _report_without_times(text: str) -> str:
    text = re.sub(r"\| [0-9.]+ s \|", "| - |", text)  # the table's time per run
    return re.sub(r"Total time [0-9]+ s", "Total time -", text)


def test_ray_sweep_equals_the_local_one(tmp_path):
    pytest.importorskip("ray")
    spec = SweepSpec.parse(SPEC)
    local = run_sweep(spec, tmp_path / "local", threads=1)
    logs: list[str] = []
    on_ray = run_sweep(spec, tmp_path / "ray", threads=1, engine="ray", log=logs.append)
    assert len(logs) == 2 and all("test acc" in m for m in logs)
    # the same seeds on one torch thread each: the same numbers, to the last bit
    a = json.loads((tmp_path / "local" / "sweep.json").read_text())
    b = json.loads((tmp_path / "ray" / "sweep.json").read_text())
    assert _without_times(a) == _without_times(b)
    assert _report_without_times((tmp_path / "local" / "report.md").read_text()) == \
        _report_without_times((tmp_path / "ray" / "report.md").read_text())
    assert on_ray.table().count("|") == local.table().count("|")
    for f in ("curves.png", "final.png", "lr=0.003/run-2/checkpoint.pt", "lr=0.003/run-1/model.safetensors"):
        assert (tmp_path / "ray" / f).is_file(), f
    assert not (tmp_path / "ray" / ".gradlab-ray-token").exists()
    # the same resume rules: a finished run is kept, a lost result is trained again
    (tmp_path / "ray" / "lr=0.003" / "run-2" / "result.json").unlink()
    logs.clear()
    again = run_sweep(spec, tmp_path / "ray", threads=1, engine="ray", log=logs.append)
    assert sum("finished earlier" in m for m in logs) == 1
    assert _without_times(again.to_dict()) == _without_times(on_ray.to_dict())


def test_ray_missing_is_one_line_naming_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC)
    with pytest.raises(MissingExtraError, match=r"gradlab\[ray\]"):
        run_sweep(spec, tmp_path / "out", engine="ray")
    assert not (tmp_path / "out").exists()  # nothing written before the check
    assert main(["lenet", "sweep", str(spec), "--out", str(tmp_path / "out"), "--engine", "ray"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'gradlab[ray]'" in err[0]


def test_engine_and_address_are_checked(tmp_path, capsys):
    with pytest.raises(SweepError, match="unknown engine"):
        run_sweep(SweepSpec.parse(SPEC), tmp_path / "a", engine="dask")
    with pytest.raises(SweepError, match="--engine ray"):
        run_sweep(SweepSpec.parse(SPEC), tmp_path / "a", address="localhost:6379")
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC)
    assert main(["lenet", "sweep", str(spec), "--address", "localhost:6379"]) == 2
    assert "--engine ray" in capsys.readouterr().err


def _never(*args):
    raise AssertionError("the run must not start")


def test_a_worker_that_does_not_see_the_folder_says_so(tmp_path):
    from gradlab.lenet.ray_engine import RayEngineError, _checked_task

    token = tmp_path / ".gradlab-ray-token"
    with pytest.raises(RayEngineError, match="every node shares"):
        _checked_task(_never, str(token), "abc", {}, str(tmp_path / "run-1"), 1, 0, 1)
    token.write_text("another sweep's")
    with pytest.raises(RayEngineError, match="does not see"):
        _checked_task(_never, str(token), "abc", {}, str(tmp_path / "run-1"), 1, 0, 1)
