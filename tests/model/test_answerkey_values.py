"""key.json values are checked when the key is loaded: types, ranges, NaN, nesting; one line naming the value and
the file, exit 2 (issue 13, item 9)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from gradlab.cli import main
from gradlab.model.answerkey import AnswerKey, AnswerKeyError
from gradlab.worksheet import build_worksheet, spec_from_program


@pytest.fixture(scope="module")
def good() -> dict[str, Any]:
    ws = build_worksheet(spec_from_program("z = w0*x0 + w2; s = sigmoid(z)"), variants=2, seed=5, pictures=False)
    return json.loads(ws.key().to_json())


def first_answer(d: dict[str, Any], kind: str) -> dict[str, Any]:
    v = next(iter(d["variants"].values()))
    return next(a for k, a in v["answers"].items() if d["items"][k]["kind"] == kind)


def setter(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(d: dict[str, Any]) -> None:
        keys = path.split("/")
        target = d
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value
    return edit


def number_answer(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(d: dict[str, Any]) -> None:
        first_answer(d, "number")[field] = value
    return edit


def formula_answer(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(d: dict[str, Any]) -> None:
        first_answer(d, "formula")[field] = value
    return edit


def first_point(value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(d: dict[str, Any]) -> None:
        v = next(iter(d["variants"].values()))
        v["at"][next(iter(v["at"]))] = value
    return edit


CASES = [
    ("timeout text", setter("grading/timeout", "abc"), "grading/timeout must be a number"),
    ("timeout huge", setter("grading/timeout", 1e9), "grading/timeout must be from 0.1 to 600"),
    ("timeout NaN", setter("grading/timeout", float("nan")), "grading/timeout must be a finite number"),
    ("timeout negative", setter("grading/timeout", -1), "grading/timeout must be from 0.1 to 600"),
    ("memory text", setter("grading/memory_mb", "768"), "grading/memory_mb must be a whole number"),
    ("memory tiny", setter("grading/memory_mb", 1), "grading/memory_mb must be from 128"),
    ("rtol text", setter("grading/rtol", "0.01"), "grading/rtol must be a number"),
    ("rtol negative", setter("grading/rtol", -0.5), "grading/rtol must be from 0 to 1"),
    ("atol infinite", setter("grading/atol", float("inf")), "grading/atol must be a finite number"),
    ("sigfigs zero", setter("grading/sigfigs", 0), "grading/sigfigs must be from 1 to 10"),
    ("decimals float", setter("grading/decimals", 2.5), "grading/decimals must be a whole number"),
    ("partial unknown", setter("grading/partial", {"typo": 0.5}), "grading/partial/typo is not a mistake"),
    ("partial above 1", setter("grading/partial", {"sign": 3}), "grading/partial/sign must be from 0 to 1"),
    ("seed text", setter("seed", "x"), "seed must be a whole number"),
    ("value text", number_answer("value", "0.5"), "/value must be a number"),
    ("value NaN", number_answer("value", float("nan")), "/value must be a finite number"),
    ("formula number", formula_answer("formula", 3), "/formula must be text"),
    ("names list", formula_answer("names", ["z"]), "/names must be an object"),
    ("probe text", formula_answer("probe", {"w0": ["a", 1]}), "/probe/w0/0 must be a number"),
    ("mistake value", formula_answer("mistakes", [{"id": "sign", "message": "m", "value": "x"}]),
     "/mistakes/0/value must be a number"),
    ("point text", first_point("one"), "must be a finite number, a vector"),
    ("point cube", first_point([[[1.0]]]), "must be a finite number, a vector"),
    ("points huge", lambda d: d["items"][next(iter(d["items"]))].update(points=1e300), "points must be from 0"),
    ("items list", setter("items", [1, 2]), "items must be an object"),
]


@pytest.mark.parametrize("name,edit,words", CASES, ids=[c[0] for c in CASES])
def test_a_bad_value_is_named_with_the_file(tmp_path, capsys, good, name, edit, words):
    data = json.loads(json.dumps(good))
    edit(data)
    key = tmp_path / "key.json"
    key.write_text(json.dumps(data), encoding="utf-8")
    (tmp_path / "r.csv").write_text("id,variant,1.1\na,1,0\n", encoding="utf-8")
    assert main(["grade", str(tmp_path / "r.csv"), "--key", str(key), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert str(key) in err and words in err, err
    assert not (tmp_path / "out").exists()


def test_a_key_nested_100000_deep_is_refused(tmp_path):
    key = tmp_path / "key.json"
    key.write_text('{"gradlab_key": 1, "title": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    with pytest.raises(AnswerKeyError, match="nested too deeply") as e:
        AnswerKey.load(key)
    assert str(key) in str(e.value)


def test_a_key_nested_deeper_than_a_key_goes_is_refused(good):
    data = json.loads(json.dumps(good))
    data["variants"][next(iter(data["variants"]))]["at"]["w0"] = [[[[[[[[[[[[[1.0]]]]]]]]]]]]]
    with pytest.raises(AnswerKeyError, match="nested too deeply"):
        AnswerKey.from_dict(data, "k.json")


def test_the_key_a_worksheet_writes_loads(tmp_path, good):
    key = tmp_path / "key.json"
    key.write_text(json.dumps(good), encoding="utf-8")
    assert AnswerKey.load(key).grading.timeout == good["grading"]["timeout"]


def test_a_missing_answer_file_still_names_the_key(tmp_path: Path):
    with pytest.raises(AnswerKeyError, match="no such answer key"):
        AnswerKey.load(tmp_path / "nope.json")
