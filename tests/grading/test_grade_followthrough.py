"""Follow-through marking: a slip or a rounding as told costs once (issue 15, item 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradlab.grading import grade
from gradlab.model.answerkey import AnswerKey, AnswerKeyError
from gradlab.worksheet.questions import build_worksheet
from gradlab.worksheet.spec import WorksheetError, load_spec

ROOT = Path(__file__).resolve().parents[2]
QUIZ = ROOT / "docs" / "examples" / "neuron_quiz.toml"
#: Variant 07 prints a = 0.88; 0.88 * 0.12 = 0.1056 is written 0.11 where the key says 0.10 (0.104994).
ROUNDED = {"2.7": "0.11", "2.8": "0.11", "2.9": "0.11", "2.10": "0.11", "2.11": "0.11", "2.12": "-0.22",
           "2.13": "-0.22", "2.14": "0.11", "2.15": "-0.11", "4.1": "0.11"}


@pytest.fixture(scope="module")
def key() -> AnswerKey:
    return build_worksheet(load_spec(QUIZ), pictures=False).key()


def _with_mode(key: AnswerKey, mode: str) -> AnswerKey:
    data = key.to_dict()
    data["grading"]["mode"] = mode
    return AnswerKey.from_dict(data)


def _grade(key: AnswerKey, changes: dict[str, str], variant: str = "07") -> dict[str, object]:
    v = key.variants[variant]
    row = {i: (a.text if key.items[i].kind == "number" else a.formula) for i, a in v.answers.items()}
    row.update(changes)
    items = list(key.items)
    report = grade((["id", "variant", *items], [["s1", variant, *[row[i] for i in items]]]), key, workers=1)
    return {a.item: a for a in report.students[0].answers} | {"score": report.students[0].score}


def test_the_case_of_the_issue_is_the_one_the_key_has(key: AnswerKey) -> None:
    v = key.variants["07"]
    assert v.answers["1.5"].text == "0.88" and v.answers["2.7"].text == "0.10"
    assert 0.88 * (1 - 0.88) == pytest.approx(0.1056)
    assert v.answers["2.7"].follow is not None and set(v.answers["2.7"].follow.uses.values()) == {"1.5", "2.6"}


def test_rounding_as_told_earns_full_marks_by_follow_through(key: AnswerKey) -> None:
    assert key.grading.mode == "follow-through"  # a new worksheet's default
    graded = _grade(key, ROUNDED)
    assert graded["score"] == key.total_points
    for item in ROUNDED:
        a = graded[item]
        assert a.points == a.max_points, item  # type: ignore[attr-defined]
        assert "follow-through" in a.verdict.feedback and "expected" in a.verdict.feedback  # type: ignore[attr-defined]
    assert "your earlier 0.88 (1.5)" in graded["2.7"].verdict.feedback  # type: ignore[attr-defined]


def test_strict_marks_the_same_answers_wrong(key: AnswerKey) -> None:
    graded = _grade(_with_mode(key, "strict"), ROUNDED)
    assert graded["2.7"].points == 0 and graded["2.7"].verdict.mistake == "rounding"  # type: ignore[attr-defined]
    assert graded["score"] == pytest.approx(key.total_points - 9 * 0.5 - 1.0)  # 2.7-2.15 (9 x 0.5) and 4.1 (1)


def test_a_slip_costs_once_by_follow_through_and_only_there(key: AnswerKey) -> None:
    slip = {"1.5": "0.5", "2.7": "0.25", "2.8": "0.25"}  # a wrong a, and the gradients that follow from it
    graded = _grade(key, slip)
    assert graded["1.5"].points == 0  # type: ignore[attr-defined]
    assert graded["2.7"].points == graded["2.7"].max_points  # type: ignore[attr-defined]
    assert "your earlier 0.5 (1.5)" in graded["2.7"].verdict.feedback  # type: ignore[attr-defined]
    tolerant = _grade(_with_mode(key, "tolerance"), slip)
    assert tolerant["2.7"].points == 0  # type: ignore[attr-defined]
    rounded = _grade(_with_mode(key, "tolerance"), {"2.7": "0.11"})
    assert rounded["2.7"].points == rounded["2.7"].max_points  # type: ignore[attr-defined]
    assert "rounded values 0.88 (1.5)" in rounded["2.7"].verdict.feedback  # type: ignore[attr-defined]


def test_an_answer_that_follows_from_nothing_given_stays_wrong(key: AnswerKey) -> None:
    graded = _grade(key, {"2.7": "0.3"})
    assert graded["2.7"].points == 0 and graded["2.7"].verdict.status == "wrong"  # type: ignore[attr-defined]


def test_the_key_keeps_its_recipes_and_an_old_key_grades_strictly(key: AnswerKey, tmp_path: Path) -> None:
    again = AnswerKey.from_dict(json.loads(key.to_json()))
    assert again.variants["07"].answers["2.7"].follow == key.variants["07"].answers["2.7"].follow
    old = json.loads(key.to_json())
    del old["grading"]["mode"]
    for v in old["variants"].values():
        for a in v["answers"].values():
            a.pop("follow", None)
    path = tmp_path / "key.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    loaded = AnswerKey.load(path)
    assert loaded.grading.mode == "strict"
    assert _grade(loaded, ROUNDED)["2.7"].points == 0  # type: ignore[attr-defined]


def test_a_bad_mode_is_named(key: AnswerKey, tmp_path: Path) -> None:
    data = key.to_dict()
    data["grading"]["mode"] = "lenient"
    with pytest.raises(AnswerKeyError, match="grading/mode must be one of strict, tolerance, follow-through"):
        AnswerKey.from_dict(data)
    spec = tmp_path / "quiz.toml"
    spec.write_text(QUIZ.read_text(encoding="utf-8").replace("[grading]\n", "[grading]\nmode = \"kind\"\n")
                    .replace("../../graphs", str(ROOT / "graphs")), encoding="utf-8")
    with pytest.raises(WorksheetError, match="mode must be one of"):
        load_spec(spec)


def test_rounding_changes_are_the_answers_strict_marking_refuses_and_follow_through_accepts(key: AnswerKey) -> None:
    """Issue 15, item 1: a variant whose rounding changes later answers is found when the sheet is made."""
    from gradlab.grading.followthrough import rounding_changes

    changes = rounding_changes(key.variants["07"], key.grading)
    assert {c.item for c in changes} >= {"2.7"}
    assert next(c for c in changes if c.item == "2.7").by_hand == "0.11"
    for c in changes:  # each by-hand answer, on its own, is wrong strictly and right by follow-through
        assert _grade(_with_mode(key, "strict"), {c.item: c.by_hand})[c.item].points == 0  # type: ignore[attr-defined]
        a = _grade(key, {c.item: c.by_hand})[c.item]
        assert a.points == a.max_points, c  # type: ignore[attr-defined]


def test_the_teacher_is_told_which_variants_rounding_changes(key: AnswerKey) -> None:
    from gradlab.grading.followthrough import rounding_changes
    from gradlab.worksheet.build import rounding_notes

    hit = [vid for vid, v in key.variants.items() if rounding_changes(v, key.grading)]
    (note,) = rounding_notes(key)
    assert f"in {len(hit)} of {len(key.variants)} variants" in note and "follow-through" in note
    (strict,) = rounding_notes(_with_mode(key, "strict"))
    assert "lose those marks" in strict
    clean = _with_mode(key, "strict")
    clean.variants = {vid: v for vid, v in clean.variants.items() if vid not in hit}
    assert rounding_notes(clean) == []
