"""Programs with vectors and matrices: shape declarations, ``@``, ``.T`` and tensor functions.

A tensor program is a program (:mod:`gradlab.parse`) that may also

* declare the shape of an input before using it: ``x: (3,)``, ``A: (2, 3)``, ``s: ()``;
  a label whose entries sum to 1: ``y: onehot(2)`` (or ``probs(2)``), a positive input:
  ``sigma: positive(3)``; and check the shape of a statement: ``v: (2,) = tanh(A @ x)``;
* multiply matrices with ``@`` and transpose with ``.T`` (the one attribute it admits);
* call ``sum``, ``mean`` (optionally along an axis: ``sum(X, 0)``), ``softmax``, ``log_softmax``,
  ``cross_entropy(z, y)``, ``outer(a, b)`` and every scalar function entry by entry.

Undeclared names are numbers, as in scalar programs (or take their shape from ``shapes=``).

>>> g = parse_tensor_program("x: (3,); A: (2, 3); y: onehot(2); p = softmax(A @ x); L = -sum(y*log(p))/2")
>>> [g.shape(n) for n in ("x", "A", "p", "L")], g.attrs("y")["domain"]
([(3,), (2, 3), (2,), ()], 'onehot')
"""

from __future__ import annotations

import ast
import re
from typing import Any, Mapping

from .errors import GradlabError, ParseError, ShapeError
from .graph import DOMAINS, Graph, Node, check_name
from .parse import _OP_TEXT, ProgramParser, Value
from .tensor_ops import TENSOR_FUNCTIONS, TENSOR_OPS, normalise_shape, shape_text

#: Declarations that make an input a label or positive: ``y: onehot(2)``.
DOMAIN_CALLS = DOMAINS


class TensorProgramParser(ProgramParser):
    """:class:`~gradlab.parse.ProgramParser` with shapes: declarations, ``@``, ``.T``, tensor functions."""

    def __init__(self, program: str, graph: Graph, shapes: Mapping[str, Any] | None = None) -> None:
        super().__init__(program, graph)
        self.declared: dict[str, tuple[int, ...]] = {}
        self.domains: dict[str, str] = {}
        self.declared_at: dict[str, int] = {}
        self.given_shapes = {k: normalise_shape(v) for k, v in (shapes or {}).items()}

    # ------------------------------------------------------------------ declarations
    def annotated(self, stmt: ast.AnnAssign, last: bool) -> Value:
        if not isinstance(stmt.target, ast.Name):
            raise self.fail("declare the shape of a plain name: 'x: (3,)'", stmt)
        name = stmt.target.id
        where = self.where(stmt)
        check_name(name, where)
        shape, domain = self.shape_of(stmt.annotation)
        if stmt.value is not None:  # v: (2,) = tanh(A @ x): a statement with its shape checked
            node = self.assign(name, stmt.value, stmt)
            got = self.graph.shape(node.id) if isinstance(node, Node) else ()
            if domain is not None:
                raise self.fail(f"'{domain}' describes an input; '{name}' is computed", stmt)
            if got != shape:
                raise ShapeError(f"'{name}' is declared {shape_text(shape)} but its formula gives {shape_text(got)}",
                                 where)
            return node
        if name in self.declared:
            raise ParseError(f"'{name}' is declared twice (lines {self.declared_at[name]} and {stmt.lineno})", where)
        if name in self.env or name in self.assigned_at:
            raise ParseError(f"'{name}' is declared after it is used or assigned; declare shapes first", where)
        self.declared[name] = shape
        self.declared_at[name] = stmt.lineno
        if domain is not None:
            self.domains[name] = domain
        node = self.graph.input(name, shape=shape, domain=domain, where=where)
        self.env[name] = node
        self.used_before.setdefault(name, stmt.lineno)
        if last:
            raise self.fail("the program ends with a declaration; end it with the statement of the output", stmt)
        return node

    def shape_of(self, ann: ast.expr) -> tuple[tuple[int, ...], str | None]:
        """``(3,)`` / ``(2, 3)`` / ``3`` / ``()`` / ``onehot(2)`` -> (shape, domain)."""
        domain = None
        if isinstance(ann, ast.Call) and isinstance(ann.func, ast.Name) and ann.func.id in DOMAIN_CALLS:
            domain = ann.func.id
            if ann.keywords or not ann.args:
                raise self.fail(f"write {domain}(n) or {domain}(n, m)", ann)
            dims = ann.args
        elif isinstance(ann, ast.Tuple):
            dims = ann.elts
        elif isinstance(ann, ast.Constant) and isinstance(ann.value, int) and not isinstance(ann.value, bool):
            dims = [ann]
        else:
            raise self.fail("a shape is written (3,), (2, 3) or (); a label onehot(2) or probs(2); "
                            "a positive input positive(3)", ann)
        sizes = []
        for d in dims:
            if not (isinstance(d, ast.Constant) and isinstance(d.value, int) and not isinstance(d.value, bool)):
                raise self.fail("the sizes of a shape are whole numbers: (2, 3)", d)
            sizes.append(d.value)
        try:
            shape = normalise_shape(tuple(sizes))
        except GradlabError as e:
            raise ShapeError(e.message, self.where(ann)) from None
        if domain in ("onehot", "probs") and shape == ():
            raise self.fail(f"a label {domain}(n) has at least 2 entries", ann)
        return shape, domain

    def statement_node(self, stmt: ast.stmt, last: bool) -> Value:
        try:
            return super().statement_node(stmt, last)
        except ShapeError as e:
            text = self._text(stmt) or ""
            if len(text) > 2 * 60:
                text = text[:57] + " ... " + text[-57:]
            raise ShapeError(f"{e.message} (in '{text}')", e.where) from None

    def assign(self, name: str, value: ast.expr, stmt: ast.stmt) -> Value:
        if name in self.declared:
            raise ParseError(f"'{name}' is declared as an input on line {self.declared_at[name]}; to check the shape "
                             f"of a statement write '{name}: {self.declared[name]} = ...'", self.where(stmt))
        return super().assign(name, value, stmt)

    # ------------------------------------------------------------------ names with shapes
    def name(self, node: ast.Name) -> Value:
        n = node.id
        if n not in self.env and n in self.given_shapes and n not in self.assigned_at:
            check_name(n, self.where(node))
            self.used_before.setdefault(n, node.lineno)
            inp = self.graph.input(n, shape=self.given_shapes[n], where=self.where(node))
            self.env[n] = inp
            return inp
        if n in TENSOR_FUNCTIONS and n not in self.env:
            raise self.fail(f"'{n}' is a function; call it: {n}(...)", node)
        return super().name(node)

    # ------------------------------------------------------------------ @, .T and functions
    def _build(self, node: ast.expr, name: str | None) -> Value:
        if isinstance(node, ast.Attribute):
            return self.attribute(node, name)
        return super()._build(node, name)

    def attribute(self, node: ast.Attribute, name: str | None) -> Value:
        if node.attr != "T":
            raise self.fail(f"attribute access ('.') is not allowed (only .T, the transpose; got .{node.attr})", node)
        a = self.build(node.value)
        if not isinstance(a, Node):
            return a  # a number is its own transpose
        return self.graph.apply("transpose", a, name=name, **self.attrs(node))

    def binop_chain(self, node: ast.BinOp, name: str | None) -> Value:
        """As the scalar parser (a long chain is walked in a loop), with ``@`` ending the walk."""
        if isinstance(node.op, ast.MatMult):
            return self.matmul(node, name)
        spine: list[ast.BinOp] = []
        cur: ast.expr = node
        while isinstance(cur, ast.BinOp) and not isinstance(cur.op, ast.MatMult):
            if type(cur.op) not in _SCALAR_BINOPS:
                return self.binop_other(cur, name if cur is node else None)
            spine.append(cur)
            cur = cur.left
        return self._chain(spine, cur, node, name)

    def _chain(self, spine: list[ast.BinOp], leaf: ast.expr, node: ast.BinOp, name: str | None) -> Value:
        from .graph import fold

        acc = self.build(leaf)
        for bn in reversed(spine):
            b = self.build(bn.right)
            symbol = _SCALAR_BINOPS[type(bn.op)]
            if isinstance(acc, (int, float)) and isinstance(b, (int, float)):
                acc = fold(symbol, acc, b, self.where(bn))
            else:
                acc = self.graph.binary(symbol, acc, b, name=name if bn is node else None,
                                        **self.attrs(bn))
        return acc

    def matmul(self, node: ast.BinOp, name: str | None) -> Value:
        a, b = self.build(node.left), self.build(node.right)
        if not isinstance(a, Node) or not isinstance(b, Node):
            raise ShapeError(f"@ multiplies vectors and matrices, not numbers, in '{self.text(node)}'; use *",
                             self.where(node))
        return self.graph.apply("matmul", a, b, name=name, **self.attrs(node))

    def binop_other(self, node: ast.BinOp, name: str | None) -> Value:
        if isinstance(node.op, ast.MatMult):
            return self.matmul(node, name)
        op = type(node.op).__name__
        hint = " (use ** for powers)" if op == "BitXor" else ""
        raise self.fail(f"the operator '{_OP_TEXT.get(op, op)}' is not allowed{hint}; use numbers, names, "
                        "+ - * / ** @, .T, unary minus and calls of known functions", node)

    def call(self, node: ast.Call, name: str | None) -> Value:
        func = node.func
        if isinstance(func, ast.Name) and func.id in DOMAIN_CALLS:
            raise self.fail(f"{func.id}(...) declares an input: 'y: {func.id}(2)'", node)
        if not (isinstance(func, ast.Name) and func.id in TENSOR_FUNCTIONS):
            return super().call(node, name)
        fname = func.id
        op_name, arity = TENSOR_FUNCTIONS[fname]
        op = TENSOR_OPS[op_name]
        args_ast = list(node.args)
        if node.keywords:
            if op.axis and [k.arg for k in node.keywords] == ["axis"]:
                args_ast.append(node.keywords[0].value)
            else:
                raise self.fail(f"{fname}() takes no keyword arguments" + (" but axis=" if op.axis else ""), node)
        if any(isinstance(a, ast.Starred) for a in args_ast):
            raise self.fail("'*' unpacking is not allowed", node)
        param = None
        if op.axis and len(args_ast) == 2:
            ax = args_ast.pop()
            if not (isinstance(ax, ast.Constant) and isinstance(ax.value, (int, float)) and ax.value in (0, 1)
                    and not isinstance(ax.value, bool)):
                raise self.fail(f"the axis of {fname}(X, axis) is 0 (down the columns) or 1 (along the rows)", ax)
            param = ax.value
        if len(args_ast) != arity:
            raise self.fail(f"{fname}() takes {arity} argument{'s' * (arity != 1)}"
                            + (" (and an optional axis)" if op.axis else "")
                            + f", got {len(args_ast)}", node)
        args = [self.build(a) for a in args_ast]
        if all(not isinstance(a, Node) for a in args):
            if op.number_is_itself:
                return args[0]
            raise ShapeError(f"{fname}() needs vectors, got numbers, in '{self.text(node)}'", self.where(node))
        return self.graph.apply(op_name, *args, param=param, name=name, **self.attrs(node))

    # ------------------------------------------------------------------ the whole program
    def parse(self) -> Graph:
        g = super().parse()
        tensors = [n for n in g.nodes if g.shape(n)]
        if tensors:
            pattern = re.compile(r"^(%s)_\d+(_\d+)?$" % "|".join(re.escape(t) for t in tensors))
            for n in g.nodes:
                m = pattern.match(n)
                if m and g.attrs(n).get("named"):
                    raise ParseError(f"the name '{n}' is kept for an entry of {m.group(1)} "
                                     f"({shape_text(g.shape(m.group(1)))}); choose another name", g.where(n))
        return g


_SCALAR_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}


def parse_tensor_program(program: str, *, title: str = "", shapes: Mapping[str, Any] | None = None) -> Graph:
    """Parse a program with vectors and matrices (see the module docstring).

    ``shapes`` gives shapes of inputs the program does not declare: ``{"A": (2, 3)}``.
    """
    if not isinstance(program, str):
        raise ParseError(f"a program is text, got {type(program).__name__}")
    graph = Graph(title=title)
    return TensorProgramParser(program, graph, shapes).parse()


_TENSOR_HINTS = re.compile(r"[:@]|\.\s*T\b|\b(%s)\s*\(" % "|".join(TENSOR_FUNCTIONS))


def shapes_of(values: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """The shapes of the array values among ``values`` (numbers are left out): ``{"A": (2, 3)}``."""
    import numpy as np

    out = {}
    for k, v in values.items():
        try:
            shape = np.shape(v)
        except (TypeError, ValueError):
            continue
        if shape:
            out[k] = normalise_shape(shape)
    return out


def looks_like_tensor_program(program: str) -> bool:
    """A cheap test before parsing: could the program use shapes, ``@``, ``.T`` or tensor functions?"""
    return bool(_TENSOR_HINTS.search(program))


__all__ = ["TensorProgramParser", "parse_tensor_program", "looks_like_tensor_program", "shapes_of"]
