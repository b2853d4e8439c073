"""The staged form with everything a script needs to evaluate it: :func:`staged_form`.

Where an input's gradient is shown in the staged form (the formula in the inputs ran over the time budget,
would be too big to read, or the graph is too big for it), d output / d input is written in the adjoints of
the nodes it feeds (``df_dt1``), each of those in turn in its consumers' adjoints and its gate's local partial,
and local partials in the nodes' values (``t1``). :class:`~gradlab.check.results.StagedForm` carries the
definitions that chain needs, as formulas in gradlab's formula language (:func:`formula_text`; read them with
:func:`gradlab.lang.expr.parse_expression`): every gate's value in its arguments (``values``, forward order) and
every adjoint in its consumers (``adjoints``, backward order, the output's being 1). Evaluate ``values`` in
order at the point, then ``adjoints`` in order: ``adjoints["df_dx"]`` is d f/d x.

>>> from gradlab import Graph
>>> s = staged_form(Graph.parse("f = (x + y)*z"), "for the example")
>>> dict(s.values), dict(s.adjoints)
({'t1': 'x + y', 'f': 't1*z'}, {'df_df': '1', 'df_dz': 't1', 'df_dt1': 'z', 'df_dy': 'df_dt1', 'df_dx': 'df_dt1'})
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.printing.str import StrPrinter

from ..model.graph import Graph
from .results import LazyEntries, StagedForm

#: SymPy's names -> the formula language's, for the functions the local partials use.
_NAMES = {"Max": "max", "Min": "min", "Abs": "abs"}


class _FormulaPrinter(StrPrinter):
    """SymPy's ``str`` in the names gradlab's formula parser reads (``max``, ``abs``), a two-piece ``Piecewise``
    (elu's partial) written with ``relu(sign(.))``, 1 where ``a > b`` and 0 elsewhere, as the gate means it."""

    def _print_Function(self, expr: Any) -> str:
        name = _NAMES.get(type(expr).__name__)
        if name is None:
            return str(super()._print_Function(expr))
        args = [self._print(a) for a in expr.args]
        text = args[0]
        for a in args[1:]:  # SymPy's Max may hold more than two arguments: nested pairs
            text = f"{name}({text}, {a})"
        return text if len(args) > 1 else f"{name}({text})"

    _print_Max = _print_Min = _print_Abs = _print_Function

    def _print_Piecewise(self, expr: Any) -> str:
        if len(expr.args) == 2 and expr.args[1].cond == sp.true:
            (then, cond), (other, _) = expr.args
            if isinstance(cond, (sp.StrictGreaterThan, sp.StrictLessThan)):
                big, small = (cond.lhs, cond.rhs) if isinstance(cond, sp.StrictGreaterThan) else (cond.rhs, cond.lhs)
                step = sp.Function("relu")(sp.sign(big - small))
                return self._print(sp.Add(other, sp.Mul(then - other, step, evaluate=False), evaluate=False))
        return str(super()._print_Piecewise(expr))


def formula_text(expr: Any) -> str:
    """A SymPy expression as a formula gradlab's parser reads.

    >>> import sympy as sp
    >>> a, b = sp.symbols("a b", real=True)
    >>> formula_text(sp.Max(a, b) + sp.Abs(a)), formula_text(sp.Piecewise((1, a > 0), (2*sp.exp(a), True)))
    ('abs(a) + max(a, b)', '(1 - 2*exp(a))*relu(sign(a)) + 2*exp(a)')
    """
    return str(_FormulaPrinter().doprint(expr))


def staged_form(graph: Graph, reason: str) -> StagedForm:
    """The definitions the staged form of a graph of numbers needs (the text made when it is read: a big graph's
    check pays nothing until its JSON is asked for)."""
    from ..engine.symbolic import adjoint_name, local_expr, symbolic_gradients

    out = graph.output
    ops = list(graph.op_nodes)
    reaching = list(reversed(graph.nodes))

    def values() -> dict[str, str]:
        return {n: formula_text(local_expr(graph, n)) for n in ops}

    def adjoints() -> dict[str, str]:
        staged = symbolic_gradients(graph, simplify=False).staged
        return {adjoint_name(out, n): formula_text(staged[n]) for n in reaching}

    return StagedForm(reason, out, LazyEntries(ops, values), LazyEntries([adjoint_name(out, n) for n in reaching],
                                                                         adjoints))
