"""Grading workers: each answer is graded in a separate process with a time and a memory limit.

Answers are hostile input. The parser already refuses anything but formulas and caps their
size, but a formula that is small to write can still be slow to simplify. So every answer
that needs the parser is graded by a worker process (a pool of 2 by default), which

* limits its own address space (``RLIMIT_AS``: what it had after start-up plus ``memory_mb``)
  and CPU time per answer (``RLIMIT_CPU``, a backstop), and
* is given ``timeout`` seconds of wall-clock time per answer by the parent, which kills it and
  starts a fresh one when it is over, or when it dies; that answer is rejected with a message
  and the other answers are graded as usual.

>>> from gradlab.model.answerkey import Answer, Grading
>>> with GradingPool(workers=1) as pool:
...     [v.status for v in pool.grade([Task("number", "1/2", Answer(value=0.5), Grading())])]
['correct']
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Iterator, Sequence

from ..children import die_with_parent
from ..model.answerkey import Answer, Grading
from .verdict import Verdict

#: Seconds the symbolic proof of an equal answer may take before the numbers decide.
PROVE_SECONDS = 1.0


@dataclass
class Budget:
    """Wall-clock seconds of grading for one student's answers and for the whole class."""

    per_student: float = math.inf
    total: float = math.inf


@dataclass
class Task:
    """One answer to grade: ``kind`` is ``number``, ``formula`` or ``matrix``."""

    kind: str
    text: str
    answer: Answer
    grading: Grading


def grade_task(task: Task) -> Verdict:
    """Grade one answer in this process (what a worker runs; no limits of its own)."""
    from .formulas import grade_formula
    from .numbers import grade_number

    if task.kind == "formula":
        return grade_formula(task.text, task.answer, task.grading, prove_seconds=PROVE_SECONDS)
    if task.kind == "matrix":
        from .matrices import grade_matrix

        return grade_matrix(task.text, task.answer, task.grading, prove_seconds=PROVE_SECONDS)
    return grade_number(task.text, task.answer, task.grading)


# ----------------------------------------------------------------------------- inside a worker

def _vm_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _limit_memory(memory_mb: int) -> None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return
    now = _vm_bytes()
    if now is None:
        return
    limit = now + memory_mb * 1024 * 1024
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _limit_cpu(seconds: float) -> None:
    try:
        import resource
    except ImportError:  # pragma: no cover
        return
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(used.ru_utime + used.ru_stime + seconds) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


@contextlib.contextmanager
def soft_deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`~gradlab.grading.formulas.Deadline` after ``seconds`` (main thread, POSIX only)."""
    from .formulas import Deadline

    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def ring(signum: int, frame: Any) -> None:
        raise Deadline()

    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _worker_main(conn: Connection, memory_mb: int, timeout: float, parent: int,
                 parent_end: Connection | None = None) -> None:
    # The worker dies with its parent, even a parent killed with SIGKILL (Linux); elsewhere it ends when its
    # pipe reaches its end, so it must not hold the parent's end itself (fork copies it).
    die_with_parent(parent)
    if parent_end is not None:
        parent_end.close()
    # A worker never reads the terminal; SIGINT goes to the parent, which ends the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from .. import verify  # noqa: F401
    from . import (
        formulas,  # noqa: F401  (import before the memory limit)
        matrices,  # noqa: F401  (and the tensor engine and verify with it)
    )

    formulas.SOFT_DEADLINE = soft_deadline
    _limit_memory(memory_mb)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        task_id, task = msg
        _limit_cpu(timeout * 2)
        try:
            verdict = grade_task(task)
        except formulas.Deadline:
            verdict = Verdict.rejected("it took too long to evaluate")
        except MemoryError:
            verdict = Verdict.rejected("it is too large to evaluate (memory limit)")
        except RecursionError:
            verdict = Verdict.rejected("it is nested too deeply to evaluate")
        except Exception as e:  # noqa: BLE001 - one answer must never stop the others
            verdict = Verdict.rejected(f"gradlab could not evaluate it ({type(e).__name__})")
        try:
            conn.send((task_id, verdict))
        except (BrokenPipeError, OSError):
            return


# ----------------------------------------------------------------------------- the pool

def _context() -> Any:
    methods = mp.get_all_start_methods()
    # fork starts in milliseconds with SymPy already imported; elsewhere spawn.
    return mp.get_context("fork" if "fork" in methods and sys.platform.startswith("linux") else "spawn")


class _Worker:
    def __init__(self, ctx: Any, memory_mb: int, timeout: float) -> None:
        self.conn, child = ctx.Pipe()
        forked = ctx.get_start_method() == "fork"
        self.process = ctx.Process(target=_worker_main, daemon=True, name="gradlab-grader",
                                   args=(child, memory_mb, timeout, os.getpid(), self.conn if forked else None))
        self.process.start()
        child.close()
        self.task: int | None = None
        self.started = 0.0
        self.deadline = 0.0

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.process.join(timeout=2)
        with contextlib.suppress(Exception):
            self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.send(None)
        self.process.join(timeout=1)
        if self.process.is_alive():
            self.kill()
        with contextlib.suppress(Exception):
            self.conn.close()


class GradingPool:
    """A few worker processes that grade answers with time and memory limits (see the module docstring).

    ``timeout`` is the wall-clock limit per answer (seconds), ``memory_mb`` the memory a worker
    may use beyond its start-up size. Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, workers: int = 2, *, timeout: float = 5.0, memory_mb: int = 768) -> None:
        self.size = max(1, int(workers))
        self.timeout = float(timeout)
        self.memory_mb = int(memory_mb)
        self._ctx = _context()
        self._workers: list[_Worker] = []
        self.restarts = 0
        self.over_student: list[int] = []  # tasks not started: every student of theirs was over budget
        self.over_class: list[int] = []  # tasks not started: the class was over budget

    def __enter__(self) -> "GradingPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _spawn(self) -> _Worker:
        return _Worker(self._ctx, self.memory_mb, self.timeout)

    def grade(self, tasks: list[Task], owners: Sequence[Sequence[int]] | None = None,
              budget: Budget | None = None) -> list[Verdict]:
        """Grade every task; the result list is in the order of ``tasks``.

        With a ``budget``, ``owners[i]`` lists the students (any ids) whose answer task ``i`` is: the
        seconds a task takes count for each of them, and a task is not started when every one of its
        students has used up ``budget.per_student``, or when the pool has graded for ``budget.total``
        seconds. Such a task is rejected ("not graded: ..."); its number goes to :attr:`over_student`
        or :attr:`over_class`.
        """
        results: list[Verdict | None] = [None] * len(tasks)
        pending = deque(range(len(tasks)))
        spent: dict[int, float] = {}
        started = time.monotonic()
        self.over_student, self.over_class = [], []
        while len(self._workers) < min(self.size, max(1, len(tasks))):
            self._workers.append(self._spawn())
        idle = [w for w in self._workers if w.task is None]
        busy: list[_Worker] = []
        while pending or busy:
            while pending and idle:
                i = pending.popleft()
                if budget is not None and (why := self._over(budget, i, owners, spent, started)):
                    results[i] = Verdict.rejected(f"not graded: {why}")
                    continue
                w = idle.pop()
                try:
                    w.conn.send((i, tasks[i]))
                except (BrokenPipeError, OSError):
                    pending.appendleft(i)
                    idle.append(self._replace(w))
                    continue
                w.task, w.started = i, time.monotonic()
                w.deadline = w.started + self.timeout
                busy.append(w)
            if not busy:
                continue
            now = time.monotonic()
            soonest = min(w.deadline for w in busy)
            ready = wait([w.conn for w in busy], timeout=max(0.0, soonest - now))
            for w in list(busy):
                if owners is not None and (w.conn in ready or time.monotonic() >= w.deadline):
                    took = min(time.monotonic(), w.deadline) - w.started
                    for o in owners[w.task]:  # type: ignore[index]
                        spent[o] = spent.get(o, 0.0) + took
                if w.conn in ready:
                    try:
                        task_id, verdict = w.conn.recv()
                    except (EOFError, OSError):
                        results[w.task] = Verdict.rejected(  # type: ignore[index]
                            "the grading worker stopped on it (too much memory or time)")
                        busy.remove(w)
                        idle.append(self._replace(w))
                        continue
                    results[task_id] = verdict
                    w.task = None
                    busy.remove(w)
                    idle.append(w)
                elif time.monotonic() >= w.deadline:
                    results[w.task] = Verdict.rejected(  # type: ignore[index]
                        f"it took too long to evaluate (more than {self.timeout:g} s)")
                    busy.remove(w)
                    idle.append(self._replace(w))
        return [r if r is not None else Verdict.rejected("not graded") for r in results]

    def _over(self, budget: Budget, i: int, owners: Sequence[Sequence[int]] | None, spent: dict[int, float],
              started: float) -> str | None:
        if time.monotonic() - started >= budget.total:
            self.over_class.append(i)
            return f"the grading time for the class ({budget.total:g} s) was used up"
        mine = owners[i] if owners is not None else ()
        if mine and all(spent.get(o, 0.0) >= budget.per_student for o in mine):
            self.over_student.append(i)
            return f"the grading time for this student ({budget.per_student:g} s) was used up"
        return None

    def _replace(self, w: _Worker) -> _Worker:
        w.kill()
        self.restarts += 1
        fresh = self._spawn()
        self._workers[self._workers.index(w)] = fresh
        return fresh

    def close(self) -> None:
        for w in self._workers:
            w.stop()
        self._workers = []
