"""A time budget per student and per class: answers past it are not graded, with a note that says so (issue 13,
item 13)."""

from __future__ import annotations

import time

import pytest

from gradlab.cli import main
from gradlab.grading import grade
from gradlab.grading import worker as worker_module
from gradlab.grading.worker import Task
from gradlab.model.answerkey import AnswerKey
from gradlab.worksheet import build_worksheet, spec_from_program

ORIGINAL = worker_module.grade_task
RIGHT = {"w0": "x0*s*(1-s)", "x0": "w0*s*(1-s)", "w1": "x1*s*(1-s)", "x1": "w1*s*(1-s)", "w2": "s*(1-s)"}


def _slow(task: Task):
    if task.text.startswith("SLOW"):
        time.sleep(0.4)
    return ORIGINAL(task)


@pytest.fixture(scope="module")
def key() -> AnswerKey:
    return build_worksheet(spec_from_program("z = w0*x0 + w1*x1 + w2; s = sigmoid(z)"), variants=1,
                           pictures=False).key()


def formula_items(key: AnswerKey) -> dict[str, str]:
    """item id -> the input its partial is taken with respect to."""
    return {i: it.label.rsplit("∂", 1)[1] for i, it in key.items.items() if it.kind == "formula"}


def rows_for(key: AnswerKey, answers: dict[str, list[str]]) -> tuple[list[str], list[list[str]]]:
    items = formula_items(key)
    return ["id", "variant", *items], [[sid, "1", *texts] for sid, texts in answers.items()]


def test_a_student_past_the_time_per_student_is_not_graded_further(key, monkeypatch):
    monkeypatch.setattr(worker_module, "grade_task", _slow)  # workers fork with this in place
    items = formula_items(key)
    slow = [f"SLOW{n}" for n in range(len(items))]
    right = [RIGHT[w] for w in items.values()]
    started = time.perf_counter()
    report = grade(rows_for(key, {"slow": slow, "ok": right}), key, workers=1, student_seconds=1, timeout=5)
    assert time.perf_counter() - started < 1 + 2 * 0.4 + 5
    by_id = {s.id: s for s in report.students}
    not_graded = [a for a in by_id["slow"].answers if "grading time for this student (1 s)" in a.verdict.feedback]
    assert 1 <= len(not_graded) <= len(items) - 2 and all(a.verdict.status == "rejected" for a in not_graded)
    assert all(a.verdict.status == "correct" for a in by_id["ok"].answers if a.item in items), by_id["ok"].answers
    note = next(w for w in report.warnings if "per student" in w)
    assert note.startswith(f"{len(not_graded)} answer") and "1 student used up" in note and "rows 2)" in note


def test_the_class_past_its_time_is_not_graded_further(key, monkeypatch):
    monkeypatch.setattr(worker_module, "grade_task", _slow)
    items = formula_items(key)
    first = next(iter(items))
    answers = {f"s{n}": [f"SLOW{n}" if i == first else RIGHT[w] for i, w in items.items()] for n in range(8)}
    report = grade(rows_for(key, answers), key, workers=1, class_seconds=1, student_seconds=60, timeout=5)
    feedback = [a.verdict.feedback for s in report.students for a in s.answers]
    skipped = [f for f in feedback if "grading time for the class (1 s)" in f]
    assert skipped and len(skipped) < 8
    assert any("for the class" in w and f"{len(skipped)} answer" in w for w in report.warnings)


def test_budgets_come_from_the_key_and_can_be_given_on_the_command_line(tmp_path, capsys, key):
    assert key.grading.student_seconds > 0 and key.grading.class_seconds >= key.grading.student_seconds
    (tmp_path / "key.json").write_text(key.to_json(), encoding="utf-8")
    (tmp_path / "r.csv").write_text("id,variant,1.1\na,1,0\n", encoding="utf-8")
    for opt in ("--student-seconds", "--class-seconds"):
        for bad in ("0", "nan", "1e9"):
            assert main(["grade", str(tmp_path / "r.csv"), "--key", str(tmp_path / "key.json"), "-o",
                         str(tmp_path / "out"), opt, bad]) == 2
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and opt in err, err
