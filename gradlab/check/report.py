"""Reports as text (the CLI prints these; ``str(report)`` gives the same) and as HTML (Jupyter shows a
:class:`gradlab.GradientReport` as :func:`html_report`'s table).

Graphs of numbers and of vectors and matrices share the opening lines (:func:`header_lines`) and the
tables (:func:`table`); :func:`format_report` picks the sections: arrays need other columns than numbers,
and matrix forms and entry formulas in place of one formula per input.

>>> from gradlab import gradients
>>> print(*format_report(gradients("f = x*y", at=dict(x=2, y=3))).splitlines()[4:7], sep=chr(10))
input  value  df/d input  finite diff  torch  check
-----  -----  ----------  -----------  -----  -----
x      2      3           3            3      ok
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .results import GradientReport


#: Arrays with at most this many entries are printed in full in text reports.
PRINT_ENTRIES = 24


def num(x: Any, digits: int = 6) -> str:
    """A number for a table: ``-0.196612``; ``-`` for missing; a vector or matrix in brackets."""
    if x is None:
        return "-"
    if isinstance(x, (list, tuple)) or hasattr(x, "shape") and getattr(x, "shape", ()) != ():
        return np.array2string(np.asarray(x, dtype=float), precision=digits, separator=", ",
                               max_line_width=10_000).replace("\n", "")
    if x == 0:
        return "0"
    return f"{x:.{digits}g}"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A left-aligned text table with a rule under the header."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


#: How the check column shows the referee's verdicts (see :mod:`gradlab.check.referee`).
_REFEREE_STATUS = {"reference": "ok (reference)", "rounding": "ok (float64 off)"}


def _status(ok: bool, status: str) -> str:
    if status.startswith("kink") or status.startswith("near-kink"):
        return status.upper().replace("-AGREE", " (agree)")
    if ok and status in _REFEREE_STATUS:
        return _REFEREE_STATUS[status]
    return "ok" if ok else "FAIL"


def referee_lines(r: "GradientReport") -> list[str]:
    """The referee's section: why it ran, at how many digits, and its verdict (nothing where it did not run)."""
    if r.referee is None:
        return []
    ref = r.referee
    head = (f"REFEREE ({ref.dps} digits" + ("" if ref.settled else ", not settled") + "): "
            if ref.dps else "REFEREE: ") + "; ".join(ref.reasons)
    return ["", head, *(f"  {v}" for v in ref.verdict)]


def staged_lines(r: "GradientReport") -> list[str]:
    """Why formulas are shown in the staged form, where some are (nothing elsewhere)."""
    if r.staged_form is None:
        return []
    out = r.staged_form.output
    return [f"  (staged form: {r.staged_form.reason}; each d{out}_d<node> is the sum over the node's consumers "
            "of their adjoint times the local partial; the JSON's staged_form defines every one)"]


def header_lines(r: "GradientReport", value: Callable[[Any], str] = num, sep: str = "=") -> list[str]:
    """The lines every report opens with: title, program, the point and the output's value."""
    lines = [r.title] if r.title else []
    if r.program:
        lines.append("program: " + "; ".join(s.strip() for s in r.program.strip().splitlines() if s.strip()))
    if r.at is not None:
        lines.append("at " + ", ".join(f"{k}{sep}{value(v)}" for k, v in r.at.items()))
        lines.append(f"output {r.output.name} = {num(r.output.value)}")
        lines.append("")
    return lines


def sampling_lines(r: "GradientReport") -> list[str]:
    """A big graph's note: which entries finite differences checked one by one, and the directional check."""
    s = r.fd_sampling
    if s is None:
        return []
    shown = ", ".join(s.checked[:8]) + (f", ... ({len(s.checked) - 8} more)" if len(s.checked) > 8 else "")
    return ["", f"finite differences: {s.sample} of {s.entries:,} input entries one by one ({shown}); every entry "
            f"through {s.directions} random directions: {'agree' if s.directional_ok else 'DISAGREE'} "
            f"(largest relative error {s.directional_rel_err:.1e})"]


def format_report(r: "GradientReport", *, nodes: bool = False, width: int = 100) -> str:
    """The text report (``gradlab grad`` and ``gradlab check`` print it); ``nodes`` adds every node's row."""
    if r.is_tensor:  # vectors and matrices: arrays in the tables
        return format_tensor_report(r, nodes=nodes)
    out = r.output.name
    lines = header_lines(r)
    if r.at is not None:
        headers = ["input", "value", f"d{out}/d input"]
        if "fd" in r.methods:
            headers.append("finite diff")
        if "torch" in r.methods:
            headers.append("torch")
        refereed = any(i.reference is not None for i in r.inputs.values())
        if refereed:
            headers.append("reference")
        headers.append("check")
        rows = []
        for i in r.inputs.values():
            row = [i.name, num(i.value), num(i.grad)]
            if "fd" in r.methods:
                row.append(num(i.fd))
            if "torch" in r.methods:
                row.append(num(i.torch))
            if refereed:
                row.append(num(i.reference))
            row.append(_status(i.ok, i.status))
            rows.append(row)
        lines.append(table(headers, rows))
    lines.append("")
    lines.append("symbolic gradients:")
    for i in r.inputs.values():
        text = f"  d{out}/d{i.name} = {i.expr}"
        if i.named and i.named != i.expr:
            text += f"\n      = {i.named}"
        lines.append(text if len(text) <= 4 * width else text[: 4 * width] + " ...")
    lines += staged_lines(r)
    if nodes and r.at is not None:
        lines.append("")
        lines.append("every node (value, adjoint d%s/d node by the symbolic partials and by torch):" % out)
        rows = [[n.id, n.label, num(n.value), num(n.grad), num(n.torch), _status(n.ok, n.status)] for n in r.nodes]
        lines.append(table(["node", "gate", "value", "adjoint", "torch", "check"], rows))
    for k in r.kinks:
        lines.append("")
        lines.append(("KINK: " if k.exact else "NEAR KINK: ") + k.note)
        for i in r.inputs.values():
            if i.conventions and i.name in k.affected:
                conv = ", ".join(f"{c} {num(v)}" for c, v in i.conventions.items())
                lines.append(f"  d{out}/d{i.name}: {conv}")
    lines += sampling_lines(r)
    lines += referee_lines(r)
    if r.blame:
        lines.append("")
        lines.append("BLAME: " + r.blame.message)
    if r.at is not None:
        lines.append("")
        differ = any(i.status in ("kink", "near-kink") for i in r.inputs.values())
        if not r.ok:
            lines.append("CHECK FAILED: the methods disagree (see FAIL above)")
        elif r.referee is not None and r.referee.dps:
            lines.append("ok: the high-precision reference confirms the gradients (see REFEREE above)")
        elif differ:
            lines.append("ok: the methods differ only where a kink allows it (and the symbolic gradients with "
                         "torch's convention equal torch's)")
        elif not set(r.methods) - {"symbolic"}:
            lines.append("no independent check run (--methods ''): the gradients are the symbolic ones, evaluated")
        else:
            lines.append("all methods agree")
    return "\n".join(lines)


def _arr(a: Any) -> str:
    if a is None:
        return "-"
    arr = np.asarray(a, dtype=float)
    if arr.ndim == 0:
        return num(float(arr))
    if arr.size > PRINT_ENTRIES:
        return f"<{'x'.join(map(str, arr.shape))} array>"
    return np.array2string(arr, precision=6, separator=", ", suppress_small=False, max_line_width=200).replace("\n", "")


def format_tensor_report(r: "GradientReport", *, nodes: bool = False) -> str:
    """The text report of a tensor graph: shapes, arrays, matrix forms and entry formulas."""
    out = r.output.name
    lines = header_lines(r, _arr, " = ")
    if r.at is not None:
        headers = ["input", "shape", f"d{out}/d input"]
        if "fd" in r.methods:
            headers.append("fd rel err")
        if "torch" in r.methods:
            headers.append("torch rel err")
        headers.append("check")
        rows = []
        for i in r.inputs.values():
            shape = tuple(i.shape)
            row = [i.name, str(shape) if shape else "()", _arr(i.grad)]
            if "fd" in r.methods:
                row.append(f"{i.fd_rel_err:.1e}" if i.fd_rel_err is not None else "-")
            if "torch" in r.methods:
                row.append(f"{i.torch_rel_err:.1e}" if i.torch_rel_err is not None else "-")
            row.append("ok" if i.ok and i.status == "ok" else (i.status.upper() if i.ok else "FAIL"))
            rows.append(row)
        lines.append(table(headers, rows))
    matrix = [(i.name, i.matrix) for i in r.inputs.values() if i.matrix]
    named_nodes = [(n.id, n.matrix) for n in r.nodes if n.named and n.kind == "op" and n.matrix and n.id != out]
    if matrix or named_nodes:
        lines.append("")
        lines.append("gradients in matrix form (each checked at random points):")
        for n, f in matrix + named_nodes:
            lines.append(f"  d{out}/d{n} = {f}")
    lines.append("")
    lines.append("entry by entry (1-based: B_1_2 is the entry in row 1, column 2):")
    for i in r.inputs.values():
        entries = i.entries
        if i.shape == []:
            lines.append(f"  d{out}/d{i.name} = {i.named}")
        elif i.representative == i.name:  # a graph too big for entry formulas (check.gradients.SYMBOLIC_ENTRIES)
            lines.append(f"  d{out}/d{i.name} = {i.named}   (the chain rule in matrix form: too many entries "
                         "for a formula each)")
        elif entries and len(entries) <= 6:
            for e, f in entries.items():
                lines.append(f"  d{out}/d{e} = {f}")
        else:
            n_entries = int(np.prod(i.shape))
            lines.append(f"  d{out}/d{i.representative} = {i.named}   (one of {n_entries} entries)")
    if nodes:
        chain = [(n.id, n.staged) for n in r.nodes if n.staged and n.id != out and (n.kind == "input" or n.named)]
        if chain:
            lines.append("")
            lines.append("the chain rule, one gate at a time (each adjoint from its consumers' adjoints):")
            lines += [f"  d{out}/d{n} = {s}" for n, s in chain]
    if nodes and r.at is not None:
        lines.append("")
        lines.append(f"every node (value, adjoint d{out}/d node by gradlab's VJPs, and the check against torch):")
        rows = [[n.id, n.label, str(tuple(n.shape)) if n.shape else "()", _arr(n.value), _arr(n.grad),
                 f"{n.rel_err:.1e}" if n.rel_err is not None else "-", "ok" if n.ok else "FAIL"] for n in r.nodes]
        lines.append(table(["node", "gate", "shape", "value", "adjoint", "torch rel err", "check"], rows))
    for k in r.kinks:
        lines.append("")
        lines.append(("KINK: " if k.exact else "NEAR KINK: ") + k.note)
    lines += sampling_lines(r)
    if r.blame:
        lines.append("")
        lines.append("BLAME: " + r.blame.message)
    if r.at is not None:
        lines.append("")
        if r.ok and not set(r.methods) - {"symbolic"}:
            lines.append("no independent check run (--methods ''): the gradients are the symbolic ones, evaluated")
        else:
            lines.append("all methods agree" if r.ok else "CHECK FAILED: the methods disagree (see FAIL above)")
    return "\n".join(lines)


# ------------------------------------------------------------------------------- HTML


def _cell(x: Any) -> str:
    return html.escape(_arr(x) if x is not None and np.ndim(x) else num(x))


def html_report(r: "GradientReport") -> str:
    """The report as an HTML table of its inputs (value, gradient, finite differences, torch, check), as
    Jupyter shows it.

    >>> from gradlab import gradients
    >>> h = html_report(gradients("f = x*y", at=dict(x=2, y=3)))
    >>> h.count("<tr>"), "<td>x</td><td>2</td><td>3</td><td>3</td><td>3</td>" in h
    (3, True)
    """
    out = html.escape(r.output.name)
    caption = html.escape(r.title or "; ".join(s.strip() for s in r.program.strip().splitlines() if s.strip()))
    head = ["input", "value", f"d{out}/d input", "finite diff", "torch", "check"]
    rows = []
    for i in r.inputs.values():
        status = _status(i.ok, i.status) if r.at is not None else i.status
        color = "" if i.ok else ' style="color:#b00020;font-weight:bold"'
        cells = [html.escape(i.name), _cell(i.value), _cell(i.grad) if r.at is not None else html.escape(i.expr),
                 _cell(i.fd), _cell(i.torch), f"<span{color}>{html.escape(status)}</span>"]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    verdict = ("symbolic only (no point given)" if r.at is None else "all methods agree" if r.ok
               else "CHECK FAILED: the methods disagree")
    if r.at is not None:
        verdict = f"{out} = {html.escape(num(r.output.value))}; {verdict}"
    return (f'<table class="gradlab-report"><caption>{caption}</caption>'
            f"<thead><tr>{''.join(f'<th>{h}</th>' for h in head)}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table><p>{html.escape(verdict)}</p>"
            + "".join(f"<p>{html.escape(line.strip())}</p>" for line in referee_lines(r) + staged_lines(r) if line)
            + (f"<p>BLAME: {html.escape(r.blame.message)}</p>" if r.blame else ""))
