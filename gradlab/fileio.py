"""Writing files so that nothing half-written is ever left behind.

Every file gradlab writes (images, worksheets, reports, checkpoints) goes through
:func:`write_atomic` or :func:`atomic_path`: the data goes to a temporary file in the
same folder, which is renamed over the target only when it is complete. An
interrupted write leaves the old file (or no file), never a truncated one.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> write_atomic(d / "a.txt", "hello")
>>> (d / "a.txt").read_text()
'hello'
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


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
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp" + p.suffix, dir=p.parent)
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
