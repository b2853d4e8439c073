"""The PDF format, and screenshots of the HTML sheets, with headless Chromium (installed by scripts/install.sh).

Chromium prints the self-contained HTML (MathML and inlined pictures need no network): every
sheet in ``students.pdf``, every key in ``keys.pdf``, one a page. The creation and modification
dates Chromium writes are replaced by a fixed date of the same length, so the same seed gives
byte-identical PDFs. Without Chromium the PDF format leaves a note and the other formats are made.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import GradlabError
from ..fileio import atomic_path, write_atomic
from .format import Files, Format, Job
from .html import all_documents

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
INSTALL_HINT = ("install Chromium: 'apt-get install chromium' (Debian/Ubuntu; scripts/install.sh does it), "
                "'brew install --cask chromium' (macOS), or set GRADLAB_CHROMIUM to a Chrome/Chromium binary")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--hide-scrollbars", "--mute-audio"]
FIXED_DATE = b"D:20000101000000"


class ChromiumNotFound(GradlabError):
    """No Chromium to print PDFs or take screenshots."""


class PrintError(GradlabError):
    """Chromium ran but did not produce the file."""


def find_chromium() -> str | None:
    """The Chromium (or Chrome) binary: $GRADLAB_CHROMIUM, else the first on PATH."""
    env = os.environ.get("GRADLAB_CHROMIUM")
    if env:
        return env if Path(env).is_file() else shutil.which(env)
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(args: list[str], out: Path, timeout: float) -> None:
    binary = find_chromium()
    if binary is None:
        raise ChromiumNotFound(f"Chromium is needed for PDF files and screenshots; {INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="gradlab-chromium-") as profile:
        cmd = [binary, *FLAGS, f"--user-data-dir={profile}", *args]
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PrintError(f"Chromium did not finish within {timeout:g} s") from None
        except OSError as e:
            raise ChromiumNotFound(f"cannot run {binary}: {e}; {INSTALL_HINT}") from None
    if not out.is_file() or out.stat().st_size == 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise PrintError(f"Chromium did not write {out.name} (exit code {proc.returncode}): {' | '.join(tail)}")


def print_pdf(html_file: str | Path, pdf_file: str | Path, *, timeout: float = 180) -> Path:
    """Print an HTML file to PDF (A4, no header or footer); reproducible bytes."""
    src = Path(html_file).resolve()
    target = Path(pdf_file)
    with atomic_path(target) as tmp:
        _run(["--no-pdf-header-footer", "--print-to-pdf-no-header", f"--print-to-pdf={tmp}", src.as_uri()],
             tmp, timeout)
        data = tmp.read_bytes()
        data = re.sub(rb"D:\d{14}[^)]*", lambda m: FIXED_DATE + b"Z" + b" " * (len(m.group(0)) - len(FIXED_DATE) - 1),
                      data)
        tmp.write_bytes(data)
    return target


def screenshot(html_file: str | Path, png_file: str | Path, *, width: int = 1000, height: int = 1400,
               timeout: float = 120) -> Path:
    """A PNG screenshot of an HTML file as Chromium shows it."""
    src = Path(html_file).resolve()
    target = Path(png_file)
    with atomic_path(target) as tmp:
        _run([f"--window-size={width},{height}", f"--screenshot={tmp}", src.as_uri()], tmp, timeout)
    return target


def dump_dom(html_file: str | Path, *, timeout: float = 120) -> str:
    """The page's DOM after Chromium has loaded it (what a browser really shows)."""
    binary = find_chromium()
    if binary is None:
        raise ChromiumNotFound(f"Chromium is needed here; {INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="gradlab-chromium-") as profile:
        proc = subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                               Path(html_file).resolve().as_uri()], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout)
    return proc.stdout.decode("utf-8", "replace")


def _no_files(job: Job) -> Files:
    return {}  # the HTML format writes the pages that finish() prints


def _print_all(job: Job, folder: Path) -> list[str]:
    """Every sheet and every key in one HTML file each, printed to ``students.pdf`` and ``keys.pdf``."""
    written: list[str] = []
    try:
        for key, name in ((False, "students"), (True, "keys")):
            doc = folder / "html" / f"all-{name}.html"
            write_atomic(doc, all_documents(job.ws, [job.document(v, key=key) for v in job.ws.variants], key=key))
            print_pdf(doc, folder / f"{name}.pdf")
            written += [f"html/all-{name}.html", f"{name}.pdf"]
    except ChromiumNotFound as e:
        job.notes.append(f"PDF files not made: {e.message}")
    return written


FORMAT = Format("pdf", _no_files, "students.pdf, keys.pdf: every sheet and key, one a page (Chromium prints the HTML)",
                finish=_print_all, needs=("html",))
