"""Check a backward pass done by hand (or by your own engine), node by node, and say what went wrong.

You give the adjoints you computed (d output / d node, by node name) and, optionally, the
forward values; gradlab compares them with its own and looks at the first wrong one in
backward order, where every node downstream of it is still right, to name the mistake:

* ``sign error``: yours is the negative of the right adjoint;
* ``missing sum at a fork``: the node feeds several gates and yours is only part of the
  sum of what flows back through them;
* ``missing upstream factor``: yours is the gate's local derivative alone, not multiplied
  by the adjoint of the gate (the chain rule's other factor);
* ``wrong local derivative``: the node feeds one gate, whose adjoint is right, so the
  local derivative you used for it must be wrong (gradlab shows the right one);
* ``wrong forward value``: a value of the forward pass is wrong (checked first).

>>> r = check_adjoints("q = x + y; f = q*z", at=dict(x=-2, y=5, z=-4), adjoints=dict(f=1, q=4, z=3))
>>> r.ok, r.first, r.mistake
(False, 'q', 'sign error')
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

import numpy as np

from ..check.gradients import _as_graph
from ..check.report import num, table
from ..engine.numeric import evaluate
from ..errors import GradlabError
from ..model.graph import Graph

__tracebackhide__ = True

#: Forks with more consumers than this are not searched for a partial sum.
MAX_FORK = 12


@dataclass
class AdjointCheck:
    """One number you gave against gradlab's."""

    node: str
    kind: str  # "value" or "adjoint"
    given: float
    correct: float
    tolerance: float
    ok: bool


@dataclass
class AdjointReport:
    """The result of :func:`check_adjoints`; ``first`` is the node to look at, ``mistake`` what went wrong."""

    program: str
    output: str
    at: dict[str, float]
    checks: list[AdjointCheck]
    ok: bool
    first: str | None = None
    mistake: str | None = None
    message: str = ""
    hint: str = ""
    wrong: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return json.loads(json.dumps(d, default=float))

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    def __str__(self) -> str:
        return format_adjoint_report(self)


_LHS = re.compile(r"^\s*[d∂]\s*([A-Za-z][A-Za-z0-9_]*)\s*/\s*[d∂]\s*([A-Za-z][A-Za-z0-9_]*)\s*$")


def _node_key(graph: Graph, key: str) -> str:
    """``"z"`` or ``"da/dz"`` -> ``"z"``, checked to be a node."""
    m = _LHS.match(key)
    name = key
    if m and key not in graph:
        if m.group(1) != graph.output:
            raise GradlabError(f"'{key}': gradlab checks adjoints of the output {graph.output}, "
                               f"d{graph.output}/d<node>")
        name = m.group(2)
    if name not in graph:
        named = [n for n in graph.nodes if graph.attrs(n).get("named") or graph.kind(n) != "const"]
        raise GradlabError(f"'{key}' is not a node of the graph (its nodes: {', '.join(named)})")
    return name


def _number(x: Any, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.floating, np.integer)) and np.ndim(x) != 0:
        raise GradlabError(f"{what} must be a number, got {x!r}")
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise GradlabError(f"{what} must be a number, got {x!r}") from None
    return v


def _tolerance(given: float, correct: float, rtol: float, atol: float, decimals: int | None) -> float:
    if decimals is not None:
        return 0.5 * 10.0 ** (-decimals) + 1e-12
    return atol + rtol * max(abs(given), abs(correct))


def check_adjoints(graph_or_program: Graph | str, at: Mapping[str, float], adjoints: Mapping[str, float], *,
                   values: Mapping[str, float] | None = None, rtol: float = 1e-6, atol: float = 1e-9,
                   decimals: int | None = None) -> AdjointReport:
    """Your adjoints (and forward values) against gradlab's, with the first mistake named.

    Keys are node names (``"z"``) or ``"da/dz"``. Numbers must match to ``rtol``/``atol``,
    or, with ``decimals=4``, to within half a unit in the 4th decimal (hand-rounded work).
    """
    graph = _as_graph(graph_or_program)
    if not isinstance(adjoints, Mapping):
        raise GradlabError("adjoints must be a mapping node -> number, e.g. {'z': 0.1966}")
    ev = evaluate(graph, at)
    out = graph.output
    val = {n: float(np.asarray(ev.values[n]).reshape(())) for n in graph.nodes}
    adj = {n: float(np.asarray(ev.adjoints[n]).reshape(())) for n in graph.nodes}
    point = {n: val[n] for n in graph.inputs}
    given_adj = {_node_key(graph, k): _number(v, f"the adjoint of '{k}'") for k, v in adjoints.items()}
    given_val = {_node_key(graph, k): _number(v, f"the value of '{k}'") for k, v in (values or {}).items()}
    position = {n: i for i, n in enumerate(graph.nodes)}

    checks: list[AdjointCheck] = []
    for n in sorted(given_val, key=position.__getitem__):
        tol = _tolerance(given_val[n], val[n], rtol, atol, decimals)
        checks.append(AdjointCheck(n, "value", given_val[n], val[n], tol, abs(given_val[n] - val[n]) <= tol))
    for n in sorted(given_adj, key=position.__getitem__, reverse=True):
        tol = _tolerance(given_adj[n], adj[n], rtol, atol, decimals)
        checks.append(AdjointCheck(n, "adjoint", given_adj[n], adj[n], tol, abs(given_adj[n] - adj[n]) <= tol))
    ok = all(c.ok for c in checks)
    program = graph.nx.graph.get("source") or ""
    report = AdjointReport(program, out, point, checks, ok, wrong=[c.node for c in checks if not c.ok])
    if ok:
        report.message = f"all {len(checks)} numbers are right"
        return report

    bad_value = next((c for c in checks if c.kind == "value" and not c.ok), None)
    if bad_value is not None:
        n = bad_value.node
        report.first, report.mistake = n, "wrong forward value"
        report.message = (f"the forward value of {graph.describe(n)} is wrong: you have {num(bad_value.given)}, "
                          f"it is {num(bad_value.correct)}")
        args = graph.args(n) if graph.kind(n) == "op" else []
        text = graph.attrs(n).get("text") or graph.attrs(n)["label"]
        if args:
            report.hint = (f"{n} = {text} with {', '.join(f'{a}={num(val[a])}' for a in dict.fromkeys(args))} is "
                           f"{num(val[n])}; fix the forward pass first: the backward pass uses its values")
        return report

    c = next(c for c in checks if c.kind == "adjoint" and not c.ok)
    n, s, right = c.node, c.given, c.correct
    report.first = n
    consumers = sorted(graph.consumers(n), key=lambda vk: position[vk[0]])
    parts = [float(np.asarray(ev.edge_adjoints[(n, v, k)]).reshape(())) for v, k in consumers]

    def close(a: float, b: float) -> bool:
        return abs(a - b) <= c.tolerance

    what = f"d{out}/d{n}"
    report.message = f"{what} is wrong: you have {num(s)}, it is {num(right)}"
    if right != 0 and close(s, -right):
        report.mistake = "sign error"
        report.message += " (the same size, the opposite sign)"
        report.hint = _chain_hint(graph, n, consumers, adj, ev)
    elif len(consumers) > 1 and len(consumers) <= MAX_FORK and _partial_sum(s, parts, close) is not None:
        used = _partial_sum(s, parts, close)
        assert used is not None
        report.mistake = "missing sum at a fork"
        wires = _wire_names(consumers)
        through = lambda idx: " + ".join(f"{num(parts[i])} through {wires[i]}" for i in idx)  # noqa: E731
        missing = [i for i in range(len(parts)) if i not in used]
        report.message += (f": {n} feeds {len(consumers)} wires ({', '.join(wires)}), and its adjoint is the sum "
                           f"of what flows back through each; yours is only {through(used)}")
        report.hint = "add what flows back through " + " and ".join(f"{wires[i]}: {num(parts[i])}" for i in missing)
    elif len(consumers) == 1:
        v, k = consumers[0]
        local = float(np.asarray(ev.local[(n, v, k)]).reshape(()))
        upstream = given_adj.get(v, adj[v])
        if close(s, local) and not close(upstream, 1.0):
            report.mistake = "missing upstream factor"
            report.message += (f": yours is the local derivative d{v}/d{n} = {num(local)} alone; the chain rule "
                               f"multiplies it by the adjoint of {v}, d{out}/d{v} = {num(upstream)}")
        else:
            report.mistake = "wrong local derivative"
            implied = s / upstream if upstream != 0 else math.nan
            report.message += (f": the adjoint of {v} is right ({num(upstream)}), so the local derivative "
                               f"d{v}/d{n} you used must be wrong: yours is {num(implied)}, it is {num(local)}")
        report.hint = _chain_hint(graph, n, consumers, adj, ev)
    else:
        report.mistake = "wrong adjoint"
        report.hint = _chain_hint(graph, n, consumers, adj, ev)
    later = [x.node for x in checks if x.kind == "adjoint" and not x.ok and x.node != n]
    if later:
        report.message += (f"; {len(later)} more adjoint{'s' * (len(later) > 1)} upstream "
                           f"({', '.join(later[:6])}{' ...' if len(later) > 6 else ''}) {'differ' if len(later) > 1 else 'differs'} too, "
                           "maybe because of it")
    return report


def _wire_names(consumers: list[tuple[str, int]]) -> list[str]:
    """``f`` for a gate the node feeds once, ``f (argument 1)`` when it feeds the gate twice (``q*q``)."""
    counts: dict[str, int] = {}
    for v, _ in consumers:
        counts[v] = counts.get(v, 0) + 1
    return [v if counts[v] == 1 else f"{v} (argument {k})" for v, k in consumers]


def _partial_sum(s: float, parts: list[float], close: Any) -> tuple[int, ...] | None:
    """Indices of a proper, non-empty subset of the contributions that sums to ``s``."""
    n = len(parts)
    for size in range(1, n):
        for idx in itertools.combinations(range(n), size):
            if close(s, sum(parts[i] for i in idx)):
                return idx
    return None


def _local_formula(graph: Graph, n: str, v: str, k: int) -> str:
    from ..engine.symbolic import symbolic_gradients

    try:
        return str(symbolic_gradients(graph, simplify=False).local_partial(n, v, k))
    except Exception:  # noqa: BLE001 - the formula is a courtesy; never fail the report for it
        return ""


def _chain_hint(graph: Graph, n: str, consumers: list[tuple[str, int]], adj: Mapping[str, float], ev: Any) -> str:
    """The right chain rule for the node: ``dL/dz = dL/da * da/dz = 1.5 * 0.1966 = 0.2949``, per out-wire."""
    out = graph.output
    if not consumers:
        return ""
    products, notes = [], []
    for v, k in consumers:
        local = float(np.asarray(ev.local[(n, v, k)]).reshape(()))
        products.append((f"d{out}/d{v} * d{v}/d{n}", f"{num(adj[v])} * {num(local)}"))
        formula = _local_formula(graph, n, v, k)
        if formula:
            notes.append(f"  gate {v} ({graph.attrs(v)['label']}): d{v}/d{n} = {formula}")
    total = sum(adj[v] * float(np.asarray(ev.local[(n, v, k)]).reshape(())) for v, k in consumers)
    symbols = " + ".join(p for p, _ in products)
    numbers = " + ".join(x for _, x in products)
    return f"d{out}/d{n} = {symbols} = {numbers} = {num(total)}" + "".join(f"\n{t}" for t in notes)


def format_adjoint_report(r: AdjointReport) -> str:
    """The table of your numbers against gradlab's (backward order), the first mistake marked."""
    at = ", ".join(f"{k}={num(v)}" for k, v in r.at.items())
    wrong = [c for c in r.checks if not c.ok]
    if r.ok:
        head = f"your numbers for {r.output} at {at}: all {len(r.checks)} right"
    else:
        head = (f"your numbers for {r.output} at {at}: {len(wrong)} of {len(r.checks)} wrong, the first at "
                f"{r.first} ({r.mistake})")
    lines = [head]
    if r.program:
        lines.append("program: " + "; ".join(s.strip() for s in r.program.strip().splitlines() if s.strip()))
    rows = []
    for c in r.checks:
        what = c.node if c.kind == "value" else f"d{r.output}/d{c.node}"
        mark = "<-- first mistake" if (c.node == r.first and not c.ok) else ""
        rows.append([c.kind, what, num(c.given), num(c.correct), "ok" if c.ok else "WRONG", mark])
    headers = ["what", "name", "yours", "right", "check", ""]
    if not any(row[-1] for row in rows):
        headers, rows = headers[:-1], [row[:-1] for row in rows]
    lines.append("")
    lines.append(table(headers, rows))
    if not r.ok:
        lines.append("")
        lines.append(f"{r.mistake.upper() if r.mistake else 'MISTAKE'} at {r.first}: {r.message}")
        if r.hint:
            lines.append(r.hint)
    return "\n".join(lines)
