"""Graph files (TOML): a program, the point, the textbook's expected numbers, tolerances.

```toml
title = "Sigmoid neuron (sheet 1, task 2)"
description = "z = w0*x0 + w1*x1 + w2, a = 1/(1+exp(-z))"
program = \"\"\"
z = w0*x0 + w1*x1 + w2
a = 1/(1+exp(-z))
\"\"\"

[at]                 # a value for every input
w0 = 2
x0 = -1

[expected.values]    # optional: forward values of named nodes
a = 0.73
[expected.grads]     # optional: d output / d name (inputs or named nodes)
w0 = -0.20

[tolerance]          # optional
expected = 0.005     # default: half a unit in the last digit written (0.73 -> 0.005); integers exact
fd_rtol = 1e-6       # and fd_atol, torch_rtol, torch_atol (see gradlab.Tolerances)
```

Every mistake is reported with the file and line: ``graphs/x.toml, line 9: 'q' is not an input``.

>>> from pathlib import Path
>>> gf = load_graph_file(Path(__file__).parent.parent / "graphs" / "neuron.toml")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .check import GradientReport, Tolerances, gradients
from .errors import GradlabError, GraphFileError, Location
from .graph import Graph
from .parse import parse_program

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KNOWN_KEYS = {"title", "description", "program", "at", "expected", "tolerance", "tags", "convention"}
TOLERANCE_KEYS = {"expected", "fd_rtol", "fd_atol", "torch_rtol", "torch_atol"}
MAX_FILE_BYTES = 1_000_000


@dataclass
class GraphFile:
    """A loaded graph file: the graph, its point, expected numbers with their tolerances."""

    path: str
    graph: Graph
    at: dict[str, float]
    title: str = ""
    description: str = ""
    expected_values: dict[str, float] = field(default_factory=dict)
    expected_grads: dict[str, float] = field(default_factory=dict)
    expected_tol: dict[str, float] = field(default_factory=dict)  # "values.a" / "grads.w0" -> atol
    tolerances: Tolerances = field(default_factory=Tolerances)
    tags: list[str] = field(default_factory=list)


@dataclass
class ExpectedCheck:
    """One expected number from the file against what gradlab computes."""

    kind: str  # "value" or "grad"
    name: str
    expected: float
    actual: float | None
    tolerance: float
    ok: bool
    note: str = ""


@dataclass
class FileReport:
    """The check of one graph file: the gradient report and the expected numbers."""

    path: str
    report: GradientReport
    expected: list[ExpectedCheck]
    ok: bool

    def to_dict(self) -> dict[str, Any]:
        d = self.report.to_dict()
        d["path"] = self.path
        d["expected"] = [asdict(e) for e in self.expected]
        d["gradients_ok"] = self.report.ok
        d["ok"] = self.ok
        return d

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)


def _line_of(text: str, key: str, section: str | None = None) -> int | None:
    """The 1-based line where ``key =`` appears (inside ``[section]`` when given)."""
    current = None
    for i, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        m = re.match(r"^\[\s*([^\]]+?)\s*\]", s)
        if m:
            current = m.group(1).replace(" ", "")
            continue
        if re.match(rf"^{re.escape(key)}\s*=", s) or re.match(rf'^"{re.escape(key)}"\s*=', s):
            if section is None or current == section:
                return i
    return None


def _raw_number(text: str, line: int | None) -> str | None:
    if line is None:
        return None
    m = re.match(r"^[^=]*=\s*([-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?)", text.splitlines()[line - 1])
    return m.group(1).replace("_", "") if m else None


def written_tolerance(raw: str | None) -> float:
    """Half a unit in the last digit written: ``0.73`` -> 0.005; an integer -> exact (1e-9)."""
    if raw is None or ("." not in raw and "e" not in raw.lower()):
        return 1e-9
    try:
        exponent = Decimal(raw).as_tuple().exponent
    except InvalidOperation:  # pragma: no cover - the regex only admits numbers
        return 1e-9
    return 0.5 * 10.0 ** int(exponent) + 1e-12  # type: ignore[arg-type]


def _number(value: Any, where: Location, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GraphFileError(f"{what} must be a number, got {value!r}", where)
    if not math.isfinite(float(value)):
        raise GraphFileError(f"{what} must be a finite number, got {value!r}", where)
    return float(value)


def load_graph_file(path: str | Path) -> GraphFile:
    """Read and check a graph file; errors name the file and line."""
    p = Path(path)
    name = str(path)
    if not p.exists():
        raise GraphFileError(f"no such file: {name}")
    if p.is_dir():
        raise GraphFileError(f"{name} is a folder, not a graph file")
    data_bytes = p.read_bytes()
    if len(data_bytes) > MAX_FILE_BYTES:
        raise GraphFileError(f"{name} is too large for a graph file ({len(data_bytes)} bytes)")
    try:
        text = data_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise GraphFileError(f"{name} is not UTF-8 text") from None
    return parse_graph_file(text, name)


def parse_graph_file(text: str, name: str = "<graph file>") -> GraphFile:
    """Parse graph-file text (see the module docstring)."""
    def at_line(key: str, section: str | None = None) -> Location:
        return Location(file=name, line=_line_of(text, key, section))

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(e))
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e))
        where = Location(file=name, line=int(m.group(1)), col=int(m.group(2))) if m else Location(file=name)
        raise GraphFileError(f"not valid TOML: {msg}", where) from None
    unknown = sorted(set(data) - KNOWN_KEYS)
    if unknown:
        raise GraphFileError(f"unknown key '{unknown[0]}'; a graph file has {', '.join(sorted(KNOWN_KEYS))}",
                             at_line(unknown[0]))
    program = data.get("program")
    if not isinstance(program, str):
        raise GraphFileError("missing 'program = \"...\"' (the statements of the graph)" if program is None
                             else "'program' must be a string", Location(file=name, line=_line_of(text, "program")))
    prog_line = _line_of(text, "program") or 1
    raw_after = text.splitlines()[prog_line - 1].split("=", 1)[1].lstrip() if prog_line else ""
    offset = prog_line if raw_after.startswith(('"""', "'''")) and raw_after.strip() in ('"""', "'''") else prog_line - 1
    title = data.get("title", "")
    if not isinstance(title, str):
        raise GraphFileError("'title' must be a string", at_line("title"))
    try:
        graph = parse_program(program, title=title)
    except GradlabError as e:
        raise e.located(name, offset) from None
    graph.nx.graph["description"] = str(data.get("description", ""))

    at_table = data.get("at", {})
    if not isinstance(at_table, dict):
        raise GraphFileError("'at' must be a table: [at] with one 'name = number' per input", at_line("at"))
    at: dict[str, float] = {}
    for k, v in at_table.items():
        if k not in graph.inputs:
            raise GraphFileError(f"[at] gives '{k}', which is not an input of the program (inputs: "
                                 f"{', '.join(graph.inputs)})", at_line(k, "at"))
        at[k] = _number(v, at_line(k, "at"), f"the value of '{k}'")
    if at_table:
        missing = [n for n in graph.inputs if n not in at]
        if missing:
            raise GraphFileError(f"[at] has no value for input '{missing[0]}' (every input needs one)",
                                 Location(file=name, line=_line_of(text, "at") or _find_section(text, "at")))

    tol_table = data.get("tolerance", {})
    if not isinstance(tol_table, dict):
        raise GraphFileError("'tolerance' must be a table", at_line("tolerance"))
    for k in tol_table:
        if k not in TOLERANCE_KEYS:
            raise GraphFileError(f"unknown tolerance '{k}'; known: {', '.join(sorted(TOLERANCE_KEYS))}",
                                 at_line(k, "tolerance"))
    tol_values = {k: _number(v, at_line(k, "tolerance"), f"tolerance '{k}'") for k, v in tol_table.items()}
    if any(v < 0 for v in tol_values.values()):
        raise GraphFileError("tolerances must not be negative", Location(file=name, line=_find_section(text, "tolerance")))
    tolerances = Tolerances(**{k: v for k, v in tol_values.items() if k != "expected"})

    gf = GraphFile(name, graph, at, title, str(data.get("description", "")), tolerances=tolerances,
                   tags=[str(t) for t in data.get("tags", [])] if isinstance(data.get("tags", []), list) else [])
    expected = data.get("expected", {})
    if not isinstance(expected, dict):
        raise GraphFileError("'expected' must be tables [expected.values] and [expected.grads]", at_line("expected"))
    for sub in expected:
        if sub not in ("values", "grads"):
            raise GraphFileError(f"unknown table [expected.{sub}]; use [expected.values] or [expected.grads]",
                                 Location(file=name, line=_find_section(text, f"expected.{sub}")))
    if expected and not at:
        raise GraphFileError("expected numbers need the point: add an [at] table",
                             Location(file=name, line=_find_section(text, "expected.values")
                                      or _find_section(text, "expected.grads")))
    for sub, target in (("values", gf.expected_values), ("grads", gf.expected_grads)):
        table = expected.get(sub, {})
        section = f"expected.{sub}"
        if not isinstance(table, dict):
            raise GraphFileError(f"[{section}] must be a table", Location(file=name))
        for k, v in table.items():
            where = at_line(k, section)
            if k not in graph:
                raise GraphFileError(f"[{section}] names '{k}', which is not a node of the graph (named nodes: "
                                     f"{', '.join(n for n in graph.nodes if graph.attrs(n).get('named'))})", where)
            target[k] = _number(v, where, f"the expected {sub[:-1]} of '{k}'")
            tol = tol_values.get("expected")
            gf.expected_tol[f"{sub}.{k}"] = tol if tol is not None else written_tolerance(_raw_number(text, where.line))
    return gf


def _find_section(text: str, section: str) -> int | None:
    for i, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"^\[\s*{re.escape(section)}\s*\]", line.strip()):
            return i
    return None


def check_graph_file(path_or_file: str | Path | GraphFile, *, methods: tuple[str, ...] = ("symbolic", "fd", "torch"),
                     simplify: bool = True) -> FileReport:
    """Check one graph file: gradients by every method at its point, and its expected numbers.

    At a kink an expected gradient passes if it matches any of the documented conventions
    (SymPy's, torch's, or a one-sided slope), and the check says which one.
    """
    gf = path_or_file if isinstance(path_or_file, GraphFile) else load_graph_file(path_or_file)
    if not gf.at:
        report = gradients(gf.graph, None, simplify=simplify)
        return FileReport(gf.path, report, [], True)
    try:
        report = gradients(gf.graph, gf.at, methods=methods, tol=gf.tolerances, simplify=simplify)
    except GradlabError as e:
        raise e.located(gf.path) if not (e.where and e.where.file) else e from None
    checks: list[ExpectedCheck] = []
    node_values = {n.id: n.value for n in report.nodes}
    for k, v in gf.expected_values.items():
        tol = gf.expected_tol[f"values.{k}"]
        actual = node_values.get(k)
        ok = actual is not None and abs(actual - v) <= tol
        checks.append(ExpectedCheck("value", k, v, actual, tol, ok))
    for k, v in gf.expected_grads.items():
        tol = gf.expected_tol[f"grads.{k}"]
        actual = report.grad(k)
        ok = actual is not None and abs(actual - v) <= tol
        note = ""
        conventions = report.inputs[k].conventions if k in report.inputs else {}
        if conventions:
            names = {"sympy": "SymPy's convention (Heaviside(0) = 1/2)", "torch": "torch's convention",
                     "fd_central": "central finite differences", "fd_left": "the left-sided slope",
                     "fd_right": "the right-sided slope"}
            for conv in ("sympy", "torch", "fd_central", "fd_left", "fd_right"):
                cv = conventions.get(conv)
                if cv is not None and abs(cv - v) <= tol:
                    ok, note = True, f"on a kink: matches {names[conv]}"
                    break
        checks.append(ExpectedCheck("grad", k, v, actual, tol, ok, note))
    return FileReport(gf.path, report, checks, report.ok and all(c.ok for c in checks))


def find_graph_files(paths: list[str]) -> list[Path]:
    """Graph files under the given files and folders (``*.toml``, sorted), checked to exist."""
    found: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found.extend(sorted(path.rglob("*.toml")))
        elif path.exists():
            found.append(path)
        else:
            raise GraphFileError(f"no such file or folder: {p}")
    return found
