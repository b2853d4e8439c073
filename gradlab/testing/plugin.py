"""The pytest plugin (entry point ``pytest11``, name ``gradlab``): graph files as tests, and fixtures.

``pytest --gradlab-graphs graphs/`` (or ``gradlab_graphs = ["graphs"]`` in the ini options)
collects every graph file (``*.toml``) under the folder as test items:

* ``graphs/neuron.toml::gradients``: symbolic, finite-difference and torch gradients agree;
* ``graphs/neuron.toml::value[z]``, ``graphs/neuron.toml::grad[w0]``: one item for each
  expected number in ``[expected.values]`` and ``[expected.grads]``;
* ``graphs/x.toml::formula[dL/dB]``: one for each claimed formula, when the file has them.

A malformed graph file is a collection error that names the file and line. Items work with
``-k`` (file names, item names and the file's ``tags``), ``-x``, ``--lf`` and pytest-xdist.
The ``gradcheck`` fixture gives :class:`gradlab.testing.GradCheck` with the tolerances of the
ini options ``gradlab_rtol``, ``gradlab_atol``, ``gradlab_seed``, overridden per test by
``@pytest.mark.gradlab(rtol=..., atol=..., seed=...)``.

gradlab itself is imported only when a graph file is collected or the fixture is used.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from ..check.graphfile import FileReport, GraphFile
    from .assertions import GradCheck

#: File names that are never graph files, even inside a graph folder.
NOT_GRAPH_FILES = frozenset({"pyproject.toml"})
GRAPH_SUFFIXES = (".toml",)

_ROOTS = pytest.StashKey[list[Path]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gradlab", "gradlab: gradient checks")
    group.addoption("--gradlab-graphs", action="append", default=[], metavar="PATH", dest="gradlab_graphs",
                    help="collect the graph files (*.toml) under PATH as tests: one item per file (the methods "
                         "agree) and one per expected number; may be repeated")
    parser.addini("gradlab_graphs", type="paths", default=[],
                  help="folders (or files) of graph files collected as tests (relative to the ini file); added to "
                       "the run when pytest runs its testpaths")
    parser.addini("gradlab_rtol", default="", help="relative tolerance of the gradcheck fixture (default: each "
                                                   "helper's own)")
    parser.addini("gradlab_atol", default="", help="absolute tolerance of the gradcheck fixture")
    parser.addini("gradlab_seed", default="0", help="seed of the gradcheck fixture's random points and directions")


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "gradlab(rtol=None, atol=None, seed=None): tolerances and seed of the "
                                       "gradcheck fixture for this test")
    here = config.invocation_params.dir
    from_option = [(here / p).resolve() for p in config.getoption("gradlab_graphs") or []]
    from_ini = [Path(p).resolve() for p in config.getini("gradlab_graphs")]
    for p in from_option:
        if not p.exists():
            raise pytest.UsageError(f"--gradlab-graphs {p}: no such file or folder")
    config.stash[_ROOTS] = from_option + from_ini
    # Add graph folders to the run: always those given on the command line, the ini ones only when
    # pytest runs its testpaths. Not when an argument already covers the folder or narrows it down
    # (pytest graphs/neuron.toml::grad[w0] --gradlab-graphs graphs runs that one item).
    add = list(from_option)
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS:
        add += from_ini
    args = [(here / a.split("::")[0]).resolve() for a in config.args]
    for root in add:
        if not root.exists() or any(_inside(root, a) or _inside(a, root) for a in args):
            continue
        config.args.append(str(root))
        args.append(root)


def pytest_report_header(config: pytest.Config) -> str | None:
    roots = config.stash.get(_ROOTS, [])
    if not roots:
        return None
    rel = []
    for r in roots:
        try:
            rel.append(str(r.relative_to(config.rootpath)))
        except ValueError:
            rel.append(str(r))
    return "gradlab: graph files under " + ", ".join(dict.fromkeys(rel))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> "GraphFileCollector | None":
    if file_path.suffix not in GRAPH_SUFFIXES or file_path.name in NOT_GRAPH_FILES:
        return None
    roots = parent.config.stash.get(_ROOTS, [])
    resolved = file_path.resolve()
    if any(_inside(resolved, r) for r in roots):
        return GraphFileCollector.from_parent(parent, path=file_path)
    return None


def _display(path: Path) -> str:
    """The path as the user would type it: relative to the working folder when inside it."""
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel


class GraphCheckFailure(AssertionError):
    """A graph file's check failed; the message is the whole report (no traceback is shown)."""


class GraphFileCollector(pytest.File):
    """One graph file: its items, and the file's check (computed once per process, shared by them)."""

    graph_file: "GraphFile"

    def collect(self) -> Iterator["GraphCheckItem"]:
        from ..check.graphfile import _line_of, load_graph_file
        from ..errors import GradlabError

        name = _display(self.path)
        try:
            gf = load_graph_file(name if not os.path.isabs(name) else self.path)
        except GradlabError as e:
            err = e.located(name) if e.where is None or e.where.file != name else e
            raise self.CollectError(str(err)) from None
        gf.path = name
        self.graph_file = gf
        text = self.path.read_text(encoding="utf-8")
        self.extra_keyword_matches.update(str(t) for t in gf.tags)
        gradients = GraphCheckItem.from_parent(self, name="gradients", kind="gradients", key=None,
                                               line=_line_of(text, "program"))
        if not gf.at:
            gradients.add_marker(pytest.mark.skip(reason=f"{name} has no [at] table: no point to compare the "
                                                         "methods at"))
        yield gradients
        for k in gf.expected_values:
            yield GraphCheckItem.from_parent(self, name=f"value[{k}]", kind="value", key=k,
                                             line=_line_of(text, k, "expected.values"))
        for k in gf.expected_grads:
            yield GraphCheckItem.from_parent(self, name=f"grad[{k}]", kind="grad", key=k,
                                             line=_line_of(text, k, "expected.grads"))
        for k in gf.formulas:
            yield GraphCheckItem.from_parent(self, name=f"formula[{k}]", kind="formula", key=k,
                                             line=gf.formula_lines.get(k))

    def file_report(self) -> "FileReport":
        """``check_graph_file`` of this file, once; a GradlabError is kept and raised for every item."""
        if not hasattr(self, "_report"):
            from ..check.graphfile import check_graph_file
            from ..errors import GradlabError

            try:
                self._report: Any = check_graph_file(self.graph_file)
            except GradlabError as e:
                self._report = e
        if isinstance(self._report, Exception):
            raise self._report
        return self._report


class GraphCheckItem(pytest.Item):
    """One check of a graph file: ``gradients`` (the methods agree) or one expected number or formula."""

    def __init__(self, *, kind: str, key: str | None, line: int | None, **kwargs: Any) -> None:
        # The id as pytest parses a node id string (grad[w0]: name grad, parameters w0), so that
        # --lf and xdist, which read ids back from text, find the item again (pytest >= 9).
        parent = kwargs["parent"]
        kwargs.setdefault("nodeid", f"{parent.nodeid}::{kwargs['name']}")
        super().__init__(**kwargs)
        self.kind = kind
        self.key = key
        self.line = line

    @property
    def collector(self) -> GraphFileCollector:
        assert isinstance(self.parent, GraphFileCollector)
        return self.parent

    def runtest(self) -> None:
        from .assertions import gradients_message

        report = self.collector.file_report()
        gf = self.collector.graph_file
        where = f"{gf.path}, line {self.line}" if self.line else gf.path
        if self.kind == "gradients":
            if not report.report.ok:
                raise GraphCheckFailure(gradients_message(gf.graph, report.report))
            return
        if self.kind == "formula":
            assert self.key is not None  # a formula item is named by its claim's left-hand side
            claim = f"{self.key} = {gf.formulas[self.key]}"
            found = next((f for f in report.formulas if f.claim == claim), None)
            if found is None:
                raise GraphCheckFailure(f"{where}: the formula {claim} was not checked")
            if not found.ok:
                raise GraphCheckFailure(f"{where}: {found.message}")
            return
        check = next((e for e in report.expected if e.kind == self.kind and e.name == self.key), None)
        if check is None:
            raise GraphCheckFailure(f"{where}: the expected {self.kind} of {self.key} was not checked")
        if not check.ok:
            out = report.report.output.name
            what = f"the value of {self.key}" if self.kind == "value" else f"d{out}/d{self.key}"
            tol = check.tolerance if isinstance(check.tolerance, (int, float)) else max(
                _flatten(check.tolerance), default=0.0)
            why = "an integer is exact" if tol <= 1e-9 else "half a unit in the last digit written"
            raise GraphCheckFailure(
                f"{what}: expected {_fmt(check.expected)} ({where}), computed {_fmt(check.actual)}; "
                f"tolerance ±{tol:.2g}: {why} (or [tolerance] expected = ...)" + (f"\n{check.note}" if check.note else ""))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        from ..errors import GradlabError

        if isinstance(excinfo.value, (GraphCheckFailure, GradlabError)) and not self.config.getoption("fulltrace"):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        # The third part titles the failure ("graphs/x.toml: grad[w0]"). It must not be the end of the node
        # id: pytest -v would then print it in the id's place with each '.' turned into '::'.
        return self.path, (self.line - 1 if self.line else None), f"{self.collector.graph_file.path}: {self.name}"


def _flatten(x: Any) -> list[float]:
    if isinstance(x, (list, tuple)):
        return [y for v in x for y in _flatten(v)]
    return [float(x)]


def _fmt(x: Any) -> str:
    from ..check.report import num

    if isinstance(x, (int, float)):
        return num(float(x))
    return str(x)


def _ini_float(config: pytest.Config, name: str) -> float | None:
    raw = str(config.getini(name) or "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise pytest.UsageError(f"ini option {name} = {raw!r} is not a number") from None


@pytest.fixture
def gradcheck(request: pytest.FixtureRequest) -> "GradCheck":
    """gradlab's assertions with this run's tolerances: ``gradcheck.function(fn, inputs)``,
    ``.module(m, x)``, ``.gradients(program, at)``, ``.adjoints(...)``, ``.formula(...)``, ``.graph_file(path)``."""
    from .assertions import GradCheck

    config = request.config
    rtol, atol = _ini_float(config, "gradlab_rtol"), _ini_float(config, "gradlab_atol")
    try:
        seed = int(str(config.getini("gradlab_seed") or "0"))
    except ValueError:
        raise pytest.UsageError(f"ini option gradlab_seed = {config.getini('gradlab_seed')!r} is not an integer") \
            from None
    marker = request.node.get_closest_marker("gradlab")
    if marker is not None:
        unknown = set(marker.kwargs) - {"rtol", "atol", "seed"}
        if unknown or marker.args:
            raise pytest.UsageError(f"@pytest.mark.gradlab takes rtol=, atol=, seed= (got "
                                    f"{', '.join(sorted(unknown)) or 'positional arguments'})")
        rtol = marker.kwargs.get("rtol", rtol)
        atol = marker.kwargs.get("atol", atol)
        seed = marker.kwargs.get("seed", seed)
    return GradCheck(rtol=rtol, atol=atol, seed=seed)
