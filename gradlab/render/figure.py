"""What a picture shows, as plain data: every wire with its value slot (above) and gradient slot
(below), every node, the blanks and the caption. :mod:`gradlab.render.dot` writes it as DOT.

Wires are ``(u, v, k)`` as in the graph model ("u is argument k of gate v"), plus the output
wire ``(output, None, 0)`` that leads from the output gate to the output's name at the right.
The value on a wire is the value of ``u``; the gradient on a wire is d output / d (that wire):
the adjoint of ``v`` times the local derivative d v / d u (``Evaluation.edge_adjoints``). Where
a node feeds several wires, its own gradient is their sum (drawn as ``Σ`` beside the node).
"""

from __future__ import annotations

import contextlib
import gc
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Iterable, Iterator, Mapping, Optional

import numpy as np

from ..errors import RenderError
from ..model.graph import Graph
from . import style as st

Wire = tuple[str, Optional[str], int]

MODES = ("auto", "solution", "forward", "structure")
SYMBOLIC = (None, "local", "full")
NAMES = ("auto", "all", "none")
BLANK_KEYWORDS = ("gradients", "values", "all", "inputs")
KINDS = ("value", "gradient")
#: How many chain-rule paths the caption of a highlighted picture writes out.
MAX_PATHS = 6


@dataclass(frozen=True)
class RenderOptions:
    """How to draw a graph (every keyword of :func:`gradlab.render.to_dot` and friends).

    mode:       ``auto`` (solution when values are known, else structure), ``solution`` (values
                above, gradients below), ``forward`` (values only), ``structure`` (no numbers)
    blanks:     ``None``; ``True`` or ``"gradients"``; ``"values"`` (all but the inputs'); ``"all"``;
                ``"inputs"`` (the gradients at the inputs); or a list of targets: a node name (the
                gradients on its wires), ``"value:z"`` / ``"grad:z"``, a wire ``"x0->t1"`` /
                ``"x0->t1#0"`` or a tuple ``(u, v, k)``; see :func:`resolve_blanks`
    numbered:   draw blanks as ``(1)``, ``(2)``, ... (their numbers in the blank map) instead of ``?``
    first_blank: the number of the first blank (a sheet with several pictures numbers on)
    symbolic:   ``None``; ``"local"`` (each wire's local derivative d v/d u as a formula) or
                ``"full"`` (d output / d wire as a formula) in the gradient slot
    highlight:  a node name: the chain-rule path(s) from the output back to it, with the product
                of the local gradients written out below the picture
    precision:  decimals of printed numbers
    theme, palette: ``light``/``dark``; ``classic`` (green/red) or ``colorblind`` (blue/vermillion)
    group:      boxes around each statement of the program (``None``: when the graph is big)
    names:      the name of the value a wire carries, in small print above it: ``auto`` (the
                program's names; every node's name when symbolic or highlighting), ``all``, ``none``
    title:      ``True`` for the graph's title above the picture, or a text
    inputs_left: all inputs in one column at the left (``None``: unless statements are boxed)
    fontsize, max_formula, formula_width: label size in points; longest formula before it falls
                back to a shorter form; characters per line of a formula
    """

    mode: str = "auto"
    blanks: Any = None
    numbered: bool = False
    symbolic: Optional[str] = None
    highlight: Optional[str] = None
    precision: int = 2
    theme: str = "light"
    palette: str = "classic"
    group: Optional[bool] = None
    names: str = "auto"
    title: Any = False
    inputs_left: Optional[bool] = None
    first_blank: int = 1
    fontsize: float = 13.0
    max_formula: int = 90
    formula_width: int = 18

    def __post_init__(self) -> None:
        def bad(what: str, value: Any, choices: Iterable[Any]) -> RenderError:
            return RenderError(f"unknown {what} {value!r}; choose from {', '.join(repr(c) for c in choices)}")

        if self.mode not in MODES:
            raise bad("mode", self.mode, MODES)
        if self.symbolic not in SYMBOLIC:
            raise bad("symbolic label kind", self.symbolic, SYMBOLIC[1:])
        if self.theme not in st.THEMES:
            raise bad("theme", self.theme, st.THEMES)
        if self.palette not in st.PALETTES:
            raise bad("palette", self.palette, st.PALETTES)
        if self.names not in NAMES:
            raise bad("names setting", self.names, NAMES)
        if isinstance(self.precision, bool) or not isinstance(self.precision, int) or not 0 <= self.precision <= 12:
            raise RenderError(f"precision must be a whole number from 0 to 12, got {self.precision!r}")
        if isinstance(self.first_blank, bool) or not isinstance(self.first_blank, int) or self.first_blank < 0:
            raise RenderError(f"first_blank must be a whole number >= 0, got {self.first_blank!r}")
        if isinstance(self.blanks, str) and self.blanks not in BLANK_KEYWORDS and not _looks_like_target(self.blanks):
            raise bad("blanks keyword", self.blanks, BLANK_KEYWORDS)

    @property
    def style(self) -> st.Style:
        return st.style(self.theme, self.palette)


def _looks_like_target(text: str) -> bool:
    return ":" in text or "->" in text or text.replace("_", "a").isalnum()


def options(opts: RenderOptions | None = None, **kwargs: Any) -> RenderOptions:
    """Options from a :class:`RenderOptions` and/or keywords (keywords win)."""
    base = opts or RenderOptions()
    unknown = sorted(set(kwargs) - set(RenderOptions.__dataclass_fields__))
    if unknown:
        raise RenderError(f"unknown rendering option '{unknown[0]}'; known: "
                          f"{', '.join(RenderOptions.__dataclass_fields__)}")
    return replace(base, **kwargs) if kwargs else base


# ----------------------------------------------------------------------------- blanks


@dataclass(frozen=True)
class Blank:
    """One blank of a worksheet picture: what is hidden where, and the answer.

    ``number`` counts values first (in forward order), then gradients in the order the backward
    pass finds them (the output's first); ``marker`` is what the picture shows (``?`` or ``(3)``).
    ``wire`` is ``(u, v, k)``, or ``(output, None, 0)`` for the output wire; ``node`` is ``u``, the
    node whose value (or a share of whose gradient) the wire carries. ``answer`` is the number
    (a nested list for a tensor, ``None`` without values), ``text`` the answer as the solution
    picture prints it, ``formula`` the answer as a formula in symbolic pictures.
    """

    number: int
    marker: str
    kind: str
    wire: Wire
    node: str
    answer: Any = None
    text: str = ""
    formula: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        u, v, k = self.wire
        d["wire"] = {"source": u, "target": v, "key": k}
        return d


def wire_text(w: Wire, graph: Graph | None = None) -> str:
    """``x0->t1``, or ``x->t1#1`` for the second of several wires from x into t1 (always with ``#k``
    when no graph is given); the output wire is ``a->output``. :func:`resolve_blanks` reads these back."""
    u, v, k = w
    if v is None:
        return f"{u}->output"
    if graph is not None and graph.nx.number_of_edges(u, v) == 1:
        return f"{u}->{v}"
    return f"{u}->{v}#{k}"


def graph_wires(graph: Graph) -> list[Wire]:
    """Every wire of the picture in drawing order: the graph's wires by source node, then the output wire."""
    out = graph.output
    nodes = graph.nodes
    pos = {n: i for i, n in enumerate(nodes)}
    succ = graph.nx.succ  # the adjacency dicts: much faster than edge views on big graphs
    wires: list[Wire] = []
    for u in nodes:
        out_wires = sorted(((u, v, k) for v, keys in succ[u].items() for k in keys), key=lambda e: (pos[e[1]], e[2]))
        wires.extend(out_wires)
        if u == out:
            wires.append((u, None, 0))
    return wires


def _parse_target(item: Any, graph: Graph, wires_of: Mapping[str, list[Wire]],
                  all_wires: set[Wire]) -> tuple[list[str], list[Wire]]:
    """One blank target -> (kinds, wires)."""
    kinds = ["gradient"]
    target = item
    if isinstance(item, tuple) and len(item) == 2 and item[0] in ("value", "gradient", "grad"):
        kinds, target = ["value" if item[0] == "value" else "gradient"], item[1]
    elif isinstance(item, str) and ":" in item:
        prefix, rest = item.split(":", 1)
        prefix = prefix.strip()
        if prefix not in ("value", "grad", "gradient", "both"):
            raise RenderError(f"blank '{item}': the part before ':' must be value, grad or both")
        kinds = ["value", "gradient"] if prefix == "both" else ["value" if prefix == "value" else "gradient"]
        target = rest.strip()
    if isinstance(target, tuple):
        if len(target) == 2:
            target = (target[0], target[1], None)
        if len(target) != 3:
            raise RenderError(f"blank {item!r}: a wire is (u, v, k)")
        u, v, k = target
        return kinds, _wires_between(graph, u, v, k, all_wires, item)
    if not isinstance(target, str):
        raise RenderError(f"blank {item!r}: give a node name, 'value:name', 'u->v' or a tuple (u, v, k)")
    if "->" in target:
        u, rest = (s.strip() for s in target.split("->", 1))
        v, _, k = rest.partition("#")
        v_val: str | None = None if v.strip() == "output" and v.strip() not in graph else v.strip()
        try:
            k_val = int(k) if k.strip() else None
        except ValueError:
            raise RenderError(f"blank '{item}': the wire number after '#' must be a whole number") from None
        return kinds, _wires_between(graph, u, v_val, k_val, all_wires, item)
    if target not in graph:
        raise RenderError(f"blank '{item}': there is no node '{target}' (nodes: {', '.join(graph.nodes)})")
    return kinds, list(wires_of[target])


def _wires_between(graph: Graph, u: str, v: str | None, k: int | None, all_wires: set[Wire], item: Any) -> list[Wire]:
    found = [w for w in all_wires if w[0] == u and w[1] == v and (k is None or w[2] == k)]
    if not found:
        raise RenderError(f"blank {item!r}: there is no wire {u} -> {v if v is not None else 'output'}"
                          + (f" #{k}" if k is not None else ""))
    return sorted(found, key=lambda w: w[2])


def resolve_blanks(graph: Graph, spec: Any, wires: list[Wire] | None = None) -> set[tuple[str, Wire]]:
    """The (kind, wire) slots a blank spec hides (see :class:`RenderOptions`).

    >>> g = Graph.parse("f = x*y")
    >>> sorted(resolve_blanks(g, ["value:f", "x"]))
    [('gradient', ('x', 'f', 0)), ('value', ('f', None, 0))]
    """
    if spec is None or spec is False:
        return set()
    wires = wires if wires is not None else graph_wires(graph)
    all_wires = set(wires)
    if spec is True:
        spec = "gradients"
    if isinstance(spec, str) and spec in BLANK_KEYWORDS:
        leaf = {n for n in graph.nodes if graph.kind(n) != "op"}
        if spec == "gradients":
            return {("gradient", w) for w in wires}
        if spec == "inputs":
            return {("gradient", w) for w in wires if graph.kind(w[0]) == "input"}
        values = {("value", w) for w in wires if w[0] not in leaf}
        if spec == "values":
            return values
        return values | {("gradient", w) for w in wires}
    items = [spec] if isinstance(spec, (str, tuple)) else list(spec)
    wires_of: dict[str, list[Wire]] = {n: [] for n in graph.nodes}
    for w in wires:
        wires_of[w[0]].append(w)
    chosen: set[tuple[str, Wire]] = set()
    for item in items:
        if isinstance(item, str) and item in BLANK_KEYWORDS:
            chosen |= resolve_blanks(graph, item, wires)
            continue
        kinds, ws = _parse_target(item, graph, wires_of, all_wires)
        chosen |= {(kind, w) for kind in kinds for w in ws}
    return chosen


def blank_order(graph: Graph, slots: Iterable[tuple[str, Wire]]) -> list[tuple[str, Wire]]:
    """Values in forward order, then gradients in the order the backward pass finds them."""
    pos = {n: i for i, n in enumerate(graph.nodes)}
    end = len(pos)

    def key(s: tuple[str, Wire]) -> tuple[Any, ...]:
        kind, (u, v, k) = s
        pv = end if v is None else pos[v]
        if kind == "value":
            return (0, pos[u], pv, k)
        return (1, -pv, k, -pos[u])

    return sorted(slots, key=key)


# ----------------------------------------------------------------------------- the figure


@dataclass
class Slot:
    """What a wire shows above (``value``) or below (``gradient``) it."""

    kind: str
    lines: list[str] = field(default_factory=list)
    matrix: Optional[list[list[str]]] = None  # a small vector or matrix: rows of cells
    blank: Optional[Blank] = None
    emphasis: bool = False  # new in this backward step


@dataclass
class WireView:
    wire: Wire
    value: Slot
    gradient: Slot
    width: int  # points reserved for the label, the same in every version of a picture
    highlighted: bool = False
    local: Optional[str] = None  # the local gradient on a highlighted wire
    statement: Optional[int] = None
    const: bool = False
    name: Optional[str] = None  # the name of the value on the wire (the gate's node name)
    shape: Optional[str] = None  # a tensor's shape, ``2×3``


@dataclass
class NodeView:
    id: str
    kind: str  # input, const, op, output
    label: str
    tooltip: str = ""
    total: Optional[str] = None  # Σ of the gradients on the node's wires, at a fork
    total_width: int = 0  # points reserved for it
    statement: Optional[int] = None
    current: bool = False
    highlighted: bool = False


@dataclass
class Figure:
    graph: Graph
    options: RenderOptions
    nodes: list[NodeView]
    wires: list[WireView]
    blanks: list[Blank]
    clusters: dict[int, str]
    caption: list[tuple[str, str]]  # (line, "text" or "highlight")
    title: str
    mode: str
    caption_width: int = 0  # points reserved for the caption (backward steps: the widest step's)


class _Values:
    """Numbers of one evaluation, read the same way for scalars and tensors."""

    def __init__(self, graph: Graph, ev: Any) -> None:
        self.graph = graph
        self.ev = ev
        self._local: dict[str, list[np.ndarray]] = {}  # d node / d argument_k of each gate, by node

    def shape(self, n: str) -> tuple[int, ...]:
        return tuple(self.graph.attrs(n).get("shape") or ())

    def array(self, n: str, a: Any) -> np.ndarray:
        shape = self.shape(n)
        arr = np.asarray(a, dtype=float)
        if arr.shape == shape:
            return arr
        size = int(np.prod(shape)) if shape else 1
        if arr.size == size:
            return arr.reshape(shape)
        raise RenderError(f"a picture shows one point, but the values of '{n}' have shape {arr.shape} "
                          f"(node shape {shape}): evaluate at one point, not a batch")

    def value(self, n: str) -> np.ndarray:
        return self.array(n, self.ev.values[n])

    def adjoint(self, n: str) -> np.ndarray:
        return self.array(n, self.ev.adjoints[n])

    def wire_gradient(self, w: Wire) -> np.ndarray | None:
        u, v, k = w
        if v is None:
            return self.adjoint(u)
        ea = getattr(self.ev, "edge_adjoints", None) or {}
        if (u, v, k) in ea:
            return self.array(u, ea[(u, v, k)])
        if self.graph.nx.out_degree(u) == 1 and u != self.graph.output:
            return self.adjoint(u)
        return None

    def local(self, w: Wire) -> float | None:
        """d v / d u on a wire, for scalar gates (``None`` for tensors)."""
        u, v, k = w
        if v is None:
            return 1.0
        if self.shape(u) or self.shape(v):
            return None
        loc = getattr(self.ev, "local", None) or {}
        if (u, v, k) in loc:
            return float(np.asarray(loc[(u, v, k)]).reshape(()))
        from ..engine.numeric import local_partials

        if v not in self._local:
            self._local[v] = local_partials(self.graph, v, self.ev.values)
        return float(np.asarray(self._local[v][k]).reshape(()))


@dataclass
class _Content:
    """What one slot would show: text lines (a matrix's rows as cells), the answer, the formula."""

    lines: list[str] = field(default_factory=list)
    matrix: Optional[list[list[str]]] = None
    answer: Any = None
    formula: Optional[str] = None

    def text(self) -> str:
        return "\n".join(self.lines)


def _numbers(vals: _Values, n: str, a: np.ndarray | None, precision: int) -> _Content:
    """A number, or a small vector/matrix (rows of cells), or a big tensor's range."""
    if a is None:
        return _Content(["–"])
    shape = vals.shape(n)
    if not shape:
        return _Content([st.number(a, precision)], answer=_answer(a))
    return _Content(st.tensor_lines(a, shape, precision), st.tensor_cells(a, shape, precision), _answer(a))


def _answer(a: np.ndarray | None) -> Any:
    if a is None:
        return None
    return float(a) if a.ndim == 0 else a.tolist()


class _Formulas:
    """Formula labels for symbolic pictures, from :func:`gradlab.symbolic_gradients`."""

    def __init__(self, graph: Graph, limit: int) -> None:
        import sympy as sp

        from ..engine.symbolic import node_symbol, symbolic_gradients, tidy

        self.sp, self.tidy, self.node_symbol = sp, tidy, node_symbol
        self.graph = graph
        self.limit = limit
        self.sg = symbolic_gradients(graph)
        self._sub: dict[Any, Any] | None = None

    def _anonymous(self) -> dict[Any, Any]:
        if self._sub is None:
            g = self.graph
            self._sub = {self.node_symbol(n): self.sg.named_value_expr(n) for n in g.op_nodes if not g.attrs(n).get("named")}
        return self._sub

    def _short(self, text: str, fallback: str | None = None) -> str:
        if len(text) <= self.limit:
            return text
        if fallback is not None and len(fallback) <= self.limit:
            return fallback
        return text[: self.limit - 1] + "…"

    def value(self, n: str) -> str:
        g = self.graph
        d = g.attrs(n)
        if d["kind"] != "op" or d.get("named") or not self.sg.small:
            return n if d["kind"] != "const" else str(d["label"])
        return self._short(st.formula(self.sg.named_value_expr(n)), n)

    def local(self, w: Wire) -> str:
        u, v, k = w
        if v is None:
            return "1"
        return self._short(st.formula(self.sg.partials[(u, v, k)]))

    def full(self, w: Wire) -> str:
        u, v, k = w
        sp = self.sp
        if v is None:
            return "1"
        out = self.graph.output
        local = self.sg.partials[(u, v, k)]
        staged = sp.Symbol(f"∂{out}/∂{v}") * local if v != out else local
        if self.sg.form(v) == "staged":
            return self._short(st.formula(staged))
        e = self.sg.readable_named(v) * local.xreplace(self._anonymous())
        if sp.count_ops(e) <= 40:
            e = self.tidy(e)
        return self._short(st.formula(e), st.formula(staged))


def _names(graph: Graph, opts: RenderOptions) -> set[str]:
    setting = opts.names
    if setting == "auto":
        setting = "all" if (opts.symbolic or opts.highlight) else "named"
    if setting == "none":
        return set()
    ops = graph.op_nodes
    if setting == "all":
        return set(ops)
    return {n for n in ops if graph.attrs(n).get("named")}


def _want_groups(graph: Graph, opts: RenderOptions) -> bool:
    statements = {graph.attrs(n).get("statement") for n in graph.op_nodes} - {None}
    if opts.group is not None:
        return bool(opts.group) and len(statements) > 1
    return len(statements) > 1 and len(graph.op_nodes) > 12


def build_figure(graph: Graph, evaluation: Any, opts: RenderOptions, *,
                 known: set[Wire] | None = None, new: set[Wire] = frozenset(),  # type: ignore[assignment]
                 current: str | None = None, caption: list[str] | None = None) -> Figure:
    """The picture as data. ``known`` (backward steps) limits the gradients shown to those wires;
    ``new`` marks the gradients found in this step and ``current`` the gate being worked on."""
    with _no_gc():  # many small objects and no cycles: the collector would only slow big graphs down
        return _build_figure(graph, evaluation, opts, known, new, current, caption)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _build_figure(graph: Graph, evaluation: Any, opts: RenderOptions, known: set[Wire] | None, new: set[Wire],
                  current: str | None, caption: list[str] | None) -> Figure:
    graph.validate()
    mode = opts.mode
    has_values = evaluation is not None
    if mode == "auto":
        mode = "solution" if (has_values or opts.symbolic) else "structure"
    if mode in ("solution", "forward") and not has_values and not opts.symbolic:
        raise RenderError(f"mode '{mode}' shows numbers: give the input values (at={{...}}, or --at x=1 ...)")
    vals = _Values(graph, evaluation) if has_values else None
    forms = _Formulas(graph, opts.max_formula) if opts.symbolic else None
    show_values = mode in ("solution", "forward")
    show_grads = mode == "solution"
    out = graph.output
    wires = graph_wires(graph)
    blank_slots = resolve_blanks(graph, opts.blanks, wires)

    # what every slot would show --------------------------------------------------------
    content: dict[tuple[str, Wire], _Content] = {}
    by_node: dict[str, _Content] = {}

    def value_content(u: str) -> _Content:
        if u not in by_node:
            c = _numbers(vals, u, vals.value(u), opts.precision) if vals is not None else _Content()
            if forms is not None:
                c.formula = forms.value(u)
                if vals is None:
                    c.lines = st.wrap_formula(c.formula, opts.formula_width)
            by_node[u] = c
        return by_node[u]

    def gradient_content(w: Wire) -> _Content:
        if forms is None:
            return _numbers(vals, w[0], vals.wire_gradient(w), opts.precision) if vals is not None else _Content()
        if opts.symbolic == "local":
            fm = forms.local(w)
            num = vals.local(w) if vals is not None else None
            a = None if num is None else np.asarray(num)
        else:
            fm = forms.full(w)
            a = vals.wire_gradient(w) if vals is not None else None
        flines = st.wrap_formula(fm, opts.formula_width)
        if a is None:
            return _Content(flines, formula=fm)
        c = _numbers(vals, w[0], a, opts.precision)  # type: ignore[arg-type]
        if not _is_number(fm):  # "1" needs no "= 1.00"
            flines = flines + (["= " + c.lines[0]] if c.matrix is None else c.lines)
        return _Content(flines, None, c.answer, fm)

    for w in wires:
        content[("value", w)] = value_content(w[0])
        content[("gradient", w)] = gradient_content(w)

    blanks: list[Blank] = []
    blank_of: dict[tuple[str, Wire], Blank] = {}
    for i, (kind, w) in enumerate(blank_order(graph, blank_slots), start=opts.first_blank):
        c = content[(kind, w)]
        blank = Blank(number=i, marker=f"({i})" if opts.numbered else "?", kind=kind, wire=w, node=w[0],
                      answer=c.answer, text=c.text(), formula=c.formula)
        blanks.append(blank)
        blank_of[(kind, w)] = blank

    # highlight --------------------------------------------------------------------------
    path_wires: set[Wire] = set()
    path_nodes: set[str] = set()
    highlight_caption: list[str] = []
    if opts.highlight is not None:
        path_wires, path_nodes, highlight_caption = _highlight(graph, opts, vals, forms)

    # wires --------------------------------------------------------------------------------
    names = _names(graph, opts)
    home = _statement_homes(graph) if _want_groups(graph, opts) else {}
    fs = opts.fontsize
    views: list[WireView] = []
    for w in wires:
        u, v, k = w
        vcon, gcon = content[("value", w)], content[("gradient", w)]
        grad_known = known is None or w in known
        value = Slot("value", list(vcon.lines), vcon.matrix) if show_values else Slot("value")
        grad = (Slot("gradient", list(gcon.lines), gcon.matrix, emphasis=w in new) if show_grads and grad_known
                else Slot("gradient"))
        for kind in KINDS:
            b = blank_of.get((kind, w))
            if b is not None and (kind == "value" or grad_known):
                slot = Slot(kind, [b.marker], None, b, emphasis=kind == "gradient" and w in new)
                value, grad = (slot, grad) if kind == "value" else (value, slot)
        texts = vcon.lines + gcon.lines + [b.marker for kind in KINDS if (b := blank_of.get((kind, w)))]
        width = max([st.width_points(t, fs, bold=True) for t in texts] + [int(2.4 * fs)])  # bold: steps, blanks
        shape = tuple(graph.attrs(u).get("shape") or ())
        local = None
        if w in path_wires and vals is not None and v is not None:
            lv = vals.local(w)
            local = None if lv is None else "×" + _paren(st.number(lv, opts.precision))
        statement = home.get(u) if v is not None and home.get(u) == home.get(v) else None
        views.append(WireView(w, value, grad, width, highlighted=w in path_wires, local=local,
                              statement=statement, const=graph.kind(u) == "const",
                              name=u if u in names and v is not None else None,
                              shape=st.shape_text(shape) if shape else None))

    # nodes ---------------------------------------------------------------------------------
    wires_of: dict[str, list[Wire]] = {}
    for w in wires:
        wires_of.setdefault(w[0], []).append(w)
    nodes: list[NodeView] = []
    for n in graph.nodes:
        d = graph.attrs(n)
        kind = d["kind"]
        shape = tuple(d.get("shape") or ())
        tooltip = graph.describe(n)
        if vals is not None:
            a = vals.value(n)
            tooltip += " = " + ("\n".join(st.tensor_lines(a, shape, opts.precision)) if shape
                                else st.number(a, opts.precision))
        total, total_width = None, 0
        mine = wires_of.get(n, [])
        if vals is not None and show_grads and len(mine) > 1 and not shape:
            # at a fork: the sum of the wires' gradients; "Σ ?" where they are blanks, empty until
            # the backward steps have them all. The same width in every case: the layout stays put.
            number = "Σ " + st.number(vals.adjoint(n), opts.precision)
            total_width = st.width_points(number, 0.8 * fs)
            if any(("gradient", w) in blank_of for w in mine):
                total = "Σ ?"
            elif known is not None and not all(w in known for w in mine):
                total = ""
            else:
                total = number
        nodes.append(NodeView(
            id=n, kind=kind, label=str(d.get("label", n)),
            tooltip=tooltip + (f" ({st.shape_text(shape)})" if shape else ""), total=total, total_width=total_width,
            statement=home.get(n),
            current=n == current, highlighted=n in path_nodes))
    nodes.append(NodeView(id=out, kind="output", label=out, tooltip=f"the output {out}"))

    clusters: dict[int, str] = {}
    if home:
        statement_texts = _statement_texts(graph)
        for n in graph.op_nodes:
            s = graph.attrs(n).get("statement")
            if s is not None and s not in clusters:
                clusters[s] = statement_texts.get(s, f"statement {s + 1}")

    title = ""
    if opts.title is True:
        title = graph.title
    elif isinstance(opts.title, str):
        title = opts.title
    legend = _kink_notes(graph, vals) if vals is not None and show_grads else []
    if opts.symbolic == "local" and show_grads:
        legend = ["below each wire: the local derivative of the gate it enters, ∂gate/∂wire"]
    elif opts.symbolic == "full" and show_grads:
        legend = [f"below each wire: ∂{out}/∂(wire), in the inputs and the program's names"]
    cap = ([(line, "text") for line in list(caption or []) + legend]
           + [(line, "highlight") for line in highlight_caption])
    return Figure(graph, opts, nodes, views, blanks, clusters, cap, title, mode)


def _kink_notes(graph: Graph, vals: _Values) -> list[str]:
    """A line for each gate sitting exactly on its kink (relu at 0, max of a tie): which convention the
    gradients use."""
    from ..ops import OPS

    notes = []
    for n in graph.op_nodes:
        d = graph.attrs(n)
        op = OPS.get(d["op"])
        if op is None or op.kink_distance is None or vals.shape(n):
            continue
        args = graph.args(n)
        if float(np.asarray(op.kink_distance([vals.value(a) for a in args], d.get("param")))) != 0.0:
            continue
        at = ", ".join(f"{a} = {st.number(vals.value(a), 2)}" for a in args)
        conv = op.conventions(d.get("param"))
        notes.append(f"{d['label']} ({n}) is on its kink ({at}): local gradients {_numbers_text(conv.get('sympy'))} "
                     f"by SymPy's convention (torch: {_numbers_text(conv.get('torch'))})")
    return notes


def _numbers_text(xs: Any) -> str:
    return ", ".join(f"{x:g}" for x in xs or [])


def _statement_homes(graph: Graph) -> dict[str, int]:
    """The statement box of each node: a gate's own statement; an input or constant goes into the
    box of its consumers when they all belong to one statement."""
    home: dict[str, int] = {}
    for n in graph.nodes:
        d = graph.attrs(n)
        if d["kind"] == "op":
            if d.get("statement") is not None:
                home[n] = d["statement"]
            continue
        users = {graph.attrs(v).get("statement") for v in graph.nx.succ[n]}
        statement = users.pop() if len(users) == 1 else None
        if statement is not None:
            home[n] = statement
    return home


def _statement_texts(graph: Graph) -> dict[int, str]:
    """``z = w0*x0 + w1*x1 + w2`` for each statement (from the named node's text)."""
    texts: dict[int, str] = {}
    for n in graph.op_nodes:
        d = graph.attrs(n)
        s = d.get("statement")
        if s is None or not d.get("named"):
            continue
        text = d.get("text")
        texts[s] = f"{n} = {text}" if text else n
    return texts


def _highlight(graph: Graph, opts: RenderOptions, vals: _Values | None,
               forms: _Formulas | None) -> tuple[set[Wire], set[str], list[str]]:
    import networkx as nx

    target = opts.highlight
    assert target is not None  # the caller checks
    out = graph.output
    if target not in graph:
        raise RenderError(f"highlight: there is no node '{target}' (inputs: {', '.join(graph.inputs)})")
    if target == out:
        return {(out, None, 0)}, {out}, [f"∂{out}/∂{out} = 1"]
    reach = nx.descendants(graph.nx, target) | {target}
    back = nx.ancestors(graph.nx, out) | {out}
    on = reach & back
    if out not in reach:
        raise RenderError(f"highlight: '{target}' does not reach the output '{out}', so its gradient is 0")
    path_wires = {(u, v, k) for u, v, k in graph.nx.edges(keys=True) if u in on and v in on}
    path_wires.add((out, None, 0))
    # enumerate paths (output first) up to MAX_PATHS, counting all of them
    count: dict[str, int] = {out: 1}
    for n in reversed(graph.nodes):
        if n in on and n != out:
            count[n] = sum(count[v] for _, v in graph.nx.out_edges(n) if v in on)
    paths: list[list[Wire]] = []

    def walk(n: str, acc: list[Wire]) -> None:
        if len(paths) >= MAX_PATHS:
            return
        if n == out:
            paths.append(list(reversed(acc)))
            return
        for _, v, k in sorted(graph.nx.out_edges(n, keys=True), key=lambda e: (str(e[1]), e[2])):
            if v in on:
                walk(v, acc + [(n, v, k)])

    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, len(graph.nodes) + 100))
    try:
        walk(target, [])
    finally:
        sys.setrecursionlimit(limit)
    total_paths = count[target]
    lines: list[str] = []
    symbolic_chain = [" · ".join(f"∂{v}/∂{u}" for u, v, _ in p) for p in paths]
    if total_paths == 1:
        lines.append(f"∂{out}/∂{target} = {_elide(symbolic_chain[0])}")
    else:
        lines.append(f"∂{out}/∂{target} = sum over the {total_paths} paths from {target} to {out}"
                     " of the product of the local gradients")
    for i, p in enumerate(paths):
        parts: list[str] = []
        if forms is not None:
            parts.append(_elide(" · ".join(f"({forms.local(w)})" for w in p)))
        if vals is not None:
            locs = [x for w in p if (x := vals.local(w)) is not None]
            if len(locs) == len(p):
                prod = float(np.prod(locs)) if locs else 1.0
                factors = _elide(" · ".join(_paren(st.number(x, opts.precision)) for x in locs))
                parts.append(f"{factors} = {st.number(prod, opts.precision)}")
        prefix = "= " if total_paths == 1 else f"path {i + 1}: " + (
            f"{_elide(symbolic_chain[i], 60)} = " if parts else _elide(symbolic_chain[i]))
        for j, part in enumerate(parts):
            lines.append((prefix if j == 0 else "= ") + part)
        if not parts and total_paths > 1:
            lines.append(prefix)
    if total_paths > len(paths):
        lines.append(f"... and {total_paths - len(paths)} more paths")
    if vals is not None and total_paths > 1 and not vals.shape(target):
        lines.append(f"sum: ∂{out}/∂{target} = {st.number(vals.adjoint(target), opts.precision)}")
    nodes = {w[0] for w in path_wires} | {out}
    return path_wires, nodes, lines


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _paren(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


def _elide(text: str, limit: int = 110) -> str:
    if len(text) <= limit:
        return text
    half = (limit - 5) // 2
    return text[:half].rstrip() + " · … · " + text[-half:].lstrip()

