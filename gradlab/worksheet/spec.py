"""Worksheet specs (TOML): which graphs, which questions, points, value ranges, number format.

A bare graph file works too (:func:`load_spec` gives it sensible defaults). A spec::

    title = "Backpropagation by hand"
    instructions = "Round to two decimals."
    seed = 2024                    # default seed (the command line's --seed wins)
    variants = 30                  # default number of variants (--variants wins)

    [numbers]                      # how numbers are drawn, printed and graded
    values = "integers"            # or "one decimal" (step 0.1); or step = 0.5
    min = -3
    max = 3
    zero = false                   # allow 0 as an input value (default: no)
    decimals = 2                   # printed answers and the picture's precision
    rtol = 0.01                    # a number is right when |x - key| <= max(atol, rtol*|key|)
    atol = 0.005
    # sigfigs = 2                  # or: right to 2 significant figures

    [grading]
    partial = { sign = 0.5 }       # credit for a named mistake (sign, chain, sigmoid, fork, forward, ...)
    mode = "follow-through"        # or "tolerance" or "strict": see below
    timeout = 5                    # seconds per answer

    [moodle]                       # the Moodle XML export (the command line's --moodle-* win)
    symbolic = "stack"             # formula questions as STACK questions; or "essay" (default) or "skip"
    pictures = "png"               # or "svg" (default): the pictures in the questions

    [[part]]
    graph = "../graphs/neuron_sigmoid_gate.toml"   # relative to the spec; or program = "..."
    title = "A sigmoid neuron"
    description = "The neuron of the lecture."     # the sheet's text for this part (optional)
    questions = ["forward", "backward", "symbolic", "numeric"]
    wrt = ["x0", "x1", "w0", "w1", "w2"]           # symbolic partials (default: every input)
    numeric = ["w0"]                                # partials asked as numbers (default: the first of wrt)
    points = { forward = 0.5, backward = 0.5, symbolic = 2, numeric = 1 }   # per answer box
    aliases = { s = "a" }                           # extra names students may write (α is a's alias already)
    [part.values]                                   # ranges per input (the [numbers] range otherwise)
    x0 = { min = -2, max = 2, step = 0.5 }
    t = 1                                           # a fixed value

Question types: ``forward`` (fill in the forward values on the blank graph), ``backward`` (fill
in the gradients), ``symbolic`` (d output / d input as a formula), ``numeric`` (its value at the
variant's point) and ``matrix`` (for tensor graphs: a gradient as a matrix formula, ``wrt`` the
nodes asked about; ``numeric`` may name entries such as ``B_1_2``). A tensor graph's defaults are
in :mod:`gradlab.worksheet.tensors`.

``[grading] mode`` says how a number blank that follows from earlier blanks is graded: ``follow-through``
(the default: also right when it follows from the student's own earlier answers, so one slip costs once),
``tolerance`` (also right when it follows from the sheet's rounded values, as a student who rounds each
step computes it) or ``strict`` (the key's value only).

A sheet prints a part's ``description`` from the spec. A graph file's own ``description`` is not
printed: it describes the file (its ``[at]`` point, its expected numbers), and every variant has
other numbers.

>>> spec = spec_from_program("z = w0*x0 + w2; a = sigmoid(z)")
>>> spec.parts[0].questions, spec.parts[0].wrt
(['forward', 'backward', 'symbolic'], ['w0', 'x0', 'w2'])
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..check.graphfile import load_graph_file
from ..errors import GradlabError, GraphFileError, Location
from ..fileio import path_kind, read_text, shown
from ..lang.parse import parse_program
from ..model.answerkey import MISTAKES, MODES, Grading
from ..model.graph import Graph
from .grid import Grid

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

QUESTION_TYPES = ("forward", "backward", "symbolic", "matrix", "numeric")
DEFAULT_QUESTIONS = ["forward", "backward", "symbolic"]
DEFAULT_POINTS = {"forward": 0.5, "backward": 0.5, "symbolic": 2.0, "numeric": 1.0, "matrix": 2.0}
MAX_VARIANTS = 1000
SPEC_KEYS = {"title", "instructions", "seed", "variants", "numbers", "grading", "moodle", "part"}
PART_KEYS = {"graph", "program", "title", "description", "questions", "wrt", "numeric", "points", "aliases", "values"}
NUMBER_KEYS = {"values", "min", "max", "step", "zero", "decimals", "rtol", "atol", "sigfigs"}
GRADING_KEYS = {"partial", "timeout", "memory_mb", "student_seconds", "class_seconds", "mode"}
#: The [moodle] table: how formula questions and pictures go to Moodle (see gradlab.worksheet.moodle).
MOODLE_CHOICES = {"symbolic": ("essay", "stack", "skip"), "pictures": ("svg", "png")}
#: How a new worksheet grades numbers that follow from earlier blanks (see answerkey.MODES).
DEFAULT_MODE = "follow-through"
#: Bounds of a value range: no exercise has inputs beyond a million or a grid finer than a millionth.
MAX_VALUE = 1e6
MIN_STEP = 1e-6


class WorksheetError(GradlabError):
    """A worksheet spec that cannot be used, or a graph for which no good variant exists."""


@dataclass
class ValueRange:
    """Values an input may take: ``min`` to ``max`` in steps of ``step`` (1: integers, 0.1: one decimal)."""

    min: float = -3.0
    max: float = 3.0
    step: float = 1.0
    zero: bool = False
    fixed: float | None = None

    def choices(self) -> Sequence[float]:
        """The values to draw from: the fixed value, or the grid (computed by index, see :mod:`.grid`)."""
        if self.fixed is not None:
            return [self.fixed]
        return Grid(self.min, self.max, self.step, zero=self.zero)


@dataclass
class Part:
    """One graph of the worksheet and the questions asked about it."""

    graph: Graph
    source: str
    title: str = ""
    description: str = ""  # the sheet's text for this part (from the spec; see the module docstring)
    questions: list[str] = field(default_factory=lambda: list(DEFAULT_QUESTIONS))
    wrt: list[str] = field(default_factory=list)
    numeric: list[str] = field(default_factory=list)
    points: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_POINTS))
    aliases: dict[str, str] = field(default_factory=dict)
    ranges: dict[str, ValueRange] = field(default_factory=dict)

    @property
    def program(self) -> str:
        return (self.graph.nx.graph.get("source") or "").strip()


@dataclass
class WorksheetSpec:
    """A parsed spec: title, defaults for seed and variant count, number format, grading, parts."""

    title: str
    parts: list[Part]
    instructions: str = ""
    seed: int = 0
    variants: int = 1
    grading: Grading = field(default_factory=lambda: Grading(mode=DEFAULT_MODE))
    path: str = ""
    moodle: dict[str, str] = field(default_factory=dict)  # the [moodle] table: symbolic, pictures


def _fail(msg: str, where: str, line: int | None = None) -> WorksheetError:
    return WorksheetError(msg, Location(file=where, line=line))


def _line(text: str, key: str) -> int | None:
    for i, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"^\s*{re.escape(key)}\s*=", line):
            return i
    return None


def _number(v: Any, what: str, where: str, text: str, key: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
        raise _fail(f"{what} must be a number, got {v!r}", where, _line(text, key))
    return float(v)


def _range(table: Any, base: ValueRange, what: str, where: str, text: str, line: int | None = None) -> ValueRange:
    """A value range from the spec; ``line`` is where it is written (errors name the line of the
    key itself when it has its own)."""
    def at(key: str) -> int | None:
        return (_line(text, key) if line is None else None) or line

    if isinstance(table, (int, float)) and not isinstance(table, bool):
        fixed = float(table)
        if not abs(fixed) <= MAX_VALUE:  # also NaN
            raise _fail(f"{what}: {fixed:g} is too large for an exercise (at most {MAX_VALUE:g})", where, line)
        return ValueRange(base.min, base.max, base.step, True, fixed)
    if isinstance(table, list) and len(table) == 2:
        table = {"min": table[0], "max": table[1]}
    if not isinstance(table, Mapping):
        raise _fail(f"{what}: give a number, [min, max] or {{ min = .., max = .., step = .. }}", where, line)
    unknown = sorted(set(table) - {"min", "max", "step", "zero", "values"})
    if unknown:
        raise _fail(f"{what}: unknown key '{unknown[0]}' (min, max, step, zero, values)", where, at(unknown[0]))
    step = base.step
    if "values" in table:
        kind = str(table["values"]).lower()
        if kind in ("integers", "integer", "int"):
            step = 1.0
        elif kind in ("one decimal", "decimal", "decimals", "0.1"):
            step = 0.1
        else:
            raise _fail(f"{what}: values = \"integers\" or \"one decimal\", got {table['values']!r}", where,
                        at("values"))
    if "step" in table:
        step = _number(table["step"], f"{what}: step", where, text, "step")
    r = ValueRange(_number(table.get("min", base.min), f"{what}: min", where, text, "min"),
                   _number(table.get("max", base.max), f"{what}: max", where, text, "max"), step,
                   bool(table.get("zero", base.zero)))
    for key, v in (("min", r.min), ("max", r.max)):
        if abs(v) > MAX_VALUE:
            raise _fail(f"{what}: {key} {v:g} is too large for an exercise (values from {-MAX_VALUE:g} to "
                        f"{MAX_VALUE:g})", where, at(key))
    if r.step <= 0 or r.max < r.min:
        raise _fail(f"{what}: needs min <= max and a positive step (got min {r.min:g}, max {r.max:g}, step {r.step:g})",
                    where, at("step" if r.step <= 0 else "min"))
    if r.step < MIN_STEP:
        raise _fail(f"{what}: step {r.step:g} is too fine for an exercise (at least {MIN_STEP:g})", where, at("step"))
    if not r.choices():
        raise _fail(f"{what}: the range {r.min:g}..{r.max:g} has no allowed value", where, at("min"))
    return r


def spec_from_graph(graph: Graph, source: str = "<program>", *, title: str = "") -> WorksheetSpec:
    """Default worksheet for one graph: forward and backward blanks, symbolic partials for every input."""
    part = _default_part(graph, source)
    return WorksheetSpec(title or graph.title or "Backpropagation worksheet", [part], path=source)


def _tensor_ranges(graph: Graph) -> dict[str, ValueRange]:
    from .tensors import default_range

    return {n: ValueRange(*default_range(graph, n)) for n in graph.inputs}


def spec_from_program(program: str, *, title: str = "") -> WorksheetSpec:
    """Default worksheet for a program such as ``"z = w0*x0 + w2; a = sigmoid(z)"``."""
    return spec_from_graph(parse_program(program, title=title), title=title)


def _default_part(graph: Graph, source: str) -> Part:
    if graph.is_tensor:
        from .tensors import default_matrix_targets, default_numeric

        targets = default_matrix_targets(graph)
        questions = ["forward"] + (["matrix", "numeric"] if targets else ["backward"])
        return Part(graph, source, title=graph.title, questions=questions, wrt=targets,
                    numeric=default_numeric(graph, targets), ranges=_tensor_ranges(graph))
    return Part(graph, source, title=graph.title, questions=list(DEFAULT_QUESTIONS), wrt=list(graph.inputs),
                numeric=graph.inputs[:1], aliases=_default_aliases(graph))


def _default_aliases(graph: Graph) -> dict[str, str]:
    """α for an output called ``a`` (the textbook writes α = σ(z))."""
    out = graph.output
    return {"alpha": out} if out == "a" and "alpha" not in graph else {}


def load_spec(path: str | Path) -> WorksheetSpec:
    """A worksheet spec, or a graph file with defaults; errors name the file and line."""
    p = Path(path)
    if path_kind(p) is None:
        raise WorksheetError(f"no such spec or graph file: {shown(p)}")
    text = read_text(p, "worksheet spec", error=WorksheetError, bom=True)  # a byte-order mark, as some editors write
    where = str(p)
    data = _read_toml(text, where)
    if "part" not in data and "program" in data:
        gf = load_graph_file(p)
        return spec_from_graph(gf.graph, where, title=gf.title)  # the file's description is not the sheet's
    return parse_spec(data, text, where, base=p.parent)


def _read_toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise _fail(f"not valid TOML: {e}", where) from None
    except RecursionError:
        raise _fail("not valid TOML: arrays or tables nested too deeply", where) from None


def parse_spec(data: Mapping[str, Any] | str, text: str = "", where: str = "<spec>", *,
               base: Path = Path(".")) -> WorksheetSpec:
    """A spec from parsed TOML, or from the TOML text itself (see the module docstring); a ``graph = "file"``
    in it is found relative to ``base``.

    >>> parse_spec('title = "Quiz"\\n[[part]]\\nprogram = "f = x*y"').title
    'Quiz'
    """
    if isinstance(data, str):
        text = data
        data = _read_toml(text, where)
    unknown = sorted(set(data) - SPEC_KEYS)
    if unknown:
        raise _fail(f"unknown key '{unknown[0]}'; a worksheet spec has {', '.join(sorted(SPEC_KEYS))} "
                    "(or give a graph file)", where, _line(text, unknown[0]))
    numbers = data.get("numbers", {})
    if not isinstance(numbers, Mapping):
        raise _fail("[numbers] must be a table", where)
    bad = sorted(set(numbers) - NUMBER_KEYS)
    if bad:
        raise _fail(f"[numbers]: unknown key '{bad[0]}' ({', '.join(sorted(NUMBER_KEYS))})", where, _line(text, bad[0]))
    base_range = _range({k: v for k, v in numbers.items() if k in ("min", "max", "step", "zero", "values")},
                        ValueRange(), "[numbers]", where, text)
    explicit = any(k in numbers for k in ("min", "max", "step", "values"))
    grading = Grading(mode=DEFAULT_MODE)
    for key in ("rtol", "atol"):
        if key in numbers:
            setattr(grading, key, _number(numbers[key], f"[numbers] {key}", where, text, key))
    if "decimals" in numbers:
        d = numbers["decimals"]
        if isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 8:
            raise _fail("[numbers] decimals must be a whole number from 0 to 8", where, _line(text, "decimals"))
        grading.decimals = d
        if "atol" not in numbers:
            grading.atol = 0.5 * 10.0 ** -d
    if "sigfigs" in numbers:
        s = numbers["sigfigs"]
        if isinstance(s, bool) or not isinstance(s, int) or not 1 <= s <= 10:
            raise _fail("[numbers] sigfigs must be a whole number from 1 to 10", where, _line(text, "sigfigs"))
        grading.sigfigs = s
    g = data.get("grading", {})
    if not isinstance(g, Mapping):
        raise _fail("[grading] must be a table", where)
    bad = sorted(set(g) - GRADING_KEYS)
    if bad:
        raise _fail(f"[grading]: unknown key '{bad[0]}' ({', '.join(sorted(GRADING_KEYS))})", where, _line(text, bad[0]))
    if "partial" in g:
        partial = g["partial"]
        if not isinstance(partial, Mapping):
            raise _fail("[grading] partial must be a table: partial = { sign = 0.5 }", where, _line(text, "partial"))
        for k, v in partial.items():
            if k not in MISTAKES:
                raise _fail(f"[grading] partial: unknown mistake '{k}' (known: {', '.join(MISTAKES)})", where,
                            _line(text, "partial"))
            val = _number(v, f"partial credit for {k}", where, text, "partial")
            if not 0 <= val <= 1:
                raise _fail(f"partial credit for {k} must be between 0 and 1", where, _line(text, "partial"))
        grading.partial = {k: float(v) for k, v in partial.items()}
    if "mode" in g:
        if g["mode"] not in MODES:
            raise _fail(f"[grading] mode must be one of {', '.join(MODES)}, got {g['mode']!r}", where, _line(text, "mode"))
        grading.mode = g["mode"]
    if "timeout" in g:
        grading.timeout = max(0.5, min(60.0, _number(g["timeout"], "[grading] timeout", where, text, "timeout")))
    if "memory_mb" in g:
        grading.memory_mb = int(max(128, _number(g["memory_mb"], "[grading] memory_mb", where, text, "memory_mb")))
    for key, hi in (("student_seconds", 86400.0), ("class_seconds", 604800.0)):
        if key in g:
            seconds = _number(g[key], f"[grading] {key}", where, text, key)
            if not 1 <= seconds <= hi:
                raise _fail(f"[grading] {key} must be from 1 to {hi:g} seconds", where, _line(text, key))
            setattr(grading, key, seconds)

    moodle = data.get("moodle", {})
    if not isinstance(moodle, Mapping):
        raise _fail("[moodle] must be a table", where)
    for key, value in moodle.items():
        if key not in MOODLE_CHOICES:
            raise _fail(f"[moodle]: unknown key '{key}' ({', '.join(sorted(MOODLE_CHOICES))})", where, _line(text, key))
        if value not in MOODLE_CHOICES[key]:
            raise _fail(f"[moodle] {key} must be one of {', '.join(MOODLE_CHOICES[key])}, got {value!r}", where,
                        _line(text, key))

    parts_data = data.get("part")
    if not isinstance(parts_data, list) or not parts_data:
        raise _fail("the spec needs at least one [[part]] with a graph = \"file.toml\" or a program = \"...\"", where)
    parts = [_part(i, p, base, base_range, explicit, where, text) for i, p in enumerate(parts_data, start=1)]
    seed = data.get("seed", 0)
    variants = data.get("variants", 1)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise _fail("seed must be a whole number", where, _line(text, "seed"))
    if isinstance(variants, bool) or not isinstance(variants, int) or not 1 <= variants <= MAX_VARIANTS:
        raise _fail(f"variants must be a whole number from 1 to {MAX_VARIANTS}", where, _line(text, "variants"))
    return WorksheetSpec(str(data.get("title", "Backpropagation worksheet")), parts, str(data.get("instructions", "")),
                         seed, variants, grading, where, {str(k): str(v) for k, v in moodle.items()})


def _part(i: int, d: Any, base: Path, base_range: ValueRange, explicit: bool, where: str, text: str) -> Part:
    """One [[part]]; ``base_range`` is the [numbers] range; when the spec gives none (``explicit`` is
    False) a tensor graph keeps its own default ranges (:mod:`gradlab.worksheet.tensors`)."""
    what = f"part {i}"
    if not isinstance(d, Mapping):
        raise _fail(f"{what} must be a table [[part]]", where)
    bad = sorted(set(d) - PART_KEYS)
    if bad:
        raise _fail(f"{what}: unknown key '{bad[0]}' ({', '.join(sorted(PART_KEYS))})", where, _line(text, bad[0]))
    if ("graph" in d) == ("program" in d):
        raise _fail(f"{what}: give either graph = \"file.toml\" or program = \"...\"", where)
    title = str(d.get("title", ""))
    description = str(d.get("description", ""))
    try:
        if "graph" in d:
            gpath = (base / str(d["graph"])).resolve()
            gf = load_graph_file(gpath)
            graph, source = gf.graph, str(d["graph"])
            title = title or gf.title
        else:
            graph, source = parse_program(str(d["program"]), title=title), "program"
    except GraphFileError:
        raise
    except GradlabError as e:
        raise _fail(f"{what}: {e}", where) from None
    part = _default_part(graph, source)
    part.title, part.description = title, description
    if "questions" in d:
        qs = d["questions"]
        if not isinstance(qs, list) or not qs or any(q not in QUESTION_TYPES for q in qs):
            raise _fail(f"{what}: questions is a list from {', '.join(QUESTION_TYPES)}", where, _line(text, "questions"))
        part.questions = [q for q in QUESTION_TYPES if q in qs]
    for key in ("wrt", "numeric"):
        if key in d:
            names = d[key]
            if not isinstance(names, list) or any(not _names_node(graph, n, entries=key == "numeric") for n in names):
                extra = " or their entries (B_1_2)" if key == "numeric" and graph.is_tensor else ""
                raise _fail(f"{what}: {key} lists nodes of the graph{extra} (inputs: {', '.join(graph.inputs)})", where,
                            _line(text, key))
            setattr(part, key, [str(n) for n in names])
    if graph.is_tensor and "wrt" in d:
        from .tensors import checked_forms

        forms = checked_forms(graph)
        missing = [n for n in part.wrt if n not in forms]
        if missing and "matrix" in part.questions:
            raise _fail(f"{what}: gradlab has no matrix form of d{graph.output}/d{missing[0]} to ask for (ask for its "
                        f"entries instead: numeric = [\"{missing[0]}\"]); matrix forms exist for "
                        f"{', '.join(forms) or 'no node'}", where, _line(text, "wrt"))
    if "wrt" in d and "numeric" not in d:
        if graph.is_tensor:
            from .tensors import default_numeric

            part.numeric = default_numeric(graph, part.wrt)
        else:
            part.numeric = part.wrt[:1]
    if "points" in d:
        pts = d["points"]
        if not isinstance(pts, Mapping) or any(k not in QUESTION_TYPES for k in pts):
            raise _fail(f"{what}: points = {{ forward = 0.5, symbolic = 2, ... }}", where, _line(text, "points"))
        for k, v in pts.items():
            part.points[k] = _number(v, f"{what}: points for {k}", where, text, "points")
    if "aliases" in d:
        al = d["aliases"]
        if not isinstance(al, Mapping):
            raise _fail(f"{what}: aliases = {{ s = \"a\" }}", where, _line(text, "aliases"))
        for k, v in al.items():
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", str(k)) or str(k) in graph:
                raise _fail(f"{what}: alias '{k}' must be a new plain name", where, _line(text, "aliases"))
            _check_alias(graph, str(k), v, f"{what}: alias '{k}'", where, _line(text, "aliases"))
            part.aliases[str(k)] = str(v)
    values = d.get("values", {})
    if not isinstance(values, Mapping):
        raise _fail(f"{what}: [part.values] must be a table", where)
    for n in graph.inputs:
        if graph.is_tensor and not explicit and n in part.ranges:
            part.ranges[n].zero = base_range.zero
        else:
            part.ranges[n] = base_range
    for k, v in values.items():
        if k not in graph.inputs:
            raise _fail(f"{what}: [part.values] names '{k}', which is not an input (inputs: {', '.join(graph.inputs)})",
                        where, _line(text, k))
        part.ranges[k] = _range(v, part.ranges[k], f"{what}: values of {k}", where, text, _line(text, k))
    return part


def _check_alias(graph: Graph, alias: str, target: Any, what: str, where: str, line: int | None) -> None:
    """An alias stands for a node of the graph (``s = "a"``) or a formula in its names
    (``s = "sigmoid(z)"``): checked now, so that grading never meets a name it cannot read."""
    if not isinstance(target, str) or not target.strip():
        raise _fail(f"{what} must name a node of the graph or be a formula in its names, got {target!r}", where, line)
    names = [n for n in graph.nodes if n in graph.inputs or graph.attrs(n).get("named")]  # what a formula may use
    if target in names:
        return
    nodes = ", ".join(names)
    if graph.is_tensor:
        raise _fail(f"{what}: '{target}' is not a node of the graph (nodes: {nodes})", where, line)
    import sympy as sp

    from ..lang.expr import parse_expression

    try:
        parse_expression(target, {n: sp.Symbol(n) for n in names}, unknown_names=False)
    except GradlabError as e:
        raise _fail(f"{what} = {target!r} is neither a node of the graph ({nodes}) nor a formula in its names: "
                    f"{e.message}", where, line) from None


def _names_node(graph: Graph, name: Any, *, entries: bool) -> bool:
    if not isinstance(name, str):
        return False
    if name in graph.inputs or name in graph:
        return True
    if entries and graph.is_tensor:
        from .tensors import split_entry

        return split_entry(graph, name) is not None
    return False
