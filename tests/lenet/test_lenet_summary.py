import json

import pytest

from gradlab.lenet.summary import NONE_EXPLAINED, format_kb, model_summary
from gradlab.model.networks import conv_shapes, lenet5

import lenet_helpers  # noqa: F401  (one torch thread per test worker)


def test_lenet5_totals_and_formulas():
    s = model_summary("lenet")
    assert s.total_params == 61706 == conv_shapes(lenet5()).total_params
    assert s.trainable_params == 61706 and s.non_trainable_params == 0
    formulas = [r.formula for r in s.rows if r.params]
    assert formulas == ["6*(1*5*5) + 6 = 156", "16*(6*5*5) + 16 = 2,416", "120*400 + 120 = 48,120",
                        "84*120 + 84 = 10,164", "10*84 + 10 = 850"]
    assert [r.shape_text() for r in s.rows][:3] == ["(None, 6, 28, 28)", "(None, 6, 28, 28)", "(None, 6, 14, 14)"]
    assert s.rows[-1].shape_text() == "(None, 10)"
    text = str(s)
    assert "Total params: 61,706 (241.04 KB)" in text
    assert "float16 (2 bytes each) 120.52 KB" in text and "float64 (8 bytes each) 482.08 KB" in text
    assert NONE_EXPLAINED in text


def test_keras_layout_and_dtype():
    s = model_summary("lenet", layout="keras", dtype="float64")
    assert s.rows[0].shape_text("keras") == "(None, 28, 28, 6)"
    assert "Total params: 61,706 (482.08 KB)" in str(s)


def test_batch_norm_counts_running_statistics_as_non_trainable():
    s = model_summary("lenet-bn")
    bn = next(r for r in s.rows if r.type == "BatchNorm2d")
    assert (bn.trainable_params, bn.non_trainable_params) == (12, 12)
    assert s.trainable_params == 62158 and s.non_trainable_params == 2 * (6 + 16 + 120 + 84)


def test_json_and_units():
    d = json.loads(model_summary("lenet-wide").to_json())
    assert d["memory"]["float32"]["bytes"] == 4 * d["total_params"]
    assert format_kb(1023) == "1023.00 B" and format_kb(246824) == "241.04 KB" and format_kb(3 * 1024**2) == "3.00 MB"
    with pytest.raises(Exception, match="dtype"):
        model_summary("lenet", dtype="int8")
