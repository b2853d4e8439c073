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
"""

from __future__ import annotations

import ast
from typing import TypedDict, Union

from .errors import Location, ParseError, syntax_message
from .graph import Graph, Node, Number, check_name, fold
from .ops import FUNCTIONS, OPS

MAX_PROGRAM_CHARS = 200_000
MAX_DEPTH = 200
#: Source text kept per node (for messages and pictures); longer text is shortened with "...".
MAX_TEXT = 120
#: Python's own parser recurses once per term of ``a + b + c ...``: it runs in a thread with a
#: big stack and this recursion limit, so sums of thousands of terms parse.
PARSE_RECURSION_LIMIT = 60_000
PARSE_STACK_BYTES = 512 * 1024 * 1024

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_REFUSED = {
    ast.Attribute: "attribute access ('.') is not allowed",
    ast.Subscript: "indexing with [] is not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.JoinedStr: "strings are not allowed",
    ast.Compare: "comparisons are not allowed",
    ast.BoolOp: "'and'/'or' are not allowed",
    ast.IfExp: "'if ... else' is not allowed",
    ast.NamedExpr: "':=' is not allowed",
    ast.Starred: "'*' unpacking is not allowed",
    ast.Await: "'await' is not allowed",
    ast.Yield: "'yield' is not allowed",
    ast.List: "lists are not allowed",
    ast.Tuple: "tuples are not allowed",
    ast.Dict: "dicts are not allowed",
    ast.Set: "sets are not allowed",
}
ALLOWED = "numbers, names, + - * / **, unary minus and calls of known functions"

Value = Union[Node, Number]


def known_functions() -> str:
    return ", ".join(sorted(FUNCTIONS))


class _GateAttrs(TypedDict):
    """Where a gate comes from in the program (keyword arguments of :meth:`Graph.apply`)."""

    where: Location
    statement: int
    text: str | None


class ProgramParser:
    """Walks the ``ast`` of a program and adds gates to a :class:`Graph`. Subclass to admit more."""

    def __init__(self, program: str, graph: Graph) -> None:
        self.program = program
        self.graph = graph
        self.env: dict[str, Value] = {}  # names defined so far
        self.assigned_at: dict[str, int] = {}  # statement name -> line
        self.assigned_stmt: dict[str, int] = {}  # ... and its statement's number in the program (from 0)
        self.used_before: dict[str, int] = {}  # input name -> first line used
        self.statement = 0
        self.depth = 0
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
        for i, stmt in enumerate(tree.body):
            self.statement = i
            last = i == len(tree.body) - 1
            output = self.statement_node(stmt, last)
        assert output is not None
        if not isinstance(output, Node):  # pragma: no cover - statements always produce nodes
            raise ParseError("the output is a constant; it has no gradient")
        self.graph.set_output(output)
        return self.graph

    def statement_node(self, stmt: ast.stmt, last: bool) -> Value:
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

    def annotated(self, stmt: ast.AnnAssign, last: bool) -> Value:
        raise self.fail("shape declarations ('x: (3,)') need a tensor program", stmt)

    def assign(self, name: str, value: ast.expr, stmt: ast.stmt) -> Value:
        where = self.where(stmt)
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
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise self.fail(f"{type(v).__name__} values such as {v!r} are not allowed; only numbers", node)
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
        message = _REFUSED.get(type(node))
        if message is None:
            message = f"'{type(node).__name__}' is not allowed"
        raise self.fail(f"{message}; a program may use {ALLOWED}", node)

    def binop_chain(self, node: ast.BinOp, name: str | None) -> Value:
        """``a + b + c + ...``: Python nests a long chain on the left; walk it in a loop, not
        by recursion, so a sum of thousands of terms is no deeper than one term."""
        spine: list[ast.BinOp] = []
        cur: ast.expr = node
        while isinstance(cur, ast.BinOp):
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

    def binop_other(self, node: ast.BinOp, name: str | None) -> Value:
        op = type(node.op).__name__
        hint = " (use ** for powers)" if op == "BitXor" else ""
        raise self.fail(f"the operator '{_OP_TEXT.get(op, op)}' is not allowed{hint}; use {ALLOWED}", node)

    def name(self, node: ast.Name) -> Value:
        n = node.id
        if n in self.env:
            return self.env[n]
        if n in FUNCTIONS:
            raise self.fail(f"'{n}' is a function; call it: {n}(...)", node)
        check_name(n, self.where(node))
        self.used_before.setdefault(n, node.lineno)
        inp = self.graph.input(n, where=self.where(node))
        self.env[n] = inp
        return inp

    def call(self, node: ast.Call, name: str | None) -> Value:
        func = node.func
        if not isinstance(func, ast.Name):
            if isinstance(func, ast.Attribute):
                raise self.fail("attribute access ('.') is not allowed; call a known function by its name", node)
            raise self.fail("only known functions can be called, by name", node)
        fname = func.id
        if fname not in FUNCTIONS:
            raise self.fail(f"unknown function '{fname}' in '{self.text(node)}'; known functions: {known_functions()}",
                            node)
        if node.keywords:
            raise self.fail(f"{fname}() takes no keyword arguments", node)
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail("'*' unpacking is not allowed", node)
        op_name = FUNCTIONS[fname]
        args = [self.build(a) for a in node.args]
        if OPS[op_name].variadic:
            if len(args) < 2:
                raise self.fail(f"{fname}() needs at least two arguments", node)
            acc = args[0]
            for j, b in enumerate(args[1:], start=1):
                last = j == len(args) - 1
                if isinstance(acc, (int, float)) and isinstance(b, (int, float)):
                    acc = fold(fname, acc, b, self.where(node))
                else:
                    acc = self.graph.apply(op_name, acc, b, name=name if last else None, **self.attrs(node))
            return acc
        op = OPS[op_name]
        arity, param = op.arity, op.param_default
        if op.param_name and len(args) == arity + 1:
            if not isinstance(args[-1], (int, float)):
                raise self.fail(f"{fname}()'s last argument, its {op.param_name}, must be a number", node)
            param, args = args[-1], args[:-1]
        if len(args) != arity:
            extra = f" (and its {op.param_name}, a number)" if op.param_name else ""
            raise self.fail(f"{fname}() takes {'exactly one argument' if arity == 1 else f'{arity} arguments'}"
                            f"{extra}, got {len(node.args)}", node)
        numbers = [a for a in args if isinstance(a, (int, float))]
        if len(numbers) == arity and param is None:
            return fold(fname, numbers[0], numbers[1] if arity == 2 else None, self.where(node))
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


_OP_TEXT = {"BitXor": "^", "BitAnd": "&", "BitOr": "|", "Mod": "%", "FloorDiv": "//", "LShift": "<<",
            "RShift": ">>", "MatMult": "@"}


def parse_program(program: str, *, title: str = "") -> Graph:
    """Parse a program into a new :class:`Graph` (see the module docstring)."""
    if not isinstance(program, str):
        raise ParseError(f"a program is text, got {type(program).__name__}")
    from .tensor_parse import looks_like_tensor_program, parse_tensor_program

    if looks_like_tensor_program(program):  # shapes, @, .T or tensor functions: the tensor parser
        return parse_tensor_program(program, title=title)
    graph = Graph(title=title)
    return ProgramParser(program, graph).parse()


def parse_name(text: str) -> str:
    """A single node name, checked (for ``--at name=value`` and graph files)."""
    check_name(text.strip())
    return text.strip()
