"""Running Graphviz's ``dot``: formats, the missing-binary message, atomic output files.

The picture is made in memory first (``dot -Tsvg`` reads DOT on stdin and writes the image on
stdout); only a complete image is written, through :func:`gradlab.fileio.write_atomic`, so a
failed or interrupted run never leaves a half-written file. ``.dot``/``.gv`` files need no
Graphviz at all.

Many pictures (a worksheet's 200, a backward pass's steps) go through one ``dot`` process (or
two, side by side): :func:`run_dot_many` sends the sources one after another on stdin and splits
the output into the pictures, byte for byte what :func:`run_dot` gives each (starting ``dot`` once per picture was
most of the time of making a worksheet).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

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


def _command(fmt: str, dpi: float | None) -> list[str]:
    if fmt not in ("svg", "png", "pdf"):
        raise RenderError(f"unknown picture format '{fmt}'; use svg, png, pdf or dot")
    exe = find_dot()
    if exe is None:
        raise GraphvizNotFound(f"the Graphviz program 'dot' is not installed, so no .{fmt} can be drawn; "
                               + INSTALL_HINT)
    cmd = [exe, f"-T{fmt}"]
    if fmt == "png" and dpi:
        cmd.append(f"-Gdpi={dpi:g}")
    return cmd


def _run(cmd: list[str], source: str, timeout: float | None, what: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(cmd, input=source.encode("utf-8"), capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise GraphvizNotFound(f"the Graphviz program '{cmd[0]}' could not be started; " + INSTALL_HINT) from None
    except subprocess.TimeoutExpired:
        raise RenderError(f"Graphviz took longer than {timeout:g} s to lay out {what}; draw a smaller graph, "
                          "or write the DOT source (-o picture.dot) and run dot yourself") from None


def run_dot(source: str, fmt: str, *, dpi: float | None = None, timeout: float | None = None) -> bytes:
    """The image bytes of DOT ``source`` in format ``fmt`` (``svg``, ``png``, ``pdf``).

    >>> run_dot("digraph { a -> b }", "svg").startswith(b"<?xml")  # doctest: +SKIP
    True
    """
    proc = _run(_command(fmt, dpi), source, timeout, "the picture")
    if proc.returncode != 0 or not proc.stdout:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderError(f"Graphviz could not draw the picture (dot exit code {proc.returncode})"
                          + (f": {err[-1]}" if err else ""))
    return proc.stdout


#: The most pictures one ``dot`` process draws (the output of a run is held in memory).
BATCH = 128

#: How many ``dot`` processes :func:`run_dot_many` runs at once (a small pool; 2 suits 2 cores).
JOBS = 2

#: Formats whose pictures :func:`run_dot_many` can split out of one run's output.
BATCHED = ("svg", "png")

# The one difference of a picture drawn in a run of many: Graphviz numbers the graph's group by
# its place in the run (``page0,1_graph0``); on its own it is ``graph0``.
_SVG_GROUP = re.compile(rb'<g id="(?:page\d+,\d+_)?graph\d+" class="graph"')
_SVG_END = b"</svg>\n"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_dot_many(sources: Sequence[str], fmt: str, *, dpi: float | None = None, timeout: float | None = None,
                 jobs: int | None = None) -> list[bytes]:
    """The image bytes of each DOT source (one graph each), byte for byte what :func:`run_dot`
    gives for each source, from a few ``dot`` processes: the sources are cut into at most
    ``jobs`` (default :data:`JOBS`) runs of at most :data:`BATCH` pictures, ``jobs`` at a time.

    ``timeout`` is per picture, as in :func:`run_dot` (a run of 10 pictures may take 10 times as
    long). If a run fails, its pictures are drawn one by one, so the error names the picture
    that Graphviz could not draw. PDF pictures are always drawn one by one.

    >>> [p[:5] for p in run_dot_many(["digraph { a }", "digraph { b }"], "svg")]  # doctest: +SKIP
    [b'<?xml', b'<?xml']
    """
    sources = list(sources)
    if fmt not in BATCHED or len(sources) < 2:
        return [run_dot(s, fmt, dpi=dpi, timeout=timeout) for s in sources]
    cmd = _command(fmt, dpi)  # a missing dot is named before any thread starts
    workers = max(1, min(JOBS if jobs is None else jobs, len(sources)))
    size = max(1, min(BATCH, -(-len(sources) // workers)))
    chunks = [sources[i:i + size] for i in range(0, len(sources), size)]

    def draw(chunk: list[str]) -> list[bytes]:
        total = None if timeout is None else timeout * len(chunk)
        proc = _run(cmd, "\n".join(chunk), total, f"{len(chunk)} pictures" if len(chunk) > 1 else "the picture")
        pictures = split_pictures(proc.stdout, fmt) if proc.returncode == 0 else None
        if pictures is None or len(pictures) != len(chunk):  # one by one: the error names its picture
            pictures = [run_dot(s, fmt, dpi=dpi, timeout=timeout) for s in chunk]
        return pictures

    if workers == 1 or len(chunks) == 1:
        return [p for chunk in chunks for p in draw(chunk)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [p for pictures in pool.map(draw, chunks) for p in pictures]


def split_pictures(data: bytes, fmt: str) -> list[bytes] | None:
    """The pictures of one ``dot`` run's output, each as a run of its own would write it; ``None``
    when the output is not a sequence of complete pictures.

    >>> split_pictures(b'<?xml a?><svg>\\n<g id="page0,1_graph0" class="graph"></g></svg>\\n', "svg")
    [b'<?xml a?><svg>\\n<g id="graph0" class="graph"></g></svg>\\n']
    """
    return _split_svg(data) if fmt == "svg" else _split_png(data) if fmt == "png" else None


def _split_svg(data: bytes) -> list[bytes] | None:
    pieces = data.split(_SVG_END)
    if not data or pieces[-1] != b"":
        return None
    out = []
    for piece in pieces[:-1]:
        if not piece.startswith(b"<?xml"):
            return None
        out.append(_SVG_GROUP.sub(b'<g id="graph0" class="graph"', piece, count=1) + _SVG_END)
    return out


def _split_png(data: bytes) -> list[bytes] | None:
    out = []
    pos = 0
    while pos < len(data):
        if not data.startswith(_PNG_SIGNATURE, pos):
            return None
        end = pos + len(_PNG_SIGNATURE)
        while True:  # chunks: length (4), type (4), data, CRC (4); the last is IEND
            if end + 8 > len(data):
                return None
            length = int.from_bytes(data[end:end + 4], "big")
            kind = data[end + 4:end + 8]
            end += 12 + length
            if end > len(data):
                return None
            if kind == b"IEND":
                break
        out.append(data[pos:end])
        pos = end
    return out or None


def write_picture(source: str, path: str | Path, *, dpi: float | None = 150,
                  timeout: float | None = None) -> Path:
    """Write DOT ``source`` as the picture ``path`` (format from the suffix), atomically."""
    p = Path(path)
    fmt = format_of(p)
    data: bytes | str = source if fmt == "dot" else run_dot(source, fmt, dpi=dpi, timeout=timeout)
    write_atomic(p, data)
    return p
