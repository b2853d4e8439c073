"""The ``gradlab`` command: a thin layer over the library.

Each subcommand lives in its own module under :mod:`gradlab.cli` with two functions,
``register(subparsers)`` and ``run(args) -> int``. Exit codes: 0 ok, 1 a check failed,
2 bad input (a :class:`~gradlab.errors.GradlabError`: one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import TYPE_CHECKING, Sequence

from ..errors import GradlabError
from ..fileio import shown
from .grad import start_torch

if TYPE_CHECKING:
    from ..engine.torch_process import TorchProcess

#: Subcommand modules, in the order ``gradlab --help`` lists them.
COMMANDS = ["grad", "check", "shapes", "verify", "render", "worksheet", "practice", "grade", "lenet"]


class _Parser(argparse.ArgumentParser):
    """argparse that exits with 2 and one line for usage errors (its default too, kept explicit)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = _Parser(prog="gradlab", description="Backpropagation you can check: graphs, gradients three ways, "
                     "pictures, worksheets and a LeNet lab.")
    parser.add_argument("--version", action="version", version=f"gradlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        module = importlib.import_module(f"{__name__}.{name.replace('-', '_')}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    early = start_torch(argv)  # `gradlab grad`: torch's child process before the parser is built (see grad.py)
    try:
        return _main(argv, early)
    finally:
        if early is not None:
            early.close()


def _main(argv: list[str], early: TorchProcess | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv, namespace=argparse.Namespace(torch_process=early))
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except GradlabError as e:
        sys.stderr.write(f"gradlab {args.command}: error: {e}\n")
        return e.exit_code
    except BrokenPipeError:  # `gradlab ... | head`
        return 0
    except OSError as e:  # the file system said no (permission, a full disk, a folder that is a file)
        if e.filename is None:
            raise
        sys.stderr.write(f"gradlab {args.command}: error: {shown(e.filename)}: {e.strerror or e}\n")
        return 2
    except RecursionError:
        sys.stderr.write(f"gradlab {args.command}: error: the input is nested too deeply (brackets, parentheses "
                         "or tables inside each other)\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("gradlab: interrupted\n")
        return 130


def entry() -> None:
    raise SystemExit(main())
