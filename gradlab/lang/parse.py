"""Programs to graphs with our own ``ast`` whitelist: nothing is ever evaluated.

A program is one or more statements ``name = expression`` (separated by ``;`` or
newlines; later statements use earlier names); the last statement is the output. A
bare expression as the last statement is the output ``f``. Allowed: numbers, names,
``+ - * / **``, unary minus and calls of known functions (:data:`gradlab.ops.FUNCTIONS`).
Everything else (attributes, subscripts, lambdas, comprehensions, strings, keywords)
is refused with a :class:`~gradlab.errors.ParseError` naming the line and column.

The graph keeps the structure as written (binary operators left to right), so

>>> parse_program("a = 1/(1+exp(-(w0*x0 + w1*x1 + w2)))").gates()
['*', '*', '+', '+', '*-1', 'exp', '+1', '1/x']

Vectors and matrices are the same language with shapes. A program may also

* declare the shape of an input before using it: ``x: (3,)``, ``A: (2, 3)``, ``s: ()``;
  a label whose entries sum to 1: ``y: onehot(2)`` (or ``probs(2)``), a positive input:
  ``sigma: positive(3)``; and check the shape of a statement: ``v: (2,) = tanh(A @ x)``;
* multiply matrices with ``@`` and transpose with ``.T`` (the one attribute it admits);
* call ``sum``, ``mean`` (optionally along an axis: ``sum(X, 0)``), ``softmax``, ``log_softmax``,
  ``cross_entropy(z, y)``, ``outer(a, b)`` and every scalar function entry by entry.

Undeclared names are numbers (or take their shape from ``shapes=``); a program without shapes is a
scalar program. Every gate is added through :meth:`Graph.apply`, which takes the output's shape from
the gate's op record.

>>> g = parse_tensor_program("x: (3,); A: (2, 3); y: onehot(2); p = softmax(A @ x); L = -sum(y*log(p))/2")
>>> [g.shape(n) for n in ("x", "A", "p", "L")], g.attrs("y")["domain"]
([(3,), (2, 3), (2,), ()], 'onehot')
"""

from __future__ import annotations

import ast
import re
from typing import Any, Mapping, TypedDict, Union

from ..errors import GradlabError, Location, ParseError, ShapeError, syntax_message
from ..model.graph import DOMAINS, Graph, Node, Number, check_name, fold
from ..ops import FUNCTIONS, OPS
from ..ops.tensor import TENSOR_FUNCTIONS, TENSOR_OPS, normalise_shape, shape_text
from .grammar import call_arguments, is_number, not_a_number, operator_text, refused

MAX_PROGRAM_CHARS = 2_000_000
MAX_DEPTH = 200
#: Source text kept per node (for messages and pictures); longer text is shortened with "...".
MAX_TEXT = 120
#: Python's own parser recurses once per term of ``a + b + c ...``: it runs in a thread with a
#: big stack and this recursion limit, so sums of thousands of terms parse.
PARSE_RECURSION_LIMIT = 60_000
PARSE_STACK_BYTES = 512 * 1024 * 1024

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
ALLOWED = "numbers, names, + - * / ** @, .T, unary minus and calls of known functions"
#: Declarations that make an input a label or positive: ``y: onehot(2)``.
DOMAIN_CALLS = DOMAINS

Value = Union[Node, Number]


def known_functions() -> str:
    return ", ".join(sorted(FUNCTIONS))


class _GateAttrs(TypedDict):
    """Where a gate comes from in the program (keyword arguments of :meth:`Graph.apply`)."""

    where: Location
    statement: int
    text: str | None


class ProgramParser:
    """Walks the ``ast`` of a program and adds gates to a :class:`Graph` (see the module docstring).

    ``shapes`` gives the shapes of inputs the program does not declare: ``{"A": (2, 3)}``.
    """

    def __init__(self, program: str, graph: Graph, shapes: Mapping[str, Any] | None = None) -> None:
        self.program = program
        self.graph = graph
        self.env: dict[str, Value] = {}  # names defined so far
        self.assigned_at: dict[str, int] = {}  # statement name -> line
        self.assigned_stmt: dict[str, int] = {}  # ... and its statement's number in the program (from 0)
        self.used_before: dict[str, int] = {}  # input name -> first line used
        self.statement = 0
        self.depth = 0
        self.declared: dict[str, tuple[int, ...]] = {}  # input name -> declared shape
        self.domains: dict[str, str] = {}  # input name -> declared domain (onehot, ...)
        self.declared_at: dict[str, int] = {}  # input name -> line of its declaration
        self.given_shapes = {k: normalise_shape(v) for k, v in (shapes or {}).items()}
        self._ascii = program.isascii()
        self._line_starts = [0]
        for line in program.splitlines(keepends=True):
            self._line_starts.append(self._line_starts[-1] + len(line))

    # ------------------------------------------------------------------ helpers
    def where(self, node: ast.AST) -> Location:
        return Location(line=getattr(node, "lineno", None), col=getattr(node, "col_offset", -1) + 1)

    def text(self, node: ast.expr | ast.stmt) -> str | None:
        """The source text of a node, shortened to :data:`MAX_TEXT` characters with an ellipsis
        (``ast.get_source_segment`` is linear in the program: too slow for big programs)."""
        full = self._text(node)
        if full is not None and len(full) > MAX_TEXT:
            half = (MAX_TEXT - 5) // 2
            return full[:half].rstrip() + " ... " + full[-half:].lstrip()
        return full

    def _text(self, node: ast.expr | ast.stmt) -> str | None:
        if node.end_lineno is None or node.end_col_offset is None:  # pragma: no cover
            return None
        try:
            if self._ascii:
                start = self._line_starts[node.lineno - 1] + node.col_offset
                end = self._line_starts[node.end_lineno - 1] + node.end_col_offset
                return self.program[start:end]
            start = self._line_starts[node.lineno - 1] + _char_offset(self.program, self._line_starts[node.lineno - 1],
                                                                      node.col_offset)
            end = self._line_starts[node.end_lineno - 1] + _char_offset(
                self.program, self._line_starts[node.end_lineno - 1], node.end_col_offset)
            return self.program[start:end]
        except (AttributeError, IndexError, TypeError):  # pragma: no cover
            return None

    def fail(self, message: str, node: ast.AST) -> ParseError:
        return ParseError(message, self.where(node))

    # ------------------------------------------------------------------ program
    def parse(self) -> Graph:
        if len(self.program) > MAX_PROGRAM_CHARS:
            raise ParseError(f"the program is too long ({len(self.program)} characters; at most {MAX_PROGRAM_CHARS})")
        if not self.program.strip():
            raise ParseError("the program is empty: write at least one statement such as 'f = x*y'")
        try:
            tree = _ast_parse(self.program)
        except SyntaxError as e:
            lines = self.program.splitlines() or [""]
            line = lines[min(max((e.lineno or 1) - 1, 0), len(lines) - 1)]
            raise ParseError(syntax_message(line, e.msg), Location(line=e.lineno, col=e.offset)) from None
        except (RecursionError, MemoryError, ValueError) as e:
            raise ParseError(f"the program is nested too deeply to read ({type(e).__name__})") from None
        if not tree.body:
            raise ParseError("the program is empty: write at least one statement such as 'f = x*y'")
        self.graph.reserve(sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}))
        self.graph.nx.graph["source"] = self.program
        output: Value | None = None
        body = tree.body
        del tree  # each statement's syntax tree is dropped once its gates are in the graph: a big program's tree
        count = len(body)  # took as much memory as its graph
        for i in range(count):
            stmt, body[i] = body[i], None  # type: ignore[call-overload]
            self.statement = i
            output = self.statement_node(stmt, i == count - 1)
        del stmt
        assert output is not None
        if not isinstance(output, Node):  # pragma: no cover - statements always produce nodes
            raise ParseError("the output is a constant; it has no gradient")
        self.graph.set_output(output)
        self._check_entry_names()
        return self.graph

    def _check_entry_names(self) -> None:
        """``p_1`` names the first entry of a vector ``p`` in formulas: no statement may take such a name."""
        g = self.graph
        tensors = [n for n in g.nodes if g.shape(n)]
        if not tensors:
            return
        pattern = re.compile(r"^(%s)_\d+(_\d+)?$" % "|".join(re.escape(t) for t in tensors))
        for n in g.nodes:
            m = pattern.match(n)
            if m and g.attrs(n).get("named"):
                raise ParseError(f"the name '{n}' is kept for an entry of {m.group(1)} "
                                 f"({shape_text(g.shape(m.group(1)))}); choose another name", g.where(n))

    def statement_node(self, stmt: ast.stmt, last: bool) -> Value:
        try:
            return self._statement_node(stmt, last)
        except ShapeError as e:  # name the statement: "cannot add ... (in 'f = A @ x + x')"
            text = self._text(stmt) or ""
            if len(text) > 2 * 60:
                text = text[:57] + " ... " + text[-57:]
            raise ShapeError(f"{e.message} (in '{text}')", e.where) from None

    def _statement_node(self, stmt: ast.stmt, last: bool) -> Value:
        if isinstance(stmt, ast.Assign):
            if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                raise self.fail("assign to one plain name: 'z = ...'", stmt)
            name = stmt.targets[0].id
            return self.assign(name, stmt.value, stmt)
        if isinstance(stmt, ast.Expr) and last:  # a bare formula: its value is the output, named f (or out, ...)
            taken = set(self.env) | set(self.used_before) | {n.id for n in ast.walk(stmt.value) if isinstance(n, ast.Name)}
            name = next(n for n in ("f", "out", *(f"out{i}" for i in range(1, 10_000))) if n not in taken)
            return self.assign(name, stmt.value, stmt)
        if isinstance(stmt, ast.Expr):
            raise self.fail("only the last statement may be a bare expression; name it: 'z = ...'", stmt)
        if isinstance(stmt, ast.AugAssign):
            raise self.fail("'+=' and friends are not allowed; each name is assigned once", stmt)
        if isinstance(stmt, ast.AnnAssign):
            return self.annotated(stmt, last)
        kind = type(stmt).__name__.lower()
        raise self.fail(f"'{kind}' statements are not allowed; write statements 'name = expression'", stmt)

    # ------------------------------------------------------------------ declarations
    def annotated(self, stmt: ast.AnnAssign, last: bool) -> Value:
        """``x: (3,)`` declares an input; ``v: (2,) = tanh(A @ x)`` is a statement with its shape checked."""
        if not isinstance(stmt.target, ast.Name):
            raise self.fail("declare the shape of a plain name: 'x: (3,)'", stmt)
        name = stmt.target.id
        where = self.where(stmt)
        check_name(name, where)
        shape, domain = self.shape_of(stmt.annotation)
        if stmt.value is not None:
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

    # ------------------------------------------------------------------ statements
    def assign(self, name: str, value: ast.expr, stmt: ast.stmt) -> Value:
        where = self.where(stmt)
        if name in self.declared:
            raise ParseError(f"'{name}' is declared as an input on line {self.declared_at[name]}; to check the shape "
                             f"of a statement write '{name}: {self.declared[name]} = ...'", where)
        check_name(name, where)
        if name in self.assigned_at:
            first, first_stmt = self.assigned_at[name], self.assigned_stmt[name]
            places = (f"lines {first} and {stmt.lineno}" if first != stmt.lineno else
                      f"statements {first_stmt + 1} and {self.statement + 1}, both on line {first}")
            raise ParseError(f"'{name}' is assigned twice ({places}); each name is assigned once", where)
        if name in self.used_before:
            uses = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
            if name in uses:
                raise ParseError(f"'{name}' is used in its own definition (a cycle)", where)
            chain = self._cycle_hint(name)
            raise ParseError(f"'{name}' is used on line {self.used_before[name]} before it is assigned on line "
                             f"{stmt.lineno}; statements run in order{chain}", where)
        if any(isinstance(n, ast.Name) and n.id == name and name not in self.env for n in ast.walk(value)):
            raise ParseError(f"'{name}' is used in its own definition (a cycle)", where)
        self.assigned_at[name] = stmt.lineno
        self.assigned_stmt[name] = self.statement
        result = self.build(value, name=name)
        if isinstance(result, Node) and result.id != name:  # a bare name or an earlier node: alias gate
            result = self.graph.apply("identity", result, name=name, where=self.where(value),
                                      statement=self.statement, text=self.text(value))
        elif not isinstance(result, Node):
            result = self.graph.const(result, name=name, where=self.where(value))
        self.env[name] = result
        return result

    def _cycle_hint(self, name: str) -> str:
        users = [n for n, node in self.env.items() if isinstance(node, Node)
                 and name in self._input_ancestors(node.id)]
        return f" (a cycle: {users[0]} uses {name}, and {name} is defined after it)" if users else ""

    def _input_ancestors(self, node_id: str) -> set[str]:
        import networkx as nx

        return {n for n in nx.ancestors(self.graph.nx, node_id) if self.graph.kind(n) == "input"}

    # ------------------------------------------------------------------ expressions
    def build(self, node: ast.expr, name: str | None = None) -> Value:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise self.fail(f"the expression is nested too deeply (more than {MAX_DEPTH} levels)", node)
            return self._build(node, name)
        finally:
            self.depth -= 1

    def attrs(self, node: ast.expr) -> _GateAttrs:
        return {"where": self.where(node), "statement": self.statement, "text": self.text(node)}

    def _build(self, node: ast.expr, name: str | None) -> Value:
        if isinstance(node, ast.Constant):
            v = node.value
            if not is_number(v):
                raise self.fail(not_a_number(v), node)
            if isinstance(v, int) and abs(v) > 10**300:
                raise self.fail("the number is too large", node)
            return v
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp):
            return self.binop_chain(node, name)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.UAdd):
                return self.build(node.operand, name)
            if isinstance(node.op, ast.USub):
                a = self.build(node.operand)
                if isinstance(a, (int, float)):
                    return fold("-", a)
                return self.graph.apply("neg", a, name=name, **self.attrs(node))
            raise self.fail(f"the operator '{type(node.op).__name__}' is not allowed; use {ALLOWED}", node)
        if isinstance(node, ast.Call):
            return self.call(node, name)
        if isinstance(node, ast.Attribute):
            return self.attribute(node, name)
        raise self.fail(f"{refused(node)}; a program may use {ALLOWED}", node)

    def attribute(self, node: ast.Attribute, name: str | None) -> Value:
        """``A.T``, the transpose: the one attribute a program may use."""
        if node.attr != "T":
            raise self.fail(f"attribute access ('.') is not allowed (only .T, the transpose; got .{node.attr})", node)
        a = self.build(node.value)
        if not isinstance(a, Node):
            return a  # a number is its own transpose
        return self.graph.apply("transpose", a, name=name, **self.attrs(node))

    def binop_chain(self, node: ast.BinOp, name: str | None) -> Value:
        """``a + b + c + ...``: Python nests a long chain on the left; walk it in a loop, not
        by recursion, so a sum of thousands of terms is no deeper than one term (``@`` ends the walk)."""
        if isinstance(node.op, ast.MatMult):
            return self.matmul(node, name)
        spine: list[ast.BinOp] = []
        cur: ast.expr = node
        while isinstance(cur, ast.BinOp) and not isinstance(cur.op, ast.MatMult):
            if type(cur.op) not in _BINOPS:
                return self.binop_other(cur, name if cur is node else None)
            spine.append(cur)
            cur = cur.left
        acc = self.build(cur)
        for bn in reversed(spine):
            b = self.build(bn.right)
            symbol = _BINOPS[type(bn.op)]
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
        raise self.fail(f"the operator {operator_text(node.op)} is not allowed; use {ALLOWED}", node)

    # ------------------------------------------------------------------ names and calls
    def name(self, node: ast.Name) -> Value:
        n = node.id
        if n in self.env:
            return self.env[n]
        if n in FUNCTIONS or n in TENSOR_FUNCTIONS:
            raise self.fail(f"'{n}' is a function; call it: {n}(...)", node)
        check_name(n, self.where(node))
        self.used_before.setdefault(n, node.lineno)
        shape = self.given_shapes.get(n, ()) if n not in self.assigned_at else ()
        inp = self.graph.input(n, shape=shape, where=self.where(node))
        self.env[n] = inp
        return inp

    def call(self, node: ast.Call, name: str | None) -> Value:
        func = node.func
        if not isinstance(func, ast.Name):
            if isinstance(func, ast.Attribute):
                raise self.fail("attribute access ('.') is not allowed; call a known function by its name", node)
            raise self.fail("only known functions can be called, by name", node)
        fname = func.id
        if fname in DOMAIN_CALLS:
            raise self.fail(f"{fname}(...) declares an input: 'y: {fname}(2)'", node)
        if fname in TENSOR_FUNCTIONS:
            return self.tensor_call(node, fname, name)
        if fname not in FUNCTIONS:
            raise self.fail(f"unknown function '{fname}' in '{self.text(node)}'; known functions: {known_functions()}",
                            node)
        if node.keywords:
            raise self.fail(f"{fname}() takes no keyword arguments", node)
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail("'*' unpacking is not allowed", node)
        op_name = FUNCTIONS[fname]
        op = OPS[op_name]
        try:
            args, param = call_arguments(op, fname, [self.build(a) for a in node.args], is_number)
        except ParseError as e:
            raise self.fail(e.message, node) from None
        if op.variadic:  # max(a, b, c): folded pair by pair
            acc = args[0]
            for j, b in enumerate(args[1:], start=1):
                last = j == len(args) - 1
                if isinstance(acc, (int, float)) and isinstance(b, (int, float)):
                    acc = fold(fname, acc, b, self.where(node))
                else:
                    acc = self.graph.apply(op_name, acc, b, name=name if last else None, **self.attrs(node))
            return acc
        if param is None:
            param = op.param_default
        numbers = [a for a in args if isinstance(a, (int, float))]
        if len(numbers) == op.arity and param is None:
            return fold(fname, numbers[0], numbers[1] if op.arity == 2 else None, self.where(node))
        return self.graph.apply(op_name, *args, param=param, name=name, **self.attrs(node))

    def tensor_call(self, node: ast.Call, fname: str, name: str | None) -> Value:
        """``sum(X)``, ``sum(X, 0)``, ``softmax(z)``, ``cross_entropy(z, y)``: a gate over vectors and matrices."""
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


def _ast_parse(program: str) -> ast.Module:
    """``ast.parse`` with room for long flat chains (``x1 + x2 + ... + x5000``).

    CPython builds the tree of a left-nested chain recursively, one level a term, and stops at
    the recursion limit. Parsing runs in a helper thread with a large stack, the limit raised
    for that time only. Deeply nested brackets are still refused by Python's parser itself
    ("too many nested parentheses"), and the length of a program is capped before this.
    """
    import sys
    import threading

    if len(program) < 2000:  # nothing that short can be deep
        return ast.parse(program, mode="exec")
    result: dict[str, object] = {}

    def work() -> None:
        try:
            result["tree"] = ast.parse(program, mode="exec")
        except BaseException as e:  # noqa: BLE001 - handed back to the caller's thread
            result["error"] = e

    old_stack = threading.stack_size()
    old_limit = sys.getrecursionlimit()
    try:
        threading.stack_size(PARSE_STACK_BYTES)
        sys.setrecursionlimit(max(old_limit, PARSE_RECURSION_LIMIT))
        t = threading.Thread(target=work, name="gradlab-parse")
        t.start()
        t.join()
    finally:
        sys.setrecursionlimit(old_limit)
        threading.stack_size(old_stack)
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["tree"]  # type: ignore[return-value]


def _char_offset(program: str, line_start: int, byte_offset: int) -> int:
    """ast column offsets count UTF-8 bytes; convert to characters within the line."""
    line_end = program.find("\n", line_start)
    line = program[line_start: len(program) if line_end < 0 else line_end]
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))


def parse_program(program: str, *, title: str = "") -> Graph:
    """Parse a program into a new :class:`Graph` (see the module docstring)."""
    return parse_tensor_program(program, title=title)


def parse_tensor_program(program: str, *, title: str = "", shapes: Mapping[str, Any] | None = None) -> Graph:
    """Parse a program with vectors and matrices (see the module docstring): :func:`parse_program`, and
    ``shapes`` gives shapes of inputs the program does not declare: ``{"A": (2, 3)}``.

    >>> parse_tensor_program("v = tanh(A @ x); L = sum(v)", shapes={"A": (2, 3), "x": (3,)}).shape("v")
    (2,)
    """
    if not isinstance(program, str):
        raise ParseError(f"a program is text, got {type(program).__name__}")
    return ProgramParser(program, Graph(title=title), shapes).parse()


_TENSOR_HINTS = re.compile(r"[:@]|\.\s*T\b|\b(%s)\s*\(" % "|".join(TENSOR_FUNCTIONS))


def looks_like_tensor_program(program: str) -> bool:
    """A cheap test before parsing: could the program use shapes, ``@``, ``.T`` or tensor functions?

    >>> looks_like_tensor_program("f = x*y + exp(z)"), looks_like_tensor_program("f = x.T @ x")
    (False, True)
    """
    return bool(_TENSOR_HINTS.search(program))


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


def parse_name(text: str) -> str:
    """A single node name, checked (for ``--at name=value`` and graph files)."""
    check_name(text.strip())
    return text.strip()
