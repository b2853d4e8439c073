"""``gradlab verify PROGRAM_OR_FILE "dL/dB = (p - y) @ v.T / 2"``: is a claimed gradient formula right?"""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import Location, ParseError
from .common import add_at, add_json, looks_like_file, parse_at, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify", help="check a claimed gradient formula (symbolically and at random points)",
        description="Decide whether a claimed derivative is right: symbolically when gradlab can, and always at "
                    "many random points. A wrong claim gets a counterexample (the point, claimed and true values) "
                    "and, when gradlab recognises it, the likely mistake. Exit 0 right, 1 wrong, 2 bad input.",
        epilog='examples:\n'
               '  gradlab verify "z = w0*x0 + w1*x1 + w2; a = sigmoid(z)" "da/dx0 = w0*a*(1-a)"\n'
               '  gradlab verify graphs/two_layer_softmax.toml "dL/dB = (p - y) @ v.T / 2"',
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("program", metavar="PROGRAM_OR_FILE", help="a program ('f = (x+y)*z') or a graph file (.toml)")
    p.add_argument("claim", help="the claim 'dL/dB = formula', or only its left side 'dL/dB' ...")
    p.add_argument("rhs", nargs="?", metavar="FORMULA", help="... with the formula as a separate argument")
    add_at(p)
    p.add_argument("--trials", type=int, default=None, help="random points to test at (default 25)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random points (default 0)")
    p.add_argument("--lenient", action="store_true",
                   help="accept student syntax in the formula: ^ for powers, σ, implicit products (2w0 a(1-a))")
    p.add_argument("--no-symbolic", action="store_true", help="test at random points only")
    p.add_argument("--show-answer", action="store_true", help="also print the derivative gradlab computes")
    add_json(p)
    p.set_defaults(func=run)


def _reads_leniently(graph: Any, claim: str, rhs: str | None) -> bool:
    """Whether the claim's formula, refused in the strict syntax, reads in the lenient one."""
    from ..check.verify import verify
    from ..errors import GradlabError

    try:
        verify(graph, claim, rhs, trials=1, lenient=True, symbolic=False, explain=False)
    except GradlabError:
        return False
    return True


def _in_claim(where: Location | None, claim: str, rhs: str | None) -> Location:
    """The place of a mistake in the claim: the claim itself (shortened), and the column within it.

    >>> str(_in_claim(Location(col=2), "df/dx = +*", None))
    "the claim 'df/dx = +*', col 10"
    """
    text = claim if rhs is None else f"{claim} = {rhs}"
    formula_starts = text.index("=") + 1 if "=" in text else 0
    formula_starts += len(text[formula_starts:]) - len(text[formula_starts:].lstrip())
    label = text if len(text) <= 60 else text[:57] + "..."
    col = where.col + formula_starts if where is not None and where.col is not None and where.line in (1, None) \
        else None
    return Location(file=f"the claim '{label}'", col=col, node=where.node if where is not None else None)


def run(args: argparse.Namespace) -> int:
    from ..check.verify import MAX_TRIALS, verify
    from ..lang.claims import TRIALS, as_graph
    from .common import UsageError

    at = parse_at(args.at)
    if looks_like_file(args.program):
        from ..check.graphfile import load_graph_file

        graph = load_graph_file(args.program).graph
    else:
        graph = args.program
    trials = TRIALS if args.trials is None else args.trials
    if not 1 <= trials <= MAX_TRIALS:
        raise UsageError(f"--trials must be from 1 to {MAX_TRIALS:,}, got {trials}")
    if not 0 <= args.seed < 2**63:
        raise UsageError(f"--seed must be a whole number from 0 to 2**63 - 1, got {args.seed}")
    graph = as_graph(graph, at)  # the program's own mistakes are named as the program's, before the claim's
    try:
        result = verify(graph, args.claim, args.rhs, at=at, trials=trials, seed=args.seed, lenient=args.lenient,
                        symbolic=not args.no_symbolic)
    except ParseError as e:
        where = _in_claim(e.where, args.claim, args.rhs)
        if args.lenient or not _reads_leniently(graph, args.claim, args.rhs):
            raise ParseError(e.message, where) from None
        raise ParseError(f"{e.message}; with --lenient gradlab reads the formula as students write it (^, σ, w₀, "
                         "σ'(z), \\frac{}{}, implicit products)", where) from None
    if args.json:
        print_json(result.to_dict())
    else:
        print(result)
        if args.show_answer and result.truth:
            print(f"gradlab: {result.lhs} = {result.truth}")
    return 0 if result.ok else 1
