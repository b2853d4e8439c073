"""``gradlab check [PATH...]``: verify graph files against every method and their expected numbers."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..errors import GradlabError
from .common import add_formula_budget, add_json, print_json

if TYPE_CHECKING:
    from ..check.graphfile import FileReport


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check", help="check graph files (default: graphs/): methods agree, expected numbers match",
        description="Verify each graph file: symbolic, finite-difference and torch gradients agree, and the "
                    "file's expected values and gradients match. Exit 0 all pass, 1 a check failed, 2 bad input.")
    p.add_argument("paths", nargs="*", default=["graphs"], metavar="PATH", help="graph files or folders")
    p.add_argument("--nodes", action="store_true", help="also list every node's value and adjoint")
    p.add_argument("-q", "--quiet", action="store_true", help="only the summary table")
    add_formula_budget(p)
    add_json(p)
    p.set_defaults(func=run)


def _max(tol: object) -> float:
    import numpy as np

    return float(np.max(np.asarray(tol, dtype=float)))


def _expected_text(r: FileReport) -> str:
    checks = [e.ok for e in r.expected] + [f.ok for f in r.formulas]
    if not checks:
        return "-"
    return f"{sum(checks)}/{len(checks)}"


def run(args: argparse.Namespace) -> int:
    from ..check.graphfile import check_graph_file, find_graph_files  # here, not above: `gradlab --help` starts at once
    from ..check.report import format_report, num, table

    files = find_graph_files(args.paths)
    if not files:
        raise GradlabError(f"no graph files (*.toml) in {', '.join(args.paths)}")
    reports: list[FileReport] = []
    errors: list[tuple[str, str]] = []
    for f in files:
        try:
            reports.append(check_graph_file(f, **({} if args.formula_budget is None
                                                  else {"formula_budget": args.formula_budget})))
        except GradlabError as e:
            errors.append((str(f), str(e)))
    if args.json:
        data = [r.to_dict() for r in reports] + [{"path": p, "ok": False, "error": m} for p, m in errors]
        print_json(data)
    else:
        for r in reports:
            if args.quiet:
                continue
            print(f"== {r.path}")
            print(format_report(r.report, nodes=args.nodes))
            if r.expected:
                rows = [[e.kind, e.name, num(e.expected), num(e.actual), f"±{_max(e.tolerance):.2g}",
                         ("ok" if e.ok else "FAIL") + (f" ({e.note})" if e.note else "")] for e in r.expected]
                print("\nexpected (from the file):")
                print(table(["what", "name", "expected", "computed", "tolerance", "check"], rows))
            if r.formulas:
                rows = [[f.claim, ("ok (" + f.decided + ")") if f.ok else "FAIL" + (f" ({f.mistake})" if f.mistake else "")]
                        for f in r.formulas]
                print("\nformulas (from the file, checked by gradlab verify):")
                print(table(["claim", "check"], rows))
            print()
        rows = [[r.path, r.report.output.name, num(r.report.output.value), str(len(r.report.inputs)),
                 "ok" if r.report.ok else "FAIL", _expected_text(r), "PASS" if r.ok else "FAIL"] for r in reports]
        rows += [[p, "-", "-", "-", "-", "-", "ERROR"] for p, _ in errors]
        print(table(["graph", "output", "value", "inputs", "methods agree", "expected", "result"], rows))
        for p, m in errors:
            sys.stderr.write(f"gradlab check: error: {m}\n")
        passed = sum(r.ok for r in reports)
        print(f"\n{passed} of {len(files)} graph files pass")
    if errors:
        return 2
    return 0 if all(r.ok for r in reports) else 1
