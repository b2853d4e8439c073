"""``gradlab practice``: one page from a graph, a folder of pages from a worksheet spec, errors in words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradlab.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_a_graph_file_gives_one_page_at_its_point(tmp_path, capsys):
    out = tmp_path / "neuron.html"
    assert main(["practice", str(ROOT / "graphs" / "neuron_sigmoid_gate.toml"), "-o", str(out), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["files"] == [str(out)] and len(d["blanks"]) == 15
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and 'id="practice-data"' in text and "At w0 = 2, x0 = -1," in text


def test_a_program_with_at_and_a_spec_into_a_folder(tmp_path, capsys):
    assert main(["practice", "f = (x+y)*z", "--at", "x=-2,y=5,z=-4", "-o", str(tmp_path / "f.html")]) == 0
    assert "wrote 1 file (7 blanks a page)" in capsys.readouterr().out
    folder = tmp_path / "pages"
    assert main(["practice", str(ROOT / "docs" / "examples" / "neuron_quiz.toml"), "--variants", "2", "--seed", "7",
                 "-o", str(folder)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["index.html", "practice-1.html", "practice-2.html"]
    assert 'href="practice-2.html"' in (folder / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("args, message", [
    (["f = x*y", "--at", "x=1"], "no value for the input 'y'"),
    (["L = sum(A @ x)", "--at", "A=[[1, 2]],x=[3, 4]"], "graphs of numbers"),
    ([str(ROOT / "graphs" / "two_layer_softmax.toml")], "graphs of numbers"),
    (["f = (x+y"], "')' is missing"),
    (["f = x*y", "--variants", "3"], "--variants is for a folder"),
])
def test_mistakes_are_one_line_and_exit_code_2(tmp_path, capsys, args, message):
    assert main(["practice", *args, "-o", str(tmp_path / "p.html")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and not (tmp_path / "p.html").exists()
