"""Small defects of issue 13, item 13: alias targets checked when the sheet is made, deep dense networks refused,
a byte-order mark accepted, one-line messages for odd keys, a folder given as a program, and the place of a
name assigned twice on one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradlab.check.graphfile import load_graph_file
from gradlab.cli import main
from gradlab.errors import ParseError
from gradlab.lang.parse import parse_program
from gradlab.worksheet import build_worksheet, load_spec


def one_line_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err, captured.err
    return captured.err


def spec_with_alias(tmp_path: Path, target: str) -> Path:
    p = tmp_path / "spec.toml"
    p.write_text(f'title = "t"\n[[part]]\nprogram = "z = w0*x0 + w2; a = sigmoid(z)"\naliases = {{ s = {target} }}\n',
                 encoding="utf-8")
    return p


@pytest.mark.parametrize("target,words", [('"q + 1"', "unknown name 'q'"), ('"t1"', "unknown name 't1'"),
                                          ('"sigmoid(("', "syntax error"), ("3", "must name a node"),
                                          ('""', "must name a node")])
def test_a_bad_alias_target_is_refused_when_the_sheet_is_made(tmp_path, capsys, target, words):
    err = one_line_error(capsys, ["worksheet", str(spec_with_alias(tmp_path, target)), "-o", str(tmp_path / "out"),
                                  "--no-pdf"])
    assert "line 4" in err and "alias 's'" in err and words in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("target", ['"a"', '"z"', '"sigmoid(z)"', '"w0*x0 + w2"'])
def test_an_alias_for_a_node_or_a_formula_in_its_names_is_used(tmp_path, target):
    spec = load_spec(spec_with_alias(tmp_path, target))
    key = build_worksheet(spec, variants=1, pictures=False).key()
    formula = next(a for a in key.variants["1"].answers.values() if a.formula is not None)
    assert formula.aliases["s"] == target.strip('"')


def test_thousands_of_dense_layers_are_refused_in_one_line(capsys):
    err = one_line_error(capsys, ["shapes", "dense", "-".join(["4"] * 8001)])
    assert "8,000 layers" in err and "at most 100" in err
    assert main(["shapes", "dense", "-".join(["4"] * 101)]) == 0  # 100 layers: the limit itself
    capsys.readouterr()


def test_a_graph_file_with_a_byte_order_mark_is_read(tmp_path, capsys):
    p = tmp_path / "bom.toml"
    p.write_bytes(b"\xef\xbb\xbfprogram = \"f = x*y\"\n[at]\nx = 2\ny = 3\n")
    gf = load_graph_file(p)
    assert gf.at == {"x": 2.0, "y": 3.0}
    assert main(["grad", str(p)]) == 0
    assert "output f = 6" in capsys.readouterr().out
    spec = tmp_path / "spec.toml"
    spec.write_bytes(b"\xef\xbb\xbftitle = \"t\"\n[[part]]\nprogram = \"f = x*y\"\n")
    assert load_spec(spec).title == "t"


def test_a_key_with_a_newline_gives_a_one_line_message(tmp_path, capsys):
    p = tmp_path / "nl.toml"
    p.write_text('program = "f = x*y"\n[at]\n"x\\n" = 1\ny = 2\n', encoding="utf-8")
    err = one_line_error(capsys, ["grad", str(p)])
    assert "'x\\n'" in err and "not an input" in err


def test_a_folder_given_as_a_program_is_called_a_folder(tmp_path, capsys):
    err = one_line_error(capsys, ["grad", str(tmp_path)])
    assert f"{tmp_path} is a folder" in err and "syntax" not in err


@pytest.mark.parametrize("program,words", [
    ("z = w*x; z = z + 1", "statements 1 and 2, both on line 1"),
    ("z = w*x\nq = z\nz = z + 1", "lines 1 and 3"),
    ("a = x; b = a; a = b", "statements 1 and 3, both on line 1"),
])
def test_a_name_assigned_twice_is_placed_right(program, words):
    with pytest.raises(ParseError, match="assigned twice") as e:
        parse_program(program)
    assert words in str(e.value)
