"""``gradlab render PROGRAM_OR_FILE [--at x=1] -o out.svg``: the annotated picture of a graph.

    gradlab render graphs/neuron.toml -o neuron.png                 # values above, gradients below
    gradlab render graphs/neuron.toml --blanks --numbered -o sheet.pdf
    gradlab render "f = (x+y)*z" --at x=-2,y=5,z=-4 --highlight x -o f.svg
    gradlab render graphs/neuron.toml --steps steps/                # one picture per backward step + index.html
    gradlab render graphs/ -o out/graphs/                           # every graph file: solution and blank versions
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import GradlabError
from ..fileio import output_folder, path_kind, shown
from .common import UsageError, add_at, looks_like_file, parse_at, print_json

EPILOG = """\
blanks (--blanks SPEC): 'gradients' (the default), 'values', 'all', 'inputs', or a comma-separated
list of targets: a node name (the gradients on its wires), value:NAME, grad:NAME, a wire 'x0->t1'
or 'x0->t1#1' (the second wire of x0 into t1), 'a->output' (the output wire).
formats: .svg .png .pdf need Graphviz's dot; .dot/.gv is the DOT source. Without -o the DOT
source is printed. A folder as input renders every graph file in it (solution and blank
versions) into the -o folder.
examples:
  gradlab render graphs/neuron.toml -o neuron.png
  gradlab render "z = w0*x0 + w1*x1 + w2; a = sigmoid(z)" --at w0=2,x0=-1,w1=-3,x1=-2,w2=-3 --blanks --numbered -o sheet.svg
  gradlab render graphs/neuron.toml --highlight x0 --theme dark -o path.svg
  gradlab render graphs/neuron.toml --steps out/steps/
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "render", help="draw a graph: forward values above each wire, gradients below (Graphviz)",
        description="Draw the textbook picture of a graph: inputs at the left, a circle for each gate, the output "
                    "at the right, each wire with its forward value above (green) and its gradient below (red). "
                    "Also worksheets with blanks, symbolic labels, a highlighted chain-rule path and the backward "
                    "pass step by step.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("program", metavar="PROGRAM_OR_FILE",
                   help="a program ('f = (x+y)*z'), a graph file (.toml), or a folder of graph files")
    add_at(p)
    p.add_argument("-o", "--output", metavar="PATH",
                   help="the picture to write: .svg, .png, .pdf or .dot (a folder for a folder of graph files)")
    p.add_argument("--mode", choices=["auto", "solution", "forward", "structure"], default="auto",
                   help="solution: values and gradients; forward: values only; structure: no numbers "
                        "(default: solution when values are known)")
    p.add_argument("--blanks", nargs="?", const="gradients", metavar="SPEC",
                   help="'?' in place of chosen numbers (default SPEC: every gradient); see below")
    p.add_argument("--numbered", action="store_true", help="draw blanks as (1), (2), ... (see --json for the key)")
    p.add_argument("--symbolic", choices=["local", "full"],
                   help="formulas below the wires: each gate's local derivative, or the full partial d out/d wire")
    p.add_argument("--highlight", metavar="NAME", help="highlight the chain-rule path(s) from the output to NAME")
    p.add_argument("--precision", type=int, default=2, metavar="N", help="decimals of the numbers (default 2)")
    p.add_argument("--theme", choices=["light", "dark"], default="light", help="white (default) or dark background")
    p.add_argument("--palette", choices=["classic", "colorblind"], default="classic",
                   help="classic: green values, red gradients; colorblind: blue and vermillion (Okabe-Ito)")
    p.add_argument("--group", action=argparse.BooleanOptionalAction, default=None,
                   help="box each statement of the program (default: for graphs of more than 12 gates)")
    p.add_argument("--names", choices=["auto", "all", "none"], default="auto",
                   help="names of the values on the wires: the program's (auto), every node's (all), none")
    p.add_argument("--title", nargs="?", const=True, default=False, metavar="TEXT",
                   help="a title above the picture (without TEXT: the graph's title)")
    p.add_argument("--steps", metavar="DIR",
                   help="write one picture per backward step and an index.html that steps through them")
    p.add_argument("--steps-format", choices=["svg", "png"], default="svg", help="picture format of --steps")
    p.add_argument("--formats", default="svg,png", metavar="LIST",
                   help="for a folder of graph files: the formats to write (default svg,png)")
    p.add_argument("--dpi", type=float, default=150, help="resolution of PNG pictures (default 150)")
    p.add_argument("--timeout", type=float, default=300, metavar="S",
                   help="give up when Graphviz takes longer than S seconds (default 300)")
    p.add_argument("--json", action="store_true",
                   help="print what was drawn as JSON: the files, and each blank with its answer")
    p.set_defaults(func=run)


def _blank_spec(text: str | None) -> Any:
    if text is None:
        return None
    parts = [t.strip() for t in text.split(",") if t.strip()]
    if not parts:
        raise UsageError("--blanks: give a keyword (gradients, values, all, inputs) or targets such as x0,value:z")
    return parts[0] if len(parts) == 1 else parts


def _options(args: argparse.Namespace) -> dict[str, Any]:
    if not 0 < args.timeout <= 3600:  # also NaN
        raise UsageError(f"--timeout must be more than 0 and at most 3600 seconds, got {args.timeout}")
    if not 10 <= args.dpi <= 2400:
        raise UsageError(f"--dpi must be from 10 to 2400, got {args.dpi}")
    if not 0 <= args.precision <= 12:
        raise UsageError(f"--precision must be from 0 to 12, got {args.precision}")
    return dict(mode=args.mode, blanks=_blank_spec(args.blanks), numbered=args.numbered, symbolic=args.symbolic,
                highlight=args.highlight, precision=args.precision, theme=args.theme, palette=args.palette,
                group=args.group, names=args.names, title=args.title)


def _load(args: argparse.Namespace) -> tuple[Any, Any]:
    at = parse_at(args.at)
    if looks_like_file(args.program):
        from ..check.graphfile import load_graph_file

        gf = load_graph_file(args.program)
        return gf.graph, (at if at is not None else (gf.at or None))
    from ..model.graph import Graph

    return Graph.parse(args.program), at


def run(args: argparse.Namespace) -> int:
    from .. import render as rd

    if path_kind(args.program) == "folder":
        return _run_folder(args)
    graph, at = _load(args)
    opts = _options(args)
    if args.steps:
        if args.output:
            raise UsageError("give either -o (one picture) or --steps DIR (one picture per step), not both")
        output_folder(args.steps, "--steps", create=False)
        steps_opts = {k: v for k, v in opts.items() if k != "mode"}
        steps = rd.backward_steps(graph, at, args.steps, fmt=args.steps_format, dpi=args.dpi, timeout=args.timeout,
                                  **steps_opts)
        if args.json:
            print_json(steps.to_dict())
        else:
            print(f"wrote {len(steps.frames)} pictures of the backward pass to {steps.folder}/"
                  + (f"; open {steps.html}" if steps.html else ""))
        return 0
    drawing = rd.draw(graph, at, **opts)
    if args.output:
        path = drawing.save(args.output, dpi=args.dpi, timeout=args.timeout)
        if args.json:
            d = drawing.to_dict()
            d["file"] = str(path)
            print_json(d)
        else:
            print(f"wrote {path} ({_what_drawn(drawing, args.numbered)})")
            if drawing.blanks and args.numbered:
                print(_key_table(drawing))
        return 0
    if args.json:
        d = drawing.to_dict()
        d["dot"] = drawing.dot
        print_json(d)
    else:
        sys.stdout.write(drawing.dot)
    return 0


def _what_drawn(drawing: Any, numbered: bool) -> str:
    """What the picture shows, for the line after writing it: ``solution``, or ``exercise: 13 numbered blanks``
    (a picture with blanks is a sheet to fill in, whatever its mode draws around them)."""
    if not drawing.blanks:
        return str(drawing.mode)
    n = len(drawing.blanks)
    kind = "" if drawing.mode == "solution" else f", {drawing.mode} pass"
    return f"exercise{kind}: {n} {'numbered ' if numbered else ''}blank{'s' * (n != 1)}"


def _key_table(drawing: Any) -> str:
    from ..check.report import table
    from ..render.figure import wire_text

    rows = [[b.marker, b.kind, wire_text(b.wire, drawing.graph), b.text.replace("\n", " ")] for b in drawing.blanks]
    return "answer key:\n" + table(["blank", "kind", "wire", "answer"], rows)


def _run_folder(args: argparse.Namespace) -> int:
    """Every graph file of a folder: ``NAME.svg``/``.png`` (solution), ``NAME.blank.*`` (numbered
    gradient blanks), ``NAME.key.json`` (the blanks' answers) and an ``index.html`` gallery."""
    from .. import render as rd
    from ..check.graphfile import find_graph_files, load_graph_file

    if not args.output:
        raise UsageError("a folder of graph files needs an output folder: -o out/graphs/")
    if args.steps:
        raise UsageError("--steps draws one graph; give a graph file, not a folder")
    out = Path(args.output)
    if path_kind(out) not in (None, "folder"):
        raise UsageError(f"-o {shown(out)} is a file; a folder of graph files is drawn into a folder")
    output_folder(out, create=False)
    formats = [f.strip().lstrip(".") for f in args.formats.split(",") if f.strip()]
    for f in formats:
        if f not in rd.FORMATS:
            raise UsageError(f"--formats: unknown format '{f}' (choose from {', '.join(rd.FORMATS)})")
    files = find_graph_files([args.program])
    if not files:
        raise GradlabError(f"no graph files (*.toml) in {args.program}")
    opts = _options(args)
    blank_opts = dict(opts, blanks=opts["blanks"] or "gradients", numbered=True)
    written: list[dict[str, Any]] = []
    errors: list[tuple[str, str]] = []
    for f in files:
        try:
            gf = load_graph_file(f)
            at = parse_at(args.at) or gf.at or None
            entry: dict[str, Any] = {"graph": str(f), "title": gf.title, "solution": [], "blank": []}
            versions = [("solution", opts)] + ([("blank", blank_opts)] if at else [])
            for version, o in versions:
                drawing = rd.draw(gf.graph, at, **o)
                suffix = "" if version == "solution" else ".blank"
                for fmt in formats:
                    path = drawing.save(out / f"{f.stem}{suffix}.{fmt}", dpi=args.dpi, timeout=args.timeout)
                    entry[version].append(str(path))
                if version == "blank":
                    from ..fileio import write_atomic

                    key = out / f"{f.stem}.key.json"
                    write_atomic(key, json.dumps(drawing.to_dict(), ensure_ascii=False, indent=2) + "\n")
                    entry["key"] = str(key)
            written.append(entry)
        except GradlabError as e:
            errors.append((str(f), str(e)))
            if isinstance(e, rd.GraphvizNotFound):
                break
    if written:
        from ..fileio import write_atomic

        write_atomic(out / "index.html", _gallery(written, out))
    if args.json:
        print_json({"folder": str(out), "graphs": written,
                    "errors": [{"graph": p, "error": m} for p, m in errors]})
    else:
        for w in written:
            print(f"{w['graph']}: {', '.join(Path(p).name for p in w['solution'] + w['blank'])}")
        if written:
            print(f"wrote {sum(len(e['solution']) + len(e['blank']) for e in written)} pictures of "
                  f"{len(written)} graphs to {out}/ (open {out / 'index.html'})")
    for p, m in errors:
        sys.stderr.write(f"gradlab render: error: {m}\n" if p in m else f"gradlab render: error: {p}: {m}\n")
    return 2 if errors else 0


def _gallery(entries: list[dict[str, Any]], out: Path) -> str:
    items = []
    for e in entries:
        def pick(paths: list[str]) -> str | None:
            for fmt in ("svg", "png"):
                for p in paths:
                    if p.endswith("." + fmt):
                        return Path(p).name
            return None

        sol, blank = pick(e["solution"]), pick(e["blank"])
        links = " · ".join(f'<a href="{html.escape(Path(p).name)}">{html.escape(Path(p).name)}</a>'
                           for p in e["solution"] + e["blank"] + ([e["key"]] if "key" in e else []))
        imgs = "".join(f'<img src="{html.escape(x)}" alt="{html.escape(x)}">' for x in (sol, blank) if x)
        items.append(f"<section><h2>{html.escape(e['title'] or Path(e['graph']).stem)}</h2>"
                     f"<p><code>{html.escape(e['graph'])}</code>: {links}</p>{imgs}</section>")
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>gradlab: graphs</title>"
            "<style>body{font-family:system-ui,'DejaVu Sans',sans-serif;margin:1.5rem}img{max-width:100%;"
            "display:block;margin:.5rem 0 1.5rem}section{border-top:1px solid #ccc;padding-top:.5rem}"
            "h2{font-size:1.1rem}</style></head><body><h1>gradlab: every graph, solution and worksheet</h1>"
            + "".join(items) + "</body></html>\n")
