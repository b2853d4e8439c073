"""Grading workers: each answer is graded in a separate process with a time and a memory limit.

Answers are hostile input. The parser already refuses anything but formulas and caps their
size, but a formula that is small to write can still be slow to simplify. So every answer
that needs the parser is graded by a worker process (a pool of 2 by default), which

* limits its own address space (``RLIMIT_AS``: what it had after start-up plus ``memory_mb``)
  and CPU time per answer (``RLIMIT_CPU``, a backstop), and
* is given ``timeout`` seconds of wall-clock time per answer by the parent, which kills it and
  starts a fresh one when it is over, or when it dies; that answer is rejected with a message
  and the other answers are graded as usual.

Answers go to a worker in batches (up to :data:`MAX_BATCH`, while answers are quick) and each verdict
comes back as soon as it is made: the clock of the next answer starts then, so the limits stay per
answer. A batch that takes longer than :data:`WINDOW` comes back unfinished, so the grading budgets are
checked before every answer that starts later. A worker dies with its parent (:mod:`gradlab.children`), even one killed with SIGKILL.

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

#: The most answers sent to a worker at once. A worker sends each verdict back as soon as it is made, so the
#: time and memory limits stay per answer; batches only save the wait for the next answer (a round trip each).
MAX_BATCH = 32

#: An answer graded faster than this (seconds) doubles the batch; a slower one sets it back to 1.
QUICK = 0.05

#: A worker starts no answer of a batch more than this many seconds after the batch began: it sends the rest
#: back, and the parent checks each one's grading budget (per student, per class) again before sending it.
WINDOW = 0.1


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
        begun = time.monotonic()
        for n, (task_id, task) in enumerate(msg):  # a batch: each verdict goes back as soon as it is made
            if n and time.monotonic() - begun > WINDOW:  # the rest goes back: the budgets are checked again
                try:
                    conn.send((None, [i for i, _ in msg[n:]]))
                except (BrokenPipeError, OSError):
                    return
                break
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
        self.tasks: deque[int] = deque()  # sent and not answered yet; the first is being graded
        self.started = 0.0  # when the first of them started (the answer before it came back)
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
        self.batches = 0  # batches of answers sent to the workers (round trips)
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
        workers = list(self._workers)
        batch = 1  # answers sent at once; doubles while answers are quick (see MAX_BATCH)
        while pending or any(w.tasks for w in workers):
            for k, w in enumerate(workers):
                if w.tasks or not pending:
                    continue
                chosen: list[int] = []
                while pending and len(chosen) < batch:
                    i = pending.popleft()
                    if budget is not None and (why := self._over(budget, i, owners, spent, started)):
                        results[i] = Verdict.rejected(f"not graded: {why}")
                        continue
                    chosen.append(i)
                if not chosen:
                    continue
                try:
                    w.conn.send([(i, tasks[i]) for i in chosen])
                except (BrokenPipeError, OSError):
                    pending.extendleft(reversed(chosen))
                    workers[k] = self._replace(w)
                    continue
                w.tasks.extend(chosen)
                self.batches += 1
                w.started = time.monotonic()
                w.deadline = w.started + self.timeout
            busy = [w for w in workers if w.tasks]
            if not busy:
                continue
            soonest = min(w.deadline for w in busy)
            ready = wait([w.conn for w in busy], timeout=max(0.0, soonest - time.monotonic()))
            for w in busy:
                k = workers.index(w)
                if w.conn in ready:
                    try:
                        while True:  # every verdict that is there
                            task_id, verdict = w.conn.recv()
                            if task_id is None:  # the batch took long: these come back
                                pending.extendleft(reversed(w.tasks))
                                w.tasks.clear()
                                break
                            now = time.monotonic()
                            self._count(owners, spent, w.tasks.popleft(), now - w.started)
                            results[task_id] = verdict
                            batch = min(MAX_BATCH, batch * 2) if now - w.started < QUICK else 1
                            w.started, w.deadline = now, now + self.timeout
                            if not w.tasks or not w.conn.poll():
                                break
                    except (EOFError, OSError):
                        i = w.tasks.popleft()
                        self._count(owners, spent, i, min(time.monotonic(), w.deadline) - w.started)
                        results[i] = Verdict.rejected("the grading worker stopped on it (too much memory or time)")
                        pending.extendleft(reversed(w.tasks))
                        workers[k] = self._replace(w)
                        batch = 1
                elif time.monotonic() >= w.deadline:
                    i = w.tasks.popleft()
                    self._count(owners, spent, i, w.deadline - w.started)
                    results[i] = Verdict.rejected(f"it took too long to evaluate (more than {self.timeout:g} s)")
                    pending.extendleft(reversed(w.tasks))
                    workers[k] = self._replace(w)
                    batch = 1
        return [r if r is not None else Verdict.rejected("not graded") for r in results]

    @staticmethod
    def _count(owners: Sequence[Sequence[int]] | None, spent: dict[int, float], i: int, took: float) -> None:
        for o in owners[i] if owners is not None else ():
            spent[o] = spent.get(o, 0.0) + took

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
