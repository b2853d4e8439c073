"""``gradlab shapes``: layer shapes, receptive fields and parameter counts.

    gradlab shapes dense 8-4-4-4-2 [--latex] [--json]
    gradlab shapes conv "input 32x32x5 | conv 1@5x5" [--json]
    gradlab shapes conv --preset lenet5
    gradlab shapes conv net.toml
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ShapeError
from ..fileio import path_kind

SPEC_HELP = """\
layer spec: layers separated by '|' (or ';' or new lines), the input first:
  input 32x32x5              H x W x C (HxW means C=1; 'input 784' is a vector)
  conv 6@5x5                 6 filters of 5x5 (a depth 'conv 1@5x5x5' is checked against C)
       options: pad=2|same|valid  stride=2  dilation=2  groups=2  bias=false
  maxpool 2 / avgpool 2x2    pooling (stride = size unless stride=..., pad=...)
  flatten                    H x W x C -> vector
  dense 120                  fully connected (also: linear, fc)
  relu, tanh, sigmoid, ...   activations (no parameters)
example: gradlab shapes conv "input 28x28x1 | conv 6@5x5 pad=2 | avgpool 2 | conv 16@5x5 | avgpool 2 | flatten | dense 120 | dense 84 | dense 10"
a TOML file: input = "32x32x5" and layers = ["conv 6@5x5 pad=2", ...] or [[layer]] tables (type = "conv", filters = 6, kernel = 5).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("shapes", help="layer shapes, receptive fields and parameter counts",
                              description="Shapes, receptive fields and parameter counts of dense networks "
                                          "and conv/pool stacks (shapes written H x W x C).")
    sub = p.add_subparsers(dest="shapes_command", metavar="KIND", parser_class=type(p))

    d = sub.add_parser("dense", help="a fully connected network from its widths, e.g. 8-4-4-4-2",
                       description="Shapes of A_i (out x in, y = A x + b) and b_i, parameter counts, the expanded "
                                   "composition for identity activations and its cost.")
    d.add_argument("widths", help="layer widths, input first: 8-4-4-4-2 or 8,4,4,4,2")
    d.add_argument("--latex", action="store_true", help="also print the formulas as LaTeX")
    d.add_argument("--json", action="store_true", help="print JSON instead of the table")
    d.set_defaults(func=run)

    c = sub.add_parser("conv", help="a conv/pool/dense stack from a spec string, a TOML file or a preset",
                       description="Output size (with its formula), receptive field, parameters (with their "
                                   "formula) of every layer, and the totals.",
                       epilog=SPEC_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("spec", nargs="?", help="a layer spec string, a .toml file, or - for stdin")
    c.add_argument("--preset", choices=["lenet5"], help="a named network instead of SPEC")
    c.add_argument("--json", action="store_true", help="print JSON instead of the table")
    c.set_defaults(func=run)
    p.set_defaults(func=run, shapes_parser=p)


def run(args: argparse.Namespace) -> int:
    from ..model import networks as shapes

    kind = getattr(args, "shapes_command", None)
    if kind == "dense":
        net = shapes.dense_network(args.widths)
        if args.json:
            print(net.to_json())
            return 0
        print(net)
        if args.latex:
            print()
            for key, value in net.latex().items():
                print(f"{key}: {value}")
        return 0
    if kind == "conv":
        if args.preset and args.spec:
            raise ShapeError("give either a SPEC or --preset, not both")
        if args.preset:
            table = shapes.conv_shapes(shapes.PRESETS[args.preset](), name=args.preset)
        elif not args.spec:
            raise ShapeError("give a layer spec, e.g. \"input 32x32x5 | conv 1@5x5\", a .toml file or --preset lenet5")
        elif args.spec == "-":
            table = shapes.conv_shapes(sys.stdin.read())
        elif args.spec.endswith(".toml") or (("|" not in args.spec) and path_kind(args.spec) == "file"):
            data = shapes.load_spec(args.spec)
            table = shapes.conv_shapes(data, name=data.get("name") or Path(args.spec).stem)
        else:
            table = shapes.conv_shapes(args.spec)
        print(table.to_json() if args.json else table)
        return 0
    args.shapes_parser.print_help()
    return 2
