"""Atomic writes: complete files or none, with the permissions a plain open() would give; reads of regular
files only, their size checked first."""

import os
import stat

import pytest

from gradlab.errors import FileError, GraphFileError
from gradlab.fileio import atomic_path, output_folder, path_kind, read_bytes, read_text, write_atomic


def test_a_new_file_gets_the_usual_permissions_not_mkstemps_private_ones(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a.txt", "hello")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644


def test_a_replaced_file_keeps_its_mode(tmp_path):
    p = tmp_path / "b.txt"
    p.write_text("old")
    p.chmod(0o600)
    write_atomic(p, "new")
    assert p.read_text() == "new" and stat.S_IMODE(p.stat().st_mode) == 0o600


def test_an_error_leaves_the_old_file_and_no_temporary(tmp_path):
    p = tmp_path / "c.txt"
    p.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(p) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert p.read_text() == "old" and [q.name for q in tmp_path.iterdir()] == ["c.txt"]


# ---- reading: only regular files, size checked first (issue 13, item 3)


def test_a_device_behind_a_symlink_is_refused_without_reading(tmp_path):
    (tmp_path / "zero.toml").symlink_to("/dev/zero")
    with pytest.raises(FileError, match=r"zero\.toml is a device, not a regular file"):
        read_bytes(tmp_path / "zero.toml", "graph file")


def test_a_fifo_is_refused_without_blocking(tmp_path):
    import signal

    os.mkfifo(tmp_path / "f.toml")

    def blocked(*_):
        raise AssertionError("opening the FIFO blocked")

    old = signal.signal(signal.SIGALRM, blocked)
    signal.setitimer(signal.ITIMER_REAL, 10)
    try:
        with pytest.raises(FileError, match="FIFO"):
            read_text(tmp_path / "f.toml", "graph file")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_the_size_is_checked_before_reading(tmp_path):
    p = tmp_path / "sparse.toml"
    with open(p, "wb") as f:
        f.truncate(8 * 1024**3)  # 8 GiB, no blocks: reading it would take the memory
    with pytest.raises(GraphFileError, match=r"sparse\.toml is too large for a graph file \(8,589,934,592 bytes"):
        read_bytes(p, "graph file", error=GraphFileError)


def test_folders_missing_files_and_other_encodings(tmp_path):
    with pytest.raises(FileError, match="is a folder, not an answer key"):
        read_text(tmp_path, "answer key")
    with pytest.raises(FileError, match="no such file"):
        read_text(tmp_path / "nothing.json", "answer key")
    (tmp_path / "latin1.toml").write_bytes("title = 'é'".encode("latin-1"))
    with pytest.raises(FileError, match="not UTF-8"):
        read_text(tmp_path / "latin1.toml")
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbfid")
    assert read_text(tmp_path / "bom.csv", bom=True) == "id"


def test_a_program_is_not_a_path():
    program = "f = " + " + ".join(f"x{i}" for i in range(100))
    assert path_kind(program) is None and path_kind("a\0b") is None


def test_output_folder_refuses_a_file_and_a_folder_below_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(FileError, match="-o .*f is a file, not a folder"):
        output_folder(tmp_path / "f")
    with pytest.raises(FileError, match="is a file, not a folder"):
        output_folder(tmp_path / "f" / "sub", create=False)
    assert output_folder(tmp_path / "new" / "sub").is_dir()
    with pytest.raises(FileError, match="is a file"):
        write_atomic(tmp_path / "f" / "x.txt", "y")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f", "new"]
