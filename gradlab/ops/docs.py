"""docs/operations.md's table of gates, written from the op table: each gate's row is in its record.

Run ``python -m gradlab.ops.docs docs/operations.md`` to rewrite the table in the page (between its two
``<!-- gates -->`` marks); a test keeps the page and the table equal.

>>> print(operations_table().splitlines()[2])
| `+` | `add` | `a + b` | a + b | 1, 1 | |
"""

from __future__ import annotations

import sys
from pathlib import Path

from .core import OPS, Op, OpDoc

MARK = "<!-- gates -->"
HEADER = ("| gate (label) | name in `OPS` | written as | value | local partials | where it fails |\n"
          "|---|---|---|---|---|---|")


def row(op: Op) -> OpDoc:
    """The record's own row, or one made of its label, call name and description."""
    if op.table is not None:
        return op.table
    param = "" if op.param_name is None else f", {op.param_name}"
    args = ", ".join("ab"[i] for i in range(op.arity))
    written = f"`{op.call}({args}{param})`" if op.call else ""
    kink = "has a kink" if op.kink_distance is not None else ""
    return OpDoc(f"`{op.label(op.param_default)}`", written, op.doc, "", kink)


def operations_table() -> str:
    """Every gate of the number table (``OPS``) in the order it was registered, as a Markdown table."""
    def cell(text: str) -> str:
        return text.replace("|", "\\|")  # a bar inside a cell, code spans too, is escaped in GitHub's tables

    lines = [f"| {' | '.join(cell(t) for t in (c.gate, f'`{name}`', c.written, c.value, c.partials, c.fails))} |"
             for name, c in ((name, row(op)) for name, op in OPS.items())]
    return HEADER + "\n" + "\n".join(line.replace("|  |", "| |") for line in lines)


def rewrite(page: str | Path) -> bool:
    """Put the table between the page's two marks; True when the page changed."""
    path = Path(page)
    text = path.read_text(encoding="utf-8")
    before, _, rest = text.partition(MARK)
    _, _, after = rest.partition(MARK)
    new = f"{before}{MARK}\n{operations_table()}\n{MARK}{after}"
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    print("rewrote" if rewrite(sys.argv[1] if len(sys.argv) > 1 else "docs/operations.md") else "unchanged")
