"""The responses CSV is read row by row and the reports are written row by row: the memory of grading a class
grows with what the results hold, not with the text of the file or of the reports (issue 13, item 7)."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from gradlab.cli import main
from gradlab.grading import Verdict, grade
from gradlab.grading.grade import iter_responses
from gradlab.model.answerkey import Answer, AnswerKey, Item, Question, Variant

ROOT = Path(__file__).resolve().parents[2]
#: Answers to the one item (key 0.5) as the CSV cells write them, and how each is graded.
ANSWERS = [("0.5", "correct"), ("1/2", "correct"), ("", "blank"), ('"0,5"', "correct"), ("abc", "rejected"),
           ("0.4", "wrong")]


def one_item_key(path: Path) -> Path:
    key = AnswerKey(title="one item", questions=[Question("1", "numeric", "q", ["1.1"])],
                    items={"1.1": Item("1.1", "1", "number", 1.0, "x")},
                    variants={"1": Variant("1", {"x": 1.0}, {"1.1": Answer(value=0.5)})})
    path.write_text(key.to_json(), encoding="utf-8")
    return path


def class_csv(path: Path, rows: int) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        f.write("id,variant,1.1\n")
        f.writelines(f"s{i},1,{ANSWERS[i % len(ANSWERS)][0]}\n" for i in range(rows))
    return path


LIMITED = textwrap.dedent("""
    import resource, sys
    limit = int(sys.argv[1])
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from gradlab.cli import main
    rc = main(sys.argv[2:])
    peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmPeak"))
    print(rc, peak * 1024)
""")


def run_limited(limit: int, *argv: str) -> tuple[int, int]:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", LIMITED, str(limit), *argv], capture_output=True, text=True,
                         cwd=ROOT, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    rc, peak = out.stdout.split()[-2:]
    return int(rc), int(peak)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmPeak from /proc")
def test_200000_rows_are_graded_within_a_bounded_address_space(tmp_path):
    key = one_item_key(tmp_path / "key.json")
    small = class_csv(tmp_path / "small.csv", 60)
    big = class_csv(tmp_path / "big.csv", 200_000)
    rc, base = run_limited(0, "grade", str(small), "--key", str(key), "-o", str(tmp_path / "r0"), "--workers", "1")
    assert rc == 0
    # the whole class may take 256 MB more than a class of 60 (it held 900 MB more when rows were kept as text)
    rc, peak = run_limited(base + 256 * 2**20, "grade", str(big), "--key", str(key), "-o", str(tmp_path / "r1"),
                           "--workers", "1")
    assert rc == 0
    scores = (tmp_path / "r1" / "scores.csv").read_text(encoding="utf-8").splitlines()
    assert len(scores) == 200_001
    assert scores[1].split(",")[-2:] == ["100.0", ""] and scores[3].split(",")[-2:] == ["0.0", ""]
    report = json.loads((tmp_path / "r1" / "report.json").read_text(encoding="utf-8"))
    assert report["items"][0]["counts"] == Counter(ANSWERS[i % len(ANSWERS)][1] for i in range(200_000))


def test_report_json_is_written_student_by_student_as_to_json_writes_it(tmp_path):
    key = AnswerKey.load(one_item_key(tmp_path / "key.json"))
    header, rows = iter_responses(["id,variant,1.1\n", "a,1,0.5\n", "b,9,1\n", "cé \"q\" <x>,1,abc\n", "d,1,\n"])
    report = grade((header, rows), key, workers=1)
    buf = io.StringIO()
    report.write_json(buf)
    assert buf.getvalue() == report.to_json(indent=1)
    empty = dataclasses.replace(report, students=[])
    buf = io.StringIO()
    empty.write_json(buf)
    assert buf.getvalue() == empty.to_json(indent=1)


def test_a_verdict_as_data_has_every_field():
    v = Verdict("partial", 0.5, "sign", "sign", "numbers", "-0.5")
    assert v.to_dict() == dataclasses.asdict(v)


def test_a_row_that_is_not_utf8_is_named_by_its_line(tmp_path, capsys):
    key = one_item_key(tmp_path / "key.json")
    csv_path = tmp_path / "r.csv"
    csv_path.write_bytes(b"id,variant,1.1\n" + b"a,1,0.5\n" * 5000 + b"b,1,\xff\xfe\n")
    assert main(["grade", str(csv_path), "--key", str(key), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not UTF-8" in err and str(csv_path) in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text", ["", "\n\n", ",,,\n , ,\n"])
def test_a_file_without_a_header_is_refused_in_one_line(tmp_path, capsys, text):
    key = one_item_key(tmp_path / "key.json")
    (tmp_path / "r.csv").write_text(text, encoding="utf-8")
    assert main(["grade", str(tmp_path / "r.csv"), "--key", str(key), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("empty" in err or "no header" in err), err
