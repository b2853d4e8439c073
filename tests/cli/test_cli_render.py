"""End-to-end: ``gradlab render`` writes pictures, worksheets with their key, backward steps and
whole folders; bad input and a missing Graphviz give one line and exit 2, and leave no file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gradlab.cli import main

ROOT = Path(__file__).resolve().parents[2]
NEURON = str(ROOT / "graphs" / "neuron.toml")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gradlab", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, env=env)


def test_render_a_graph_file_to_svg(tmp_path, capsys):
    out = tmp_path / "neuron.svg"
    assert main(["render", NEURON, "-o", str(out)]) == 0
    assert f"wrote {out} (solution)" in capsys.readouterr().out
    svg = out.read_text(encoding="utf-8")
    assert "<svg" in svg and "0.73" in svg and "&#45;0.53" in svg


def test_render_a_worksheet_prints_its_answer_key_and_json(tmp_path, capsys):
    out = tmp_path / "sheet.png"
    assert main(["render", NEURON, "--blanks", "--numbered", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "(exercise: 13 numbered blanks)" in text and "solution" not in text.split("answer key:")[0] and "answer key:" in text
    assert "(2)    gradient  t6->a      -0.53" in text
    assert main(["render", NEURON, "--blanks", "x0,value:z", "--numbered", "--json", "-o", str(out)]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["file"] == str(out) and out.read_bytes()[:4] == b"\x89PNG"
    assert [(b["marker"], b["kind"], b["node"], b["text"]) for b in d["blanks"]] == [
        ("(1)", "value", "z", "1.00"), ("(2)", "gradient", "x0", "0.39")]


def test_without_o_the_dot_source_is_printed(capsys):
    assert main(["render", "f = (x+y)*z", "--at", "x=-2,y=5,z=-4", "--highlight", "x", "--theme", "dark"]) == 0
    dot = capsys.readouterr().out
    assert dot.startswith("digraph") and "-12.00" in dot and "∂f/∂x" in dot and "#111418" in dot


def test_steps_write_frames_and_the_page(tmp_path, capsys):
    assert main(["render", NEURON, "--steps", str(tmp_path / "steps"), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert len(d["frames"]) == 9 and d["html"].endswith("index.html")
    assert all(Path(p).is_file() for p in d["frames"])


def test_a_folder_of_graph_files_gives_solutions_worksheets_and_keys(tmp_path, capsys):
    src = tmp_path / "graphs"
    src.mkdir()
    for name in ("neuron.toml", "add_mul.toml"):
        (src / name).write_text((ROOT / "graphs" / name).read_text())
    (src / "bare.toml").write_text('program = "f = x*y"\n')  # no point: structure only, no worksheet
    out = tmp_path / "out"
    assert main(["render", str(src), "-o", str(out), "--formats", "svg,pdf"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["add_mul.blank.pdf", "add_mul.blank.svg", "add_mul.key.json", "add_mul.pdf", "add_mul.svg",
                     "bare.pdf", "bare.svg", "index.html", "neuron.blank.pdf", "neuron.blank.svg",
                     "neuron.key.json", "neuron.pdf", "neuron.svg"]
    key = json.loads((out / "neuron.key.json").read_text())
    assert len(key["blanks"]) == 13 and key["blanks"][0]["marker"] == "(1)"
    assert 'src="neuron.svg"' in (out / "index.html").read_text()
    assert "wrote 10 pictures of 3 graphs" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["render", NEURON, "--highlight", "q"], "no node 'q'"),
    (["render", NEURON, "--blanks", "nope:x0"], "value, grad"),
    (["render", NEURON, "-o", "x.jpeg"], "use one of .svg"),
    (["render", NEURON, "--steps", "s", "-o", "x.svg"], "not both"),
    (["render", "graphs", "--formats", "svg"], "needs an output folder"),
    (["render", "f = x*y", "--mode", "solution"], "give the input values"),
    (["render", "f = x*y", "--steps", "s"], "needs the input values"),
    (["render", NEURON, "--precision", "40"], "--precision"),
])
def test_bad_render_input_exit_2_one_line(args, message, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not Path("s").exists() and not Path("x.svg").exists()


def test_bad_input_through_the_real_command_has_no_traceback():
    p = run("render", NEURON, "--highlight", "q")
    assert p.returncode == 2 and "Traceback" not in p.stderr and "no node 'q'" in p.stderr


def test_missing_graphviz_is_one_line_with_the_fix_and_no_file(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "GRADLAB_DOT"}
    env["PATH"] = str(tmp_path / "nothing-here")
    out = tmp_path / "neuron.png"
    p = run("render", NEURON, "-o", str(out), env=env)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "Graphviz program 'dot' is not installed" in p.stderr and "apt-get install graphviz" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
    p = run("render", NEURON, "-o", str(tmp_path / "neuron.dot"), env=env)  # DOT needs no Graphviz
    assert p.returncode == 0 and (tmp_path / "neuron.dot").read_text().startswith("digraph")


def test_every_picture_in_the_rendering_docs_comes_from_a_command_on_the_page(tmp_path, monkeypatch, capsys):
    import shlex

    page = (ROOT / "docs" / "rendering.md").read_text(encoding="utf-8")
    images = set(re.findall(r"!\[[^\]]*\]\((images/[^)]+)\)", page))
    commands = [shlex.split(line.strip()[2:]) for line in page.splitlines() if line.strip().startswith("$ gradlab render ")]
    made: dict[str, list[str]] = {}
    for argv in commands:
        for flag in ("-o", "--steps"):
            if flag in argv:
                made[argv[argv.index(flag) + 1].removeprefix("docs/")] = argv
    missing = [i for i in images if i not in made and str(Path(i).parent) not in made]
    assert images and not missing, f"pictures without a command: {missing}"
    for image in images:
        assert (ROOT / "docs" / image).is_file(), image
    monkeypatch.chdir(ROOT)
    for argv in made.values():  # each command runs as written (into a temporary folder)
        for flag in ("-o", "--steps"):
            if flag in argv:
                i = argv.index(flag) + 1
                argv = argv[:i] + [str(tmp_path / Path(argv[i]).name)] + argv[i + 1:]
        assert main(argv[1:]) == 0, argv
    capsys.readouterr()
