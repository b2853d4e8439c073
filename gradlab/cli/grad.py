"""``gradlab grad PROGRAM_OR_FILE --at x=1``: every gradient, by every method."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Sequence

from ..errors import GradlabError
from .common import UsageError, add_at, add_formula_budget, add_json, looks_like_file, parse_at, print_json

if TYPE_CHECKING:  # imported by `gradlab grad` alone: other commands and --help start without it
    from ..engine.torch_process import TorchProcess


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "grad", help="gradients of a program or graph file, checked by finite differences and torch",
        description="Every forward value and gradient of a program, as formulas and numbers, each checked by "
                    "independent methods. Without --at (and with a program), symbolic results only.",
        epilog='example: gradlab grad "z = w0*x0 + w1*x1 + w2; a = sigmoid(z)" --at w0=2,x0=-1,w1=-3,x1=-2,w2=-3')
    p.add_argument("program", metavar="PROGRAM_OR_FILE", help="a program ('f = (x+y)*z') or a graph file (.toml)")
    add_at(p)
    p.add_argument("--nodes", action="store_true", help="also list every node's value and adjoint")
    p.add_argument("--methods", default="fd,torch",
                   help="independent checks to run, comma-separated from fd,torch (default: both; '' for none)")
    p.add_argument("--no-simplify", action="store_true", help="skip SymPy simplification of the formulas")
    add_formula_budget(p)
    add_json(p)
    p.set_defaults(func=run)


def start_torch(argv: Sequence[str]) -> TorchProcess | None:
    """For ``gradlab grad``, first thing (before the parser is built, before numpy and SymPy load): a child process
    that imports torch while this one does the symbolic work (:mod:`gradlab.engine.torch_process` says why a
    process); the check sends it the graph and ends it. None for other commands."""
    if list(argv[:1]) != ["grad"]:
        return None
    from ..engine.torch_process import TorchProcess

    return TorchProcess.start()


def run(args: argparse.Namespace) -> int:
    from ..engine.torch_process import TorchProcess

    process = getattr(args, "torch_process", None)  # main() starts it before the parser is built
    if not _wants_torch(args):
        if process is not None:
            process.close()
        process = None
    elif process is None:
        process = TorchProcess.start()
    try:
        return _run(args, process)
    finally:
        if process is not None:
            process.close()


def _wants_torch(args: argparse.Namespace) -> bool:
    """Whether the check will run torch at a point: torch asked for, and a point given (or a graph file's)."""
    return "torch" in args.methods and (args.at is not None or looks_like_file(args.program))


def _run(args: argparse.Namespace, process: TorchProcess | None) -> int:
    # here, not above: `gradlab --help` starts without SymPy; torch loads in the child or in the torch step only
    from ..check.gradients import METHODS, gradients
    from ..check.graphfile import load_graph_file
    from ..check.report import format_report

    at = parse_at(args.at)
    if os.path.isdir(args.program):
        raise UsageError(f"{args.program} is a folder; give a program ('f = x*y') or a graph file "
                         "('gradlab check FOLDER' checks every graph file in a folder)")
    if looks_like_file(args.program):
        gf = load_graph_file(args.program)
        graph, at = gf.graph, (at if at is not None else (gf.at or None))
    else:
        graph = args.program  # gradients() reads it, taking undeclared shapes from the --at values
    methods = ["symbolic"] + [m.strip() for m in args.methods.split(",") if m.strip()]
    for m in methods:
        if m not in METHODS:
            raise UsageError(f"--methods: unknown method '{m}' (choose from fd, torch)")
    try:
        report = gradients(graph, at, methods=tuple(methods), simplify=not args.no_simplify, torch_process=process,
                           **({} if args.formula_budget is None else {"formula_budget": args.formula_budget}))
    except GradlabError as e:  # a graph file's program: the place in the file
        if not looks_like_file(args.program) or (e.where and e.where.file):
            raise
        raise e.located(args.program, gf.line_offset, gf.col_offset) from None
    if args.json:
        print_json(report.to_dict())
    else:
        print(format_report(report, nodes=args.nodes))
    return 0 if report.ok else 1
