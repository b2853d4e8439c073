"""Text from users reaches people as text: student ids with terminal escapes are escaped in warnings and report.md,
markup is escaped in report.md and in the worksheet's Markdown, the CSV formula guard sees through leading spaces
(issue 13, item 12)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from gradlab.cli import main
from gradlab.errors import GradlabError, Location
from gradlab.grading.grade import safe_cell
from gradlab.model.answerkey import Answer, AnswerKey, Item, Question, Variant
from gradlab.safetext import markdown_text, shown
from gradlab.worksheet import build_worksheet
from gradlab.worksheet.markdown import index, sheet
from gradlab.worksheet.spec import parse_spec

ESC = "\x1b[2J\x1b[31m"
HOSTILE_IDS = [f"anna{ESC}", "bob\nWARNING: all grades deleted", "<script>alert(1)</script>", "eve\u202egnp.exe",
               "[click](javascript:alert(1))"]


def key_file(tmp_path: Path) -> Path:
    key = AnswerKey(title="t", questions=[Question("1", "numeric", "q", ["1.1"])],
                    items={"1.1": Item("1.1", "1", "number", 1.0, "x")},
                    variants={"1": Variant("1", {"x": 1.0}, {"1.1": Answer(value=0.5)})})
    p = tmp_path / "key.json"
    p.write_text(key.to_json(), encoding="utf-8")
    return p


def graded(tmp_path: Path, capsys, rows: list[list[str]]) -> tuple[str, Path]:
    responses = tmp_path / "r.csv"
    with open(responses, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["id", "variant", "1.1", f"extra{ESC}"], *rows])
    assert main(["grade", str(responses), "--key", str(key_file(tmp_path)), "-o", str(tmp_path / "out")]) == 0
    return capsys.readouterr().err, tmp_path / "out"


def test_hostile_student_ids_are_escaped_in_warnings_and_report(tmp_path, capsys):
    rows = [[sid, "1", "0.5"] for sid in HOSTILE_IDS] * 2 + [[f"x{ESC}", f"9{ESC}", "1"]]  # twice: a warning
    err, out = graded(tmp_path, capsys, rows)
    warnings = err.splitlines()
    assert len(warnings) == 2 and all(w.startswith("gradlab grade: warning: ") for w in warnings), err
    assert "\x1b" not in err and "\u202e" not in err
    assert "\\x1b[2J" in err and "bob\\nWARNING" in err and "\\u202e" in err
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "\x1b" not in md and "\u202e" not in md and "<script>" not in md
    assert not re.search(r"(?<!\\)\]\(javascript", md)  # a link only where the bracket is escaped
    assert "\\<script\\>" in md and "\\[click\\]" in md
    assert not any(line.startswith("WARNING") for line in md.splitlines())  # no line of the attacker's
    assert "row 12, x\\\\x1b\\[2J" in md  # the row not graded (unknown variant), its id escaped


def test_an_id_is_kept_as_written_in_the_data_files(tmp_path, capsys):
    _, out = graded(tmp_path, capsys, [[sid, "1", "0.5"] for sid in HOSTILE_IDS])
    with open(out / "scores.csv", encoding="utf-8", newline="") as f:
        ids = [r[0] for r in csv.reader(f)][1:]
    assert ids == HOSTILE_IDS  # data for programs: the text itself (CSV quotes it)


@pytest.mark.parametrize("cell", [" =1+1", "  =HYPERLINK(\"http://x\")", "\t+1+1", " @SUM(A1)", "\u00a0-2+3"])
def test_the_formula_guard_sees_through_leading_spaces(tmp_path, capsys, cell):
    assert safe_cell(cell) == "'" + cell
    _, out = graded(tmp_path, capsys, [["a", "1", cell]])
    with open(out / "answers.csv", encoding="utf-8", newline="") as f:
        answers = [r[4] for r in csv.reader(f)][1:]
    assert answers == ["'" + cell]


@pytest.mark.parametrize("cell", ["-0.5", " -0.5", "+3", "w0*s"])
def test_plain_numbers_and_formulas_keep_their_text(cell):
    assert safe_cell(cell) == cell


def test_the_worksheet_markdown_shows_the_spec_text_as_written():
    spec = parse_spec({
        "title": "Quiz <script>alert(1)</script>",
        "instructions": "# Not a heading\n\nRound [here](javascript:alert(1)) *twice* " + ESC,
        "part": [{"program": "f = w*x", "title": "<img src=x onerror=alert(1)>",
                  "description": "- not a list\n1. nor this | a | table <b>bold</b> $x$"}],
    })
    ws = build_worksheet(spec, variants=1, seed=1, pictures=False)
    text = sheet(ws, ws.variants[0], key=False) + sheet(ws, ws.variants[0], key=True) + index(ws, pdf=False)
    for raw in ("<script>", "<img", "<b>", "\x1b", "\n# Not", "\n- not", "*twice*", "$x$"):
        assert not re.search(r"(?<!\\)" + re.escape(raw), text), raw  # only with its markup escaped
    assert not re.search(r"(?<!\\)\]\(javascript", text)
    assert "# Quiz \\<script\\>" in text and "\\# Not a heading" in text and "\\- not a list" in text
    assert "\\x1b\\[2J" in text  # the escape, written out


def test_shown_leaves_ordinary_text_and_escapes_every_control_character():
    assert shown("∂a/∂x0 = σ(z)·(1 − σ(z)), café") == "∂a/∂x0 = σ(z)·(1 − σ(z)), café"
    for code in [*range(0x20), *range(0x7F, 0xA0), 0x202E, 0x2066, 0x200B, 0xFEFF]:
        out = shown(f"a{chr(code)}b")
        assert out.isprintable() and out.startswith("a\\") and out.endswith("b"), (code, out)
    assert markdown_text("a_b * c") == "a\\_b \\* c"


def test_an_error_message_is_one_line_whatever_the_input():
    e = GradlabError(f"unknown name 'x\n{ESC}'", Location(file="dir\nevil.toml", line=3))
    assert str(e) == "dir\\nevil.toml, line 3: unknown name 'x\\n\\x1b[2J\\x1b[31m'"
