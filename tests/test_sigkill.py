"""Issue 13, item 8: a gradlab killed with SIGKILL leaves nothing running and, after the next run, nothing
behind: no grading worker, no Chromium, no temporary file in the output folder or the temp folder.

Each test starts ``python -m gradlab ...`` with a mark in its environment (which every process it starts
inherits) and its own temp folder (``TMPDIR``), kills it with SIGKILL in the middle of its work, checks
that no marked process is left, runs the same command again to the end, and checks that neither the output
folder nor the temp folder holds a temporary file. A temporary file a killed run left at the worst moment
(between writing and renaming) is planted too, named for a process that is gone: the next run removes it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest

from gradlab.worksheet.pdf import find_chromium

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; death signals are Linux")


def marked(mark: str) -> list[tuple[int, str]]:
    """The live processes (not zombies) whose environment holds GRADLAB_TEST_MARK=mark: (pid, command)."""
    found = []
    want = f"GRADLAB_TEST_MARK={mark}".encode()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                if want not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{name}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
            with open(f"/proc/{name}/cmdline", "rb") as f:
                found.append((int(name), f.read().replace(b"\0", b" ").decode(errors="replace")[:120]))
        except OSError:
            continue
    return found


def dead_pid() -> int:
    """The pid of a process that has ended."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def plant(folder: Path, target: str) -> Path:
    """A temporary file such as a run killed between writing and renaming ``target`` leaves (old, its process
    gone)."""
    suffix = Path(target).suffix
    p = folder / f".{target}.{dead_pid()}.k3ny7pwv.tmp{suffix}"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"half")
    os.utime(p, (time.time() - 3600, time.time() - 3600))
    return p


def temp_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if ".tmp" in p.name)


class Run:
    def __init__(self, tmp_path: Path, argv: list[str]):
        self.argv = argv
        self.work = tmp_path / "work"
        self.work.mkdir()
        # a short temp folder: Chromium's socket path there must fit in 107 characters (see gradlab.worksheet.pdf)
        self.tmp = Path(tempfile.mkdtemp(prefix="gl-kill-", dir="/tmp" if os.path.isdir("/tmp") else None))
        _MADE.append(self.tmp)
        self.mark = uuid.uuid4().hex
        self.env = {**os.environ, "TMPDIR": str(self.tmp), "GRADLAB_TEST_MARK": self.mark, "OMP_NUM_THREADS": "1",
                    "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}

    def start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "gradlab", *self.argv], cwd=self.work, env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)

    def kill_when(self, ready: Callable[[list[tuple[int, str]]], bool], *, wait: float = 120) -> None:
        """Start the command, SIGKILL it once ``ready(marked processes)``, and check that no marked process is
        left a few seconds later."""
        proc = self.start()
        deadline = time.monotonic() + wait
        try:
            while not ready(marked(self.mark)):
                assert proc.poll() is None, f"it ended before the kill: {proc.stderr.read()[-2000:]!r}"  # type: ignore
                assert time.monotonic() < deadline, "the moment to kill never came"
                time.sleep(0.02)
        finally:
            proc.kill()
            proc.wait(30)
            proc.stderr.close()  # type: ignore[union-attr]
        left = marked(self.mark)
        until = time.monotonic() + 10
        while left and time.monotonic() < until:
            time.sleep(0.1)
            left = marked(self.mark)
        assert not left, f"still running after the kill: {left}"

    def again(self) -> None:
        """Run the same command to the end; nothing may stay running and no temporary file may be left."""
        proc = self.start()
        _, err = proc.communicate(timeout=300)
        assert proc.returncode in (0, 1), err.decode()[-2000:]
        assert not marked(self.mark)
        assert not temp_files(self.work), "temporary files left in the output folder"
        left = [p.name for p in self.tmp.iterdir() if not p.name.startswith("torchinductor_")]  # torch's kept cache
        assert not left, f"temporary files left in the temp folder: {left}"


def _has(word: str, at_least: int = 1) -> Callable[[list[tuple[int, str]]], bool]:
    return lambda procs: sum(word in cmd for _, cmd in procs) >= at_least


#: the temp folders this process's runs made (another xdist worker's runs make their own: not ours to remove)
_MADE: list[Path] = []


@pytest.fixture(autouse=True)
def _no_temp_folders_left() -> Iterator[None]:
    yield
    while _MADE:
        shutil.rmtree(_MADE.pop(), ignore_errors=True)


@pytest.mark.skipif(find_chromium() is None, reason="needs Chromium")
def test_a_killed_worksheet_leaves_no_chromium_and_no_profile(tmp_path: Path) -> None:
    run = Run(tmp_path, ["worksheet", str(ROOT / "graphs" / "neuron.toml"), "-o", "out", "--formats", "html,pdf"])
    run.kill_when(_has("chrom", 2))  # Chromium and a helper of its own
    profiles = [p.name for p in run.tmp.iterdir()]
    assert profiles and all(p.startswith("gradlab-chromium-") for p in profiles)  # what a SIGKILL leaves, for now
    plant(run.work / "out", "students.pdf")
    run.again()
    assert (run.work / "out" / "students.pdf").is_file()


def test_a_killed_render_leaves_no_temporary_picture(tmp_path: Path) -> None:
    run = Run(tmp_path, ["render", str(ROOT / "graphs"), "-o", "out"])
    run.kill_when(lambda procs: (run.work / "out").is_dir() and any((run.work / "out").iterdir()))
    planted = plant(run.work / "out", "neuron.blank.svg")
    run.again()
    assert not planted.exists() and (run.work / "out" / "neuron.blank.svg").is_file()


def _responses(tmp: Path) -> tuple[Path, Path]:
    """A key for the neuron and 400 students' distinct formula answers: a few seconds of grading."""
    from gradlab.worksheet import make_worksheet

    make_worksheet(str(ROOT / "graphs" / "neuron.toml"), tmp / "sheet", formats=["markdown"])
    header = (tmp / "sheet" / "responses-template.csv").read_text().splitlines()[0].split(",")
    rows = [",".join([f"s{i}", "1", *(f"x*{i}+{j}" for j in range(len(header) - 2))]) for i in range(400)]
    (tmp / "r.csv").write_text("\n".join([",".join(header), *rows]) + "\n")
    return tmp / "sheet" / "key.json", tmp / "r.csv"


def test_a_killed_grade_leaves_no_worker(tmp_path: Path) -> None:
    key, responses = _responses(tmp_path)
    run = Run(tmp_path, ["grade", str(responses), "--key", str(key), "-o", "out", "--workers", "2"])
    run.kill_when(_has("gradlab", 3))  # the parent and both workers
    planted = plant(run.work / "out", "report.md")
    run.again()
    assert not planted.exists() and (run.work / "out" / "report.md").is_file()


def test_a_killed_training_leaves_no_temporary_checkpoint(tmp_path: Path) -> None:
    run = Run(tmp_path, ["lenet", "train", "--dataset", "mnist5k", "--epochs", "2", "--runs", "1", "--threads", "1",
                         "--train-limit", "600", "--test-limit", "100", "--batch-size", "16", "--out", "o"])
    run.kill_when(lambda procs: (run.work / "o" / "run-1" / "checkpoint.pt").is_file())
    planted = plant(run.work / "o" / "run-1", "checkpoint.pt")
    run.argv.append("--resume")
    run.again()
    assert not planted.exists() and (run.work / "o" / "metrics.json").is_file()


def test_a_killed_grad_leaves_no_torch_process(tmp_path: Path) -> None:
    """``gradlab grad`` forks a child that imports torch (gradlab.engine.torch_process); killed while the child
    works, the command leaves it not running; run again, it leaves no process either."""
    run = Run(tmp_path, ["grad", "z = w0*x0 + w1*x1 + w2; a = sigmoid(z)", "--at", "w0=2,x0=-1,w1=-3,x1=-2,w2=-3"])
    run.kill_when(_has("gradlab grad", 2))  # the command and its torch child
    run.again()
    run.argv[1] = "f = x*"  # a bad program: the child is ended at once
    proc = run.start()
    assert proc.wait(120) == 2 and not marked(run.mark)
    proc.stderr.close()  # type: ignore[union-attr]


def test_a_temporary_file_of_a_live_process_or_of_another_name_is_kept(tmp_path: Path) -> None:
    from gradlab.fileio import sweep_stale, write_atomic

    live = tmp_path / f".a.svg.{os.getppid()}.abcdefgh.tmp.svg"  # our parent is alive
    other = tmp_path / f".notes.{dead_pid()}.abcdefgh.txt"  # not a name gradlab gives
    fresh = tmp_path / f".b.svg.{dead_pid()}.abcdefgh.tmp.svg"  # made after this run started
    for p in (live, other, fresh):
        p.write_text("x")
    for p in (live, other):
        os.utime(p, (0, 0))
    stale = plant(tmp_path, "c.png")
    write_atomic(tmp_path / "c.png", b"png")
    assert not stale.exists() and live.exists() and other.exists() and fresh.exists()
    assert sweep_stale(tmp_path) == []  # once per folder and run


def test_a_grading_worker_dies_with_its_parent(tmp_path: Path) -> None:
    """The pool's parent is killed while its workers wait for work: they end too."""
    script = ("from gradlab.grading.worker import GradingPool, Task\n"
              "from gradlab.model.answerkey import Answer, Grading\n"
              "import time\n"
              "pool = GradingPool(2)\n"
              "pool.grade([Task('number', '1/2', Answer(value=0.5), Grading())] * 2)\n"
              "print('idle', flush=True)\n"
              "time.sleep(600)\n")
    mark = uuid.uuid4().hex
    env = {**os.environ, "GRADLAB_TEST_MARK": mark, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "idle\n"
        assert len(marked(mark)) == 3
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        proc.stdout.close()  # type: ignore[union-attr]
    until = time.monotonic() + 10
    while marked(mark) and time.monotonic() < until:
        time.sleep(0.05)
    assert not marked(mark)
