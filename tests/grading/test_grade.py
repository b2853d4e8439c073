"""Grading: equivalent forms right, wrong forms named, numbers by tolerance, the class report, the workers."""

from __future__ import annotations

import csv
import io
import os
import time
from pathlib import Path

import pytest

from gradlab.cli import main
from gradlab.grading import GradingPool, Task, grade, grade_formula, grade_number, number_matches, read_number
from gradlab.grading import worker as worker_module
from gradlab.grading.grade import safe_cell
from gradlab.grading.simulate import responses_csv, simulate_responses
from gradlab.model.answerkey import AnswerKey, Grading
from gradlab.worksheet import build_worksheet, make_worksheet, spec_from_program

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = "z = w0*x0 + w1*x1 + w2; s = sigmoid(z)"


@pytest.fixture(scope="module")
def key() -> AnswerKey:
    return build_worksheet(spec_from_program(PROGRAM), variants=3, seed=2024, pictures=False).key()


def answer(key: AnswerKey, wrt: str):
    item = next(i for i in key.items.values() if i.label == f"∂s/∂{wrt}")
    return key.variants["1"].answers[item.id]


@pytest.mark.parametrize("text", [
    "w0*s*(1-s)", "w0*(s - s^2)", "w0*exp(-z)/(1+exp(-z))^2",            # the three forms
    "w0 σ(z)(1 − σ(z))", "w0*sigmoid(z)*(1-sigmoid(z))", "w0*e^(-z)/(1+e^(-z))^2",
    "w0/(exp(z/2) + exp(-z/2))^2", "w0*s - w0*s**2", "s(1-s)w0", "w0*exp(z)/(1+exp(z))^2",
    "w0*exp(-(w0*x0 + w1*x1 + w2))/(1+exp(-(w0*x0 + w1*x1 + w2)))^2",
])
def test_equivalent_forms_are_graded_correct(key, text):
    v = grade_formula(text, answer(key, "x0"), key.grading)
    assert (v.status, v.fraction) == ("correct", 1.0), v.feedback


@pytest.mark.parametrize("text, mistake", [
    ("s*(1-s)", "chain"),            # d z / d x0 = w0 left out
    ("w0*s", "sigmoid"),              # σ where σ(1-σ) belongs
    ("-w0*s*(1-s)", "sign"),
    ("s", "forward"),                 # the forward value
    ("3*w0*s*(1-s)", "factor"),
])
def test_wrong_forms_are_graded_wrong_with_the_mistake_named(key, text, mistake):
    v = grade_formula(text, answer(key, "x0"), key.grading)
    assert v.status in ("wrong", "partial") and v.mistake == mistake
    assert v.fraction == key.grading.partial.get(mistake, 0.0)


def test_an_unnamed_wrong_answer_gets_a_counterexample(key):
    v = grade_formula("w0*s*(1+s)", answer(key, "x0"), key.grading)
    assert v.status == "wrong" and v.mistake is None
    assert "your formula gives" in v.feedback and "the gradient is" in v.feedback


def test_the_unsummed_fork_is_named():
    k = build_worksheet(spec_from_program("h = tanh(w*x); y = h*u + h*v"), variants=1, pictures=False).key()
    item = next(i for i in k.items.values() if i.label == "∂y/∂w")
    ans = k.variants["1"].answers[item.id]
    assert grade_formula("x*(1-h^2)*(u+v)", ans, k.grading).status == "correct"
    assert grade_formula("x*(1-h^2)*u", ans, k.grading).mistake == "fork"
    assert grade_formula("x*h*(u+v)", ans, k.grading).mistake == "tanh"


def test_unknown_names_and_broken_formulas_are_rejected_with_a_message(key):
    v = grade_formula("q*w0", answer(key, "x0"), key.grading)
    assert v.status == "rejected" and "unknown name 'q'" in v.feedback and "w0" in v.feedback
    v = grade_formula("w0*(s", answer(key, "x0"), key.grading)
    assert v.status == "rejected" and "syntax error" in v.feedback
    assert grade_formula("  ", answer(key, "x0"), key.grading).status == "blank"


# ----------------------------------------------------------------------------- numbers

@pytest.mark.parametrize("text, value", [("0.39", 0.39), ("−0,39", -0.39), ("3.9e-1", 0.39), ("1/2", 0.5),
                                         ("-1/4", -0.25), ("e^0", 1.0), ("  2 ", 2.0)])
def test_numbers_are_read_as_students_write_them(text, value):
    assert read_number(text) == pytest.approx(value)


def test_number_tolerances_and_significant_figures():
    assert number_matches(0.3935, 0.3932, rtol=0.01, atol=0.005)
    assert not number_matches(0.41, 0.3932, rtol=0.01, atol=0.005)
    assert number_matches(0.39, 0.3932, sigfigs=2) and not number_matches(0.38, 0.3932, sigfigs=2)
    assert number_matches(1230, 1234, sigfigs=3) and not number_matches(1220, 1234, sigfigs=3)


def test_number_answers_name_sign_rounding_and_forward_mistakes(key):
    ans = key.variants["1"].answers["2.7"]  # a gradient blank
    g = key.grading
    right = float(ans.value)
    assert grade_number(f"{right:.2f}", ans, g).status == "correct"
    assert grade_number(f"{-right:.2f}", ans, g).mistake == "sign"
    assert grade_number(f"{right + 0.012:.3f}", ans, g).mistake == "rounding"
    for m in ans.mistakes:
        assert grade_number(f"{m.value:.4f}", ans, g).mistake == m.id
    wrong = grade_number("123", ans, g)
    assert wrong.status == "wrong" and "the answer is" in wrong.feedback
    assert grade_number("abc", ans, g).status == "rejected"
    assert grade_number("1e999", ans, g).status == "rejected"


# ----------------------------------------------------------------------------- the class

def _csv(header, rows) -> tuple[list[str], list[list[str]]]:
    return header, rows


def test_a_class_is_graded_with_scores_feedback_and_statistics(key, tmp_path):
    header, rows = simulate_responses(key, 60, seed=4)
    rows.append(["s9999", "v99"] + [""] * (len(header) - 2))  # an unknown variant
    report = grade((header, rows), key, workers=2)
    assert len(report.students) == 61
    bad = report.students[-1]
    assert bad.error and "unknown variant" in bad.error and bad.score == 0
    graded = [s for s in report.students if not s.error]
    assert all(0 <= s.score <= key.total_points for s in graded)
    assert any(s.score == key.total_points for s in graded) or max(s.score for s in graded) > 0.6 * key.total_points
    assert report.distinct_graded < report.answers_graded  # identical answers graded once
    files = report.write(tmp_path, key)
    scores = list(csv.DictReader(io.StringIO((tmp_path / "scores.csv").read_text())))
    assert scores[0]["id"] == "s0001" and float(scores[0]["total"]) == graded[0].score
    assert [f"Q{q.id}" for q in key.questions] == [c for c in scores[0] if c.startswith("Q")]
    answers = list(csv.DictReader(io.StringIO((tmp_path / "answers.csv").read_text())))
    assert {"correct", "wrong"} <= {a["status"] for a in answers}
    assert any(a["mistake"] for a in answers) and all(a["feedback"] for a in answers)
    stats = list(csv.DictReader(io.StringIO((tmp_path / "statistics.csv").read_text())))
    assert {s["item"] for s in stats} == set(key.items)
    assert "| item |" in (tmp_path / "report.md").read_text()
    assert {f.name for f in files} == {"scores.csv", "answers.csv", "statistics.csv", "report.md", "report.json"}


def test_responses_files_in_the_forms_spreadsheets_write(key, tmp_path):
    item = next(i for i in key.items.values() if i.label == "∂s/∂x0")
    p = tmp_path / "r.csv"
    p.write_bytes(("\ufeffStudent ID;Variant;Q" + item.id + ";extra\nann;Variant 1;w0 s(1-s);x\n").encode("utf-8"))
    report = grade(p, key)
    s = report.students[0]
    assert s.variant == "1" and s.id == "ann"
    assert next(a for a in s.answers if a.item == item.id).verdict.status == "correct"
    assert any("column 'extra'" in w for w in report.warnings)
    assert any("graded as blank" in w for w in report.warnings)


def test_spreadsheet_formulas_in_answers_are_neutralised():
    assert safe_cell("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)" and safe_cell("-0.39") == "-0.39" and safe_cell("w0") == "w0"


# ----------------------------------------------------------------------------- workers

def _slow_or_greedy(task: Task):
    if task.text == "SLEEP":
        time.sleep(60)
    if task.text == "GREEDY":
        bytearray(4 * 1024**3)  # more than the memory limit
    if task.text == "CRASH":
        os._exit(3)
    return ORIGINAL(task)


ORIGINAL = worker_module.grade_task


def test_a_stalled_greedy_or_crashing_answer_is_rejected_and_the_rest_are_graded(key, monkeypatch):
    monkeypatch.setattr(worker_module, "grade_task", _slow_or_greedy)  # workers fork with this in place
    ans = answer(key, "x0")
    texts = ["w0*s*(1-s)", "SLEEP", "w0*(s-s^2)", "GREEDY", "CRASH", "s", "w0*s*(1-s) + 0"]
    started = time.perf_counter()
    with GradingPool(2, timeout=2.0, memory_mb=256) as pool:
        verdicts = pool.grade([Task("formula", t, ans, key.grading) for t in texts])
        assert pool.restarts >= 2
    assert time.perf_counter() - started < 15
    status = dict(zip(texts, verdicts))
    assert status["w0*s*(1-s)"].status == status["w0*(s-s^2)"].status == status["w0*s*(1-s) + 0"].status == "correct"
    assert status["s"].mistake == "forward"
    assert status["SLEEP"].status == "rejected" and "too long" in status["SLEEP"].feedback
    assert status["GREEDY"].status == "rejected" and "memory" in status["GREEDY"].feedback
    assert status["CRASH"].status == "rejected" and "worker stopped" in status["CRASH"].feedback


# ----------------------------------------------------------------------------- the commands

def test_worksheet_and_grade_commands_end_to_end(tmp_path, capsys):
    out = tmp_path / "sheets"
    code = main(["worksheet", str(ROOT / "graphs" / "neuron_sigmoid_gate.toml"), "--variants", "4", "--seed", "2024",
                 "-o", str(out), "--formats", "markdown,html,moodle"])
    assert code == 0
    text = capsys.readouterr().out
    assert "4 variants, seed 2024" in text and "question 3: symbolic" in text
    key = AnswerKey.load(out / "key.json")
    header, rows = simulate_responses(key, 25, seed=1)
    (tmp_path / "responses.csv").write_text(responses_csv(header, rows), encoding="utf-8")
    code = main(["grade", str(tmp_path / "responses.csv"), "--key", str(out / "key.json"), "-o", str(tmp_path / "r")])
    assert code == 0
    assert "25 students graded" in capsys.readouterr().out
    assert (tmp_path / "r" / "scores.csv").read_text().count("\n") == 26


@pytest.mark.parametrize("argv, message", [
    (["grade", "missing.csv", "--key", "missing.json", "-o", "r"], "no such answer key"),
    (["worksheet", "missing.toml", "-o", "x"], "no such spec or graph file"),
    (["worksheet", "graphs/neuron.toml", "-o", "x", "--formats", "docx"], "unknown format 'docx'"),
])
def test_bad_input_gives_one_line_and_exit_code_2(argv, message, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    argv = [a if a not in ("r", "x") else str(tmp_path / a) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_key_that_is_not_a_key_is_refused(tmp_path, capsys):
    (tmp_path / "key.json").write_text('{"hello": 1}')
    (tmp_path / "r.csv").write_text("id,variant\n")
    assert main(["grade", str(tmp_path / "r.csv"), "--key", str(tmp_path / "key.json"), "-o", str(tmp_path)]) == 2
    assert "not a gradlab answer key" in capsys.readouterr().err


def test_responses_without_id_column_are_refused(key, tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("who,variant,3.1\nann,1,x\n")
    with pytest.raises(Exception, match="'id' column"):
        grade(p, key)


def test_make_worksheet_writes_a_grading_ready_template(tmp_path):
    make_worksheet(spec_from_program(PROGRAM), tmp_path, variants=2, formats=("markdown",))
    header = (tmp_path / "responses-template.csv").read_text().strip().split(",")
    k = AnswerKey.load(tmp_path / "key.json")
    assert header == ["id", "variant", *k.items]
    assert Grading().partial == {"sign": 0.5}
