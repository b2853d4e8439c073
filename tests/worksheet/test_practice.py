"""Practice pages: the blanks of the picture with their answers, tolerances, named mistakes, hints and steps."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gradlab import evaluate, load_graph_file
from gradlab.ops import OPS
from gradlab.worksheet import WorksheetError, load_spec
from gradlab.worksheet.pictures import renderer
from gradlab.worksheet.practice import (
    load_practice_source,
    practice_page,
    practice_pages,
    practice_worksheet,
    svg_with_boxes,
)

NEURON = Path(__file__).resolve().parents[2] / "graphs" / "neuron_sigmoid_gate.toml"


@pytest.fixture(scope="module")
def neuron():
    graph, at = load_practice_source(NEURON)
    return practice_page(practice_worksheet(graph, at=at))


def _data(page_html: str) -> dict:
    text = re.search(r'<script type="application/json" id="practice-data">(.*?)</script>', page_html, re.S).group(1)
    return json.loads(text)


def test_a_graph_file_gives_one_page_at_its_own_point_with_every_value_and_gradient(neuron):
    gf = load_graph_file(NEURON)
    ev = evaluate(gf.graph, gf.at)
    assert neuron.at == {n: float(x) for n, x in gf.at.items()}
    values = [b for b in neuron.blanks if b.kind == "value"]
    grads = [b for b in neuron.blanks if b.kind == "gradient"]
    assert [b.number for b in neuron.blanks] == list(range(1, len(neuron.blanks) + 1))
    assert values[-1].answer == pytest.approx(float(ev.values["a"]))  # the output wire's value
    assert grads[0].answer == 1.0  # the backward pass starts with 1 on the output wire
    assert sorted(round(b.answer, 9) for b in grads if "from x0 " in b.where) == [round(float(ev.grad("x0")), 9)]


def test_each_hint_is_the_rule_of_the_gate_from_its_op_record(neuron):
    into_mul = [b for b in neuron.blanks if b.kind == "gradient" and "into the * gate" in b.where]
    into_add = [b for b in neuron.blanks if b.kind == "gradient" and "(+)" in b.where]
    into_sigma = [b for b in neuron.blanks if b.kind == "gradient" and "(σ)" in b.where]
    assert into_mul and all(b.hint == OPS["mul"].hint for b in into_mul)
    assert into_add and all(b.hint == OPS["add"].hint for b in into_add)
    assert [b.hint for b in into_sigma] == [OPS["sigmoid"].hint]
    step = into_sigma[0].step  # upstream 1 times the local derivative σ(1-σ) at z = 1
    assert "× 0.1966 = 0.1966, 0.20 to 2 decimals" in step


def test_named_mistakes_travel_with_their_values(neuron):
    sigma = next(b for b in neuron.blanks if b.kind == "gradient" and "(σ)" in b.where)
    messages = {m.message: m.value for m in sigma.mistakes}
    assert messages[OPS["sigmoid"].output_mistake] == pytest.approx(neuron.blanks[4].answer)  # σ itself: 0.73
    assert all(abs(m.value - sigma.answer) > 1e-9 for m in sigma.mistakes)


def test_the_page_is_self_contained_and_carries_the_key_and_the_grading_tolerance(neuron):
    page = neuron.html()
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page) and "@import" not in page  # no network
    data = _data(page)
    assert data["tolerance"] == {"rtol": 0.01, "atol": 0.005, "sigfigs": None}
    assert [b["answer"] for b in data["blanks"]] == [b.answer for b in neuron.blanks]
    assert "</script>" not in json.dumps(data)  # the JSON cannot end the script early
    if renderer() is not None:
        assert page.count("<foreignObject") == len(neuron.blanks)
        for b in neuron.blanks:
            assert f'id="box-{b.number}"' in page and f'id="list-{b.number}"' in page


def test_sigfigs_grading_is_what_the_page_compares_with(tmp_path):
    spec_file = tmp_path / "s.toml"
    spec_file.write_text('title = "T"\nvariants = 2\n[numbers]\nsigfigs = 2\n[[part]]\nprogram = "f = x*y + z"\n'
                         'questions = ["backward"]\n')
    ws = practice_worksheet(load_spec(spec_file))
    pages = practice_pages(ws)
    assert sorted(pages) == ["practice-1.html", "practice-2.html"]
    data = _data(pages["practice-2.html"])
    assert data["tolerance"]["sigfigs"] == 2 and "2 significant figures" in data["tolerance_text"]
    assert {b["kind"] for b in data["blanks"]} == {"gradient"}
    assert [b["answer"] for b in data["blanks"]] == [ws.variants[1].answers[b["item"]].value for b in data["blanks"]]


@pytest.mark.parametrize("source, at, message", [
    ("f = x*y", {"x": 1.0}, "no value for the input 'y'"),
    ("f = x*y", {"x": 1.0, "y": 2.0, "q": 3.0}, "'q' is not an input"),
    ("f = relu(x)*y", {"x": 0.0, "y": 2.0}, "no good exercise"),
    ("x: (2,); f = sum(x*x)", None, "graphs of numbers"),
])
def test_what_a_practice_page_cannot_show_is_refused_in_words(source, at, message):
    with pytest.raises(WorksheetError, match=re.escape(message)):
        practice_worksheet(source, at=at)


def test_a_spec_without_blanks_on_the_picture_is_refused(tmp_path):
    spec_file = tmp_path / "s.toml"
    spec_file.write_text('title = "T"\n[[part]]\nprogram = "f = x*y"\nquestions = ["symbolic"]\n')
    with pytest.raises(WorksheetError, match="no blanks on a picture"):
        practice_worksheet(load_spec(spec_file))


def test_boxes_go_where_the_markers_are():
    svg = ('<?xml version="1.0"?>\n<svg width="100pt" height="50pt" viewBox="0 0 100 50">'
           '<g id="wire-x-f-0" class="node"><text text-anchor="start" x="10" y="-20" font-weight="bold">(1)</text>'
           '<polygon points="5,-15 5,-16 55,-16 55,-15 5,-15"/>'
           '<text text-anchor="start" x="12" y="-4" font-weight="bold">(2)</text></g></svg>')

    class B:
        def __init__(self, n, kind):
            self.number, self.kind, self.where = n, kind, "the wire"

    out = svg_with_boxes(svg, [B(1, "value"), B(2, "gradient")])
    boxes = re.findall(r'<foreignObject x="([-\d.]+)" y="([-\d.]+)" width="([-\d.]+)"', out)
    assert boxes == [("5.0", "-33.5", "50.0"), ("5.0", "-14.5", "50.0")]  # over the label, clear of the wire
    assert out.startswith('<svg class="circuit"') and out.count('visibility="hidden"') == 2
