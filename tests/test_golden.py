"""Golden outputs: each case stored in tests/golden/cases/, run again, prints the same formulas and numbers
(what "the same" means for each kind of number: tests/golden/compare.py). Refactorings must keep them;
tests/golden/record.py shows where they differ, and records them again with --update."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from golden.compare import compare_case, run, summary

CASES = sorted((Path(__file__).parent / "golden" / "cases").glob("*.json"))


def load(name: str) -> dict:
    return json.loads((Path(__file__).parent / "golden" / "cases" / f"{name}.json").read_text())


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_output_matches_the_golden(path):
    stored = json.loads(path.read_text())
    diffs = compare_case(stored, run(stored["argv"]))
    assert not diffs, f"gradlab {' '.join(stored['argv'])}: {len(diffs)} differences\n{summary(diffs)}"


def test_there_are_golden_cases_of_every_kind():
    names = [p.stem for p in CASES]
    assert len(names) >= 30 and {n.rsplit("__", 1)[1] for n in names if n.startswith("graphs__")} == {
        "grad", "check", "render"} and any(n.startswith("docs__") for n in names)


def test_the_comparator_reports_changed_formulas_and_numbers_and_tolerates_noise():
    stored = load("graphs__neuron.toml__grad")
    x0 = stored["output"]["inputs"]["x0"]
    changed = copy.deepcopy(stored)
    new = changed["output"]["inputs"]["x0"]
    new["expr"] = new["expr"].replace("w0*", "w1*", 1)
    new["grad"] = x0["grad"] * (1 + 1e-9)
    new["torch"] = x0["torch"] * (1 + 1e-14)
    new["fd"] = x0["fd"] * (1 + 1e-9)
    new["fd_error"] = x0["fd_error"] * 3
    new["fd_rel_err"] = 0.0
    diffs = compare_case(stored, changed)
    assert [d.split(":")[0] for d in diffs] == ["output.inputs.x0.grad", "output.inputs.x0.expr"], diffs
    new["fd"] = x0["fd"] * (1 + 1e-4)
    assert [d.split(":")[0] for d in compare_case(stored, changed)][-1] == "output.inputs.x0.fd"


def test_the_comparator_reads_the_numbers_in_a_picture():
    stored = load("graphs__neuron.toml__render")
    assert not compare_case(stored, {**stored, "output": stored["output"].replace("0.39<", "0.3900000000000001<")})
    diffs = compare_case(stored, {**stored, "output": stored["output"].replace(">0.39<", ">0.40<", 1)})
    assert len(diffs) == 1 and diffs[0].startswith("output[") and diffs[0].endswith(": 0.39 vs 0.4"), diffs
    assert compare_case(stored, {**stored, "output": stored["output"].replace("#c62828", "#c62829")})
