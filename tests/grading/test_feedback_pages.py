"""Feedback to hand back (issue 15, item 3): a page per student with their variant's picture marked, a class
overview with plots, offline; PDFs of them where Chromium is installed."""

from __future__ import annotations

import re

import pytest

from gradlab.cli import main
from gradlab.grading import grade
from gradlab.grading.feedback import blank_number, file_names, marked_picture, write_feedback
from gradlab.grading.plots import histogram
from gradlab.grading.simulate import responses_csv, simulate_responses
from gradlab.model.answerkey import AnswerKey
from gradlab.worksheet import find_chromium, make_worksheet, spec_from_program
from gradlab.worksheet.pictures import renderer

PROGRAM = "z = w0*x0 + w1*x1 + w2; s = sigmoid(z)"
HOSTILE_ID = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("feedback")
    sheets = folder / "sheets"
    make_worksheet(spec_from_program(PROGRAM), sheets, variants=3, seed=7, formats=("markdown",))
    key = AnswerKey.load(sheets / "key.json")
    header, rows = simulate_responses(key, 5, seed=3, hostile=0.0)
    rows[0][0] = HOSTILE_ID
    first_blank = header.index(next(i for i in key.items if blank_number(key.items[i].label) is not None))
    rows[1][first_blank] = "12345"  # one blank surely wrong
    rows.append(["lost", "99"] + [""] * (len(header) - 2))  # an unknown variant: a row not graded
    (folder / "responses.csv").write_text(responses_csv(header, rows), encoding="utf-8")
    report = grade(folder / "responses.csv", key, workers=1)
    return folder, sheets, key, report


def test_each_student_gets_a_page_with_their_answers_the_expected_ones_and_the_points(graded):
    folder, sheets, key, report = graded
    files = write_feedback(report, key, folder / "out", sheets=sheets, pdf=False)
    assert [p.name for p in files.students] == [f"{n}.html" for n in file_names(report.students)]
    for s, path in zip(report.students, files.students):
        text = path.read_text(encoding="utf-8")
        assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in text
        assert "<script" not in text and "<link" not in text  # offline and inert
        if s.error:
            assert "Not graded" in text
            continue
        assert f"{s.score:g} of {report.total_points:g} points" in text
        for a in s.answers:
            assert f"{a.points:g} / {a.max_points:g}" in text
            expected = key.variants[s.variant].answers[a.item]
            if expected.kind == "number":
                assert f"<code>{expected.text}</code>" in text
    ada = files.students[0].read_text(encoding="utf-8")
    assert HOSTILE_ID not in ada and "&lt;script&gt;" in ada


def test_the_picture_marks_every_blank_by_the_students_verdict(graded):
    folder, sheets, key, report = graded
    if renderer() is None:
        pytest.skip("needs gradlab's renderer for the pictures")
    import base64

    files = write_feedback(report, key, folder / "marks", sheets=sheets, pdf=False)
    s = report.students[1]
    text = files.students[1].read_text(encoding="utf-8")
    svg = base64.b64decode(re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', text).group(1)).decode()
    marks = dict(re.findall(r">\((\d+)\) ([✓◐✗!–])</text>", svg))
    want = {str(blank_number(key.items[a.item].label)): a.verdict.status for a in s.answers
            if blank_number(key.items[a.item].label) is not None}
    symbol = {"correct": "✓", "partial": "◐", "wrong": "✗", "rejected": "!", "blank": "–"}
    assert marks == {n: symbol[st] for n, st in want.items()} and "✗" in marks.values()


def test_marking_keeps_unmarked_blanks_and_other_text():
    svg = ('<text x="1" fill="#c62828" font-weight="bold">(7)</text><text fill="#2e7d32">(8)</text>'
           '<text fill="#111">w0</text>')
    out = marked_picture(svg, {8: "correct"})
    assert out.startswith('<text x="1" fill="#c62828" font-weight="bold">(7)</text>')
    assert '<text fill="#2e7d32" font-weight="bold">(8) ✓</text>' in out and out.endswith('<text fill="#111">w0</text>')


def test_the_overview_has_the_histogram_difficulty_and_mistakes(graded):
    folder, sheets, key, report = graded
    files = write_feedback(report, key, folder / "overview", sheets=sheets, pdf=False)
    text = files.overview.read_text(encoding="utf-8")
    assert text.count("<svg") >= 2 and "Difficulty per blank" in text
    hist = text[text.index("<svg"): text.index("</svg>")]
    graded_rows = [s for s in report.students if not s.error]
    assert sum(int(c) for c in re.findall(r"<title>(\d+)</title>", hist)) == len(graded_rows)
    for n, name in enumerate(file_names(report.students)):
        assert f'href="feedback/{name}.html"' in text
    for i in report.items:
        assert f"{i.item} " in text
    assert "&lt;script&gt;" in text and HOSTILE_ID not in text


def test_the_histogram_counts_every_score_once_and_the_top_one_in_the_last_bar():
    svg = histogram([0, 0.1, 5, 9.99, 10], 0, 10, bins=5)
    counts = [int(c) for c in re.findall(r"<title>(\d+)</title>", svg)]
    assert counts == [2, 0, 1, 0, 2]


def test_file_names_are_safe_and_distinct():
    from gradlab.grading.grade import StudentResult

    names = file_names([StudentResult(i, "1") for i in ("../etc/passwd", "a b", "a_b", "", "x" * 300)])
    assert len(set(names)) == 5 and all(re.fullmatch(r"[A-Za-z0-9._-]+", n) and ".." not in n for n in names)


@pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed (scripts/install.sh)")
def test_the_command_writes_feedback_pages_and_pdfs(graded, capsys):
    pytest.importorskip("pypdf")
    from pypdf import PdfReader

    folder, sheets, key, report = graded
    out = folder / "cli"
    assert main(["grade", str(folder / "responses.csv"), "--key", str(sheets / "key.json"), "-o", str(out),
                 "--workers", "1"]) == 0
    said = capsys.readouterr().out
    assert "overview.html" in said and "feedback.pdf" in said and "feedback/" in said
    names = file_names(report.students)
    assert all((out / "feedback" / f"{n}.html").is_file() and (out / "feedback" / f"{n}.pdf").is_file() for n in names)
    whole = PdfReader(out / "feedback.pdf")
    per = [len(PdfReader(out / "feedback" / f"{n}.pdf").pages) for n in names]
    starts, page = [], 0
    for n in per:  # each student starts on an odd page: blank pages after an odd count
        starts.append(page)
        page += n + (n % 2)
    assert all(s % 2 == 0 for s in starts)  # 0-based: pages 1, 3, 5, ...
    for k, s in enumerate(starts):
        assert f"Student {k + 1} of {len(names)}" in whole.pages[s].extract_text()
    assert "page 1 of" in whole.pages[0].extract_text()
    assert PdfReader(out / "overview.pdf").pages[0].extract_text().count("class overview") == 1
