"""``gradlab worksheet SPEC_OR_GRAPH --variants 30 --seed 2024 -o DIR``: sheets, keys and exports."""

from __future__ import annotations

import argparse
import sys

from .common import UsageError, add_json, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "worksheet", help="exam-style worksheets: randomized variants, answer keys, Markdown/HTML/PDF/Moodle",
        description="Write a student sheet and an answer key for every variant (Markdown with GitHub math, "
                    "self-contained HTML with MathML, PDF through Chromium), an index, key.json for "
                    "'gradlab grade' and a Moodle XML question bank. The same seed gives the same files.",
        epilog="example: gradlab worksheet graphs/neuron_sigmoid_gate.toml --variants 30 --seed 2024 -o sheets/  "
               "(a worksheet spec picks graphs, question types, points, value ranges and tolerances; "
               "see docs/worksheets.md)")
    p.add_argument("source", metavar="SPEC_OR_GRAPH", help="a worksheet spec (.toml with [[part]]) or a graph file")
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="folder to write (created if missing)")
    p.add_argument("--variants", type=int, default=None, help="number of variants (default: the spec's, else 1)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the spec's, else 0)")
    p.add_argument("--formats", default="markdown,html,pdf,moodle",
                   help="comma-separated from markdown, html, pdf, moodle (default: all)")
    p.add_argument("--no-pdf", action="store_true", help="skip the PDF files (no Chromium needed)")
    p.add_argument("--moodle-symbolic", choices=["essay", "stack", "skip"], default=None,
                   help="symbolic questions in Moodle XML: essay questions for manual grading (default), STACK "
                        "questions graded by Maxima (matrix formulas stay essays), or left out (default: the spec's "
                        "[moodle] symbolic, else essay)")
    p.add_argument("--moodle-pictures", choices=["svg", "png"], default=None,
                   help="pictures in Moodle XML: svg (default, about 10 kB each) or png (16 shades, for a Moodle "
                        "that does not show SVG)")
    add_json(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..fileio import output_folder
    from ..worksheet import FORMATS, make_worksheet

    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    for f in formats:
        if f not in FORMATS:
            raise UsageError(f"--formats: unknown format '{f}' (choose from {', '.join(FORMATS)})")
    if args.no_pdf:
        formats = [f for f in formats if f != "pdf"]
    if args.variants is not None and not 1 <= args.variants <= 1000:
        raise UsageError("--variants must be from 1 to 1000")
    output_folder(args.out, create=False)
    result = make_worksheet(args.source, args.out, variants=args.variants, seed=args.seed, formats=formats,
                            moodle_symbolic=args.moodle_symbolic, moodle_pictures=args.moodle_pictures)
    if args.json:
        print_json(result.to_dict())
    else:
        print(f"{result.title}: {result.variants} variant{'s' * (result.variants != 1)}, seed {result.seed}, "
              f"{result.total_points:g} points, in {result.seconds:.1f} s")
        for q in result.questions:
            print(f"  question {q['id']}: {q['type']:<9} {len(q['items']):>2} answer box"
                  f"{'es' * (len(q['items']) != 1)}, {q['points']:g} point{'s' * (q['points'] != 1)}")
        print(f"wrote {len(result.files)} files to {result.folder}/ (open {result.folder}/index.html; "
              f"grade with: gradlab grade RESPONSES.csv --key {result.folder}/key.json -o report/)")
    for note in result.notes:
        sys.stderr.write(f"gradlab worksheet: note: {note}\n")
    return 0
