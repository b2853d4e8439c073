"""Issue 16, item 6: answers go to the grading workers in batches, with the same limits per answer and the
same verdicts as one answer per round trip."""

from __future__ import annotations

import time

from gradlab.grading import worker as worker_module
from gradlab.grading.worker import GradingPool, Task
from gradlab.model.answerkey import Answer, Grading

ORIGINAL = worker_module.grade_task


def _stalls(task: Task):
    if task.text == "1/3 + 0":
        time.sleep(30)
    return ORIGINAL(task)


def tasks(n: int) -> list[Task]:
    """n distinct number answers needing the parser, every third one wrong, and one that stalls."""
    out = [Task("number", f"{k}/{k + 1}", Answer(value=k / (k + 1) + (k % 3 == 0)), Grading()) for k in range(1, n)]
    out.insert(n // 2, Task("number", "1/3 + 0", Answer(value=1 / 3), Grading()))
    return out


def test_batches_give_the_same_verdicts_in_fewer_round_trips_and_a_stalled_answer_alone_is_lost(monkeypatch):
    monkeypatch.setattr(worker_module, "grade_task", _stalls)  # workers fork with this in place
    work = tasks(300)
    got = {}
    for size in (1, worker_module.MAX_BATCH):
        monkeypatch.setattr(worker_module, "MAX_BATCH", size)
        with GradingPool(2, timeout=1.0) as pool:
            got[size] = [(v.status, v.feedback) for v in pool.grade(work)]
            assert pool.restarts == 1
            trips = pool.batches
        assert trips < len(work) / 4 if size > 1 else trips == len(work)
    assert got[1] == got[worker_module.MAX_BATCH]
    statuses = [s for s, _ in got[1]]
    assert statuses.count("rejected") == 1 and "more than 1 s" in got[1][150][1]
    assert statuses.count("wrong") == len([k for k in range(1, 300) if k % 3 == 0])
