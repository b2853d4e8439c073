"""Sweeps on Ray: every point and seed of a sweep as one Ray task, on a local Ray or on a cluster.

:func:`run_sweep <gradlab.lenet.sweep.run_sweep>` with ``engine="ray"`` hands its runs to
:func:`ray_runs`, which yields each run's result as its task finishes. The tasks call the same
function as the local pool (``sweep._task``): every run writes its checkpoint after each epoch and
its result at the end into the sweep's output folder, so the resume rules, the outputs and the
report are those of the local engine.

* Without ``address`` a small local Ray is started for the sweep and stopped after it: ``num_cpus``
  CPUs (default 2), an object store of 128 MB (the tasks pass only settings and small results), no
  dashboard, its session files in a temporary folder that is removed afterwards.
* With ``address`` (``"auto"``, ``"HOST:6379"`` or ``"ray://HOST:10001"``) the tasks go to that
  cluster. Its nodes need gradlab installed, and the output folder must be on a file system every
  node shares: each task first checks that it sees the folder the driver made (a token file), and
  says so in one line if not.

>>> with ray_session(None) as ray:                     # doctest: +SKIP
...     ray.cluster_resources()["CPU"]
2.0
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import GradlabError
from ..extras import require

__all__ = ["RayEngineError", "ray_session", "ray_runs", "TOKEN_FILE"]

#: the file in the sweep's output folder by which a task checks that it sees the driver's folder
TOKEN_FILE = ".gradlab-ray-token"
#: the local Ray's object store: the tasks pass settings and results of a few kB each
OBJECT_STORE_BYTES = 128 * 1024 * 1024


class RayEngineError(GradlabError):
    """A sweep that cannot run on Ray: no cluster at the address, a folder the workers do not see."""


@contextmanager
def ray_session(address: str | None, *, num_cpus: int = 2) -> Iterator[Any]:
    """The ``ray`` module, initialised: connected to ``address``, or a small local Ray started (and stopped
    afterwards). A Ray that this process initialised already is used as it is, and left running.

    >>> with ray_session(None, num_cpus=1) as ray:      # doctest: +SKIP
    ...     ray.is_initialized()
    True
    """
    require("ray", purpose="gradlab lenet sweep --engine ray")
    import ray

    if ray.is_initialized():
        yield ray
        return
    temp = None
    try:
        if address:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        else:
            temp = tempfile.mkdtemp(prefix="gradlab-ray-")
            ray.init(num_cpus=max(1, num_cpus), object_store_memory=OBJECT_STORE_BYTES, include_dashboard=False,
                     _temp_dir=temp, log_to_driver=False, configure_logging=False)
    except Exception as e:  # ray raises ConnectionError, RuntimeError, ValueError, TimeoutError ...
        if temp:
            shutil.rmtree(temp, ignore_errors=True)
        where = f"the Ray cluster at {address!r}" if address else "a local Ray"
        raise RayEngineError(f"--engine ray: cannot start or reach {where}: {type(e).__name__}: "
                             f"{_first_line(e)}") from None
    try:
        yield ray
    finally:
        ray.shutdown()
        if temp:
            shutil.rmtree(temp, ignore_errors=True)


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else "no details"


def _checked_task(task: Callable[..., dict[str, Any]], token_file: str, token: str, cfg: dict[str, Any],
                  run_dir: str, run: int, seed: int, threads: int | None) -> dict[str, Any]:
    """One run on a Ray worker: the check that the worker sees the driver's output folder, then ``task``."""
    p = Path(token_file)
    try:
        seen = p.read_text().strip()
    except OSError:
        seen = None
    if seen != token:
        raise RayEngineError(f"a Ray worker does not see the sweep's output folder {p.parent} (or another sweep "
                             "writes there): on a cluster, --out must be a folder every node shares")
    return task(cfg, run_dir, run, seed, threads)


def ray_runs(task: Callable[..., dict[str, Any]], tasks: list[tuple[str, dict[str, Any], str, int, int]], out: Path,
             *, address: str | None = None, threads: int | None = None,
             num_cpus: int = 2) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """Run ``task(config dict, run folder, run, seed, threads)`` for each of ``tasks`` (``(label, config dict,
    run folder, run, seed)``, as :func:`run_sweep` makes them) as Ray tasks; yield ``(label, run, result
    dict)`` in the order they finish. Each asks Ray for ``threads`` CPUs (default 1) and uses that many torch
    threads. ``task`` must be a module-level function, which Ray's workers import by name."""
    per = max(1, threads or 1)
    with ray_session(address, num_cpus=num_cpus) as ray:
        token_file = Path(out) / TOKEN_FILE
        token = secrets.token_hex(8)
        token_file.write_text(token)
        remote = ray.remote(num_cpus=per, max_retries=0)(_checked_task)
        pending = {remote.remote(task, str(token_file), token, cfg, run_dir, run, seed, per): (label, run)
                   for label, cfg, run_dir, run, seed in tasks}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    label, run = pending.pop(ref)
                    try:
                        result = ray.get(ref)
                    except ray.exceptions.RayTaskError as e:
                        cause = getattr(e, "cause", None)
                        if isinstance(cause, GradlabError):
                            raise cause from None
                        why = cause if cause is not None else e
                        raise RayEngineError(f"{label}, run {run}: the Ray task failed: {type(why).__name__}: "
                                             f"{_first_line(why)}") from None
                    yield label, run, result
        finally:
            for ref in pending:  # an error or an interruption: the other runs stop too (their checkpoints stay)
                ray.cancel(ref, force=True)
            token_file.unlink(missing_ok=True)
