"""The pytest plugin, run by pytest itself (pytester): graph files as items, collection errors,
-k / -x / --lf / xdist, the ini option, the gradcheck fixture, and what a failure looks like."""

import re
import shlex
from pathlib import Path

import pytest
import torch  # noqa: F401  (imported once, here: pytester's in-process runs unload what they import, and torch

#                           cannot be imported twice in one process)
from gradlab import load_graph_file
from gradlab.ops import OPS

from printout import same_line

pytest_plugins = ["pytester"]

GRAPHS = Path(__file__).resolve().parents[2] / "graphs"


def _graphs(pytester: pytest.Pytester, *names: str) -> Path:
    folder = pytester.path / "graphs"
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / name).write_text((GRAPHS / name).read_text())
    return folder


def _wrong_neuron(pytester: pytest.Pytester) -> None:
    text = (GRAPHS / "neuron.toml").read_text()
    assert "x0 = 0.3932\n" in text
    (pytester.path / "graphs" / "wrong.toml").write_text(text.replace("x0 = 0.3932\n", "x0 = 0.3933\n"))


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """pytest in this process (its unraisable-exception plugin's gc passes cost a second a run here)."""
    return pytester.runpytest("-p", "no:unraisableexception", "-p", "no:hypothesispytest", "-p", "no:xdist", *args)


def _lines(*patterns: str) -> list[str]:
    """fnmatch patterns with literal brackets (grad[x0])."""
    return [p.replace("[", "[[]") for p in patterns]


def _ids(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if "::" in line]


def test_one_item_per_graph_file_and_per_expected_number(pytester):
    _graphs(pytester, "neuron.toml", "add_mul.toml", "relu_kink.toml")
    result = _run(pytester, "--gradlab-graphs", "graphs", "--collect-only", "-q")
    expected = []
    for name in ("add_mul.toml", "neuron.toml", "relu_kink.toml"):
        gf = load_graph_file(GRAPHS / name)
        expected.append(f"graphs/{name}::gradients")
        expected += [f"graphs/{name}::value[{k}]" for k in gf.expected_values]
        expected += [f"graphs/{name}::grad[{k}]" for k in gf.expected_grads]
    assert _ids(result) == expected
    result = _run(pytester, "--gradlab-graphs", "graphs", "-v")
    result.assert_outcomes(passed=len(expected))
    result.stdout.fnmatch_lines(_lines(*(f"{i} PASSED*" for i in expected)))


def test_graph_files_outside_the_graph_folders_are_not_collected(pytester):
    _graphs(pytester, "neuron.toml")
    (pytester.path / "other").mkdir()
    (pytester.path / "other" / "settings.toml").write_text("x = 1\n")
    (pytester.path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    result = _run(pytester, "--gradlab-graphs", "graphs", ".", "--collect-only", "-q")
    assert {i.split("::")[0] for i in _ids(result)} == {"graphs/neuron.toml"}
    result = _run(pytester, "--collect-only", "-q")  # without the option: nothing is a graph file
    assert _ids(result) == []


@pytest.mark.parametrize("text, where", [
    ('program = """\nz = x + y\na = foo(z)\n"""\n', "graphs/bad.toml, line 3, col 5: unknown function 'foo'"),
    ('program = "f = x*y\n', "graphs/bad.toml, line 1, col 19: not valid TOML: Illegal character"),
    ('program = "f = x*y"\n[at]\nx = 1\nq = 2\n', "graphs/bad.toml, line 4: [at] gives 'q', which is not an input"),
])
def test_a_broken_graph_file_is_a_collection_error_naming_file_and_line(pytester, text, where):
    _graphs(pytester, "neuron.toml")
    (pytester.path / "graphs" / "bad.toml").write_text(text)
    result = _run(pytester, "--gradlab-graphs", "graphs")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(_lines("*ERROR collecting graphs/bad.toml*", f"{where}*", "ERROR graphs/bad.toml"))
    assert "Traceback" not in result.stdout.str() and "INTERNALERROR" not in result.stdout.str()
    if "foo" in text:  # the other files still run when asked to go on
        result = _run(pytester, "--gradlab-graphs", "graphs", "--continue-on-collection-errors")
        result.assert_outcomes(passed=1 + 2 + 6, errors=1)


def test_a_wrong_expected_number_fails_its_own_item_with_file_and_line(pytester):
    _graphs(pytester, "neuron.toml")
    _wrong_neuron(pytester)
    result = _run(pytester, "--gradlab-graphs", "graphs")
    result.assert_outcomes(passed=17, failed=1)
    result.stdout.fnmatch_lines(_lines(
        "*_ graphs/wrong.toml: grad[x0] _*",
        "da/dx0: expected 0.3933 (graphs/wrong.toml, line 25), computed 0.393224; tolerance ±5e-05: half a unit in the "
        "last digit written (or [tolerance] expected = ...)",
        "FAILED graphs/wrong.toml::grad[x0] - da/dx0: expected 0.3933*",
    ))
    assert "Traceback" not in result.stdout.str() and "gradlab/" not in result.stdout.str()


def test_methods_that_disagree_fail_the_gradients_item_with_the_node_table(pytester):
    # a course's conftest registers a custom gate whose local derivative is wrong
    pytester.makeconftest("""
        from gradlab.ops import FUNCTIONS, OPS, Op

        def pytest_configure(config):
            good = OPS["sigmoid"]
            OPS["badsig"] = Op("badsig", 1, good.sym, lambda a, o, p: [o], good.np_fn, good.torch_fn,
                               lambda p: "σ?", "wrong sigmoid'")
            FUNCTIONS["badsig"] = "badsig"

        def pytest_unconfigure(config):  # this run is in the test's own process: leave OPS as it was
            del OPS["badsig"], FUNCTIONS["badsig"]
    """)
    folder = _graphs(pytester)
    (folder / "custom.toml").write_text('program = "z = w*x + b; a = badsig(z); L = a*a"\n'
                                        "[at]\nw = 0.5\nx = 2\nb = 0.1\n")
    result = _run(pytester, "--gradlab-graphs", "graphs")
    assert "badsig" not in OPS
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*_ graphs/custom.toml: gradients _*",
        "gradients of L disagree at w=0.5, x=2, b=0.1 (symbolic, finite differences, torch)",
        "node  gate   value    symbolic  torch     finite diff  rel err  check",
        "z     +      1.1      1.12578   0.281152  0.281152     0.75     FAIL   <-- first disagreement",
        "BLAME: first disagreement in backward order at z *Its consumer a (gate σ?, 'badsig(z)') has a wrong local*",
    ])


def test_k_x_and_tags_select_items(pytester):
    _graphs(pytester, "neuron.toml", "relu_kink.toml")
    _wrong_neuron(pytester)
    result = _run(pytester, "--gradlab-graphs", "graphs", "-k", "grad and x0", "-q")
    result.assert_outcomes(passed=1, failed=1)
    result = _run(pytester, "--gradlab-graphs", "graphs", "-k", "kink", "--collect-only", "-q")
    assert {i.split("::")[0] for i in _ids(result)} == {"graphs/relu_kink.toml"}  # the file's tags
    result = _run(pytester, "--gradlab-graphs", "graphs", "-x")
    result.assert_outcomes(passed=9 + 6 + 4, failed=1)  # neuron, relu_kink, then wrong.toml up to grad[x0]: stop


def test_last_failed_reruns_only_the_failed_item(pytester):
    _graphs(pytester, "neuron.toml")
    _wrong_neuron(pytester)
    _run(pytester, "--gradlab-graphs", "graphs").assert_outcomes(passed=17, failed=1)
    result = _run(pytester, "--gradlab-graphs", "graphs", "--lf")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["collected 1 item", "run-last-failure: rerun previous 1 failure (skipped 1 file)"])
    # the id pytest prints can be passed back as it is
    result = _run(pytester, "--gradlab-graphs", "graphs", "graphs/wrong.toml::grad[x0]")
    result.assert_outcomes(failed=1)


def test_the_ini_option_adds_graphs_to_the_testpaths_run_only(pytester):
    _graphs(pytester, "add_mul.toml")
    pytester.makepyprojecttoml("""
        [tool.pytest.ini_options]
        testpaths = ["tests"]
        gradlab_graphs = ["graphs"]
    """)
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "test_a.py").write_text("def test_a():\n    pass\n")
    result = _run(pytester)
    result.assert_outcomes(passed=1 + 7)
    result.stdout.fnmatch_lines(["gradlab: graph files under graphs"])
    _run(pytester, "tests").assert_outcomes(passed=1)  # a run narrowed down by the user


def test_a_graph_file_without_a_point_is_skipped_with_a_reason(pytester):
    folder = _graphs(pytester)
    (folder / "symbolic.toml").write_text('program = "f = x*y"\n')
    result = _run(pytester, "--gradlab-graphs", "graphs", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(_lines("SKIPPED [1] graphs/symbolic.toml*: graphs/symbolic.toml has no [at] table*"))


def test_works_with_xdist(pytester):
    _graphs(pytester, "neuron.toml")
    _wrong_neuron(pytester)
    result = pytester.runpytest_subprocess("-p", "no:hypothesispytest", "--gradlab-graphs", "graphs", "-n", "2")
    result.assert_outcomes(passed=17, failed=1)
    result.stdout.fnmatch_lines(_lines("[gw?] linux -- Python *", "da/dx0: expected 0.3933 (graphs/wrong.toml, line 25)*",
                                       "FAILED graphs/wrong.toml::grad[x0] - da/dx0: expected 0.3933*"))


# ------------------------------------------------------------------------ assertions inside tests


FAILING_TESTS = '''
import torch
from gradlab.testing import assert_function_gradients, assert_gradients


class MySigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        s = torch.sigmoid(x)
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, grad_out):
        (s,) = ctx.saved_tensors
        return grad_out * s  # should be grad_out * s * (1 - s)


def test_my_sigmoid():
    x = torch.tensor([0.5, -1.0, 2.0])
    assert_function_gradients(MySigmoid.apply, x)


def test_a_typo():
    assert_gradients("a = sigmoid(w*x", at=dict(w=1, x=2))
'''


def test_a_failing_assertion_shows_the_table_and_no_gradlab_frames(pytester):
    pytester.makepyfile(test_mine=FAILING_TESTS)
    for tb in ("auto", "long", "short"):
        result = _run(pytester, f"--tb={tb}")
        result.assert_outcomes(failed=2)
        out = result.stdout.str()
        assert "gradlab/testing" not in out and "gradlab/check" not in out and "gradlab/parse" not in out, tb
    result = _run(pytester)
    result.stdout.fnmatch_lines(_lines(
        ">       assert_function_gradients(MySigmoid.apply, x)",
        "E       gradlab.testing.GradientAssertionError: gradient check of MySigmoid.apply: FAILED (autograd vs *",
        "E       name  kind   shape  check  autograd  finite diff  rel err  worst entry",
        "E       x     input  (3,)   FAIL   0.880797  0.104994     0.88     d out*2* / d x*2*  <-- first mismatch",
        "E       first mismatch: input 'x': d out*2* / d x*2*: autograd gives 0.880797, finite differences give 0.104994*",
        "E       custom autograd Function in the graph: MySigmoid (check the backward)",
        "test_mine.py:*: GradientAssertionError",
    ))
    # a mistake in the call is a gradlab error raised from the test's own line
    result.stdout.fnmatch_lines([
        '>       assert_gradients("a = sigmoid(w*x", at=dict(w=1, x=2))',
        "E       gradlab.errors.ParseError: line 1, col 12: syntax error: a ')' is missing ('(' was never closed)",
        "test_mine.py:*: ParseError",
    ])


def test_the_gradcheck_fixture_takes_ini_tolerances_and_the_marker(pytester):
    pytester.makeini("""
        [pytest]
        gradlab_rtol = 1e-4
        gradlab_seed = 7
    """)
    pytester.makepyfile("""
        import pytest
        import torch

        def test_defaults(gradcheck):
            assert (gradcheck.rtol, gradcheck.atol, gradcheck.seed) == (1e-4, None, 7)
            report = gradcheck.function(torch.sin, torch.ones(3))
            assert report.rtol == 1e-4 and report.seed == 7

        @pytest.mark.gradlab(rtol=0.5, seed=1)
        def test_marker(gradcheck):
            assert (gradcheck.rtol, gradcheck.seed) == (0.5, 1)
            assert gradcheck.gradients("f = x*y", at=dict(x=1, y=2)).tolerances.torch_rtol == 0.5

        def test_fails(gradcheck):
            gradcheck.adjoints("q = x*y; f = q + x", dict(x=2, y=3), {"f": 1, "q": 1, "x": 1})
    """)
    result = _run(pytester, "--strict-markers")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["E       MISSING SUM AT A FORK at x: df/dx is wrong: you have 1, it is 4*"])


# ------------------------------------------------------------------------ docs/testing.md

PAGE = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
BLOCK = re.compile(r"<!-- (file|output of): (.+?) -->\n```\w+\n(.*?)```", re.S)


def _normal(line: str) -> str:
    """A line of pytest output without what changes from run to run: timings, rule widths (a table's too: a
    column is as wide as its widest number, whose digits may differ by one in the last place), and in a
    passing row of a gradient table the worst entry, which is the largest of errors at rounding level
    (which entry that is, and its numbers, depend on the CPU)."""
    line = re.sub(r" in \d+\.\d+s\b", " in Xs", line.rstrip())
    line = re.sub(r"(\s+ok\s).*\bd out\b.*$", r"\1<worst entry: rounding noise>", line)
    return re.sub(r"([=_!-])\1+", r"\1", line)  # a table's rule is as wide as its widest entry


def test_the_pytest_runs_on_the_testing_page_print_what_it_shows(pytester, monkeypatch):
    """docs/testing.md shows real output: its test files and graph files, run here, print its lines."""
    monkeypatch.setenv("COLUMNS", "100")
    for variable in ("CI", "BUILD_NUMBER"):  # on CI pytest stops cutting short-summary lines to the width
        monkeypatch.delenv(variable, raising=False)
    blocks = BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    assert sum(kind == "output of" for kind, _, _ in blocks) >= 5
    for kind, arg, body in blocks:
        if kind == "file":
            path = pytester.path / arg
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body, encoding="utf-8")
            continue
        command, _, folder = arg.partition(" (in ")
        monkeypatch.chdir(pytester.path / folder.rstrip("/)") if folder else pytester.path)
        shown = body.splitlines()
        assert shown[0] == f"$ {command}"
        result = _run(pytester, *shlex.split(command)[1:])
        actual = [_normal(line) for line in result.outlines]
        i = 0
        for want in (_normal(line) for line in shown[1:]):
            while i < len(actual) and not same_line(want, actual[i]):
                i += 1
            assert i < len(actual), f"{command}: the page shows {want!r}, pytest printed:\n{result.stdout.str()}"


def test_this_project_checks_its_graph_files_through_the_plugin(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("gradlab")
    assert GRAPHS in [Path(p).resolve() for p in pytestconfig.getini("gradlab_graphs")]
