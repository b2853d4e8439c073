"""Many pictures through one Graphviz process: the same bytes as one ``dot`` run per picture
(real worksheet graphs, scalar and tensor, SVG and PNG), one process for a whole worksheet, and the
old error handling (a picture Graphviz cannot draw is named, a missing ``dot``, a slow ``dot``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gradlab import RenderError, evaluate
from gradlab.render import GraphvizNotFound, draw, engine, find_dot, pipe_many
from gradlab.render.engine import run_dot, run_dot_many, split_pictures
from gradlab.worksheet import build_worksheet, load_spec, variant_point
from gradlab.worksheet.pictures import PictureBatch, blank_spec, sheet_pictures

ROOT = Path(__file__).resolve().parents[2]
NEURON = ROOT / "graphs" / "neuron_sigmoid_gate.toml"
TASK6 = ROOT / "graphs" / "two_layer_softmax.toml"


def needs_dot() -> str:
    exe = find_dot()
    if exe is None:
        pytest.fail("Graphviz 'dot' is not installed; bash scripts/install.sh installs it (apt-get install graphviz)")
    return exe


def worksheet_drawings(path: Path, variants: int) -> list:
    """A worksheet's student and solution drawings of ``variants`` variants (a graph file or a spec)."""
    spec = load_spec(path)
    part = spec.parts[0]
    out = []
    for v in range(1, variants + 1):
        ev = evaluate(part.graph, variant_point(part, 2024, v, 0, decimals=2))
        out.append(draw(part.graph, ev, mode="forward", blanks=blank_spec(part.questions, part.graph),
                        numbered=True, precision=2))
        out.append(draw(part.graph, ev, mode="solution", precision=2))
    return out


@pytest.fixture(scope="module")
def drawings() -> dict[str, list]:
    return {"scalar": worksheet_drawings(NEURON, 3), "tensor": worksheet_drawings(TASK6, 2)}


@pytest.mark.parametrize("fmt", ["svg", "png"])
@pytest.mark.parametrize("kind", ["scalar", "tensor"])
def test_one_run_gives_the_bytes_of_one_run_per_picture(drawings, kind, fmt):
    needs_dot()
    ds = drawings[kind]
    alone = [d.pipe(fmt) for d in ds]
    assert len(set(alone)) == len(alone)  # different pictures, so a shuffled split would show
    assert pipe_many(ds, fmt) == alone
    mixed = drawings["scalar"][:2] + drawings["tensor"][:2] + drawings["scalar"][2:3]
    assert pipe_many(mixed, fmt) == [d.pipe(fmt) for d in mixed]


def test_runs_of_at_most_batch_pictures_side_by_side_give_the_same_bytes(drawings, monkeypatch):
    needs_dot()
    sources = [d.dot for d in drawings["scalar"] + drawings["tensor"]]
    alone = [run_dot(s, "svg") for s in sources]
    assert run_dot_many(sources, "svg", jobs=1) == alone
    monkeypatch.setattr(engine, "BATCH", 3)
    for jobs in (1, 2, 3):
        assert run_dot_many(sources, "svg", jobs=jobs) == alone


def counting_dot(tmp_path: Path, real: str) -> Path:
    """A ``dot`` that logs each start to ``starts.log`` and runs the real one."""
    fake = tmp_path / "dot"
    fake.write_text(f"#!/bin/sh\necho start >> '{tmp_path / 'starts.log'}'\nexec '{real}' \"$@\"\n")
    fake.chmod(0o755)
    return fake


@pytest.mark.skipif(sys.platform == "win32", reason="the counting dot is a shell script")
def test_a_worksheet_draws_every_picture_in_one_dot_run(tmp_path, monkeypatch):
    real = needs_dot()
    monkeypatch.setenv("GRADLAB_DOT", str(counting_dot(tmp_path, real)))
    spec = load_spec(NEURON)
    build_worksheet(spec, variants=5, seed=2024, png=True)
    assert (tmp_path / "starts.log").read_text().count("start") == 2 * engine.JOBS  # the SVGs, the PNGs
    (tmp_path / "starts.log").unlink()
    monkeypatch.setattr(engine, "JOBS", 1)
    ws = build_worksheet(spec, variants=5, seed=2024, png=True)
    assert (tmp_path / "starts.log").read_text().count("start") == 2
    for v in ws.variants:
        pv = v.parts[0]
        alone = sheet_pictures(spec.parts[0].graph, pv.at, pv.evaluation, spec.parts[0].questions,
                               decimals=spec.grading.decimals, png=True)
        assert (pv.pictures.student_svg, pv.pictures.solution_svg, pv.pictures.student_png) == \
            (alone.student_svg, alone.solution_svg, alone.student_png)
        assert pv.pictures.student_svg.startswith("<?xml") and pv.pictures.student_png.startswith(b"\x89PNG")


def test_a_picture_graphviz_cannot_draw_is_named_as_before(drawings):
    needs_dot()
    good = drawings["scalar"][0].dot
    with pytest.raises(RenderError, match=r"dot exit code 1\): .*syntax error"):
        run_dot_many([good, "digraph { a -> }", good], "svg")


def test_a_missing_dot_gives_the_install_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("GRADLAB_DOT", raising=False)
    with pytest.raises(GraphvizNotFound, match="apt-get install graphviz"):
        run_dot_many(["digraph { a }", "digraph { b }"], "svg")
    part = load_spec(NEURON).parts[0]
    at = variant_point(part, 1, 1, 0, decimals=2)
    batch = PictureBatch()
    pics = batch.add(part.graph, at, evaluate(part.graph, at), ["forward"], decimals=2)
    assert pics.blanks and pics.student_svg is None  # the blanks come before any picture
    with pytest.raises(GraphvizNotFound, match="apt-get install graphviz"):
        batch.render()


@pytest.mark.skipif(sys.platform == "win32", reason="the slow dot is a shell script")
def test_a_slow_dot_is_stopped_with_a_time_per_picture(tmp_path, monkeypatch):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\nexec sleep 10\n")
    fake.chmod(0o755)
    monkeypatch.setenv("GRADLAB_DOT", str(fake))
    monkeypatch.setattr(engine, "JOBS", 1)
    with pytest.raises(RenderError, match=r"longer than 0.6 s to lay out 3 pictures"):
        run_dot_many(["digraph { a }"] * 3, "svg", timeout=0.2)


@pytest.mark.skipif(sys.platform == "win32", reason="the broken dot is a shell script")
def test_output_that_does_not_split_falls_back_to_one_run_per_picture(tmp_path, monkeypatch):
    real = needs_dot()
    fake = tmp_path / "dot"  # a dot that draws only the first graph it reads, unless alone
    fake.write_text(f"#!/bin/sh\necho start >> '{tmp_path / 'starts.log'}'\n"
                    f"'{real}' \"$@\" | awk 'BEGIN{{n=0}} {{print}} /<\\/svg>/{{exit}}'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("GRADLAB_DOT", str(fake))
    monkeypatch.setattr(engine, "JOBS", 1)
    sources = ["digraph { a }", "digraph { b }", "digraph { c }"]
    out = run_dot_many(sources, "svg")
    assert [o.count(b"</svg>") for o in out] == [1, 1, 1] and b">c<" in out[2]
    assert (tmp_path / "starts.log").read_text().count("start") == 1 + len(sources)


def test_split_pictures_refuses_output_that_is_not_whole_pictures():
    svg = b'<?xml x?>\n<svg>\n<g id="graph0" class="graph"></g>\n</svg>\n'
    second = svg.replace(b'"graph0"', b'"page0,1_graph0"')
    assert split_pictures(svg + second, "svg") == [svg, svg]
    assert split_pictures(svg + second[:-3], "svg") is None
    assert split_pictures(b"garbage</svg>\n", "svg") is None
    assert split_pictures(b"", "svg") is None
    png = b"\x89PNG\r\n\x1a\n" + (3).to_bytes(4, "big") + b"IHDRabc" + b"crc!" + (0).to_bytes(4, "big") + b"IENDcrc!"
    assert split_pictures(png + png, "png") == [png, png]
    assert split_pictures(png + png[:-2], "png") is None
    assert split_pictures(png + b"junk", "png") is None
    assert split_pictures(b"", "png") is None
    assert split_pictures(svg, "pdf") is None


def test_pdf_and_single_pictures_are_drawn_one_by_one(tmp_path, monkeypatch):
    real = needs_dot()
    monkeypatch.setenv("GRADLAB_DOT", str(counting_dot(tmp_path, real)))
    out = run_dot_many(["digraph { a }", "digraph { b }"], "pdf")
    assert all(o.startswith(b"%PDF") for o in out)
    assert run_dot_many(["digraph { a }"], "svg")[0].count(b"</svg>") == 1
    assert run_dot_many([], "svg") == []
    assert (tmp_path / "starts.log").read_text().count("start") == 3
