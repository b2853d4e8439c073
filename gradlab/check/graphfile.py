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

Vectors and matrices (see :mod:`gradlab.lang.parse`): the program declares shapes
(``x: (3,)``, ``A: (2, 3)``, ``y: onehot(2)``), values and expected numbers are TOML arrays
(``x = [1.0, -0.5, 2.0]``, ``A = [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]]``), and an input whose
value is an array needs no declaration. Claimed formulas are checked with :func:`gradlab.verify`:

```toml
[formulas]           # optional: d output / d name = formula, each must hold
"dL/dB" = "(p - y) @ v.T / 2"
```

Every mistake is reported with the file and line: ``graphs/x.toml, line 9: 'q' is not an input``.

>>> from pathlib import Path
>>> gf = load_graph_file(Path(__file__).parent.parent / "graphs" / "neuron.toml")  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import json
import math
import re
import sys
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..errors import GradlabError, GraphFileError, Location
from ..fileio import path_kind, read_text, shown
from ..lang.parse import parse_program, parse_tensor_program
from ..model.graph import Graph
from .budget import FORMULA_BUDGET
from .gradients import GradientReport, Tolerances, gradients

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KNOWN_KEYS = {"title", "description", "program", "at", "expected", "tolerance", "tags", "convention", "formulas"}
TOLERANCE_KEYS = {"expected", "fd_rtol", "fd_atol", "torch_rtol", "torch_atol"}
MAX_FILE_BYTES = 1_000_000


@dataclass
class GraphFile:
    """A loaded graph file: the graph, its point, expected numbers with their tolerances."""

    path: str
    graph: Graph
    at: dict[str, Any]  # numbers, or nested lists for vectors and matrices
    title: str = ""
    description: str = ""
    expected_values: dict[str, Any] = field(default_factory=dict)
    expected_grads: dict[str, Any] = field(default_factory=dict)
    expected_tol: dict[str, Any] = field(default_factory=dict)  # "values.a" / "grads.w0" -> atol (per entry for arrays)
    tolerances: Tolerances = field(default_factory=Tolerances)
    tags: list[str] = field(default_factory=list)
    formulas: dict[str, str] = field(default_factory=dict)  # "dL/dB" -> "(p - y) @ v.T / 2"
    formula_lines: dict[str, int | None] = field(default_factory=dict)
    line_offset: int = 0  # the program's line 1 is the file's line line_offset + 1
    col_offset: int = 0  # ... and its column 1 the file's column col_offset + 1 (a one-line program)


@dataclass
class FormulaCheck:
    """One claimed formula from the file's [formulas] table, checked by :func:`gradlab.verify`."""

    claim: str
    ok: bool
    decided: str
    mistake: str | None
    message: str


@dataclass
class ExpectedCheck:
    """One expected number from the file against what gradlab computes."""

    kind: str  # "value" or "grad"
    name: str
    expected: Any  # a number, or nested lists for a vector or matrix
    actual: Any
    tolerance: Any  # a number, or one per entry for a vector or matrix
    ok: bool
    note: str = ""


@dataclass
class FileReport:
    """The check of one graph file: the gradient report and the expected numbers."""

    path: str
    report: GradientReport
    expected: list[ExpectedCheck]
    ok: bool
    formulas: list[FormulaCheck] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = self.report.to_dict()
        d["path"] = self.path
        d["expected"] = [_plain(asdict(e)) for e in self.expected]
        d["formulas"] = [asdict(f) for f in self.formulas]
        d["gradients_ok"] = self.report.ok
        d["ok"] = self.ok
        return d

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)


def _plain(x: Any) -> Any:
    import numpy as np

    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return x.tolist()
    return x


#: ``[name]`` with an optional comment; linear time (no lazy group beside ``\s*``, which took quadratic time
#: on ``[a`` + 100,000 spaces + ``b``); the name is stripped afterwards.
_TABLE_HEADER = re.compile(r"\[([^\]]*)\]\s*(?:#.*)?")
_TABLE_NAME_START = re.compile(r"\s*[A-Za-z_\"]")


def _line_of(text: str, key: str, section: str | None = None) -> int | None:
    """The 1-based line where ``key =`` appears (inside ``[section]`` when given)."""
    return _key_lines(text).get((section, key))


@functools.lru_cache(maxsize=4)
def _key_lines(text: str) -> dict[tuple[str | None, str], int]:
    """(section or None, key as written) -> the first line of ``key = ...``: one pass over the file, so that
    looking up every key of a large file takes linear time."""
    found: dict[tuple[str | None, str], int] = {}
    current = None
    for i, line in enumerate(_lines(text), start=1):
        s = line.strip()
        m = _TABLE_HEADER.fullmatch(s)  # a table header, not an array row
        if m and _TABLE_NAME_START.match(m.group(1)):
            current = m.group(1).strip().replace(" ", "")
            continue
        if "=" not in s:
            continue
        lhs = s.split("=", 1)[0].rstrip()
        keys = [lhs] + ([lhs[1:-1]] if len(lhs) >= 2 and lhs[0] == lhs[-1] == '"' else [])
        for k in keys:
            found.setdefault((current, k), i)
            found.setdefault((None, k), i)
    return found


@functools.lru_cache(maxsize=4)
def _lines(text: str) -> list[str]:
    return text.splitlines()


def _raw_number(text: str, line: int | None) -> str | None:
    if line is None:
        return None
    m = re.match(r"^[^=]*=\s*([-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?)", _lines(text)[line - 1])
    return m.group(1).replace("_", "") if m else None


def _raw_array(text: str, line: int | None) -> list[str]:
    """The numbers written in an array value that starts on ``line`` (it may span lines)."""
    if line is None:
        return []
    lines = _lines(text)
    value = lines[line - 1].split("=", 1)[1] if "=" in lines[line - 1] else ""
    depth = value.count("[") - value.count("]")
    k = line
    while depth > 0 and k < len(lines):
        value += "\n" + lines[k]
        depth += lines[k].count("[") - lines[k].count("]")
        k += 1
    value = re.sub(r"#[^\n]*", "", value)
    return [m.replace("_", "") for m in re.findall(r"[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?", value)]


def written_tolerance(raw: str | None) -> float:
    """Half a unit in the last digit written: ``0.73`` -> 0.005; an integer -> exact (1e-9)."""
    if raw is None or ("." not in raw and "e" not in raw.lower()):
        return 1e-9
    try:
        exponent = Decimal(raw).as_tuple().exponent
    except InvalidOperation:  # pragma: no cover - the regex only admits numbers
        return 1e-9
    return 0.5 * 10.0 ** int(exponent) + 1e-12


def _number(value: Any, where: Location, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GraphFileError(f"{what} must be a number, got {value!r}", where)
    if not math.isfinite(float(value)):
        raise GraphFileError(f"{what} must be a finite number, got {value!r}", where)
    return float(value)


def load_graph_file(path: str | Path) -> GraphFile:
    """Read and check a graph file; errors name the file and line."""
    name = str(path)
    text = read_text(path, "graph file", limit=MAX_FILE_BYTES, error=GraphFileError)
    return parse_graph_file(text, name)


def parse_graph_file(text: str, name: str = "<graph file>") -> GraphFile:
    """Parse graph-file text (see the module docstring); a byte-order mark first is dropped (some
    editors on Windows write one)."""
    text = text.removeprefix("\ufeff")

    def at_line(key: str, section: str | None = None) -> Location:
        return Location(file=name, line=_line_of(text, key, section))

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(e))
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e))
        where = Location(file=name, line=int(m.group(1)), col=int(m.group(2))) if m else Location(file=name)
        raise GraphFileError(f"not valid TOML: {msg}", where) from None
    except RecursionError:
        raise GraphFileError("arrays or tables nested too deeply (a value is a number, a vector [1, 2] or a "
                             "matrix [[1, 2], [3, 4]])", Location(file=name)) from None
    unknown = sorted(set(data) - KNOWN_KEYS)
    if unknown:
        raise GraphFileError(f"unknown key '{unknown[0]}'; a graph file has {', '.join(sorted(KNOWN_KEYS))}",
                             at_line(unknown[0]))
    program = data.get("program")
    if not isinstance(program, str):
        raise GraphFileError("missing 'program = \"...\"' (the statements of the graph)" if program is None
                             else "'program' must be a string", Location(file=name, line=_line_of(text, "program")))
    prog_line = _line_of(text, "program") or 1
    raw_after = _lines(text)[prog_line - 1].split("=", 1)[1].lstrip() if prog_line else ""
    offset = prog_line if raw_after.startswith(('"""', "'''")) and raw_after.strip() in ('"""', "'''") else prog_line - 1
    col_offset = 0
    if prog_line and offset == prog_line - 1:  # the program starts on the 'program =' line, after its quote
        raw = _lines(text)[prog_line - 1]
        starts = [i for i in (raw.find('"', raw.find("=")), raw.find("'", raw.find("="))) if i >= 0]
        if starts:
            quote = min(starts)
            col_offset = quote + (3 if raw[quote:quote + 3] in ('"""', "'''") else 1)
    title = data.get("title", "")
    if not isinstance(title, str):
        raise GraphFileError("'title' must be a string", at_line("title"))
    at_raw = data.get("at", {})
    shapes = _array_shapes(at_raw, at_line) if isinstance(at_raw, dict) else {}
    try:
        if shapes:  # array values: vectors and matrices, declared in the program or not
            graph = parse_tensor_program(program, title=title, shapes=shapes)
        else:
            graph = parse_program(program, title=title)
    except GradlabError as e:
        raise e.located(name, offset, col_offset) from None
    graph.nx.graph["description"] = str(data.get("description", ""))

    at_table = data.get("at", {})
    if not isinstance(at_table, dict):
        raise GraphFileError("'at' must be a table: [at] with one 'name = number' per input", at_line("at"))
    at: dict[str, Any] = {}
    for k, v in at_table.items():
        if k not in graph.inputs:
            raise GraphFileError(f"[at] gives '{k}', which is not an input of the program (inputs: "
                                 f"{', '.join(graph.inputs)})", at_line(k, "at"))
        if graph.shape(k) != () or isinstance(v, list):
            at[k] = _array(graph, k, v, at_line(k, "at"), f"the value of '{k}'", graph.shape(k))
        else:
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
                   tags=[str(t) for t in data.get("tags", [])] if isinstance(data.get("tags", []), list) else [],
                   line_offset=offset, col_offset=col_offset)
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
            tol = tol_values.get("expected")
            if graph.shape(k) != () or isinstance(v, list):
                target[k] = _array(graph, k, v, where, f"the expected {sub[:-1]} of '{k}'", graph.shape(k))
                raws = _raw_array(text, where.line)
                written: Any = max((written_tolerance(r) for r in raws), default=1e-9)
                if len(raws) == len(sum(target[k], []) if target[k] and isinstance(target[k][0], list) else target[k]):
                    import numpy as np  # half a unit in the last digit of each entry as written

                    written = np.reshape([written_tolerance(r) for r in raws], np.shape(target[k])).tolist()
                gf.expected_tol[f"{sub}.{k}"] = tol if tol is not None else written
                continue
            target[k] = _number(v, where, f"the expected {sub[:-1]} of '{k}'")
            gf.expected_tol[f"{sub}.{k}"] = tol if tol is not None else written_tolerance(_raw_number(text, where.line))
    formulas = data.get("formulas", {})
    if not isinstance(formulas, dict):
        raise GraphFileError("'formulas' must be a table: [formulas] with lines \"dL/dB\" = \"(p - y) @ v.T / 2\"",
                             at_line("formulas"))
    for k, v in formulas.items():
        line = _line_of(text, f'"{k}"', "formulas") or _line_of(text, k, "formulas") or _find_section(text, "formulas")
        if not isinstance(v, str):
            raise GraphFileError(f"the formula for '{k}' must be a string, got {v!r}", Location(file=name, line=line))
        try:
            from ..lang.claims import parse_claim

            parse_claim(k, v)
        except GradlabError as e:
            raise GraphFileError(e.message, Location(file=name, line=line)) from None
        gf.formulas[k] = v
        gf.formula_lines[k] = line
    return gf


def _array_shapes(table: dict[str, Any], at_line: Any) -> dict[str, tuple[int, ...]]:
    """Shapes of the [at] values written as arrays (a vector [1, 2, 3], a matrix [[...], [...]])."""
    import numpy as np

    from ..ops.tensor import normalise_shape

    out = {}
    for k, v in table.items():
        if isinstance(v, list):
            try:
                arr = np.asarray(v, dtype=np.float64)
            except (TypeError, ValueError):
                raise GraphFileError(f"the value of '{k}' must be an array of numbers, rows of equal length",
                                     at_line(k, "at")) from None
            try:
                out[k] = normalise_shape(arr.shape)
            except GradlabError as e:
                raise GraphFileError(f"the value of '{k}': {e.message}", at_line(k, "at")) from None
    return out


def _array(graph: Graph, node: str, value: Any, where: Location, what: str, shape: tuple[int, ...]) -> Any:
    """A vector or matrix value (nested lists), checked against the node's shape."""
    import numpy as np

    from ..ops.tensor import shape_text

    if not isinstance(value, list):
        raise GraphFileError(f"{what} must be an array for {shape_text(shape)}, got {value!r}", where)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise GraphFileError(f"{what} must be an array of numbers, rows of equal length", where) from None
    if not np.all(np.isfinite(arr)):
        raise GraphFileError(f"{what} has an entry that is not a finite number", where)
    fits = {shape, (shape[0], 1)} if len(shape) == 1 else {shape}
    if shape == ():
        fits |= {(1,), (1, 1)}
    if arr.shape not in fits:
        raise GraphFileError(f"{what} has shape {arr.shape}, but '{node}' is {shape_text(shape)}", where)
    return arr.reshape(shape).tolist() if shape else float(arr.reshape(()))


def _find_section(text: str, section: str) -> int | None:
    for i, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"^\[\s*{re.escape(section)}\s*\]", line.strip()):
            return i
    return None


def check_graph_file(path_or_file: str | Path | GraphFile, *, methods: tuple[str, ...] = ("symbolic", "fd", "torch"),
                     simplify: bool = True, formula_budget: float | None = FORMULA_BUDGET) -> FileReport:
    """Check one graph file: gradients by every method at its point, and its expected numbers (formulas in the
    inputs within ``formula_budget`` seconds, as :func:`gradlab.gradients` builds them).

    At a kink an expected gradient passes if it matches any of the documented conventions
    (SymPy's, torch's, or a one-sided slope), and the check says which one.
    """
    gf = path_or_file if isinstance(path_or_file, GraphFile) else load_graph_file(path_or_file)
    if not gf.at:
        report = gradients(gf.graph, None, simplify=simplify, formula_budget=formula_budget)
        formulas = _check_formulas(gf)
        return FileReport(gf.path, report, [], all(f.ok for f in formulas), formulas)
    try:
        report = gradients(gf.graph, gf.at, methods=methods, tol=gf.tolerances, simplify=simplify,
                           formula_budget=formula_budget)
    except GradlabError as e:
        raise e.located(gf.path, gf.line_offset, gf.col_offset) if not (e.where and e.where.file) else e from None
    checks: list[ExpectedCheck] = []
    node_values = {n.id: n.value for n in report.nodes}
    for k, v in gf.expected_values.items():
        tol = gf.expected_tol[f"values.{k}"]
        actual = node_values.get(k)
        ok = _within(actual, v, tol)
        checks.append(ExpectedCheck("value", k, v, _listed(actual), tol, ok))
    for k, v in gf.expected_grads.items():
        tol = gf.expected_tol[f"grads.{k}"]
        actual = report.grad(k)
        ok = _within(actual, v, tol)
        if isinstance(v, list):
            checks.append(ExpectedCheck("grad", k, v, _listed(actual), tol, ok))
            continue
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
    formulas = _check_formulas(gf)
    return FileReport(gf.path, report, checks, report.ok and all(c.ok for c in checks) and all(f.ok for f in formulas),
                      formulas)


def _check_formulas(gf: GraphFile) -> list[FormulaCheck]:
    """Each claim of the file's [formulas] table, decided by :func:`gradlab.verify`."""
    from .verify import verify

    out = []
    for lhs, rhs in gf.formulas.items():
        try:
            r = verify(gf.graph, lhs, rhs)
        except GradlabError as e:
            raise GraphFileError(f"[formulas] '{lhs}': {e.message}",
                                 Location(file=gf.path, line=gf.formula_lines.get(lhs))) from None
        out.append(FormulaCheck(f"{lhs} = {rhs}", r.ok, r.decided, r.mistake, r.message))
    return out


def _within(actual: Any, expected: Any, tol: float) -> bool:
    """Whether a computed number (or array) is within ``tol`` of the expected one, entry by entry."""
    import numpy as np

    if actual is None:
        return False
    a, e = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    return a.shape == e.shape and bool(np.all(np.abs(a - e) <= np.asarray(tol, dtype=float)))


def _listed(x: Any) -> Any:
    import numpy as np

    return x.tolist() if isinstance(x, np.ndarray) else x


def find_graph_files(paths: list[str]) -> list[Path]:
    """Graph files under the given files and folders (``*.toml``, sorted), checked to exist."""
    found: list[Path] = []
    for p in paths:
        path = Path(p)
        kind = path_kind(path)
        if kind == "folder":
            found.extend(sorted(path.rglob("*.toml")))
        elif kind is not None:
            found.append(path)  # a FIFO or device is refused, one line, when it is read
        else:
            raise GraphFileError(f"no such file or folder: {shown(p)}")
    return found
