"""Reading and writing files safely: only regular files of a bounded size are read, and nothing
half-written is ever left behind.

Every file gradlab reads (graph files, worksheet specs, key.json, responses, model descriptions,
weights, checkpoints) goes through :func:`open_regular` (or :func:`read_bytes` / :func:`read_text`):
it refuses folders, devices, FIFOs and sockets (also behind a symlink) without blocking, checks
the size against a limit for that kind of file before reading, and reads no more than the limit.
Every mistake is a :class:`~gradlab.errors.FileError` (or the caller's error type) naming the file.

Every file gradlab writes (images, worksheets, reports, checkpoints) goes through
:func:`write_atomic` or :func:`atomic_path`: the data goes to a temporary file in the
same folder, which is renamed over the target only when it is complete. An
interrupted write leaves the old file (or no file), never a truncated one. A temporary file is
named ``.NAME.PID.XXXXXXXX.tmp.SUFFIX`` after the target and the process writing it; one left by a
process killed with SIGKILL (which runs no clean-up) is removed by the next gradlab that writes into
that folder (:func:`sweep_stale`), and only when that process is gone.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> write_atomic(d / "a.txt", "hello")
>>> (d / "a.txt").read_text()
'hello'
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Iterator, Protocol

from .errors import FileError, GradlabError, Location

#: The largest file gradlab reads, per kind of file (bytes).
LIMITS: dict[str, int] = {
    "graph file": 1_000_000,
    "worksheet spec": 1_000_000,
    "layer spec": 1_000_000,
    "sweep spec": 1_000_000,
    "answer key": 64 * 1024 * 1024,
    "responses file": 200 * 1024 * 1024,
    "model description": 4 * 1024 * 1024,
    "weights file": 1024 * 1024 * 1024,
    "checkpoint": 1024 * 1024 * 1024,
    "run result": 16 * 1024 * 1024,
}
DEFAULT_LIMIT = 64 * 1024 * 1024


def shown(name: str | Path, width: int = 80) -> str:
    """A file name for a message: shortened in the middle when longer than ``width`` (a program
    mistaken for a path), control characters escaped.

    >>> shown("a" * 100, 20)
    'aaaaaaaa...aaaaaaaaa'
    """
    text = str(name).encode("unicode_escape", "backslashreplace").decode("ascii") \
        if not str(name).isprintable() else str(name)
    if len(text) <= width:
        return text
    half = (width - 3) // 2
    return text[:half] + "..." + text[len(text) - (width - 3 - half):]


class _Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


def _a(what: str) -> str:
    return ("an " if what[:1] in "aeiouAEIOU" else "a ") + what


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _open_error(e: OSError, name: str, what: str, error: type[GradlabError]) -> GradlabError:
    where = Location(file=name)
    if e.errno == errno.ENOENT:
        return error(f"no such file: {name}")
    if e.errno in (errno.EACCES, errno.EPERM):
        return error(f"cannot read this {what}: permission denied", where)
    if e.errno == errno.ENAMETOOLONG:
        return error(f"no such file: the name is too long for a file name ({len(str(e.filename or ''))} "
                     "characters)", where)
    if e.errno == errno.ENOTDIR:
        return error("no such file: a part of the path is a file, not a folder", where)
    if e.errno == errno.ELOOP:
        return error(f"cannot read this {what}: too many levels of symbolic links", where)
    return error(f"cannot read this {what}: {e.strerror or e}", where)


@contextlib.contextmanager
def open_regular(path: str | Path, what: str = "file", *, limit: int | None = None,
                 error: type[GradlabError] = FileError) -> Iterator[BinaryIO]:
    """The open file ``path`` (binary), after checking that it is a regular file of at most ``limit``
    bytes (default: ``LIMITS[what]``); a folder, device, FIFO, socket (also behind a symlink) or a file
    too large raises ``error`` naming the file. Opening never blocks (a FIFO is opened non-blocking).

    >>> import tempfile
    >>> with open_regular(tempfile.mkdtemp(), "graph file") as f:  # doctest: +ELLIPSIS
    ...     pass
    Traceback (most recent call last):
    gradlab.errors.FileError: ... is a folder, not a graph file
    """
    name = shown(path)
    limit = LIMITS.get(what, DEFAULT_LIMIT) if limit is None else limit
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as e:
        if e.errno == errno.EISDIR:
            raise error(f"{name} is a folder, not {_a(what)}") from None
        raise _open_error(e, name, what, error) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise error(f"{name} is a folder, not {_a(what)}")
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{name} is {_kind(st.st_mode)}, not a regular file; gradlab reads {_a(what)} only from a "
                        "regular file")
        if st.st_size > limit:
            raise error(f"{name} is too large for {_a(what)} ({st.st_size:,} bytes; at most {limit:,})")
        os.set_blocking(fd, True)
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        yield f


def read_bytes(path: str | Path, what: str = "file", *, limit: int | None = None,
               error: type[GradlabError] = FileError) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (see :func:`open_regular`).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.toml"
    >>> _ = p.write_text("program = 'f = x'")
    >>> read_bytes(p, "graph file")
    b"program = 'f = x'"
    """
    limit = LIMITS.get(what, DEFAULT_LIMIT) if limit is None else limit
    with open_regular(path, what, limit=limit, error=error) as f:
        try:
            data = read_at_most(f, limit + 1)
        except OSError as e:
            raise _open_error(e, shown(path), what, error) from None
    if len(data) > limit:  # it grew while we read it
        raise error(f"{shown(path)} is too large for {_a(what)} (more than {limit:,} bytes)")
    return data


def read_at_most(f: _Readable, n: int) -> bytes:
    """Up to ``n`` bytes of an open file, read in pieces (``f.read(n)`` allocates ``n`` bytes at once).

    >>> import io
    >>> read_at_most(io.BytesIO(b"abc"), 2)
    b'ab'
    """
    parts: list[bytes] = []
    total = 0
    while total < n:
        chunk = f.read(min(1 << 20, n - total))
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    return b"".join(parts)


def read_text(path: str | Path, what: str = "file", *, limit: int | None = None,
              error: type[GradlabError] = FileError, bom: bool = False) -> str:
    """The UTF-8 text of a regular file (see :func:`read_bytes`); ``bom=True`` drops a leading byte-order mark.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "key.json"
    >>> _ = p.write_bytes(b"\\xff")
    >>> read_text(p, "answer key")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    gradlab.errors.FileError: ...key.json is not UTF-8 text (line 1 has the byte 0xff): save it as UTF-8
    """
    data = read_bytes(path, what, limit=limit, error=error)
    try:
        return data.decode("utf-8-sig" if bom else "utf-8")
    except UnicodeDecodeError as e:
        raise error(f"{shown(path)} is not UTF-8 text ({_not_utf8(data, e.start)}): save it as UTF-8") from None


_WIDE_MARKS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"),
               (b"\xfe\xff", "UTF-16"))


def _not_utf8(data: bytes, at: int) -> str:
    r"""Where and how bytes fail to be UTF-8, in words: "it is UTF-16 text" for a file an editor saved
    as "Unicode", else the line and the first byte that is not UTF-8.

    >>> _not_utf8("é".encode("utf-16"), 0)
    'it is UTF-16 text'
    >>> _not_utf8(b"a = 1\ncaf\xe9", 9)
    'line 2 has the byte 0xe9'
    """
    for mark, name in _WIDE_MARKS:
        if data.startswith(mark):
            return f"it is {name} text"
    line = data.count(b"\n", 0, at) + 1
    return f"line {line} has the byte 0x{data[at]:02x}"


def path_kind(path: str | Path) -> str | None:
    """``"file"``, ``"folder"`` or ``"other"`` for what ``path`` names (following symlinks), ``None`` when
    nothing does, or when the text cannot be a path (too long, a NUL byte): safe for a program text
    that may or may not be a file name.

    >>> path_kind("f = (x + y) * z" * 30) is None
    True
    """
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    return "folder" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else "other"


def output_folder(path: str | Path, option: str = "-o", *, create: bool = True) -> Path:
    """The folder ``path`` to write into, created if missing (with ``create=False`` only checked: nothing is made
    before the work is done); a :class:`~gradlab.errors.FileError` when it, or a folder above it, is a file, or
    when it cannot be written.

    >>> import tempfile, pathlib
    >>> output_folder(pathlib.Path(tempfile.mkdtemp()) / "new").is_dir()
    True
    """
    p = Path(path)
    name = f"{option} {shown(p)}" if option else shown(p)
    kind = path_kind(p)
    if kind not in (None, "folder"):
        raise FileError(f"{name} is a file, not a folder; give a folder to write into")
    existing = p
    while path_kind(existing) is None and existing != existing.parent:
        existing = existing.parent
    if path_kind(existing) not in (None, "folder"):
        raise FileError(f"{name}: {shown(existing)} is a file, not a folder")
    if path_kind(existing) == "folder" and not os.access(existing, os.W_OK | os.X_OK):
        raise FileError(f"{name}: cannot write into {shown(existing)}: permission denied")
    if create:
        try:
            p.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise FileError(f"{name}: a part of the path is a file, not a folder") from None
        except OSError as e:
            raise FileError(f"{name}: cannot make this folder ({e.strerror or e})") from None
    return p


def write_atomic(path: str | Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` completely or not at all (temp file in the same folder, then rename)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path to write to; it replaces ``path`` when the block ends without an error.

    For writers that want a file name (Graphviz, torch, safetensors, matplotlib)::

        with atomic_path("out/model.safetensors") as tmp:
            save_file(tensors, tmp)
    """
    p = Path(path)
    output_folder(p.parent, "")
    if path_kind(p) == "folder":
        raise FileError(f"cannot write {shown(p)}: it is a folder")
    sweep_stale(p.parent)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{p.name}.{os.getpid()}.", suffix=".tmp" + p.suffix, dir=p.parent)
    except OSError as e:
        raise FileError(f"cannot write {shown(p)}: {e.strerror or e}") from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _usual_mode(tmp, p)
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def _usual_mode(tmp: Path, target: Path) -> None:
    """Give the finished file the permissions a plain ``open(path, "w")`` would have (mkstemp makes
    it private, 0600): the old file's mode when replacing one, else 0666 less the umask."""
    try:
        mode = target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    with contextlib.suppress(OSError):
        os.chmod(tmp, mode)


# .NAME.PID.XXXXXXXX.tmp[.SUFFIX]: what atomic_path names (mkstemp's 8 random letters, digits and _).
_TEMP = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.[a-z0-9_]{8}\.tmp(?P<suffix>\.[^.]*)?", re.ASCII)
_SWEPT: set[str] = set()
#: A temporary file of a process that is gone, not written to for this long, is stale even if this run is older.
STALE_SECONDS = 600.0
_STARTED = time.time()


def _gone(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def stale_temp(name: str, mtime: float) -> bool:
    """Whether a file name is a temporary file of :func:`atomic_path` whose process is gone and which was last
    written before this run started, or more than :data:`STALE_SECONDS` ago (a long-lived process, a notebook).
    The name must be one gradlab gives (``.a.svg.123.x1y2z3w4.tmp.svg``: the target, a pid, its suffix).

    >>> stale_temp(".a.svg.999999999.abcd1234.tmp.svg", 0.0), stale_temp("a.svg", 0.0)
    (True, False)
    """
    m = _TEMP.fullmatch(name)
    if m is None or (m["suffix"] or "") != Path(m["name"]).suffix:
        return False
    if mtime >= max(_STARTED, time.time() - STALE_SECONDS):
        return False
    return _gone(int(m["pid"]))


def sweep_stale(folder: str | Path, *, again: bool = False) -> list[str]:
    """Remove the temporary files a killed gradlab left in ``folder`` (see :func:`stale_temp`): once per folder
    and run unless ``again``; the names removed. Only files gradlab names are touched; errors are ignored.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / ".x.png.999999999.abcd1234.tmp.png").write_bytes(b"")
    >>> os.utime(d / ".x.png.999999999.abcd1234.tmp.png", (0, 0))
    >>> sweep_stale(d)
    ['.x.png.999999999.abcd1234.tmp.png']
    """
    key = os.path.abspath(folder)
    if key in _SWEPT and not again:
        return []
    _SWEPT.add(key)
    removed: list[str] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for e in entries:
        if not e.name.startswith(".") or ".tmp" not in e.name:
            continue
        try:
            st = e.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and stale_temp(e.name, st.st_mtime):
                os.unlink(e.path)
                removed.append(e.name)
        except OSError:
            continue
    return removed
