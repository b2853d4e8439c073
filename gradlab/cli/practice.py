"""``gradlab practice GRAPH -o page.html``: a practice page in the browser (see gradlab.worksheet.practice).

    gradlab practice graphs/neuron_sigmoid_gate.toml -o neuron.html          # at the file's [at] point
    gradlab practice "f = (x+y)*z" --at x=-2,y=5,z=-4 -o f.html
    gradlab practice docs/examples/neuron_quiz.toml -o practice/             # one page per variant
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import UsageError, add_at, looks_like_file, parse_at, print_json

EPILOG = """\
A page shows the circuit with a box on every numbered blank (forward values, then gradients):
type a number and see at once whether it is right, within the worksheet's grading tolerance; a wrong
number gets the rule of that gate as a hint, and 'Show the next step' walks the backward pass. The
page is one HTML file that works offline (the expected values are in it: practice, not an exam).
-o ending in .html writes one page (the first variant, or --variant K); any other -o is a folder
with every variant's page and an index.html.
examples:
  gradlab practice graphs/neuron_sigmoid_gate.toml -o neuron.html
  gradlab practice "z = w0*x0 + w2; a = sigmoid(z)" --at w0=2,x0=-1,w2=-3 -o neuron.html
  gradlab practice docs/examples/neuron_quiz.toml --variants 5 -o practice/
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "practice", help="a practice page: type values into the circuit's blanks, instant feedback and hints",
        description="Write a self-contained HTML page per graph or worksheet variant where a student types values "
                    "into the blanks on the circuit, gets instant feedback per blank with the rule that applies, "
                    "and can step through the backward pass.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", metavar="GRAPH_OR_SPEC",
                   help="a program ('f = (x+y)*z'), a graph file (.toml) or a worksheet spec (.toml with [[part]])")
    add_at(p)
    p.add_argument("-o", "--out", required=True, metavar="PATH",
                   help="a page (.html) or a folder (one page per variant)")
    p.add_argument("--variants", type=int, default=None,
                   help="number of variants for a folder (default: the spec's; 1 at a graph file's [at] point)")
    p.add_argument("--variant", type=int, default=None, metavar="K", help="the variant of a single page (default 1)")
    p.add_argument("--seed", type=int, default=None, help="random seed of the variants (default: the spec's, else 0)")
    p.add_argument("--json", action="store_true", help="print what was written, with every blank, as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..fileio import output_folder, write_atomic
    from ..worksheet.practice import load_practice_source, practice_page, practice_pages, practice_worksheet

    at = parse_at(args.at)
    if at is not None and any(not isinstance(x, float) for x in at.values()):
        raise UsageError("--at: a practice page is for graphs of numbers; give each input a number")
    source: Any
    if looks_like_file(args.source):
        source, file_at = load_practice_source(args.source)
        at = at if at is not None else file_at
    else:
        source = args.source
    single = str(args.out).lower().endswith((".html", ".htm"))
    for name in ("variants", "variant"):
        value = getattr(args, name)
        if value is not None and not 1 <= value <= 1000:
            raise UsageError(f"--{name} must be from 1 to 1000")
    if single:
        if args.variants is not None:
            raise UsageError("--variants is for a folder of pages; for one page give --variant K")
        k = args.variant or 1
        ws = practice_worksheet(source, at=at, variants=k, seed=args.seed)
        page = practice_page(ws, ws.variants[k - 1])
        out = Path(args.out)
        if out.parent != Path("") and not out.parent.is_dir():
            raise UsageError(f"-o: the folder {out.parent} does not exist")
        write_atomic(out, page.html())
        written = [str(out)]
        pages = [page]
    else:
        if args.variant is not None:
            raise UsageError("--variant chooses the variant of one page (-o page.html); a folder gets every variant")
        output_folder(args.out, create=False)  # checked before the work, made after it
        count = args.variants or (1 if at is not None else _spec_variants(source))
        ws = practice_worksheet(source, at=at, variants=count, seed=args.seed)
        files = practice_pages(ws)
        folder = output_folder(args.out)
        for name, text in files.items():
            write_atomic(folder / name, text)
        write_atomic(folder / "index.html", _index(ws.title, list(files)))
        written = [str(folder / n) for n in files] + [str(folder / "index.html")]
        pages = [practice_page(ws, ws.variants[0])]
    page = pages[0]
    if args.json:
        print_json({"files": written, "title": page.title, "tolerance": page.tolerance,
                    "blanks": page.to_dict()["blanks"]})
    else:
        print(f"{page.title}: wrote {len(written)} file{'s' * (len(written) != 1)}"
              f" ({len(page.blanks)} blanks a page): {written[0] if single else str(Path(written[-1]).parent) + '/'}")
    return 0


def _spec_variants(source: Any) -> int:
    from ..worksheet.spec import WorksheetSpec

    return source.variants if isinstance(source, WorksheetSpec) else 1


def _index(title: str, names: list[str]) -> str:
    import html

    links = "\n".join(f'<li><a href="{html.escape(n)}">{html.escape(n.removesuffix(".html"))}</a></li>'
                      for n in names)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Practice: {html.escape(title)}'
            f'</title></head><body><h1>Practice: {html.escape(title)}</h1><ul>\n{links}\n</ul></body></html>\n')
