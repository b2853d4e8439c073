"""Atomic writes: complete files or none, with the permissions a plain open() would give."""

import os
import stat

import pytest

from gradlab.fileio import atomic_path, write_atomic


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
