"""A time budget for building formulas: past it, :func:`gradlab.gradients` shows the staged form.

Building a gradient's formula in the inputs can swell (a 36-statement random program once spent 655 s there,
for a right answer), while the staged form (each node's gradient in its consumers' adjoints and its local
partials) is always linear in the graph. :class:`Budget` is a deadline that the formula step checks between
its steps (:meth:`Budget.check`, also passed to the symbolic engine as its ``tick``), and, in the main thread of
a process where no other timer is set, also interrupts a single long SymPy call
(:meth:`Budget.interrupting`, by ``SIGALRM``); when it runs out it raises :class:`OutOfTime`.

>>> b = Budget(0.0)
>>> try:
...     b.check()
... except OutOfTime:
...     print("spent", b.spent)
spent True
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from typing import Any, Iterator

from ..errors import GradlabError

#: The default budget, in seconds, for the formulas in the inputs of one report (``formula_budget``).
FORMULA_BUDGET = 5.0


class OutOfTime(Exception):
    """The formula budget is spent (caught by the formula step, which falls back to the staged form)."""


class Budget:
    """A deadline ``seconds`` from now (``None``: no limit); :attr:`spent` once it has been hit."""

    def __init__(self, seconds: float | None) -> None:
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                                    or math.isnan(seconds) or seconds < 0):
            raise GradlabError(f"the formula budget must be a number of seconds (0 or more), got {seconds!r}")
        self.seconds = None if seconds is None or math.isinf(seconds) else float(seconds)
        self.deadline = None if self.seconds is None else time.monotonic() + self.seconds
        self.spent = False

    def left(self) -> float:
        """Seconds left (infinite without a limit; never below 0)."""
        return math.inf if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def check(self) -> None:
        """Raise :class:`OutOfTime` if the deadline has passed."""
        if self.spent or (self.deadline is not None and time.monotonic() >= self.deadline):
            self.spent = True
            raise OutOfTime(f"over the formula budget of {self.seconds:g} s")

    @contextlib.contextmanager
    def interrupting(self) -> Iterator[None]:
        """Within the block, a long single step is interrupted at the deadline too (``SIGALRM``), where that is
        safe: in the main thread, on a platform with ``setitimer``, with no handler or timer of someone else's
        (a grading worker's) in place. Elsewhere the block only gets :meth:`check`'s checks between steps."""
        if self.deadline is None or not _can_alarm():
            yield
            return

        def ring(signum: int, frame: Any) -> None:
            self.spent = True
            raise OutOfTime(f"over the formula budget of {self.seconds:g} s")

        previous = signal.signal(signal.SIGALRM, ring)
        try:
            signal.setitimer(signal.ITIMER_REAL, max(self.left(), 1e-3))
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def _can_alarm() -> bool:
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        return False
    if signal.getsignal(signal.SIGALRM) not in (signal.SIG_DFL, signal.SIG_IGN, None):
        return False  # someone else's alarm (a grading worker's soft deadline): leave it alone
    return signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
