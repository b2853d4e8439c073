"""Graph files: the shipped ones load, and malformed files are refused with file and line.

That every file in graphs/ passes (its methods agree, each expected number matches) is checked by
gradlab's pytest plugin: pyproject.toml's ``gradlab_graphs = ["graphs"]`` makes each graph file
and each expected number a test item (graphs/neuron.toml::grad[w0]).
"""

from pathlib import Path

import pytest

from gradlab import GradlabError, GraphFileError, check_graph_file, load_graph_file
from gradlab.check.graphfile import written_tolerance

GRAPHS = sorted((Path(__file__).resolve().parents[2] / "graphs").glob("*.toml"))


def test_the_shipped_graphs_are_there():
    names = {p.stem for p in GRAPHS}
    assert {"neuron", "add_mul", "tanh_neuron", "relu_kink", "mlp_2_2_1"} <= names


def test_neuron_file_has_the_textbook_gates_and_numbers():
    gf = load_graph_file(Path(__file__).resolve().parents[2] / "graphs" / "neuron.toml")
    assert gf.graph.gates() == ["*", "*", "+", "+", "*-1", "exp", "+1", "1/x"]
    assert gf.expected_grads["x1"] == -0.5898
    assert gf.expected_tol["grads.x1"] == pytest.approx(5e-5)


def test_written_tolerance_is_half_a_unit_in_the_last_digit():
    assert written_tolerance("0.73") == pytest.approx(0.005)
    assert written_tolerance("-0.1966") == pytest.approx(0.00005)
    assert written_tolerance("1.5e-3") == pytest.approx(0.00005)
    assert written_tolerance("6") == pytest.approx(1e-9)


def test_a_wrong_expected_number_fails_the_check(tmp_path):
    text = (Path(__file__).resolve().parents[2] / "graphs" / "add_mul.toml").read_text().replace("z = 3\n", "z = 4\n")
    p = tmp_path / "wrong.toml"
    p.write_text(text)
    r = check_graph_file(p)
    assert not r.ok and r.report.ok
    bad = [e for e in r.expected if not e.ok]
    assert [(e.name, e.expected, e.actual) for e in bad] == [("z", 4.0, 3.0)]


GOOD = 'program = "f = x*y"\n[at]\nx = 1\ny = 2\n'
MALFORMED = [
    ('program = "f = x*y\n', "not valid TOML", 1),
    ('title = "t"\n', "missing 'program", None),
    ('programm = "f = x"\n', "unknown key 'programm'", 1),
    ('program = """\nz = x + y\na = foo(z)\n"""\n', "unknown function 'foo'", 3),
    ('program = "f = x*y"\n[at]\nx = 1\n', "no value for input 'y'", 2),
    ('program = "f = x*y"\n[at]\nx = 1\ny = 2\nq = 3\n', "'q', which is not an input", 5),
    ('program = "f = x*y"\n[at]\nx = "one"\ny = 2\n', "must be a number", 3),
    ('program = "f = x*y"\n[at]\nx = nan\ny = 2\n', "finite number", 3),
    (GOOD + '[expected.values]\nq = 1\n', "'q', which is not a node", 6),
    (GOOD + '[expected.grad]\nx = 1\n', "unknown table [expected.grad]", 5),
    (GOOD + '[tolerance]\nexpectd = 0.1\n', "unknown tolerance 'expectd'", 6),
    ('program = "f = log(x)"\n[at]\nx = -2\n', "log of a non-positive number", 1),
    ('program = "f = 1/x"\n[at]\nx = 0\n', "division by zero", 1),
    ('title = "t"\nprogram = """\nz = x*y\nf = log(z)\n"""\n[at]\nx = -2\ny = 1\n', "log of a non-positive", 4),
    ('program = 42\n', "'program' must be a string", 1),
]


@pytest.mark.parametrize("text, message, line", MALFORMED)
def test_malformed_graph_files_name_file_and_line(tmp_path, text, message, line):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(GradlabError) as info:
        check_graph_file(p)
    assert message in str(info.value)
    assert str(p) in str(info.value)
    if line is not None:
        assert info.value.where.line == line


@pytest.mark.parametrize("text, col", [
    ('program = "f = x*y +"\n', 21),            # the end of the program, in the file's line
    ('program = """f = log(x)"""\n[at]\nx = -1\n', 18),  # the log gate, after the triple quote
])
def test_a_one_line_program_s_columns_are_the_file_s(tmp_path, text, col):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(GradlabError) as info:
        check_graph_file(p)
    assert (info.value.where.line, info.value.where.col) == (1, col)


def test_missing_file_and_folder():
    with pytest.raises(GraphFileError, match="no such file"):
        load_graph_file("does/not/exist.toml")
    with pytest.raises(GraphFileError, match="is a folder"):
        load_graph_file(Path(__file__).parent)
