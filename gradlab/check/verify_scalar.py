"""A claim about a graph of numbers, decided on the scalar engine (used by :func:`gradlab.verify`):
random points away from kinks and poles, the true derivative from the local derivatives, the
symbolic decision, and the mistakes a student makes along a chain (a left-out local derivative,
the wrong variable)."""

from __future__ import annotations

from typing import Any, Mapping

import networkx as nx
import numpy as np
import sympy as sp

from ..engine.numeric import backward, forward_lazy, local_partials, point_values
from ..errors import GradlabError
from ..lang.claims import Claim, claim_names, forgettable_gates, is_activation, prove_equal, subgraph_to
from ..lang.exact import exact_decimals
from ..model.graph import Graph
from ..model.mistakes import NAMES, Candidate
from ..ops import Op, as_sympy, op_for

#: Points at which a claim that float64 cannot tell from the truth is compared in exact arithmetic.
EXACT_POINTS = 4
#: A difference of at most this many operations is shown in the reason.
SHORT_DIFFERENCE = 24


class ScalarProblem:
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
        from ..engine.symbolic import node_symbol
        from ..lang.expr import parse_expression

        self.symbols = {n: node_symbol(n) for n in names}
        self.expr = as_sympy(parse_expression(claim.rhs, self.symbols, lenient=lenient, unknown_names=False))
        self.shape: tuple[int, ...] = ()

    # symbolic ------------------------------------------------------------------------------
    def truth_symbolic(self) -> sp.Expr:
        from ..engine.symbolic import symbolic_gradients

        if self.claim.wrt not in self.sub:
            return sp.Integer(0)
        self.sg = symbolic_gradients(self.sub)
        return self.sg.named(self.claim.wrt)

    def definitions(self) -> dict[sp.Symbol, sp.Expr]:
        """Each named node's value in the inputs and earlier names, in graph order, decimals exact."""
        from ..engine.symbolic import node_symbol, symbolic_gradients

        sg = symbolic_gradients(self.graph)
        return {node_symbol(n): exact_decimals(sg.named_value_expr(n)) for n in self.graph.op_nodes
                if self.graph.attrs(n).get("named")}

    notes: list[str]
    #: whether :meth:`exact_difference` compared every point it meant to (and found the claim equal there)
    exact_checked = False

    def truth_formula(self) -> str:
        return str(self.truth_symbolic())

    def decide(self) -> bool:
        """Whether the claim is proved right, in exact arithmetic (the graph's decimals as written: 0.1 is 1/10)."""
        truth = self.truth_symbolic()
        self.truth_text = str(truth)
        self.exact_truth = exact_decimals(truth)
        return prove_equal(self.expr - self.exact_truth, self.definitions(), keep=self.expr.free_symbols)

    def exact_difference(self, values: Mapping[str, np.ndarray]) -> tuple[int, tuple[float, float, float]] | None:
        """A point (its number, and claimed, true, difference there) where the claim is not the true derivative in
        exact arithmetic, among the first :data:`EXACT_POINTS` points; None where it is to the digits evaluated.
        Call after :meth:`decide`."""
        from ..engine.symbolic import node_symbol
        from ..lang.exact import difference

        defs = list(self.definitions().items())
        n = next(iter(values.values())).shape[0]
        self.exact_checked = False
        for i in range(min(n, EXACT_POINTS)):
            env = {node_symbol(x): float(values[x][i]) for x in self.graph.inputs}
            try:
                found = difference(self.expr, self.exact_truth, env, defs)
            except (TypeError, ValueError, ArithmeticError, RecursionError):  # no number to 50 digits: undecided
                return None
            if found is not None:
                return i, found
        self.exact_checked = True
        return None

    def exact_reason(self, values: Mapping[str, np.ndarray]) -> tuple[str | None, str]:
        """(mistake, hint) for a claim that is wrong only in exact arithmetic: its decimals rounding simple
        fractions, or the difference itself where it is short."""
        from ..engine.symbolic import node_symbol
        from ..lang.exact import decimal_text, difference, rounded_decimals

        rounded = rounded_decimals(self.expr)
        if rounded:
            fixed = self.expr.xreplace(rounded)
            defs = list(self.definitions().items())
            n = next(iter(values.values())).shape[0]
            if all(difference(fixed, self.exact_truth, {node_symbol(x): float(values[x][i]) for x in self.graph.inputs},
                              defs) is None for i in range(min(n, EXACT_POINTS))):
                pairs = ", ".join(f"{decimal_text(r)} for {c}" for r, c in rounded.items())
                return "rounded constant", f"the claim rounds exact constants ({pairs}); with them it is right"
        diff = self.expr - self.exact_truth
        if sp.count_ops(diff) <= 8 * SHORT_DIFFERENCE:  # only a short difference is worth expanding
            diff = sp.factor(sp.expand(diff))
            if sp.count_ops(diff) <= SHORT_DIFFERENCE:
                return None, f"the claim minus the true derivative is {diff}, not 0"
        return None, ""

    # numeric -------------------------------------------------------------------------------
    def claim_exprs(self) -> list[Any]:
        """The claim as SymPy (for its kinks: :mod:`.verify_points`)."""
        return [self.expr]

    def symbol_values(self, values: Mapping[str, np.ndarray]) -> dict[sp.Symbol, np.ndarray]:
        return {s: values[n] for n, s in self.symbols.items()}

    def forward_points(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return _forward_tolerant(self.graph, inputs)

    def valid(self, values: Mapping[str, np.ndarray], kink_margin: float = 1e-3) -> np.ndarray:
        return _valid(self.graph, values, kink_margin)

    def sample(self, trials: int, rng: np.random.Generator, at: Mapping[str, Any] | None) -> dict[str, np.ndarray]:
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

    def truth_numeric(self, values: Mapping[str, np.ndarray], overrides: Mapping[Any, Any] | None = None
                      ) -> np.ndarray:
        if self.claim.wrt not in self.sub:
            return np.zeros_like(values[self.claim.of])
        vals = {n: values[n] for n in self.sub.nodes}
        return backward(self.sub, vals, overrides=overrides).adjoints[self.claim.wrt]

    def claim_numeric(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        from ..ops import NUMPY_NAMESPACE

        syms = sorted(self.expr.free_symbols, key=str)
        f = sp.lambdify(syms, self.expr, modules=[NUMPY_NAMESPACE, "numpy"])
        batch = values[self.claim.of].shape
        with np.errstate(all="ignore"):
            out = np.asarray(f(*[values[str(s)] for s in syms]), dtype=np.float64)
        return np.broadcast_to(out, batch).copy()

    def mutants(self, values: Mapping[str, np.ndarray]) -> list[Candidate]:
        """Common mistakes, as the derivative they would give (named by :mod:`gradlab.model.mistakes`, as grading
        names them): a left-out local derivative (one wire's, or a whole activation's), a gate's output for its
        derivative, one branch of a fork, the forward value, the derivative with respect to another variable."""
        out = []
        sub, wrt = self.sub, self.claim.wrt
        for edges, node, label in derivative_chains(sub, wrt):
            m = self.truth_numeric(values, overrides={e: 1.0 for e in edges})
            out.append(Candidate("chain", chain_name(sub, edges), f"the derivative of {label} is left out", m))
        upstream = (nx.descendants(sub.nx, wrt) | {wrt}) if wrt in sub else set()
        on_path = [(u, v, k) for u, v, k in sub.edges() if u in upstream]
        # the gate's output for its derivative (σ for σ·(1 − σ)): the mistake the gate's record names, by its name
        for u, v, k in on_path:
            op = op_for(sub.attrs(v)["op"]) if sub.kind(v) == "op" else None
            if op is not None and op.output_mistake:
                m = self.truth_numeric(values, overrides={(u, v, k): values[v]})
                out.append(Candidate(op.name, op.name, op.output_mistake, m))
        # one branch of a fork taken, the others dropped
        for n in sorted(upstream, key=list(sub.nodes).index):
            outs = [(n, v, k) for v, k in sub.consumers(n) if (n, v, k) in set(on_path)]
            for keep in outs if len(outs) > 1 else []:
                m = self.truth_numeric(values, overrides={e: 0.0 for e in outs if e != keep})
                out.append(Candidate("fork", NAMES["fork"], f"only the branch of {n} into {_label(sub, keep[1])} is "
                                     f"taken; the gradients of the {len(outs)} branches add up", m))
        # the forward value for the derivative
        out.append(Candidate("forward", NAMES["forward"], f"it is the value of {self.claim.of}, not its derivative",
                             np.asarray(values[self.claim.of], dtype=np.float64)))
        # the derivative with respect to another variable (x0 for w0: the factors swapped)
        vals = {n: values[n] for n in sub.nodes}
        adj = backward(sub, vals).adjoints
        for n in claim_names(sub):
            if n not in (wrt, self.claim.of):
                out.append(Candidate("variable", NAMES["variable"], f"it is d{self.claim.of}/d{n}, not {self.claim.lhs}",
                                     adj[n]))
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


def _gate(graph: Graph, n: str) -> Op:
    """The gate of the op node ``n``."""
    op = op_for(graph.attrs(n)["op"])
    assert op is not None  # a graph holds only known gates
    return op


def _forward_tolerant(graph: Graph, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every node's value at a batch of points; non-finite results are kept (marked invalid later)."""
    shape = np.broadcast_shapes(*(np.shape(v) for v in inputs.values())) if inputs else (1,)
    arrays = {n: np.broadcast_to(np.asarray(v, dtype=np.float64), shape).copy() for n, v in inputs.items()}
    return forward_lazy(graph, arrays.__getitem__, tuple(shape), check=False)


def _valid(graph: Graph, values: Mapping[str, np.ndarray], kink_margin: float = 1e-3) -> np.ndarray:
    """Points (along the batch axis) where every value and every local derivative is finite, away from kinks."""

    first = next(iter(values.values()))
    ok = np.ones(first.shape[0], dtype=bool)
    for n in graph.nodes:
        v = values[n]
        ok &= np.isfinite(v).reshape(v.shape[0], -1).all(axis=1)
    for n in graph.op_nodes:
        d = graph.attrs(n)
        op = _gate(graph, n)
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


def chain_name(graph: Graph, edges: list[tuple[str, str, int]]) -> str:
    """verify's name for left-out local derivatives: ``missing activation derivative`` where one is an
    activation's, else ``missing local derivative``."""
    act = any(is_activation(graph.attrs(v).get("op")) for _, v, _ in edges)
    return "missing activation derivative" if act else "missing local derivative"


def _label(graph: Graph, n: str) -> str:
    d = graph.attrs(n)
    text = d.get("text")
    return f"{n} = {text}" if d.get("named") and text else f"the gate {d['label']} ({graph.describe(n)})"


def derivative_chains(graph: Graph, wrt: str) -> list[tuple[list[tuple[str, str, int]], str, str]]:
    """Candidates for a forgotten derivative, each (wires, gate, what it is): each wire from ``wrt`` towards the
    output whose local derivative is not plain (a copy, a sign), in graph order, and each chain of one-argument
    gates between two named nodes (``a = 1/(1+exp(-z))``: the whole activation)."""
    on_path = (nx.descendants(graph.nx, wrt) if wrt in graph else set())
    upstream = on_path | {wrt}
    forgettable = set(forgettable_gates(graph, wrt)) if wrt in graph else set()
    found: list[tuple[list[tuple[str, str, int]], str, str]] = []
    seen: set[frozenset[tuple[str, str, int]]] = set()
    for n in graph.op_nodes:
        if n not in on_path:
            continue
        op = _gate(graph, n)
        if op.arity == 1 and n not in forgettable:
            continue
        for k, a in enumerate(graph.args(n)):
            if a in upstream:
                e = (a, n, k)
                what = _label(graph, n) if op.arity == 1 else f"{graph.attrs(n).get('text') or n} with respect to {a}"
                found.append(([e], n, what))
                seen.add(frozenset([e]))
    # chains of one-argument gates ending at a named node: the whole activation of a neuron
    for n in graph.op_nodes:
        if n not in on_path or not graph.attrs(n).get("named"):
            continue
        chain: list[tuple[str, str, int]] = []
        cur = n
        while graph.kind(cur) == "op" and _gate(graph, cur).arity == 1 and cur in on_path:
            arg = graph.args(cur)[0]
            chain.append((arg, cur, 0))
            cur = arg
            if graph.attrs(cur).get("named") or graph.kind(cur) != "op":
                break
        key = frozenset(chain)
        if len(chain) > 1 and key not in seen and any(is_activation(graph.attrs(v).get("op")) for _, v, _ in chain):
            seen.add(key)
            found.append((chain, n, _label(graph, n)))
    return found[:60]



