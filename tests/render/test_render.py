"""Pictures: the DOT source (labels, colours, blanks, multi-edges), real SVG/PNG/PDF files from
Graphviz, the missing-``dot`` path, backward steps and the HTML page, tensors, Jupyter."""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import gradlab
from gradlab import Graph, RenderError, evaluate, load_graph_file
from gradlab.render import (
    Drawing,
    GraphvizNotFound,
    backward_steps,
    blank_map,
    draw,
    find_dot,
    render,
    resolve_blanks,
    to_dot,
)
from gradlab.render.engine import format_of
from gradlab.render.steps import step_plan, steps_html
from gradlab.render.style import formula, number, style, wrap_formula

ROOT = Path(__file__).resolve().parents[2]
NEURON = load_graph_file(ROOT / "graphs" / "neuron.toml")
LIGHT = style("light", "classic")
WIRE = re.compile(r'^\s*w\d+ \[id="wire-([^"]+)".*label=(<.*>)\];$', re.M)


def font_texts(label: str, color: str) -> list[str]:
    texts = re.findall(rf'<FONT COLOR="{color}"[^>]*>(?:<B>)?(.*?)(?:</B>)?</FONT>', label)
    return [t for t in map(html.unescape, texts) if t != "\xa0"]  # an empty slot holds a no-break space


def wires(dot: str, s=LIGHT) -> dict[str, tuple[list[str], list[str]]]:
    """wire id -> (texts in the value colour, texts in the gradient colour)."""
    return {m.group(1): (font_texts(m.group(2), s.value), font_texts(m.group(2), s.gradient))
            for m in WIRE.finditer(dot)}


def needs_dot() -> None:
    if find_dot() is None:
        pytest.fail("Graphviz 'dot' is not installed; bash scripts/install.sh installs it (apt-get install graphviz)")


# ------------------------------------------------------------------ the textbook's neuron

NEURON_WIRES = {  # wire: (value above, gradient below), CS231n's circuit
    "w0-t1-0": ("2.00", "-0.20"), "x0-t1-1": ("-1.00", "0.39"), "w1-t2-0": ("-3.00", "-0.39"),
    "x1-t2-1": ("-2.00", "-0.59"), "w2-z-1": ("-3.00", "0.20"), "t1-t3-0": ("-2.00", "0.20"),
    "t2-t3-1": ("6.00", "0.20"), "t3-z-0": ("4.00", "0.20"), "z-t4-0": ("1.00", "0.20"),
    "t4-t5-0": ("-1.00", "-0.20"), "t5-t6-0": ("0.37", "-0.53"), "t6-a-0": ("1.37", "-0.53"),
    "a-output-0": ("0.73", "1.00"),
}


def test_the_sheet_neuron_has_the_textbook_labels_on_its_13_wires():
    dot = to_dot(NEURON.graph, NEURON.at)
    found = wires(dot)
    assert len(found) == 13
    assert {k: (v[0], g[0]) for k, (v, g) in found.items()} == NEURON_WIRES
    values = sorted(v[0] for v, _ in found.values())
    grads = sorted(g[0] for _, g in found.values())
    assert values == sorted("2.00 -1.00 -3.00 -2.00 -3.00 -2.00 6.00 4.00 1.00 -1.00 0.37 1.37 0.73".split())
    assert grads == sorted("-0.20 0.39 -0.39 -0.59 0.20 0.20 0.20 0.20 0.20 -0.20 -0.53 -0.53 1.00".split())


def test_gates_are_circles_with_their_symbols_inputs_left_output_right():
    dot = to_dot(NEURON.graph, NEURON.at)
    gates = re.findall(r'shape=circle, label="([^"]+)"', dot)
    assert gates == ["*", "*", "+", "+", "*-1", "exp", "+1", "1/x"]
    assert "{rank=min; n0; n1; n3; n4; n7;}" in dot  # w0 x0 w1 x1 w2 at the left
    assert "{rank=max; out;}" in dot and 'id="node-a"' in dot
    assert re.search(r'out \[id="output-a", tooltip="the output a", shape=plaintext.*<B>a</B>', dot)
    ids = re.findall(r'\[id="([^"]+)"', dot)
    assert len(ids) == len(set(ids)) == 13 + 13 + 1  # nodes, wires, the output's name: SVG ids are unique


def test_x_times_x_has_two_arrows():
    dot = to_dot("f = x*x", {"x": 3})
    assert len(re.findall(r"-> n1;", dot)) == 2
    found = wires(dot)
    assert found["x-f-0"] == (["3.00"], ["3.00"]) and found["x-f-1"] == (["3.00"], ["3.00"])
    assert "Σ 6.00" in dot  # the two gradients add up at the fork


def test_values_green_above_and_gradients_red_below_and_the_wire_between():
    dot = to_dot("f = x*y", {"x": 2, "y": 3})
    label = next(m.group(2) for m in WIRE.finditer(dot) if m.group(1) == "x-f-0")
    value_at = label.index(f'COLOR="{LIGHT.value}"')
    line_at = label.index('PORT="p"')
    grad_at = label.index(f'COLOR="{LIGHT.gradient}"')
    assert value_at < line_at < grad_at
    assert LIGHT.value == "#2e7d32" and LIGHT.gradient == "#c62828"
    assert "x -> w" not in dot and re.search(r"n0 -> w\d+:p:w \[arrowhead=none\];", dot)


def test_graph_methods_and_program_text_give_the_same_picture():
    g = Graph.parse("f = (x + y)*z")
    at = {"x": -2, "y": 5, "z": -4}
    assert g.to_dot(at) == to_dot("f = (x + y)*z", at) == draw(g, evaluate(g, at)).dot


# ------------------------------------------------------------------ modes

def test_forward_mode_shows_values_only_and_structure_no_numbers():
    fwd = wires(to_dot(NEURON.graph, NEURON.at, mode="forward"))
    assert fwd["t5-t6-0"] == (["0.37"], [])
    structure = to_dot(NEURON.graph)
    assert all(v == [] and g == [] for v, g in wires(structure).values()) and len(wires(structure)) == 13
    assert re.findall(r'shape=circle, label="([^"]+)"', structure)[-1] == "1/x"
    with pytest.raises(RenderError, match="give the input values"):
        to_dot(NEURON.graph, mode="solution")


def test_default_blanks_hide_every_gradient_and_keep_the_values():
    d = draw(NEURON.graph, NEURON.at, blanks=True)
    found = wires(d.dot)
    assert all(g == ["?"] for _, g in found.values())
    assert found["t5-t6-0"][0] == ["0.37"]
    assert len(d.blanks) == 13 and {b.kind for b in d.blanks} == {"gradient"}
    assert not any(t in d.dot for t in ("-0.53", "0.39", "-0.59"))


def test_numbered_blanks_follow_the_backward_pass_and_carry_the_answers():
    d = draw(NEURON.graph, NEURON.at, blanks="gradients", numbered=True)
    ev = evaluate(NEURON.graph, NEURON.at)
    assert [b.marker for b in d.blanks] == [f"({i})" for i in range(1, 14)]
    assert d.blanks[0].wire == ("a", None, 0) and d.blanks[0].answer == 1.0
    assert d.blanks[1].wire == ("t6", "a", 0) and d.blanks[1].text == "-0.53"
    for b in d.blanks[1:]:
        assert b.answer == pytest.approx(float(ev.edge_adjoints[b.wire]))
    found = wires(d.dot)
    assert found["t6-a-0"][1] == ["(2)"] and found["x0-t1-1"][1] == ["(13)"]
    key = d.answer_key()
    assert key["(5)"].wire == ("z", "t4", 0) and key["(5)"].text == "0.20"
    back = json.loads(d.to_json())
    assert back["blanks"][0]["wire"] == {"source": "a", "target": None, "key": 0}


def test_blank_targets_nodes_wires_values_and_errors():
    g = NEURON.graph
    assert resolve_blanks(g, ["x0"]) == {("gradient", ("x0", "t1", 1))}
    assert resolve_blanks(g, ["value:z", "grad:t5->t6"]) == {("value", ("z", "t4", 0)),
                                                           ("gradient", ("t5", "t6", 0))}
    assert resolve_blanks(g, [("w0", "t1", 0)]) == {("gradient", ("w0", "t1", 0))}
    assert resolve_blanks(g, ["a->output"]) == {("gradient", ("a", None, 0))}
    assert len(resolve_blanks(g, "values")) == 8  # every wire but the 5 input wires
    assert len(resolve_blanks(g, "all")) == 8 + 13
    assert {w[0] for _, w in resolve_blanks(g, "inputs")} == {"w0", "x0", "w1", "x1", "w2"}
    assert resolve_blanks(Graph.parse("f = x*x"), ["x->f#1"]) == {("gradient", ("x", "f", 1))}
    for bad, message in [(["q"], "no node 'q'"), (["x0->a"], "no wire x0 -> a"), (["nope:x0"], "value, grad"),
                         (["x0->t1#z"], "whole number")]:
        with pytest.raises(RenderError, match=message):
            resolve_blanks(g, bad)


def test_blank_map_is_the_worksheet_api_and_matches_the_drawing():
    bm = blank_map(NEURON.graph, NEURON.at, blanks=["value:t5", "x0", "w2"], numbered=True)
    assert [(b.number, b.kind, b.wire) for b in bm] == [
        (1, "value", ("t5", "t6", 0)), (2, "gradient", ("w2", "z", 1)), (3, "gradient", ("x0", "t1", 1))]
    assert [b.text for b in bm] == ["0.37", "0.20", "0.39"]
    found = wires(draw(NEURON.graph, NEURON.at, blanks=["value:t5", "x0", "w2"], numbered=True).dot)
    assert found["t5-t6-0"][0] == ["(1)"] and found["x0-t1-1"][1] == ["(3)"] and found["w0-t1-0"][1] == ["-0.20"]


def test_blank_numbers_can_continue_from_an_earlier_picture():
    bm = blank_map(NEURON.graph, NEURON.at, blanks="inputs", numbered=True, first_blank=14)
    assert [b.marker for b in bm] == ["(14)", "(15)", "(16)", "(17)", "(18)"]
    with pytest.raises(RenderError, match="first_blank"):
        blank_map(NEURON.graph, NEURON.at, blanks=True, first_blank=-1)


def test_a_fork_total_is_hidden_when_its_gradients_are_blank():
    sheet = to_dot("f = x*x", {"x": 3}, blanks=True)
    assert "Σ 6.00" in to_dot("f = x*x", {"x": 3}) and "Σ 6.00" not in sheet and "<B>Σ ?</B>" in sheet


def test_symbolic_local_and_full_labels():
    local = wires(to_dot(NEURON.graph, NEURON.at, symbolic="local"))
    assert local["w0-t1-0"][1] == ["x0", "= -1.00"]  # d(w0*x0)/dw0 = x0
    assert local["t5-t6-0"][1] == ["1"]  # a constant needs no "= 1.00"
    assert local["t6-a-0"][1] == ["-1/t6²", "= -0.53"]
    full = wires(to_dot(NEURON.graph, NEURON.at, symbolic="full"))
    assert full["w0-t1-0"][1] == ["x0·exp(-z)", "/(1 + exp(-z))²", "= -0.20"]
    no_values = wires(to_dot("z = w*x + b; a = sigmoid(z)", symbolic="full"))
    assert no_values["w-t1-0"] == (["w"], ["a·x·(1 - a)"])  # in the program's names
    assert no_values["t1-z-0"] == (["w·x"], ["a·(1 - a)"])


def test_highlight_writes_the_chain_rule_product():
    d = draw(NEURON.graph, NEURON.at, highlight="x0")
    assert d.caption == ["∂a/∂x0 = ∂a/∂t6 · ∂t6/∂t5 · ∂t5/∂t4 · ∂t4/∂z · ∂z/∂t3 · ∂t3/∂t1 · ∂t1/∂x0",
                         "= (-0.53) · 1.00 · 0.37 · (-1.00) · 1.00 · 1.00 · 2.00 = 0.39"]
    highlighted = re.findall(rf'-> (?:n\d+|out) \[color="{LIGHT.highlight}"', d.dot)
    assert len(highlighted) == 8  # x0 -> t1 -> t3 -> z -> t4 -> t5 -> t6 -> a -> output
    two = draw("f = x*x", {"x": 3}, highlight="x")
    assert two.caption[0].startswith("∂f/∂x = sum over the 2 paths")
    assert "sum: ∂f/∂x = 6.00" in two.caption
    with pytest.raises(RenderError, match="no node 'q'"):
        draw("f = x*y", {"x": 1, "y": 2}, highlight="q")


def test_precision_themes_and_palettes():
    assert wires(to_dot(NEURON.graph, NEURON.at, precision=4))["a-output-0"] == (["0.7311"], ["1.0000"])
    dark = to_dot(NEURON.graph, NEURON.at, theme="dark")
    assert 'bgcolor="#111418"' in dark and style("dark").value in dark
    cb = to_dot(NEURON.graph, NEURON.at, palette="colorblind")
    assert "#0072b2" in cb and "#d55e00" in cb and "#2e7d32" not in cb
    for bad in (dict(theme="pink"), dict(palette="rainbow"), dict(mode="x"), dict(precision=-1), dict(nonsense=1)):
        with pytest.raises(RenderError):
            to_dot(NEURON.graph, NEURON.at, **bad)


def test_statements_are_boxed_in_a_big_graph():
    gf = load_graph_file(ROOT / "graphs" / "mlp_2_2_1.toml")
    dot = to_dot(gf.graph, gf.at)
    assert dot.count("subgraph cluster_s") == 4 and 'label="h1 = tanh(w11*x1 + w12*x2 + b1)"' in dot
    assert "cluster_s" not in to_dot(gf.graph, gf.at, group=False)
    assert "cluster_s" not in to_dot(NEURON.graph, NEURON.at)  # small: the textbook figure


def test_a_kink_is_noted_below_the_picture():
    d = draw("m = max(x, y); f = m*z", {"x": 3, "y": 3, "z": 2})
    assert any("is on its kink" in line and "0.5, 0.5" in line for line in d.caption)


# ------------------------------------------------------------------ tensors

def tensor_evaluation():
    g = Graph.parse("h = tanh(W*x + b); L = h*c")
    shapes = {"W": (2, 3), "x": (1, 3), "t1": (2, 3), "b": (2,), "t2": (2, 3), "h": (2, 3), "c": (4, 4), "L": (4, 4)}
    for n, s in shapes.items():
        g.nx.nodes[n]["shape"] = s
    values = {n: np.arange(int(np.prod(s)), dtype=float).reshape(s) / 4 for n, s in shapes.items()}
    adj = {n: -v for n, v in values.items()}
    return g, SimpleNamespace(values=values, adjoints=adj, edge_adjoints={e: adj[e[0]] for e in g.edges()})


def test_tensor_wires_show_their_shape_and_small_values():
    g, ev = tensor_evaluation()
    dot = draw(g, ev).dot
    assert "2×3" in dot and "2×1" in dot and "4×4" in dot
    label = next(m.group(2) for m in WIRE.finditer(dot) if m.group(1) == "W-t1-0")
    assert font_texts(label, LIGHT.value) == ["0.00", "0.25", "0.50", "0.75", "1.00", "1.25"]
    assert 'SIDES="LTB"' in label  # a bracket
    big = next(m.group(2) for m in WIRE.finditer(dot) if m.group(1) == "c-L-1")
    assert font_texts(big, LIGHT.value) == ["[0.00 … 3.75]"]
    b = blank_map(g, ev, blanks=["W"])[0]
    assert b.answer == [[-0.0, -0.25, -0.5], [-0.75, -1.0, -1.25]]


def test_scalars_stay_scalars_and_a_batch_is_refused():
    assert "×" not in to_dot(NEURON.graph, NEURON.at)
    with pytest.raises(RenderError, match="one point"):
        to_dot("f = x*y", {"x": [1.0, 2.0], "y": 3.0})


# ------------------------------------------------------------------ real files from Graphviz

def test_real_svg_png_pdf_files(tmp_path):
    needs_dot()
    d = draw(NEURON.graph, NEURON.at, blanks="gradients", numbered=True)
    svg = d.save(tmp_path / "n.svg").read_text(encoding="utf-8")
    text = " ".join(html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg))
    for label in ["w0", "x0", "2.00", "-1.00", "0.37", "1.37", "0.73", "(1)", "(13)", "exp", "1/x", "*-1"]:
        assert label in text.split(), label
    png = render(NEURON.graph, tmp_path / "n.png", NEURON.at).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width > 1500 and 300 < height < width  # 150 dpi, wide and short like the textbook
    pdf = NEURON.graph.render(tmp_path / "n.pdf", NEURON.at).read_bytes()
    assert pdf.startswith(b"%PDF") and b"%%EOF" in pdf[-64:]
    assert (tmp_path / "n.dot").exists() is False
    assert NEURON.graph.render(tmp_path / "n.dot", NEURON.at).read_text() == to_dot(NEURON.graph, NEURON.at)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.dot", "n.pdf", "n.png", "n.svg"]


@pytest.mark.parametrize("name", ["neuron", "mlp_3_4_2"])
def test_solution_and_worksheet_have_the_same_layout(name):
    needs_dot()
    gf = load_graph_file(ROOT / "graphs" / f"{name}.toml")
    plain = [subprocess.run([find_dot(), "-Tplain"], input=d.encode(), capture_output=True, check=True).stdout.decode()
             for d in (to_dot(gf.graph, gf.at), to_dot(gf.graph, gf.at, blanks="all", numbered=True))]
    positions = [[line.split()[:4] for line in p.splitlines() if line.startswith(("graph", "node"))] for p in plain]
    assert positions[0] == positions[1]
    assert ("Σ" in plain[0]) == (name == "mlp_3_4_2") and "Σ ?" in plain[1] if name == "mlp_3_4_2" else True


def test_missing_dot_gives_the_install_hint_and_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("GRADLAB_DOT", raising=False)
    (tmp_path / "keep.svg").write_text("old picture")
    with pytest.raises(GraphvizNotFound, match="apt-get install graphviz") as info:
        render(NEURON.graph, tmp_path / "n.svg", NEURON.at)
    assert "-o picture.dot" in str(info.value) and info.value.exit_code == 2
    with pytest.raises(GraphvizNotFound):
        draw(NEURON.graph, NEURON.at).save(tmp_path / "keep.svg")
    assert (tmp_path / "keep.svg").read_text() == "old picture"
    render(NEURON.graph, tmp_path / "n.dot", NEURON.at)  # DOT needs no Graphviz
    with pytest.raises(GraphvizNotFound):
        backward_steps(NEURON.graph, NEURON.at, tmp_path / "steps")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.svg", "n.dot"]
    assert gradlab.Graph.parse("f = x")._repr_mimebundle_().keys() == {"text/plain"}


def test_a_failing_dot_leaves_no_partial_file(tmp_path, monkeypatch):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\necho 'Error: syntax error in line 1' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("GRADLAB_DOT", str(fake))
    with pytest.raises(RenderError, match="syntax error in line 1"):
        render(NEURON.graph, tmp_path / "out" / "n.png", NEURON.at)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_slow_dot_is_stopped_cleanly(tmp_path, monkeypatch):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\nexec sleep 10\n")
    fake.chmod(0o755)
    monkeypatch.setenv("GRADLAB_DOT", str(fake))
    with pytest.raises(RenderError, match="longer than 0.3 s"):
        render(NEURON.graph, tmp_path / "n.svg", NEURON.at, timeout=0.3)
    assert not (tmp_path / "n.svg").exists()


def test_formats_come_from_the_suffix():
    assert [format_of(p) for p in ("a.svg", "b.PNG", "c.pdf", "d.dot", "e.gv")] == ["svg", "png", "pdf", "dot", "dot"]
    with pytest.raises(RenderError, match="use one of"):
        format_of("a.jpeg")


# ------------------------------------------------------------------ backward steps

def test_step_plan_fills_gradients_gate_by_gate_from_the_output():
    ev = evaluate(NEURON.graph, NEURON.at)
    plan = step_plan(NEURON.graph, ev, gradlab.RenderOptions(precision=2))
    assert len(plan) == 9  # the output's 1.00, then 8 gates
    known0, new0, current0, caption0 = plan[0]
    assert known0 == {("a", None, 0)} and current0 is None and "1" in caption0[0]
    assert [p[2] for p in plan[1:]] == ["a", "t6", "t5", "t4", "z", "t3", "t2", "t1"]
    assert plan[3][3][2] == ("wire from t4: local gradient ∂t5/∂t4 = t5 = 0.37; gradient on the wire "
                             "-0.53 × 0.37 = -0.20")
    assert len(plan[-1][0]) == 13


def test_backward_steps_write_frames_of_one_size_and_a_self_contained_page(tmp_path):
    needs_dot()
    steps = backward_steps(NEURON.graph, NEURON.at, tmp_path / "steps")
    assert [p.name for p in steps.frames] == [f"step-{i:02d}.svg" for i in range(9)]
    sizes = {re.search(r'<svg width="(\d+)pt" height="(\d+)pt"', p.read_text()).groups() for p in steps.frames}
    assert len(sizes) == 1  # the layout never jumps
    first, last = (html.unescape(" ".join(re.findall(r">([^<>]+)</text>", p.read_text())))
                   for p in (steps.frames[0], steps.frames[-1]))
    assert "-0.53" not in first and "1.00" in first
    assert "-0.53" in last and "0.39" in last
    page = steps.html.read_text(encoding="utf-8")
    assert page.count('src="data:image/svg+xml;base64,') == 9
    assert "ArrowRight" in page and "ArrowLeft" in page and 'id="next"' in page
    assert not re.search(r'(src|href)="(https?:)?//', page) and "<link" not in page


def test_steps_keep_the_size_where_gradients_add_up_at_a_fork(tmp_path):
    needs_dot()
    steps = backward_steps("f = x*x + x*y", {"x": 3, "y": -2}, tmp_path)
    sizes = {re.search(r'<svg width="(\d+)pt" height="(\d+)pt"', p.read_text()).groups() for p in steps.frames}
    assert len(steps.frames) == 4 and len(sizes) == 1
    assert "Σ 4.00" in html.unescape(steps.frames[-1].read_text()) and "Σ" not in steps.frames[0].read_text()


def test_steps_html_with_png_frames():
    page = steps_html([b"\x89PNG fake", b"\x89PNG fake2"], "png", [["a"], ["b"]], title="t</title>")
    assert page.count("data:image/png;base64,") == 2 and "t&lt;/title&gt;" in page and 'max="1"' in page


def test_steps_need_a_point_and_refuse_blanks(tmp_path):
    with pytest.raises(RenderError, match="input values"):
        backward_steps("f = x*y", None, tmp_path)
    with pytest.raises(RenderError, match="leave out blanks"):
        backward_steps("f = x*y", {"x": 1, "y": 2}, tmp_path, blanks=True)


# ------------------------------------------------------------------ Jupyter and the result object

def test_jupyter_display_of_graph_and_drawing():
    needs_dot()
    g = Graph.parse("f = (x + y)*z")
    bundle = g._repr_mimebundle_()
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml") and "text/plain" in bundle
    assert "<svg" in g._repr_svg_()
    d = g.draw({"x": -2, "y": 5, "z": -4})
    assert isinstance(d, Drawing) and "-12.00" in html.unescape(d._repr_mimebundle_()["image/svg+xml"])
    assert "<svg" in d.svg() and "blanks" in repr(d)
    big = Graph.parse("f = " + " + ".join(f"x{i}*y{i}" for i in range(300)))
    assert big._repr_svg_() is None and "too many to draw inline" in big._repr_mimebundle_()["text/plain"]


def test_a_wide_picture_is_scaled_to_fit_a_notebook_and_a_narrow_one_is_not():
    needs_dot()
    from gradlab.render import INLINE_MAX_WIDTH_PT

    def size(svg: str) -> tuple[float, float, list[float]]:
        m = re.search(r'<svg width="([0-9.]+)pt" height="([0-9.]+)pt"\s+viewBox="([0-9. ]+)"', svg)
        assert m, svg[:300]
        return float(m.group(1)), float(m.group(2)), [float(v) for v in m.group(3).split()]

    wide = Graph.parse("z = w0*x0 + w1*x1 + w2; a = 1/(1+exp(-z))").draw({"w0": 2, "x0": -1, "w1": -3, "x1": -2,
                                                                         "w2": -3})
    w, h, box = size(wide._repr_svg_())
    assert box[2] > INLINE_MAX_WIDTH_PT and w == INLINE_MAX_WIDTH_PT  # the viewBox keeps the whole drawing
    assert h == pytest.approx(box[3] * w / box[2], rel=1e-5) and size(wide.svg())[:2] == (box[2], box[3])
    narrow = Graph.parse("f = x*y").draw({"x": 2, "y": 3})
    w, h, box = size(narrow._repr_svg_())
    assert w <= INLINE_MAX_WIDTH_PT and (w, h) == (box[2], box[3])


# ------------------------------------------------------------------ numbers and formulas

def test_number_format():
    assert [number(x) for x in (0.7310585, -0.19661, 0.0, -0.0, -0.001, 1e-5, 2.5e7, float("nan"))] == [
        "0.73", "-0.20", "0.00", "0.00", "-1.00e-03", "1.00e-05", "2.50e+07", "nan"]
    assert number(-0.004, 2) == "-4.00e-03" and number(-0.006, 2) == "-0.01" and number(1.23456, 4) == "1.2346"


def test_formula_labels():
    import sympy as sp

    a, w0, t6, z = sp.symbols("a w0 t6 z")
    assert formula(a * w0 * (1 - a)) == "a·w0·(1 - a)"
    assert formula(-1 / t6**2) == "-1/t6²"
    assert formula(gradlab.ops.sigmoid(z)) == "σ(z)"
    assert wrap_formula("a + b", 10) == ["a + b"]
    assert all(len(line) <= 12 for line in wrap_formula("aa + bb + cc + dd + ee + ff", 12))


# ------------------------------------------------------------------ properties

EXPR = hs.recursive(hs.sampled_from(["x", "y", "x", "1.5"]),
                    lambda e: hs.one_of(hs.tuples(hs.sampled_from(["+", "-", "*"]), e, e).map(lambda t: f"({t[1]} {t[0]} {t[2]})"),
                                        e.map(lambda s: f"tanh({s})"), e.map(lambda s: f"sigmoid({s})")),
                    max_leaves=6)


@settings(max_examples=40, deadline=None)
@given(EXPR, hs.floats(-2, 2), hs.floats(-2, 2))
def test_every_wire_carries_its_value_and_edge_gradient(expr, x, y):
    try:
        g = Graph.parse(f"f = {expr} + x*y")
    except gradlab.GradlabError:
        return
    at = {n: {"x": x, "y": y}[n] for n in g.inputs}
    ev = evaluate(g, at)
    found = wires(to_dot(g, at))
    assert len(found) == len(g.edges()) + 1
    for u, v, k in g.edges():
        vals, grads = found[f"{u}-{v}-{k}"]
        assert vals == [number(ev.values[u])] and grads == [number(ev.edge_adjoints[(u, v, k)])]
    bm = blank_map(g, at, blanks="gradients")
    for n in g.inputs:  # the gradients on an input's wires add up to its gradient
        total = sum(b.answer for b in bm if b.node == n)
        assert total == pytest.approx(float(ev.adjoints[n]), abs=1e-9)
