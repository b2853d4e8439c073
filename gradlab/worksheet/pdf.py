"""The PDF format, and screenshots of the HTML sheets, with headless Chromium (installed by scripts/install.sh).

Chromium prints the self-contained HTML (MathML and inlined pictures need no network): every
sheet in ``students.pdf``, every key in ``keys.pdf``, one a page. The creation and modification
dates Chromium writes are replaced by a fixed date of the same length, so the same seed gives
byte-identical PDFs. Without Chromium the PDF format leaves a note and the other formats are made.

Chromium dies with gradlab (:mod:`gradlab.children`: a death signal, its own process group, the group
killed when it is done or over time). Its profile is a folder ``gradlab-chromium-PID-XXXXXXXX`` in the
temp folder; one left by a gradlab killed with SIGKILL is removed by the next run that starts Chromium.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

from ..children import alive, child_options, kill_group
from ..errors import GradlabError
from ..fileio import atomic_path, write_atomic
from . import paging
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


PROFILE_PREFIX = "gradlab-chromium-"
#: The longest temp folder given to Chromium: it makes a socket there (.org.chromium.Chromium.XXXXXX/SingletonSocket,
#: 46 more characters), and a socket's path has at most 107; a longer one leaves Chromium the usual temp folder.
SCRATCH_CHARS = 60
_PROFILE = re.compile(re.escape(PROFILE_PREFIX) + r"(\d+)-[a-z0-9_]{8}", re.ASCII)
_STARTED = time.time()


def sweep_profiles(folder: str | Path | None = None) -> list[str]:
    """Remove the Chromium profiles (``gradlab-chromium-PID-XXXXXXXX``) in the temp folder whose gradlab is gone
    and which are older than this run; the names removed. Only this user's, only folders gradlab names.

    >>> sweep_profiles(tempfile.mkdtemp())
    []
    """
    base = Path(folder or tempfile.gettempdir())
    removed: list[str] = []
    try:
        entries = list(os.scandir(base))
    except OSError:
        return removed
    for e in entries:
        m = _PROFILE.fullmatch(e.name)
        if m is None or int(m[1]) == os.getpid() or alive(int(m[1])):
            continue
        try:
            st = e.stat(follow_symlinks=False)
        except OSError:
            continue
        if not e.is_dir(follow_symlinks=False) or st.st_uid != os.getuid() or st.st_mtime >= _STARTED:
            continue
        shutil.rmtree(e.path, ignore_errors=True)
        removed.append(e.name)
    return removed


@contextlib.contextmanager
def _profile() -> Iterator[str]:
    sweep_profiles()
    with tempfile.TemporaryDirectory(prefix=f"{PROFILE_PREFIX}{os.getpid()}-") as profile:
        yield profile


def _chromium(binary: str, args: list[str], timeout: float) -> tuple[int, bytes, bytes]:
    """Run Chromium with a fresh profile; (exit code, stdout, stderr). Chromium and every process it starts
    end with this call (or with gradlab, if gradlab is killed)."""
    with _profile() as profile:
        env = dict(os.environ)
        scratch = Path(profile) / "tmp"
        if len(str(scratch)) <= SCRATCH_CHARS:  # Chromium's own temporary files go with the profile
            scratch.mkdir()
            env["TMPDIR"] = str(scratch)
        try:
            proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}", *args], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, **child_options())
        except OSError as e:
            raise ChromiumNotFound(f"cannot run {binary}: {e}; {INSTALL_HINT}") from None
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PrintError(f"Chromium did not finish within {timeout:g} s") from None
        finally:
            kill_group(proc.pid)  # its helpers too (and Chromium itself when over time or interrupted)
            if proc.returncode is None:
                proc.kill()
                proc.wait()
    return proc.returncode, out, err


def _run(args: list[str], out: Path, timeout: float) -> None:
    binary = find_chromium()
    if binary is None:
        raise ChromiumNotFound(f"Chromium is needed for PDF files and screenshots; {INSTALL_HINT}")
    code, _, stderr = _chromium(binary, args, timeout)
    if not out.is_file() or out.stat().st_size == 0:
        tail = stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise PrintError(f"Chromium did not write {out.name} (exit code {code}): {' | '.join(tail)}")


def print_pdf(html_file: str | Path, pdf_file: str | Path, *, timeout: float = 180) -> Path:
    """Print an HTML file to PDF (A4, no header or footer, an outline of the headings); reproducible bytes."""
    src = Path(html_file).resolve()
    target = Path(pdf_file)
    with atomic_path(target) as tmp:
        _run(["--no-pdf-header-footer", "--print-to-pdf-no-header", "--generate-pdf-document-outline",
              f"--print-to-pdf={tmp}", src.as_uri()],
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
    return _chromium(binary, ["--dump-dom", Path(html_file).resolve().as_uri()], timeout)[1].decode("utf-8", "replace")


def _no_files(job: Job) -> Files:
    return {}  # the HTML format writes the pages that finish() prints


def _print_all(job: Job, folder: Path) -> list[str]:
    """Every sheet and every key in one HTML file each, printed to ``students.pdf`` and ``keys.pdf``."""
    written: list[str] = []
    try:
        for key, name in ((False, "students"), (True, "keys")):
            doc = folder / "html" / f"all-{name}.html"
            docs = [job.document(v, key=key) for v in job.ws.variants]
            write_atomic(doc, all_documents(job.ws, docs, key=key))
            print_pdf(doc, folder / f"{name}.pdf")
            written += [f"html/all-{name}.html", f"{name}.pdf"]
            if paging.available():
                try:
                    print_ready(folder / f"{name}.pdf", [d.variant for d in docs])
                except paging.PagingError as e:
                    job.notes.append(f"{name}.pdf is as Chromium printed it (no blank pages or footers): {e.message}")
            elif not key:
                job.notes.append("students.pdf is as Chromium printed it: without pypdf ('pip install gradlab[pdf]') "
                                 "no blank pages put a variant on an odd page and no page has its footer")
    except ChromiumNotFound as e:
        job.notes.append(f"PDF files not made: {e.message}")
    return written


def print_ready(pdf: str | Path, variants: list[str]) -> paging.Paged:
    """Make a PDF of every variant's sheet (in order) ready to print double-sided: each variant starts on an odd
    page (a blank page after a variant with an odd page count) and every page has the footer
    ``Variant 07, page 2 of 4``; the variants are found by the heading's ``Variant 07``."""
    return paging.arrange(pdf, [f"Variant {v}" for v in variants],
                          lambda d, k, n: f"Variant {variants[d]}, page {k} of {n}")


FORMAT = Format("pdf", _no_files, "students.pdf, keys.pdf: every sheet and key, one a page (Chromium prints the HTML)",
                finish=_print_all, needs=("html",))
