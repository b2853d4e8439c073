"""Plain-text tables for reports (the CLI prints these; ``str(report)`` gives the same)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from .check import GradientReport


def num(x: float | None, digits: int = 6) -> str:
    """A number for a table: ``-0.196612``; ``-`` for missing; a vector or matrix in brackets."""
    if x is None:
        return "-"
    if isinstance(x, (list, tuple)) or hasattr(x, "shape") and getattr(x, "shape", ()) != ():
        import numpy as np

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


def _status(ok: bool, status: str) -> str:
    if status.startswith("kink") or status.startswith("near-kink"):
        return status.upper().replace("-AGREE", " (agree)")
    return "ok" if ok else "FAIL"


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


def format_report(r: "GradientReport", *, nodes: bool = False, width: int = 100) -> str:
    if getattr(r, "is_tensor", False):  # vectors and matrices: arrays in the tables
        from .tensor_check import format_tensor_report

        return format_tensor_report(r, nodes=nodes)  # type: ignore[arg-type]
    out = r.output.name
    lines = header_lines(r)
    if r.at is not None:
        headers = ["input", "value", f"d{out}/d input"]
        if "fd" in r.methods:
            headers.append("finite diff")
        if "torch" in r.methods:
            headers.append("torch")
        headers.append("check")
        rows = []
        for i in r.inputs.values():
            row = [i.name, num(i.value), num(i.grad)]
            if "fd" in r.methods:
                row.append(num(i.fd))
            if "torch" in r.methods:
                row.append(num(i.torch))
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
    if r.blame:
        lines.append("")
        lines.append("BLAME: " + r.blame.message)
    if r.at is not None:
        lines.append("")
        differ = any(i.status in ("kink", "near-kink") for i in r.inputs.values())
        if not r.ok:
            lines.append("CHECK FAILED: the methods disagree (see FAIL above)")
        elif differ:
            lines.append("ok: the methods differ only where a kink allows it (and the symbolic gradients with "
                         "torch's convention equal torch's)")
        elif not set(r.methods) - {"symbolic"}:
            lines.append("no independent check run (--methods ''): the gradients are the symbolic ones, evaluated")
        else:
            lines.append("all methods agree")
    return "\n".join(lines)
