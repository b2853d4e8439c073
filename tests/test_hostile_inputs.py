"""The hostile-input corpus (issue 13): every broken or hostile input is refused in one line that names
the place, with exit code 2, no traceback, nothing left behind, in bounded time and memory.

Adding a case is one line in ``CASES``::

    Case("check: a FIFO", ["check", "f.toml"], {"f.toml": FIFO}, ("f.toml", "FIFO"), bounded=True),

- ``argv``: the command line (each case runs in its own empty folder, the current directory);
- ``files``: what to put in that folder: text or bytes, :data:`FIFO`, :data:`FOLDER`, ``Sparse(size)``, ``Link(target)`` (a
  symlink), or a function of the shared fixtures (:class:`Fixtures`: a key.json, a saved model, a checkpoint)
  that returns bytes;
- ``match``: texts the one-line message must contain (the first usually names the place: file, option, layer);
- ``bounded=True``: run ``python -m gradlab`` in a fresh subprocess, for the cases about time and memory
  (devices, huge sizes, slow patterns) and a few FIFOs, where a fresh interpreter is what a user meets. Other
  cases run :func:`gradlab.cli.main` in a child forked from this process, which is much faster. Both run under
  the same limits: 10 s of CPU, 1 GiB of address space (beyond what the test process holds, for a forked child),
  a wall-clock timeout that fails a case that blocks, e.g. on a FIFO.

After each case the folder holds exactly the files the case made (no output, no temporary file), and the
case's private temp folder (``TMPDIR``) is empty.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gradlab.cli import main

ROOT = Path(__file__).resolve().parent.parent
CPU_SECONDS = 10
ADDRESS_SPACE = 1 << 30  # the normal CLI, torch included, runs in 1 GiB (measured: lenet summary, check, verify)
WALL_SECONDS = 60


class _Token:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


FIFO = _Token("FIFO")
FOLDER = _Token("FOLDER")


@dataclass(frozen=True)
class Link:
    target: str


@dataclass(frozen=True)
class Sparse:
    """A file of ``size`` zero bytes that takes no room on disk (its size is all that matters)."""

    size: int


@dataclass
class Case:
    id: str
    argv: list[str]
    files: dict[str, Any] = field(default_factory=dict)
    match: tuple[str, ...] = ()
    bounded: bool = False
    # the first of ``files`` made unreadable (a folder: read-only); under root, the case runs without root's
    # access to every file (Linux capabilities)
    needs_non_root: bool = False


GOOD = 'program = "f = x*y"\n[at]\nx = 1.5\ny = -2\n'
LONG_PROGRAM = "f = " + " + ".join(f"x{i}*w{i}" for i in range(40))  # a valid program of 400 characters
DEEP_AT = "x=" + "[" * 40_000 + "1" + "]" * 40_000
NESTED_GRAPH = 'program = "f = x"\n[at]\nx = ' + "[" * 3000 + "1" + "]" * 3000 + "\n"
NESTED_JSON = "[" * 100_000 + "]" * 100_000
QUADRATIC = ('program = "f = x*y"\ndescription = """\n[a' + " " * 100_000 + 'b\n"""\n[at]\nx = 1\ny = 2\nq = 3\n')
HUGE_SPEC = "flatten | dense 1000000 | dense 1000000 | dense 10"
SPEC_FOR = "title = 'sheet'\n[[part]]\ngraph = '{}'\n"


class Fixtures:
    """Valid files to start hostile ones from, made once per test session."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._cache: dict[str, bytes] = {}

    def key_json(self) -> bytes:
        if "key" not in self._cache:
            from gradlab.worksheet import make_worksheet

            out = self.folder / "sheet"
            make_worksheet(str(ROOT / "graphs" / "neuron.toml"), out, formats=["markdown"])
            self._cache["key"] = (out / "key.json").read_bytes()
        return self._cache["key"]

    def _saved(self) -> None:
        if "weights" not in self._cache:
            from gradlab.lenet import build_model, save_model

            w = save_model(build_model("lenet", seed=0), self.folder / "model")
            self._cache["weights"] = w.read_bytes()
            self._cache["model_json"] = w.with_suffix(".json").read_bytes()

    def weights(self) -> bytes:
        self._saved()
        return self._cache["weights"]

    def model_json(self, **change: Any) -> bytes:
        """model.json of the saved LeNet, with keys of its architecture changed."""
        self._saved()
        meta = json.loads(self._cache["model_json"])
        meta["architecture"].update(change)
        return json.dumps(meta).encode()

    def checkpoint(self, weights_of: str = "lenet", **change: Any) -> bytes:
        """A training checkpoint of LeNet whose weights are those of ``weights_of`` (wrong shapes if not lenet)."""
        import io

        import torch

        from gradlab.lenet import build_model
        from gradlab.lenet.models import architecture
        from gradlab.lenet.train import CHECKPOINT_FORMAT, TrainConfig

        state = {"format": CHECKPOINT_FORMAT, "version": 1, "epoch": 1, "step": 1, "seed": 0, "elapsed": 0.0,
                 "model": build_model(weights_of).state_dict(), "optimizer": {}, "history": "[]", "checks": "[]",
                 "config": json.dumps(TrainConfig(dataset="mnist5k").to_dict()),
                 "architecture": json.dumps(architecture("lenet").to_dict()), **change}
        buf = io.BytesIO()
        torch.save(state, buf)
        return buf.getvalue()


F = Fixtures  # for the lambdas below

CASES: list[Case] = [
    # ---- graph files: only regular files, size first, linear time (items 3, 4, 10)
    Case("check: a FIFO", ["check", "f.toml"], {"f.toml": FIFO}, ("f.toml", "FIFO"), bounded=True),
    Case("check: a folder holding a FIFO", ["check", "g"], {"g": FOLDER, "g/f.toml": FIFO}, ("g/f.toml", "FIFO"),
         bounded=True),
    Case("check: a folder holding a link to /dev/zero", ["check", "g"], {"g": FOLDER, "g/zero.toml": Link("/dev/zero")},
         ("g/zero.toml", "device"), bounded=True),
    Case("check: a link to /dev/zero", ["check", "z.toml"], {"z.toml": Link("/dev/zero")}, ("z.toml", "device"),
         bounded=True),
    Case("check: a link to a FIFO", ["check", "l.toml"], {"p": FIFO, "l.toml": Link("p")}, ("l.toml", "FIFO")),
    Case("check: too large", ["check", "big.toml"], {"big.toml": "#" * 1_500_000}, ("big.toml", "too large"),
         bounded=True),
    Case("check: not UTF-8", ["check", "b.toml"], {"b.toml": b"program = '\xff'"}, ("b.toml", "not UTF-8")),
    Case("check: a long program is not a file", ["check", LONG_PROGRAM], {}, ("no such file or folder", "...")),
    Case("check: arrays nested 3,000 deep", ["check", "n.toml"], {"n.toml": NESTED_GRAPH}, ("n.toml", "nested")),
    Case("check: [a + 100,000 spaces + b", ["check", "q.toml"], {"q.toml": QUADRATIC}, ("q.toml, line 8", "'q'"),
         bounded=True),
    Case("check: a dangling symlink", ["check", "d.toml"], {"d.toml": Link("nowhere")}, ("no such file", "d.toml")),
    Case("check: unreadable", ["check", "u.toml"], {"u.toml": GOOD}, ("u.toml", "permission denied"),
         needs_non_root=True),
    Case("render: an output folder without write access", ["render", "f = x*y", "-o", "ro/f.svg"], {"ro": FOLDER},
         ("ro", "permission"), needs_non_root=True),
    Case("worksheet: an output folder without write access", ["worksheet", "graphs/neuron.toml", "-o", "ro"],
         {"ro": FOLDER, "graphs/neuron.toml": (ROOT / "graphs" / "neuron.toml").read_text()}, ("ro", "permission"),
         needs_non_root=True),
    Case("grad: a FIFO", ["grad", "f.toml"], {"f.toml": FIFO}, ("f.toml", "FIFO")),
    Case("grad: a 2000 x 2000 matrix (item 5)", ["grad", "x: (2000, 2000)\nf = sum(x*x)"], {},
         ("node x", "4,000,000 entries", "at most"), bounded=True),
    Case("grad: a link to /dev/zero", ["grad", "z.toml"], {"z.toml": Link("/dev/zero")}, ("z.toml", "device"),
         bounded=True),
    Case("grad: too large", ["grad", "big.toml"], {"big.toml": "#" * 1_500_000}, ("big.toml", "too large")),
    Case("grad: arrays nested 3,000 deep", ["grad", "n.toml"], {"n.toml": NESTED_GRAPH}, ("n.toml", "nested")),
    Case("grad: --at nested 40,000 deep", ["grad", "f = sum(x)", "--at", DEEP_AT], {}, ("--at x", "array")),
    Case("grad: --at not an array", ["grad", "f = x", "--at", "x=[1,"], {}, ("--at x", "array")),
    Case("grad: a folder that is a program", ["grad", "g.toml"], {"g.toml": FOLDER}, ("g.toml", "folder")),
    # ---- verify (item 10)
    Case("verify: --seed -1", ["verify", "f = x*y", "df/dx = y", "--seed", "-1"], {}, ("--seed",)),
    Case("verify: --trials 100,000,000", ["verify", "f = x*y", "df/dx = y", "--trials", "100000000"], {},
         ("--trials", "10,000"), bounded=True),
    Case("verify: --trials 0", ["verify", "f = x*y", "df/dx = y", "--trials", "0"], {}, ("--trials",)),
    Case("verify: a FIFO", ["verify", "f.toml", "df/dx = y"], {"f.toml": FIFO}, ("f.toml", "FIFO")),
    Case("verify: --at nested 40,000 deep", ["verify", "f = x*y", "df/dx = y", "--at", DEEP_AT], {}, ("--at x",)),
    # ---- render (item 10)
    Case("render: --timeout nan", ["render", "f = x*y", "--timeout", "nan"], {}, ("--timeout",)),
    Case("render: --timeout -1", ["render", "f = x*y", "--timeout", "-1"], {}, ("--timeout",)),
    Case("render: --dpi 1e9", ["render", "f = x*y", "--dpi", "1e9", "-o", "f.png"], {}, ("--dpi",)),
    Case("render: --steps names a file", ["render", "g.toml", "--steps", "s"], {"g.toml": GOOD, "s": "x"},
         ("--steps s", "is a file")),
    Case("render: a folder into a file", ["render", "g", "-o", "o"], {"g": FOLDER, "g/a.toml": GOOD, "o": "x"},
         ("-o o", "is a file")),
    Case("render: a FIFO", ["render", "f.toml"], {"f.toml": FIFO}, ("f.toml", "FIFO")),
    Case("render: --at nested 40,000 deep", ["render", "f = sum(x)", "--at", DEEP_AT], {}, ("--at x",)),
    # ---- worksheet specs and the graph they point to (items 3, 10)
    Case("worksheet: a FIFO spec", ["worksheet", "s.toml", "-o", "out"], {"s.toml": FIFO}, ("s.toml", "FIFO")),
    Case("worksheet: a spec pointing at /dev/zero", ["worksheet", "s.toml", "-o", "out"],
         {"s.toml": SPEC_FOR.format("/dev/zero")}, ("/dev/zero", "device"), bounded=True),
    Case("worksheet: a spec pointing at a FIFO", ["worksheet", "s.toml", "-o", "out"],
         {"s.toml": SPEC_FOR.format("p.toml"), "p.toml": FIFO}, ("p.toml", "FIFO")),
    Case("worksheet: a spec pointing at a folder", ["worksheet", "s.toml", "-o", "out"],
         {"s.toml": SPEC_FOR.format("g"), "g": FOLDER}, ("g", "folder")),
    Case("worksheet: -o names a file", ["worksheet", "g.toml", "-o", "out"], {"g.toml": GOOD, "out": "x"},
         ("-o out", "is a file")),
    Case("worksheet: -o below a file", ["worksheet", "g.toml", "-o", "x/out"], {"g.toml": GOOD, "x": "x"},
         ("-o x/out", "x is a file")),
    Case("worksheet: a long program is not a file", ["worksheet", LONG_PROGRAM, "-o", "out"], {},
         ("no such spec or graph file",)),
    Case("worksheet: a spec too large", ["worksheet", "s.toml", "-o", "out"], {"s.toml": "#" * 1_500_000},
         ("s.toml", "too large")),
    Case("worksheet: a spec nested 3,000 deep", ["worksheet", "s.toml", "-o", "out"],
         {"s.toml": "a = " + "[" * 3000 + "]" * 3000}, ("s.toml", "nested")),
    # ---- grade: key.json and the responses (items 3, 10)
    Case("grade: a FIFO key", ["grade", "r.csv", "--key", "key.json", "-o", "out"],
         {"r.csv": "id,variant\n", "key.json": FIFO}, ("key.json", "FIFO")),
    Case("grade: a key linked to /dev/zero", ["grade", "r.csv", "--key", "key.json", "-o", "out"],
         {"r.csv": "id,variant\n", "key.json": Link("/dev/zero")}, ("key.json", "device"), bounded=True),
    Case("grade: a FIFO responses file", ["grade", "r.csv", "--key", "key.json", "-o", "out"],
         {"r.csv": FIFO, "key.json": F.key_json}, ("r.csv", "FIFO")),
    Case("grade: responses linked to /dev/zero", ["grade", "r.csv", "--key", "key.json", "-o", "out"],
         {"r.csv": Link("/dev/zero"), "key.json": F.key_json}, ("r.csv", "device"), bounded=True),
    Case("grade: a key nested 100,000 deep", ["grade", "r.csv", "--key", "key.json", "-o", "out"],
         {"r.csv": "id,variant\n", "key.json": NESTED_JSON}, ("key.json", "nested")),
    Case("grade: a key that is a folder", ["grade", "r.csv", "--key", "k", "-o", "out"],
         {"r.csv": "id,variant\n", "k": FOLDER}, ("k is a folder",)),
    Case("grade: -o names a file", ["grade", "r.csv", "--key", "key.json", "-o", "out"],
         {"r.csv": "id,variant\n", "key.json": F.key_json, "out": "x"}, ("-o out", "is a file")),
    # ---- the LeNet lab: sizes, model.json, checkpoints (items 3, 10, 11)
    Case("lenet summary: dense 1,000,000 twice", ["lenet", "summary", HUGE_SPEC], {},
         ("layer 2", "dense 1000000", "parameters"), bounded=True),
    Case("lenet summary: 100,000 filters", ["lenet", "summary", "conv 100000@1x1 | flatten | dense 10"], {},
         ("layer 1", "numbers per image"), bounded=True),
    Case("lenet summary: 10,000,000 units", ["lenet", "summary", "flatten | dense 10000000 | dense 10"], {},
         ("layer 2", "too many")),
    Case("lenet summary: model.json with dense 1,000,000", ["lenet", "summary", "m.json"],
         {"m.safetensors": F.weights,
          "m.json": lambda fx: fx.model_json(layers=["flatten", "dense 1000000", "dense 10"])},
         ("layer 2", "parameters"), bounded=True),
    Case("lenet summary: model.json nested 100,000 deep", ["lenet", "summary", "m.json"],
         {"m.safetensors": F.weights, "m.json": NESTED_JSON}, ("m.json", "nested")),
    Case("lenet summary: num_classes 'x'", ["lenet", "summary", "m.json"],
         {"m.safetensors": F.weights, "m.json": lambda fx: fx.model_json(num_classes="x")},
         ("m.json", "num_classes")),
    Case("lenet summary: an input of 100,000 x 100,000", ["lenet", "summary", "m.json"],
         {"m.safetensors": F.weights, "m.json": lambda fx: fx.model_json(input_shape=[1, 100000, 100000])},
         ("m.json", "too large"), bounded=True),
    Case("lenet summary: a FIFO layer spec", ["lenet", "summary", "net.toml"], {"net.toml": FIFO},
         ("net.toml", "FIFO")),
    Case("lenet load: FIFO weights", ["lenet", "load", "m.json"], {"m.safetensors": FIFO, "m.json": F.model_json},
         ("m.safetensors", "FIFO")),
    Case("lenet load: a FIFO model.json", ["lenet", "load", "m.safetensors"],
         {"m.safetensors": F.weights, "m.json": FIFO}, ("m.json", "FIFO")),
    Case("lenet load: a checkpoint linked to /dev/zero", ["lenet", "load", "c.pt"], {"c.pt": Link("/dev/zero")},
         ("c.pt", "device"), bounded=True),
    Case("lenet load: a checkpoint with wrong weight shapes", ["lenet", "load", "c.pt"],
         {"c.pt": lambda fx: fx.checkpoint("lenet-wide")}, ("c.pt", "tensor 0.weight", "shape")),
    Case("lenet save: a checkpoint with wrong weight shapes", ["lenet", "save", "c.pt", "out/m"],
         {"c.pt": lambda fx: fx.checkpoint("lenet-wide")}, ("c.pt", "shape")),
    Case("lenet save: a checkpoint without an architecture", ["lenet", "save", "c.pt", "out/m"],
         {"c.pt": lambda fx: fx.checkpoint(architecture="{")}, ("c.pt", "damaged")),
    Case("lenet save: a FIFO checkpoint", ["lenet", "save", "c.pt", "out/m"], {"c.pt": FIFO}, ("c.pt", "FIFO")),
    Case("lenet save: into a file", ["lenet", "save", "c.pt", "x/m"], {"c.pt": lambda fx: fx.checkpoint(), "x": "x"},
         ("x", "is a file")),
    Case("lenet featuremaps: wrong weight shapes", ["lenet", "featuremaps", "c.pt"],
         {"c.pt": lambda fx: fx.checkpoint("lenet-narrow")}, ("c.pt", "shape")),
    Case("lenet train: --out names a file", ["lenet", "train", "--dataset", "mnist5k", "--out", "o"], {"o": "x"},
         ("--out o", "is a file")),
    Case("lenet sweep: a FIFO spec", ["lenet", "sweep", "s.toml"], {"s.toml": FIFO}, ("s.toml", "FIFO")),
    Case("shapes conv: a FIFO spec", ["shapes", "conv", "net.toml"], {"net.toml": FIFO}, ("net.toml", "FIFO")),
    Case("shapes conv: a spec linked to /dev/zero", ["shapes", "conv", "z.toml"], {"z.toml": Link("/dev/zero")},
         ("z.toml", "device"), bounded=True),
]


def _key(**grading):
    def make(fx):
        d = json.loads(fx.key_json())
        d["grading"].update(grading)
        return json.dumps(d).encode()
    return make


def _key_value(value):
    def make(fx):
        d = json.loads(fx.key_json())
        d["variants"]["1"]["answers"]["1.1"]["value"] = value
        return json.dumps(d).encode()
    return make


def _key_edit(path, value):
    def make(fx):
        d = json.loads(fx.key_json())
        node = d
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
        return json.dumps(d).encode()
    return make


R = "id,variant,1.1\na,1,2\n"
GRADE = ["grade", "r.csv", "--key", "key.json", "-o", "out"]
RANGE_SPEC = "title = 't'\n[numbers]\n{}\n[[part]]\ngraph = 'g.toml'\n"
PART_SPEC = "title = 't'\n[[part]]\ngraph = 'g.toml'\n{}\n"
WS = ["worksheet", "s.toml", "-o", "out"]

CASES += [
    # ---- program text (items 5, 10, 13)
    Case("grad: assigned twice on one line", ["grad", "z = w*x; z = z + 1"], {}, ("z", "twice")),
    Case("grad: a folder", ["grad", "g"], {"g": FOLDER, "g/a.toml": GOOD}, ("g", "folder")),
    Case("grad: a syntax error", ["grad", "f = x +* y"], {}, ("col",)),
    Case("grad: an unknown function", ["grad", "f = frobnicate(x)"], {}, ("frobnicate",)),
    Case("grad: a NUL byte", ["grad", "f = x\x00y"], {}, ()),
    Case("grad: a graph file of 1.1 million characters", ["grad", "p.toml"],
         {"p.toml": 'program = "f = ' + "+".join(["x"] * 550_000) + '"\n'}, ("p.toml", "too large"), bounded=True),
    Case("grad: parentheses 50,000 deep", ["grad", "f = " + "(" * 50_000 + "x" + ")" * 50_000], {}, (),
         bounded=True),
    Case("grad: --at of an unknown input", ["grad", "f = x*y", "--at", "x=1,y=2,q=1"], {}, ("q",)),
    Case("grad: --at not a number", ["grad", "f = x*y", "--at", "x=abc"], {}, ("--at x",)),
    Case("grad: --at 1e999", ["grad", "f = x*y", "--at", "x=1e999,y=1"], {}, ("x",)),
    Case("grad: --methods unknown", ["grad", "f = x*y", "--methods", "magic"], {}, ("magic",)),
    Case("check: a long program", ["check", LONG_PROGRAM + " +* 1"], {}, ()),
    Case("render: a long program with a syntax error", ["render", LONG_PROGRAM + " +* 1"], {}, ("col",)),
    Case("render: an unknown picture format", ["render", "f = x*y", "-o", "f.bmp"], {}, ("f.bmp",)),
    Case("render: --blanks nonsense", ["render", "f = x*y", "--blanks", "q9"], {}, ("q9",)),
    # ---- graph files (items 10, 13)
    Case("check: [at] a name with a newline", ["check", "n.toml"], {"n.toml": 'program = "f = x"\n[at]\n"x\\n" = 1\n'},
         ("n.toml",)),
    Case("check: program not a string", ["check", "p.toml"], {"p.toml": "program = 3\n"}, ("p.toml", "program")),
    Case("check: not TOML", ["check", "t.toml"], {"t.toml": "program = \n"}, ("t.toml", "line 1")),
    Case("check: [at] a string value", ["check", "a.toml"], {"a.toml": 'program = "f = x"\n[at]\nx = "one"\n'},
         ("a.toml", "x")),
    Case("check: [at] 1e999", ["check", "a.toml"], {"a.toml": 'program = "f = x"\n[at]\nx = inf\n'}, ("a.toml", "x")),
    Case("check: an unknown key", ["check", "k.toml"], {"k.toml": GOOD + "colour = 1\n"}, ("k.toml", "colour")),
    Case("check: an empty file", ["check", "e.toml"], {"e.toml": ""}, ("e.toml",)),
    Case("check: a program that does not parse", ["check", "s.toml"], {"s.toml": 'program = "f = x +* y"\n'},
         ("s.toml",)),
    # ---- worksheet specs (items 6, 13)
    Case("worksheet: step 1e-9", WS, {"s.toml": RANGE_SPEC.format("step = 1e-9\nmin = -3\nmax = 3"), "g.toml": GOOD},
         ("s.toml", "step"), bounded=True),
    Case("worksheet: min/max 1e15 with step 1", WS,
         {"s.toml": RANGE_SPEC.format("step = 1\nmin = -1e15\nmax = 1e15"), "g.toml": GOOD}, ("s.toml",), bounded=True),
    Case("worksheet: min/max 1e308", WS, {"s.toml": RANGE_SPEC.format("min = -1e308\nmax = 1e308"), "g.toml": GOOD},
         ("s.toml",)),
    Case("worksheet: min above max", WS, {"s.toml": RANGE_SPEC.format("min = 3\nmax = -3"), "g.toml": GOOD},
         ("s.toml",)),
    Case("worksheet: a step of nan", WS, {"s.toml": RANGE_SPEC.format("step = nan"), "g.toml": GOOD}, ("s.toml",)),
    Case("worksheet: an alias to nothing", WS, {"s.toml": PART_SPEC.format("aliases = { s = 'nosuchname' }"),
                                                "g.toml": GOOD}, ("s.toml", "nosuchname")),
    Case("worksheet: an alias that is not a formula", WS, {"s.toml": PART_SPEC.format("aliases = { s = 'x +* y' }"),
                                                           "g.toml": GOOD}, ("s.toml",)),
    Case("worksheet: 10,000,000 variants", ["worksheet", "g.toml", "-o", "out", "--variants", "10000000"],
         {"g.toml": GOOD}, ("--variants",)),
    Case("worksheet: --variants 0", ["worksheet", "g.toml", "-o", "out", "--variants", "0"], {"g.toml": GOOD},
         ("--variants",)),
    Case("worksheet: an unknown format", ["worksheet", "g.toml", "-o", "out", "--formats", "docx"], {"g.toml": GOOD},
         ("docx",)),
    Case("worksheet: a part without a graph", WS, {"s.toml": "title = 't'\n[[part]]\n"}, ("s.toml", "graph")),
    Case("worksheet: an unknown question type", WS, {"s.toml": PART_SPEC.format("questions = ['poetry']"),
                                                     "g.toml": GOOD}, ("s.toml", "questions")),
    Case("worksheet: a per-input range of nan", WS, {"s.toml": PART_SPEC.format("[part.values]\nx = nan"),
                                                     "g.toml": GOOD}, ("s.toml", "x")),
    Case("worksheet: not UTF-8", WS, {"s.toml": b"title = '\xff'\n"}, ("s.toml", "not UTF-8", "line 1")),
    Case("worksheet: a spec saved as UTF-16", WS, {"s.toml": 'title = "t"\n[[part]]\n'.encode("utf-16")},
         ("s.toml", "UTF-16")),
    # ---- key.json (item 9)
    Case("grade: timeout 'abc'", GRADE, {"r.csv": R, "key.json": _key(timeout="abc")}, ("key.json", "grading/timeout")),
    Case("grade: timeout 1e9", GRADE, {"r.csv": R, "key.json": _key(timeout=1e9)}, ("key.json", "grading/timeout")),
    Case("grade: timeout NaN", GRADE, {"r.csv": R, "key.json": lambda fx: _key()(fx).replace(b'"timeout": 5.0',
                                                                                          b'"timeout": NaN')},
         ("key.json", "timeout")),
    Case("grade: timeout -1", GRADE, {"r.csv": R, "key.json": _key(timeout=-1)}, ("key.json", "grading/timeout")),
    Case("grade: memory_mb as a string", GRADE, {"r.csv": R, "key.json": _key(memory_mb="768")},
         ("key.json", "grading/memory_mb")),
    Case("grade: rtol as a string", GRADE, {"r.csv": R, "key.json": _key(rtol="0.01")}, ("key.json", "grading/rtol")),
    Case("grade: a value as a string", GRADE, {"r.csv": R, "key.json": _key_value("2")}, ("key.json", "value")),
    Case("grade: seed as a string", GRADE, {"r.csv": R, "key.json": _key_edit(["seed"], "0")}, ("key.json", "seed")),
    Case("grade: not a key", GRADE, {"r.csv": R, "key.json": "[]"}, ("key.json",)),
    Case("grade: a key of another version", GRADE, {"r.csv": R, "key.json": _key_edit(["gradlab_key"], 99)},
         ("key.json",)),
    Case("grade: variants not a table", GRADE, {"r.csv": R, "key.json": _key_edit(["variants"], [1, 2])},
         ("key.json", "variants")),
    Case("grade: student_seconds 0", GRADE, {"r.csv": R, "key.json": _key(student_seconds=0)},
         ("key.json", "student_seconds")),
    Case("grade: a key not UTF-8", GRADE, {"r.csv": R, "key.json": b'{"\xff": 1}'}, ("key.json", "UTF-8")),
    # ---- responses CSV (item 7)
    Case("grade: responses not UTF-8", GRADE, {"r.csv": b"id,variant,1.1\n\xff,1,2\n", "key.json": F.key_json},
         ("r.csv", "UTF-8")),
    Case("grade: responses too large", GRADE, {"r.csv": Sparse(300 * 1024 * 1024), "key.json": F.key_json},
         ("r.csv", "too large"), bounded=True),
    Case("grade: an unknown answer column", GRADE, {"r.csv": "id,variant,9.9\na,1,2\n", "key.json": F.key_json},
         ("r.csv", "no column")),
    Case("grade: --workers 0", GRADE + ["--workers", "0"], {"r.csv": R, "key.json": F.key_json}, ("--workers",)),
    Case("grade: --timeout nan", GRADE + ["--timeout", "nan"], {"r.csv": R, "key.json": F.key_json}, ("--timeout",)),
    Case("grade: --student-seconds -1", GRADE + ["--student-seconds", "-1"], {"r.csv": R, "key.json": F.key_json},
         ("--student-seconds",)),
    # ---- verify claims
    Case("verify: a claim that does not parse", ["verify", "f = x*y", "df/dx = +*"], {},
         ("the claim 'df/dx = +*', col 10", "syntax error")),
    Case("verify: a claim about an unknown input", ["verify", "f = x*y", "df/dq = y"], {}, ("q",)),
    Case("verify: a claim with an unknown name", ["verify", "f = x*y", "df/dx = zz"], {}, ("zz",)),
    Case("verify: a claim without =", ["verify", "f = x*y", "df/dx"], {}, ("df/dx",)),
    Case("verify: a claim of 100,000 characters", ["verify", "f = x*y", "df/dx = " + "y+" * 50_000 + "y"], {}, (),
         bounded=True),
    Case("verify: a claim nested 50,000 deep", ["verify", "f = x*y", "df/dx = " + "(" * 50_000 + "y" + ")" * 50_000],
         {}, (), bounded=True),
    # ---- LeNet lab (items 2, 10, 13)
    Case("lenet summary: a layer that does not exist", ["lenet", "summary", "flatten | teleport 3 | dense 10"], {},
         ("teleport",)),
    Case("lenet summary: dense 0", ["lenet", "summary", "flatten | dense 0 | dense 10"], {}, ("dense 0",)),
    Case("lenet summary: a kernel larger than the image", ["lenet", "summary", "conv 6@99x99 | flatten | dense 10"],
         {}, ("layer 1",)),
    Case("lenet summary: model.json not JSON", ["lenet", "summary", "m.json"],
         {"m.safetensors": F.weights, "m.json": "{"}, ("m.json",)),
    Case("lenet summary: model.json layers not a list", ["lenet", "summary", "m.json"],
         {"m.safetensors": F.weights, "m.json": lambda fx: fx.model_json(layers="dense 10")}, ("m.json", "layers")),
    Case("lenet load: weights truncated", ["lenet", "load", "m.json"],
         {"m.safetensors": lambda fx: fx.weights()[:100], "m.json": F.model_json}, ("m.safetensors",)),
    Case("lenet load: a pickle for weights", ["lenet", "load", "m.json"],
         {"m.safetensors": b"\x80\x04K\x01.", "m.json": F.model_json}, ("m.safetensors",)),
    Case("lenet load: a zip for a checkpoint", ["lenet", "load", "c.pt"], {"c.pt": b"PK\x03\x04" + b"\0" * 100},
         ("c.pt",)),
    Case("lenet load: a checkpoint of another format", ["lenet", "load", "c.pt"],
         {"c.pt": lambda fx: fx.checkpoint(format="something-else")}, ("c.pt",)),
    Case("lenet train: a batch larger than the training set", ["lenet", "train", "--dataset", "mnist5k",
                                                                "--batch-size", "10000000", "--out", "o"], {},
         ("batch size 10,000,000", "training set")),
    Case("lenet train: --epochs 0", ["lenet", "train", "--dataset", "mnist5k", "--epochs", "0", "--out", "o"], {},
         ("epochs",)),
    Case("lenet train: --lr nan", ["lenet", "train", "--dataset", "mnist5k", "--lr", "nan", "--out", "o"], {},
         ("learning rate",)),
    Case("lenet train: an unknown dataset", ["lenet", "train", "--dataset", "cifar", "--out", "o"], {}, ("cifar",)),
    Case("lenet train: a data dir that is a FIFO", ["lenet", "train", "--dataset", "mnist", "--data-dir", "d",
                                                    "--out", "o"], {"d": FIFO}, ("d",)),
    Case("lenet sweep: a spec nested 3,000 deep", ["lenet", "sweep", "s.toml"], {"s.toml": "a = " + "[" * 3000 +
                                                                                    "]" * 3000}, ("s.toml", "nested")),
    Case("lenet sweep: not TOML", ["lenet", "sweep", "s.toml"], {"s.toml": "= 3"}, ("s.toml",)),
]


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> Fixtures:
    # Load what the commands load once, here, so that every forked child starts with it
    import importlib

    for name in ("sympy", "torch", "networkx", "gradlab.check", "gradlab.render", "gradlab.worksheet",
                 "gradlab.grading", "gradlab.lenet", "gradlab.cli.grad", "gradlab.cli.check", "gradlab.cli.render",
                 "gradlab.cli.verify", "gradlab.cli.worksheet", "gradlab.cli.grade", "gradlab.cli.lenet",
                 "gradlab.cli.shapes"):
        importlib.import_module(name)
    return Fixtures(tmp_path_factory.mktemp("fixtures"))


def _make(folder: Path, files: dict[str, Any], fx: Fixtures) -> None:
    for name, what in files.items():
        p = folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if what is FIFO:
            os.mkfifo(p)
        elif what is FOLDER:
            p.mkdir(exist_ok=True)
        elif isinstance(what, Link):
            p.symlink_to(what.target)
        elif isinstance(what, Sparse):
            with open(p, "wb") as f:
                f.truncate(what.size)
        elif callable(what):
            p.write_bytes(what(fx))
        else:
            p.write_bytes(what.encode() if isinstance(what, str) else what)


def _listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_bounded(argv: list[str], cwd: Path, tmp: Path) -> tuple[int, str]:
    """``python -m gradlab ARGV`` in ``cwd`` under the limits; (exit code, stderr)."""
    env = {**os.environ, "TMPDIR": str(tmp), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    try:
        p = subprocess.run([sys.executable, "-m", "gradlab", *argv], cwd=cwd, env=env, capture_output=True, text=True,
                           preexec_fn=_limits, timeout=WALL_SECONDS, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"gradlab {' '.join(argv)[:80]} did not finish in {WALL_SECONDS} s (it blocks?)")
    return p.returncode, p.stderr


def _vm_bytes() -> int:
    """This process's address space now (Linux), so that a forked child's limit is relative to it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _without_root_file_access() -> None:
    """Drop the capabilities that let root read and write every file (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH)
    from this process, so that a permission case runs as a user meets it, also when the tests run as root."""
    import ctypes

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    libc = ctypes.CDLL(None, use_errno=True)
    header, data = Header(0x20080522, 0), (Data * 2)()  # _LINUX_CAPABILITY_VERSION_3
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    keep = ~((1 << 1) | (1 << 2)) & 0xFFFFFFFF
    data[0].effective &= keep
    data[0].permitted &= keep
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def _can_drop_root_file_access() -> bool:
    return sys.platform == "linux" and os.geteuid() == 0


def run_forked(argv: list[str], cwd: Path, tmp: Path, *, as_user: bool = False) -> tuple[int, str]:
    """``gradlab ARGV`` through :func:`main` in a forked child, under the same limits as a subprocess: 10 s of CPU
    (a child's CPU time starts at zero), 1 GiB of address space beyond what this process already holds (gradlab,
    SymPy and torch are loaded here, so the fork costs milliseconds instead of a fresh interpreter's second), a
    wall-clock timeout (a blocking open of a FIFO), and ``TMPDIR`` pointing at ``tmp``. Returns (exit code,
    stderr); a child killed by a limit is a failure of the case."""
    err_file = tmp.parent / "stderr.txt"
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 70
        try:
            with open(err_file, "w", encoding="utf-8") as err, open(os.devnull, "w") as out:
                sys.stdout, sys.stderr = out, err
                try:
                    os.chdir(cwd)
                    os.environ["TMPDIR"] = str(tmp)
                    import tempfile

                    tempfile.tempdir = None
                    import warnings  # warnings as a user's interpreter shows them, not pytest's recorder

                    warnings.resetwarnings()
                    for kind in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
                        warnings.simplefilter("ignore", kind)
                    warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: \
                        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))
                    if "torch" in sys.modules:  # OpenMP's thread pool does not survive a fork: stay on one thread
                        sys.modules["torch"].set_num_threads(1)
                    if as_user:
                        _without_root_file_access()
                    vm = _vm_bytes()
                    if vm:
                        resource.setrlimit(resource.RLIMIT_AS, (vm + ADDRESS_SPACE, vm + ADDRESS_SPACE))
                    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
                    code = main(argv)
                except BaseException:  # noqa: BLE001 - report anything, then leave without running pytest's code
                    import traceback

                    traceback.print_exc()
                    code = 70
                finally:
                    sys.stderr.flush()
        finally:
            os._exit(code if isinstance(code, int) else 70)
    deadline = time.monotonic() + WALL_SECONDS
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"gradlab {' '.join(argv)[:80]} did not finish in {WALL_SECONDS} s (it blocks?)")
        time.sleep(0.005)
    err_text = err_file.read_text(encoding="utf-8", errors="replace")
    err_file.unlink()
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        pytest.fail(f"gradlab {' '.join(argv)[:80]} was killed by {sig} (over {CPU_SECONDS} s of CPU or "
                    f"1 GiB more memory?)\n{err_text[-2000:]}")
    return os.WEXITSTATUS(status), err_text


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_is_refused_in_one_line(case: Case, fixtures: Fixtures, tmp_path: Path) -> None:
    as_user = case.needs_non_root and os.geteuid() == 0
    if as_user and not _can_drop_root_file_access():
        pytest.skip("root reads every file")
    work, tmp = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    tmp.mkdir()
    _make(work, case.files, fixtures)
    if case.needs_non_root:  # the case's first file: unreadable; its first folder: read-only
        first = work / next(iter(case.files))
        os.chmod(first, 0o555 if first.is_dir() else 0)
    before = _listing(work)
    if case.bounded:
        code, err = run_bounded(case.argv, work, tmp)
    else:
        code, err = run_forked(case.argv, work, tmp, as_user=as_user)
    assert "Traceback" not in err, err[-2000:]
    assert code == 2, (code, err[-2000:])
    lines = err.strip().splitlines()
    assert len(lines) == 1, err[-2000:]
    for text in case.match:
        assert text in lines[0], (text, lines[0])
    assert _listing(work) == before, "files left behind"
    assert not list(tmp.iterdir()), "temporary files left behind"


def test_the_corpus_ids_are_unique_and_every_bounded_case_exists() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert sum(c.bounded for c in CASES) >= 15
    assert len(CASES) >= 120


def test_a_program_longer_than_a_file_name_is_read_as_a_program(capsys: pytest.CaptureFixture) -> None:
    """Item 10: a valid program of more than 255 characters was tried as a path (File name too long)."""
    assert main(["render", LONG_PROGRAM]) == 0
    assert "digraph" in capsys.readouterr().out
