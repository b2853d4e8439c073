"""Sheet 2 in Keras, tasks 2 and 4: Keras 3 on torch, Keras's own model.summary explained row by row (also of
a .keras file saved by plain Keras code), .keras files loaded safely, and a bit-identical round trip."""

from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest

from gradlab.extras import MissingExtraError
from gradlab.lenet.keras_env import import_keras

import lenet_helpers  # noqa: F401  (one torch thread per test worker)

# Keras's own calls of np.array on torch tensors, under numpy 2 (nothing gradlab can change)
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept:DeprecationWarning")

try:
    keras = import_keras()
except MissingExtraError:  # pragma: no cover - CI installs the keras extra (scripts/install.sh)
    pytest.skip("the keras extra is not installed", allow_module_level=True)

from gradlab.cli import main
from gradlab.lenet.keras_models import build_keras_model
from gradlab.lenet.keras_persist import PersistError, load_keras_file, round_trip
from gradlab.lenet.keras_summary import capture_summary, keras_summary


def test_keras_runs_on_torch_without_tensorflow():
    assert os.environ["KERAS_BACKEND"] == "torch" and keras.backend.backend() == "torch"
    import sys

    assert "tensorflow" not in sys.modules


def test_reference_lenet_summary_is_keras_own_table_and_is_explained():
    s = keras_summary("lenet")
    assert "┏" in s.text and "Total params: 61,706 (241.04 KB)" in s.text
    assert (s.total_params, s.trainable_params, s.non_trainable_params, s.total_memory) == (61706, 61706, 0,
                                                                                           "241.04 KB")
    # the same text as Keras prints for the model written as plain Keras code
    keras.backend.clear_session()
    L = keras.layers
    plain = keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(6, 5, padding="same", activation="sigmoid"),
                              L.AveragePooling2D(2), L.Conv2D(16, 5, activation="sigmoid"), L.AveragePooling2D(2),
                              L.Flatten(), L.Dense(120, activation="sigmoid"), L.Dense(84, activation="sigmoid"),
                              L.Dense(10)], name="lenet")
    assert capture_summary(plain) == s.text
    assert [r.formula for r in s.rows if r.params] == ["6*(5*5*1) + 6 = 156", "16*(5*5*6) + 16 = 2,416",
                                                      "400*120 + 120 = 48,120", "120*84 + 84 = 10,164",
                                                      "84*10 + 10 = 850"]
    text = str(s)
    assert text.startswith(s.text)
    assert "61,706 parameters x 4 bytes = 246,824 bytes" in text and "float32" in text
    assert "(None, 10) is the shape of the model's output" in text
    for arg in ("line_length:", "expand_nested:", "show_trainable:"):
        assert arg in text
    html = s._repr_html_()
    assert "61,706" in html and "<pre>" in html and "6*(5*5*1) + 6 = 156" in html


def _lecture_model():
    """A model as a student writes it in plain Keras: a nested block, batch normalisation, a frozen layer."""
    L = keras.layers
    block = keras.Sequential([keras.Input((12, 12, 4)), L.Conv2D(8, 3, activation="relu"), L.BatchNormalization()],
                             name="block")
    x = keras.Input((28, 28, 1))
    y = L.Conv2D(4, 5, activation="relu")(x)
    y = L.MaxPooling2D(2)(y)
    y = block(y)
    y = L.Flatten()(y)
    out = L.Dense(10)(y)
    model = keras.Model(x, out, name="lecture")
    block.layers[0].trainable = False
    return model


def test_a_keras_file_saved_by_plain_keras_code_is_summarised_and_explained(tmp_path, capsys):
    model = _lecture_model()
    path = tmp_path / "lecture.keras"
    model.save(path)
    assert main(["lenet", "summary", "--framework", "keras", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(capture_summary(model))  # Keras's own table first
    n = model.count_params()
    assert f"Total params: {n:,}" in out
    assert "└ conv2d" in out  # expand_nested: the block's layers under it
    assert "a nested model: the sum of its 2 layers" in out
    assert "moving_mean and moving_variance" in out and "non-trainable: 16" in out
    assert "Frozen here: conv2d" in out
    s = keras_summary(path, expand_nested=False, show_trainable=False)
    assert "└ conv2d" not in s.text and "Trai…" not in s.text
    assert s.non_trainable_params == sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    assert "8 rows; expand_nested=False" in str(keras_summary(path))


@pytest.mark.parametrize("content, words", [
    (b"not a model at all", "not a zip archive"),
    (b"\x80\x04K\x01.", "a pickle"),
    ("zip-without-config", "no config.json inside"),
    ("truncated", "damaged zip archive"),
])
def test_a_corrupt_or_foreign_file_is_one_line_exit_2(tmp_path, capsys, content, words):
    bad = tmp_path / "bad.keras"
    if content == "zip-without-config":
        with zipfile.ZipFile(bad, "w") as z:
            z.writestr("hello.txt", "hi")
    elif content == "truncated":
        build_keras_model("lenet").save(tmp_path / "good.keras")
        bad.write_bytes((tmp_path / "good.keras").read_bytes()[:3000])
    else:
        bad.write_bytes(content)
    assert main(["lenet", "summary", "--framework", "keras", str(bad)]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_lambda_layer_is_never_deserialised(tmp_path):
    x = keras.Input((4,))
    model = keras.Model(x, keras.layers.Lambda(lambda t: t * 2)(x))
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(PersistError, match="safe_mode=True"):
        load_keras_file(tmp_path / "lambda.keras")


def test_save_and_load_give_bit_identical_predictions(tmp_path):
    model = build_keras_model("lenet-bn", seed=1)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x = rng.random((64, 28, 28, 1), dtype=np.float32)
    model.fit(x, rng.integers(0, 10, 64), batch_size=32, epochs=1, verbose=0)  # moves the batch-norm statistics
    c = round_trip(model, tmp_path / "m.keras", x)
    assert c.bit_identical and c.max_abs_diff == 0.0 and c.different_predictions == 0 and c.images == 64
    loaded = load_keras_file(tmp_path / "m.keras")
    moving = [w for w in loaded.non_trainable_weights if "moving_mean" in w.path][0]
    assert float(np.abs(keras.ops.convert_to_numpy(moving)).max()) > 0  # the statistics were saved too


def test_the_docs_show_what_the_keras_summary_prints(capsys):
    """docs/lenet.md shows the output of `gradlab lenet summary --framework keras` as it is."""
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "lenet.md").read_text(encoding="utf-8")
    (shown,) = re.findall(r"<!-- keras-summary: gradlab lenet summary --framework keras -->\n```text\n(.*?)```",
                          page, re.S)
    assert main(["lenet", "summary", "--framework", "keras"]) == 0
    assert capsys.readouterr().out == shown
