"""gradlab's exception types: one clear message for the student, naming the place.

Every error a user can cause (a typo in a program, a missing value, a log of a
negative number) is a :class:`GradlabError`. The CLI prints ``str(error)`` on one
line and exits with ``error.exit_code`` (2: bad input); it never shows a traceback
for these.

>>> from gradlab import Graph, ParseError
>>> try:
...     Graph.parse("a = foo(x)")
... except ParseError as e:
...     print(e)
line 1, col 5: unknown function 'foo' in 'foo(x)'; known functions: abs, cos, elu, exp, gelu, gelu_tanh, hardtanh, leaky_relu, log, max, min, relu, sigmoid, silu, sin, softplus, softsign, sqrt, tanh
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .safetext import shown


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file, a line and column, a statement, a graph node."""

    file: str | None = None
    line: int | None = None
    col: int | None = None
    node: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.line is not None:
            parts.append(f"line {self.line}" + (f", col {self.col}" if self.col is not None else ""))
        elif self.col is not None:
            parts.append(f"col {self.col}")
        if self.node:
            parts.append(f"node {self.node}")
        return ", ".join(parts)

    def with_file(self, file: str, line_offset: int = 0, col_offset: int = 0) -> "Location":
        """The place inside ``file``: lines shifted by ``line_offset``, and the columns of line 1 by
        ``col_offset`` (a one-line program starts after ``program = "``)."""
        line = None if self.line is None else self.line + line_offset
        col = self.col + col_offset if self.col is not None and self.line in (1, None) else self.col
        return Location(file=file, line=line, col=col, node=self.node)


class GradlabError(Exception):
    """Base class of every error caused by user input; ``exit_code`` is 2."""

    exit_code = 2

    def __init__(self, message: str, where: Location | None = None):
        self.message = message
        self.where = where
        super().__init__(self._text())

    def _text(self) -> str:
        """The message with its place, on one line: a control character from the input (a newline in
        a name, a terminal escape in a path) is written as an escape (:func:`gradlab.safetext.shown`)."""
        where = str(self.where) if self.where else ""
        return shown(f"{where}: {self.message}" if where else self.message)

    def located(self, file: str, line_offset: int = 0, col_offset: int = 0) -> "GradlabError":
        """The same error, its place moved into ``file`` (see :meth:`Location.with_file`)."""
        where = (self.where or Location()).with_file(file, line_offset, col_offset)
        err = type(self).__new__(type(self))
        GradlabError.__init__(err, self.message, where)
        err.__dict__.update({k: v for k, v in self.__dict__.items() if k not in ("message", "where")})
        return err


class ParseError(GradlabError):
    """A program or expression that gradlab will not read (syntax, unknown name, forbidden construct)."""


class GraphError(GradlabError):
    """A graph that is not well formed: cycles, duplicate names, a missing output, bad JSON."""


class GraphFileError(GradlabError):
    """A graph file (TOML) that is malformed or inconsistent."""


class EvaluationError(GradlabError):
    """A value that cannot be computed: a missing input, NaN or Inf, a log of a negative number."""


class ShapeError(GradlabError):
    """Tensors whose shapes do not fit together."""


class FileError(GradlabError):
    """A file gradlab will not read (missing, a folder, a device or FIFO, too large, not UTF-8, no permission)
    or cannot write (a folder that is a file, no permission)."""


class RenderError(GradlabError):
    """A picture that cannot be drawn: an unknown option or blank, a missing Graphviz ``dot``."""


_DANGLING = ("**", "+", "-", "*", "/", "@", "(", ",", "=", "^")


def syntax_message(line: str, python_message: str | None) -> str:
    """What Python's parser means, in words for a student (``line`` is the line it stopped in).

    >>> syntax_message("f = x +", "invalid syntax")
    "syntax error: the line ends after '+': a term is missing"
    >>> syntax_message("f = (x + y", "'(' was never closed")
    "syntax error: a ')' is missing ('(' was never closed)"
    """
    msg = (python_message or "invalid syntax").replace(". Perhaps you forgot a comma?", "")
    text = line.strip()
    opened, closed = text.count("(") + text.count("["), text.count(")") + text.count("]")
    if opened > closed:
        return f"syntax error: a ')' is missing ({msg})" if msg != "invalid syntax" else "syntax error: a ')' is missing"
    if closed > opened:
        return "syntax error: a ')' has no '(' to close"
    end = next((op for op in _DANGLING if text.endswith(op)), None)
    if end is not None and end not in "(,":
        return f"syntax error: the line ends after '{end}': a term is missing"
    if "decimal literal" in msg:
        return "syntax error: a number is followed by a name: write the product with '*' (2*x, not 2x)"
    if re.search(r"[\w)]\s+[\w(]", text.split("=", 1)[-1]):
        return f"syntax error: {msg}: two terms stand side by side; write the product with '*' (x*y, not x y)"
    if "==" in text or text.count("=") > 1:
        return f"syntax error: {msg} (write one statement 'name = formula' per line; '==' is not allowed)"
    return f"syntax error: {msg}"
