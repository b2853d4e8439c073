"""End-to-end: the `gradlab lenet` commands as a student runs them (tiny data)."""

import json

import pytest

from gradlab.cli import main

import lenet_helpers  # noqa: F401  (one torch thread per test worker)

TINY = ["--dataset", "mnist5k", "--train-limit", "128", "--test-limit", "64", "--batch-size", "32"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["lenet", "train", *TINY, "--epochs", "2", "--runs", "2", "--model", "lenet-relu-maxpool",
                 "--optimizer", "adam", "--check-every", "3", "--out", str(out), "--no-progress"]) == 0
    return out


def test_train_prints_table_and_verdicts(trained, capsys):
    data = json.loads((trained / "metrics.json").read_text())
    assert len(data["runs"]) == 2 and data["summary"]["checks"] >= 2 and data["summary"]["checks_failed"] == 0
    assert main(["lenet", "train", *TINY, "--epochs", "2", "--runs", "2", "--model", "lenet-relu-maxpool",
                 "--optimizer", "adam", "--check-every", "3", "--out", str(trained), "--resume", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["summary"] == data["summary"]


def test_train_refuses_to_overwrite(trained, capsys):
    assert main(["lenet", "train", *TINY, "--epochs", "1", "--out", str(trained)]) == 2
    err = capsys.readouterr().err
    assert "already holds a training" in err and "Traceback" not in err


@pytest.mark.parametrize("bad, says", [(["--model", "conv 6@5x5 | dense 10"], "add 'flatten'"),
                                        (["--device", "tpu"], "unknown device")])
def test_a_bad_setting_writes_nothing_and_blocks_nothing(tmp_path, capsys, bad, says):
    out = tmp_path / "run"
    assert main(["lenet", "train", *TINY, "--epochs", "1", "--out", str(out), *bad]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())
    assert main(["lenet", "train", *TINY, "--epochs", "1", "--runs", "1", "--out", str(out), "--no-progress"]) == 0


def test_save_load_compare(trained, tmp_path, capsys):
    assert main(["lenet", "save", str(trained / "run-1"), str(tmp_path / "m")]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["lenet", "load", str(tmp_path / "m.safetensors"), "--compare", str(trained / "run-1" / "checkpoint.pt"),
                 "--test-limit", "64", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["compare"]["bit_identical"] is True and out["test_images"] == 64
    # a model from another run gives other logits: exit code 1
    assert main(["lenet", "load", str(tmp_path / "m"), "--compare", str(trained / "run-2"), "--test-limit", "64"]) == 1
    (tmp_path / "m.safetensors").write_bytes(b"garbage")
    assert main(["lenet", "load", str(tmp_path / "m")]) == 2
    assert "checksum" in capsys.readouterr().err


def test_featuremaps_and_kernels(trained, tmp_path, capsys):
    png, kern = tmp_path / "fm.png", tmp_path / "k.png"
    assert main(["lenet", "featuremaps", str(trained / "run-1"), "--index", "7", "--out", str(png),
                 "--kernels", str(kern)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG" and kern.read_bytes()[:4] == b"\x89PNG"
    assert "test image 7" in capsys.readouterr().out
    assert main(["lenet", "featuremaps", str(trained / "run-1"), "--index", "99999"]) == 2


def test_summary_and_models(capsys):
    assert main(["lenet", "summary"]) == 0
    out = capsys.readouterr().out
    assert "Total params: 61,706 (241.04 KB)" in out and "6*(1*5*5) + 6 = 156" in out and "(None, 10)" in out
    assert main(["lenet", "summary", "--json", "--dtype", "float16"]) == 0
    assert json.loads(capsys.readouterr().out)["memory"]["float16"]["text"] == "120.52 KB"
    assert main(["lenet", "models"]) == 0
    assert "lenet-relu-maxpool" in capsys.readouterr().out


def test_gradcheck_command(capsys):
    assert main(["lenet", "gradcheck", "--model", "lenet", "--programs"]) == 0
    out = capsys.readouterr().out
    assert "all checks passed" in out and "y_0_0 = w_0_0*x_0_0" in out


def test_augment_preview_and_data(tmp_path, capsys):
    png = tmp_path / "aug.png"
    assert main(["lenet", "augment", "--dataset", "mnist5k", "--preview", str(png), "--images", "2"]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    assert main(["lenet", "data", "--dataset", "mnist5k", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["train"] == 4000


@pytest.mark.parametrize("argv, match", [
    (["lenet", "train", "--optimizer", "adamm"], "unknown optimizer"),
    (["lenet", "train", "--model", "conv 6@5x5 | dense 10"], "flatten"),
    (["lenet", "train", "--dataset", "cifar"], "unknown dataset"),
    (["lenet", "load", "nowhere.safetensors"], "no such file"),
    (["lenet", "sweep", "nowhere.toml"], "no such file: nowhere.toml"),
])
def test_bad_input_exits_2_with_one_line(argv, match, capsys, tmp_path):
    assert main([*argv[:2], *argv[2:], *(["--out", str(tmp_path / "o")] if argv[1] == "train" else [])]) == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err


def test_train_help_names_every_augmentation_key(capsys):
    from gradlab.lenet.augment import Augment

    with pytest.raises(SystemExit) as e:
        main(["lenet", "train", "--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    keys = [k for k in Augment.__dataclass_fields__]  # every key --augment accepts
    assert "hflip" in keys and all(f"{k}=" in text for k in keys), keys
