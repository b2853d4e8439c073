"""A claimed derivative, ``d<of>/d<wrt> = <formula>``, and what deciding it needs: the names a
claim may use, entrywise closeness at random points, and the symbolic proof of a difference.
:mod:`gradlab.verify` decides claims with these (the scalar and tensor problems hold the rest).

>>> parse_claim("dL/dB = (p - y) @ v.T / 2").wrt
'B'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

import networkx as nx
import sympy as sp

from ..errors import GradlabError, ParseError
from ..model.graph import Graph
from ..model.mistakes import close_entries, nice_number  # noqa: F401  (re-exported: verify reads them here)
from ..ops import OPS, as_sympy

#: Default number of random points a claim is tested at.
TRIALS = 25
#: Unary gates whose local derivative a student may forget; named "activation" in the diagnosis.
def is_activation(op_name: Any) -> bool:
    """A gate whose local derivative a student may forget (``Op.activation`` in its record)."""
    op = OPS.get(op_name) if isinstance(op_name, str) else None
    return bool(op and op.activation)

_LHS = re.compile(r"^\s*[d∂]\s*([A-Za-z][A-Za-z0-9_]*)\s*/\s*[d∂]\s*([A-Za-z][A-Za-z0-9_]*)\s*$")


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


def as_graph(graph_or_program: Graph | str, at: Mapping[str, Any] | None = None) -> Graph:
    """A graph from a program (shapes of undeclared inputs from array values in ``at``) or a Graph (validated).

    >>> as_graph("x: (2,); f = sum(x*x)").shape("x"), as_graph("f = sum(x*x)", {"x": [1.0, 2.0]}).shape("x")
    ((2,), (2,))
    """
    if isinstance(graph_or_program, Graph):
        graph_or_program.validate()
        return graph_or_program
    if isinstance(graph_or_program, str):
        from .parse import looks_like_tensor_program, parse_tensor_program, shapes_of

        if at is not None and looks_like_tensor_program(graph_or_program):  # undeclared shapes from the values
            return parse_tensor_program(graph_or_program, shapes=shapes_of(at))
        return Graph.parse(graph_or_program)
    raise GradlabError(f"expected a Graph or a program text, got {type(graph_or_program).__name__}")


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


# ------------------------------------------------------------------------------- symbolic decision

#: Expressions larger than this (SymPy operation count) are not simplified, only expanded.
SIMPLIFY_OPS = 150


def is_zero(expr: sp.Expr, *, thorough: bool = True) -> bool:
    """Whether ``expr`` is identically 0, by bounded algebra (a False means: not shown, not disproved).

    Cheap steps first (expand, then cancel when there are fractions); ``thorough`` adds SymPy's
    ``simplify`` on the exponential form, for expressions small enough.
    """
    expr = as_sympy(expr)
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

    d0 = as_sympy(diff)
    if keep:
        partial = {k: v for k, v in definitions.items() if k not in keep}
        if partial and settle(d0, partial):
            return True
    return settle(d0, definitions)


def forgettable_gates(graph: Graph, wrt: str) -> list[str]:
    """The one-argument gates between ``wrt`` and the output whose local derivative a student may
    leave out of the chain (activations, ``1/x``, ``x**2``, ...), in graph order: not those whose record says
    their local derivative is plain (a copy, a sign, a constant factor)."""
    from ..ops import op_for
    from ..ops.tensor import TensorOp

    below = nx.descendants(graph.nx, wrt)
    found = []
    for n in graph.op_nodes:
        d = graph.attrs(n)
        op = op_for(d["op"])
        assert op is not None  # a graph holds only known gates
        if n in below and not isinstance(op, TensorOp) and op.arity == 1 and not op.plain_derivative:
            found.append(n)
    return found

