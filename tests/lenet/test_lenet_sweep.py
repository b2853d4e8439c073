import json

import pytest

from gradlab.lenet.sweep import SweepError, SweepSpec, run_sweep

import lenet_helpers  # noqa: F401  (one torch thread per test worker)

BASE = """
runs = 2
[base]
dataset = "mnist5k"
model = "lenet-relu-maxpool"
optimizer = "adam"
epochs = 2
batch_size = 64
train_limit = 192
test_limit = 64
"""


def test_grid_and_points():
    spec = SweepSpec.parse('name = "lr"\n' + BASE + "[vary]\nlr = [0.001, 0.01]\nbatch_size = [32, 64]\n")
    assert [p.label for p in spec.points] == ["lr=0.001, batch_size=32", "lr=0.001, batch_size=64",
                                              "lr=0.01, batch_size=32", "lr=0.01, batch_size=64"]
    spec = SweepSpec.parse(BASE + '[[point]]\nlabel = "SGD"\noptimizer = "sgd"\nlr = 0.1\n'
                                  '[[point]]\nlabel = "Adagrad"\noptimizer = "adagrad"\n')
    assert [p.label for p in spec.points] == ["SGD", "Adagrad"] and spec.runs == 2
    assert spec.config(spec.points[1]).lr == 1e-2  # Adagrad's own default learning rate


def test_a_sweep_given_as_data_is_the_sweep_its_file_would_be():
    data = {"name": "arch \"x\"", "runs": 2, "base": {"dataset": "mnist5k", "epochs": 2, "test_limit": None},
            "point": [{"label": "ReLU", "model": "lenet-relu"},
                      {"label": "own", "model": "conv 8@5x5 | relu | flatten | dense 10", "lr": 1e-3}]}
    spec = SweepSpec.from_dict(data)
    assert spec.base == {"dataset": "mnist5k", "epochs": 2}  # None keeps the default
    assert [(p.label, p.overrides) for p in spec.points] == [(q["label"], {k: v for k, v in q.items() if k != "label"})
                                                             for q in data["point"]]
    again = SweepSpec.parse(spec.source)  # what sweep.toml keeps reads back as the same sweep
    assert (again.name, again.runs, again.base, again.points) == (spec.name, spec.runs, spec.base, spec.points)
    grid = SweepSpec.from_dict({"name": "lr", "base": {"epochs": 1}, "vary": {"lr": [0.1, 0.9]}})
    assert [p.label for p in grid.points] == ["lr=0.1", "lr=0.9"] and grid.runs == 3
    with pytest.raises(SweepError, match="nothing varies"):
        SweepSpec.from_dict({"name": "x", "base": {"epochs": 1}})
    with pytest.raises(Exception, match="epochs must be"):
        SweepSpec.from_dict({"name": "x", "base": {"epochs": 0}, "vary": {"lr": [1.0]}})


@pytest.mark.parametrize("text, match", [
    (BASE, "nothing varies"),
    (BASE + "[vary]\nlr = []\n", "non-empty list"),
    (BASE + "[vary]\nlearning_rate = [1]\n", "unknown key.*learning_rate"),
    (BASE + '[[point]]\noptimizer = "adamm"\n', "unknown optimizer"),
    ("runs = 0\n[vary]\nlr = [1.0]\n", "runs must be"),
    ("[vary\nlr = 1", "not valid TOML"),
    ('colour = "red"\n[vary]\nlr = [1.0]\n', "unknown key"),
])
def test_bad_specs(text, match):
    with pytest.raises(SweepError if "optimizer" not in match and "learning_rate" not in match else Exception,
                       match=match):
        SweepSpec.parse(text)


def test_sweep_report_and_resume(tmp_path, capsys):
    spec_file = tmp_path / "opt.toml"
    spec_file.write_text('name = "optimizers"\n' + BASE + '[[point]]\nlabel = "Adam"\n[[point]]\nlabel = "RMSprop"\n'
                         'optimizer = "rmsprop"\n')
    out = tmp_path / "sweep"
    res = run_sweep(spec_file, out)
    report = (out / "report.md").read_text()
    assert "| Adam |" in report and "| RMSprop |" in report and "±" in report and "![" in report
    for f in ("sweep.json", "curves.png", "final.png", "Adam/run-1/result.json", "RMSprop/run-2/checkpoint.pt"):
        assert (out / f).is_file(), f
    data = json.loads((out / "sweep.json").read_text())
    assert [p["label"] for p in data["points"]] == ["Adam", "RMSprop"] and len(data["points"][0]["runs"]) == 2
    # interrupted sweep: one run lost its result, another never started -> only those are trained again
    (out / "RMSprop" / "run-2" / "result.json").unlink()
    import shutil

    shutil.rmtree(out / "Adam" / "run-2")
    logs = []
    capsys.readouterr()
    again = run_sweep(spec_file, out, log=logs.append, progress=True)
    assert sum("finished earlier" in m for m in logs) == 2
    assert "sweep optimizers" in capsys.readouterr().err  # a progress bar over the runs (tqdm.auto)
    assert again.summaries["Adam"]["final_test_acc"] == res.summaries["Adam"]["final_test_acc"]
    assert again.summaries["RMSprop"]["final_test_acc"] == res.summaries["RMSprop"]["final_test_acc"]


def test_parallel_jobs_give_the_same_results(tmp_path):
    spec = SweepSpec.parse('name = "p"\n' + BASE.replace("epochs = 2", "epochs = 1") + "[vary]\nlr = [0.003]\n")
    one = run_sweep(spec, tmp_path / "one")
    two = run_sweep(spec, tmp_path / "two", jobs=2)
    for p in spec.points:
        assert [r.final["test_acc"] for r in one.points[p.label]] == [r.final["test_acc"] for r in two.points[p.label]]
        assert [r.history[0].train_loss for r in one.points[p.label]] == \
               [r.history[0].train_loss for r in two.points[p.label]]


def test_changed_spec_is_not_mixed_with_old_results(tmp_path):
    spec = SweepSpec.parse('name = "p"\n' + BASE.replace("epochs = 2", "epochs = 1") + "[vary]\nlr = [0.003]\n")
    run_sweep(spec, tmp_path / "s")
    changed = SweepSpec.parse('name = "p"\n' + BASE.replace("epochs = 2", "epochs = 1").replace("batch_size = 64",
                                                                                                "batch_size = 32")
                              + "[vary]\nlr = [0.003]\n")
    with pytest.raises(Exception, match="other settings.*batch_size"):
        run_sweep(changed, tmp_path / "s")
    assert run_sweep(changed, tmp_path / "s", force=True).summaries


def test_a_point_that_cannot_run_stops_the_sweep_before_anything_runs(tmp_path):
    spec = SweepSpec.parse(BASE + '[vary]\nmodel = ["lenet", "conv 6@5x5 | dense 10"]\n')
    with pytest.raises(SweepError, match=r"point model=conv 6@5x5 \| dense 10: .*add 'flatten'"):
        run_sweep(spec, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_one_run_per_point_is_not_called_mean_and_std_and_bars_start_at_zero(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    seen = {}
    save = Figure.savefig

    def spy(fig, fname, *a, **kw):  # the pictures' titles and axes, as they are written
        seen[len(seen)] = ([ax.get_title() for ax in fig.axes] + [getattr(fig, "get_suptitle", str)()],
                           [ax.get_xlim() for ax in fig.axes], [ax.get_xlabel() for ax in fig.axes])
        return save(fig, fname, *a, **kw)

    monkeypatch.setattr(Figure, "savefig", spy)
    spec_file = tmp_path / "one.toml"
    spec_file.write_text('name = "one"\n' + BASE.replace("runs = 2", "runs = 1")
                         + '[[point]]\nlabel = "Adam"\n[[point]]\nlabel = "SGD"\noptimizer = "sgd"\nlr = 0.1\n')
    run_sweep(spec_file, tmp_path / "sweep")
    report = (tmp_path / "sweep" / "report.md").read_text()
    assert "±" not in report and "one run per point" in report
    texts = " ".join(t for titles, _, labels in seen.values() for t in titles + labels)
    assert "std" not in texts and "1 run per point (the run itself, no spread)" in texts
    curves, final = seen[0], seen[1]
    assert final[1][0][0] == 0.0 and final[2][0] == "accuracy (one run)"  # the bar axis starts at zero
    assert len(curves[1]) == 3
