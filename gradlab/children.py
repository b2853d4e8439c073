"""Child processes die with gradlab: a grading worker or a Chromium started by a gradlab that is then
killed (even with SIGKILL, which runs no clean-up code) does not keep running.

On Linux a child asks the kernel for a *death signal* (``prctl(PR_SET_PDEATHSIG, SIGKILL)``): when
its parent dies, the kernel kills it. :func:`die_with_parent` does it inside a child gradlab runs
itself (a grading worker); :func:`child_options` gives the ``subprocess`` arguments that do it for a
program (Chromium), which also starts in a process group of its own, so that :func:`kill_group` ends
it and every helper process it started. Elsewhere these do nothing (no such kernel call).

>>> import subprocess, sys
>>> p = subprocess.Popen([sys.executable, "-c", "pass"], **child_options())
>>> p.wait(), kill_group(p.pid)
(0, False)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from typing import Any, Callable

PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
        return None


# Looked up once, in the parent: a child between fork and exec must not load libraries.
_PRCTL = _load_prctl()


def die_with_parent(parent: int) -> bool:
    """In a child process: ask the kernel to SIGKILL it when its parent dies (Linux). ``parent``, the pid the
    parent had, closes the race of a parent that died before the request: then this process ends at once.
    Whether the request was made. A worker calls it first thing::

        die_with_parent(parent_pid)  # parent_pid = os.getpid() taken in the parent before the start
    """
    if _PRCTL is None:
        return False
    if _PRCTL(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        return False
    if os.getppid() != parent:  # the parent died before the request: nobody will send the signal
        os._exit(1)
    return True


def child_options(*, group: bool = True) -> dict[str, Any]:
    """Keyword arguments for :class:`subprocess.Popen` that start a program which dies with this process
    (Linux), in a process group of its own when ``group`` (so :func:`kill_group` ends its helpers too)."""
    options: dict[str, Any] = {"start_new_session": group}
    if _PRCTL is not None:
        parent = os.getpid()
        prctl = _PRCTL

        def request() -> None:  # runs in the child between fork and exec: no imports, no allocation to speak of
            prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
            if os.getppid() != parent:
                os._exit(1)

        options["preexec_fn"] = request
    return options


def kill_group(pid: int) -> bool:
    """SIGKILL every process left in the process group ``pid`` started (see :func:`child_options`); whether
    any was there."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        return False
    return True


def alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (one of another user counts).

    >>> alive(os.getpid())
    True
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:  # pragma: no cover
        return True
    return True

