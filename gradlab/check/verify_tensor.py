"""A claim about a graph of vectors and matrices, decided on the tensor engine (used by
:func:`gradlab.verify`): random points (one-hot labels one-hot), the true gradient from the local
derivatives, a symbolic proof at one entry per orbit of the index symmetry, and the mistakes of
matrix calculus (a transpose, a left-out label, a square matrix where its transpose belongs)."""

from __future__ import annotations

import re
from typing import Any, Iterator, Mapping, Sequence

import networkx as nx
import numpy as np
import sympy as sp

from ..engine.tensor_forms import raw_matrix_forms, show
from ..errors import GradlabError
from ..lang.claims import (
    TRIALS,
    Claim,
    claim_names,
    close_entries,
    forgettable_gates,
    is_activation,
    prove_equal,
    subgraph_to,
)
from ..lang.tensor_expr import Tensor, parse_matrix_expression
from ..model.graph import Graph
from ..model.mistakes import NAMES, Candidate
from ..ops import OPS, as_sympy, op_for
from ..ops.tensor import tensor_op

#: Gradients with at most this many entries are decided symbolically entry by entry; bigger ones
#: are tested at random points only.
SYMBOLIC_ENTRIES = 64
#: Claims with at most this many entries are searched for their kinks (:mod:`.verify_points`).
KINK_ENTRIES = 256


class _EntryNames(Mapping[str, Any]):
    """Names such as ``p_1`` or ``B_1_2`` resolved on demand to one entry (1-based) of a tensor."""

    def __init__(self, graph: Graph, source: Mapping[str, np.ndarray], names: Sequence[str], batch: bool) -> None:
        self.graph, self.source, self.names, self.batch = graph, source, set(names), batch

    def _index(self, key: str) -> tuple[str, tuple[int, ...]] | None:
        from ..lang.tensor_expr import ENTRY_RE

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

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def _local_derivative_text(graph: Graph, node: str) -> str:
    """A one-argument gate's local derivative in the names of the graph: ``1 - v**2`` for ``v = tanh(u)``."""
    from ..ops import op_for

    d = graph.attrs(node)
    arg = graph.args(node)[0]
    a_text = arg if graph.attrs(arg).get("named") or graph.kind(arg) != "op" else f"({graph.attrs(arg).get('text') or arg})"
    o_text = node if d.get("named") else f"({d.get('text') or node})"
    from ..ops.tensor import _sym_param

    op = op_for(d["op"])
    assert op is not None  # a graph holds only known gates
    part = op.partials([sp.Symbol(a_text)], sp.Symbol(o_text), _sym_param(d.get("param")))[0]
    return str(part)


class TensorProblem:
    """A claim about a graph with vectors and matrices, on the tensor engine."""

    notes: list[str]

    def __init__(self, graph: Graph, claim: Claim, lenient: bool) -> None:
        from ..lang.tensor_expr import ENTRY_RE
        from ..ops.tensor import shape_text

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
        from ..lang.tensor_expr import Tensor, parse_matrix_expression

        names = {n: Tensor(values[n], self.graph.shape(n)) for n in self.names}
        entries = _EntryNames(self.graph, values, self.names, batch)
        with np.errstate(all="ignore"):
            return parse_matrix_expression(self.claim.rhs, names, symbolic=not batch, lenient=self.lenient,
                                           entries=entries)

    # symbolic ------------------------------------------------------------------------------
    def decide(self) -> bool:
        from ..engine.tensor_symbolic import named_definitions, node_symbols, simplex_constraints, tensor_symbolic
        from ..ops.tensor import size

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
            c = as_sympy(claim.data[()] if claim.shape == () else claim.data[idx if self.entry is None else ()])
            t = ts.entry(self.wrt, idx)
            if not prove_equal(c - t, defs, constraints, keep=c.free_symbols):
                return False
        return True

    def _representatives(self) -> list[tuple[int, ...]] | None:
        """One entry per orbit of the index permutations that leave graph and claim alike, or None."""
        from ..engine.tensor_symmetry import axis_classes, claim_graph, representatives

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
        from ..engine.tensor_symbolic import tensor_symbolic
        from ..ops.tensor import size

        if self.wrt not in self.sub or size(self.shape) > 4 * SYMBOLIC_ENTRIES:
            return None
        return self._truth_text(tensor_symbolic(self.sub))

    def _truth_text(self, ts: Any) -> str:
        if self.entry is not None:
            return str(ts.entry(self.wrt, self.entry))
        raw = raw_matrix_forms(self.sub, ts).get(self.wrt)
        if raw is not None:  # the matrix form, where it holds (as gradlab.matrix_forms shows it)
            form = show(raw)
            try:
                if check_formulas(self.sub, {self.wrt: form}).get(self.wrt):
                    return form
            except GradlabError:
                pass
        idx, e = ts.representative(self.wrt)
        from ..engine.tensor_symbolic import entry_name

        return f"(entry {entry_name(self.wrt, idx, self.shape)}) {e}"

    def exact_difference(self, values: Mapping[str, np.ndarray]) -> None:
        """Vectors and matrices: no exact comparison (the symbolic proof and the random points decide)."""
        return None

    # numeric -------------------------------------------------------------------------------
    def claim_exprs(self) -> list[Any]:
        """The claim's entries as SymPy (for its kinks: :mod:`.verify_points`); none for a big claim."""
        from ..engine.tensor_symbolic import node_symbols
        from ..ops.tensor import size

        if size(self.claimed_shape) > KINK_ENTRIES:
            return []
        c = self._parse({n: node_symbols(self.graph, n) for n in self.names}, batch=False)
        return [as_sympy(e) for e in np.asarray(c.data, dtype=object).flat]

    def symbol_values(self, values: Mapping[str, np.ndarray]) -> dict[sp.Symbol, np.ndarray]:
        from ..engine.tensor_symbolic import node_symbols

        out: dict[sp.Symbol, np.ndarray] = {}
        for n in self.names:
            syms = np.asarray(node_symbols(self.graph, n), dtype=object)
            for idx in np.ndindex(*syms.shape):
                out[syms[idx]] = values[n][(slice(None),) + idx]
        return out

    def forward_points(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        from ..engine.numeric import forward

        with np.errstate(all="ignore"):
            return forward(self.graph, inputs=dict(inputs), check=False)

    def valid(self, values: Mapping[str, np.ndarray], kink_margin: float = 1e-3) -> np.ndarray:
        return self._valid(values, kink_margin)

    def sample(self, trials: int, rng: np.random.Generator, at: Mapping[str, Any] | None) -> dict[str, np.ndarray]:
        from ..engine.numeric import forward, point_values

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
            pts = {n: random_input(rng, n_cand, g.shape(n), g.attrs(n).get("domain"), positive=attempt >= 4)
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
        from ..engine.numeric import backward
        from ..ops import op_for
        from ..ops.tensor import TensorOp, expand

        g = self.graph
        nb = next(iter(values.values())).shape[0]
        ok = np.ones(nb, dtype=bool)
        for n in g.nodes:
            ok &= np.isfinite(values[n]).reshape(nb, -1).all(axis=1)
        for n in g.op_nodes:
            d = g.attrs(n)
            op = op_for(d["op"])
            assert op is not None  # a graph holds only known gates
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
        from ..engine.numeric import backward

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

    def mutants(self, values: Mapping[str, np.ndarray]) -> list[Candidate]:
        """Common mistakes, as the gradient they would give (named by :mod:`gradlab.model.mistakes`, as grading
        names them): a left-out local derivative, the label left out, the gradient of another variable."""
        sub = self.sub
        out: list[Candidate] = []
        if self.wrt not in sub:
            return out
        below = nx.descendants(sub.nx, self.wrt)
        # a forgotten local derivative of a one-argument gate (an activation)
        for n in forgettable_gates(sub, self.wrt):
            d = sub.attrs(n)
            kind = "missing activation derivative" if is_activation(d["op"]) else "missing local derivative"
            what = f"{n} = {d.get('text')}" if d.get("named") and d.get("text") else f"the gate {d['label']}"
            out.append(Candidate("chain", kind, f"the derivative of {what}, {_local_derivative_text(sub, n)}, is left out",
                                 self.truth_numeric(values, identity={n})))
        # an activation's output for its derivative (tanh(u) for 1 - tanh(u)**2): the mistake its record names
        for n in forgettable_gates(sub, self.wrt):
            op = op_for(sub.attrs(n)["op"])
            if op is not None and op.output_mistake:
                e = (sub.args(n)[0], n, 0)
                out.append(Candidate(op.name, op.name, op.output_mistake,
                                     self.truth_numeric(values, overrides={e: values[n]})))
        # the label left out where softmax meets the cross-entropy: p instead of p - y
        adj = self._adjoints(values)
        for n in sub.op_nodes:
            d = sub.attrs(n)
            gate = tensor_op(d["op"])
            if n not in below and n != self.wrt or gate is None or gate.label_term is None:
                continue
            z = sub.args(n)[0]
            if z not in below and z != self.wrt:
                continue
            p_name, y_name = self._softmax_names(n)
            direct = gate.label_term(values[n], adj[n], [values[a] for a in sub.args(n)])
            if z == self.wrt:
                m = adj[z] - direct
            else:
                m = adj[self.wrt] + self._adjoints(values, seeds={z: -direct})[self.wrt]
            out.append(Candidate("label", f"{p_name} instead of {p_name} - {y_name}",
                                 f"the label {y_name} is left out of the softmax-cross-entropy derivative "
                                 f"{p_name} - {y_name}", self._pick(m)))
        # the derivative with respect to another variable of the same shape
        for n in claim_names(sub):
            if n not in (self.wrt, self.claim.of) and sub.shape(n) == sub.shape(self.wrt) and self.entry is None:
                out.append(Candidate("variable", NAMES["variable"], f"it is d{self.claim.of}/d{n}, not {self.claim.lhs}",
                                     adj[n]))
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
            if claimed.shape == truth.shape and close_entries(claimed, truth, rtol, atol, tuple(range(1, truth.ndim))).all():
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
            gate = tensor_op(sub.attrs(n)["op"])
            if gate is not None and gate.label_term is not None:
                _, y = self._softmax_names(n)
                if y in sub and sub.kind(y) == "input" and not sub.attrs(y).get("domain") and sub.shape(y):
                    labels.add(y)
        if not labels:
            return None
        g = self.graph.copy()
        g.nx = self.graph.nx.copy()
        for y in labels:
            g.nx.nodes[y]["domain"] = "onehot"
        other = TensorProblem(g, self.claim, self.lenient)
        other.notes = []
        try:
            values = other.sample(TRIALS, np.random.default_rng(seed), None)
        except GradlabError:
            return None
        truth, claimed = other.truth_numeric(values), other.claim_numeric(values)
        if claimed.shape == truth.shape and close_entries(claimed, truth, rtol, atol, tuple(range(1, truth.ndim))).all():
            names = ", ".join(sorted(labels))
            decl = "; ".join(f"{y}: onehot{tuple(sub.shape(y)) if len(sub.shape(y)) > 1 else '(' + str(sub.shape(y)[0]) + ')'}"
                             for y in sorted(labels))
            return ("assumes a one-hot label",
                    f"the claim holds when {names} is one-hot (sums to 1), not for any vector; declare it: {decl}")
        return None

    def _softmax_names(self, node: str) -> tuple[str, str]:
        g = self.sub
        d = g.attrs(node)
        gate = tensor_op(d["op"])
        if gate is not None and gate.label_arg is not None:
            return f"softmax({g.args(node)[0]})", g.args(node)[gate.label_arg]
        p = node if d.get("named") else f"softmax({g.args(node)[0]})"
        y = "y"
        frontier = [node]
        for _ in range(3):  # softmax -> log -> * y: find the label multiplied in
            nxt = []
            for n in frontier:
                for v, k in g.consumers(n):
                    if op_for(g.attrs(v).get("op")) is OPS["mul"]:
                        other = g.args(v)[1 - k]
                        if g.kind(other) == "input" or g.attrs(other).get("named"):
                            return p, other
                    nxt.append(v)
            frontier = nxt
        return p, y

    def entry_name(self, index: tuple[int, ...]) -> str:
        from ..engine.tensor_symbolic import entry_name

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


def random_input(rng: np.random.Generator, n: int, shape: tuple[int, ...], domain: str | None, *,
                  positive: bool = False) -> np.ndarray:
    """Random values of one input for ``n`` points: labels one-hot (or on the simplex), others with
    magnitudes in [0.25, 2] and random signs, a matrix scaled by 1/sqrt(columns) (no saturation)."""
    from ..ops.tensor import softmax_axis, to2d

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


def check_formulas(graph: Graph, formulas: Mapping[str, str], *, trials: int = 6, seed: int = 12345,
                   rtol: float = 1e-7, atol: float = 1e-9) -> dict[str, bool]:
    """Which of several formulas ``{node: "d output/d node formula"}`` hold at shared random points
    (one sample, one backward pass; for checking many matrix forms of one graph at once)."""
    if not formulas:
        return {}
    out_name = graph.output
    first = next(iter(formulas))
    problem = TensorProblem(graph, Claim(out_name, first, formulas[first], ""), False)
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
        result[node] = bool(close_entries(claimed, truth, rtol, atol, tuple(range(1, truth.ndim))).all())
    return result
