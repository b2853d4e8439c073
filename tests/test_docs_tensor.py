"""The console examples of the tensor, verify and exercise pages are real: each command, run again, prints
what the page shows, up to rounding noise (tests/printout.py: error estimates such as 1.2e-15 and the last
printed digit differ by machine)."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from gradlab.cli import main

from printout import same_printout

ROOT = Path(__file__).parent.parent
PAGES = ["docs/tensors.md", "docs/verify.md", "docs/exercises/sheet2-task6.md", "docs/exercises/sheet1-task2.md",
         "docs/exercises/sheet1-task1.md"]


def examples() -> list[tuple[str, str, str]]:
    found = []
    for page in PAGES:
        for block in re.findall(r"```console\n(.*?)```", (ROOT / page).read_text(), re.S):
            for part in re.split(r"^(?=\$ )", block, flags=re.M):
                if part.startswith("$ gradlab "):
                    cmd, _, out = part.partition("\n")
                    found.append((page, cmd[2:], out))
    return found


@pytest.mark.parametrize("page, command, shown", examples(), ids=lambda x: x if len(x) < 60 else x[:57] + "...")
def test_console_examples_print_what_the_page_shows(page, command, shown, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        main(shlex.split(command)[1:])
    difference = same_printout(shown, out.getvalue())
    assert difference is None, f"{page}: {command}: {difference}\n{out.getvalue()}"


def test_there_are_examples_on_every_page():
    assert {p for p, _, _ in examples()} == set(PAGES) and len(examples()) >= 25
