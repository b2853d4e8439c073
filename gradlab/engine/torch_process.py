"""torch autograd in a child process started at once, so that ``gradlab grad`` answers about as fast as a bare
``import torch``: the child imports torch (about a second, most of the command's time) on one core while the
command imports SymPy and runs the symbolic pass and finite differences on another.

Why a process: ``import torch`` holds the GIL (loading its extension modules and running their Python code),
so a thread importing it takes turns with SymPy's import instead of running beside it (measured: slower
than no overlap). Why ``fork``: the child starts from the parent's memory at once, without a second
interpreter's start-up; it is taken first thing, before numpy loads, while the command has one thread.

The child imports torch, then waits for the graph (its :class:`~gradlab.engine.torch_backend.TorchPlan`,
plain data, and the checked point) over a pipe, runs :func:`~gradlab.engine.torch_backend.plan_gradients`,
the same code the check runs in one process, and sends the result back pickled. Anything that goes wrong
there (torch missing, a failing gate, a child killed) makes :meth:`TorchProcess.gradients` answer None, and
the caller computes in its own process, which gives the same result or the same error message as without a
child. The child dies with its parent, even one killed with SIGKILL (:func:`gradlab.children.die_with_parent`).

Set ``GRADLAB_TORCH_PROCESS=0`` to run torch in the command's own process.

>>> from gradlab import Graph
>>> from gradlab.engine.numeric import point_values
>>> p = TorchProcess.start()  # first thing: None where there is no fork, or torch is already loaded
>>> g = Graph.parse("f = (x + y)*z")
>>> point = point_values(g, {"x": -2, "y": 5, "z": -4})
>>> if p is not None:
...     p.send(g, point)  # as soon as the graph and the point are known
>>> torch_answer(p, g, point).adjoints["x"]  # later: the child's answer, or computed here
-4.0
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any, Mapping

from ..children import die_with_parent

if TYPE_CHECKING:
    import numpy as np

    from ..model.graph import Graph
    from .torch_backend import TorchGradients

#: The largest graph and point, pickled, sent to the child: a pipe holds 64 KiB, and a bigger write would wait
#: for the child to finish importing torch. Bigger graphs spend their time elsewhere: torch runs in process.
MAX_SEND = 60_000


#: children ended but maybe not yet reaped (see :meth:`TorchProcess.close`)
_ENDED: list[int] = []


def _reap() -> None:
    for pid in list(_ENDED):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere
            done = pid
        if done:
            _ENDED.remove(pid)


class TorchProcess:
    """A child process that imports torch at once and computes one graph's gradients by autograd when sent it."""

    def __init__(self, pid: int, to_child: int, from_child: int) -> None:
        self.pid, self._to_child, self._from_child = pid, to_child, from_child
        self._done = False

    @classmethod
    def start(cls) -> TorchProcess | None:
        """Fork the child; None where it would not help or is not safe: no ``fork`` (Windows), torch already
        imported, more than one thread running, or ``GRADLAB_TORCH_PROCESS=0``."""
        _reap()
        if (not hasattr(os, "fork") or "torch" in sys.modules or threading.active_count() > 1
                or os.environ.get("GRADLAB_TORCH_PROCESS", "1") == "0"):
            return None
        down_r, down_w = os.pipe()
        up_r, up_w = os.pipe()
        parent = os.getpid()
        for stream in (sys.stdout, sys.stderr):  # nothing buffered is written twice
            stream.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child (measured by the tests through its answers)
            os.close(down_w)
            os.close(up_r)
            _child(parent, down_r, up_w)
        os.close(down_r)
        os.close(up_w)
        return cls(pid, down_w, up_r)

    def send(self, graph: Graph, point: Mapping[str, np.ndarray]) -> None:
        """Send the graph and its checked point (:func:`~gradlab.engine.numeric.point_values`) to the child;
        a graph too big to send at once ends the child (torch then runs in process)."""
        from .plan import plan_of
        from .torch_backend import TorchPlan

        data = pickle.dumps((TorchPlan.of(plan_of(graph)), dict(point)), protocol=pickle.HIGHEST_PROTOCOL)
        if len(data) > MAX_SEND:
            self.close()
            return
        try:
            os.write(self._to_child, data)
        except OSError:  # the child is gone: gradients() says None
            pass
        finally:
            os.close(self._to_child)
            self._to_child = -1

    def gradients(self) -> TorchGradients | None:
        """The child's answer (waits for it), or None if it has none: then compute in this process."""
        if self._done:
            return None
        chunks = []
        try:
            while chunk := os.read(self._from_child, 1 << 20):
                chunks.append(chunk)
        except OSError:
            chunks = []
        self.close()
        try:
            status, found = pickle.loads(b"".join(chunks))
        except Exception:  # killed half-way, or nothing sent
            return None
        return found if status == "ok" else None

    def close(self) -> None:
        """End the child (if still running); called again, nothing. It is reaped without waiting for it (a process
        that loaded torch takes some 15 ms to be torn down): now if it is gone, else by the next start or close."""
        if self._done:
            return
        self._done = True
        for fd in (self._to_child, self._from_child):
            if fd >= 0:
                os.close(fd)
        self._to_child = self._from_child = -1
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        _ENDED.append(self.pid)
        _reap()

    def __enter__(self) -> TorchProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


def torch_answer(process: TorchProcess | None, graph: Graph, point: Mapping[str, np.ndarray]) -> TorchGradients:
    """The graph's torch adjoints at ``point`` (the check compares those; ``values`` is left empty): the child's
    answer where ``process`` has one, else computed in this process (which raises what torch raises, e.g. that it
    is not installed)."""
    from .plan import plan_of
    from .torch_backend import plan_gradients

    found = process.gradients() if process is not None else None
    return found if found is not None else plan_gradients(plan_of(graph), point, with_values=False)


def _child(parent: int, down: int, up: int) -> None:  # pragma: no cover - runs in the child
    """Import torch, read the graph, send its gradients or ("failed", None); never returns."""
    code = 1
    try:
        die_with_parent(parent)
        answer: tuple[str, Any] = ("failed", None)
        try:
            import torch  # noqa: F401  (the slow part, overlapped with the parent's work)

            from .torch_backend import plan_gradients

            chunks = []
            while chunk := os.read(down, 1 << 20):
                chunks.append(chunk)
            if chunks:
                plan, point = pickle.loads(b"".join(chunks))
                answer = ("ok", plan_gradients(plan, point, with_values=False))
        except Exception:  # the parent computes again in its own process, and says what went wrong
            pass
        data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(data)
        while view:
            view = view[os.write(up, view):]
        os.close(up)  # the answer is complete now, not when this process has been torn down
        code = 0
    except BaseException:  # Ctrl-C, a closed pipe: end quietly
        pass
    finally:
        os._exit(code)
