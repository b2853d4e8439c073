"""Check a claimed gradient formula: ``verify(graph, "da/dx0 = w0*a*(1-a)")``.

A claim is ``d<of>/d<wrt> = <formula>``; the formula may use the graph's inputs and the
names of its statements (``a``, ``z``), the functions of :mod:`gradlab.expr` and, for vectors
and matrices, ``@``, ``.T`` and the functions of :mod:`gradlab.tensor_expr`
(``dL/dB = (p - y) @ v.T / 2``, or one entry: ``dL/dB_1_2 = (p_1 - y_1)*v_2/2``). It is read
by our own whitelisted parser (never ``eval``). The claim is

* **decided symbolically** when the difference to gradlab's own derivative reduces to 0
  (in the names of the graph first, then with named nodes replaced by their definitions,
  down to the inputs);
* **always tested numerically** at many random points (``trials``) that avoid kinks and
  poles: at each, the claimed value is compared with the adjoint from the graph's local
  derivatives. A wrong claim comes with a counterexample (the point, the claimed and the
  true values) and, when gradlab recognises it, the likely mistake (a sign, a missing
  factor, a missing activation derivative, a transpose, p where p - y belongs).

>>> r = verify("z = w0*x0 + w1*x1 + w2; a = sigmoid(z)", "da/dx0 = w0*a*(1-a)")
>>> r.ok, r.decided
(True, 'symbolic')
>>> r = verify("z = w0*x0 + w1*x1 + w2; a = sigmoid(z)", "da/dx0", "w0")
>>> r.ok, r.mistake
(False, 'missing activation derivative')
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any, Mapping, Sequence

import networkx as nx
import numpy as np
import sympy as sp

from .errors import GradlabError, ParseError
from .graph import Graph
from .jsonable import jsonable as _jsonable

#: Default number of random points a claim is tested at.
TRIALS = 25
#: Unary gates whose local derivative a student may forget; named "activation" in the diagnosis.
ACTIVATIONS = frozenset({"sigmoid", "tanh", "relu", "softplus", "exp", "log", "sin", "cos", "sqrt", "abs"})
#: Differing entries listed in a counterexample.
MAX_ENTRIES = 8

_LHS = re.compile(r"^\s*[d∂]\s*([A-Za-z][A-Za-z0-9_]*)\s*/\s*[d∂]\s*([A-Za-z][A-Za-z0-9_]*)\s*$")


# ------------------------------------------------------------------------------- results


@dataclass
class EntryDiff:
    """One entry where the claim and the true derivative differ (``entry`` names it: ``dL/dB_1_2``)."""

    entry: str
    index: list[int]
    claimed: float
    true: float


@dataclass
class Counterexample:
    """A point where the claim is wrong: the inputs, the named nodes' values there, the differing entries."""

    point: dict[str, Any]
    values: dict[str, Any]
    entries: list[EntryDiff]
    claimed_shape: list[int] | None = None
    true_shape: list[int] | None = None
    claimed_value: Any = None
    true_value: Any = None


@dataclass
class VerifyResult:
    """The verdict on one claim; ``to_json()`` keeps these keys stable.

    ``decided`` is ``"symbolic"`` when gradlab proved the claim right (the difference reduces
    to 0), else ``"numeric"`` (a counterexample proves it wrong; a right claim that could not be
    proved symbolically holds at every one of ``trials`` random points).
    """

    ok: bool
    claim: str
    lhs: str
    rhs: str
    of: str
    wrt: str
    shape: list[int]
    decided: str
    trials: int
    counterexample: Counterexample | None
    mistake: str | None
    message: str
    seed: int = 0
    hint: str = ""
    truth: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    def __str__(self) -> str:
        return format_result(self)


# ------------------------------------------------------------------------------- claims


@dataclass(frozen=True)
class Claim:
    """A parsed claim: ``d of / d wrt = rhs``."""

    of: str
    wrt: str
    rhs: str
    text: str

    @property
    def lhs(self) -> str:
        return f"d{self.of}/d{self.wrt}"


def parse_claim(claim: str, rhs: str | None = None) -> Claim:
    """``"dL/dB = (p - y) @ v.T / 2"`` (or the two sides apart) -> :class:`Claim`.

    >>> parse_claim("da/dx0 = w0*a*(1-a)")
    Claim(of='a', wrt='x0', rhs='w0*a*(1-a)', text='da/dx0 = w0*a*(1-a)')
    """
    if not isinstance(claim, str) or (rhs is not None and not isinstance(rhs, str)):
        raise ParseError("a claim is text: 'dL/dB = formula' (or the two sides as two strings)")
    if rhs is None:
        if "=" not in claim:
            raise ParseError(f"write the claim as 'da/dx = formula' (no '=' in {claim!r})")
        lhs, rhs = claim.split("=", 1)
        if rhs.startswith("="):
            rhs = rhs[1:]
        text = claim.strip()
    else:
        lhs = claim
        text = f"{claim.strip()} = {rhs.strip()}"
    m = _LHS.match(lhs)
    if not m:
        raise ParseError(f"the left side '{lhs.strip()}' must read d<output>/d<variable>, e.g. 'da/dx0' or 'dL/dB'")
    if not rhs.strip():
        raise ParseError("the claimed formula (right of '=') is empty")
    return Claim(m.group(1), m.group(2), rhs.strip(), text)


# ------------------------------------------------------------------------------- helpers


def _as_graph(graph_or_program: Graph | str, at: Mapping[str, Any] | None = None) -> Graph:
    """A graph from a program (shapes of undeclared inputs from array values in ``at``) or a Graph."""
    from .check import _as_graph as as_graph

    return as_graph(graph_or_program, at)


def subgraph_to(graph: Graph, node: str) -> Graph:
    """The part of ``graph`` that ``node`` depends on, with ``node`` as its output (order kept)."""
    keep = nx.ancestors(graph.nx, node) | {node}
    g = graph.copy()
    g.nx.remove_nodes_from([n for n in graph.nodes if n not in keep])
    g.nx.graph["output"] = node
    return g


def claim_names(graph: Graph) -> list[str]:
    """The names a claim may use: inputs and the user's named nodes, in graph order."""
    return [n for n in graph.nodes if graph.kind(n) == "input" or graph.attrs(n).get("named")]


def nice_number(x: float) -> str:
    """``0.5`` -> ``1/2``, ``-2.0`` -> ``-2``, ``0.3183...`` -> ``0.318310``."""
    frac = Fraction(x).limit_denominator(64)
    if abs(float(frac) - x) <= 1e-9 * max(1.0, abs(x)):
        return str(frac.numerator) if frac.denominator == 1 else f"{frac.numerator}/{frac.denominator}"
    return f"{x:.6g}"


def _close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float, axes: tuple[int, ...]) -> np.ndarray:
    """Entrywise closeness, the tolerance scaled by the size of the values at each point (an
    infinite or undefined value is close to nothing: ``exp(exp(exp(B)))`` overflows, it is not right)."""
    with np.errstate(all="ignore"):
        scale = np.maximum(np.abs(a), np.abs(b))
        point_scale = scale.max(axis=axes, keepdims=True) if axes else scale
        close = np.abs(a - b) <= atol * np.maximum(1.0, point_scale) + rtol * np.maximum(scale, point_scale)
    return close & np.isfinite(a) & np.isfinite(b)


# ------------------------------------------------------------------------------- symbolic decision

#: Expressions larger than this (SymPy operation count) are not simplified, only expanded.
SIMPLIFY_OPS = 150


def is_zero(expr: sp.Expr, *, thorough: bool = True) -> bool:
    """Whether ``expr`` is identically 0, by bounded algebra (a False means: not shown, not disproved).

    Cheap steps first (expand, then cancel when there are fractions); ``thorough`` adds SymPy's
    ``simplify`` on the exponential form, for expressions small enough.
    """
    expr = sp.sympify(expr, strict=True)
    if expr == 0:
        return True
    try:
        e = sp.expand(expr)
        if e == 0:
            return True
        if any(p.is_Pow and p.exp.is_negative for p in e.atoms(sp.Pow)) and sp.cancel(sp.together(e)) == 0:
            return True
        if thorough and sp.count_ops(e) <= SIMPLIFY_OPS:
            r = e.rewrite(sp.exp)
            if sp.expand(r) == 0 or sp.simplify(r) == 0:
                return True
    except (TypeError, ValueError, NotImplementedError, RecursionError, ZeroDivisionError):  # pragma: no cover
        return False
    return False


def prove_equal(diff: sp.Expr, definitions: Mapping[sp.Symbol, sp.Expr],
                constraints: Mapping[sp.Symbol, sp.Expr] | None = None, *, max_levels: int = 50,
                keep: set[sp.Symbol] | frozenset[sp.Symbol] = frozenset()) -> bool:
    """Show ``diff == 0``: as it stands, then with named nodes replaced by their ``definitions``
    (first those in ``keep``'s complement: the names one side uses and the other does not), one
    level at a time down to the inputs, under ``constraints`` (a label's entries summing to 1)."""
    constraints = constraints or {}

    def settle(d: sp.Expr, defs: Mapping[sp.Symbol, sp.Expr]) -> bool:
        for _ in range(max_levels):
            if constraints:
                d = d.xreplace(constraints)
            last = not (d.free_symbols & set(defs))
            if is_zero(d, thorough=last and not (d.free_symbols & set(definitions))):
                return True
            if last:
                return False
            d = d.xreplace(defs)
        return False

    d0 = sp.sympify(diff, strict=True)
    if keep:
        partial = {k: v for k, v in definitions.items() if k not in keep}
        if partial and settle(d0, partial):
            return True
    return settle(d0, definitions)


# ------------------------------------------------------------------------------- the scalar problem


class _ScalarProblem:
    """A claim about a graph of scalars, on the core engine (symbolic named forms, batched numbers)."""

    def __init__(self, graph: Graph, claim: Claim, lenient: bool) -> None:
        self.graph = graph
        self.claim = claim
        names = claim_names(graph)
        for role, n in (("output", claim.of), ("variable", claim.wrt)):
            if n not in graph:
                raise GradlabError(f"'{n}' in '{claim.lhs}' is not a node of the graph; its names: {', '.join(names)}")
            if n not in names:
                raise GradlabError(f"'{n}' is an anonymous gate; name it in the program to use it in a claim")
        self.sub = subgraph_to(graph, claim.of)
        from .expr import parse_expression

        self.symbols = {n: graph.symbol(n) for n in names}
        self.expr = sp.sympify(parse_expression(claim.rhs, self.symbols, lenient=lenient, unknown_names=False), strict=True)
        self.shape: tuple[int, ...] = ()

    # symbolic ------------------------------------------------------------------------------
    def truth_symbolic(self) -> sp.Expr:
        from .symbolic import symbolic_gradients

        if self.claim.wrt not in self.sub:
            return sp.Integer(0)
        self.sg = symbolic_gradients(self.sub)
        return self.sg.named(self.claim.wrt)

    def definitions(self) -> dict[sp.Symbol, sp.Expr]:
        from .symbolic import symbolic_gradients

        sg = symbolic_gradients(self.graph)
        return {self.graph.symbol(n): sg.named_value_expr(n) for n in self.graph.op_nodes
                if self.graph.attrs(n).get("named")}

    notes: list[str]

    def truth_formula(self) -> str:
        return str(self.truth_symbolic())

    def decide(self) -> bool:
        truth = self.truth_symbolic()
        self.truth_text = str(truth)
        return prove_equal(self.expr - truth, self.definitions(), keep=self.expr.free_symbols)

    # numeric -------------------------------------------------------------------------------
    def sample(self, trials: int, rng: np.random.Generator, at: Mapping[str, Any] | None) -> dict[str, np.ndarray]:
        from .numeric import point_values

        g = self.graph
        wanted = trials
        fixed = point_values(g, at) if at is not None else None
        found: dict[str, list[np.ndarray]] = {n: [] for n in g.nodes}
        count = 0
        if fixed is not None:
            vals = _forward_tolerant(g, {n: np.atleast_1d(v) for n, v in fixed.items()})
            ok = _valid(g, vals)
            if not ok[0]:
                raise GradlabError("the point given by 'at' is not valid for a check (a value is not finite, or "
                                   "a gate sits on its kink)")
            for n in g.nodes:
                found[n].append(vals[n])
            count = 1
        for attempt in range(8):
            if count >= wanted + (fixed is not None) or wanted == 0:
                break
            n_cand = 4 * wanted
            pts = {n: _random_values(rng, n_cand, positive=attempt >= 4) for n in g.inputs}
            vals = _forward_tolerant(g, pts)
            ok = _valid(g, vals)
            take = np.flatnonzero(ok)[: wanted + (fixed is not None) - count]
            for n in g.nodes:
                found[n].append(vals[n][take])
            count += len(take)
        if count == 0:
            raise GradlabError("no valid random point found: every try hit a pole, a domain error or a kink")
        return {n: np.concatenate(v) for n, v in found.items()}

    def truth_numeric(self, values: Mapping[str, np.ndarray], overrides: Mapping[Any, float] | None = None
                      ) -> np.ndarray:
        from .numeric import backward

        if self.claim.wrt not in self.sub:
            return np.zeros_like(values[self.claim.of])
        vals = {n: values[n] for n in self.sub.nodes}
        return backward(self.sub, vals, overrides=overrides).adjoints[self.claim.wrt]

    def claim_numeric(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        from .ops import NUMPY_NAMESPACE

        syms = sorted(self.expr.free_symbols, key=str)
        f = sp.lambdify(syms, self.expr, modules=[NUMPY_NAMESPACE, "numpy"])
        batch = values[self.claim.of].shape
        with np.errstate(all="ignore"):
            out = np.asarray(f(*[values[str(s)] for s in syms]), dtype=np.float64)
        return np.broadcast_to(out, batch).copy()

    def mutants(self, values: Mapping[str, np.ndarray]) -> list[tuple[str, str, np.ndarray]]:
        """Common mistakes, as the derivative they would give: (short name, explanation, values)."""
        out = []
        for edges, node, label in _derivative_chains(self.sub, self.claim.wrt):
            m = self.truth_numeric(values, overrides={e: 1.0 for e in edges})
            kind = "missing activation derivative" if any(
                self.sub.attrs(v).get("op") in ACTIVATIONS for _, v, _ in edges) else "missing local derivative"
            out.append((kind, f"the derivative of {label} is left out", m))
        # the derivative with respect to another variable (x0 for w0: the factors swapped)
        from .numeric import backward

        vals = {n: values[n] for n in self.sub.nodes}
        adj = backward(self.sub, vals).adjoints
        for n in claim_names(self.sub):
            if n not in (self.claim.wrt, self.claim.of):
                out.append(("wrong variable", f"it is d{self.claim.of}/d{n}, not {self.claim.lhs}", adj[n]))
        return out

    def entry_name(self, index: tuple[int, ...]) -> str:
        return self.claim.lhs

    def point_of(self, values: Mapping[str, np.ndarray], i: int) -> tuple[dict[str, Any], dict[str, Any]]:
        g = self.graph
        point = {n: float(values[n][i]) for n in g.inputs}
        named = {n: float(values[n][i]) for n in g.op_nodes if g.attrs(n).get("named")}
        return point, named


def _random_values(rng: np.random.Generator, n: int, positive: bool = False) -> np.ndarray:
    """Magnitudes log-uniform in [0.25, 2] (no zeros, no saturation), random signs."""
    mag = np.exp(rng.uniform(np.log(0.25), np.log(2.0), size=n))
    if positive:
        return mag
    return mag * rng.choice([-1.0, 1.0], size=n)


def _forward_tolerant(graph: Graph, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every node's value at a batch of points; non-finite results are kept (marked invalid later)."""
    from .ops import op_for

    values: dict[str, np.ndarray] = {}
    shape = np.broadcast_shapes(*(np.shape(v) for v in inputs.values())) if inputs else (1,)
    with np.errstate(all="ignore"):
        for n in graph.nodes:
            d = graph.attrs(n)
            if d["kind"] == "input":
                values[n] = np.broadcast_to(np.asarray(inputs[n], dtype=np.float64), shape).copy()
            elif d["kind"] == "const":
                values[n] = np.full(shape, float(d["value"]))
            else:
                r = np.asarray(op_for(d["op"]).np_fn([values[a] for a in graph.args(n)], d.get("param")), dtype=float)
                values[n] = np.broadcast_to(r, shape).copy()
    return values


def _valid(graph: Graph, values: Mapping[str, np.ndarray], kink_margin: float = 1e-3) -> np.ndarray:
    """Points (along the batch axis) where every value and every local derivative is finite, away from kinks."""
    from .numeric import local_partials
    from .ops import op_for

    first = next(iter(values.values()))
    ok = np.ones(first.shape[0], dtype=bool)
    for n in graph.nodes:
        v = values[n]
        ok &= np.isfinite(v).reshape(v.shape[0], -1).all(axis=1)
    for n in graph.op_nodes:
        d = graph.attrs(n)
        op = op_for(d["op"])
        args = [values[a] for a in graph.args(n)]
        if op.kink_distance is not None:
            with np.errstate(all="ignore"):
                dist = np.asarray(op.kink_distance(args, d.get("param")))
                scale = 1.0 + np.max(np.abs(np.stack(args)), axis=0)
            ok &= (dist > kink_margin * scale).reshape(ok.shape[0], -1).all(axis=1)
    safe = {n: np.where(ok.reshape((-1,) + (1,) * (v.ndim - 1)), v, 1.0) for n, v in values.items()}
    for n in graph.op_nodes:
        for lp in local_partials(graph, n, safe):
            ok &= np.isfinite(lp).reshape(ok.shape[0], -1).all(axis=1)
    return ok


def _derivative_chains(graph: Graph, wrt: str) -> list[tuple[list[tuple[str, str, int]], str, str]]:
    """Candidates for a forgotten derivative: each one-argument gate between ``wrt`` and the output,
    and each chain of one-argument gates between two named nodes (``a = 1/(1+exp(-z))``)."""
    from .ops import op_for

    on_path = (nx.descendants(graph.nx, wrt) if wrt in graph else set())
    found: list[tuple[list[tuple[str, str, int]], str, str]] = []
    seen: set[frozenset[tuple[str, str, int]]] = set()

    def unary(n: str) -> bool:
        d = graph.attrs(n)
        return d["kind"] == "op" and n in on_path and op_for(d["op"]).arity == 1 and d["op"] not in (
            "identity", "neg", "add_const", "mul_const", "div_const")

    def label(n: str) -> str:
        d = graph.attrs(n)
        text = d.get("text")
        return f"{n} = {text}" if d.get("named") and text else f"the gate {d['label']} ({graph.describe(n)})"

    for n in graph.op_nodes:
        if not unary(n):
            continue
        e = (graph.args(n)[0], n, 0)
        found.append(([e], n, label(n)))
        seen.add(frozenset([e]))
    # chains of one-argument gates ending at a named node: the whole activation of a neuron
    for n in graph.op_nodes:
        if n not in on_path or not graph.attrs(n).get("named"):
            continue
        chain: list[tuple[str, str, int]] = []
        cur = n
        while graph.kind(cur) == "op" and op_for(graph.attrs(cur)["op"]).arity == 1 and cur in on_path:
            arg = graph.args(cur)[0]
            chain.append((arg, cur, 0))
            cur = arg
            if graph.attrs(cur).get("named") or graph.kind(cur) != "op":
                break
        key = frozenset(chain)
        if len(chain) > 1 and key not in seen and any(graph.attrs(v).get("op") in ACTIVATIONS for _, v, _ in chain):
            seen.add(key)
            found.append((chain, n, label(n)))
    return found[:60]


# ------------------------------------------------------------------------------- the tensor problem

#: Gradients with at most this many entries are decided symbolically entry by entry; bigger ones
#: are tested at random points only.
SYMBOLIC_ENTRIES = 64


class _EntryNames(Mapping[str, Any]):
    """Names such as ``p_1`` or ``B_1_2`` resolved on demand to one entry (1-based) of a tensor."""

    def __init__(self, graph: Graph, source: Mapping[str, np.ndarray], names: Sequence[str], batch: bool) -> None:
        self.graph, self.source, self.names, self.batch = graph, source, set(names), batch

    def _index(self, key: str) -> tuple[str, tuple[int, ...]] | None:
        from .tensor_expr import ENTRY_RE

        m = ENTRY_RE.match(key)
        if not m or m.group(1) not in self.names:
            return None
        n = m.group(1)
        shape = self.graph.shape(n)
        nums = [int(g) - 1 for g in m.groups()[1:] if g is not None]
        if len(shape) == 1 and len(nums) == 1 and 0 <= nums[0] < shape[0]:
            return n, (nums[0],)
        if len(shape) == 2 and shape[0] == 1 and len(nums) == 1 and 0 <= nums[0] < shape[1]:
            return n, (0, nums[0])
        if len(shape) == 2 and len(nums) == 2 and 0 <= nums[0] < shape[0] and 0 <= nums[1] < shape[1]:
            return n, (nums[0], nums[1])
        return None

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._index(key) is not None

    def __getitem__(self, key: str) -> Any:
        found = self._index(key)
        if found is None:
            raise KeyError(key)
        n, idx = found
        a = self.source[n]
        return a[(Ellipsis,) + idx] if self.batch else a[idx]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(())

    def __len__(self) -> int:
        return 0


def _local_derivative_text(graph: Graph, node: str) -> str:
    """A one-argument gate's local derivative in the names of the graph: ``1 - v**2`` for ``v = tanh(u)``."""
    from .ops import op_for

    d = graph.attrs(node)
    arg = graph.args(node)[0]
    a_text = arg if graph.attrs(arg).get("named") or graph.kind(arg) != "op" else f"({graph.attrs(arg).get('text') or arg})"
    o_text = node if d.get("named") else f"({d.get('text') or node})"
    from .tensor_ops import _sym_param

    part = op_for(d["op"]).partials([sp.Symbol(a_text)], sp.Symbol(o_text), _sym_param(d.get("param")))[0]
    return str(part)


class _TensorProblem:
    """A claim about a graph with vectors and matrices, on the tensor engine."""

    notes: list[str]

    def __init__(self, graph: Graph, claim: Claim, lenient: bool) -> None:
        from .tensor_expr import ENTRY_RE
        from .tensor_ops import shape_text

        self.graph, self.claim, self.lenient = graph, claim, lenient
        self.names = claim_names(graph)
        of, wrt = claim.of, claim.wrt
        if of not in graph:
            raise GradlabError(f"'{of}' in '{claim.lhs}' is not a node of the graph; its names: {', '.join(self.names)}")
        if of not in self.names:
            raise GradlabError(f"'{of}' is an anonymous gate; name it in the program to use it in a claim")
        if graph.shape(of) != ():
            raise GradlabError(f"'{of}' is {shape_text(graph.shape(of))}: d{of}/d{wrt} would be a Jacobian; claims "
                               f"are about the gradient of a number (a loss such as L = sum({of}))")
        self.entry: tuple[int, ...] | None = None
        if wrt in graph:
            if wrt not in self.names:
                raise GradlabError(f"'{wrt}' is an anonymous gate; name it in the program to use it in a claim")
            self.wrt = wrt
            self.shape = graph.shape(wrt)
        else:
            entries = _EntryNames(graph, {}, self.names, False)
            found = entries._index(wrt)
            if found is None:
                m = ENTRY_RE.match(wrt)
                hint = (f" ({m.group(1)} is {shape_text(graph.shape(m.group(1)))}; entries count from 1)"
                        if m and m.group(1) in graph else "")
                raise GradlabError(f"'{wrt}' in '{claim.lhs}' is not a node of the graph{hint}; its names: "
                                   f"{', '.join(self.names)}")
            self.wrt, self.entry = found
            self.shape = ()
        self.sub = subgraph_to(graph, of)
        # read the claim once with zeros, to report syntax and shape errors before any work
        probe = {n: _zeros(graph.shape(n)) for n in self.names}
        t = self._parse(probe, batch=True)
        self.claimed_shape = t.shape
        self.uses_entries = bool(getattr(t, "uses_entries", False))

    def _parse(self, values: Mapping[str, np.ndarray], batch: bool) -> Any:
        from .tensor_expr import Tensor, parse_matrix_expression

        names = {n: Tensor(values[n], self.graph.shape(n)) for n in self.names}
        entries = _EntryNames(self.graph, values, self.names, batch)
        with np.errstate(all="ignore"):
            return parse_matrix_expression(self.claim.rhs, names, symbolic=not batch, lenient=self.lenient,
                                           entries=entries)

    # symbolic ------------------------------------------------------------------------------
    def decide(self) -> bool:
        from .tensor_ops import size
        from .tensor_symbolic import named_definitions, node_symbols, simplex_constraints, tensor_symbolic

        if self.claimed_shape not in (self.shape, ()):
            return False
        n_entries = size(self.shape)
        idxs = [self.entry] if self.entry is not None else list(np.ndindex(*self.shape))
        if n_entries > SYMBOLIC_ENTRIES and self.entry is None:
            reps = self._representatives()
            if reps is None:
                self.notes.append(f"{self.claim.lhs} has {n_entries} entries, more than the {SYMBOLIC_ENTRIES} "
                                  "decided symbolically one by one: decided at random points")
                return False
            idxs = reps
            self.notes.append(f"decided symbolically at {len(reps)} of {n_entries} entries; by the index symmetry "
                              "of the graph and the claim these stand for all (see docs/verify.md)")
        ts = tensor_symbolic(self.sub)
        if getattr(self, "explain", True):
            self.truth_text = self._truth_text(ts)
        symbols = {n: node_symbols(self.graph, n) for n in self.names}
        claim = self._parse(symbols, batch=False)
        defs = named_definitions(self.graph)
        constraints = simplex_constraints(self.graph)
        for idx in idxs:
            c = sp.sympify(claim.data[()] if claim.shape == () else claim.data[idx if self.entry is None else ()], strict=True)
            t = ts.entry(self.wrt, idx)
            if not prove_equal(c - t, defs, constraints, keep=c.free_symbols):
                return False
        return True

    def _representatives(self) -> list[tuple[int, ...]] | None:
        """One entry per orbit of the index permutations that leave graph and claim alike, or None."""
        from .tensor_symmetry import axis_classes, claim_graph, representatives

        if self.uses_entries or self.lenient:
            return None
        cg = claim_graph(self.claim.rhs, self.graph, self.names)
        if cg is None:
            return None
        classes = axis_classes(self.graph, [cg])
        if classes is None:
            return None
        claim_out = cg[1][cg[0].output]
        dims = self.shape if len(self.shape) == 2 else (self.shape + (1,) if self.shape else (1, 1))
        for i in (0, 1):
            if dims[i] > 1 and cg[0].shape(cg[0].output) == self.shape:
                classes.union((claim_out, i), (self.wrt, i))
        return representatives(self.graph, self.wrt, classes)

    def truth_formula(self) -> str | None:
        from .tensor_ops import size
        from .tensor_symbolic import tensor_symbolic

        if self.wrt not in self.sub or size(self.shape) > 4 * SYMBOLIC_ENTRIES:
            return None
        return self._truth_text(tensor_symbolic(self.sub))

    def _truth_text(self, ts: Any) -> str:
        if self.entry is not None:
            return str(ts.entry(self.wrt, self.entry))
        try:
            from .tensor_forms import matrix_form

            form = matrix_form(self.sub, self.wrt, ts)
            if form:
                return form
        except ImportError:  # pragma: no cover - the module arrives with the matrix forms
            pass
        idx, e = ts.representative(self.wrt)
        from .tensor_symbolic import entry_name

        return f"(entry {entry_name(self.wrt, idx, self.shape)}) {e}"

    # numeric -------------------------------------------------------------------------------
    def sample(self, trials: int, rng: np.random.Generator, at: Mapping[str, Any] | None) -> dict[str, np.ndarray]:
        from .tensor_numeric import forward, point_values

        g = self.graph
        parts: list[dict[str, np.ndarray]] = []
        count = 0
        if at is not None:
            pts = {n: v[None] for n, v in point_values(g, at).items()}
            vals = forward(g, inputs=pts, check=False)
            if not self._valid(vals)[0]:
                raise GradlabError("the point given by 'at' is not valid for a check (a value or a derivative is "
                                   "not finite, or a gate sits on its kink)")
            parts.append(vals)
            count = 1
        want = trials + count
        for attempt in range(8):
            if count >= want:
                break
            n_cand = max(8, 2 * (want - count))
            pts = {n: _random_input(rng, n_cand, g.shape(n), g.attrs(n).get("domain"), positive=attempt >= 4)
                   for n in g.inputs}
            vals = forward(g, inputs=pts, check=False)
            ok = self._valid(vals)
            take = np.flatnonzero(ok)[: want - count]
            if len(take):
                parts.append({n: v[take] for n, v in vals.items()})
                count += len(take)
        if count == 0:
            raise GradlabError("no valid random point found: every try hit a pole, a domain error or a kink")
        return {n: np.concatenate([p[n] for p in parts]) for n in g.nodes}

    def _valid(self, values: Mapping[str, np.ndarray], kink_margin: float = 1e-3) -> np.ndarray:
        from .ops import op_for
        from .tensor_numeric import backward
        from .tensor_ops import TensorOp, expand

        g = self.graph
        nb = next(iter(values.values())).shape[0]
        ok = np.ones(nb, dtype=bool)
        for n in g.nodes:
            ok &= np.isfinite(values[n]).reshape(nb, -1).all(axis=1)
        for n in g.op_nodes:
            d = g.attrs(n)
            op = op_for(d["op"])
            if op.kink_distance is None or isinstance(op, TensorOp):
                continue
            args = [expand(values[a], g.shape(a), g.shape(n)) for a in g.args(n)]
            with np.errstate(all="ignore"):
                dist = np.asarray(op.kink_distance(args, d.get("param")))
                scale = 1.0 + np.max(np.abs(np.stack(np.broadcast_arrays(*args))), axis=0)
            ok &= (dist > kink_margin * scale).reshape(nb, -1).all(axis=1)
        safe = {n: np.where(ok.reshape((-1,) + (1,) * (v.ndim - 1)), v, values[n][np.argmax(ok)] if ok.any() else 1.0)
                for n, v in values.items()}
        with np.errstate(all="ignore"):
            adj = backward(self.sub, {n: safe[n] for n in self.sub.nodes}, check=False).adjoints
        for n in self.sub.nodes:
            ok &= np.isfinite(adj[n]).reshape(nb, -1).all(axis=1)
        return ok

    def _adjoints(self, values: Mapping[str, np.ndarray], **kw: Any) -> dict[str, np.ndarray]:
        from .tensor_numeric import backward

        with np.errstate(all="ignore"):
            return backward(self.sub, {n: values[n] for n in self.sub.nodes}, check=False, **kw).adjoints

    def _pick(self, adj: np.ndarray) -> np.ndarray:
        return adj if self.entry is None else adj[(slice(None),) + self.entry]

    def truth_numeric(self, values: Mapping[str, np.ndarray], **kw: Any) -> np.ndarray:
        if self.wrt not in self.sub:
            return np.zeros((next(iter(values.values())).shape[0],) + self.shape)
        return self._pick(self._adjoints(values, **kw)[self.wrt])

    def claim_numeric(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        t = self._parse(values, batch=True)
        nb = next(iter(values.values())).shape[0]
        data = np.asarray(t.data, dtype=np.float64)
        if t.shape == () and self.shape != ():
            data = np.broadcast_to(data.reshape(data.shape + (1,) * len(self.shape)), (nb,) + self.shape)
        return np.broadcast_to(data, (nb,) + t.shape if t.shape != () or self.shape == () else data.shape).copy()

    def mutants(self, values: Mapping[str, np.ndarray]) -> list[tuple[str, str, np.ndarray]]:
        from .ops import op_for
        from .tensor_ops import TensorOp

        sub = self.sub
        out: list[tuple[str, str, np.ndarray]] = []
        if self.wrt not in sub:
            return out
        below = nx.descendants(sub.nx, self.wrt)
        # a forgotten local derivative of a one-argument gate (an activation)
        for n in sub.op_nodes:
            d = sub.attrs(n)
            op = op_for(d["op"])
            if n not in below or isinstance(op, TensorOp) or op.arity != 1 or d["op"] in (
                    "identity", "neg", "add_const", "mul_const", "div_const"):
                continue
            kind = "missing activation derivative" if d["op"] in ACTIVATIONS else "missing local derivative"
            what = f"{n} = {d.get('text')}" if d.get("named") and d.get("text") else f"the gate {d['label']}"
            out.append((kind, f"the derivative of {what}, {_local_derivative_text(sub, n)}, is left out",
                        self.truth_numeric(values, identity={n})))
        # the label left out where softmax meets the cross-entropy: p instead of p - y
        adj = self._adjoints(values)
        for n in sub.op_nodes:
            d = sub.attrs(n)
            if n not in below and n != self.wrt or d["op"] not in ("softmax", "log_softmax", "cross_entropy"):
                continue
            z = sub.args(n)[0]
            if z not in below and z != self.wrt:
                continue
            p_name, y_name = self._softmax_names(n)
            if d["op"] == "softmax":
                direct = values[n] * adj[n]
            elif d["op"] == "log_softmax":
                direct = adj[n]
            else:
                yv = values[sub.args(n)[1]]
                direct = -adj[n].reshape(adj[n].shape + (1,) * (yv.ndim - 1)) * yv
            if z == self.wrt:
                m = adj[z] - direct
            else:
                m = adj[self.wrt] + self._adjoints(values, seeds={z: -direct})[self.wrt]
            out.append((f"{p_name} instead of {p_name} - {y_name}",
                        f"the label {y_name} is left out of the softmax-cross-entropy derivative {p_name} - {y_name}",
                        self._pick(m)))
        # the derivative with respect to another variable of the same shape
        for n in claim_names(sub):
            if n not in (self.wrt, self.claim.of) and sub.shape(n) == sub.shape(self.wrt) and self.entry is None:
                out.append(("wrong variable", f"it is d{self.claim.of}/d{n}, not {self.claim.lhs}", adj[n]))
        return out

    def transpose_hint(self, values: Mapping[str, np.ndarray], truth: np.ndarray, rtol: float,
                       atol: float) -> tuple[str, str] | None:
        """A square matrix of the claim used where its transpose belongs (``B @ (p - y)`` for
        ``B.T @ (p - y)``): the shapes fit either way, so only the values tell."""
        for n in claim_names(self.graph):
            shape = self.graph.shape(n) if n in self.graph else ()
            if len(shape) != 2 or shape[0] != shape[1] or not re.search(rf"(?<![\w.]){re.escape(n)}(?!\w)",
                                                                        self.claim.rhs):
                continue
            swapped = dict(values)
            swapped[n] = np.swapaxes(values[n], -1, -2)
            try:
                claimed = self.claim_numeric(swapped)
            except GradlabError:
                continue
            if claimed.shape == truth.shape and _close(claimed, truth, rtol, atol, tuple(range(1, truth.ndim))).all():
                plain = len(re.findall(rf"(?<![\w.]){re.escape(n)}(?!\w)", self.claim.rhs))
                marked = len(re.findall(rf"(?<![\w.]){re.escape(n)}\s*(\.T\b|\^T|ᵀ|')", self.claim.rhs))
                which = (f"{n} stands where {n}.T belongs" if marked == 0 else
                         f"{n}.T stands where {n} belongs" if marked == plain else
                         f"{n} and {n}.T are swapped")
                return f"transposed {n}", f"{which}: with {n} transposed the claim is right"
        return None

    def label_hint(self, seed: int, rtol: float, atol: float) -> tuple[str, str] | None:
        """A claim that fails only because a label is not declared: right when it is one-hot."""
        sub = self.sub
        labels = set()
        for n in sub.op_nodes:
            if sub.attrs(n)["op"] in ("softmax", "log_softmax", "cross_entropy"):
                _, y = self._softmax_names(n)
                if y in sub and sub.kind(y) == "input" and not sub.attrs(y).get("domain") and sub.shape(y):
                    labels.add(y)
        if not labels:
            return None
        g = self.graph.copy()
        g.nx = self.graph.nx.copy()
        for y in labels:
            g.nx.nodes[y]["domain"] = "onehot"
        other = _TensorProblem(g, self.claim, self.lenient)
        other.notes = []
        try:
            values = other.sample(TRIALS, np.random.default_rng(seed), None)
        except GradlabError:
            return None
        truth, claimed = other.truth_numeric(values), other.claim_numeric(values)
        if claimed.shape == truth.shape and _close(claimed, truth, rtol, atol, tuple(range(1, truth.ndim))).all():
            names = ", ".join(sorted(labels))
            decl = "; ".join(f"{y}: onehot{tuple(sub.shape(y)) if len(sub.shape(y)) > 1 else '(' + str(sub.shape(y)[0]) + ')'}"
                             for y in sorted(labels))
            return ("assumes a one-hot label",
                    f"the claim holds when {names} is one-hot (sums to 1), not for any vector; declare it: {decl}")
        return None

    def _softmax_names(self, node: str) -> tuple[str, str]:
        g = self.sub
        d = g.attrs(node)
        if d["op"] == "cross_entropy":
            z, y = g.args(node)
            return f"softmax({z})", y
        p = node if d.get("named") else (f"softmax({g.args(node)[0]})" if d["op"] == "softmax"
                                         else f"softmax({g.args(node)[0]})")
        y = "y"
        frontier = [node]
        for _ in range(3):  # softmax -> log -> * y: find the label multiplied in
            nxt = []
            for n in frontier:
                for v, k in g.consumers(n):
                    if g.attrs(v).get("op") == "mul":
                        other = g.args(v)[1 - k]
                        if g.kind(other) == "input" or g.attrs(other).get("named"):
                            return p, other
                    nxt.append(v)
            frontier = nxt
        return p, y

    def entry_name(self, index: tuple[int, ...]) -> str:
        from .tensor_symbolic import entry_name

        if self.entry is not None:
            return self.claim.lhs
        return f"d{self.claim.of}/d{entry_name(self.wrt, index, self.shape)}"

    def point_of(self, values: Mapping[str, np.ndarray], i: int) -> tuple[dict[str, Any], dict[str, Any]]:
        g = self.graph
        point = {n: _plain(values[n][i]) for n in g.inputs}
        named = {n: _plain(values[n][i]) for n in g.op_nodes if g.attrs(n).get("named")}
        return point, named


def _plain(a: np.ndarray) -> Any:
    a = np.asarray(a)
    return float(a) if a.ndim == 0 else a.tolist()


def _zeros(shape: tuple[int, ...]) -> np.ndarray:
    return np.zeros((1,) + shape)


def _random_input(rng: np.random.Generator, n: int, shape: tuple[int, ...], domain: str | None, *,
                  positive: bool = False) -> np.ndarray:
    """Random values of one input for ``n`` points: labels one-hot (or on the simplex), others with
    magnitudes in [0.25, 2] and random signs, a matrix scaled by 1/sqrt(columns) (no saturation)."""
    from .tensor_ops import softmax_axis, to2d

    r, c = to2d(shape)
    if domain in ("onehot", "probs"):
        axis = softmax_axis(shape)
        k = r if axis == -2 else c
        other = c if axis == -2 else r
        if domain == "onehot":
            hot = np.eye(k)[rng.integers(0, k, size=(n, other))]   # n, other, k
        else:
            hot = rng.dirichlet(np.ones(k), size=(n, other))
        arr = np.swapaxes(hot, -1, -2) if axis == -2 else hot      # n, r, c
        return arr.reshape((n,) + shape)
    mag = np.exp(rng.uniform(np.log(0.25), np.log(2.0), size=(n,) + shape))
    if domain == "positive" or positive:
        return mag
    vals = mag * rng.choice([-1.0, 1.0], size=(n,) + shape)
    if len(shape) == 2 and shape[1] > 1:
        vals = vals / np.sqrt(shape[1])
    return vals


# ------------------------------------------------------------------------------- diagnosis


def _fit_factor(claimed: np.ndarray, base: np.ndarray) -> float | None:
    """The constant k with claimed ~ k * base over every point and entry, or None."""
    with np.errstate(all="ignore"):
        denom = float(np.sum(base * base))
        if denom == 0 or not np.isfinite(denom):
            return None
        k = float(np.sum(claimed * base)) / denom
    if not np.isfinite(k) or k == 0:
        return None
    return k


def _transposed(a: np.ndarray) -> np.ndarray | None:
    """A batch of gradients (points first) transposed: a column vector becomes a row (1, n), a matrix its transpose."""
    if a.ndim == 2:  # column vectors
        return a[:, None, :]
    if a.ndim == 3:
        t = np.swapaxes(a, -1, -2)
        return t[:, :, 0] if t.shape[-1] == 1 else t
    return None


def diagnose(claimed: np.ndarray, truth: np.ndarray, mutants: Sequence[tuple[str, str, np.ndarray]], *,
             rtol: float, atol: float) -> tuple[str, str] | None:
    """The likely mistake: which simple change of the true derivative gives the claimed values.

    Tried in order: a constant factor (``sign`` when -1, ``missing factor 1/2`` when the claim is
    twice the truth), a transpose (with or without a factor), then each mutant (a forgotten
    local derivative, a dropped label), each with or without a factor.
    """
    def matches(base: np.ndarray) -> tuple[bool, float | None]:
        if base.shape != claimed.shape:
            return False, None
        axes = tuple(range(1, base.ndim))
        if _close(claimed, base, rtol, atol, axes).all():
            return True, 1.0
        k = _fit_factor(claimed, base)
        if k is not None and _close(claimed, k * base, rtol, atol, axes).all():
            return True, k
        return False, None

    def factor_text(k: float) -> tuple[str, str]:
        """(name, what the claim is): ``2`` -> ("missing factor 1/2", "2 times the true derivative: ...")."""
        if abs(k + 1) < 1e-9:
            return "sign", "the true derivative with the wrong sign"
        inv = nice_number(1 / k)
        if abs(k) > 1:
            return f"missing factor {inv}", f"{nice_number(k)} times the true derivative: a factor {inv} is missing"
        return f"extra factor {nice_number(k)}", f"{nice_number(k)} times the true derivative"

    ok, k = matches(truth)
    if ok and k is not None and k != 1.0:
        name, what = factor_text(k)
        return name, f"the claim is {what}"
    tt = _transposed(truth)
    if tt is not None and (tt.shape != truth.shape or not np.allclose(tt, truth)):
        ok, k = matches(tt)
        if ok and k is not None:
            if k == 1.0:
                return "transposed", "the claim is the transpose of the true derivative"
            name, what = factor_text(k)
            return f"transposed, {name}", f"the claim transposed is {what}"
    for name, text, base in mutants:
        ok, k = matches(base)
        if ok and k is not None:
            if k == 1.0:
                return name, text
            fname, what = factor_text(k)
            return f"{name}, {fname}", f"{text}; with it, the claim is {what}"
    return None


# ------------------------------------------------------------------------------- verify


def verify(graph_or_program: Graph | str, claim: str, rhs: str | None = None, *,
           at: Mapping[str, Any] | None = None, trials: int = TRIALS, seed: int = 0, rtol: float = 1e-7,
           atol: float = 1e-9, lenient: bool = False, symbolic: bool = True, explain: bool = True) -> VerifyResult:
    """Check a claimed derivative ``"dL/dB = (p - y) @ v.T / 2"`` (or ``claim="da/dx0", rhs="w0*a*(1-a)"``).

    ``at`` adds a point of the user's to the ``trials`` random ones; ``seed`` makes the random
    points reproducible; ``lenient`` accepts student syntax (``^``, ``σ``, implicit products);
    ``symbolic=False`` skips the symbolic decision; ``explain=False`` leaves out ``truth`` (gradlab's
    own formula for a matrix claim costs more than deciding the claim: graders do without it).
    """
    if trials < 0 or (trials == 0 and at is None):
        raise GradlabError("trials must be at least 1 (or give a point with 'at')")
    c = parse_claim(claim, rhs)
    graph = _as_graph(graph_or_program, at)
    problem: Any = _TensorProblem(graph, c, lenient) if graph.is_tensor else _ScalarProblem(graph, c, lenient)
    problem.notes = []
    problem.explain = explain
    rng = np.random.default_rng(seed)
    values = problem.sample(trials, rng, at)
    truth = problem.truth_numeric(values)
    claimed = problem.claim_numeric(values)
    n_points = truth.shape[0]
    shape = list(problem.shape)
    rhs_text = c.rhs if graph.is_tensor else str(problem.expr)
    notes = problem.notes
    same_shape = claimed.shape == truth.shape
    if same_shape:
        axes = tuple(range(1, truth.ndim))
        close = _close(claimed, truth, rtol, atol, axes)
        bad_points = np.flatnonzero(~close.reshape(n_points, -1).all(axis=1))
    else:
        close = None
        bad_points = np.arange(n_points)
    if len(bad_points) == 0:
        # right at every point: try to prove it (a proof of a wrong claim cannot succeed, so only now)
        proved = problem.decide() if symbolic else False
        truth_text = getattr(problem, "truth_text", None)
        how = "proved symbolically" if proved else "no symbolic proof found"
        message = f"{c.lhs} = {c.rhs} holds ({how}; true at {n_points} random point{'s' * (n_points != 1)})"
        return VerifyResult(True, c.text, c.lhs, rhs_text, c.of, c.wrt, shape, "symbolic" if proved else "numeric",
                            n_points, None, None, message, seed, "", truth_text, notes)
    truth_text = problem.truth_formula() if symbolic and explain else None
    i = int(bad_points[0])
    point, named = problem.point_of(values, i)
    diffs = []
    ce = Counterexample(point, named, diffs)
    if close is not None:
        flat_c, flat_t, flat_ok = claimed[i].reshape(-1), truth[i].reshape(-1), close[i].reshape(-1)
        for j in np.flatnonzero(~flat_ok)[:MAX_ENTRIES]:
            idx = tuple(int(k) for k in np.unravel_index(j, truth[i].shape)) if truth[i].ndim else ()
            diffs.append(EntryDiff(problem.entry_name(idx), list(idx), float(flat_c[j]), float(flat_t[j])))
    else:
        ce.claimed_shape, ce.true_shape = list(claimed.shape[1:]), list(truth.shape[1:])
    if truth[i].ndim and truth[i].size <= 100:
        ce.claimed_value, ce.true_value = claimed[i].tolist(), truth[i].tolist()
    found = diagnose(claimed, truth, problem.mutants(values), rtol=rtol, atol=atol)
    if found is None and same_shape and isinstance(problem, _TensorProblem):
        found = problem.transpose_hint(values, truth, rtol, atol) or problem.label_hint(seed, rtol, atol)
    if found is None and not same_shape:
        found = ("wrong shape", f"the claim is {_shape_words(claimed.shape[1:])}, {c.lhs} has the shape of "
                                f"{c.wrt}: {_shape_words(truth.shape[1:])}")
    mistake, why = found if found else (None, "")
    where = (f"at {len(bad_points)} of {n_points} random points it differs from the true derivative" if same_shape
             else f"it has shape {tuple(claimed.shape[1:])}, the gradient {tuple(truth.shape[1:])}")
    message = f"{c.lhs} = {c.rhs} is wrong: {where}" + (f"; likely mistake: {mistake} ({why})" if mistake else "")
    return VerifyResult(False, c.text, c.lhs, rhs_text, c.of, c.wrt, shape, "numeric", n_points,
                        ce, mistake, message, seed, why, truth_text, notes)


def check_formulas(graph: Graph, formulas: Mapping[str, str], *, trials: int = 6, seed: int = 12345,
                   rtol: float = 1e-7, atol: float = 1e-9) -> dict[str, bool]:
    """Which of several formulas ``{node: "d output/d node formula"}`` hold at shared random points
    (one sample, one backward pass; for checking many matrix forms of one graph at once)."""
    from .tensor_expr import Tensor, parse_matrix_expression

    if not formulas:
        return {}
    out_name = graph.output
    first = next(iter(formulas))
    problem = _TensorProblem(graph, Claim(out_name, first, formulas[first], ""), False)
    problem.notes = []
    values = problem.sample(trials, np.random.default_rng(seed), None)
    adj = problem._adjoints(values)
    names = {n: Tensor(values[n], graph.shape(n)) for n in claim_names(graph)}
    result = {}
    for node, form in formulas.items():
        try:
            with np.errstate(all="ignore"):
                t = parse_matrix_expression(form, names, symbolic=False)
        except GradlabError:
            result[node] = False
            continue
        truth = adj[node]
        claimed = np.asarray(t.data, dtype=np.float64)
        if t.shape != graph.shape(node):
            if t.shape != ():
                result[node] = False
                continue
            claimed = np.broadcast_to(claimed.reshape(claimed.shape + (1,) * len(graph.shape(node))), truth.shape)
        result[node] = bool(_close(claimed, truth, rtol, atol, tuple(range(1, truth.ndim))).all())
    return result


def _shape_words(shape: tuple[int, ...]) -> str:
    from .tensor_ops import shape_text

    return shape_text(tuple(shape))


# ------------------------------------------------------------------------------- text


def _fmt(v: Any) -> str:
    if isinstance(v, (list, tuple, np.ndarray)):
        return np.array2string(np.asarray(v, dtype=float), precision=6, suppress_small=False, separator=", ",
                               max_line_width=10_000).replace("\n", "")
    return f"{v:.6g}"


def format_result(r: VerifyResult) -> str:
    """The verdict as the CLI prints it."""
    lines = [f"claim:    {r.claim}"]
    if r.ok:
        how = ("proved symbolically, and true at" if r.decided == "symbolic"
               else "no symbolic proof found; true at")
        lines.append(f"verdict:  TRUE ({how} {r.trials} random point{'s' * (r.trials != 1)})")
    else:
        lines.append(f"verdict:  FALSE (wrong at a random point; {r.trials} points tested)")
        if r.mistake:
            lines.append(f"likely mistake: {r.mistake}" + (f" ({r.hint})" if r.hint else ""))
        ce = r.counterexample
        if ce is not None:
            lines.append("counterexample (a random point):")
            for n, v in ce.point.items():
                lines.append(f"  {n} = {_fmt(v)}")
            if ce.values:
                lines.append("  so " + ", ".join(f"{n} = {_fmt(v)}" for n, v in ce.values.items()))
            if ce.claimed_shape is not None:
                lines.append(f"  the claim has shape {tuple(ce.claimed_shape)}, {r.lhs} has shape {tuple(ce.true_shape or [])}")
            from .report import table

            rows = [[e.entry, f"{e.claimed:.6g}", f"{e.true:.6g}"] for e in ce.entries]
            if rows:
                lines.append("  " + table(["entry", "claimed", "true"], rows).replace("\n", "\n  "))
    for note in r.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


__all__ = ["verify", "VerifyResult", "Counterexample", "EntryDiff", "Claim", "parse_claim", "prove_equal", "is_zero"]
