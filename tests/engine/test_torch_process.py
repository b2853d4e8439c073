"""``gradlab grad`` runs torch in a child process forked at once (gradlab.engine.torch_process): the report is
the same as with torch in the command's own process, and what goes wrong in the child is said as before.

Each case runs in fresh interpreters (the child is forked only where torch is not loaded yet), once as the
command runs and once with ``GRADLAB_TORCH_PROCESS=0``, and compares what they print.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the child is forked")

# the command in-process, then on stderr whether this process imported torch itself
SCRIPT = """import sys
from gradlab.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
sys.stderr.write(f"\\ntorch here: {'torch' in sys.modules}\\n")
raise SystemExit(code)
"""


def grad(args: list[str], *, child: bool, path: str | None = None) -> tuple[int, str, str, bool]:
    """(exit code, stdout, stderr, whether the command's own process imported torch)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (path, str(ROOT)) if p),
           "GRADLAB_TORCH_PROCESS": "1" if child else "0"}
    p = subprocess.run([sys.executable, "-c", SCRIPT, "grad", *args], capture_output=True, text=True, env=env,
                       cwd=ROOT, timeout=300)
    err, _, here = p.stderr.rpartition("\ntorch here: ")
    return p.returncode, p.stdout, err, here.strip() == "True"


@pytest.mark.parametrize("args", [
    ["z = w0*x0 + w1*x1 + w2; a = sigmoid(z)", "--at", "w0=2,x0=-1,w1=-3,x1=-2,w2=-3"],
    ["f = relu(x)*y + max(x, y)", "--at", "x=0,y=0", "--nodes"],  # on kinks: torch's convention is judged
    ["x: (2,); A: (2, 2); f = sum(tanh(A @ x))", "--at", "x=[1,2],A=[[0.5,0],[0,-0.25]]", "--json"],
    ["graphs/neuron.toml", "--json"],  # a graph file's own point
    ["f = x*y + leaky_relu(x, 0.2)", "--at", "x=-1.5,y=2", "--methods", "torch", "--json"],
])
def test_the_report_is_the_same_with_torch_in_a_child_or_in_process(args: list[str]) -> None:
    code, out, err, here = grad(args, child=True)
    assert not here, f"torch was imported by the command itself: the child did not answer\n{err}"
    assert (code, out, err, True) == grad(args, child=False)
    assert code == 0 and out


@pytest.mark.parametrize("args", [
    ["f = x*", "--at", "x=1"],  # no graph: the child is ended
    ["f = x*y", "--at", "x=1"],  # no point: the same message as without a child
    ["f = log(x)", "--at", "x=-1"],  # outside the domain
])
def test_bad_input_is_said_the_same_way(args: list[str]) -> None:
    child = grad(args, child=True)
    assert child == grad(args, child=False)
    assert child[0] == 2 and child[2].startswith("gradlab grad: error: ") and "Traceback" not in child[2]


def test_without_torch_the_message_is_the_same(tmp_path: Path) -> None:
    fake = tmp_path / "torch"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('No module named torch')\n")
    args = ["f = x*y", "--at", "x=1,y=2"]
    child = grad(args, child=True, path=str(tmp_path))
    assert child == grad(args, child=False, path=str(tmp_path))
    code, out, err, _ = child
    assert code == 2 and out == "" and err == ("gradlab grad: error: PyTorch is not installed: pip install torch "
                                               "(see README for the CPU wheel)\n")


def test_a_child_that_dies_is_replaced_by_torch_in_process_and_none_is_forked_beside_threads_or_torch() -> None:
    script = """
import os, signal, threading
from gradlab import Graph
from gradlab.engine.numeric import point_values
from gradlab.engine.torch_process import TorchProcess, torch_answer
g = Graph.parse("q = x*y; f = sigmoid(q) + q")
point = point_values(g, {"x": 0.5, "y": -2})
stop = threading.Event()
t = threading.Thread(target=stop.wait)
t.start()
assert TorchProcess.start() is None  # a thread runs: no fork
stop.set()
t.join()
dying, ok = TorchProcess.start(), TorchProcess.start()
os.kill(dying.pid, signal.SIGKILL)
dying.send(g, point)
ok.send(g, point)
assert dying.gradients() is None
from_child = ok.gradients().adjoints
import sys; assert "torch" not in sys.modules
in_process = torch_answer(dying, g, point).adjoints  # computed here
assert from_child == in_process and in_process["x"] != 0, (from_child, in_process)
assert TorchProcess.start() is None  # torch is loaded now: no fork
print("ok")
"""
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert p.stdout == "ok\n", p.stderr
