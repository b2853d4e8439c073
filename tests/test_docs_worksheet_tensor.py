"""The task 6 section of docs/worksheets.md is real: its commands, run again, print and write what
the page shows (only the seconds may differ)."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from gradlab.cli import main
from gradlab.worksheet import find_chromium

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "worksheets.md"

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="the documented command writes PDFs (Chromium)")


def section() -> str:
    text = PAGE.read_text(encoding="utf-8")
    return text.split("## Vectors and matrices: sheet 2, task 6", 1)[1].split("\n## ", 1)[0]


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", section(), re.S)


def seconds(text: str) -> str:
    return re.sub(r"in \d+\.\d s", "in <t> s", text).strip()


def test_the_task6_commands_print_and_write_what_the_page_shows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").symlink_to(ROOT / "docs")
    (tmp_path / "graphs").symlink_to(ROOT / "graphs")
    commands = [part for block in blocks("console") for part in re.split(r"^(?=\$ )", block, flags=re.M)
                if part.startswith("$ gradlab ")]
    assert [c.split()[2] for c in commands] == ["worksheet", "grade"]
    for part in commands:
        cmd, _, shown = part.partition("\n")
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            assert main(shlex.split(cmd)[2:]) == 0
        assert seconds(out.getvalue()) == seconds(shown), cmd
    texts = blocks("text")
    key = (tmp_path / "sheets-task6" / "markdown" / "key-01.md").read_text(encoding="utf-8")
    assert all(line in key for line in texts[0].strip().splitlines())
    assert (tmp_path / "report-task6" / "scores.csv").read_text(encoding="utf-8").strip() == texts[2].strip()
    answers = (tmp_path / "report-task6" / "answers.csv").read_text(encoding="utf-8").splitlines()
    assert all(line in answers for line in texts[3].strip().splitlines())
    responses = (ROOT / "docs" / "examples" / "responses-task6.csv").read_text(encoding="utf-8").splitlines()
    for shown, real in zip(texts[1].strip().splitlines(), responses):
        head, _, tail = shown.partition(",...,")
        assert real.startswith(head) and real.endswith(tail)
