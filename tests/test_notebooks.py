"""The notebooks in notebooks/: stored without outputs, and each runs top to bottom (with the small settings
of its first code cell, GRADLAB_NB_SMALL=1) and shows its key numbers.

The expected numbers are computed here from the sheets' formulas, not copied from an earlier run."""

from __future__ import annotations

import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "notebooks"
NAMES = ["sheet1-task2-neuron", "sheet1-task4-lenet", "sheet2-task6-matrix-backprop", "teachers-worksheets-grading"]


def test_every_notebook_is_listed_in_the_readme():
    assert sorted(p.stem for p in FOLDER.glob("*.ipynb")) == sorted(NAMES)
    readme = (FOLDER / "README.md").read_text(encoding="utf-8")
    for name in NAMES:
        assert f"{name}.ipynb" in readme


@pytest.mark.parametrize("name", NAMES)
def test_a_stored_notebook_has_no_outputs_and_takes_its_settings_from_its_first_code_cell(name):
    nb = json.loads((FOLDER / f"{name}.ipynb").read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for c in code:
        assert c["outputs"] == [] and c["execution_count"] is None, f"{name}: a cell keeps its output"
    assert "widgets" not in nb["metadata"]
    first = code[0]
    assert "parameters" in first["metadata"].get("tags", []) and "GRADLAB_NB_SMALL" in "".join(first["source"])


def execute(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run the notebook in a kernel whose working folder is ``tmp_path``; this checkout's gradlab is imported."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("GRADLAB_NB_SMALL", "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    monkeypatch.delenv("GRADLAB_NB_OUT", raising=False)
    # a kernel of this interpreter (not whatever "python3" kernel the machine has installed elsewhere)
    spec = tmp_path / "jupyter" / "kernels" / "gradlab-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f",
                                                           "{connection_file}"],
                                                  "display_name": "gradlab test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    nb = nbformat.read(FOLDER / f"{name}.ipynb", as_version=4)
    nbclient.NotebookClient(nb, timeout=240, kernel_name="gradlab-test",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert not any("Warning" in o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                   if o.get("name") == "stderr"), f"{name}: a warning reaches the reader"
    return nb


def outputs(nb: Any) -> list[dict[str, Any]]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def shown(nb: Any, mime: str = "text/html") -> str:
    """Everything the notebook shows as ``mime`` (and its printed text), one string."""
    parts = []
    for o in outputs(nb):
        if o["output_type"] == "stream" and o["name"] == "stdout":
            parts.append(o["text"])
        elif "data" in o and mime in o["data"]:
            parts.append(o["data"][mime])
    return "\n".join(parts)


def test_the_neuron_notebook_shows_the_gradients_the_picture_and_the_verdicts(tmp_path, monkeypatch):
    nb = execute("sheet1-task2-neuron", tmp_path, monkeypatch)
    w0, x0, w1, x1, w2 = 2, -1, -3, -2, -3  # the sheet's point
    a = 1 / (1 + math.exp(-(w0 * x0 + w1 * x1 + w2)))
    slope = a * (1 - a)
    grads = {"w0": x0 * slope, "x0": w0 * slope, "w1": x1 * slope, "x1": w1 * slope, "w2": slope}
    html = shown(nb)
    for name, g in grads.items():
        assert f"<td>{name}</td>" in html and f"<td>{g:.6g}</td>" in html
    assert f"a = {a:.6g}; all methods agree" in html
    assert sum("image/svg+xml" in o.get("data", {}) for o in outputs(nb)) == 3  # the graph, solution, blanks
    latex = shown(nb, "text/latex")
    assert latex.count(r"\frac{\partial \alpha}") == 5 and f"(= {grads['x0']:.6f})" in latex
    assert ">TRUE</b>" in html and ">FALSE</b>" in html and "wrong variable" in html
    answers = re.findall(r"^(da/d\w+) = .*?\s(TRUE|FALSE)", html, re.M)
    assert answers == [("da/dx0", "TRUE"), ("da/dx1", "TRUE"), ("da/dw0", "TRUE"), ("da/dw1", "TRUE"),
                       ("da/dw2", "FALSE")]


def test_the_matrix_notebook_shows_the_loss_the_gradients_and_catches_the_mistakes(tmp_path, monkeypatch):
    nb = execute("sheet2-task6-matrix-backprop", tmp_path, monkeypatch)
    x, y = np.array([1.0, -0.5, 2.0]), np.array([1.0, 0.0])
    A, B = np.array([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]]), np.array([[0.7, -0.8], [0.9, 0.2]])
    v = np.tanh(A @ x)
    p = np.exp(B @ v) / np.exp(B @ v).sum()
    loss = -float(np.sum(y * np.log(p))) / 2
    dB = np.outer(p - y, v) / 2
    dA = np.outer((B.T @ (p - y) / 2) * (1 - v**2), x)
    html = shown(nb)
    assert f"L = {loss:.6g}; all methods agree" in html
    for g in [*dB.ravel(), *dA.ravel()]:
        assert f"{g:.6f}".rstrip("0") in html
    assert "dL/dB = (p - y) @ v.T / 2" in html and "dL/dA = dL/du @ x.T" in html
    assert html.count(">TRUE</b>") >= 5 and "holds (proved symbolically" in html
    for mistake in ["assumes a one-hot label", "transposed", "missing factor 1/2", "missing activation derivative",
                    "sign", "p instead of p - y"]:
        assert f"likely mistake: {mistake}" in html


def test_the_lenet_notebook_trains_three_runs_sweeps_and_draws_feature_maps(tmp_path, monkeypatch):
    nb = execute("sheet1-task4-lenet", tmp_path, monkeypatch)
    html = shown(nb)
    found = re.search(r"^test accuracy\s+([0-9.]+) ± ([0-9.]+)\s+\(runs: ([0-9., ]+)\)", html, re.M)
    assert found, "the spread of the three runs is printed"
    runs = [float(r) for r in found.group(3).split(",")]
    assert len(runs) == 3 and all(0 <= r <= 1 for r in runs)
    assert float(found.group(1)) == pytest.approx(sum(runs) / 3, abs=1e-4)
    assert "61,706" in html and "(None, 10)" in html  # the model summary
    assert html.count('<div class="gradlab-train">') == 1 and "run 3 (seed 2)" in html
    for label in ["lr=0.1", "lr=2", "iterations=", "ReLU + max pool", "own: 32 filters, one conv layer"]:
        assert label in html
    assert html.count('<div class="gradlab-sweep">') == 3
    pictures = sum("image/png" in o.get("data", {}) for o in outputs(nb))
    assert pictures == 6  # the images, three sweeps' curves, two sets of feature maps (the training's are inline)
    assert re.search(r"^epoch\s+run 1 test acc\s+run 2 test acc\s+run 3 test acc$", html, re.M)
    out = tmp_path / "out" / "lenet"
    for f in ["reference/curves.png", "reference/run-3/model.safetensors", "featuremaps.png",
              "sweep-architecture/report.md"]:
        assert (out / f).is_file()


def test_the_teachers_notebook_makes_sheets_grades_a_class_and_counts_the_mistakes(tmp_path, monkeypatch):
    nb = execute("teachers-worksheets-grading", tmp_path, monkeypatch)
    out = tmp_path / "out" / "teachers"
    key = json.loads((out / "sheets" / "key.json").read_text(encoding="utf-8"))
    rows = (out / "responses.csv").read_text(encoding="utf-8").strip().splitlines()[1:]
    html = shown(nb)
    assert f"{len(key['variants'])} variants, seed 2024, 18.5 points" in html
    graded = re.search(r"(\d+) students graded, (\d+) rows with errors", html)
    assert graded and int(graded.group(1)) + int(graded.group(2)) == len(rows) > 0
    assert html.count("<iframe srcdoc=") == 2 and (out / "report" / "scores.csv").is_file()
    assert re.search(r"^w0\*\(s - s\^2\)\s+correct", html, re.M)
    assert re.search(r"^-w0\*s\*\(1-s\)\s+partial\s+sign", html, re.M)
