"""Running Graphviz's ``dot``: formats, the missing-binary message, atomic output files.

The picture is made in memory first (``dot -Tsvg`` reads DOT on stdin and writes the image on
stdout); only a complete image is written, through :func:`gradlab.fileio.write_atomic`, so a
failed or interrupted run never leaves a half-written file. ``.dot``/``.gv`` files need no
Graphviz at all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ..errors import RenderError
from ..fileio import write_atomic

#: File suffixes gradlab writes, and the Graphviz output format of each (``None``: DOT source).
FORMATS: dict[str, str | None] = {"svg": "svg", "png": "png", "pdf": "pdf", "dot": None, "gv": None}

INSTALL_HINT = (
    "install Graphviz, which provides it: on Debian/Ubuntu 'sudo apt-get install graphviz' "
    "(bash scripts/install.sh does this), on macOS 'brew install graphviz', with conda "
    "'conda install -c conda-forge graphviz', on Windows 'winget install graphviz'. "
    "Without it, write the DOT source instead: -o picture.dot (or Graph.to_dot())")


class GraphvizNotFound(RenderError):
    """The Graphviz ``dot`` program is not installed (or not on ``PATH``)."""


def find_dot() -> str | None:
    """The path of the ``dot`` program (``$GRADLAB_DOT`` if set), or ``None``."""
    override = os.environ.get("GRADLAB_DOT")
    if override:
        return override if Path(override).is_file() else shutil.which(override)
    return shutil.which("dot")


def dot_available() -> bool:
    """Whether Graphviz's ``dot`` can be run here."""
    return find_dot() is not None


def format_of(path: str | Path) -> str:
    """The output format from a file name's suffix: ``svg``, ``png``, ``pdf`` or ``dot``."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        known = ", ".join(f".{s}" for s in FORMATS)
        raise RenderError(f"cannot tell the picture format of '{path}': use one of {known}")
    return "dot" if FORMATS[suffix] is None else suffix


def run_dot(source: str, fmt: str, *, dpi: float | None = None, timeout: float | None = None) -> bytes:
    """The image bytes of DOT ``source`` in format ``fmt`` (``svg``, ``png``, ``pdf``)."""
    if fmt not in ("svg", "png", "pdf"):
        raise RenderError(f"unknown picture format '{fmt}'; use svg, png, pdf or dot")
    exe = find_dot()
    if exe is None:
        raise GraphvizNotFound(f"the Graphviz program 'dot' is not installed, so no .{fmt} can be drawn; "
                               + INSTALL_HINT)
    cmd = [exe, f"-T{fmt}"]
    if fmt == "png" and dpi:
        cmd.append(f"-Gdpi={dpi:g}")
    try:
        proc = subprocess.run(cmd, input=source.encode("utf-8"), capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise GraphvizNotFound(f"the Graphviz program '{exe}' could not be started; " + INSTALL_HINT) from None
    except subprocess.TimeoutExpired:
        raise RenderError(f"Graphviz took longer than {timeout:g} s to lay out the picture; draw a smaller graph, "
                          "or write the DOT source (-o picture.dot) and run dot yourself") from None
    if proc.returncode != 0 or not proc.stdout:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderError(f"Graphviz could not draw the picture (dot exit code {proc.returncode})"
                          + (f": {err[-1]}" if err else ""))
    return proc.stdout


def write_picture(source: str, path: str | Path, *, dpi: float | None = 150,
                  timeout: float | None = None) -> Path:
    """Write DOT ``source`` as the picture ``path`` (format from the suffix), atomically."""
    p = Path(path)
    fmt = format_of(p)
    data: bytes | str = source if fmt == "dot" else run_dot(source, fmt, dpi=dpi, timeout=timeout)
    write_atomic(p, data)
    return p
