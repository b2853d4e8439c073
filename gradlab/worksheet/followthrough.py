"""How each blank of a picture follows from earlier blanks: the key's ``follow`` recipes.

A careful teacher marks an error carried forward once: a blank is also right when it is what follows
from the student's own earlier answers (and from the values the sheet prints, rounded as printed).
This module writes, for every number blank of a scalar graph's forward and backward pass, the formula
that recomputes it from its neighbours on the picture, by the gate's own rules (its op record):

* a value on the wire out of gate ``v``: ``v``'s formula of its arguments' values;
* a gradient on the wire ``u -> v`` (argument ``k``): the gradient into ``v`` (the sum of the
  gradients on ``v``'s out-wires) times ``v``'s local partial for argument ``k``, written in the
  arguments' values and ``v``'s own value (``σ' = a·(1 − a)``, as a student computes it);
* a ``numeric`` partial ``∂out/∂w``: the sum of the gradients on ``w``'s out-wires.

Each value a recipe needs is the blank on that wire when there is one (a name in ``uses``), else the
value the sheet prints, rounded as printed (an input as given; a gate's value or gradient drawn on the
picture). :mod:`gradlab.grading.followthrough` grades with the recipes.

>>> from gradlab.model.graph import Graph
>>> from gradlab.engine.numeric import evaluate
>>> from gradlab.worksheet.pictures import BlankSlot
>>> g = Graph.parse("a = sigmoid(w*x)")
>>> at = {"w": 2.0, "x": 1.0}
>>> ev = evaluate(g, at)
>>> blanks = [BlankSlot(1, "value", ("a", None, 0), "a", 0.88), BlankSlot(2, "gradient", ("a", None, 0), "a", 1.0),
...           BlankSlot(3, "gradient", ("t1", "a", 0), "t1", 0.105)]
>>> recipes = follow_recipes(g, at, ev, blanks, {1: "1.1", 2: "2.2", 3: "2.3"}, decimals=2)
>>> recipes["2.3"].formula, recipes["2.3"].uses
('i1_1*i2_2*(1 - i1_1)', {'i1_1': '1.1', 'i2_2': '2.2'})
"""

from __future__ import annotations

from typing import Any, Mapping

import sympy as sp

from ..engine.numeric import Evaluation
from ..model.answerkey import Follow
from ..model.graph import Graph
from ..ops import OPS
from .mathtext import key_text, number
from .pictures import BlankSlot

Wire = tuple[str, Any, int]


def item_symbol(item_id: str) -> str:
    """The name a recipe gives the number of an item: ``2.6`` -> ``i2_6``."""
    return "i" + item_id.replace(".", "_")


class _Recipes:
    def __init__(self, graph: Graph, at: Mapping[str, float], ev: Evaluation, blanks: list[BlankSlot],
                 items: Mapping[int, str], decimals: int) -> None:
        self.g, self.at, self.ev, self.decimals = graph, at, ev, decimals
        self.values: dict[Wire, str] = {}
        self.node_values: dict[str, str] = {}
        self.grads: dict[Wire, str] = {}
        for b in blanks:
            item = items.get(b.number)
            if item is None:
                continue
            wire: Wire = tuple(b.wire)  # type: ignore[assignment]
            if b.kind == "value":
                self.values[wire] = item
                self.node_values.setdefault(b.node, item)
            else:
                self.grads[wire] = item
        self.uses: dict[str, str] = {}

    def _use(self, item: str) -> sp.Symbol:
        name = item_symbol(item)
        self.uses[name] = item
        return sp.Symbol(name, real=True)

    def _printed(self, x: float) -> sp.Expr:
        return sp.Rational(number(float(x), self.decimals))

    def value(self, node: str, wire: Wire | None) -> sp.Expr:
        """The value of ``node`` as the student has it on ``wire`` (a blank there, else any of its blanks)."""
        item = self.values.get(wire) if wire is not None else None
        item = item or self.node_values.get(node)
        if item is not None:
            return self._use(item)
        kind = self.g.kind(node)
        if kind == "input":
            return sp.Rational(str(self.at[node]))
        if kind == "const":
            return sp.Rational(str(self.g.attrs(node)["value"]))
        return self._printed(float(self.ev.values[node]))

    def gradient_on(self, wire: Wire) -> sp.Expr:
        item = self.grads.get(wire)
        if item is not None:
            return self._use(item)
        u, v, k = wire
        if v is None:
            return sp.Integer(1)
        return self._printed(float(self.ev.adjoints[v]) * float(self.ev.local[(u, v, k)]))

    def gradient_into(self, node: str) -> sp.Expr:
        """The gradient of the output with respect to ``node``: the sum over its out-wires."""
        if node == self.g.output:
            return self.gradient_on((node, None, 0))
        return sp.Add(*[self.gradient_on((node, v, k)) for v, k in self.g.consumers(node)])

    def gate(self, node: str) -> tuple[Any, list[sp.Expr], Any]:
        d = self.g.attrs(node)
        args = [self.value(a, (a, node, k)) for k, a in enumerate(self.g.args(node))]
        param = d.get("param")
        return OPS[d["op"]], args, None if param is None else sp.Rational(str(param))

    def value_recipe(self, node: str) -> sp.Expr | None:
        if self.g.kind(node) != "op":
            return None
        op, args, param = self.gate(node)
        return op.sym(args, param)

    def gradient_recipe(self, wire: Wire) -> sp.Expr | None:
        u, v, k = wire
        if v is None:
            return None
        op, args, param = self.gate(v)
        out = self.value(v, self._out_wire(v))
        return self.gradient_into(v) * op.partials(args, out, param)[k]

    def _out_wire(self, node: str) -> Wire:
        if node == self.g.output:
            return (node, None, 0)
        v, k = self.g.consumers(node)[0]
        return (node, v, k)

    def follow(self, expr: sp.Expr | None, key: float) -> Follow | None:
        """The recipe of ``expr`` (None: nothing follows; a constant equal to the key says nothing)."""
        uses, self.uses = self.uses, {}
        if expr is None:
            return None
        names = {str(s) for s in expr.free_symbols}
        if not names:
            try:
                if abs(float(expr) - key) <= 1e-9 * max(1.0, abs(key)):
                    return None
            except (TypeError, ValueError):
                return None
        return Follow(key_text(expr), {n: i for n, i in sorted(uses.items()) if n in names})


def follow_recipes(graph: Graph, at: Mapping[str, float], ev: Evaluation, blanks: list[BlankSlot],
                   items: Mapping[int, str], *, decimals: int) -> dict[str, Follow]:
    """Item id -> its recipe, for the blanks of one part of one variant (a scalar graph); ``items`` maps a
    blank's number to its item id (see the module docstring)."""
    if graph.is_tensor:
        return {}
    r = _Recipes(graph, at, ev, blanks, items, decimals)
    out: dict[str, Follow] = {}
    for b in blanks:
        item = items.get(b.number)
        if item is None:
            continue
        expr = r.value_recipe(b.node) if b.kind == "value" else r.gradient_recipe(tuple(b.wire))  # type: ignore[arg-type]
        follow = r.follow(expr, float(b.answer))
        if follow is not None:
            out[item] = follow
    return out


def partial_recipe(graph: Graph, at: Mapping[str, float], ev: Evaluation, blanks: list[BlankSlot],
                   items: Mapping[int, str], wrt: str, *, decimals: int) -> Follow | None:
    """The recipe of a ``numeric`` partial ``∂out/∂wrt``: the sum of the gradient blanks on ``wrt``'s
    out-wires (None when the picture asks for no gradient there)."""
    if graph.is_tensor:
        return None
    r = _Recipes(graph, at, ev, blanks, items, decimals)
    if not any(w[0] == wrt for w in r.grads):
        return None
    return r.follow(r.gradient_into(wrt), float(ev.adjoints[wrt]))
